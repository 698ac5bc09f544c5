// Values of matmul and the data-movement ops: matmul against a naive triple
// loop, round trips (reshape back, transpose by the inverse permutation,
// slices concatenated, padding sliced off) and brute-force index models.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { graph } from '../../src/graph/graph.ts';
import {
  allIndices,
  broadcastModel,
  broadcastRead,
  expectClose,
  fuzzRuns,
  randomIntegers,
  randomValues,
  ravel,
  run,
  seedArb,
  shapeArb,
  sizeOfShape,
} from './support.ts';

const RUNS = fuzzRuns(100);

/** Generates a permutation of 0..rank-1. */
function permutationArb(rank: number): fc.Arbitrary<number[]> {
  const axes = Array.from({ length: rank }, (_, i) => i);
  return fc.shuffledSubarray(axes, { minLength: rank, maxLength: rank });
}

describe('matmul', () => {
  const matmulArb = fc
    .record({
      batch: shapeArb({ maxRank: 2, maxDim: 3 }),
      dropA: fc.integer({ min: 0, max: 2 }),
      dropB: fc.integer({ min: 0, max: 2 }),
      onesA: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
      onesB: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
      m: fc.integer({ min: 1, max: 4 }),
      k: fc.integer({ min: 0, max: 4 }),
      n: fc.integer({ min: 1, max: 4 }),
      transposeA: fc.boolean(),
      transposeB: fc.boolean(),
      seed: seedArb,
    })
    .map((p) => {
      const batchOf = (drop: number, ones: boolean[]) => p.batch.slice(drop).map((d, i) => (ones[i] ? 1 : d));
      return { ...p, batchA: batchOf(p.dropA, p.onesA), batchB: batchOf(p.dropB, p.onesB) };
    });

  test('matches a naive triple loop', () => {
    fc.assert(
      fc.property(matmulArb, ({ batchA, batchB, m, k, n, transposeA, transposeB, seed }) => {
        const shapeA = [...batchA, ...(transposeA ? [k, m] : [m, k])];
        const shapeB = [...batchB, ...(transposeB ? [n, k] : [k, n])];
        const dataA = randomValues(sizeOfShape(shapeA), seed);
        const dataB = randomValues(sizeOfShape(shapeB), seed + 1);

        const g = graph();
        const a = g.input('a', shapeA, 'float64');
        const b = g.input('b', shapeB, 'float64');
        const result = run(a.matmul(b, { transposeA, transposeB }), { a: dataA, b: dataB });

        const batch = broadcastModel([batchA, batchB])!;
        const outShape = [...batch, m, n];
        const expected = allIndices(outShape).map((index) => {
          const batchIndex = index.slice(0, -2);
          const [i, j] = index.slice(-2) as [number, number];
          let total = 0;
          for (let p = 0; p < k; p++) {
            const aValue = broadcastRead(dataA, shapeA, [...batchIndex, ...(transposeA ? [p, i] : [i, p])]);
            const bValue = broadcastRead(dataB, shapeB, [...batchIndex, ...(transposeB ? [j, p] : [p, j])]);
            total += aValue * bValue;
          }
          return total;
        });

        expect(result.shape).toEqual(outShape);
        expectClose(result.data, expected);
      }),
      { numRuns: RUNS },
    );
  });

  test('2x3 times 3x2 by hand', () => {
    const g = graph();
    const a = g.constant([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
    const b = g.constant([7, 8, 9, 10, 11, 12], [3, 2], 'float64');
    expect(Array.from(run(a.matmul(b)).data)).toEqual([58, 64, 139, 154]);
  });
});

describe('reshape', () => {
  /** Groups consecutive factors into axes, starting a new axis where `split` is true. */
  function group(factors: readonly number[], split: readonly boolean[]): number[] {
    const shape: number[] = [];
    factors.forEach((f, i) => {
      if (i === 0 || split[i]) shape.push(f);
      else shape[shape.length - 1]! *= f;
    });
    return shape;
  }

  test('reshaping back restores the values', () => {
    const arb = fc.record({
      factors: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 5 }),
      splitFrom: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      splitTo: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      seed: seedArb,
    });
    fc.assert(
      fc.property(arb, ({ factors, splitFrom, splitTo, seed }) => {
        const from = group(factors, splitFrom);
        const to = group(factors, splitTo);
        const data = randomValues(sizeOfShape(from), seed);

        const g = graph();
        const x = g.input('x', from, 'float64');
        const there = x.reshape(to);
        const back = there.reshape(from);
        expect(Array.from(run(there, { x: data }).data)).toEqual(Array.from(data));
        expect(Array.from(run(back, { x: data }).data)).toEqual(Array.from(data));
      }),
      { numRuns: RUNS },
    );
  });

  test('-1 is inferred from the other axes', () => {
    const g = graph();
    expect(g.input('x', [2, 3, 4]).reshape([4, -1]).shape).toEqual([4, 6]);
  });
});

describe('transpose', () => {
  const transposeArb = shapeArb({ maxRank: 4, maxDim: 3 }).chain((shape) =>
    fc.record({ shape: fc.constant(shape), perm: permutationArb(shape.length), seed: seedArb }),
  );

  test('matches the brute-force index model', () => {
    fc.assert(
      fc.property(transposeArb, ({ shape, perm, seed }) => {
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').transpose(perm), { x: data });
        const outShape = perm.map((p) => shape[p]!);
        // Output axis i is input axis perm[i].
        const expected = allIndices(outShape).map((outIndex) => {
          const inIndex = new Array<number>(shape.length);
          perm.forEach((p, i) => (inIndex[p] = outIndex[i]!));
          return data[ravel(inIndex, shape)]!;
        });
        expect(result.shape).toEqual(outShape);
        expect(Array.from(result.data)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  test('inverse permutation restores the values', () => {
    fc.assert(
      fc.property(transposeArb, ({ shape, perm, seed }) => {
        const inverse = new Array<number>(perm.length);
        perm.forEach((p, i) => (inverse[p] = i));
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').transpose(perm).transpose(inverse), { x: data });
        expect(result.shape).toEqual(shape);
        expect(Array.from(result.data)).toEqual(Array.from(data));
      }),
      { numRuns: RUNS },
    );
  });

  test('default permutation reverses the axes', () => {
    const g = graph();
    const x = g.constant([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
    const result = run(x.transpose());
    expect(result.shape).toEqual([3, 2]);
    expect(Array.from(result.data)).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('slice and concat', () => {
  const splitArb = shapeArb({ minRank: 1, maxRank: 3, maxDim: 4 }).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      axis: fc.integer({ min: 0, max: shape.length - 1 }),
      cuts: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      seed: seedArb,
    }),
  );

  test('slices concatenated along the axis restore the values', () => {
    fc.assert(
      fc.property(splitArb, ({ shape, axis, cuts, seed }) => {
        const extent = shape[axis]!;
        const bounds = [0, ...cuts.map((c) => Math.min(c, extent)).sort((a, b) => a - b), extent];
        const data = randomValues(sizeOfShape(shape), seed);

        const g = graph();
        const x = g.input('x', shape, 'float64');
        const pieces = bounds.slice(1).map((end, i) => {
          const begin = shape.map((_, j) => (j === axis ? bounds[i]! : 0));
          const size = shape.map((d, j) => (j === axis ? end - bounds[i]! : d));
          return x.slice(begin, size);
        });
        const result = run(g.concat(pieces, axis), { x: data });
        expect(result.shape).toEqual(shape);
        expect(Array.from(result.data)).toEqual(Array.from(data));
      }),
      { numRuns: RUNS },
    );
  });

  test('slice matches the brute-force index model', () => {
    const arb = shapeArb({ maxRank: 4, maxDim: 4 }).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        bounds: fc.tuple(...shape.map((d) => fc.tuple(fc.integer({ min: 0, max: d }), fc.integer({ min: 0, max: d })))),
        seed: seedArb,
      }),
    );
    fc.assert(
      fc.property(arb, ({ shape, bounds, seed }) => {
        const begin = bounds.map(([a, b]) => Math.min(a, b));
        const size = bounds.map(([a, b]) => Math.abs(a - b));
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').slice(begin, size), { x: data });
        const expected = allIndices(size).map((index) => data[ravel(index.map((v, i) => v + begin[i]!), shape)]!);
        expect(result.shape).toEqual(size);
        expect(Array.from(result.data)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  test('size -1 runs to the end of the axis', () => {
    const g = graph();
    const x = g.constant([0, 1, 2, 3, 4, 5], [6], 'float64');
    expect(Array.from(run(x.slice([2], [-1])).data)).toEqual([2, 3, 4, 5]);
  });
});

describe('pad', () => {
  const padArb = shapeArb({ maxRank: 3, maxDim: 3 }).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      paddings: fc.tuple(...shape.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
      value: fc.double({ min: -5, max: 5, noNaN: true }),
      seed: seedArb,
    }),
  );

  test('slicing the padding off restores the values', () => {
    fc.assert(
      fc.property(padArb, ({ shape, paddings, value, seed }) => {
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const padded = g.input('x', shape, 'float64').pad(paddings, value);
        const result = run(padded.slice(paddings.map((p) => p[0]), shape), { x: data });
        expect(Array.from(result.data)).toEqual(Array.from(data));
      }),
      { numRuns: RUNS },
    );
  });

  test('matches the brute-force index model', () => {
    fc.assert(
      fc.property(padArb, ({ shape, paddings, value, seed }) => {
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').pad(paddings, value), { x: data });
        const outShape = shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
        const expected = allIndices(outShape).map((outIndex) => {
          const inIndex = outIndex.map((v, i) => v - paddings[i]![0]);
          const inside = inIndex.every((v, i) => v >= 0 && v < shape[i]!);
          return inside ? data[ravel(inIndex, shape)]! : value;
        });
        expect(result.shape).toEqual(outShape);
        expect(Array.from(result.data)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('broadcastTo', () => {
  test('matches the brute-force index model', () => {
    const arb = fc
      .record({ shape: shapeArb({ maxRank: 3, maxDim: 3 }), prefix: shapeArb({ maxRank: 2, maxDim: 3 }), seed: seedArb })
      .map(({ shape, prefix, seed }) => {
        const grown = randomIntegers(shape.length, seed, 1, 3);
        return { shape, target: [...prefix, ...shape.map((d, i) => (d === 1 ? grown[i]! : d))], seed };
      });
    fc.assert(
      fc.property(arb, ({ shape, target, seed }) => {
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').broadcastTo(target), { x: data });
        const expected = allIndices(target).map((index) => broadcastRead(data, shape, index));
        expect(result.shape).toEqual(target);
        expect(Array.from(result.data)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('oneHot', () => {
  test('sets one column per in-range index', () => {
    const g = graph();
    const indices = g.input('i', [4], 'int32');
    const result = run(indices.oneHot(3), { i: [0, 2, -1, 3] });
    expect(result.shape).toEqual([4, 3]);
    expect(result.dtype).toBe('float32');
    expect(Array.from(result.data)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });
});
