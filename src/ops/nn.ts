// Neural-network helpers: softmax, logSoftmax, softmax cross-entropy from
// logits and mean squared error. All are computed from the max-shifted
// log-sum-exp, so logits of +-1e4 give finite values and gradients.

import { ShapeError } from '../errors.ts';
import type { Node } from '../graph/node.ts';
import { formatShape, shapesEqual, sizeOf } from '../graph/shape.ts';
import type { OpDef, OpSite, TypeInfo } from './def.ts';
import type { Tensor } from '../interp/tensor.ts';
import { axis, requireDType, requireFloat, sameDType } from './check.ts';

/** Calls `visit(base, stride, n)` for each vector along `a` of a row-major shape. */
function forEachLane(shape: readonly number[], a: number, visit: (base: number, stride: number, n: number) => void): void {
  const n = shape[a]!;
  const inner = sizeOf(shape.slice(a + 1));
  const outer = sizeOf(shape.slice(0, a));
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) visit(o * n * inner + i, inner, n);
}

/** max(x) + log(sum(exp(x - max(x)))) of one lane. */
function logSumExp(data: Float64Array, base: number, stride: number, n: number): number {
  let max = -Infinity;
  for (let k = 0; k < n; k++) max = Math.max(max, data[base + k * stride]!);
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let sum = 0;
  for (let k = 0; k < n; k++) sum += Math.exp(data[base + k * stride]! - max);
  return max + Math.log(sum);
}

const axisAttrs = (raw: { axis?: number }, site: Parameters<OpDef<'softmax'>['attrs']>[1], inputs: Parameters<OpDef<'softmax'>['attrs']>[2]) =>
  ({ axis: axis(site, 'axis', raw.axis ?? -1, inputs[0]!.shape.length) });

/** Maps every element along the axis from its value and its lane's log-sum-exp. */
function mapLanes(x: Tensor, a: number, f: (value: number, lse: number) => number): Float64Array {
  const out = new Float64Array(x.data.length);
  forEachLane(x.shape, a, (base, stride, n) => {
    const lse = logSumExp(x.data, base, stride, n);
    for (let k = 0; k < n; k++) out[base + k * stride] = f(x.data[base + k * stride]!, lse);
  });
  return out;
}

/** Requires a float input and returns its type: the shape rule of softmax and logSoftmax. */
function sameFloatType(inputs: readonly TypeInfo[], site: OpSite): TypeInfo {
  requireFloat(site, inputs[0]!);
  return inputs[0]!;
}

export const nnOps: { [K in 'softmax' | 'logSoftmax' | 'softmaxCrossEntropy' | 'meanSquaredError']: OpDef<K> } = {
  // softmax(x)_i = exp(x_i - lse(x)). d softmax = y (dy - sum(dy y)) along the axis.
  softmax: {
    arity: 1,
    attrs: axisAttrs,
    infer: (inputs, _attrs, site) => sameFloatType(inputs, site),
    evaluate: (inputs, { axis: a }) => mapLanes(inputs[0]!, a, (value, lse) => Math.exp(value - lse)),
    grad: ({ graph, node, attrs, dy }) => {
      const dot = graph.sum(graph.mul(dy, node), [attrs.axis], { keepDims: true });
      return [graph.mul(node, graph.sub(dy, dot))];
    },
  },

  // logSoftmax(x)_i = x_i - lse(x). d logSoftmax = dy - softmax(x) sum(dy) along the axis.
  logSoftmax: {
    arity: 1,
    attrs: axisAttrs,
    infer: (inputs, _attrs, site) => sameFloatType(inputs, site),
    evaluate: (inputs, { axis: a }) => mapLanes(inputs[0]!, a, (value, lse) => value - lse),
    grad: ({ graph, node, attrs, dy }) => {
      const total = graph.sum(dy, [attrs.axis], { keepDims: true });
      return [graph.sub(dy, graph.mul(graph.exp(node), total))];
    },
  },

  // loss = sum_c l_c (lse(z) - z_c) over the last axis, per example.
  // d/dz = softmax(z) sum(l) - l (softmax(z) - l for one-hot labels);
  // d/dl = lse(z) - z = -logSoftmax(z). Integer labels are class indices: the
  // loss is lse(z) - z_label (NaN for an index outside [0, classes)), and they
  // carry no gradient.
  softmaxCrossEntropy: {
    arity: 2,
    attrs: () => ({}),
    infer: (inputs, _attrs, site) => {
      const [logits, labels] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
      requireFloat(site, logits, 'logits');
      if (logits.shape.length < 1) throw site.error(ShapeError, 'logits must have rank 1 or more, with classes on the last axis');
      const batchShape = logits.shape.slice(0, -1);
      if (labels.dtype === 'int32') {
        if (!shapesEqual(labels.shape, batchShape)) {
          throw site.error(ShapeError, `int32 labels must have shape ${formatShape(batchShape)} (logits ${formatShape(logits.shape)} without the class axis), got ${formatShape(labels.shape)}`);
        }
      } else {
        requireDType(site, labels, [logits.dtype], 'labels');
        if (!shapesEqual(labels.shape, logits.shape)) {
          throw site.error(ShapeError, `one-hot labels must have the logits' shape ${formatShape(logits.shape)}, got ${formatShape(labels.shape)}; pass int32 class indices of shape ${formatShape(batchShape)} instead`);
        }
      }
      return { shape: batchShape, dtype: logits.dtype };
    },
    evaluate: (inputs) => {
      const [z, l] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
      const classes = z.shape[z.shape.length - 1]!;
      const out = new Float64Array(z.data.length / Math.max(classes, 1));
      for (let r = 0; r < out.length; r++) {
        const base = r * classes;
        const lse = logSumExp(z.data, base, 1, classes);
        if (l.dtype === 'int32') {
          const c = l.data[r]!;
          out[r] = c >= 0 && c < classes ? lse - z.data[base + c]! : NaN;
        } else {
          let loss = 0;
          for (let k = 0; k < classes; k++) {
            const label = l.data[base + k]!;
            if (label !== 0) loss += label * (lse - z.data[base + k]!);
          }
          out[r] = loss;
        }
      }
      return out;
    },
    grad: ({ graph, inputs, dy }) => {
      const [logits, labels] = inputs as [Node, Node];
      const dyColumn = graph.reshape(dy, [...dy.shape, 1]);
      const probabilities = graph.softmax(logits, -1);
      if (labels.dtype === 'int32') {
        const target = graph.cast(graph.oneHot(labels, logits.shape[logits.rank - 1]!), logits.dtype);
        return [graph.mul(graph.sub(probabilities, target), dyColumn), undefined];
      }
      const mass = graph.sum(labels, [-1], { keepDims: true });
      const dLogits = graph.mul(graph.sub(graph.mul(probabilities, mass), labels), dyColumn);
      const dLabels = graph.mul(graph.neg(graph.logSoftmax(logits, -1)), dyColumn);
      return [dLogits, dLabels];
    },
  },

  // mse = mean((p - t)^2). d/dp = 2 (p - t) dy / n, d/dt = -d/dp.
  meanSquaredError: {
    arity: 2,
    attrs: () => ({}),
    infer: (inputs, _attrs, site) => {
      const dtype = sameDType(site, inputs);
      requireFloat(site, inputs[0]!, 'predictions');
      if (!shapesEqual(inputs[0]!.shape, inputs[1]!.shape)) {
        throw site.error(ShapeError, `predictions ${formatShape(inputs[0]!.shape)} and targets ${formatShape(inputs[1]!.shape)} must have one shape`);
      }
      return { shape: [], dtype };
    },
    evaluate: (inputs) => {
      const [p, t] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
      let sum = 0;
      for (let i = 0; i < p.data.length; i++) sum += (p.data[i]! - t.data[i]!) ** 2;
      return Float64Array.of(sum / p.data.length);
    },
    grad: ({ graph, inputs, dy }) => {
      const [p, t] = inputs as [Node, Node];
      const dp = graph.mul(graph.sub(p, t), graph.div(graph.mul(dy, 2), p.size));
      return [dp, graph.neg(dp)];
    },
  },
};
