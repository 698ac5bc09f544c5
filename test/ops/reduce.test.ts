// Reductions over random axes, with and without keepDims, against a model
// that visits every input element for every output element.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { graph } from '../../src/graph/graph.ts';
import { allIndices, expectClose, fuzzRuns, randomIntegers, randomValues, ravel, run, seedArb, shapeArb, sizeOfShape } from './support.ts';

const RUNS = fuzzRuns(100);

type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

/** Reduces one group of values the way the op is defined: NaN propagates through max and min. */
function combine(op: ReduceOp, values: readonly number[]): number {
  if (op === 'sum' || op === 'mean') {
    let total = 0;
    for (const v of values) total += v;
    return op === 'sum' ? total : total / values.length;
  }
  if (values.some((v) => Number.isNaN(v))) return NaN;
  let best = op === 'max' ? -Infinity : Infinity;
  for (const v of values) {
    if (op === 'max' && v > best) best = v;
    if (op === 'min' && v < best) best = v;
  }
  return best;
}

/** Reduces by brute force: each output element combines every input element that agrees with it on the kept axes. */
function reduceModel(op: ReduceOp, data: Float64Array, shape: readonly number[], axes: readonly number[], keepDims: boolean) {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const inputIndices = allIndices(shape);
  const values = allIndices(kept).map((outIndex) => {
    const group = inputIndices.filter((index) => index.every((v, i) => axes.includes(i) || v === outIndex[i]));
    return combine(op, group.map((index) => data[ravel(index, shape)]!));
  });
  const outShape = keepDims ? kept : shape.filter((_, i) => !axes.includes(i));
  return { shape: outShape, data: values };
}

const reductionArb = fc
  .record({
    op: fc.constantFrom<ReduceOp>('sum', 'mean', 'max', 'min'),
    shape: shapeArb({ maxRank: 4, maxDim: 3 }),
    keepDims: fc.boolean(),
    all: fc.boolean(),
    negative: fc.boolean(),
    nans: fc.boolean(),
    seed: seedArb,
  })
  .map((p) => {
    const picks = randomIntegers(p.shape.length, p.seed, 0, 1);
    const axes = p.shape.map((_, i) => i).filter((i) => p.all || picks[i] === 1);
    return { ...p, axes };
  });

describe('reductions', () => {
  test('match the brute-force model', () => {
    fc.assert(
      fc.property(reductionArb, ({ op, shape, keepDims, all, negative, nans, seed, axes }) => {
        const data = randomValues(sizeOfShape(shape), seed);
        if (nans) data.forEach((v, i) => (data[i] = v > 2 ? NaN : v));

        const g = graph();
        const x = g.input('x', shape, 'float64');
        const requested = all ? undefined : axes.map((a) => (negative ? a - shape.length : a));
        const result = run(g[op](x, requested, { keepDims }), { x: data });
        const expected = reduceModel(op, data, shape, axes, keepDims);

        expect(result.shape).toEqual(expected.shape);
        expectClose(result.data, expected.data);
      }),
      { numRuns: RUNS },
    );
  });

  test('int32 sums are exact', () => {
    fc.assert(
      fc.property(shapeArb({ minRank: 1, maxRank: 3 }), seedArb, (shape, seed) => {
        const data = randomIntegers(sizeOfShape(shape), seed, -1000, 1000);
        const g = graph();
        const x = g.input('x', shape, 'int32');
        const result = run(x.sum([0]), { x: Int32Array.from(data) });
        expect(Array.from(result.data)).toEqual(reduceModel('sum', data, shape, [0], false).data);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('reduction edge cases', () => {
  function reduceVector(op: ReduceOp, values: number[]): number {
    const g = graph();
    const x = g.input('x', [values.length], 'float64');
    return run(g[op](x), { x: values }).data[0]!;
  }

  test('max keeps NaN wherever it appears', () => {
    expect(reduceVector('max', [NaN, 1])).toBeNaN();
    expect(reduceVector('max', [1, NaN])).toBeNaN();
    expect(reduceVector('max', [1, NaN, 2])).toBeNaN();
  });

  test('min keeps NaN wherever it appears', () => {
    expect(reduceVector('min', [NaN, 1])).toBeNaN();
    expect(reduceVector('min', [1, NaN])).toBeNaN();
    expect(reduceVector('min', [1, NaN, 0])).toBeNaN();
  });

  test('empty float reductions give their identities', () => {
    expect(reduceVector('sum', [])).toBe(0);
    expect(reduceVector('max', [])).toBe(-Infinity);
    expect(reduceVector('min', [])).toBe(Infinity);
    expect(reduceVector('mean', [])).toBeNaN();
  });

  test('empty int32 max and min give int32 limits', () => {
    const g = graph();
    const x = g.input('x', [0], 'int32');
    expect(run(x.max(), { x: [] }).data[0]).toBe(-2147483648);
    expect(run(x.min(), { x: [] }).data[0]).toBe(2147483647);
  });

  test('empty axes reduce nothing', () => {
    const g = graph();
    const x = g.input('x', [2, 2], 'float64');
    const result = run(x.sum([]), { x: [1, 2, 3, 4] });
    expect(result.shape).toEqual([2, 2]);
    expect(Array.from(result.data)).toEqual([1, 2, 3, 4]);
  });

  test('axes are stored sorted and positive', () => {
    const g = graph();
    const node = g.input('x', [2, 3, 4]).sum([-1, 0]);
    expect(node.attrs).toEqual({ axes: [0, 2], keepDims: false });
  });
});

describe('argmax', () => {
  /** Returns the first index of the maximum along `axis`, where the first NaN counts as the maximum. */
  function argmaxModel(data: Float64Array, shape: readonly number[], axis: number): number[] {
    const outShape = shape.filter((_, i) => i !== axis);
    return allIndices(outShape).map((outIndex) => {
      let best = 0;
      let bestValue = NaN;
      for (let k = 0; k < shape[axis]!; k++) {
        const index = [...outIndex.slice(0, axis), k, ...outIndex.slice(axis)];
        const v = data[ravel(index, shape)]!;
        if (Number.isNaN(v)) return k;
        if (k === 0 || v > bestValue) {
          best = k;
          bestValue = v;
        }
      }
      return best;
    });
  }

  test('matches the brute-force model', () => {
    const arb = shapeArb({ minRank: 1, maxRank: 3, minDim: 1 }).chain((shape) =>
      fc.record({ shape: fc.constant(shape), axis: fc.integer({ min: 0, max: shape.length - 1 }), nans: fc.boolean(), ties: fc.boolean(), seed: seedArb }),
    );
    fc.assert(
      fc.property(arb, ({ shape, axis, nans, ties, seed }) => {
        const data = ties ? randomIntegers(sizeOfShape(shape), seed, 0, 2) : randomValues(sizeOfShape(shape), seed);
        if (nans) data.forEach((v, i) => (data[i] = v > 1.5 ? NaN : v));
        const g = graph();
        const x = g.input('x', shape, 'float64');
        const result = run(x.argmax(axis), { x: data });
        expect(result.dtype).toBe('int32');
        expect(Array.from(result.data)).toEqual(argmaxModel(data, shape, axis));
      }),
      { numRuns: RUNS },
    );
  });
});
