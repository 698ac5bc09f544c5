// Gradients exactly at kinks, ties and non-finite inputs, where central
// differences cannot judge and slope's conventions decide: leakyRelu'(x) is 1
// for x > 0 and alpha for x <= 0 (so never 0 for alpha != 0), relu'(0) = 0,
// abs'(0) = 0, ties of maximum/minimum and of max/min reductions split
// evenly, sqrt'(0) = +Infinity, and NaN stays NaN through the relu family.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { grad } from '../../passes/grad.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import type { Evaluator } from '../support/backends.ts';
import { EVALUATORS } from '../support/backends.ts';

/** Values at and around every boundary of float64: zeros, subnormals, the smallest normal and near the largest finite. */
const SPECIAL_VALUES = [0, -0, 5e-324, -5e-324, 1e-310, -1e-310, 2.2250738585072014e-308, -2.2250738585072014e-308, 1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE];

/** Any finite double, with the special values mixed in often. */
const FINITE_X = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...SPECIAL_VALUES));

/** Maps -0 to +0, since these tests treat the sign of a zero as unspecified. */
function unsignedZero(value: number): number {
  return value + 0;
}

/** Returns the values of y and of d sum(y) / dx for y = build(x), x fed with `values`, with -0 read as +0. */
function valueAndGradient(values: readonly number[], build: (x: Node) => Node, run: Evaluator = evaluate): { y: number[]; dx: number[] } {
  const graph = new Graph();
  const x = graph.input('x', [values.length], 'float64');
  const y = build(x);
  const [dx] = grad(y.sum(), [x]);
  const [yValue, dxValue] = run([y, dx!], { x: Float64Array.from(values) });
  return { y: Array.from(yValue!.data, unsignedZero), dx: Array.from(dxValue!.data, unsignedZero) };
}

// Hundreds of fuzzed runs of 16-element kernels would spend seconds starting worker threads and test no split that the other suites do not.
for (const backend of EVALUATORS.filter((e) => e.startsThreads !== true)) {
describe(`leakyRelu at its kink on ${backend.name}`, () => {
  const xs = fc.array(FINITE_X, { minLength: 1, maxLength: 16 });

  test('slope is exactly 1 or alpha', () => {
    const alpha = fc.double({ min: 0, max: 10, minExcluded: true, noNaN: true });
    fc.assert(
      fc.property(xs, alpha, (values, a) => {
        const { y, dx } = valueAndGradient(values, (x) => x.leakyRelu(a), backend.evaluate);
        values.forEach((x, i) => {
          expect(dx[i], `d/dx at x = ${x}, alpha = ${a}`).toBe(x > 0 ? 1 : a);
          expect(dx[i], `d/dx at x = ${x}, alpha = ${a}`).not.toBe(0);
          expect(y[i], `value at x = ${x}, alpha = ${a}`).toBe(unsignedZero(x > 0 ? x : a * x));
        });
      }),
      { numRuns: fuzzRuns(200) },
    );
  });

  test('alpha 0 gives exactly 0 for x <= 0', () => {
    fc.assert(
      fc.property(xs, (values) => {
        for (const build of [(x: Node) => x.leakyRelu(0), (x: Node) => x.relu()]) {
          const { y, dx } = valueAndGradient(values, build, backend.evaluate);
          values.forEach((x, i) => {
            expect(dx[i], `d/dx at x = ${x}`).toBe(x > 0 ? 1 : 0);
            expect(y[i], `value at x = ${x}`).toBe(unsignedZero(x > 0 ? x : 0));
          });
        }
      }),
      { numRuns: fuzzRuns(100) },
    );
  });

  test('slope at +0 and -0 is alpha for any alpha', () => {
    for (const alpha of [0.2, 0.01, 1, 1.5, 10, -0.5, -3]) {
      const { dx } = valueAndGradient([0, -0], (x) => x.leakyRelu(alpha), backend.evaluate);
      expect(dx, `alpha ${alpha}`).toEqual([alpha, alpha]);
    }
  });
});
}

describe('relu and abs at 0', () => {
  test('relu gradient at 0 is 0', () => {
    const { y, dx } = valueAndGradient([0, -0, 5e-324], (x) => x.relu());
    expect(dx).toEqual([0, 0, 1]);
    expect(y).toEqual([0, 0, 5e-324]);
  });

  test('abs gradient at 0 is 0', () => {
    const { y, dx } = valueAndGradient([0, -0, 5e-324, -5e-324], (x) => x.abs());
    expect(dx).toEqual([0, 0, 1, -1]);
    expect(y).toEqual([0, 0, 5e-324, 5e-324]);
  });

  test('prelu gradient at 0 is alpha', () => {
    const { dx } = valueAndGradient([0, -0], (x) => x.prelu(x.graph.constant(0.25, [], 'float64')));
    expect(dx).toEqual([0.25, 0.25]);
  });
});

describe('ties', () => {
  function tieGradients(op: 'maximum' | 'minimum', a: number[], b: number[], w: number[]): { da: number[]; db: number[] } {
    const graph = new Graph();
    const an = graph.input('a', [a.length], 'float64');
    const bn = graph.input('b', [b.length], 'float64');
    const loss = graph.addNode(op, [an, bn]).mul(graph.constant(w, [w.length], 'float64')).sum();
    const [da, db] = grad(loss, [an, bn]);
    const [daValue, dbValue] = evaluate([da!, db!], { a, b });
    return { da: Array.from(daValue!.data, unsignedZero), db: Array.from(dbValue!.data, unsignedZero) };
  }

  for (const op of ['maximum', 'minimum'] as const) {
    test(`${op} splits a tie 0.5 and 0.5`, () => {
      const pairs = fc.array(fc.tuple(FINITE_X, FINITE_X, fc.boolean(), fc.double({ min: -4, max: 4, noNaN: true })), { minLength: 1, maxLength: 12 });
      fc.assert(
        fc.property(pairs, (rows) => {
          const a = rows.map(([x]) => x);
          const b = rows.map(([x, y, tied]) => (tied ? x : y));
          const w = rows.map(([, , , weight]) => weight);
          const { da, db } = tieGradients(op, a, b, w);
          rows.forEach((_, i) => {
            const aWins = op === 'maximum' ? a[i]! > b[i]! : a[i]! < b[i]!;
            const bWins = op === 'maximum' ? b[i]! > a[i]! : b[i]! < a[i]!;
            let expectedA = 0.5 * w[i]!;
            let expectedB = 0.5 * w[i]!;
            if (aWins) [expectedA, expectedB] = [w[i]!, 0];
            if (bWins) [expectedA, expectedB] = [0, w[i]!];
            expect(da[i], `d/da at a = ${a[i]}, b = ${b[i]}`).toBe(unsignedZero(expectedA));
            expect(db[i], `d/db at a = ${a[i]}, b = ${b[i]}`).toBe(unsignedZero(expectedB));
          });
        }),
        { numRuns: fuzzRuns(100) },
      );
    });
  }

  test('maximum tie with +0 and -0 splits', () => {
    const { da, db } = tieGradients('maximum', [0, -0], [-0, 0], [1, 1]);
    expect(da).toEqual([0.5, 0.5]);
    expect(db).toEqual([0.5, 0.5]);
  });

  for (const op of ['max', 'min'] as const) {
    test(`${op} reduction gives 1/k to k tied elements`, () => {
      // A lane of k copies of the extremum and other values strictly beyond it.
      const lane = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.double({ min: -100, max: 100, noNaN: true }), fc.array(fc.double({ min: 0.5, max: 50, noNaN: true }), { maxLength: 5 }));
      fc.assert(
        fc.property(lane, fc.integer({ min: 0, max: 1000 }), ([k, extremum, gaps], shuffle) => {
          const others = gaps.map((gap) => (op === 'max' ? extremum - gap : extremum + gap));
          const values = [...new Array<number>(k).fill(extremum), ...others];
          // Rotate so the tied elements do not always come first.
          const offset = shuffle % values.length;
          const rotated = [...values.slice(offset), ...values.slice(0, offset)];
          const { y, dx } = valueAndGradient(rotated, (x) => x.graph.addNode(op, [x], { keepDims: false }));
          expect(y).toEqual([unsignedZero(extremum)]);
          rotated.forEach((v, i) => {
            expect(dx[i], `element ${i} = ${v} of ${JSON.stringify(rotated)}`).toBe(v === extremum ? 1 / k : 0);
          });
        }),
        { numRuns: fuzzRuns(100) },
      );
    });
  }

  test('max reduction splits per lane', () => {
    const graph = new Graph();
    const x = graph.input('x', [2, 3], 'float64');
    const [dx] = grad(x.max(1).mul(graph.constant([1, 6], [2], 'float64')).sum(), [x]);
    const [value] = evaluate([dx!], { x: [2, 2, 1, 5, 5, 5] });
    expect(Array.from(value!.data)).toEqual([0.5, 0.5, 0, 2, 2, 2]);
  });
});

describe('non-finite derivatives', () => {
  test('sqrt gradient at 0 is +Infinity', () => {
    const { y, dx } = valueAndGradient([0, 4], (x) => x.sqrt());
    expect(y).toEqual([0, 2]);
    expect(dx).toEqual([Infinity, 0.25]);
  });

  const relus: [string, (x: Node) => Node][] = [
    ['relu', (x) => x.relu()],
    ['leakyRelu 0.2', (x) => x.leakyRelu(0.2)],
    ['leakyRelu 0', (x) => x.leakyRelu(0)],
    ['leakyRelu 3', (x) => x.leakyRelu(3)],
    ['leakyRelu -0.5', (x) => x.leakyRelu(-0.5)],
    ['elu 1', (x) => x.elu(1)],
    ['elu 14.5', (x) => x.elu(14.5)],
    ['prelu 0.25', (x) => x.prelu(x.graph.constant(0.25, [], 'float64'))],
  ];
  for (const [name, build] of relus) {
    test(`${name} keeps NaN in value and gradient`, () => {
      const { y, dx } = valueAndGradient([NaN, 1, -1], build);
      expect(y[0]).toBeNaN();
      expect(dx[0]).toBeNaN();
      expect(Number.isNaN(y[1]!) || Number.isNaN(y[2]!), 'NaN leaked into other elements').toBe(false);
      expect(dx[1]).toBe(1);
    });
  }
});
