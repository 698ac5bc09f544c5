// Matmul on the wasm backend: SIMD register tiles against the scalar code
// (bit for bit) and the interpreter, over odd sizes, transposes, batches
// and every fused epilogue activation.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, grad, graph, Rng } from '../../src/index.ts';
import type { ActivationSpec, DType, Feeds, Node } from '../../src/index.ts';
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

/**
 * Checks SIMD results against the scalar code bit for bit, float64 ones
 * against the JS backend bit for bit too, and both against the interpreter.
 */
function expectMatches(c: MatmulCase, y: Node, feeds: Feeds, simd: ArrayLike<number>): void {
  const scalar = compileAndRun([y], feeds, { backend: 'wasm', simd: false }).results[0]!;
  expectIdentical(simd, scalar, 'SIMD against scalar');
  const reference = evaluate([y], feeds)[0]!.data;
  if (c.dtype === 'float64') {
    expectIdentical(simd, compileAndRun([y], feeds, { backend: 'js' }).results[0]!, 'wasm against js');
    expectClose(simd, reference, 1e-12, 1e-12 * (c.k + 1), 'wasm against the interpreter');
  } else {
    expectClose(simd, Float32Array.from(reference), 1e-5, 4e-7 * (c.k + 1) * magnitude(reference), 'wasm against the interpreter');
  }
}

describe('wasm matmul', () => {
  it('register tiles match the scalar code and the interpreter', () => {
    fc.assert(fc.property(matmulCase, (c) => {
      const { y, feeds } = buildMatmul(c);
      expectMatches(c, y, feeds, compileAndRun([y], feeds, { backend: 'wasm' }).results[0]!);
    }), { numRuns: FUZZ_RUNS });
  }, 60_000);

  // B is packed into panels of 16 float32 (8 float64) columns, then one of the remaining whole vectors,
  // and rows run in blocks of 64. These sizes leave partial row blocks, panels and tiles.
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
    ['a 6-column float64 panel and one scalar column', { m: 67, k: 15, n: 23 }],
    ['one 2-column float64 panel and a scalar column', { m: 5, k: 8, n: 3 }],
    ['one column, narrower than a vector', { m: 9, k: 6, n: 1 }],
  ];
  const DTYPES: readonly DType[] = ['float32', 'float64'];

  it.each(DTYPES.flatMap((dtype) => PANEL_CASES.map(([label, sizes]) => [dtype, label, sizes] as const)))('packed B panels in %s: %s', (dtype, _label, sizes) => {
    const c: MatmulCase = { m: 1, k: 1, n: 1, transposeA: false, transposeB: false, batch: 'none', bias: true, activation: 2, dtype, seed: 11, ...sizes };
    const { y, feeds } = buildMatmul(c);
    expectMatches(c, y, feeds, compileAndRun([y], feeds, { backend: 'wasm' }).results[0]!);
  });

  const SPLAT: Record<string, string> = { float32: 'v128.load32_splat', float64: 'v128.load64_splat' };
  const MUL: Record<string, string> = { float32: 'f32x4.mul', float64: 'f64x2.mul' };

  it.each(DTYPES.flatMap((dtype) => ACTIVATIONS.map((a, i) => [dtype, a.label, i] as const)))('fuses into %s tiles the %s epilogue', (dtype, _label, activation) => {
    const c: MatmulCase = { m: 7, k: 9, n: 21, transposeA: false, transposeB: false, batch: 'none', bias: true, activation, dtype, seed: 5 };
    const { y, feeds } = buildMatmul(c);
    const { exe, results } = compileAndRun([y], feeds, { backend: 'wasm' });
    expect(exe.kernels.length).toBe(1);
    const wat = exe.kernels[0]!.wat;
    expect(wat).toContain(SPLAT[dtype]);
    expect(wat).toContain(MUL[dtype]);
    const scalar = compileAndRun([y], feeds, { backend: 'wasm', simd: false });
    expect(scalar.exe.kernels[0]!.wat).not.toContain('v128');
    expectMatches(c, y, feeds, results[0]!);
  });

  it('runs a float64 matmul without float32 lanes', () => {
    const c: MatmulCase = { m: 6, k: 5, n: 16, transposeA: true, transposeB: true, batch: 'both', bias: true, activation: 0, dtype: 'float64', seed: 3 };
    const { y, feeds } = buildMatmul(c);
    const { exe, results } = compileAndRun([y], feeds, { backend: 'wasm' });
    const wat = exe.kernels.map((k) => k.wat).join('\n');
    expect(wat).toContain('f64x2.mul');
    expect(wat).toContain('f64x2.add');
    expect(wat).not.toContain('f32x4');
    expectMatches(c, y, feeds, results[0]!);
  });

  it.each([true, false])('float64 MLP gradients equal the JS backend with SIMD %s', (simd) => {
    const g = graph();
    const x = g.input('x', [7, 9], 'float64');
    const labels = g.input('labels', [7], 'int32');
    const w1 = g.param('w1', [9, 11], { init: 'heNormal', seed: 1, dtype: 'float64' });
    const b1 = g.param('b1', [11], { init: 'zeros', dtype: 'float64' });
    const w2 = g.param('w2', [11, 3], { init: 'glorotUniform', seed: 2, dtype: 'float64' });
    const h = x.matmul(w1, { bias: b1, activation: (n) => n.leakyRelu(0.01) });
    const loss = g.softmaxCrossEntropy(h.matmul(w2), labels).mean();
    const grads = grad(loss, [w1, b1, w2]);
    const feeds = { x: Float64Array.from({ length: 63 }, (_, i) => Math.cos(i * 1.7)), labels: [0, 1, 2, 1, 0, 2, 2] };
    const { results } = compileAndRun([loss, ...grads], feeds, { backend: 'wasm', simd });
    const js = compileAndRun([loss, ...grads], feeds, { backend: 'js' }).results;
    results.forEach((r, i) => expectIdentical(r, js[i]!, `output ${i}`));
    const reference = evaluate([loss, ...grads], feeds);
    reference.forEach((r, i) => expectClose(results[i]!, r.data, 1e-12, 1e-12, `output ${i} against the interpreter`));
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
