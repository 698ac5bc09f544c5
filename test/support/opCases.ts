// One random-input case per differentiable op (several for ops with modes,
// such as matmul's transposes): an arbitrary for the operands and attributes,
// and a builder that applies the op to input nodes. Inputs stay away from
// each op's kinks and poles by construction (|x| >= 1e-3 at the relu family's
// kink, positive bases for log, sqrt and pow, |x| >= 0.1 for reciprocal and
// divisors); ties of maximum/minimum and of max/min reductions are left to a
// smoothness check at test time, since they depend on broadcasting.
//
// The gradient tests check each case against central differences; backend
// tests can run the same cases against the reference interpreter.

import fc from 'fast-check';
import type { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { sizeOf } from '../../src/graph/shape.ts';
import type { OpName } from '../../src/ops/attrs.ts';
import type { ValueOptions } from './arbitraries.ts';
import { broadcastShapesArb, shapeArb, valueArb, valuesArb } from './arbitraries.ts';

export type OperandDType = 'float64' | 'int32' | 'bool';

/** An input of an op case, fed under the name `x<index>`. */
export interface Operand {
  shape: number[];
  dtype: OperandDType;
  values: Float64Array | Int32Array | Uint8Array;
}

export interface OpSample<A> {
  operands: Operand[];
  attrs: A;
}

export interface OpCase<A = unknown> {
  /** The op whose gradient rule the case exercises. */
  op: OpName;
  /** A short test name: the op and its mode. */
  title: string;
  sample: fc.Arbitrary<OpSample<A>>;
  /** Applies the op to input nodes made from the operands, in order. */
  build(graph: Graph, operands: Node[], attrs: A): Node;
}

/** Away from the relu family's kink at 0 by 1e-3, a thousand times the finite-difference step. */
const AWAY_FROM_ZERO: ValueOptions = { avoid: [0], margin: 1e-3 };
/** Away from the pole at 0 of reciprocal and of a divisor. */
const AWAY_FROM_POLE: ValueOptions = { avoid: [0], margin: 0.1 };
const POSITIVE: ValueOptions = { min: 0.05, max: 4 };

/** LeakyReLU and PReLU slopes: zero (relu), small, the default, one, above one and negative, plus random ones. */
const LEAKY_ALPHA = fc.oneof(
  fc.constantFrom(0, 0.01, 0.2, 1, 1.5, 5, 10, -0.5, -2),
  fc.double({ min: -5, max: 10, noNaN: true }),
);
const ELU_ALPHA = fc.oneof(fc.constantFrom(1, 0.5, 2, 14.5), fc.double({ min: 0.05, max: 5, noNaN: true }));

function float(shape: number[], values: Float64Array): Operand {
  return { shape, dtype: 'float64', values };
}

function floatsFor(shapes: readonly number[][], options: readonly ValueOptions[]): fc.Arbitrary<Operand[]> {
  return fc.tuple(...shapes.map((shape, i) => valuesArb(sizeOf(shape), options[i]).map((values) => float(shape, values))));
}

function noAttrs(operands: fc.Arbitrary<Operand[]>): fc.Arbitrary<OpSample<undefined>> {
  return operands.map((ops) => ({ operands: ops, attrs: undefined }));
}

function defineCase<A>(c: OpCase<A>): OpCase {
  return c as OpCase;
}

function unaryCase(op: OpName, values: ValueOptions = {}, title: string = op): OpCase {
  return defineCase({
    op,
    title,
    sample: noAttrs(shapeArb().chain((shape) => floatsFor([shape], [values]))),
    build: (graph, [x]) => graph.addNode(op, [x!]),
  });
}

function binaryCase(op: OpName, a: ValueOptions = {}, b: ValueOptions = {}): OpCase {
  return defineCase({
    op,
    title: `${op} with broadcasting`,
    sample: noAttrs(broadcastShapesArb(2).chain(({ operands }) => floatsFor(operands, [a, b]))),
    build: (graph, [x, y]) => graph.addNode(op, [x!, y!]),
  });
}

function alphaCase(op: 'leakyRelu' | 'elu', alpha: fc.Arbitrary<number>, title: string): OpCase {
  return defineCase({
    op,
    title,
    sample: fc.tuple(shapeArb().chain((shape) => floatsFor([shape], [AWAY_FROM_ZERO])), alpha).map(([operands, a]) => ({ operands, attrs: a })),
    build: (graph, [x], a) => (op === 'leakyRelu' ? graph.leakyRelu(x!, a) : graph.elu(x!, a)),
  });
}

function reductionCase(op: 'sum' | 'mean' | 'max' | 'min'): OpCase {
  type Attrs = { axes: number[] | undefined; keepDims: boolean };
  const sample = shapeArb().chain((shape) => {
    const all = shape.map((_, i) => i);
    const axes = fc.option(fc.subarray(all).chain((chosen) => fc.constantFrom(chosen, chosen.map((a) => a - shape.length))), { nil: undefined });
    return fc.record({ operands: floatsFor([shape], [{}]), attrs: fc.record({ axes, keepDims: fc.boolean() }) });
  });
  return defineCase<Attrs>({
    op,
    title: `${op} over random axes`,
    sample,
    build: (graph, [x], { axes, keepDims }) => graph.addNode(op, [x!], axes === undefined ? { keepDims } : { axes, keepDims }),
  });
}

function matmulCase(transposeA: boolean, transposeB: boolean): OpCase {
  const dim = fc.integer({ min: 1, max: 4 });
  const sample = fc.record({ batch: broadcastShapesArb(2, { maxRank: 2, maxDim: 3 }), m: dim, k: dim, n: dim }).chain(({ batch, m, k, n }) => {
    const a = [...batch.operands[0]!, ...(transposeA ? [k, m] : [m, k])];
    const b = [...batch.operands[1]!, ...(transposeB ? [n, k] : [k, n])];
    return noAttrs(floatsFor([a, b], [{}, {}]));
  });
  return defineCase({
    op: 'matmul',
    title: `matmul transposeA=${transposeA} transposeB=${transposeB}`,
    sample,
    build: (graph, [a, b]) => graph.matmul(a!, b!, { transposeA, transposeB }),
  });
}

function primeFactors(n: number): number[] {
  const factors: number[] = [];
  for (let p = 2; n > 1; p++) {
    while (n % p === 0) {
      factors.push(p);
      n /= p;
    }
  }
  return factors;
}

/** Draws a target shape with the same number of elements, one entry possibly -1. */
function reshapeTarget(size: number): fc.Arbitrary<number[]> {
  const factors = primeFactors(size);
  return fc.integer({ min: factors.length === 0 ? 0 : 1, max: 4 }).chain((rank) =>
    fc
      .tuple(fc.array(fc.integer({ min: 0, max: Math.max(rank - 1, 0) }), { minLength: factors.length, maxLength: factors.length }), fc.option(fc.integer({ min: 0, max: Math.max(rank - 1, 0) }), { nil: undefined }))
      .map(([slots, inferred]) => {
        const shape = new Array<number>(rank).fill(1);
        factors.forEach((p, i) => (shape[slots[i]!]! *= p));
        if (inferred !== undefined && rank > 0) shape[inferred] = -1;
        return shape;
      }),
  );
}

/** Draws begin and size of a non-empty slice of each axis; a size reaching the end is sometimes -1. */
function sliceBounds(shape: readonly number[]): fc.Arbitrary<{ begin: number[]; size: number[] }> {
  const axes = shape.map((d) =>
    fc.integer({ min: 0, max: d - 1 }).chain((begin) =>
      fc.tuple(fc.integer({ min: begin + 1, max: d }), fc.boolean()).map(([end, open]) => ({ begin, size: end === d && open ? -1 : end - begin })),
    ),
  );
  return fc.tuple(...axes).map((bounds) => ({ begin: bounds.map((b) => b.begin), size: bounds.map((b) => b.size) }));
}

/** Classes on the last axis (2..4), batch axes before it. */
const LOGITS_SHAPE = fc.tuple(shapeArb({ maxRank: 2, maxDim: 3 }), fc.integer({ min: 2, max: 4 })).map(([batch, classes]) => [...batch, classes]);

function oneHotRows(shape: readonly number[]): fc.Arbitrary<Operand> {
  const classes = shape[shape.length - 1]!;
  const rows = sizeOf(shape) / classes;
  return fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: rows, maxLength: rows }).map((labels) => {
    const values = new Float64Array(sizeOf(shape));
    labels.forEach((c, r) => (values[r * classes + c] = 1));
    return float([...shape], values);
  });
}

export const OP_CASES: readonly OpCase[] = [
  // elementwise unary
  unaryCase('neg'),
  unaryCase('abs', AWAY_FROM_ZERO),
  unaryCase('sign', AWAY_FROM_ZERO),
  unaryCase('exp'),
  unaryCase('log', POSITIVE),
  unaryCase('sqrt', POSITIVE),
  unaryCase('square'),
  unaryCase('reciprocal', AWAY_FROM_POLE),
  unaryCase('tanh'),
  unaryCase('sigmoid', { min: -10, max: 10 }),
  unaryCase('softplus', { min: -10, max: 10 }),
  unaryCase('relu', AWAY_FROM_ZERO),
  unaryCase('leakyRelu', AWAY_FROM_ZERO, 'leakyRelu with the default alpha'),
  alphaCase('leakyRelu', LEAKY_ALPHA, 'leakyRelu with alpha in [-5, 10]'),
  unaryCase('elu', AWAY_FROM_ZERO, 'elu with the default alpha'),
  alphaCase('elu', ELU_ALPHA, 'elu with alpha in (0, 14.5]'),
  defineCase({
    op: 'cast',
    title: 'cast float64 to float64',
    sample: noAttrs(shapeArb().chain((shape) => floatsFor([shape], [{}]))),
    build: (graph, [x]) => graph.cast(x!, 'float64'),
  }),

  // elementwise binary and ternary
  binaryCase('add'),
  binaryCase('sub'),
  binaryCase('mul'),
  binaryCase('div', {}, AWAY_FROM_POLE),
  binaryCase('pow', { min: 0.1, max: 3 }, { min: -2, max: 2 }),
  binaryCase('maximum'),
  binaryCase('minimum'),
  binaryCase('prelu', AWAY_FROM_ZERO, { min: -2, max: 3 }),
  defineCase({
    op: 'leakyReluGrad',
    title: 'leakyReluGrad with alpha in [-5, 10]',
    sample: fc.tuple(shapeArb().chain((shape) => floatsFor([shape, shape], [AWAY_FROM_ZERO, {}])), LEAKY_ALPHA).map(([operands, alpha]) => ({ operands, attrs: alpha })),
    build: (graph, [x, dy], alpha) => graph.leakyReluGrad(x!, dy!, alpha),
  }),
  defineCase({
    op: 'where',
    title: 'where with broadcasting',
    sample: noAttrs(
      broadcastShapesArb(3).chain(({ operands: [c, a, b] }) =>
        fc.tuple(
          fc.array(fc.boolean(), { minLength: sizeOf(c!), maxLength: sizeOf(c!) }).map((mask): Operand => ({ shape: c!, dtype: 'bool', values: Uint8Array.from(mask, Number) })),
          floatsFor([a!, b!], [{}, {}]),
        ).map(([cond, floats]) => [cond, ...floats]),
      ),
    ),
    build: (graph, [cond, a, b]) => graph.where(cond!, a!, b!),
  }),

  // reductions
  reductionCase('sum'),
  reductionCase('mean'),
  reductionCase('max'),
  reductionCase('min'),

  // linear algebra and data movement
  matmulCase(false, false),
  matmulCase(true, false),
  matmulCase(false, true),
  matmulCase(true, true),
  defineCase<number[] | undefined>({
    op: 'transpose',
    title: 'transpose with a random permutation',
    sample: shapeArb({ maxRank: 4, maxDim: 3 }).chain((shape) => {
      const axes = shape.map((_, i) => i);
      const perm = fc.option(fc.shuffledSubarray(axes, { minLength: axes.length, maxLength: axes.length }), { nil: undefined });
      return fc.record({ operands: floatsFor([shape], [{}]), attrs: perm });
    }),
    build: (graph, [x], perm) => graph.transpose(x!, perm),
  }),
  defineCase<number[]>({
    op: 'reshape',
    title: 'reshape to a random factorization',
    sample: shapeArb().chain((shape) => fc.record({ operands: floatsFor([shape], [{}]), attrs: reshapeTarget(sizeOf(shape)) })),
    build: (graph, [x], shape) => graph.reshape(x!, shape),
  }),
  defineCase<number[]>({
    op: 'broadcastTo',
    title: 'broadcastTo a larger shape',
    sample: broadcastShapesArb(2).chain(({ operands, shape }) => fc.record({ operands: floatsFor([operands[0]!], [{}]), attrs: fc.constant(shape) })),
    build: (graph, [x], shape) => graph.broadcastTo(x!, shape),
  }),
  defineCase<{ begin: number[]; size: number[] }>({
    op: 'slice',
    title: 'slice with random bounds',
    sample: shapeArb().chain((shape) => fc.record({ operands: floatsFor([shape], [{}]), attrs: sliceBounds(shape) })),
    build: (graph, [x], { begin, size }) => graph.slice(x!, begin, size),
  }),
  defineCase<number>({
    op: 'concat',
    title: 'concat of 1-3 inputs',
    sample: fc
      .tuple(shapeArb({ minRank: 1 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }))
      .chain(([base, lengths]) =>
        fc.integer({ min: 0, max: base.length - 1 }).chain((axis) => {
          const shapes = lengths.map((n) => base.map((d, i) => (i === axis ? n : d)));
          return fc.record({ operands: floatsFor(shapes, shapes.map(() => ({}))), attrs: fc.constantFrom(axis, axis - base.length) });
        }),
      ),
    build: (graph, xs, axis) => graph.concat(xs, axis),
  }),
  defineCase<{ paddings: [number, number][]; value: number }>({
    op: 'pad',
    title: 'pad with random widths and value',
    sample: shapeArb().chain((shape) => {
      const pair = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }));
      const paddings = fc.array(pair, { minLength: shape.length, maxLength: shape.length });
      return fc.record({ operands: floatsFor([shape], [{}]), attrs: fc.record({ paddings, value: valueArb() }) });
    }),
    build: (graph, [x], { paddings, value }) => graph.pad(x!, paddings, value),
  }),

  // neural-network helpers
  ...(['softmax', 'logSoftmax'] as const).map((op) =>
    defineCase<number>({
      op,
      title: `${op} over a random axis`,
      sample: shapeArb({ minRank: 1 }).chain((shape) =>
        fc.record({ operands: floatsFor([shape], [{ min: -5, max: 5 }]), attrs: fc.integer({ min: -shape.length, max: shape.length - 1 }) }),
      ),
      build: (graph, [x], axis) => graph.addNode(op, [x!], { axis }),
    }),
  ),
  defineCase({
    op: 'softmaxCrossEntropy',
    title: 'softmaxCrossEntropy with one-hot labels',
    sample: noAttrs(LOGITS_SHAPE.chain((shape) => fc.tuple(floatsFor([shape], [{ min: -5, max: 5 }]), oneHotRows(shape)).map(([[logits], labels]) => [logits!, labels]))),
    build: (graph, [logits, labels]) => graph.softmaxCrossEntropy(logits!, labels!),
  }),
  defineCase({
    op: 'softmaxCrossEntropy',
    title: 'softmaxCrossEntropy with int32 labels',
    sample: noAttrs(
      LOGITS_SHAPE.chain((shape) => {
        const classes = shape[shape.length - 1]!;
        const batch = shape.slice(0, -1);
        const labels = fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: sizeOf(batch), maxLength: sizeOf(batch) });
        return fc.tuple(floatsFor([shape], [{ min: -5, max: 5 }]), labels).map(([[logits], l]): Operand[] => [logits!, { shape: batch, dtype: 'int32', values: Int32Array.from(l) }]);
      }),
    ),
    build: (graph, [logits, labels]) => graph.softmaxCrossEntropy(logits!, labels!),
  }),
  defineCase({
    op: 'meanSquaredError',
    title: 'meanSquaredError',
    sample: noAttrs(shapeArb().chain((shape) => floatsFor([shape, shape], [{}, {}]))),
    build: (graph, [p, t]) => graph.meanSquaredError(p!, t!),
  }),
];

/** Ops whose gradients are checked in other test files, with where. */
export const COVERED_ELSEWHERE: Readonly<Partial<Record<OpName, string>>> = {
  conv2d: 'the convolution tests',
  conv2dBackpropInput: 'the convolution tests',
  conv2dBackpropFilter: 'the convolution tests',
  maxPool2d: 'the pooling tests',
  maxPool2dGrad: 'the pooling tests',
  avgPool2d: 'the pooling tests',
  avgPool2dGrad: 'the pooling tests',
  stopGradient: 'test/grad/pass.test.ts, which checks that it blocks the gradient',
};

/** Ops without a gradient: sources, integer-valued results and comparisons. */
export const NOT_DIFFERENTIABLE: Readonly<Partial<Record<OpName, string>>> = {
  input: 'a source: gradients stop at it',
  param: 'a source: gradients stop at it',
  constant: 'a source with a fixed value',
  argmax: 'returns int32 indices',
  greater: 'a comparison with a bool result',
  greaterEqual: 'a comparison with a bool result',
  less: 'a comparison with a bool result',
  equal: 'a comparison with a bool result',
  oneHot: 'reads int32 indices',
};
