// Interval bounds for every op of the registry. An interval [lo, hi] per
// element contains every non-NaN value the element takes in float64 reference
// semantics (src/ops) when the graph's inputs range over a box; ±Infinity are
// values like any other. `mayBeNaN` marks a node where NaN is possible, such
// as log of a range that reaches below 0 or 0 * Infinity. An element with no
// non-NaN value gets [-Infinity, Infinity].
//
// Three kinds of rule cover the registry:
// - monotone ops (data movement, sum, max, pooling, exp, tanh, ...) apply the
//   op's own reference evaluation to lo and to hi. Rounding to nearest is
//   monotone, so these bounds are exact for the float64 reference values;
// - matmul and the convolutions are bilinear: they use the midpoint-radius
//   form f(c_a, c_b) ± (f(r_a, |c_b|) + f(|c_a|, r_b) + f(r_a, r_b)), which is
//   exact per term when one operand is a point (a param), widened by a
//   rounding margin because it sums in another order than the reference;
// - the rest (relu family, mul, div, pow, softmax, ...) have endpoint rules,
//   written out below and in interval-nn.ts.

import { InternalError } from '../../src/errors.ts';
import type { Shape } from '../../src/graph/shape.ts';
import { broadcastIndexer, shapesEqual, sizeOf } from '../../src/graph/shape.ts';
import type { OpAttrs, OpName } from '../../src/ops/attrs.ts';
import type { TypeInfo } from '../../src/ops/def.ts';
import { leakyReluValue, sigmoidValue, softplusValue } from '../../src/ops/elementwise.ts';
import type { Interval, IntervalRule } from './interval-core.ts';
import { addRule, bilinear, binaryRule, eluValue, increasing, kinked, monotone, multiply, nanTo, pointInterval, squareBounds, unaryRule } from './interval-core.ts';
import { argmaxRule, crossEntropyRule, maxPoolGradRule, oneHotRule, softmaxRule, squaredErrorRule } from './interval-nn.ts';

export type { Interval } from './interval-core.ts';
export { eluValue, intersect, isPoint, multiply, pointInterval, referenceOf, ROUNDING_MARGIN, UNDERFLOW_MARGIN } from './interval-core.ts';

function divideRule(al: number, ah: number, bl: number, bh: number, b: [number, number]): boolean {
  if (bl <= 0 && bh >= 0) {
    b[0] = -Infinity;
    b[1] = Infinity;
    return al <= 0 && ah >= 0;
  }
  const q = [al / bl, al / bh, ah / bl, ah / bh];
  b[0] = Math.min(...q.map((x) => nanTo(x, -Infinity)));
  b[1] = Math.max(...q.map((x) => nanTo(x, Infinity)));
  return q.some(Number.isNaN);
}

/** Math.pow over a box; returns true when NaN is possible. */
function powerRule(al: number, ah: number, bl: number, bh: number, b: [number, number]): boolean {
  if (bl === bh && Number.isInteger(bl)) return integerPower(al, ah, bl, b);
  if (al > 0) {
    // a^e = exp(e log a) and e log a is bilinear in (log a, e), so the corners span the range.
    const corners = [al ** bl, al ** bh, ah ** bl, ah ** bh];
    b[0] = Math.min(...corners.map((x) => nanTo(x, Infinity)));
    b[1] = Math.max(...corners.map((x) => nanTo(x, -Infinity)));
    // Infinity ** 0 is 1 in JavaScript, so NaN appears only for NaN operands.
    return false;
  }
  b[0] = -Infinity;
  b[1] = Infinity;
  return true;
}

function integerPower(al: number, ah: number, n: number, b: [number, number]): boolean {
  if (n === 0) {
    b[0] = 1;
    b[1] = 1;
    return false;
  }
  if (n > 0 && n % 2 === 1) {
    b[0] = al ** n;
    b[1] = ah ** n;
    return false;
  }
  if (n > 0) {
    const low = al <= 0 && ah >= 0 ? 0 : Math.min(Math.abs(al), Math.abs(ah)) ** n;
    b[0] = low;
    b[1] = Math.max(Math.abs(al), Math.abs(ah)) ** n;
    return false;
  }
  // A negative power of a range containing 0 reaches ±Infinity.
  if (al <= 0 && ah >= 0) {
    b[0] = n % 2 === 0 ? 0 : -Infinity;
    b[1] = Infinity;
    return false;
  }
  const ends = [al ** n, ah ** n];
  b[0] = Math.min(...ends);
  b[1] = Math.max(...ends);
  return false;
}

/** Writes a bool result: [0, 0], [1, 1] or [0, 1]. */
function decided(b: [number, number], always: boolean, never: boolean): void {
  b[0] = always ? 1 : 0;
  b[1] = never ? 0 : 1;
}

/** Comparisons are false on NaN, so a possible NaN input makes "always true" undecided. */
function comparison<K extends OpName>(decide: (al: number, ah: number, bl: number, bh: number) => [boolean, boolean]): IntervalRule<K> {
  return (inputs, attrs, out) => {
    const nan = inputs[0]!.mayBeNaN || inputs[1]!.mayBeNaN;
    return binaryRule<K>((al, ah, bl, bh, b) => {
      const [always, never] = decide(al, ah, bl, bh);
      decided(b, always && !nan, never);
    }, false)(inputs, attrs, out);
  };
}

function notComputed(op: string): never {
  throw new InternalError(`${op} has no interval rule; sources get their bounds from the region, the params and the attributes`);
}

const matmulContraction = (inputs: readonly Interval[], attrs: OpAttrs['matmul']) => {
  const a = inputs[0]!.shape;
  return attrs.transposeA ? a[a.length - 2]! : a[a.length - 1]!;
};
const filterContraction = (filter: Shape) => filter[0]! * filter[1]! * filter[2]!;

const castRule: IntervalRule<'cast'> = (inputs, attrs, out) => {
  const x = inputs[0]!;
  switch (attrs.dtype) {
    case 'float64':
      return { ...x, shape: out.shape };
    case 'float32':
      return increasing<'cast'>(Math.fround)(inputs, attrs, out);
    case 'int32':
      // Truncation toward zero is monotone; NaN and values outside the int32 range give 0.
      return unaryRule<'cast'>((lo, hi, b) => {
        const limit = 2147483648;
        b[0] = lo > -limit ? Math.trunc(lo) : -(limit - 1);
        b[1] = hi < limit ? Math.trunc(hi) : limit - 1;
        if (x.mayBeNaN || lo <= -limit || hi >= limit) {
          b[0] = Math.min(b[0], 0);
          b[1] = Math.max(b[1], 0);
        }
      }, false)(inputs, attrs, out);
    case 'bool':
      // x != 0, and NaN != 0 is true.
      return unaryRule<'cast'>((lo, hi, b) => {
        const zeroPossible = lo <= 0 && hi >= 0;
        b[0] = zeroPossible ? 0 : 1;
        b[1] = lo === 0 && hi === 0 && !x.mayBeNaN ? 0 : 1;
      }, false)(inputs, attrs, out);
  }
};

const wherePick = (inputs: readonly Interval[], out: TypeInfo): Interval => {
  const [c, a, b] = inputs as [Interval, Interval, Interval];
  const size = sizeOf(out.shape);
  const index = (x: Interval) => (shapesEqual(x.shape, out.shape) ? (i: number) => i : broadcastIndexer(x.shape, out.shape));
  const [ic, ia, ib] = [index(c), index(a), index(b)];
  const lo = new Float64Array(size);
  const hi = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const cl = c.lo[ic(i)]!;
    const ch = c.hi[ic(i)]!;
    const j = ia(i);
    const k = ib(i);
    if (cl !== 0) {
      lo[i] = a.lo[j]!;
      hi[i] = a.hi[j]!;
    } else if (ch === 0) {
      lo[i] = b.lo[k]!;
      hi[i] = b.hi[k]!;
    } else {
      lo[i] = Math.min(a.lo[j]!, b.lo[k]!);
      hi[i] = Math.max(a.hi[j]!, b.hi[k]!);
    }
  }
  return { shape: out.shape, lo, hi, mayBeNaN: a.mayBeNaN || b.mayBeNaN };
};

/** prelu(x, alpha) = x > 0 ? x : alpha * x: the hull of the positive part and alpha times the non-positive part. */
function preluRule(xl: number, xh: number, al: number, ah: number, b: [number, number]): boolean {
  let lo = Infinity;
  let hi = -Infinity;
  let nan = false;
  if (xh > 0) {
    lo = Math.max(xl, 0);
    hi = xh;
  }
  if (xl <= 0) {
    nan = multiply(xl, Math.min(xh, 0), al, ah, b);
    lo = Math.min(lo, b[0]);
    hi = Math.max(hi, b[1]);
  }
  b[0] = lo;
  b[1] = hi;
  return nan;
}

/** leakyReluGrad(x, dy) = x > 0 ? dy : alpha * dy. */
function leakyReluGradRule(xl: number, xh: number, dl: number, dh: number, b: [number, number], attrs: OpAttrs['leakyReluGrad']): boolean {
  const scaled: [number, number] = [0, 0];
  const nan = multiply(dl, dh, attrs.alpha, attrs.alpha, scaled);
  if (xl > 0) {
    b[0] = dl;
    b[1] = dh;
  } else if (xh <= 0) {
    b[0] = scaled[0];
    b[1] = scaled[1];
  } else {
    b[0] = Math.min(dl, scaled[0]);
    b[1] = Math.max(dh, scaled[1]);
  }
  return nan;
}

/** The interval rule of every op, typed over the op names so that a new op without a rule fails to compile. */
export const intervalRules: { [K in OpName]: IntervalRule<K> } = {
  input: () => notComputed('input'),
  param: () => notComputed('param'),
  constant: (_inputs, attrs) => pointInterval(attrs.shape, attrs.value),

  neg: unaryRule((lo, hi, b) => {
    b[0] = -hi;
    b[1] = -lo;
  }),
  abs: unaryRule((lo, hi, b) => {
    if (lo >= 0) b[0] = lo;
    else if (hi <= 0) b[0] = -hi;
    else b[0] = 0;
    b[1] = Math.max(Math.abs(lo), Math.abs(hi));
  }),
  sign: increasing(Math.sign),
  exp: increasing(Math.exp),
  log: unaryRule((lo, hi, b) => {
    if (hi < 0) {
      b[0] = -Infinity;
      b[1] = Infinity;
      return true;
    }
    b[0] = lo <= 0 ? -Infinity : Math.log(lo);
    b[1] = Math.log(hi);
    return lo < 0;
  }),
  sqrt: unaryRule((lo, hi, b) => {
    if (hi < 0) {
      b[0] = -Infinity;
      b[1] = Infinity;
      return true;
    }
    // sqrt(-0) is -0, which compares equal to 0.
    b[0] = lo <= 0 ? 0 : Math.sqrt(lo);
    b[1] = Math.sqrt(hi);
    return lo < 0;
  }),
  square: unaryRule(squareBounds),
  reciprocal: unaryRule((lo, hi, b) => {
    if (lo <= 0 && hi >= 0) {
      b[0] = -Infinity;
      b[1] = Infinity;
      return;
    }
    b[0] = 1 / hi;
    b[1] = 1 / lo;
  }),
  tanh: increasing(Math.tanh),
  sigmoid: increasing(sigmoidValue),
  relu: unaryRule((lo, hi, b) => kinked((x) => leakyReluValue(x, 0), lo, hi, b)),
  leakyRelu: unaryRule((lo, hi, b, attrs) => kinked((x) => leakyReluValue(x, attrs.alpha), lo, hi, b)),
  elu: unaryRule((lo, hi, b, attrs) => kinked((x) => eluValue(x, attrs.alpha), lo, hi, b)),
  softplus: increasing(softplusValue),
  stopGradient: (inputs, _attrs, out) => ({ ...inputs[0]!, shape: out.shape }),
  cast: castRule,

  add: binaryRule(addRule),
  sub: binaryRule((al, ah, bl, bh, b) => addRule(al, ah, -bh, -bl, b)),
  mul: binaryRule(multiply),
  div: binaryRule(divideRule),
  pow: binaryRule(powerRule),
  maximum: binaryRule((al, ah, bl, bh, b) => {
    b[0] = Math.max(al, bl);
    b[1] = Math.max(ah, bh);
  }),
  minimum: binaryRule((al, ah, bl, bh, b) => {
    b[0] = Math.min(al, bl);
    b[1] = Math.min(ah, bh);
  }),
  greater: comparison((al, ah, bl, bh) => [al > bh, ah <= bl]),
  greaterEqual: comparison((al, ah, bl, bh) => [al >= bh, ah < bl]),
  less: comparison((al, ah, bl, bh) => [ah < bl, al >= bh]),
  equal: comparison((al, ah, bl, bh) => [al === ah && bl === bh && al === bl, ah < bl || al > bh]),
  where: (inputs, _attrs, out) => wherePick(inputs, out),
  prelu: binaryRule(preluRule),
  leakyReluGrad: binaryRule(leakyReluGradRule),

  sum: monotone('sum'),
  mean: monotone('mean'),
  max: monotone('max'),
  min: monotone('min'),
  argmax: argmaxRule,

  matmul: bilinear('matmul', matmulContraction),
  transpose: monotone('transpose'),
  reshape: monotone('reshape'),
  broadcastTo: monotone('broadcastTo'),
  slice: monotone('slice'),
  concat: monotone('concat'),
  pad: monotone('pad'),
  oneHot: oneHotRule,

  conv2d: bilinear('conv2d', (inputs) => filterContraction(inputs[1]!.shape)),
  conv2dBackpropInput: bilinear('conv2dBackpropInput', (inputs) => filterContraction(inputs[1]!.shape)),
  conv2dBackpropFilter: bilinear('conv2dBackpropFilter', (inputs) => sizeOf(inputs[1]!.shape.slice(0, 3))),
  maxPool2d: monotone('maxPool2d'),
  maxPool2dGrad: maxPoolGradRule,
  avgPool2d: monotone('avgPool2d'),
  avgPool2dGrad: monotone('avgPool2dGrad'),

  softmax: softmaxRule(false),
  logSoftmax: softmaxRule(true),
  softmaxCrossEntropy: crossEntropyRule,
  meanSquaredError: squaredErrorRule,
};
