// Reductions over any set of axes, with keepDims, and argmax.

import type { DType } from '../graph/dtype.ts';
import type { Node } from '../graph/node.ts';
import type { Graph } from '../graph/graph.ts';
import type { Shape } from '../graph/shape.ts';
import { formatShape, sizeOf, stridesOf } from '../graph/shape.ts';
import type { Tensor } from '../interp/tensor.ts';
import type { ReduceAttrs } from './attrs.ts';
import type { OpDef, OpSite, TypeInfo } from './def.ts';
import { axis, boolean, integerList, requireDType, requireFloat } from './check.ts';
import { AttributeError, ShapeError } from '../errors.ts';

/** Returns the shape of a reduction's output. */
export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/** Maps each flat input index to the flat index of the output it reduces into. */
export function reductionIndexer(shape: Shape, axes: readonly number[]): (flat: number) => number {
  const inStrides = stridesOf(shape);
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const keptStrides = stridesOf(kept);
  return (flat) => {
    let index = 0;
    for (let i = 0; i < shape.length; i++) {
      if (axes.includes(i)) continue;
      index += (Math.floor(flat / inStrides[i]!) % shape[i]!) * keptStrides[i]!;
    }
    return index;
  };
}

function reduceAttrs(raw: Partial<ReduceAttrs>, site: OpSite, inputs: readonly TypeInfo[]): ReduceAttrs {
  const rank = inputs[0]!.shape.length;
  const keepDims = boolean(site, 'keepDims', raw.keepDims, false);
  if (raw.axes === undefined) return { axes: Array.from({ length: rank }, (_, i) => i), keepDims };
  const given = integerList(site, 'axes', raw.axes);
  const axes = given.map((a, i) => axis(site, `axes[${i}]`, a, rank));
  if (new Set(axes).size !== axes.length) throw site.error(AttributeError, `axes ${JSON.stringify(given)} repeat an axis`);
  return { axes: axes.sort((a, b) => a - b), keepDims };
}

/** Returns the identity of a max reduction, which an empty max returns: the dtype's lowest value. */
function lowest(dtype: DType): number {
  return dtype === 'int32' ? -2147483648 : -Infinity;
}

/** Returns the identity of a min reduction: the dtype's highest value. */
function highest(dtype: DType): number {
  return dtype === 'int32' ? 2147483647 : Infinity;
}

function reduction<K extends 'sum' | 'mean' | 'max' | 'min'>(
  initial: (dtype: DType) => number,
  combine: (acc: number, x: number, dtype: DType) => number,
  finish: (acc: number, count: number) => number,
  grad: OpDef<K>['grad'],
  dtypes: readonly DType[] = ['float32', 'float64', 'int32'],
): OpDef<K> {
  return {
    arity: 1,
    attrs: reduceAttrs as OpDef<K>['attrs'],
    infer: (inputs, attrs, site) => {
      const x = inputs[0]!;
      requireDType(site, x, dtypes);
      return { shape: reducedShape(x.shape, attrs.axes, attrs.keepDims), dtype: x.dtype };
    },
    evaluate: (inputs, attrs, out) => {
      const x = inputs[0]!;
      const acc = new Float64Array(sizeOf(out.shape)).fill(initial(out.dtype));
      const toOut = reductionIndexer(x.shape, attrs.axes);
      for (let i = 0; i < x.data.length; i++) {
        const o = toOut(i);
        acc[o] = combine(acc[o]!, x.data[i]!, out.dtype);
      }
      const count = x.data.length / Math.max(acc.length, 1);
      for (let o = 0; o < acc.length; o++) acc[o] = finish(acc[o]!, count);
      return acc;
    },
    grad,
  };
}

/** Reshapes a reduction's cotangent to keepDims form and broadcasts it over the input. */
export function expandReduced(graph: Graph, dy: Node, inputShape: Shape, axes: readonly number[]): Node {
  const kept = inputShape.map((d, i) => (axes.includes(i) ? 1 : d));
  return graph.broadcastTo(graph.reshape(dy, kept), inputShape);
}

function extremumGrad(c: { graph: Graph; inputs: readonly Node[]; node: Node; attrs: ReduceAttrs; dy: Node }): Node[] {
  const { graph, inputs, node, attrs, dy } = c;
  const x = inputs[0]!;
  const extremum = expandReduced(graph, node, x.shape, attrs.axes);
  // The mask compares stopGradient copies, so a second derivative treats it
  // as the constant it is almost everywhere instead of raising GradientError.
  const hits = graph.cast(graph.equal(graph.stopGradient(x), graph.stopGradient(extremum)), x.dtype);
  const count = expandReduced(graph, graph.sum(hits, attrs.axes, { keepDims: false }), x.shape, attrs.axes);
  return [graph.div(graph.mul(hits, expandReduced(graph, dy, x.shape, attrs.axes)), count)];
}

export const reduceOps: { [K in 'sum' | 'mean' | 'max' | 'min' | 'argmax']: OpDef<K> } = {
  // d sum(x) = dy broadcast over the reduced axes.
  // An int32 sum wraps to 32 bits at every add, as the backends' i32 accumulators do.
  sum: reduction<'sum'>(() => 0, (a, x, dtype) => (dtype === 'int32' ? (a + x) | 0 : a + x), (a) => a, ({ graph, inputs, attrs, dy }) => [expandReduced(graph, dy, inputs[0]!.shape, attrs.axes)]),

  // d mean(x) = dy / n broadcast over the reduced axes, n the number of reduced elements.
  // Float inputs only: the mean of integers is generally not an integer.
  mean: reduction<'mean'>(() => 0, (a, x) => a + x, (a, n) => a / n, ({ graph, inputs, node, attrs, dy }) => {
    const n = inputs[0]!.size / Math.max(node.size, 1);
    return [graph.div(expandReduced(graph, dy, inputs[0]!.shape, attrs.axes), n)];
  }, ['float32', 'float64']),

  // d max(x): dy to the maximal elements, split evenly between ties. NaN propagates.
  // An empty reduction gives the dtype's lowest value (-Infinity, or -2^31 for int32).
  max: reduction<'max'>(lowest, (a, x) => Math.max(a, x), (a) => a, extremumGrad),

  // d min(x): dy to the minimal elements, split evenly between ties. NaN propagates.
  // An empty reduction gives the dtype's highest value (Infinity, or 2^31 - 1 for int32).
  min: reduction<'min'>(highest, (a, x) => Math.min(a, x), (a) => a, extremumGrad),

  argmax: {
    arity: 1,
    attrs: (raw, site, inputs) => ({ axis: axis(site, 'axis', raw.axis ?? -1, inputs[0]!.shape.length) }),
    infer: (inputs, attrs, site) => {
      const x = inputs[0]!;
      requireFloat(site, x);
      if (x.shape[attrs.axis] === 0) {
        throw site.error(ShapeError, `axis ${attrs.axis} of ${formatShape(x.shape)} is empty, so it has no index of a maximum`);
      }
      return { shape: x.shape.filter((_, i) => i !== attrs.axis), dtype: 'int32' };
    },
    evaluate: (inputs, { axis: a }, out) => argmaxValues(inputs[0]!, a, out),
    grad: { nondifferentiable: 'argmax returns indices and has no gradient' },
  },
};

/** Index of the first maximum along an axis; the first NaN counts as the maximum, as in numpy. */
function argmaxValues(x: Tensor, a: number, out: TypeInfo): Float64Array {
  const result = new Float64Array(sizeOf(out.shape));
  const n = x.shape[a]!;
  const inner = sizeOf(x.shape.slice(a + 1));
  for (let o = 0; o < result.length; o++) {
    const outer = Math.floor(o / inner);
    const base = outer * n * inner + (o % inner);
    let best = 0;
    let bestValue = x.data[base]!;
    for (let k = 1; k < n && !Number.isNaN(bestValue); k++) {
      const v = x.data[base + k * inner]!;
      if (v > bestValue || Number.isNaN(v)) {
        best = k;
        bestValue = v;
      }
    }
    result[o] = best;
  }
  return result;
}
