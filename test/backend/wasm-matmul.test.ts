// Matmul on the wasm backend: SIMD register tiles against the scalar code
// (bit for bit) and the interpreter, over odd sizes, transposes, batches
// and every fused epilogue activation.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, grad, graph, Rng } from '../../src/index.ts';
import type { ActivationSpec, DType, Node } from '../../src/index.ts';
import { compileAndRun, expectClose, expectIdentical, magnitude } from './compare.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 60);

const ACTIVATIONS: readonly { label: string; spec: ActivationSpec }[] = [
  { label: 'linear', spec: 'linear' },
  { label: 'relu', spec: 'relu' },
  ...[0, 0.01, 0.2, 1, 5, -0.5].map((alpha) => ({ label: `leakyRelu(${alpha})`, spec: (x: Node) => x.leakyRelu(alpha) })),
  { label: 'elu', spec: 'elu' },
  { label: 'sigmoid', spec: 'sigmoid' },
  { label: 'tanh', spec: 'tanh' },
  { label: 'softplus', spec: 'softplus' },
];

interface MatmulCase {
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
  batch: 'none' | 'a' | 'both';
  bias: boolean;
  activation: number;
  dtype: DType;
  seed: number;
}

const matmulCase: fc.Arbitrary<MatmulCase> = fc.record({
  m: fc.integer({ min: 1, max: 13 }),
  k: fc.integer({ min: 0, max: 13 }),
  n: fc.integer({ min: 1, max: 19 }),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  batch: fc.constantFrom<MatmulCase['batch']>('none', 'a', 'both'),
  bias: fc.boolean(),
  activation: fc.nat({ max: ACTIVATIONS.length - 1 }),
  dtype: fc.constantFrom<DType>('float32', 'float64'),
  seed: fc.nat(),
});

function uniform(rng: Rng, n: number, dtype: DType): Float32Array | Float64Array {
  const values = Array.from({ length: n }, () => rng.uniform(-2, 2));
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

function buildMatmul(c: MatmulCase) {
  const g = graph();
  const rng = new Rng(c.seed);
  const aShape = [...(c.batch === 'none' ? [] : [2]), ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])];
  const bShape = [...(c.batch === 'both' ? [2] : []), ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])];
  const a = g.input('a', aShape, c.dtype);
  const b = g.input('b', bShape, c.dtype);
  const bias = g.input('bias', [c.n], c.dtype);
  const y = a.matmul(b, {
    transposeA: c.transposeA,
    transposeB: c.transposeB,
    ...(c.bias ? { bias } : {}),
    activation: ACTIVATIONS[c.activation]!.spec,
  });
  const feeds = {
    a: uniform(rng, aShape.reduce((p, d) => p * d, 1), c.dtype),
    b: uniform(rng, bShape.reduce((p, d) => p * d, 1), c.dtype),
    bias: uniform(rng, c.n, c.dtype),
  };
  return { y, feeds };
}

describe('wasm matmul', () => {
  it('register tiles match the scalar code and the interpreter', () => {
    fc.assert(fc.property(matmulCase, (c) => {
      const { y, feeds } = buildMatmul(c);
      const simd = compileAndRun([y], feeds, { backend: 'wasm' }).results[0]!;
      const scalar = compileAndRun([y], feeds, { backend: 'wasm', simd: false }).results[0]!;
      expectIdentical(simd, scalar, 'SIMD against scalar');
      const reference = evaluate([y], feeds)[0]!.data;
      if (c.dtype === 'float64') {
        expectIdentical(simd, compileAndRun([y], feeds, { backend: 'js' }).results[0]!, 'wasm against js');
        expectClose(simd, reference, 1e-12, 1e-12 * (c.k + 1), 'wasm against the interpreter');
      } else {
        expectClose(simd, Float32Array.from(reference), 1e-5, 4e-7 * (c.k + 1) * magnitude(reference), 'wasm against the interpreter');
      }
    }), { numRuns: FUZZ_RUNS });
  }, 60_000);

  // B is packed into panels of 16 columns, then one of the remaining 4, 8 or 12, and rows run in blocks of 64.
  // These sizes leave partial row blocks, panels and tiles.
  const PANEL_CASES: readonly [string, Partial<MatmulCase>][] = [
    ['three row blocks, the last partial', { m: 151, k: 37, n: 23 }],
    ['two row blocks, a 4-column panel only', { m: 66, k: 9, n: 4 }],
    ['k of 1 with a 12-column panel', { m: 70, k: 1, n: 12 }],
    ['long k', { m: 9, k: 700, n: 20 }],
    ['k of 0', { m: 65, k: 0, n: 9 }],
    ['transposed B over two row blocks', { m: 67, k: 19, n: 21, transposeB: true }],
    ['transposed A and B', { m: 66, k: 13, n: 30, transposeA: true, transposeB: true }],
    ['a batch of B, packed per batch', { m: 65, k: 11, n: 13, batch: 'both' }],
    ['one row of tiles reads B in place', { m: 2, k: 30, n: 44 }],
  ];

  it.each(PANEL_CASES)('packed B panels: %s', (_label, sizes) => {
    const c: MatmulCase = { m: 1, k: 1, n: 1, transposeA: false, transposeB: false, batch: 'none', bias: true, activation: 2, dtype: 'float32', seed: 11, ...sizes };
    const { y, feeds } = buildMatmul(c);
    const simd = compileAndRun([y], feeds, { backend: 'wasm' }).results[0]!;
    const scalar = compileAndRun([y], feeds, { backend: 'wasm', simd: false }).results[0]!;
    expectIdentical(simd, scalar, 'SIMD against scalar');
    const reference = evaluate([y], feeds)[0]!.data;
    expectClose(simd, Float32Array.from(reference), 1e-5, 4e-7 * (c.k + 1) * magnitude(reference), 'wasm against the interpreter');
  });

  it.each(ACTIVATIONS.map((a, i) => [a.label, i] as const))('fuses the %s epilogue into the tiles', (_label, activation) => {
    const c: MatmulCase = { m: 7, k: 9, n: 21, transposeA: false, transposeB: false, batch: 'none', bias: true, activation, dtype: 'float32', seed: 5 };
    const { y, feeds } = buildMatmul(c);
    const { exe, results } = compileAndRun([y], feeds, { backend: 'wasm' });
    expect(exe.kernels.length).toBe(1);
    expect(exe.kernels[0]!.wat).toContain('v128.load32_splat');
    const scalar = compileAndRun([y], feeds, { backend: 'wasm', simd: false });
    expect(scalar.exe.kernels[0]!.wat).not.toContain('v128');
    expectIdentical(results[0]!, scalar.results[0]!, 'SIMD against scalar');
    const reference = evaluate([y], feeds)[0]!.data;
    expectClose(results[0]!, Float32Array.from(reference), 1e-5, 1e-5 * magnitude(reference), 'wasm against the interpreter');
  });

  it.each([true, false])('MLP gradients match the interpreter with SIMD %s', (simd) => {
    const g = graph();
    const x = g.input('x', [6, 9]);
    const labels = g.input('labels', [6], 'int32');
    const w1 = g.param('w1', [9, 10], { init: 'heNormal', seed: 1 });
    const b1 = g.param('b1', [10], { init: 'zeros' });
    const w2 = g.param('w2', [10, 3], { init: 'glorotUniform', seed: 2 });
    const h = x.matmul(w1, { bias: b1, activation: (n) => n.leakyRelu(0.01) });
    const loss = g.softmaxCrossEntropy(h.matmul(w2), labels).mean();
    const grads = grad(loss, [w1, b1, w2]);
    const feeds = { x: Float32Array.from({ length: 54 }, (_, i) => Math.cos(i * 1.7)), labels: [0, 1, 2, 1, 0, 2] };
    const { results } = compileAndRun([loss, ...grads], feeds, { backend: 'wasm', simd });
    const reference = evaluate([loss, ...grads], feeds);
    reference.forEach((r, i) => expectClose(results[i]!, r.data, 1e-4, 1e-6, `output ${i}`));
  });
});
