// Every op's shape and dtype rule, against a model written here and against
// the length and shape of what the reference interpreter computes, on random
// valid inputs. The table is typed over the op names, so a new op does not
// compile until it has a case here. Convolution and pooling are left out
// until their definitions exist.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { DType } from '../../src/graph/dtype.ts';
import type { Feeds } from '../../src/graph/feeds.ts';
import type { Graph } from '../../src/graph/graph.ts';
import { graph } from '../../src/graph/graph.ts';
import type { InitKind } from '../../src/graph/init.ts';
import type { Node } from '../../src/graph/node.ts';
import type { OpName } from '../../src/ops/attrs.ts';
import { broadcastModel, fuzzRuns, randomIntegers, randomValues, run, seedArb, shapeArb, sizeOfShape } from './support.ts';

const RUNS = fuzzRuns(40);

type WindowOp = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad';
type CheckedOp = Exclude<OpName, WindowOp>;

interface TypeModel {
  shape: number[];
  dtype: DType;
}

interface ShapeCase<P> {
  params: fc.Arbitrary<P>;
  /** Builds the op under test in `g`, with inputs named x0, x1, ... */
  build(g: Graph, p: P): Node;
  expected(p: P): TypeModel;
}

function shapeCase<P>(c: ShapeCase<P>): ShapeCase<unknown> {
  return c as ShapeCase<unknown>;
}

const floatDType = fc.constantFrom<DType>('float32', 'float64');
const numericDType = fc.constantFrom<DType>('float32', 'float64', 'int32');
const anyDType = fc.constantFrom<DType>('float32', 'float64', 'int32', 'bool');
const alphaArb = fc.double({ min: -5, max: 5, noNaN: true });

/** `count` shapes that broadcast together: each drops leading axes of a base shape and sets some axes to 1. */
function broadcastableArb(count: number): fc.Arbitrary<number[][]> {
  return shapeArb({ maxRank: 4, maxDim: 3 }).chain((base) => {
    const variant = fc
      .tuple(fc.integer({ min: 0, max: base.length }), fc.array(fc.boolean(), { minLength: base.length, maxLength: base.length }))
      .map(([drop, ones]) => base.slice(drop).map((d, i) => (ones[drop + i] ? 1 : d)));
    return fc.array(variant, { minLength: count, maxLength: count });
  });
}

/** Generates a shape of rank >= 1 with one of its axes, written positive or negative. */
function shapeWithAxisArb(minDim = 0): fc.Arbitrary<{ shape: number[]; axis: number }> {
  return shapeArb({ minRank: 1, minDim }).chain((shape) =>
    fc.integer({ min: -shape.length, max: shape.length - 1 }).map((axis) => ({ shape, axis })),
  );
}

function positiveAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function unaryFloat(op: CheckedOp & keyof Graph): ShapeCase<unknown> {
  return shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: floatDType }),
    build: (g, p) => (g[op] as (x: Node) => Node).call(g, g.input('x0', p.shape, p.dtype)),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  });
}

function binary(op: CheckedOp & keyof Graph, dtypes: fc.Arbitrary<DType>, result: 'same' | 'bool'): ShapeCase<unknown> {
  return shapeCase({
    params: fc.record({ shapes: broadcastableArb(2), dtype: dtypes }),
    build: (g, p) => {
      const a = g.input('x0', p.shapes[0]!, p.dtype);
      const b = g.input('x1', p.shapes[1]!, p.dtype);
      return (g[op] as (a: Node, b: Node) => Node).call(g, a, b);
    },
    expected: (p) => ({ shape: broadcastModel(p.shapes)!, dtype: result === 'bool' ? 'bool' : p.dtype }),
  });
}

function reduction(op: 'sum' | 'mean' | 'max' | 'min', dtypes: fc.Arbitrary<DType>): ShapeCase<unknown> {
  const params = fc.record({ shape: shapeArb(), dtype: dtypes, keepDims: fc.boolean(), all: fc.boolean(), seed: seedArb }).map((p) => {
    // Pick a subset of axes from the seed: 0 skips an axis, 1 writes it positive, 2 negative.
    const picks = randomIntegers(p.shape.length, p.seed, 0, 2);
    const axes: number[] = [];
    p.shape.forEach((_, i) => {
      if (picks[i] === 1) axes.push(i);
      if (picks[i] === 2) axes.push(i - p.shape.length);
    });
    return { shape: p.shape, dtype: p.dtype, keepDims: p.keepDims, axes: p.all ? undefined : axes };
  });
  return shapeCase({
    params,
    build: (g, p) => g[op](g.input('x0', p.shape, p.dtype), p.axes, { keepDims: p.keepDims }),
    expected: (p) => {
      const reduced = new Set((p.axes ?? p.shape.map((_, i) => i)).map((a) => positiveAxis(a, p.shape.length)));
      const shape: number[] = [];
      p.shape.forEach((d, i) => {
        if (!reduced.has(i)) shape.push(d);
        else if (p.keepDims) shape.push(1);
      });
      return { shape, dtype: p.dtype };
    },
  });
}

function softmaxLike(op: 'softmax' | 'logSoftmax'): ShapeCase<unknown> {
  return shapeCase({
    params: fc.record({ shapeAxis: shapeWithAxisArb(), dtype: floatDType }),
    build: (g, p) => g[op](g.input('x0', p.shapeAxis.shape, p.dtype), p.shapeAxis.axis),
    expected: (p) => ({ shape: p.shapeAxis.shape, dtype: p.dtype }),
  });
}

/** Two shapes of one size: factors grouped two ways, the second with an optional -1. */
const reshapeArb = fc
  .record({
    factors: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 5 }),
    cutsA: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    cutsB: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
    onesB: fc.integer({ min: 0, max: 2 }),
    infer: fc.integer({ min: -1, max: 6 }),
  })
  .map(({ factors, cutsA, cutsB, onesB, infer }) => {
    const group = (cuts: boolean[]) => {
      const shape: number[] = [];
      factors.forEach((f, i) => {
        if (i === 0 || cuts[i]) shape.push(f);
        else shape[shape.length - 1]! *= f;
      });
      return shape;
    };
    const from = group(cutsA);
    const to = [...group(cutsB), ...new Array<number>(onesB).fill(1)];
    const request = to.map((d, i) => (i === infer ? -1 : d));
    return { from, to, request };
  });

const sliceArb = shapeArb().chain((shape) =>
  fc
    .tuple(...shape.map((d) => fc.integer({ min: 0, max: d }).chain((begin) => fc.tuple(fc.constant(begin), fc.integer({ min: -1, max: d - begin })))))
    .map((pairs) => ({ shape, begin: pairs.map((p) => p[0]), size: pairs.map((p) => p[1]) })),
);

const concatArb = fc.record({
  shapeAxis: shapeWithAxisArb(),
  lengths: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
  dtype: anyDType,
});

const broadcastToArb = fc
  .record({ shape: shapeArb({ maxRank: 3, maxDim: 3 }), prefix: shapeArb({ maxRank: 2, maxDim: 3 }), seed: seedArb })
  .map(({ shape, prefix, seed }) => {
    const grown = randomIntegers(shape.length, seed, 0, 3);
    return { shape, target: [...prefix, ...shape.map((d, i) => (d === 1 ? grown[i]! : d))] };
  });

const matmulArb = fc.record({
  batches: broadcastableArb(2).map((shapes) => shapes.map((s) => s.slice(-2))),
  m: fc.integer({ min: 0, max: 3 }),
  k: fc.integer({ min: 0, max: 3 }),
  n: fc.integer({ min: 0, max: 3 }),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  dtype: floatDType,
});

const INIT_KINDS: readonly InitKind[] = ['zeros', 'ones', 'constant', 'heNormal', 'heUniform', 'glorotUniform', 'normal', 'uniform'];

const CASES: { [K in CheckedOp]: ShapeCase<unknown> } = {
  input: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: anyDType }),
    build: (g, p) => g.input('x0', p.shape, p.dtype),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),
  param: shapeCase({
    params: fc.record({ shape: shapeArb(), init: fc.constantFrom(...INIT_KINDS), dtype: floatDType }),
    build: (g, p) => g.param('w', p.shape, { init: p.init, dtype: p.dtype }),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),
  constant: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: floatDType, seed: seedArb }),
    build: (g, p) => g.constant(randomValues(sizeOfShape(p.shape), p.seed), p.shape, p.dtype),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),

  neg: unaryFloat('neg'),
  abs: unaryFloat('abs'),
  sign: unaryFloat('sign'),
  exp: unaryFloat('exp'),
  log: unaryFloat('log'),
  sqrt: unaryFloat('sqrt'),
  square: unaryFloat('square'),
  reciprocal: unaryFloat('reciprocal'),
  tanh: unaryFloat('tanh'),
  sigmoid: unaryFloat('sigmoid'),
  relu: unaryFloat('relu'),
  softplus: unaryFloat('softplus'),
  leakyRelu: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: floatDType, alpha: alphaArb }),
    build: (g, p) => g.leakyRelu(g.input('x0', p.shape, p.dtype), p.alpha),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),
  elu: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: floatDType, alpha: alphaArb }),
    build: (g, p) => g.elu(g.input('x0', p.shape, p.dtype), p.alpha),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),
  stopGradient: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: anyDType }),
    build: (g, p) => g.stopGradient(g.input('x0', p.shape, p.dtype)),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),
  cast: shapeCase({
    params: fc.record({ shape: shapeArb(), from: anyDType, to: anyDType }),
    build: (g, p) => g.cast(g.input('x0', p.shape, p.from), p.to),
    expected: (p) => ({ shape: p.shape, dtype: p.to }),
  }),

  add: binary('add', numericDType, 'same'),
  sub: binary('sub', numericDType, 'same'),
  mul: binary('mul', numericDType, 'same'),
  div: binary('div', floatDType, 'same'),
  pow: binary('pow', floatDType, 'same'),
  maximum: binary('maximum', numericDType, 'same'),
  minimum: binary('minimum', numericDType, 'same'),
  prelu: binary('prelu', floatDType, 'same'),
  greater: binary('greater', numericDType, 'bool'),
  greaterEqual: binary('greaterEqual', numericDType, 'bool'),
  less: binary('less', numericDType, 'bool'),
  equal: binary('equal', numericDType, 'bool'),
  where: shapeCase({
    params: fc.record({ shapes: broadcastableArb(3), dtype: anyDType }),
    build: (g, p) => g.where(g.input('x0', p.shapes[0]!, 'bool'), g.input('x1', p.shapes[1]!, p.dtype), g.input('x2', p.shapes[2]!, p.dtype)),
    expected: (p) => ({ shape: broadcastModel(p.shapes)!, dtype: p.dtype }),
  }),
  leakyReluGrad: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: floatDType, alpha: alphaArb }),
    build: (g, p) => g.leakyReluGrad(g.input('x0', p.shape, p.dtype), g.input('x1', p.shape, p.dtype), p.alpha),
    expected: (p) => ({ shape: p.shape, dtype: p.dtype }),
  }),

  sum: reduction('sum', numericDType),
  mean: reduction('mean', floatDType),
  max: reduction('max', numericDType),
  min: reduction('min', numericDType),
  argmax: shapeCase({
    params: fc.record({ shapeAxis: shapeWithAxisArb(1), dtype: floatDType }),
    build: (g, p) => g.argmax(g.input('x0', p.shapeAxis.shape, p.dtype), p.shapeAxis.axis),
    expected: (p) => {
      const { shape, axis } = p.shapeAxis;
      const a = positiveAxis(axis, shape.length);
      return { shape: shape.filter((_, i) => i !== a), dtype: 'int32' };
    },
  }),

  matmul: shapeCase({
    params: matmulArb,
    build: (g, p) => {
      const a = g.input('x0', [...p.batches[0]!, ...(p.transposeA ? [p.k, p.m] : [p.m, p.k])], p.dtype);
      const b = g.input('x1', [...p.batches[1]!, ...(p.transposeB ? [p.n, p.k] : [p.k, p.n])], p.dtype);
      return g.matmul(a, b, { transposeA: p.transposeA, transposeB: p.transposeB });
    },
    expected: (p) => ({ shape: [...broadcastModel(p.batches)!, p.m, p.n], dtype: p.dtype }),
  }),
  transpose: shapeCase({
    params: shapeArb().chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        perm: fc.option(fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length }), { nil: undefined }),
        dtype: anyDType,
      }),
    ),
    build: (g, p) => g.transpose(g.input('x0', p.shape, p.dtype), p.perm),
    expected: (p) => {
      const perm = p.perm ?? p.shape.map((_, i) => p.shape.length - 1 - i);
      return { shape: perm.map((axis) => p.shape[axis]!), dtype: p.dtype };
    },
  }),
  reshape: shapeCase({
    params: fc.record({ shapes: reshapeArb, dtype: anyDType }),
    build: (g, p) => g.reshape(g.input('x0', p.shapes.from, p.dtype), p.shapes.request),
    expected: (p) => ({ shape: p.shapes.to, dtype: p.dtype }),
  }),
  broadcastTo: shapeCase({
    params: fc.record({ shapes: broadcastToArb, dtype: anyDType }),
    build: (g, p) => g.broadcastTo(g.input('x0', p.shapes.shape, p.dtype), p.shapes.target),
    expected: (p) => ({ shape: p.shapes.target, dtype: p.dtype }),
  }),
  slice: shapeCase({
    params: fc.record({ slice: sliceArb, dtype: anyDType }),
    build: (g, p) => g.slice(g.input('x0', p.slice.shape, p.dtype), p.slice.begin, p.slice.size),
    expected: (p) => {
      const { shape, begin, size } = p.slice;
      return { shape: size.map((s, i) => (s === -1 ? shape[i]! - begin[i]! : s)), dtype: p.dtype };
    },
  }),
  concat: shapeCase({
    params: concatArb,
    build: (g, p) => {
      const { shape, axis } = p.shapeAxis;
      const a = positiveAxis(axis, shape.length);
      const pieces = p.lengths.map((length, i) => g.input(`x${i}`, shape.map((d, j) => (j === a ? length : d)), p.dtype));
      return g.concat(pieces, axis);
    },
    expected: (p) => {
      const { shape, axis } = p.shapeAxis;
      const a = positiveAxis(axis, shape.length);
      const total = p.lengths.reduce((s, l) => s + l, 0);
      return { shape: shape.map((d, j) => (j === a ? total : d)), dtype: p.dtype };
    },
  }),
  pad: shapeCase({
    params: shapeArb().chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        paddings: fc.tuple(...shape.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })))),
        // An int32 input takes an integer pad value; a float input takes any finite one.
        valueDType: fc.oneof(
          fc.record({ value: fc.integer({ min: -10, max: 10 }), dtype: fc.constant<DType>('int32') }),
          fc.record({ value: fc.double({ min: -10, max: 10, noNaN: true }), dtype: floatDType }),
        ),
      }).map(({ shape, paddings, valueDType }) => ({ shape, paddings, ...valueDType })),
    ),
    build: (g, p) => g.pad(g.input('x0', p.shape, p.dtype), p.paddings, p.value),
    expected: (p) => ({ shape: p.shape.map((d, i) => d + p.paddings[i]![0] + p.paddings[i]![1]), dtype: p.dtype }),
  }),
  oneHot: shapeCase({
    params: fc.record({ shape: shapeArb({ maxRank: 3 }), depth: fc.integer({ min: 1, max: 4 }) }),
    build: (g, p) => g.oneHot(g.input('x0', p.shape, 'int32'), p.depth),
    expected: (p) => ({ shape: [...p.shape, p.depth], dtype: 'float32' }),
  }),

  softmax: softmaxLike('softmax'),
  logSoftmax: softmaxLike('logSoftmax'),
  softmaxCrossEntropy: shapeCase({
    params: fc.record({ batch: shapeArb({ maxRank: 3 }), classes: fc.integer({ min: 1, max: 4 }), dtype: floatDType, indices: fc.boolean() }),
    build: (g, p) => {
      const logits = g.input('x0', [...p.batch, p.classes], p.dtype);
      const labels = p.indices ? g.input('x1', p.batch, 'int32') : g.input('x1', [...p.batch, p.classes], p.dtype);
      return g.softmaxCrossEntropy(logits, labels);
    },
    expected: (p) => ({ shape: p.batch, dtype: p.dtype }),
  }),
  meanSquaredError: shapeCase({
    params: fc.record({ shape: shapeArb(), dtype: floatDType }),
    build: (g, p) => g.meanSquaredError(g.input('x0', p.shape, p.dtype), g.input('x1', p.shape, p.dtype)),
    expected: (p) => ({ shape: [], dtype: p.dtype }),
  }),
};

/** Random feeds for every input of a graph, of the right dtype and size. */
function feedsFor(g: Graph, seed: number): Feeds {
  const feeds: Record<string, Float64Array | Int32Array | number[]> = {};
  g.inputs.forEach((input, i) => {
    const size = sizeOfShape(input.shape);
    if (input.dtype === 'int32') feeds[input.name!] = Int32Array.from(randomIntegers(size, seed + i, -1, 4));
    else if (input.dtype === 'bool') feeds[input.name!] = Array.from(randomIntegers(size, seed + i, 0, 1));
    else feeds[input.name!] = randomValues(size, seed + i);
  });
  return feeds;
}

describe.each(Object.entries(CASES))('%s', (op, c) => {
  test('shape and dtype match the model and the interpreter', () => {
    fc.assert(
      fc.property(c.params, seedArb, (p, seed) => {
        const g = graph();
        const node = c.build(g, p);
        const expected = c.expected(p);
        expect(node.op).toBe(op);
        expect(node.shape).toEqual(expected.shape);
        expect(node.dtype).toBe(expected.dtype);

        const result = run(node, feedsFor(g, seed));
        expect(result.shape).toEqual(expected.shape);
        expect(result.dtype).toBe(expected.dtype);
        expect(result.data.length).toBe(sizeOfShape(expected.shape));
        if (expected.dtype === 'int32') expect(result.data.every((v) => Number.isInteger(v))).toBe(true);
        if (expected.dtype === 'bool') expect(result.data.every((v) => v === 0 || v === 1)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
