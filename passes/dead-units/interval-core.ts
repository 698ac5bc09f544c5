// Interval arithmetic shared by the interval rules: the Interval type, the
// rounding margins, and rule builders for monotone, element-wise and
// bilinear ops. The rules of the registry's ops are in interval.ts and
// interval-nn.ts.

import type { Shape } from '../../src/graph/shape.ts';
import { broadcastIndexer, shapesEqual, sizeOf } from '../../src/graph/shape.ts';
import type { Tensor } from '../../src/interp/tensor.ts';
import type { OpAttrs, OpName } from '../../src/ops/attrs.ts';
import type { TypeInfo } from '../../src/ops/def.ts';
import { registry } from '../../src/ops/index.ts';

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

export type IntervalRule<K extends OpName> = (inputs: readonly Interval[], attrs: OpAttrs[K], out: TypeInfo) => Interval;

export const tensor = (shape: Shape, data: Float64Array, dtype: TypeInfo['dtype'] = 'float64'): Tensor => ({ shape, dtype, data });

/** Replaces NaN (from Infinity - Infinity or 0 * Infinity) by the given infinite bound; returns whether one was found. */
export function fixNaN(values: Float64Array, fill: number): boolean {
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
export function monotone<K extends OpName>(op: K): IntervalRule<K> {
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
export function unaryRule<K extends OpName>(rule: (lo: number, hi: number, bound: [number, number], attrs: OpAttrs[K]) => boolean | void, keepsNaN = true): IntervalRule<K> {
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
export const increasing = <K extends OpName>(fn: (x: number) => number) => unaryRule<K>((lo, hi, b) => {
  b[0] = fn(lo);
  b[1] = fn(hi);
});

/** A function monotone on each side of 0 (the relu family): the range is spanned by lo, hi and 0. */
export function kinked(fn: (x: number) => number, lo: number, hi: number, b: [number, number]): void {
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

/** Writes the range of x^2 for x in [lo, hi]. */
export function squareBounds(lo: number, hi: number, b: [number, number]): void {
  if (lo >= 0) b[0] = lo * lo;
  else if (hi <= 0) b[0] = hi * hi;
  else b[0] = 0;
  b[1] = Math.max(lo * lo, hi * hi);
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

export const nanTo = (x: number, fill: number) => (Number.isNaN(x) ? fill : x);

/** Bounds of a broadcasting binary op from a per-element rule. */
export function binaryRule<K extends OpName>(
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

export function addRule(al: number, ah: number, bl: number, bh: number, b: [number, number]): boolean {
  b[0] = nanTo(al + bl, -Infinity);
  b[1] = nanTo(ah + bh, Infinity);
  return (ah === Infinity && bl === -Infinity) || (al === -Infinity && bh === Infinity);
}

/** Midpoint-radius bounds of an op that is linear in each of its first two inputs. */
export function bilinear<K extends OpName>(op: K, contraction: (inputs: readonly Interval[], attrs: OpAttrs[K]) => number): IntervalRule<K> {
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
