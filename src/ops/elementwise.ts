// Elementwise ops. Binary and ternary ops broadcast as numpy does. Inputs of
// a binary op share one dtype: slope does not promote implicitly.
//
// NaN propagates through the relu family (relu, leakyRelu, prelu, elu) and
// through their gradients, so a numerical fault stays visible instead of
// becoming 0.

import { ShapeError } from '../errors.ts';
import type { DType } from '../graph/dtype.ts';
import { broadcastIndexer, broadcastShapes, formatShape, shapesEqual, sizeOf } from '../graph/shape.ts';
import type { Tensor } from '../interp/tensor.ts';
import { LEAKY_RELU_DEFAULT_ALPHA } from '../graph/activation.ts';
import type { OpAttrs, OpName } from './attrs.ts';
import type { GradRule, NoGradient, OpDef, OpSite, TypeInfo } from './def.ts';
import { finiteNumber, requireDType, requireFloat, sameDType } from './check.ts';
import { isDType } from '../graph/dtype.ts';
import { AttributeError } from '../errors.ts';
import { describeValue } from './check.ts';

type Unary = (x: number) => number;

const noAttrs = () => ({}) as Record<string, never>;

function mapUnary(input: Tensor, fn: Unary): Float64Array {
  const out = new Float64Array(input.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fn(input.data[i]!);
  return out;
}

/** Defines a float-only unary op with no attributes. */
function unary<K extends OpName>(fn: Unary, grad: GradRule<K> | NoGradient): OpDef<K> {
  return {
    arity: 1,
    attrs: noAttrs as unknown as OpDef<K>['attrs'],
    infer: (inputs, _attrs, site) => {
      requireFloat(site, inputs[0]!);
      return { shape: inputs[0]!.shape, dtype: inputs[0]!.dtype };
    },
    evaluate: (inputs) => mapUnary(inputs[0]!, fn),
    grad,
  };
}

/** Returns the broadcast shape of all inputs, or a ShapeError listing them. */
export function broadcastAll(site: OpSite, inputs: readonly TypeInfo[]): number[] {
  let shape: number[] = [...inputs[0]!.shape];
  for (const input of inputs.slice(1)) {
    const next = broadcastShapes(shape, input.shape);
    if (next === undefined) {
      throw site.error(ShapeError, `shapes ${inputs.map((i) => formatShape(i.shape)).join(' and ')} do not broadcast; each pair of trailing dimensions must be equal or 1`);
    }
    shape = next;
  }
  return shape;
}

/** Evaluates an elementwise function of several broadcast inputs. */
export function mapBroadcast(inputs: readonly Tensor[], outShape: readonly number[], fn: (...xs: number[]) => number): Float64Array {
  const size = sizeOf(outShape);
  const out = new Float64Array(size);
  const same = inputs.every((t) => shapesEqual(t.shape, outShape));
  const indexers = inputs.map((t) => (same ? (i: number) => i : broadcastIndexer(t.shape, outShape)));
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k]!.data[indexers[k]!(i)]!;
    out[i] = fn(...args);
  }
  return out;
}

/**
 * Defines a binary op with broadcasting. `result` is 'same' for arithmetic and 'bool' for comparisons.
 * `int32Fn`, when given, computes int32 results: add, sub and mul wrap to 32
 * bits (two's complement), as the backends' Int32Array stores and i32 instructions do.
 */
function binary<K extends OpName>(fn: (a: number, b: number) => number, grad: GradRule<K> | NoGradient, result: 'same' | 'bool' = 'same', floatOnly = false, int32Fn = fn): OpDef<K> {
  return {
    arity: 2,
    attrs: noAttrs as unknown as OpDef<K>['attrs'],
    infer: (inputs, _attrs, site) => {
      const dtype = sameDType(site, inputs);
      if (floatOnly) requireFloat(site, inputs[0]!);
      else requireDType(site, inputs[0]!, ['float32', 'float64', 'int32'], 'inputs');
      return { shape: broadcastAll(site, inputs), dtype: result === 'bool' ? 'bool' : dtype };
    },
    evaluate: (inputs, _attrs, out) => mapBroadcast(inputs, out.shape, out.dtype === 'int32' ? int32Fn : fn),
    grad,
  };
}

const comparison = (name: string): NoGradient => ({ nondifferentiable: `${name} is a comparison and has no gradient; put stopGradient on its inputs or take the gradient through where()` });

/** relu and leakyRelu forward: `x > 0 ? x : alpha * x`, NaN kept, and 0 (not NaN) for alpha 0 at -Infinity. */
export function leakyReluValue(x: number, alpha: number): number {
  if (x > 0) return x;
  if (Number.isNaN(x)) return x;
  return alpha === 0 ? 0 : alpha * x;
}

/** leakyRelu's derivative times dy: dy where x > 0, alpha * dy elsewhere (at 0 and -0 too), NaN at NaN. */
export function leakyReluGradValue(x: number, dy: number, alpha: number): number {
  if (x > 0) return dy;
  if (Number.isNaN(x)) return NaN;
  return alpha === 0 ? 0 : alpha * dy;
}

/** A numerically stable logistic function. */
export function sigmoidValue(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1 + exp(x)) without overflow. */
export function softplusValue(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Checks alpha: finite, and for a float32 input finite in float32 too (1e39 would become Infinity there). */
function alphaAttrs<K extends 'leakyRelu' | 'elu' | 'leakyReluGrad'>(fallback: number) {
  return (raw: Partial<OpAttrs[K]>, site: OpSite, inputs: readonly TypeInfo[]) => {
    const alpha = finiteNumber(site, 'alpha', (raw as { alpha?: unknown }).alpha, fallback);
    if (inputs[0]?.dtype === 'float32' && Math.abs(alpha) > FLOAT32_MAX) {
      throw site.error(AttributeError, `alpha ${alpha} is not finite in float32 (largest ${FLOAT32_MAX}); use a smaller alpha or float64 inputs`);
    }
    return { alpha } as OpAttrs[K];
  };
}

type ElementwiseName =
  | 'neg' | 'abs' | 'sign' | 'exp' | 'log' | 'sqrt' | 'square' | 'reciprocal' | 'tanh' | 'sigmoid'
  | 'relu' | 'leakyRelu' | 'elu' | 'softplus' | 'stopGradient' | 'cast'
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'greater' | 'greaterEqual' | 'less' | 'equal' | 'where' | 'prelu' | 'leakyReluGrad';

export const elementwiseOps: { [K in ElementwiseName]: OpDef<K> } = {
  // d(-x) = -dx
  neg: unary((x) => -x, ({ graph, dy }) => [graph.neg(dy)]),

  // d|x| = sign(x) dx; at 0 the derivative is 0 (sign(0) = 0).
  abs: unary(Math.abs, ({ graph, inputs, dy }) => [graph.mul(dy, graph.sign(inputs[0]!))]),

  // sign is piecewise constant: its derivative is 0 wherever it exists.
  sign: unary(Math.sign, ({ graph, dy }) => [graph.zerosLike(dy)]),

  // d(exp x) = exp(x) dx
  exp: unary(Math.exp, ({ graph, node, dy }) => [graph.mul(dy, node)]),

  // d(log x) = dx / x
  log: unary(Math.log, ({ graph, inputs, dy }) => [graph.div(dy, inputs[0]!)]),

  // d(sqrt x) = dx / (2 sqrt x); +Infinity at x = 0 for dy > 0.
  sqrt: unary(Math.sqrt, ({ graph, node, dy }) => [graph.div(dy, graph.mul(node, 2))]),

  // d(x^2) = 2x dx
  square: unary((x) => x * x, ({ graph, inputs, dy }) => [graph.mul(dy, graph.mul(inputs[0]!, 2))]),

  // d(1/x) = -dx / x^2 = -(1/x)^2 dx
  reciprocal: unary((x) => 1 / x, ({ graph, node, dy }) => [graph.neg(graph.mul(dy, graph.square(node)))]),

  // d(tanh x) = (1 - tanh^2 x) dx
  tanh: unary(Math.tanh, ({ graph, node, dy }) => [graph.mul(dy, graph.sub(1, graph.square(node)))]),

  // d(sigmoid x) = sigmoid(x) (1 - sigmoid(x)) dx
  sigmoid: unary(sigmoidValue, ({ graph, node, dy }) => [graph.mul(dy, graph.mul(node, graph.sub(1, node)))]),

  // relu'(x) = 1 for x > 0, 0 for x <= 0 (0 at 0 and -0), NaN at NaN.
  relu: unary((x) => leakyReluValue(x, 0), ({ graph, inputs, dy }) => [graph.leakyReluGrad(inputs[0]!, dy, 0)]),

  // leakyRelu'(x) = 1 for x > 0, alpha for x <= 0 (alpha at 0 and -0), NaN at NaN.
  // Never max(x, alpha x): that is wrong for alpha > 1.
  leakyRelu: {
    arity: 1,
    attrs: alphaAttrs<'leakyRelu'>(LEAKY_RELU_DEFAULT_ALPHA),
    infer: (inputs, _attrs, site) => {
      requireFloat(site, inputs[0]!);
      return inputs[0]!;
    },
    evaluate: (inputs, { alpha }) => mapUnary(inputs[0]!, (x) => leakyReluValue(x, alpha)),
    grad: ({ graph, inputs, attrs, dy }) => [graph.leakyReluGrad(inputs[0]!, dy, attrs.alpha)],
  },

  // elu(x) = x for x > 0, alpha (exp(x) - 1) otherwise.
  // elu'(x) = 1 for x > 0, alpha exp(x) for x <= 0 (alpha at 0). The derivative is
  // recomputed from x as alpha exp(min(x, 0)), never from the output as y + alpha,
  // which rounds to 0 once exp(x) - 1 rounds to -1.
  elu: {
    arity: 1,
    attrs: alphaAttrs<'elu'>(1),
    infer: (inputs, _attrs, site) => {
      requireFloat(site, inputs[0]!);
      return inputs[0]!;
    },
    evaluate: (inputs, { alpha }) => mapUnary(inputs[0]!, (x) => (x > 0 ? x : alpha * Math.expm1(x))),
    grad: ({ graph, inputs, attrs, dy }) => {
      const x = inputs[0]!;
      const negative = graph.mul(dy, graph.mul(graph.exp(graph.minimum(x, 0)), attrs.alpha));
      return [graph.where(graph.greater(x, 0), dy, negative)];
    },
  },

  // d(softplus x) = sigmoid(x) dx
  softplus: unary(softplusValue, ({ graph, inputs, dy }) => [graph.mul(dy, graph.sigmoid(inputs[0]!))]),

  // stopGradient is the identity forward and blocks the gradient backward.
  stopGradient: {
    arity: 1,
    attrs: noAttrs as unknown as OpDef<'stopGradient'>['attrs'],
    infer: (inputs) => inputs[0]!,
    evaluate: (inputs) => Float64Array.from(inputs[0]!.data),
    grad: () => [undefined],
  },

  // cast between dtypes: to int32 truncates toward zero (NaN and values outside
  // the int32 range give 0), to bool tests x != 0,
  // to float32 rounds to the nearest float32. The gradient casts back when both
  // dtypes are floats; integer and bool inputs carry no gradient.
  cast: {
    arity: 1,
    attrs: (raw, site) => {
      if (!isDType(raw.dtype)) throw site.error(AttributeError, `dtype must be float32, float64, int32 or bool, got ${describeValue(raw.dtype)}`);
      return { dtype: raw.dtype };
    },
    infer: (inputs, attrs) => ({ shape: inputs[0]!.shape, dtype: attrs.dtype }),
    evaluate: (inputs, { dtype }) => mapUnary(inputs[0]!, castFunction(dtype)),
    grad: ({ graph, inputs, node, dy }) => {
      const from = inputs[0]!.dtype;
      const floats = (d: DType) => d === 'float32' || d === 'float64';
      return [floats(from) && floats(node.dtype) ? graph.cast(dy, from) : undefined];
    },
  },

  // d(a + b) = da + db
  add: binary((a, b) => a + b, ({ dy }) => [dy, dy], 'same', false, (a, b) => (a + b) | 0),

  // d(a - b) = da - db
  sub: binary((a, b) => a - b, ({ graph, dy }) => [dy, graph.neg(dy)], 'same', false, (a, b) => (a - b) | 0),

  // d(a b) = b da + a db
  mul: binary((a, b) => a * b, ({ graph, inputs, dy }) => [graph.mul(dy, inputs[1]!), graph.mul(dy, inputs[0]!)], 'same', false, Math.imul),

  // d(a / b) = da / b - (a / b) db / b
  // Float inputs only: an int32 quotient such as 7 / 2 has no int32 value.
  div: binary((a, b) => a / b, ({ graph, inputs, node, dy }) => [graph.div(dy, inputs[1]!), graph.neg(graph.div(graph.mul(dy, node), inputs[1]!))], 'same', true),

  // d(a^b) = b a^(b-1) da + a^b log(a) db. The db term is taken as 0 where
  // a <= 0, where log(a) is undefined.
  pow: binary(Math.pow, ({ graph, inputs, node, dy }) => {
    const [a, b] = inputs as [typeof dy, typeof dy];
    const da = graph.mul(dy, graph.mul(b, graph.pow(a, graph.sub(b, 1))));
    const positive = graph.greater(a, 0);
    const logA = graph.where(positive, graph.log(graph.where(positive, a, 1)), 0);
    return [da, graph.mul(dy, graph.mul(node, logA))];
  }, 'same', true),

  // d max(a, b): the whole gradient to the larger input, split evenly on ties.
  maximum: binary(Math.max, ({ graph, inputs, dy }) => tieSplit(graph, inputs, dy, 'greater')),

  // d min(a, b): the whole gradient to the smaller input, split evenly on ties.
  minimum: binary(Math.min, ({ graph, inputs, dy }) => tieSplit(graph, inputs, dy, 'less')),

  greater: binary((a, b) => (a > b ? 1 : 0), comparison('greater'), 'bool'),
  greaterEqual: binary((a, b) => (a >= b ? 1 : 0), comparison('greaterEqual'), 'bool'),
  less: binary((a, b) => (a < b ? 1 : 0), comparison('less'), 'bool'),
  equal: binary((a, b) => (a === b ? 1 : 0), comparison('equal'), 'bool'),

  // where(c, a, b): the gradient goes to a where c is true and to b elsewhere.
  where: {
    arity: 3,
    attrs: noAttrs as unknown as OpDef<'where'>['attrs'],
    infer: (inputs, _attrs, site) => {
      requireDType(site, inputs[0]!, ['bool'], 'condition');
      const dtype = sameDType(site, inputs.slice(1));
      return { shape: broadcastAll(site, inputs), dtype };
    },
    evaluate: (inputs, _attrs, out) => mapBroadcast(inputs, out.shape, (c, a, b) => (c !== 0 ? a : b)),
    grad: ({ graph, inputs, dy }) => {
      const zero = graph.zerosLike(dy);
      return [undefined, graph.where(inputs[0]!, dy, zero), graph.where(inputs[0]!, zero, dy)];
    },
  },

  // prelu(x, alpha) = x > 0 ? x : alpha x, with alpha a learnable tensor
  // broadcast against x (shape [C] gives one slope per channel). Forward
  // values match leakyRelu's, so a channel with alpha 0 gives relu's +0 at -Infinity.
  // d/dx = 1 for x > 0, alpha otherwise (at 0 and -0 too), NaN at NaN, as for
  // leakyRelu; d/dalpha = 0 for x > 0, x otherwise. The masks read a
  // stopGradient copy of x, so a second derivative treats them as constants.
  prelu: binary(leakyReluValue, ({ graph, inputs, dy }) => {
    const [x, alpha] = inputs as [typeof dy, typeof dy];
    const constantX = graph.stopGradient(x);
    const positive = graph.greater(constantX, 0);
    const dx = graph.where(positive, dy, graph.mul(dy, alpha));
    const dxOrNaN = graph.where(graph.equal(constantX, constantX), dx, constantX);
    return [dxOrNaN, graph.where(positive, graph.zerosLike(dy), graph.mul(dy, x))];
  }, 'same', true),

  // leakyReluGrad(x, dy) is linear in dy, so its gradient with respect to dy is
  // itself applied to the incoming cotangent. With respect to x it is 0 almost
  // everywhere (a step function of x), and slope takes it as 0 everywhere.
  leakyReluGrad: {
    arity: 2,
    attrs: alphaAttrs<'leakyReluGrad'>(LEAKY_RELU_DEFAULT_ALPHA),
    infer: (inputs, _attrs, site) => {
      requireFloat(site, inputs[0]!);
      const dtype = sameDType(site, inputs);
      if (!shapesEqual(inputs[0]!.shape, inputs[1]!.shape)) {
        throw site.error(ShapeError, `x and dy must have one shape, got ${formatShape(inputs[0]!.shape)} and ${formatShape(inputs[1]!.shape)}`);
      }
      return { shape: inputs[0]!.shape, dtype };
    },
    evaluate: (inputs, { alpha }, out) => mapBroadcast(inputs, out.shape, (x, dy) => leakyReluGradValue(x, dy, alpha)),
    grad: ({ graph, inputs, attrs, dy }) => [undefined, graph.leakyReluGrad(inputs[0]!, dy, attrs.alpha)],
  },
};

function castFunction(dtype: DType): Unary {
  switch (dtype) {
    case 'int32':
      return (x) => (Math.abs(x) < 2147483648 ? Math.trunc(x) | 0 : 0);
    case 'bool':
      return (x) => (x !== 0 ? 1 : 0);
    case 'float32':
      return Math.fround;
    case 'float64':
      return (x) => x;
  }
}

/** Gradients of maximum (`wins` = greater) or minimum (`wins` = less): 1 to the winner, 1/2 each on a tie. */
function tieSplit(graph: import('../graph/graph.ts').Graph, inputs: readonly import('../graph/node.ts').Node[], dy: import('../graph/node.ts').Node, wins: 'greater' | 'less') {
  // The masks compare stopGradient copies, so a second derivative treats
  // them as the constants they are almost everywhere instead of raising
  // GradientError at the comparison.
  const [a, b] = inputs.map((input) => graph.stopGradient(input)) as [typeof dy, typeof dy];
  const dtype = dy.dtype;
  const tie = graph.mul(graph.cast(graph.equal(a, b), dtype), 0.5);
  const aWins = graph.cast(wins === 'greater' ? graph.greater(a, b) : graph.less(a, b), dtype);
  const bWins = graph.cast(wins === 'greater' ? graph.less(a, b) : graph.greater(a, b), dtype);
  return [graph.mul(dy, graph.add(aWins, tie)), graph.mul(dy, graph.add(bWins, tie))];
}
