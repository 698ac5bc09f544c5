// Convolution on the wasm backend: conv2d with a fused bias and leakyRelu,
// and its gradients (conv2dBackpropInput, conv2dBackpropFilter), as SIMD
// register tiles against the scalar code (bit for bit) and the interpreter.
// The tests run only where the conv ops evaluate on the interpreter.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, grad, graph, Rng } from '../../src/index.ts';
import type { Padding2D } from '../../src/ops/attrs.ts';
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
});
