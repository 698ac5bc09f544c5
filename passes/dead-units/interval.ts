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
// - the rest (relu family, mul, div, pow, softmax, ...) have endpoint rules
//   written out below.

import { InternalError } from '../../src/errors.ts';
import type { Shape } from '../../src/graph/shape.ts';
import { broadcastIndexer, shapesEqual, sizeOf } from '../../src/graph/shape.ts';
import type { Tensor } from '../../src/interp/tensor.ts';
import type { OpAttrs, OpName } from '../../src/ops/attrs.ts';
import type { TypeInfo } from '../../src/ops/def.ts';
import { leakyReluValue, sigmoidValue, softplusValue } from '../../src/ops/elementwise.ts';
import { registry } from '../../src/ops/index.ts';
import { window2D } from '../../src/ops/window.ts';

export interface Interval {
  shape: Shape;
  lo: Float64Array;
  hi: Float64Array;
  /** NaN is possible somewhere in the node. */
  mayBeNaN: boolean;
}

/** Relative rounding margin of reordered sums: 2^-40, enough for sums of a few thousand products. */
export const ROUNDING_MARGIN = 2 ** -40;

/**
 * Absolute rounding margin for results in the subnormal range, where errors
 * are not relative: it covers 2^74 roundings of at most 2^-1075 each. It is
 * added only to nonzero magnitudes, so a sum of exact zeros stays exactly 0.
 */
export const UNDERFLOW_MARGIN = 2 ** -1000;

export function pointInterval(shape: Shape, values: Float64Array): Interval {
  return { shape, lo: values, hi: values, mayBeNaN: false };
}

/** True when every element has one known value. */
export function isPoint(interval: Interval): boolean {
  if (interval.mayBeNaN) return false;
  if (interval.lo === interval.hi) return true;
  for (let i = 0; i < interval.lo.length; i++) if (interval.lo[i] !== interval.hi[i]) return false;
  return true;
}

/** Intersects two intervals of one node, element by element. */
export function intersect(a: Interval, b: Interval): Interval {
  const lo = new Float64Array(a.lo.length);
  const hi = new Float64Array(a.lo.length);
  for (let i = 0; i < lo.length; i++) {
    lo[i] = Math.max(a.lo[i]!, b.lo[i]!);
    hi[i] = Math.min(a.hi[i]!, b.hi[i]!);
  }
  return { shape: a.shape, lo, hi, mayBeNaN: a.mayBeNaN && b.mayBeNaN };
}

type IntervalRule<K extends OpName> = (inputs: readonly Interval[], attrs: OpAttrs[K], out: TypeInfo) => Interval;

const tensor = (shape: Shape, data: Float64Array, dtype: TypeInfo['dtype'] = 'float64'): Tensor => ({ shape, dtype, data });

/** Replaces NaN (from Infinity - Infinity or 0 * Infinity) by the given infinite bound; returns whether one was found. */
function fixNaN(values: Float64Array, fill: number): boolean {
  let found = false;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i]!)) {
      values[i] = fill;
      found = true;
    }
  }
  return found;
}

type Evaluate = (inputs: readonly Tensor[], attrs: unknown, out: TypeInfo) => Float64Array;

/** The reference evaluation of an op, as a plain function. */
export function referenceOf(op: OpName): Evaluate {
  return (registry[op] as unknown as { evaluate: Evaluate }).evaluate;
}

/** Bounds of an op that is non-decreasing in every input, from its reference evaluation at lo and at hi. */
function monotone<K extends OpName>(op: K): IntervalRule<K> {
  const evaluate = referenceOf(op);
  return (inputs, attrs, out) => {
    const lo = evaluate(inputs.map((i) => tensor(i.shape, i.lo)), attrs, out);
    const hi = evaluate(inputs.map((i) => tensor(i.shape, i.hi)), attrs, out);
    const inputNaN = inputs.some((i) => i.mayBeNaN);
    const lowNaN = fixNaN(lo, -Infinity);
    const highNaN = fixNaN(hi, Infinity);
    const newNaN = lowNaN || highNaN;
    return { shape: out.shape, lo, hi, mayBeNaN: inputNaN || newNaN };
  };
}

/** Bounds of an element-wise unary op from a per-element rule writing [lo, hi] into `bound`. */
function unaryRule<K extends OpName>(rule: (lo: number, hi: number, bound: [number, number], attrs: OpAttrs[K]) => boolean | void, keepsNaN = true): IntervalRule<K> {
  return (inputs, attrs, out) => {
    const x = inputs[0]!;
    const lo = new Float64Array(x.lo.length);
    const hi = new Float64Array(x.lo.length);
    const bound: [number, number] = [0, 0];
    let mayBeNaN = keepsNaN && x.mayBeNaN;
    for (let i = 0; i < lo.length; i++) {
      if (rule(x.lo[i]!, x.hi[i]!, bound, attrs) === true) mayBeNaN = true;
      lo[i] = bound[0];
      hi[i] = bound[1];
    }
    return { shape: out.shape, lo, hi, mayBeNaN };
  };
}

/** An increasing function applied to both ends. */
const increasing = <K extends OpName>(fn: (x: number) => number) => unaryRule<K>((lo, hi, b) => {
  b[0] = fn(lo);
  b[1] = fn(hi);
});

/** A function monotone on each side of 0 (the relu family): the range is spanned by lo, hi and 0. */
function kinked(fn: (x: number) => number, lo: number, hi: number, b: [number, number]): void {
  const a = fn(lo);
  const c = fn(hi);
  b[0] = Math.min(a, c);
  b[1] = Math.max(a, c);
  if (lo < 0 && hi > 0) {
    const zero = fn(0);
    b[0] = Math.min(b[0], zero);
    b[1] = Math.max(b[1], zero);
  }
}

export function eluValue(x: number, alpha: number): number {
  return x > 0 ? x : alpha * Math.expm1(x);
}

/** Writes the range of a * b for a in [al, ah], b in [bl, bh]; returns true if 0 * Infinity (NaN) is possible. */
export function multiply(al: number, ah: number, bl: number, bh: number, b: [number, number]): boolean {
  const p1 = al * bl;
  const p2 = al * bh;
  const p3 = ah * bl;
  const p4 = ah * bh;
  b[0] = Math.min(nanTo(p1, Infinity), nanTo(p2, Infinity), nanTo(p3, Infinity), nanTo(p4, Infinity));
  b[1] = Math.max(nanTo(p1, -Infinity), nanTo(p2, -Infinity), nanTo(p3, -Infinity), nanTo(p4, -Infinity));
  // A product that is NaN only at 0 * Infinity still has the bound 0 from its other products.
  if (b[0] === Infinity) b[0] = 0;
  if (b[1] === -Infinity) b[1] = 0;
  const aZero = al <= 0 && ah >= 0;
  const bZero = bl <= 0 && bh >= 0;
  const aInfinite = al === -Infinity || ah === Infinity;
  const bInfinite = bl === -Infinity || bh === Infinity;
  const nan = (aZero && bInfinite) || (bZero && aInfinite);
  if (nan) {
    b[0] = Math.min(b[0], 0);
    b[1] = Math.max(b[1], 0);
  }
  return nan;
}

const nanTo = (x: number, fill: number) => (Number.isNaN(x) ? fill : x);

/** Bounds of a broadcasting binary op from a per-element rule. */
function binaryRule<K extends OpName>(
  rule: (al: number, ah: number, bl: number, bh: number, bound: [number, number], attrs: OpAttrs[K]) => boolean | void,
  keepsNaN = true,
): IntervalRule<K> {
  return (inputs, attrs, out) => {
    const [a, b] = inputs as [Interval, Interval];
    const size = sizeOf(out.shape);
    const lo = new Float64Array(size);
    const hi = new Float64Array(size);
    const ia = shapesEqual(a.shape, out.shape) ? (i: number) => i : broadcastIndexer(a.shape, out.shape);
    const ib = shapesEqual(b.shape, out.shape) ? (i: number) => i : broadcastIndexer(b.shape, out.shape);
    const bound: [number, number] = [0, 0];
    let mayBeNaN = keepsNaN && (a.mayBeNaN || b.mayBeNaN);
    for (let i = 0; i < size; i++) {
      const j = ia(i);
      const k = ib(i);
      if (rule(a.lo[j]!, a.hi[j]!, b.lo[k]!, b.hi[k]!, bound, attrs) === true) mayBeNaN = true;
      lo[i] = bound[0];
      hi[i] = bound[1];
    }
    return { shape: out.shape, lo, hi, mayBeNaN };
  };
}

function addRule(al: number, ah: number, bl: number, bh: number, b: [number, number]): boolean {
  b[0] = nanTo(al + bl, -Infinity);
  b[1] = nanTo(ah + bh, Infinity);
  return (ah === Infinity && bl === -Infinity) || (al === -Infinity && bh === Infinity);
}

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

/** Midpoint-radius bounds of an op that is linear in each of its first two inputs. */
function bilinear<K extends OpName>(op: K, contraction: (inputs: readonly Interval[], attrs: OpAttrs[K]) => number): IntervalRule<K> {
  const evaluate = referenceOf(op);
  return (inputs, attrs, out) => {
    const size = sizeOf(out.shape);
    const finite = inputs.every((i) => i.lo.every(Number.isFinite) && i.hi.every(Number.isFinite));
    if (!finite) {
      return { shape: out.shape, lo: new Float64Array(size).fill(-Infinity), hi: new Float64Array(size).fill(Infinity), mayBeNaN: true };
    }
    const [a, b] = inputs as [Interval, Interval];
    const parts = (x: Interval) => {
      const center = new Float64Array(x.lo.length);
      const radius = new Float64Array(x.lo.length);
      const magnitude = new Float64Array(x.lo.length);
      for (let i = 0; i < center.length; i++) {
        center[i] = x.lo[i]! + (x.hi[i]! - x.lo[i]!) / 2;
        radius[i] = Math.max(x.hi[i]! - center[i]!, center[i]! - x.lo[i]!);
        magnitude[i] = Math.max(Math.abs(x.lo[i]!), Math.abs(x.hi[i]!));
      }
      return { center, radius, magnitude, absCenter: center.map(Math.abs), point: isPoint(x) };
    };
    const pa = parts(a);
    const pb = parts(b);
    const apply = (x: Float64Array, y: Float64Array) => evaluate([tensor(a.shape, x), tensor(b.shape, y), ...inputs.slice(2).map((i) => tensor(i.shape, i.lo))], attrs, out);
    const center = apply(pa.center, pb.center);
    const radius = new Float64Array(size);
    const add = (values: Float64Array) => values.forEach((v, i) => (radius[i] = radius[i]! + v));
    if (!pa.point) add(apply(pa.radius, pb.absCenter));
    if (!pb.point) add(apply(pa.absCenter, pb.radius));
    if (!pa.point && !pb.point) add(apply(pa.radius, pb.radius));
    const margin = apply(pa.magnitude, pb.magnitude);
    const relative = ROUNDING_MARGIN * Math.max(1, contraction(inputs, attrs) / 1000);
    const lo = new Float64Array(size);
    const hi = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const spread = radius[i]! + relative * margin[i]! + (margin[i]! > 0 ? UNDERFLOW_MARGIN : 0);
      lo[i] = center[i]! - spread;
      hi[i] = center[i]! + spread;
    }
    return { shape: out.shape, lo, hi, mayBeNaN: a.mayBeNaN || b.mayBeNaN };
  };
}

/**
 * Returns the absolute rounding margin of a log-sum-exp over a lane whose
 * largest magnitude is `scale`: the reference computes max + log(sum), so its
 * error is relative to the logits, not to the (possibly tiny) result.
 */
function logSumExpMargin(scale: number, n: number): number {
  return ROUNDING_MARGIN * (1 + scale + Math.log(Math.max(n, 1)));
}

/** Per-lane bounds of softmax and logSoftmax along an axis. */
function softmaxRule<K extends 'softmax' | 'logSoftmax'>(log: boolean): IntervalRule<K> {
  return (inputs, attrs, out) => {
    const x = inputs[0]!;
    const a = (attrs as { axis: number }).axis;
    const n = x.shape[a]!;
    const inner = sizeOf(x.shape.slice(a + 1));
    const outer = sizeOf(x.shape.slice(0, a));
    const lo = new Float64Array(x.lo.length);
    const hi = new Float64Array(x.lo.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let scale = 0;
        for (let k = 0; k < n; k++) scale = Math.max(scale, Math.abs(x.lo[base + k * inner]!), Math.abs(x.hi[base + k * inner]!));
        const margin = logSumExpMargin(scale, n);
        for (let k = 0; k < n; k++) {
          // softmax_k = 1 / (1 + sum_j exp(x_j - x_k)): smallest with x_k low and the others high.
          let sumLow = 0;
          let sumHigh = 0;
          for (let j = 0; j < n; j++) {
            if (j === k) continue;
            sumLow += Math.exp(x.lo[base + j * inner]! - x.hi[base + k * inner]!);
            sumHigh += Math.exp(x.hi[base + j * inner]! - x.lo[base + k * inner]!);
          }
          const at = base + k * inner;
          if (log) {
            lo[at] = nanTo(-Math.log1p(sumHigh), -Infinity) - margin;
            hi[at] = Math.min(0, nanTo(-Math.log1p(sumLow), 0) + margin);
          } else {
            // exp(x - lse) has a relative error of about the error of lse.
            lo[at] = Math.max(0, nanTo(1 / (1 + sumHigh), 0) * (1 - 2 * margin));
            hi[at] = Math.min(1, nanTo(1 / (1 + sumLow), 1) * (1 + 2 * margin));
          }
        }
      }
    }
    return { shape: out.shape, lo, hi, mayBeNaN: x.mayBeNaN || !x.lo.every(Number.isFinite) || !x.hi.every(Number.isFinite) };
  };
}

function notComputed(op: string): never {
  throw new InternalError(`${op} has no interval rule; sources get their bounds from the region, the params and the attributes`);
}

/** Bounds of softmaxCrossEntropy: lse(z) - z_c = log1p(sum over j != c of exp(z_j - z_c)) per class c. */
const crossEntropyRule: IntervalRule<'softmaxCrossEntropy'> = (inputs, _attrs, out) => {
  const [z, labels] = inputs as [Interval, Interval];
  const classes = z.shape[z.shape.length - 1]!;
  const rows = sizeOf(out.shape);
  const lo = new Float64Array(rows);
  const hi = new Float64Array(rows);
  const bound: [number, number] = [0, 0];
  let mayBeNaN = z.mayBeNaN || labels.mayBeNaN || !z.lo.every(Number.isFinite) || !z.hi.every(Number.isFinite);
  // lse(z) - z_c >= 0 holds for the float64 reference values too, because lse = max + log(sum) with sum >= 1.
  const classLoss = (base: number, c: number): [number, number] => {
    let low = 0;
    let high = 0;
    let scale = 0;
    for (let j = 0; j < classes; j++) {
      scale = Math.max(scale, Math.abs(z.lo[base + j]!), Math.abs(z.hi[base + j]!));
      if (j === c) continue;
      low += Math.exp(z.lo[base + j]! - z.hi[base + c]!);
      high += Math.exp(z.hi[base + j]! - z.lo[base + c]!);
    }
    const margin = 2 * logSumExpMargin(scale, classes);
    return [Math.max(0, nanTo(Math.log1p(low), 0) - margin), nanTo(Math.log1p(high), Infinity) + margin];
  };
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    if (labels.shape.length === z.shape.length - 1) {
      // int32 class indices; an index outside [0, classes) gives NaN.
      const first = Math.max(0, labels.lo[r]!);
      const last = Math.min(classes - 1, labels.hi[r]!);
      if (labels.lo[r]! < 0 || labels.hi[r]! >= classes) mayBeNaN = true;
      lo[r] = Infinity;
      hi[r] = -Infinity;
      for (let c = first; c <= last; c++) {
        const [low, high] = classLoss(base, c);
        lo[r] = Math.min(lo[r]!, low);
        hi[r] = Math.max(hi[r]!, high);
      }
      if (lo[r]! > hi[r]!) {
        lo[r] = -Infinity;
        hi[r] = Infinity;
      }
      continue;
    }
    let low = 0;
    let high = 0;
    for (let c = 0; c < classes; c++) {
      const [l, h] = classLoss(base, c);
      if (multiply(labels.lo[base + c]!, labels.hi[base + c]!, l, h, bound)) mayBeNaN = true;
      low += bound[0];
      high += bound[1];
    }
    lo[r] = nanTo(low, -Infinity);
    hi[r] = nanTo(high, Infinity);
  }
  return { shape: out.shape, lo, hi, mayBeNaN };
};

/** Bounds of mean((p - t)^2). */
const squaredErrorRule: IntervalRule<'meanSquaredError'> = (inputs, _attrs, out) => {
  const [p, t] = inputs as [Interval, Interval];
  const difference = binaryRule<'sub'>((al, ah, bl, bh, b) => addRule(al, ah, -bh, -bl, b))([p, t], {} as OpAttrs['sub'], { shape: p.shape, dtype: 'float64' });
  const squared = intervalRules.square([difference], {} as OpAttrs['square'], { shape: p.shape, dtype: 'float64' });
  return intervalRules.mean([squared], { axes: p.shape.map((_, i) => i), keepDims: false }, out);
};

/** Bounds of argmax: every index whose upper bound reaches the largest lower bound of its lane may win. */
const argmaxRule: IntervalRule<'argmax'> = (inputs, attrs, out) => {
  const x = inputs[0]!;
  const n = x.shape[attrs.axis]!;
  const inner = sizeOf(x.shape.slice(attrs.axis + 1));
  const size = sizeOf(out.shape);
  const lo = new Float64Array(size);
  const hi = new Float64Array(size);
  for (let o = 0; o < size; o++) {
    const base = Math.floor(o / inner) * n * inner + (o % inner);
    if (x.mayBeNaN) {
      lo[o] = 0;
      hi[o] = n - 1;
      continue;
    }
    let best = -Infinity;
    for (let k = 0; k < n; k++) best = Math.max(best, x.lo[base + k * inner]!);
    let first = n - 1;
    let last = 0;
    for (let k = 0; k < n; k++) {
      if (x.hi[base + k * inner]! >= best) {
        first = Math.min(first, k);
        last = Math.max(last, k);
      }
    }
    lo[o] = first;
    hi[o] = last;
  }
  return { shape: out.shape, lo, hi, mayBeNaN: false };
};

/** Bounds of oneHot: a position may be 1 only if the index range covers it. */
const oneHotRule: IntervalRule<'oneHot'> = (inputs, attrs, out) => {
  const indices = inputs[0]!;
  const lo = new Float64Array(sizeOf(out.shape));
  const hi = new Float64Array(lo.length);
  for (let i = 0; i < indices.lo.length; i++) {
    const first = Math.max(0, indices.lo[i]!);
    const last = Math.min(attrs.depth - 1, indices.hi[i]!);
    for (let c = first; c <= last; c++) {
      hi[i * attrs.depth + c] = 1;
      if (first === last) lo[i * attrs.depth + c] = 1;
    }
  }
  return { shape: out.shape, lo, hi, mayBeNaN: false };
};

/**
 * Bounds of maxPool2dGrad (x, dy): with x a point the routing is known and the
 * op is linear in dy with 0/1 coefficients, so it is monotone in dy. Otherwise
 * each element may receive the gradient of every window that covers it, or none.
 */
const maxPoolGradRule: IntervalRule<'maxPool2dGrad'> = (inputs, attrs, out) => {
  const [x, dy] = inputs as [Interval, Interval];
  if (isPoint(x)) return monotone('maxPool2dGrad')([x, dy], attrs, out);
  const lo = windowSum(dy.lo.map((v) => Math.min(v, 0)), dy.shape, x.shape, attrs);
  const hi = windowSum(dy.hi.map((v) => Math.max(v, 0)), dy.shape, x.shape, attrs);
  fixNaN(lo, -Infinity);
  fixNaN(hi, Infinity);
  return { shape: out.shape, lo, hi, mayBeNaN: x.mayBeNaN || dy.mayBeNaN };
};

/** Adds each window's value to every input element that the window covers (NHWC). */
function windowSum(values: Float64Array, dyShape: Shape, xShape: Shape, attrs: OpAttrs['maxPool2dGrad']): Float64Array {
  const [batch, height, width, channels] = xShape as [number, number, number, number];
  const [, outHeight, outWidth] = dyShape as [number, number, number, number];
  const geometry = window2D(height, width, attrs.poolSize, attrs.strides, [1, 1], attrs.padding);
  const result = new Float64Array(sizeOf(xShape));
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const from = ((n * outHeight + oh) * outWidth + ow) * channels;
        for (let kh = 0; kh < attrs.poolSize[0]; kh++) {
          const ih = oh * attrs.strides[0] + kh - geometry.padTop;
          if (ih < 0 || ih >= height) continue;
          for (let kw = 0; kw < attrs.poolSize[1]; kw++) {
            const iw = ow * attrs.strides[1] + kw - geometry.padLeft;
            if (iw < 0 || iw >= width) continue;
            const to = ((n * height + ih) * width + iw) * channels;
            for (let c = 0; c < channels; c++) result[to + c] = result[to + c]! + values[from + c]!;
          }
        }
      }
    }
  }
  return result;
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
    b[0] = lo >= 0 ? lo : hi <= 0 ? -hi : 0;
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
  square: unaryRule((lo, hi, b) => {
    b[0] = lo >= 0 ? lo * lo : hi <= 0 ? hi * hi : 0;
    b[1] = Math.max(lo * lo, hi * hi);
  }),
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
