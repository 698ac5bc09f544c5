// Interval rules of the registry's neural-network and index ops: softmax,
// logSoftmax, softmaxCrossEntropy, meanSquaredError, argmax, oneHot and the
// gradient of max pooling.

import type { Shape } from '../../src/graph/shape.ts';
import { sizeOf } from '../../src/graph/shape.ts';
import type { OpAttrs } from '../../src/ops/attrs.ts';
import { window2D } from '../../src/ops/window.ts';
import type { Interval, IntervalRule } from './interval-core.ts';
import { addRule, binaryRule, fixNaN, isPoint, monotone, multiply, nanTo, ROUNDING_MARGIN, squareBounds, unaryRule } from './interval-core.ts';

/**
 * Returns the absolute rounding margin of a log-sum-exp over a lane whose
 * largest magnitude is `scale`: the reference computes max + log(sum), so its
 * error is relative to the logits, not to the (possibly tiny) result.
 */
function logSumExpMargin(scale: number, n: number): number {
  return ROUNDING_MARGIN * (1 + scale + Math.log(Math.max(n, 1)));
}

/** Per-lane bounds of softmax and logSoftmax along an axis. */
export function softmaxRule<K extends 'softmax' | 'logSoftmax'>(log: boolean): IntervalRule<K> {
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

/** Bounds of softmaxCrossEntropy: lse(z) - z_c = log1p(sum over j != c of exp(z_j - z_c)) per class c. */
export const crossEntropyRule: IntervalRule<'softmaxCrossEntropy'> = (inputs, _attrs, out) => {
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
export const squaredErrorRule: IntervalRule<'meanSquaredError'> = (inputs, _attrs, out) => {
  const [p, t] = inputs as [Interval, Interval];
  const difference = binaryRule<'sub'>((al, ah, bl, bh, b) => addRule(al, ah, -bh, -bl, b))([p, t], {} as OpAttrs['sub'], { shape: p.shape, dtype: 'float64' });
  const squared = unaryRule<'square'>(squareBounds)([difference], {} as OpAttrs['square'], { shape: p.shape, dtype: 'float64' });
  return monotone('mean')([squared], { axes: p.shape.map((_, i) => i), keepDims: false }, out);
};

/** Bounds of argmax: every index whose upper bound reaches the largest lower bound of its lane may win. */
export const argmaxRule: IntervalRule<'argmax'> = (inputs, attrs, out) => {
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
export const oneHotRule: IntervalRule<'oneHot'> = (inputs, attrs, out) => {
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
export const maxPoolGradRule: IntervalRule<'maxPool2dGrad'> = (inputs, attrs, out) => {
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
