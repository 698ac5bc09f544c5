// Convolution on the wasm backend: conv2d with a fused bias and leakyRelu,
// and its gradients (conv2dBackpropInput, conv2dBackpropFilter), as SIMD
// register tiles against the scalar code (bit for bit) and the interpreter.
// The tests run only where the conv ops evaluate on the interpreter. Max
// pooling and its gradient, vectorized over channels, against the scalar
// code, the JS backend and the interpreter, all bit for bit.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, grad, graph, Rng } from '../../src/index.ts';
import type { ActivationSpec, Node } from '../../src/index.ts';
import type { Padding2D } from '../../src/ops/attrs.ts';
import { window2D } from '../../src/ops/window.ts';
import { compileAndRun, expectClose, expectIdentical, magnitude } from './compare.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 40);

function convEvaluates(): boolean {
  try {
    const g = graph();
    const y = g.input('x', [1, 2, 2, 1]).conv2d(g.input('w', [1, 1, 1, 1]));
    evaluate([y], { x: [1, 2, 3, 4], w: [2] });
    return true;
  } catch {
    return false;
  }
}

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  channels: number;
  filters: number;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  padding: Padding2D;
  alpha: number;
  seed: number;
}

const convCase: fc.Arbitrary<ConvCase> = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  height: fc.integer({ min: 3, max: 7 }),
  width: fc.integer({ min: 3, max: 9 }),
  channels: fc.integer({ min: 1, max: 6 }),
  filters: fc.integer({ min: 1, max: 11 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  dilations: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: fc.constantFrom<Padding2D>('same', 'valid', [[1, 0], [0, 2]]),
  alpha: fc.constantFrom(0, 0.2, 5),
  seed: fc.nat(),
});

function uniform(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

function uniform64(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
}

/** Builds a float64 conv2d with bias and an activation, and a loss whose gradients run conv2dBackpropInput and conv2dBackpropFilter. */
function buildConv64(c: ConvCase, activation: ActivationSpec): { outputs: Node[]; feeds: Record<string, Float64Array> } | undefined {
  const g = graph();
  const rng = new Rng(c.seed);
  const x = g.input('x', [c.batch, c.height, c.width, c.channels], 'float64');
  const w = g.param('w', [c.kernel[0], c.kernel[1], c.channels, c.filters], { init: 'heNormal', seed: c.seed, dtype: 'float64' });
  const b = g.param('b', [c.filters], { init: { kind: 'constant', value: 0.1 }, dtype: 'float64' });
  let z;
  try {
    z = x.conv2d(w, { strides: c.strides, dilations: c.dilations, padding: c.padding });
  } catch {
    return undefined; // The window does not fit the input.
  }
  const y = g.activation(z.add(b), activation);
  const r = g.input('r', y.shape, 'float64');
  const grads = grad(y.mul(r).sum(), [x, w, b]);
  return { outputs: [y, ...grads], feeds: { x: uniform64(rng, x.size), r: uniform64(rng, r.size) } };
}

/** Checks float64 results with SIMD against the scalar code and the JS backend bit for bit, and against the interpreter. */
function expectConv64Agrees(outputs: Node[], feeds: Record<string, Float64Array>): void {
  const simd = compileAndRun(outputs, feeds, { backend: 'wasm' }).results;
  const scalar = compileAndRun(outputs, feeds, { backend: 'wasm', simd: false }).results;
  const js = compileAndRun(outputs, feeds, { backend: 'js' }).results;
  const reference = evaluate(outputs, feeds);
  reference.forEach((r, i) => {
    expectIdentical(simd[i]!, scalar[i]!, `output ${i}: SIMD against scalar`);
    expectIdentical(simd[i]!, js[i]!, `output ${i}: wasm against js`);
    expectClose(simd[i]!, r.data, 1e-12, 1e-12 * magnitude(r.data), `output ${i} against the interpreter`);
  });
}

const ACTIVATIONS: readonly [string, ActivationSpec][] = [
  ['linear', 'linear'],
  ['relu', 'relu'],
  ['leakyRelu(0.2)', (x: Node) => x.leakyRelu(0.2)],
  ['elu', 'elu'],
  ['sigmoid', 'sigmoid'],
  ['tanh', 'tanh'],
  ['softplus', 'softplus'],
];

describe.skipIf(!convEvaluates())('wasm conv2d', () => {
  it('forward and gradients match the scalar code and the interpreter', () => {
    fc.assert(fc.property(convCase, (c) => {
      const g = graph();
      const rng = new Rng(c.seed);
      const x = g.input('x', [c.batch, c.height, c.width, c.channels]);
      const w = g.param('w', [c.kernel[0], c.kernel[1], c.channels, c.filters], { init: 'heNormal', seed: c.seed });
      const b = g.param('b', [c.filters], { init: { kind: 'constant', value: 0.1 } });
      let y;
      try {
        y = x.conv2d(w, { strides: c.strides, dilations: c.dilations, padding: c.padding }).add(b).leakyRelu(c.alpha);
      } catch {
        return; // The window does not fit the input: no output to compare.
      }
      const weights = g.input('r', y.shape);
      const loss = y.mul(weights).sum();
      const grads = grad(loss, [x, w, b]);
      const outputs = [y, ...grads];
      const feeds = { x: uniform(rng, c.batch * c.height * c.width * c.channels), r: uniform(rng, y.size) };
      const simd = compileAndRun(outputs, feeds, { backend: 'wasm' }).results;
      const scalar = compileAndRun(outputs, feeds, { backend: 'wasm', simd: false }).results;
      const reference = evaluate(outputs, feeds);
      reference.forEach((r, i) => {
        expectIdentical(simd[i]!, scalar[i]!, `output ${i}: SIMD against scalar`);
        expectClose(simd[i]!, Float32Array.from(r.data), 1e-4, 1e-5 * magnitude(r.data), `output ${i} against the interpreter`);
      });
    }), { numRuns: FUZZ_RUNS });
  }, 60_000);

  it('tiles the forward conv with its epilogue', () => {
    const g = graph();
    const x = g.input('x', [2, 6, 7, 5]);
    const w = g.param('w', [3, 3, 5, 9], { init: 'heNormal', seed: 3 });
    const b = g.param('b', [9], { init: { kind: 'constant', value: 0.1 } });
    const y = x.conv2d(w, { padding: 'same' }).add(b).leakyRelu(0.2);
    const feeds = { x: uniform(new Rng(4), 2 * 6 * 7 * 5) };
    const { exe, results } = compileAndRun([y], feeds, { backend: 'wasm' });
    expect(exe.kernels.length).toBe(1);
    expect(exe.kernels[0]!.wat).toContain('v128.load32_splat');
    const reference = evaluate([y], feeds)[0]!.data;
    expectClose(results[0]!, Float32Array.from(reference), 1e-4, 1e-5 * magnitude(reference), 'wasm against the interpreter');
  });

  it('float64 forward and gradients equal the scalar code and js', () => {
    fc.assert(fc.property(convCase, (c) => {
      const built = buildConv64(c, (x: Node) => x.leakyRelu(c.alpha));
      if (built !== undefined) expectConv64Agrees(built.outputs, built.feeds);
    }), { numRuns: Math.ceil(FUZZ_RUNS / 2) });
  }, 60_000);

  it('runs the three float64 conv ops as f64x2 tiles', () => {
    const c: ConvCase = { batch: 2, height: 5, width: 7, channels: 3, filters: 11, kernel: [3, 3], strides: [1, 1], dilations: [1, 1], padding: 'same', alpha: 0.2, seed: 8 };
    const built = buildConv64(c, (x: Node) => x.leakyRelu(0.2))!;
    const { exe } = compileAndRun(built.outputs, built.feeds, { backend: 'wasm' });
    const convKernels = exe.kernels.filter((k) => k.summary.startsWith('conv2d'));
    expect(convKernels.map((k) => k.summary.split(' ')[0])).toEqual(['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter']);
    for (const kernel of convKernels) {
      expect(kernel.wat, kernel.summary).toContain('v128.load64_splat');
      expect(kernel.wat, kernel.summary).toContain('f64x2.mul');
      expect(kernel.wat, kernel.summary).not.toContain('f32x4');
    }
    expectConv64Agrees(built.outputs, built.feeds);
  });

  it.each(ACTIVATIONS)('fuses the %s epilogue into float64 conv tiles', (_label, activation) => {
    const c: ConvCase = { batch: 2, height: 6, width: 5, channels: 4, filters: 9, kernel: [3, 2], strides: [2, 1], dilations: [1, 2], padding: [[1, 0], [0, 2]], alpha: 0, seed: 12 };
    const built = buildConv64(c, activation)!;
    const { exe } = compileAndRun(built.outputs.slice(0, 1), built.feeds, { backend: 'wasm' });
    expect(exe.kernels.length).toBe(1);
    expect(exe.kernels[0]!.wat).toContain('f64x2.mul');
    expectConv64Agrees(built.outputs, built.feeds);
  });
});

interface PoolCase {
  batch: number;
  height: number;
  width: number;
  channels: number;
  poolSize: [number, number];
  strides: [number, number];
  padding: Padding2D;
  /** Pool leakyRelu(x) rather than x, so the pool gradient gets the activation gradient as its epilogue. */
  activation: boolean;
  dtype: 'float32' | 'float64';
  seed: number;
}

const poolCase: fc.Arbitrary<PoolCase> = fc
  .record({
    batch: fc.integer({ min: 1, max: 2 }),
    height: fc.integer({ min: 1, max: 7 }),
    width: fc.integer({ min: 1, max: 8 }),
    channels: fc.integer({ min: 1, max: 11 }),
    poolSize: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padding: fc.constantFrom<Padding2D>('same', 'valid', [[1, 0], [0, 2]], [[0, 1], [2, 1]]),
    activation: fc.boolean(),
    dtype: fc.constantFrom('float32' as const, 'float64' as const),
    seed: fc.nat(),
  })
  .filter((c) => typeof c.padding === 'string' || c.padding.every((pads, axis) => pads.every((pad) => pad < c.poolSize[axis]!)))
  .filter((c) => {
    const out = window2D(c.height, c.width, c.poolSize, c.strides, [1, 1], c.padding);
    return out.outHeight >= 1 && out.outWidth >= 1;
  });

/**
 * Half-integers in [-3, 3], so windows hold many ties, with NaN, -0, +0 and
 * infinities mixed in. Every value, its leakyRelu with alpha 0.25 and any sum
 * of a few of them is exact in float32, so all evaluators agree bit for bit.
 */
function poolValues(rng: Rng, n: number): Float64Array {
  const special = [NaN, -0, 0, -0, 0, Infinity, -Infinity];
  return Float64Array.from({ length: n }, () => {
    const draw = rng.next();
    if (draw < 0.12) return special[Math.floor(rng.next() * special.length)]!;
    return Math.round(rng.uniform(-6, 6)) / 2;
  });
}

/** Multiples of 1/8 in [-1, 1] with some -0, as the gradient reaching the pool. */
function poolGradients(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => (rng.next() < 0.1 ? -0 : Math.round(rng.uniform(-8, 8)) / 8));
}

/** Checks pooling and its gradient on the wasm backend with and without SIMD and on the js backend against the interpreter, bit for bit. */
function expectPoolingAgrees(c: PoolCase, values: (rng: Rng, n: number) => Float64Array): void {
  const g = graph();
  const rng = new Rng(c.seed);
  const x = g.input('x', [c.batch, c.height, c.width, c.channels], c.dtype);
  const pooled = (c.activation ? x.leakyRelu(0.25) : x).maxPool2d({ poolSize: c.poolSize, strides: c.strides, padding: c.padding });
  const r = g.input('r', pooled.shape, c.dtype);
  const [dx] = grad(pooled.mul(r).sum(), [x]);
  const outputs = [pooled, dx!];
  const feeds = { x: values(rng, x.size), r: poolGradients(rng, r.size) };
  const reference = evaluate(outputs, feeds);
  const runs = [
    { name: 'wasm with SIMD', results: compileAndRun(outputs, feeds, { backend: 'wasm' }).results },
    { name: 'wasm without SIMD', results: compileAndRun(outputs, feeds, { backend: 'wasm', simd: false }).results },
    { name: 'js', results: compileAndRun(outputs, feeds, { backend: 'js' }).results },
  ];
  for (const run of runs) {
    reference.forEach((expected, i) => expectIdentical(run.results[i]!, expected.data, `${run.name}, output ${i} of ${JSON.stringify(c)}`));
  }
}

describe.skipIf(!convEvaluates())('wasm max pooling', () => {
  it('forward and gradient match every evaluator bit for bit', () => {
    fc.assert(fc.property(poolCase, (c) => expectPoolingAgrees(c, (rng, n) => poolValues(rng, n))), { numRuns: FUZZ_RUNS });
  }, 60_000);

  it('tiled gradient emits the elements past the last window', () => {
    // Padding before shifts the 2x2 windows up and left, so row 3 and column 3 lie in no window.
    // NaN inputs make the activation gradient NaN there, where an element left unwritten would read 0.
    const c: PoolCase = { batch: 1, height: 4, width: 4, channels: 6, poolSize: [2, 2], strides: [2, 2], padding: [[1, 0], [1, 0]], activation: true, dtype: 'float32', seed: 1 };
    expectPoolingAgrees(c, (_, n) => new Float64Array(n).fill(NaN));
  });

  it('vectorizes the pooling of the training CNN', () => {
    const g = graph();
    const z = g.input('z', [2, 6, 7, 16]);
    const pooled = z.leakyRelu(0.3).maxPool2d({ poolSize: 2 });
    const r = g.input('r', pooled.shape);
    const [dz] = grad(pooled.mul(r).sum(), [z]);
    const rng = new Rng(5);
    const feeds = { z: uniform(rng, z.size), r: uniform(rng, r.size) };
    const simd = compileAndRun([pooled, dz!], feeds, { backend: 'wasm' });
    const scalar = compileAndRun([pooled, dz!], feeds, { backend: 'wasm', simd: false });

    const poolKernels = (exe: typeof simd.exe) => exe.kernels.filter((k) => k.summary.startsWith('maxPool2d'));
    expect(poolKernels(simd.exe).map((k) => k.summary)).toEqual(['maxPool2d', 'maxPool2dGrad + leakyReluGrad']);
    for (const kernel of poolKernels(simd.exe)) expect(kernel.wat).toContain('v128.bitselect');
    for (const kernel of poolKernels(scalar.exe)) expect(kernel.wat).not.toContain('v128');
    simd.results.forEach((result, i) => expectIdentical(result, scalar.results[i]!, `output ${i}: SIMD against scalar`));
  });
});
