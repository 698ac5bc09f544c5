import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { broadcastAxes, broadcastIndexer, broadcastShapes, normalizeAxis } from '../../src/graph/shape.ts';
import { allIndices, broadcastModel, broadcastRead, fuzzRuns, ravel, shapeArb, sizeOfShape } from '../ops/support.ts';

const RUNS = fuzzRuns(200);

/** Pairs of shapes that often broadcast: the second is derived from the first, then perturbed. */
const shapePairArb = fc
  .tuple(shapeArb({ maxRank: 4, maxDim: 3 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }), fc.integer({ min: 0, max: 4 }))
  .map(([a, edits, drop]) => {
    // Edit 0 sets an axis to 1 (still broadcasts), edit 1 grows it (usually does not).
    const b = a.slice(Math.min(drop, a.length)).map((d, i) => {
      if (edits[i] === 0) return 1;
      if (edits[i] === 1) return d + 1;
      return d;
    });
    return [a, b] as const;
  });

describe('broadcastShapes', () => {
  test('matches the brute-force model', () => {
    fc.assert(
      fc.property(fc.oneof(shapePairArb, fc.tuple(shapeArb({ maxDim: 3 }), shapeArb({ maxDim: 3 }))), ([a, b]) => {
        expect(broadcastShapes(a, b)).toEqual(broadcastModel([a, b]));
      }),
      { numRuns: RUNS },
    );
  });

  test('is symmetric', () => {
    fc.assert(
      fc.property(shapePairArb, ([a, b]) => {
        expect(broadcastShapes(a, b)).toEqual(broadcastShapes(b, a));
      }),
      { numRuns: RUNS },
    );
  });

  test.each([
    { a: [], b: [], out: [] },
    { a: [], b: [2, 3], out: [2, 3] },
    { a: [3], b: [2, 3], out: [2, 3] },
    { a: [2, 1], b: [1, 3], out: [2, 3] },
    { a: [0], b: [1], out: [0] },
    { a: [1], b: [0], out: [0] },
    { a: [4, 1, 5], b: [3, 1], out: [4, 3, 5] },
  ])('$a with $b gives $out', ({ a, b, out }) => {
    expect(broadcastShapes(a, b)).toEqual(out);
  });

  test.each([
    { a: [2], b: [3] },
    { a: [0], b: [2] },
    { a: [2, 3], b: [3, 3, 2] },
  ])('$a with $b does not broadcast', ({ a, b }) => {
    expect(broadcastShapes(a, b)).toBeUndefined();
  });
});

describe('broadcastIndexer', () => {
  test('reads the element the model reads', () => {
    fc.assert(
      fc.property(shapePairArb, ([a, b]) => {
        const out = broadcastShapes(a, b);
        if (out === undefined) return;
        const data = Array.from({ length: sizeOfShape(a) }, (_, i) => i);
        const index = broadcastIndexer(a, out);
        for (const outIndex of allIndices(out)) {
          expect(index(ravel(outIndex, out))).toBe(broadcastRead(data, a, outIndex));
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('broadcastAxes', () => {
  test('lists the axes that a sum must reduce to undo the broadcast', () => {
    fc.assert(
      fc.property(shapePairArb, ([a, b]) => {
        const out = broadcastShapes(a, b);
        if (out === undefined) return;
        const axes = broadcastAxes(a, out);
        const aligned = [...new Array<number>(out.length - a.length).fill(1), ...a];
        out.forEach((d, i) => {
          if (aligned[i] !== d) expect(axes).toContain(i);
        });
        for (const i of axes) expect(aligned[i]).toBe(1);
        const kept = out.filter((_, i) => !axes.includes(i));
        expect(sizeOfShape(kept)).toBe(sizeOfShape(a));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('normalizeAxis', () => {
  test.each([
    { axis: 0, rank: 3, out: 0 },
    { axis: -1, rank: 3, out: 2 },
    { axis: -3, rank: 3, out: 0 },
    { axis: 3, rank: 3, out: undefined },
    { axis: -4, rank: 3, out: undefined },
    { axis: 0.5, rank: 3, out: undefined },
    { axis: 0, rank: 0, out: undefined },
  ])('axis $axis of rank $rank is $out', ({ axis, rank, out }) => {
    expect(normalizeAxis(axis, rank)).toBe(out);
  });
});
