// softmax, logSoftmax, softmaxCrossEntropy and meanSquaredError: normalisation,
// finiteness for logits of +-1e4, and values against brute-force models.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { graph } from '../../src/graph/graph.ts';
import { allIndices, expectClose, fuzzRuns, randomIntegers, randomValues, ravel, run, seedArb, shapeArb, sizeOfShape } from './support.ts';

const RUNS = fuzzRuns(100);

/** Random logits of a given scale with an axis; scale 1e4 also places exact +-1e4 values. */
const logitsArb = shapeArb({ minRank: 1, maxRank: 3, minDim: 1, maxDim: 4 }).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.integer({ min: -shape.length, max: shape.length - 1 }),
    scale: fc.constantFrom(3, 1e4),
    seed: seedArb,
  }),
);

function logitsFor(shape: readonly number[], scale: number, seed: number): Float64Array {
  const data = randomValues(sizeOfShape(shape), seed, scale);
  if (scale !== 1e4) return data;
  for (let i = 0; i < data.length; i++) {
    if (data[i]! > 5000) data[i] = 1e4;
    else if (data[i]! < -5000) data[i] = -1e4;
  }
  return data;
}

/** Lists the flat indices of every lane along `axis`. */
function lanes(shape: readonly number[], axis: number): number[][] {
  const outer = shape.map((d, i) => (i === axis ? 1 : d));
  return allIndices(outer).map((start) =>
    Array.from({ length: shape[axis]! }, (_, k) => ravel(start.map((v, i) => (i === axis ? k : v)), shape)),
  );
}

describe('softmax', () => {
  test('lanes sum to 1 within 1e-12', () => {
    fc.assert(
      fc.property(logitsArb, ({ shape, axis, scale, seed }) => {
        const data = logitsFor(shape, scale, seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').softmax(axis), { x: data });
        const positive = axis < 0 ? axis + shape.length : axis;
        for (const lane of lanes(shape, positive)) {
          const total = lane.reduce((s, i) => s + result.data[i]!, 0);
          expect(Math.abs(total - 1)).toBeLessThanOrEqual(1e-12);
        }
        for (const v of result.data) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('is unchanged by a shift of the logits', () => {
    fc.assert(
      fc.property(logitsArb, fc.double({ min: -100, max: 100, noNaN: true }), ({ shape, axis, seed }, shift) => {
        const data = logitsFor(shape, 3, seed);
        const g = graph();
        const x = g.input('x', shape, 'float64');
        const plain = run(x.softmax(axis), { x: data });
        const shifted = run(x.add(shift).softmax(axis), { x: data });
        expectClose(shifted.data, plain.data, 1e-9);
      }),
      { numRuns: RUNS },
    );
  });

  test('logits of +-1e4 give one-hot lanes', () => {
    const g = graph();
    const result = run(g.input('x', [2, 2], 'float64').softmax(), { x: [1e4, -1e4, -1e4, 1e4] });
    expect(Array.from(result.data)).toEqual([1, 0, 0, 1]);
  });
});

describe('logSoftmax', () => {
  test('stays finite for logits of +-1e4', () => {
    fc.assert(
      fc.property(logitsArb, ({ shape, axis, seed }) => {
        const data = logitsFor(shape, 1e4, seed);
        const g = graph();
        const result = run(g.input('x', shape, 'float64').logSoftmax(axis), { x: data });
        for (const v of result.data) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeLessThanOrEqual(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('exponentiated equals softmax', () => {
    fc.assert(
      fc.property(logitsArb, ({ shape, axis, scale, seed }) => {
        const data = logitsFor(shape, scale, seed);
        const g = graph();
        const x = g.input('x', shape, 'float64');
        const soft = run(x.softmax(axis), { x: data });
        const logSoft = run(x.logSoftmax(axis).exp(), { x: data });
        expectClose(logSoft.data, soft.data, 1e-12);
      }),
      { numRuns: RUNS },
    );
  });

  test('logits of +-1e4 by hand', () => {
    const g = graph();
    const result = run(g.input('x', [2], 'float64').logSoftmax(), { x: [1e4, -1e4] });
    expect(Array.from(result.data)).toEqual([0, -2e4]);
  });
});

describe('softmaxCrossEntropy', () => {
  const crossEntropyArb = fc.record({
    batch: fc.integer({ min: 1, max: 4 }),
    classes: fc.integer({ min: 1, max: 5 }),
    scale: fc.constantFrom(3, 1e4),
    seed: seedArb,
  });

  test('int32 labels match -logSoftmax at the label', () => {
    fc.assert(
      fc.property(crossEntropyArb, ({ batch, classes, scale, seed }) => {
        const logits = logitsFor([batch, classes], scale, seed);
        const labels = randomIntegers(batch, seed, 0, classes - 1);
        const g = graph();
        const z = g.input('z', [batch, classes], 'float64');
        const l = g.input('l', [batch], 'int32');
        const loss = run(g.softmaxCrossEntropy(z, l), { z: logits, l: Int32Array.from(labels) });
        const logProbabilities = run(z.logSoftmax(), { z: logits });
        const expected = Array.from(labels, (c, r) => -logProbabilities.data[r * classes + c]!);
        expect(loss.shape).toEqual([batch]);
        expectClose(loss.data, expected, 1e-12);
      }),
      { numRuns: RUNS },
    );
  });

  test('one-hot labels agree with int32 labels', () => {
    fc.assert(
      fc.property(crossEntropyArb, ({ batch, classes, scale, seed }) => {
        const logits = logitsFor([batch, classes], scale, seed);
        const labels = randomIntegers(batch, seed, 0, classes - 1);
        const oneHot = new Float64Array(batch * classes);
        labels.forEach((c, r) => (oneHot[r * classes + c] = 1));
        const g = graph();
        const z = g.input('z', [batch, classes], 'float64');
        const fromIndices = run(g.softmaxCrossEntropy(z, g.input('l', [batch], 'int32')), { z: logits, l: Int32Array.from(labels) });
        const fromOneHot = run(g.softmaxCrossEntropy(z, g.input('h', [batch, classes], 'float64')), { z: logits, h: oneHot });
        expectClose(fromOneHot.data, fromIndices.data, 1e-12);
      }),
      { numRuns: RUNS },
    );
  });

  test('out-of-range class index gives NaN', () => {
    const g = graph();
    const z = g.input('z', [2, 3], 'float64');
    const l = g.input('l', [2], 'int32');
    const loss = run(g.softmaxCrossEntropy(z, l), { z: [0, 0, 0, 0, 0, 0], l: [3, -1] });
    expect(loss.data[0]).toBeNaN();
    expect(loss.data[1]).toBeNaN();
  });

  test('uniform logits give log(classes)', () => {
    const g = graph();
    const z = g.input('z', [1, 4], 'float64');
    const loss = run(g.softmaxCrossEntropy(z, g.input('l', [1], 'int32')), { z: [2, 2, 2, 2], l: [1] });
    expect(loss.data[0]).toBeCloseTo(Math.log(4), 15);
  });
});

describe('meanSquaredError', () => {
  test('matches the mean of squared differences', () => {
    fc.assert(
      fc.property(shapeArb({ minRank: 1, minDim: 1, maxRank: 3 }), seedArb, (shape, seed) => {
        const p = randomValues(sizeOfShape(shape), seed);
        const t = randomValues(sizeOfShape(shape), seed + 1);
        const g = graph();
        const loss = run(g.meanSquaredError(g.input('p', shape, 'float64'), g.input('t', shape, 'float64')), { p, t });
        const expected = p.reduce((s, v, i) => s + (v - t[i]!) ** 2, 0) / p.length;
        expect(loss.shape).toEqual([]);
        expectClose(loss.data, [expected], 1e-12);
      }),
      { numRuns: RUNS },
    );
  });
});
