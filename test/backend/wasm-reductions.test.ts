// Reductions, softmax and softmax cross-entropy on the wasm backend: the SIMD
// code against the scalar code (simd: false) bit for bit, float64 against the
// JS backend bit for bit, and everything against the interpreter. The last
// axis has 37 elements, not a multiple of 4, so the unrolled vector loop, the
// single-vector loop and the scalar tail all run. Random cases draw axes of
// 1 to 41 elements.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate, graph, Rng } from '../../src/index.ts';
import type { DType, Feeds, Graph, Node, OutputArray } from '../../src/index.ts';
import { compileAndRun, expectClose, expectIdentical, magnitude } from './compare.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 25);

const SHAPE = [3, 5, 37] as const;

type Build = (g: Graph, x: Node) => Node;

/** A case and the number of terms that each output sums (for the error bound). */
interface Case {
  label: string;
  build: Build;
  terms: number;
}

const REDUCTIONS: readonly Case[] = (['sum', 'mean', 'max', 'min'] as const).flatMap((op) =>
  [[2], [1], [0], [0, 1], [1, 2], [0, 1, 2]].map((axes) => ({
    label: `${op} over [${axes}]`,
    build: (_g: Graph, x: Node) => x[op](axes),
    terms: axes.reduce((n, a) => n * SHAPE[a]!, 1),
  })));

const ROWS: readonly Case[] = [
  { label: 'softmax along the last axis', build: (_g, x) => x.softmax(2), terms: 37 },
  { label: 'softmax along a middle axis', build: (_g, x) => x.softmax(1), terms: 5 },
  { label: 'logSoftmax along the last axis', build: (_g, x) => x.logSoftmax(2), terms: 37 },
  { label: 'logSoftmax along the first axis', build: (_g, x) => x.logSoftmax(0), terms: 3 },
  { label: 'softmaxCrossEntropy with one-hot labels', build: (g, x) => g.softmaxCrossEntropy(x.reshape([15, 37]), x.reshape([15, 37]).argmax(1).oneHot(37).cast(x.dtype)), terms: 37 },
  { label: 'softmaxCrossEntropy with class indices', build: (g, x) => g.softmaxCrossEntropy(x.reshape([15, 37]), x.reshape([15, 37]).neg().argmax(1)), terms: 37 },
];

function randomValues(count: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => rng.uniform(-3, 3));
}

function typed(dtype: DType, values: readonly number[]): Float32Array | Float64Array {
  return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
}

interface Runs {
  simd: OutputArray[];
  scalar: OutputArray[];
  js: OutputArray[];
  reference: Float64Array[];
  wat: string;
}

function runEverywhere(outputs: readonly Node[], feeds: Feeds): Runs {
  const simd = compileAndRun(outputs, feeds, { backend: 'wasm' });
  return {
    simd: simd.results,
    scalar: compileAndRun(outputs, feeds, { backend: 'wasm', simd: false }).results,
    js: compileAndRun(outputs, feeds, { backend: 'js' }).results,
    reference: evaluate(outputs, feeds).map((t) => Float64Array.from(t.data)),
    wat: simd.exe.moduleText!,
  };
}

/**
 * Checks the promises of docs/wasm-backend.md: SIMD equals scalar, float64
 * equals JS, and both are close to the interpreter. Adding n terms one at a
 * time errs by at most (n - 1) u sum |x| for unit roundoff u, and |x| <= 3
 * here, which bounds the sums. The relative and magnitude terms cover
 * rounding of exp, log and the final operations.
 */
function expectPromisesKept(runs: Runs, dtype: DType, label: string, terms: number): void {
  const [relative, unitRoundoff] = dtype === 'float32' ? [1e-5, 2 ** -24] : [1e-12, 2 ** -53];
  const summation = (terms - 1) * unitRoundoff * 3 * terms;
  runs.reference.forEach((reference, k) => {
    expectIdentical(runs.simd[k]!, runs.scalar[k]!, `${label}, output ${k}, SIMD against scalar`);
    if (dtype === 'float64') expectIdentical(runs.simd[k]!, runs.js[k]!, `${label}, output ${k}, against the JS backend`);
    const expected = dtype === 'float32' ? Float32Array.from(reference) : reference;
    expectClose(runs.simd[k]!, expected, relative, relative * magnitude(reference) + summation, `${label}, output ${k}, against the interpreter`);
  });
}

describe.each<DType>(['float32', 'float64'])('wasm reductions in %s', (dtype) => {
  const values = randomValues(SHAPE[0] * SHAPE[1] * SHAPE[2], 7);

  it.each([...REDUCTIONS, ...ROWS].map((c) => [c.label, c] as const))('%s matches the scalar code and the interpreter', (label, c) => {
    const g = graph();
    const x = g.input('x', [...SHAPE], dtype);
    expectPromisesKept(runEverywhere([c.build(g, x)], { x: typed(dtype, values) }), dtype, label, c.terms);
  });

  it('random shapes and axes match the scalar code', () => {
    const shapeArb = fc.array(fc.integer({ min: 1, max: 41 }), { minLength: 1, maxLength: 3 });
    const caseArb = shapeArb.chain((shape) => fc.record({
      shape: fc.constant(shape),
      op: fc.constantFrom('sum', 'mean', 'max', 'min', 'softmax', 'logSoftmax'),
      axes: fc.subarray(shape.map((_, d) => d), { minLength: 1 }),
      seed: fc.nat(),
    }));
    fc.assert(fc.property(caseArb, ({ shape, op, axes, seed }) => {
      const g = graph();
      const x = g.input('x', shape, dtype);
      const rows = op === 'softmax' || op === 'logSoftmax';
      const y = rows ? x[op](axes[0]!) : x[op](axes);
      const size = shape.reduce((a, b) => a * b, 1);
      const terms = rows ? shape[axes[0]!]! : axes.reduce((n, a) => n * shape[a]!, 1);
      expectPromisesKept(runEverywhere([y], { x: typed(dtype, randomValues(size, seed)) }), dtype, `${op} over [${axes}] of [${shape}]`, terms);
    }), { numRuns: FUZZ_RUNS });
  });
});

describe('special values in max and min reductions', () => {
  // One special value per row, at a position in the unrolled loop (0, 13),
  // in the single-vector loop (33) or in the scalar tail (36).
  const SPECIALS = [NaN, Infinity, -Infinity];
  const POSITIONS = [0, 13, 33, 36];

  /** Rows of 37 ordinary values, each with one special value; then rows of signed zeros. */
  function specialRows(dtype: DType): { rows: number; data: Float32Array | Float64Array } {
    const rows: number[][] = [];
    for (const special of SPECIALS) {
      for (const p of POSITIONS) {
        const row = randomValues(37, rows.length);
        row[p] = special;
        rows.push(row);
      }
    }
    for (const p of POSITIONS) {
      rows.push(Array.from({ length: 37 }, (_, k) => (k === p ? 0 : -0)));
      rows.push(Array.from({ length: 37 }, (_, k) => (k === p ? -0 : 0)));
    }
    rows.push(new Array<number>(37).fill(-0));
    return { rows: rows.length, data: typed(dtype, rows.flat()) };
  }

  it.each<DType>(['float32', 'float64'])('max and min along rows match the interpreter exactly in %s', (dtype) => {
    const { rows, data } = specialRows(dtype);
    const g = graph();
    const x = g.input('x', [rows, 37], dtype);
    const outputs = [x.max(1), x.min(1), x.max(0), x.min(0)];
    const runs = runEverywhere(outputs, { x: data });
    runs.reference.forEach((reference, k) => {
      expectIdentical(runs.simd[k]!, runs.scalar[k]!, `output ${k}, SIMD against scalar`);
      expectIdentical(runs.simd[k]!, typed(dtype, Array.from(reference)), `output ${k} against the interpreter`);
    });
    // The rows of signed zeros: max is +0 as soon as one +0 is present, min is -0 as soon as one -0 is.
    const max = runs.simd[0]!;
    const min = runs.simd[1]!;
    const zeros = SPECIALS.length * POSITIONS.length;
    for (let p = 0; p < POSITIONS.length; p++) {
      expect(Object.is(max[zeros + 2 * p], 0), `max of -0s and one +0 at ${POSITIONS[p]}`).toBe(true);
      expect(Object.is(min[zeros + 2 * p + 1], -0), `min of +0s and one -0 at ${POSITIONS[p]}`).toBe(true);
    }
    expect(Object.is(max[rows - 1], -0), 'max of -0s').toBe(true);
  });

  it.each<DType>(['float32', 'float64'])('softmax rows with NaN and infinities match the scalar code in %s', (dtype) => {
    const { rows, data } = specialRows(dtype);
    const g = graph();
    const x = g.input('x', [rows, 37], dtype);
    const runs = runEverywhere([x.softmax(1), x.logSoftmax(1), x.softmax(0)], { x: data });
    runs.simd.forEach((out, k) => {
      expectIdentical(out, runs.scalar[k]!, `output ${k}, SIMD against scalar`);
      if (dtype === 'float64') expectIdentical(out, runs.js[k]!, `output ${k} against the JS backend`);
    });
  });
});

describe('vectorized reduction kernels', () => {
  function wat(build: Build, shape: readonly number[]): string {
    const g = graph();
    const x = g.input('x', [...shape]);
    return compileAndRun([build(g, x)], { x: new Float32Array(shape.reduce((a, b) => a * b, 1)) }, { backend: 'wasm' }).exe.moduleText!;
  }

  it('max along rows keeps four partial vectors', () => {
    const text = wat((_g, x) => x.max(1), [3, 37]);
    expect(text.match(/f32x4\.max/g)?.length).toBe(4 + 1 + 3);
    expect(text).toContain('f32x4.extract_lane 3');
  });

  it('sum over the batch axis runs four columns per iteration', () => {
    const text = wat((_g, x) => x.sum(0), [64, 37]);
    expect(text).toContain('f32x4.add');
    expect(text).not.toContain('extract_lane');
  });

  it('softmax computes exp in lanes and adds them in order', () => {
    const text = wat((_g, x) => x.softmax(1), [3, 37]);
    expect(text.match(/call \$exp_f32x4/g)?.length).toBe(2);
    expect(text.match(/f32x4\.extract_lane/g)?.length).toBe(4 + 4);
  });

  it('sum along rows adds lanes in order, never as partial sums', () => {
    const text = wat((_g, x) => x.sum(1), [3, 37]);
    expect(text).not.toContain('f32x4.add');
    expect(text.match(/f32x4\.extract_lane/g)?.length).toBe(4);
  });
});
