// Elementwise ops: broadcasting binary and ternary ops against a
// brute-force index model, unary ops against their definitions, and the
// stability and conversion rules that are easy to get wrong.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { DType } from '../../src/graph/dtype.ts';
import type { Graph } from '../../src/graph/graph.ts';
import { graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { allIndices, broadcastModel, broadcastRead, expectClose, fuzzRuns, randomIntegers, randomValues, run, seedArb, shapeArb, sizeOfShape } from './support.ts';

const RUNS = fuzzRuns(60);

type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'greater' | 'greaterEqual' | 'less' | 'equal' | 'prelu';

function maximumOf(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return a > b ? a : b;
}

function minimumOf(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return a < b ? a : b;
}

/** prelu as leakyRelu defines it: alpha 0 gives +0 for every x <= 0, NaN stays NaN. */
function preluOf(x: number, alpha: number): number {
  if (x > 0 || Number.isNaN(x)) return x;
  if (alpha === 0) return 0;
  return alpha * x;
}

// The definition of each binary op on one pair of float64 numbers.
const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: maximumOf,
  minimum: minimumOf,
  greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
  prelu: preluOf,
};

/** Two shapes that broadcast: the second drops leading axes of the first and sets some axes to 1. */
const broadcastPairArb = fc
  .record({
    shape: shapeArb({ maxRank: 4, maxDim: 3 }),
    drop: fc.integer({ min: 0, max: 4 }),
    ones: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    swap: fc.boolean(),
    seed: seedArb,
  })
  .map(({ shape, drop, ones, swap, seed }) => {
    const other = shape.slice(Math.min(drop, shape.length)).map((d, i) => (ones[i] ? 1 : d));
    return { a: swap ? other : shape, b: swap ? shape : other, seed };
  });

/** Test data with a few NaNs, infinities and zeros among ordinary values. */
function valuesWithSpecials(size: number, seed: number): Float64Array {
  const data = randomValues(size, seed);
  const specials = [NaN, Infinity, -Infinity, 0, -0, 1];
  const picks = randomIntegers(size, seed + 17, 0, 3 * specials.length);
  picks.forEach((p, i) => {
    if (p < specials.length) data[i] = specials[p]!;
  });
  return data;
}

describe('binary ops', () => {
  test.each(Object.keys(BINARY) as BinaryOp[])('%s broadcasts as the index model does', (op) => {
    fc.assert(
      fc.property(broadcastPairArb, ({ a, b, seed }) => {
        const dataA = valuesWithSpecials(sizeOfShape(a), seed);
        const dataB = valuesWithSpecials(sizeOfShape(b), seed + 1);
        const g = graph();
        const node = (g[op] as (x: Node, y: Node) => Node).call(g, g.input('a', a, 'float64'), g.input('b', b, 'float64'));
        const result = run(node, { a: dataA, b: dataB });
        const outShape = broadcastModel([a, b])!;
        const expected = allIndices(outShape).map((index) => BINARY[op](broadcastRead(dataA, a, index), broadcastRead(dataB, b, index)));
        expect(result.shape).toEqual(outShape);
        expectClose(result.data, expected, 0);
      }),
      { numRuns: RUNS },
    );
  });

  test('number operand becomes a constant of the node dtype', () => {
    const g = graph();
    const x = g.input('x', [2], 'float64');
    const y = x.mul(3);
    expect(y.inputs[1]!.op).toBe('constant');
    expect(y.inputs[1]!.dtype).toBe('float64');
    expect(Array.from(run(y, { x: [1, -2] }).data)).toEqual([3, -6]);
  });

  test('number on the left works too', () => {
    const g = graph();
    const x = g.input('x', [2], 'float64');
    expect(Array.from(run(g.sub(1, x), { x: [1, -2] }).data)).toEqual([0, 3]);
  });

  test('int32 arithmetic stays integral', () => {
    const g = graph();
    const x = g.input('x', [3], 'int32');
    const result = run(x.mul(3).sub(x.maximum(1)), { x: [-2, 0, 5] });
    expect(result.dtype).toBe('int32');
    expect(Array.from(result.data)).toEqual([-7, -1, 10]);
  });
});

describe('where', () => {
  test('selects with three-way broadcasting', () => {
    const arb = fc.record({ pair: broadcastPairArb, conditionRank: fc.integer({ min: 0, max: 2 }) });
    fc.assert(
      fc.property(arb, ({ pair, conditionRank }) => {
        const { a, b, seed } = pair;
        const outShape = broadcastModel([a, b])!;
        const cond = outShape.slice(outShape.length - Math.min(conditionRank, outShape.length));
        const dataC = randomIntegers(sizeOfShape(cond), seed, 0, 1);
        const dataA = randomValues(sizeOfShape(a), seed + 1);
        const dataB = randomValues(sizeOfShape(b), seed + 2);
        const g = graph();
        const node = g.where(g.input('c', cond, 'bool'), g.input('a', a, 'float64'), g.input('b', b, 'float64'));
        const result = run(node, { c: Array.from(dataC), a: dataA, b: dataB });
        const expected = allIndices(outShape).map((index) =>
          broadcastRead(dataC, cond, index) !== 0 ? broadcastRead(dataA, a, index) : broadcastRead(dataB, b, index),
        );
        expect(Array.from(result.data)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });
});

// Each unary op on float64 against its definition; sigmoid and softplus
// against a direct formula where that formula does not overflow.
const UNARY: Record<string, { build: (x: Node) => Node; value: (x: number) => number; tolerance: number }> = {
  neg: { build: (x) => x.neg(), value: (x) => -x, tolerance: 0 },
  abs: { build: (x) => x.abs(), value: Math.abs, tolerance: 0 },
  sign: { build: (x) => x.sign(), value: Math.sign, tolerance: 0 },
  exp: { build: (x) => x.exp(), value: Math.exp, tolerance: 0 },
  log: { build: (x) => x.log(), value: Math.log, tolerance: 0 },
  sqrt: { build: (x) => x.sqrt(), value: Math.sqrt, tolerance: 0 },
  square: { build: (x) => x.square(), value: (x) => x * x, tolerance: 0 },
  reciprocal: { build: (x) => x.reciprocal(), value: (x) => 1 / x, tolerance: 0 },
  tanh: { build: (x) => x.tanh(), value: Math.tanh, tolerance: 0 },
  sigmoid: { build: (x) => x.sigmoid(), value: (x) => 1 / (1 + Math.exp(-x)), tolerance: 1e-15 },
  softplus: { build: (x) => x.softplus(), value: (x) => Math.log(1 + Math.exp(x)), tolerance: 1e-14 },
  stopGradient: { build: (x) => x.stopGradient(), value: (x) => x, tolerance: 0 },
};

describe('unary ops', () => {
  test.each(Object.keys(UNARY))('%s matches its definition', (name) => {
    const { build, value, tolerance } = UNARY[name]!;
    fc.assert(
      fc.property(shapeArb({ maxRank: 2, maxDim: 4 }), seedArb, (shape, seed) => {
        const data = randomValues(sizeOfShape(shape), seed);
        const g = graph();
        const result = run(build(g.input('x', shape, 'float64')), { x: data });
        expectClose(result.data, Array.from(data, value), tolerance);
      }),
      { numRuns: RUNS },
    );
  });

  test('sigmoid saturates without NaN', () => {
    const g = graph();
    const result = run(g.input('x', [4], 'float64').sigmoid(), { x: [-1000, 1000, -Infinity, Infinity] });
    expect(Array.from(result.data)).toEqual([0, 1, 0, 1]);
  });

  test('softplus is finite for large inputs', () => {
    const g = graph();
    const result = run(g.input('x', [3], 'float64').softplus(), { x: [1000, -1000, 0] });
    expect(result.data[0]).toBe(1000);
    expect(result.data[1]).toBe(0);
    expect(result.data[2]).toBeCloseTo(Math.LN2, 15);
  });
});

describe('cast', () => {
  function castValues(values: number[], from: DType, to: DType): number[] {
    const g: Graph = graph();
    const x = g.input('x', [values.length], from);
    return Array.from(run(x.cast(to), { x: values }).data);
  }

  test('to int32 truncates toward zero', () => {
    expect(castValues([2.7, -2.7, 0.5, -0.5], 'float64', 'int32')).toEqual([2, -2, 0, 0]);
  });

  test('to int32 maps NaN and infinities to 0', () => {
    expect(castValues([NaN, Infinity, -Infinity], 'float64', 'int32')).toEqual([0, 0, 0]);
  });

  test('to bool tests for non-zero', () => {
    expect(castValues([0, -0, 0.1, -3, NaN], 'float64', 'bool')).toEqual([0, 0, 1, 1, 1]);
  });

  test('to float32 rounds to the nearest float32', () => {
    expect(castValues([0.1, 1 / 3], 'float64', 'float32')).toEqual([Math.fround(0.1), Math.fround(1 / 3)]);
  });

  test('from bool to float32 gives 0 and 1', () => {
    expect(castValues([0, 1, 1], 'bool', 'float32')).toEqual([0, 1, 1]);
  });
});
