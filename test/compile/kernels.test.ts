import { describe, expect, it } from 'vitest';
import { compile, evaluate, grad, graph } from '../../src/index.ts';

function filled(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e)) expect(a).toBeNaN();
    else expect(Math.abs(a - e), `element ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(atol + rtol * Math.abs(e));
  }
}

describe('kernel counts', () => {
  it('fuses leakyRelu(x*a + b) * c into one kernel', () => {
    const g = graph();
    const [x, a, b, c] = ['x', 'a', 'b', 'c'].map((n) => g.input(n, [64]));
    const y = x!.mul(a!).add(b!).leakyRelu(0.2).mul(c!);
    const exe = compile(y);
    expect(exe.kernels.length).toBe(1);
    expect(exe.kernels[0]!.summary).toBe('mul + add + leakyRelu + mul');
    const feeds = { x: filled(64, (i) => i - 32), a: filled(64, (i) => 0.5 + i / 64), b: filled(64, (i) => (i % 3) - 1), c: filled(64, (i) => 2 - i / 32) };
    expectClose(exe.run(feeds)[0]!, evaluate([y], feeds)[0]!.data);
  });

  it('fuses matmul + bias + leakyRelu into one kernel', () => {
    const g = graph();
    const x = g.input('x', [4, 5]);
    const w = g.param('w', [5, 3], { init: 'heNormal', seed: 3 });
    const b = g.param('b', [3], { init: { kind: 'constant', value: 0.1 } });
    const y = x.matmul(w, { bias: b, activation: 'leaky_relu' });
    const exe = compile(y);
    expect(exe.kernels.length).toBe(1);
    expect(exe.kernels[0]!.summary).toBe('matmul + add + leakyRelu');
    const feeds = { x: filled(20, (i) => Math.sin(i)) };
    expectClose(exe.run(feeds)[0]!, evaluate([y], feeds)[0]!.data);
  });

  it('runs a reshaped reduction before the kernel reading it', () => {
    const g = graph();
    const x = g.input('x', [1, 2]);
    const negated = x.neg();
    const total = x.sum(1).reshape([1, 1]);
    const y = total.add(negated);
    const exe = compile(y);
    const feeds = { x: [-1.375, -3] };
    expectClose(exe.run(feeds)[0]!, evaluate([y], feeds)[0]!.data);
  });

  it('counts one kernel per op without fusion', () => {
    const g = graph();
    const [x, a] = ['x', 'a'].map((n) => g.input(n, [8]));
    const y = x!.mul(a!).add(1).relu();
    const exe = compile(y, { skip: ['fuse'] });
    expect(exe.kernels.length).toBe(3);
  });
});

describe('in-place outputs', () => {
  it('keep a broadcast scalar input intact', () => {
    const g = graph();
    const x = g.input('x', [4]);
    const scaled = x.mul(x.sum());
    const y = scaled.reshape([2, 2]).sum();
    const exe = compile(y);
    const feeds = { x: [2, 2, 3, 4] };
    expectClose(exe.run(feeds)[0]!, evaluate([y], feeds)[0]!.data);
  });

  it('store after every load of the fused group', () => {
    const g = graph();
    const x = g.input('x', [1, 1]);
    const y = g.input('y', [1, 1]);
    const negX = x.neg();
    const negY = y.neg();
    const larger = negX.maximum(negY);
    const other = negY.logSoftmax();
    const exe = compile([larger, other]);
    const feeds = { x: [-0.9375], y: [-0.0625] };
    const reference = evaluate([larger, other], feeds);
    exe.run(feeds).forEach((out, i) => expectClose(out, reference[i]!.data));
  });
});

describe('compiled gradients', () => {
  it('match the interpreter for a two-layer MLP', () => {
    const g = graph();
    const x = g.input('x', [6, 4]);
    const labels = g.input('labels', [6], 'int32');
    const w1 = g.param('w1', [4, 8], { init: 'heNormal', seed: 1 });
    const b1 = g.param('b1', [8], { init: 'zeros' });
    const w2 = g.param('w2', [8, 3], { init: 'glorotUniform', seed: 2 });
    const h = x.matmul(w1, { bias: b1, activation: (n) => n.leakyRelu(0.01) });
    const loss = g.softmaxCrossEntropy(h.matmul(w2), labels).mean();
    const grads = grad(loss, [w1, b1, w2]);
    const feeds = { x: filled(24, (i) => Math.cos(i * 1.7)), labels: [0, 1, 2, 1, 0, 2] };
    const exe = compile([loss, ...grads]);
    const compiled = exe.run(feeds);
    const reference = evaluate([loss, ...grads], feeds);
    reference.forEach((r, i) => expectClose(compiled[i]!, r.data, 1e-4, 1e-6));
  });
});

describe('hostile names', () => {
  const hostile = ['*/ process.exit(1) /*', 'a\u2028b', 'line\nbreak', 'quote" and \\ backslash', '\u2029', '`${process.exit(1)}`'];

  it.each(hostile)('compile and run unchanged with node name %j', (name) => {
    const g = graph();
    const x = g.input(name, [3]);
    const y = x.mul(2).named(name).add(1).named(`${name}2`);
    const exe = compile(y);
    const out = exe.run({ [name]: [1, 2, 3] });
    expect(Array.from(out[0]!)).toEqual([3, 5, 7]);
    for (const k of exe.kernels) {
      // Every line of a kernel is a comment, the signature, code or a brace: no name escapes a comment.
      for (const line of k.source.split(/\r\n|[\n\r\u2028\u2029]/)) {
        const trimmed = line.trim();
        expect(trimmed.startsWith('//') || /^(function k\d+_\w+\(|for \(|let |b\d+\[|[{}]|if \(|\} else \{|acc|v\d+ =|t\d+ =)/.test(trimmed) || trimmed === '}', `line ${JSON.stringify(line)}`).toBe(true);
      }
      expect(k.source).not.toMatch(/[\u2028\u2029]/);
    }
  });
});

describe('param updates', () => {
  it('apply an SGD step after each run', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const w = g.param('w', [3], { init: { kind: 'values', values: Float64Array.of(1, 2, 3) } });
    const loss = x.mul(w).sum();
    const [dw] = grad(loss, [w]);
    const exe = compile([loss], { updates: [{ param: w, value: w.sub(dw!.mul(0.5)) }] });
    const first = exe.run({ x: [1, 1, 2] });
    expect(first[0]![0]).toBe(9);
    expect(Array.from(exe.getParam('w'))).toEqual([0.5, 1.5, 2]);
    const second = exe.run({ x: [1, 1, 2] });
    expect(second[0]![0]).toBe(6);
  });
});

describe('convolution kernels', () => {
  function convLeaky() {
    const g = graph();
    const x = g.input('x', [2, 7, 6, 3]);
    const w = g.param('w', [3, 3, 3, 4], { init: 'heNormal', seed: 5 });
    const b = g.param('b', [4], { init: { kind: 'uniform', seed: 6, low: -0.5, high: 0.5 } });
    const y = x.conv2d(w, { strides: 2, padding: 'same', bias: b, activation: (z) => z.leakyRelu(0.2) });
    return { g, x, w, b, y, feeds: { x: filled(2 * 7 * 6 * 3, (i) => Math.sin(i * 0.37)) } };
  }

  it('fuses conv2d + bias + leakyRelu into one kernel', () => {
    const { y, feeds } = convLeaky();
    const exe = compile(y);
    expect(exe.kernels.length).toBe(1);
    expect(exe.kernels[0]!.summary).toBe('conv2d + add + leakyRelu');
    expectClose(exe.run(feeds)[0]!, evaluate([y], feeds)[0]!.data, 1e-5, 1e-6);
  });

  it('runs the conv + bias + leakyRelu training step in four kernels', () => {
    const { x, w, b, y, feeds } = convLeaky();
    const grads = grad(y.sum(), [x, w, b]);
    const exe = compile([y, ...grads]);
    // forward with the activation gradient in its epilogue, then the bias-gradient
    // reduction and the two conv back-propagation kernels
    expect(exe.kernels.map((k) => k.summary)).toEqual(['conv2d + add + leakyRelu + leakyReluGrad', 'sum', 'conv2dBackpropInput', 'conv2dBackpropFilter']);
    const compiled = exe.run(feeds);
    evaluate([y, ...grads], feeds).forEach((r, i) => expectClose(compiled[i]!, r.data, 1e-4, 1e-5));
  });

  it('matches the interpreter for pooling and its gradients', () => {
    const g = graph();
    const x = g.input('x', [1, 5, 5, 2]);
    const maxPooled = x.maxPool2d({ poolSize: 2, strides: 2, padding: 'same' });
    const avgPooled = x.avgPool2d({ poolSize: 3, strides: 2, padding: 'same' });
    const loss = maxPooled.square().sum().add(avgPooled.mul(avgPooled.add(1)).sum());
    const [dx] = grad(loss, [x]);
    const feeds = { x: filled(50, (i) => Math.cos(i * 1.3) * (1 + i / 50)) };
    const exe = compile([maxPooled, avgPooled, dx!]);
    const compiled = exe.run(feeds);
    evaluate([maxPooled, avgPooled, dx!], feeds).forEach((r, i) => expectClose(compiled[i]!, r.data, 1e-5, 1e-6));
  });
});

describe('profile', () => {
  it('times every kernel and leaves params unchanged', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const w = g.param('w', [3], { init: { kind: 'values', values: Float64Array.of(1, 2, 3) } });
    const loss = x.mul(w).sum();
    const [dw] = grad(loss, [w]);
    const exe = compile([loss], { updates: [{ param: w, value: w.sub(dw!.mul(0.5)) }] });
    const profile = exe.profile({ x: [1, 1, 2] }, 3);
    expect(profile.map((p) => p.name)).toEqual(exe.kernels.map((k) => k.name));
    for (const p of profile) expect(p.ms).toBeGreaterThanOrEqual(0);
    expect(Array.from(exe.getParam('w'))).toEqual([1, 2, 3]);
  });
});

describe('input views', () => {
  it('run without a copy when the feed is the input view', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const exe = compile(x.mul(2));
    const view = exe.inputView('x');
    view.set([1, 2, 3]);
    expect(Array.from(exe.run({ x: view })[0]!)).toEqual([2, 4, 6]);
    view[0] = 10;
    expect(Array.from(exe.run({ x: view })[0]!)).toEqual([20, 4, 6]);
    expect(Array.from(exe.run({ x: [0, 0, 1] })[0]!)).toEqual([0, 0, 2]);
    expect(() => exe.inputView('y')).toThrow(/no input "y" that the outputs read; the inputs they read are "x"/);
  });
});

describe('argument checks', () => {
  it('reject outputs that are no nodes or come from two graphs', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const other = graph().input('y', [2]);
    expect(() => compile([3 as never])).toThrow(/output 0 is number, not a Node/);
    expect(() => compile([x.neg(), other.neg()])).toThrow(/output 1 \(%1\) belongs to another graph than output 0 \(%1\)/);
  });

  it('reject a float32 alpha that overflows float32', () => {
    const g = graph();
    expect(() => g.input('x', [2]).leakyRelu(1e39)).toThrow(/alpha 1e\+39 is not finite in float32/);
    expect(g.input('y', [2], 'float64').leakyRelu(1e39).shape).toEqual([2]);
  });

  it('reject grad without a wrt array', () => {
    const x = graph().input('x', [1, 4, 4, 1]);
    expect(() => grad(x.sum(), x as never)).toThrow(/wrt must be an array of nodes/);
  });

  it('reject pooling without a size', () => {
    const x = graph().input('x', [1, 4, 4, 1]);
    expect(() => x.maxPool2d(undefined as never)).toThrow(/Error in maxPool2d: poolSize is required/);
  });
});

describe('memory limits', () => {
  it.each(['js', 'wasm'] as const)('reject buffers beyond 4 GiB on %s with a typed error', (backend) => {
    const g = graph();
    const x = g.input('x', [100000, 100000]);
    expect(() => compile(x.sum(), { backend })).toThrow(/needs 40000000016 bytes \(37\.25 GiB\) of buffers at its busiest, more than the (js|wasm) backend can address/);
  });
});

describe('max-pool gradient kernels', () => {
  const CASES = [
    { shape: [2, 5, 7, 3], poolSize: 2, padding: 'valid' as const },
    { shape: [1, 4, 4, 2], poolSize: 2, padding: 'same' as const },
    { shape: [1, 5, 5, 2], poolSize: 2, padding: 'same' as const },
    { shape: [1, 7, 8, 1], poolSize: 3, padding: 'valid' as const },
    { shape: [1, 6, 6, 2], poolSize: 3, padding: 'same' as const, strides: 2 },
  ];

  for (const backend of ['js', 'wasm'] as const) {
    it.each(CASES)(`match the interpreter on ${backend} for %j`, ({ shape, poolSize, padding, ...rest }) => {
      const g = graph();
      const x = g.input('x', shape);
      const z = g.input('z', [shape[0]!, ...shape.slice(1, 3).map((d) => d), shape[3]!]);
      const pooled = x.maxPool2d({ poolSize, padding, ...rest });
      // The gradient flows into a leakyRelu of z, so the pool gradient gets an epilogue.
      const loss = pooled.mul(pooled).sum();
      const [dx] = grad(loss, [x]);
      const fused = z.add(dx!).leakyRelu(0.1);
      const [dz] = grad(fused.sum(), [z]);
      const size = shape.reduce((a, b) => a * b, 1);
      // Few distinct values, so windows hold ties and the first maximum decides.
      const feeds = { x: filled(size, (i) => ((i * 7) % 5) - 2), z: filled(size, (i) => Math.sin(i)) };
      const outputs = [dx!, fused, dz!];
      const compiled = compile(outputs, { backend }).run(feeds);
      evaluate(outputs, feeds).forEach((r, i) => expectClose(compiled[i]!, r.data));
    });
  }
});
