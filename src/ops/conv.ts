// Convolution and pooling, NHWC activations and HWIO filters.
//
// conv2d, conv2dBackpropInput and conv2dBackpropFilter are one trilinear form
// seen from three sides: for every x, w and dy of matching shapes,
//
//   <conv2d(x, w), dy> = <x, conv2dBackpropInput(dy, w)> = <w, conv2dBackpropFilter(x, dy)>
//
// where <a, b> is the sum of the elementwise products. All three evaluate
// through one loop over the same windows (forEachWindow), and each one's
// gradient is another of the three, so a gradient of a gradient through a
// convolution is again a convolution. Pooling uses the same window loop and
// the same geometry (window2D). The loop skips window taps that land on
// padding, so padding never wins a max and never counts in an average. For
// conv2d this equals zero padding, except that a padding cell under an
// infinite or NaN weight adds nothing where zero padding would add NaN.

import { AttributeError, ShapeError } from '../errors.ts';
import type { Graph } from '../graph/graph.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import { formatShape, shapesEqual, sizeOf } from '../graph/shape.ts';
import type { Tensor } from '../interp/tensor.ts';
import type { Conv2DAttrs, OpAttrs, Padding2D, Pool2DAttrs } from './attrs.ts';
import type { OpDef, OpSite, TypeInfo } from './def.ts';
import { describeValue, integer, integerList, requireFloat, sameDType } from './check.ts';
import { effectiveKernelSize, formatPadding, window2D } from './window.ts';

type WindowName = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad';

// Attributes.

function positivePair(site: OpSite, key: string, value: unknown): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2) {
    throw site.error(AttributeError, `${key} must be a pair [height, width] of integers >= 1, got ${describeValue(value)}`);
  }
  return [integer(site, `${key}[0]`, value[0], 1), integer(site, `${key}[1]`, value[1], 1)];
}

function paddingAttr(site: OpSite, value: unknown): Padding2D {
  if (value === 'same' || value === 'valid') return value;
  if (Array.isArray(value) && value.length === 2) {
    const [rows, columns] = value.map((pair: unknown, axis) => {
      const pads = integerList(site, `padding[${axis}]`, pair, 0);
      if (pads.length !== 2) throw site.error(AttributeError, `padding[${axis}] must be a pair [before, after], got ${describeValue(pair)}`);
      return [pads[0]!, pads[1]!] as const;
    }) as [readonly [number, number], readonly [number, number]];
    return [rows, columns];
  }
  const hint = typeof value === 'string' && ['same', 'valid'].includes(value.toLowerCase()) ? `; use lowercase '${value.toLowerCase()}'` : '';
  throw site.error(AttributeError, `padding must be 'same', 'valid' or [[top, bottom], [left, right]], got ${describeValue(value)}${hint}`);
}

function convAttrs(raw: Partial<Conv2DAttrs>, site: OpSite): Conv2DAttrs {
  return {
    strides: positivePair(site, 'strides', raw.strides ?? [1, 1]),
    padding: paddingAttr(site, raw.padding ?? 'valid'),
    dilations: positivePair(site, 'dilations', raw.dilations ?? [1, 1]),
  };
}

/** Checks a pool's attributes. Explicit padding must be smaller than the pool, so that no window is all padding. */
function poolAttrs(raw: Partial<Pool2DAttrs>, site: OpSite): Pool2DAttrs {
  const poolSize = positivePair(site, 'poolSize', raw.poolSize);
  const strides = positivePair(site, 'strides', raw.strides ?? poolSize);
  const padding = paddingAttr(site, raw.padding ?? 'valid');
  if (typeof padding !== 'string') {
    padding.forEach((pads, axis) => {
      pads.forEach((pad, side) => {
        if (pad >= poolSize[axis]!) {
          throw site.error(AttributeError, `padding[${axis}][${side}] is ${pad}, but pooling padding must be smaller than the pool size ${poolSize[axis]} on that axis, so that every window contains an input element`);
        }
      });
    });
  }
  return { poolSize, strides, padding };
}

/** Checks a 4-D shape attribute such as inputShape or filterShape. */
function shapeAttr(site: OpSite, key: string, value: unknown, layout: string): number[] {
  const shape = integerList(site, key, value, 0);
  if (shape.length !== 4) throw site.error(AttributeError, `${key} must have 4 entries ${layout}, got ${describeValue(value)}`);
  return shape;
}

// Shape rules.

const NHWC = '[batch, height, width, channels]';
const HWIO = '[height, width, in channels, out channels]';

function requireRank4(site: OpSite, subject: string, shape: Shape, layout: string): void {
  if (shape.length !== 4) throw site.error(ShapeError, `${subject} must have rank 4 ${layout}, got shape ${formatShape(shape)}`);
}

function requireShape(site: OpSite, subject: string, actual: Shape, expected: Shape, reason: string): void {
  if (!shapesEqual(actual, expected)) throw site.error(ShapeError, `${subject} must have shape ${formatShape(expected)} (${reason}), got ${formatShape(actual)}`);
}

/** Returns the inputs' common dtype, which must be float32 or float64. */
function floatInputs(site: OpSite, inputs: readonly TypeInfo[]): TypeInfo['dtype'] {
  const dtype = sameDType(site, inputs);
  requireFloat(site, inputs[0]!, inputs.length > 1 ? 'inputs' : 'input');
  return dtype;
}

/** Rejects a window op whose output would be empty along an axis, naming the sizes that caused it. */
function requireNonEmpty(site: OpSite, out: { outHeight: number; outWidth: number }, inShape: Shape, kernel: readonly [number, number], kernelName: string, attrs: { strides: readonly [number, number]; padding: Padding2D; dilations?: readonly [number, number] }): void {
  (['height', 'width'] as const).forEach((axisName, axis) => {
    const outSize = axis === 0 ? out.outHeight : out.outWidth;
    if (outSize >= 1) return;
    const dilation = attrs.dilations === undefined ? '' : `, dilation ${attrs.dilations[axis]} (effective size ${effectiveKernelSize(kernel[axis]!, attrs.dilations[axis]!)})`;
    throw site.error(
      ShapeError,
      `output ${axisName} would be ${outSize}: input ${axisName} ${inShape[axis + 1]} with ${kernelName} ${axisName} ${kernel[axis]}${dilation}, stride ${attrs.strides[axis]} and padding ${formatPadding(attrs.padding)} leaves no complete window; use 'same' padding, a smaller ${kernelName} or a larger input`,
    );
  });
}

/**
 * Returns conv2d's output shape [N, OH, OW, O] for an input and a filter
 * shape, or throws naming the shapes: ranks, channels, kernel size, output size.
 */
function convOutputShape(site: OpSite, xShape: Shape, filterShape: Shape, attrs: Conv2DAttrs, names = { x: 'x', filter: 'filter' }): number[] {
  requireRank4(site, names.x, xShape, `${NHWC} (NHWC)`);
  requireRank4(site, names.filter, filterShape, `${HWIO} (HWIO)`);
  const [batch, inHeight, inWidth, channels] = xShape as [number, number, number, number];
  const [kernelHeight, kernelWidth, filterChannels, outChannels] = filterShape as [number, number, number, number];
  if (channels !== filterChannels) {
    throw site.error(ShapeError, `${names.x} ${formatShape(xShape)} has ${channels} channels but ${names.filter} ${formatShape(filterShape)} expects ${filterChannels}; the filter's axis 2 (in channels) must equal the input's axis 3`);
  }
  if (kernelHeight < 1 || kernelWidth < 1) {
    throw site.error(ShapeError, `${names.filter} ${formatShape(filterShape)} must have a height and width of at least 1`);
  }
  const kernel = [kernelHeight, kernelWidth] as const;
  const out = window2D(inHeight, inWidth, kernel, attrs.strides, attrs.dilations, attrs.padding);
  requireNonEmpty(site, out, xShape, kernel, 'filter', attrs);
  return [batch, out.outHeight, out.outWidth, outChannels];
}

/** Returns a pool's output shape [N, OH, OW, C], or throws naming the shapes. */
function poolOutputShape(site: OpSite, xShape: Shape, attrs: Pool2DAttrs, name = 'x'): number[] {
  requireRank4(site, name, xShape, `${NHWC} (NHWC)`);
  const [batch, inHeight, inWidth, channels] = xShape as [number, number, number, number];
  const out = window2D(inHeight, inWidth, attrs.poolSize, attrs.strides, [1, 1], attrs.padding);
  requireNonEmpty(site, out, xShape, attrs.poolSize, 'pool', attrs);
  return [batch, out.outHeight, out.outWidth, channels];
}

// Reference evaluation.

/** Sizes of a window op over an NHWC input, with the padding before each spatial axis. */
interface WindowLoop {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  kernel: readonly [number, number];
  strides: readonly [number, number];
  dilations: readonly [number, number];
  padTop: number;
  padLeft: number;
}

function windowLoop(xShape: Shape, kernel: readonly [number, number], outChannels: number, attrs: Conv2DAttrs): WindowLoop {
  const [batch, inHeight, inWidth, inChannels] = xShape as [number, number, number, number];
  const out = window2D(inHeight, inWidth, kernel, attrs.strides, attrs.dilations, attrs.padding);
  const { strides, dilations } = attrs;
  return { batch, inHeight, inWidth, inChannels, outHeight: out.outHeight, outWidth: out.outWidth, outChannels, kernel, strides, dilations, padTop: out.padTop, padLeft: out.padLeft };
}

function convLoop(xShape: Shape, filterShape: Shape, attrs: Conv2DAttrs): WindowLoop {
  return windowLoop(xShape, [filterShape[0]!, filterShape[1]!], filterShape[3]!, attrs);
}

function poolLoop(xShape: Shape, attrs: Pool2DAttrs): WindowLoop {
  return windowLoop(xShape, attrs.poolSize, xShape[3]!, { strides: attrs.strides, padding: attrs.padding, dilations: [1, 1] });
}

/**
 * Visits every output position (n, oh, ow) with the window's taps that fall
 * inside the input, in row-major window order. `outBase` is the flat offset
 * of output channel 0; for tap t < count, `inBases[t]` is the flat offset of
 * input channel 0 and `kernelIndices[t]` is kh * kernelWidth + kw. The input
 * row of tap kh is oh * strideH - padTop + kh * dilationH, and likewise for
 * columns. Taps that land in the padding are left out.
 */
function forEachWindow(loop: WindowLoop, visit: (outBase: number, count: number, inBases: readonly number[], kernelIndices: readonly number[]) => void): void {
  const [kernelHeight, kernelWidth] = loop.kernel;
  const inBases = new Array<number>(kernelHeight * kernelWidth);
  const kernelIndices = new Array<number>(kernelHeight * kernelWidth);
  for (let n = 0; n < loop.batch; n++) {
    for (let oh = 0; oh < loop.outHeight; oh++) {
      for (let ow = 0; ow < loop.outWidth; ow++) {
        let count = 0;
        for (let kh = 0; kh < kernelHeight; kh++) {
          const ih = oh * loop.strides[0] - loop.padTop + kh * loop.dilations[0];
          if (ih < 0 || ih >= loop.inHeight) continue;
          for (let kw = 0; kw < kernelWidth; kw++) {
            const iw = ow * loop.strides[1] - loop.padLeft + kw * loop.dilations[1];
            if (iw < 0 || iw >= loop.inWidth) continue;
            inBases[count] = ((n * loop.inHeight + ih) * loop.inWidth + iw) * loop.inChannels;
            kernelIndices[count] = kh * kernelWidth + kw;
            count++;
          }
        }
        visit(((n * loop.outHeight + oh) * loop.outWidth + ow) * loop.outChannels, count, inBases, kernelIndices);
      }
    }
  }
}

/** Calls `visit(xIndex, wIndex, yIndex)` for every product x * w that conv2d sums into y. */
function forEachConvTerm(loop: WindowLoop, visit: (xIndex: number, wIndex: number, yIndex: number) => void): void {
  const { inChannels, outChannels } = loop;
  forEachWindow(loop, (outBase, count, inBases, kernelIndices) => {
    for (let t = 0; t < count; t++) {
      const wBase = kernelIndices[t]! * inChannels * outChannels;
      for (let c = 0; c < inChannels; c++) {
        for (let o = 0; o < outChannels; o++) visit(inBases[t]! + c, wBase + c * outChannels + o, outBase + o);
      }
    }
  });
}

function conv2dValues(x: Tensor, filter: Tensor, attrs: Conv2DAttrs): Float64Array {
  const loop = convLoop(x.shape, filter.shape, attrs);
  const y = new Float64Array(loop.batch * loop.outHeight * loop.outWidth * loop.outChannels);
  forEachConvTerm(loop, (xi, wi, yi) => (y[yi] += x.data[xi]! * filter.data[wi]!));
  return y;
}

function backpropInputValues(dy: Tensor, filter: Tensor, attrs: OpAttrs['conv2dBackpropInput']): Float64Array {
  const loop = convLoop(attrs.inputShape, filter.shape, attrs);
  const dx = new Float64Array(sizeOf(attrs.inputShape));
  forEachConvTerm(loop, (xi, wi, yi) => (dx[xi] += dy.data[yi]! * filter.data[wi]!));
  return dx;
}

function backpropFilterValues(x: Tensor, dy: Tensor, attrs: OpAttrs['conv2dBackpropFilter']): Float64Array {
  const loop = convLoop(x.shape, attrs.filterShape, attrs);
  const dw = new Float64Array(sizeOf(attrs.filterShape));
  forEachConvTerm(loop, (xi, wi, yi) => (dw[wi] += x.data[xi]! * dy.data[yi]!));
  return dw;
}

/**
 * Returns the tap index of the first maximal element of a window in channel
 * c. A NaN counts as the maximum, so NaN propagates. Pool attributes ensure
 * every window has at least one tap.
 */
function firstMaxTap(data: Float64Array, c: number, count: number, inBases: readonly number[]): number {
  let best = 0;
  let bestValue = data[inBases[0]! + c]!;
  for (let t = 1; t < count && !Number.isNaN(bestValue); t++) {
    const value = data[inBases[t]! + c]!;
    if (value > bestValue || Number.isNaN(value)) {
      best = t;
      bestValue = value;
    }
  }
  return best;
}

function maxPoolValues(x: Tensor, attrs: Pool2DAttrs): Float64Array {
  const loop = poolLoop(x.shape, attrs);
  const y = new Float64Array(loop.batch * loop.outHeight * loop.outWidth * loop.outChannels);
  forEachWindow(loop, (outBase, count, inBases) => {
    for (let c = 0; c < loop.inChannels; c++) y[outBase + c] = x.data[inBases[firstMaxTap(x.data, c, count, inBases)]! + c]!;
  });
  return y;
}

function maxPoolGradValues(x: Tensor, dy: Tensor, attrs: Pool2DAttrs): Float64Array {
  const dx = new Float64Array(x.data.length);
  forEachWindow(poolLoop(x.shape, attrs), (outBase, count, inBases) => {
    for (let c = 0; c < x.shape[3]!; c++) dx[inBases[firstMaxTap(x.data, c, count, inBases)]! + c] += dy.data[outBase + c]!;
  });
  return dx;
}

function avgPoolValues(x: Tensor, attrs: Pool2DAttrs): Float64Array {
  const loop = poolLoop(x.shape, attrs);
  const y = new Float64Array(loop.batch * loop.outHeight * loop.outWidth * loop.outChannels);
  forEachWindow(loop, (outBase, count, inBases) => {
    for (let c = 0; c < loop.inChannels; c++) {
      let sum = 0;
      for (let t = 0; t < count; t++) sum += x.data[inBases[t]! + c]!;
      y[outBase + c] = sum / count;
    }
  });
  return y;
}

function avgPoolGradValues(dy: Tensor, attrs: OpAttrs['avgPool2dGrad']): Float64Array {
  const dx = new Float64Array(sizeOf(attrs.inputShape));
  const channels = attrs.inputShape[3]!;
  forEachWindow(poolLoop(attrs.inputShape, attrs), (outBase, count, inBases) => {
    for (let c = 0; c < channels; c++) {
      const share = dy.data[outBase + c]! / count;
      for (let t = 0; t < count; t++) dx[inBases[t]! + c] += share;
    }
  });
  return dx;
}

// Gradient helpers built from graph ops.

function convOptions(attrs: Conv2DAttrs): Conv2DAttrs {
  return { strides: attrs.strides, padding: attrs.padding, dilations: attrs.dilations };
}

function poolOptions(attrs: Pool2DAttrs): Pool2DAttrs {
  return { poolSize: attrs.poolSize, strides: attrs.strides, padding: attrs.padding };
}

/**
 * Keeps every stride-th element along an axis, from the first, where the
 * axis has (count - 1) * stride + 1 elements: pads the axis to
 * count * stride, splits it into [count, stride] and keeps index 0 of the
 * second part.
 */
function everyNth(graph: Graph, x: Node, axis: number, stride: number, count: number): Node {
  if (stride === 1) return x;
  const length = x.shape[axis]!;
  const padded = graph.pad(x, x.shape.map((_, i) => [0, i === axis ? count * stride - length : 0] as const));
  const split = [...x.shape.slice(0, axis), count, stride, ...x.shape.slice(axis + 1)];
  const firstOfEach = graph.slice(graph.reshape(padded, split), split.map(() => 0), split.map((d, i) => (i === axis + 1 ? 1 : d)));
  return graph.reshape(firstOfEach, [...x.shape.slice(0, axis), count, ...x.shape.slice(axis + 1)]);
}

/** Returns the element under window tap (kh, kw) of every window: padded[n, oh * strideH + kh, ow * strideW + kw, c]. */
function windowTap(graph: Graph, padded: Node, kh: number, kw: number, strides: readonly [number, number], outHeight: number, outWidth: number): Node {
  const [batch, , , channels] = padded.shape as [number, number, number, number];
  const rows = (outHeight - 1) * strides[0] + 1;
  const columns = (outWidth - 1) * strides[1] + 1;
  const window = graph.slice(padded, [0, kh, kw, 0], [batch, rows, columns, channels]);
  return everyNth(graph, everyNth(graph, window, 1, strides[0], outHeight), 2, strides[1], outWidth);
}

/** Returns 1 where x is NaN and 0 elsewhere, in x's dtype. */
function nanMask(graph: Graph, x: Node): Node {
  return graph.sub(1, graph.cast(graph.equal(x, x), x.dtype));
}

/**
 * Returns dz at each window's first maximal element of x, the element that
 * maxPool2dGrad sends the window's gradient to, in maxPool2d's output shape.
 *
 * No op gathers by a computed index, so this walks the window taps in
 * row-major order. A tap matches where it is not padding and equals the
 * window's max (or both are NaN). A running sum of earlier matches keeps only
 * the first. This costs about 25 nodes per tap, and it is built only when a
 * gradient is taken through maxPool2dGrad, as in a second derivative of max
 * pooling.
 */
function gatherAtFirstMax(graph: Graph, x: Node, dz: Node, attrs: Pool2DAttrs): Node {
  const geometry = window2D(x.shape[1]!, x.shape[2]!, attrs.poolSize, attrs.strides, [1, 1], attrs.padding);
  const paddings = [[0, 0], [geometry.padTop, geometry.padBottom], [geometry.padLeft, geometry.padRight], [0, 0]] as const;
  const xPadded = graph.pad(x, paddings);
  const dzPadded = graph.pad(dz, paddings);
  const validPadded = graph.pad(graph.fill(1, x.shape, x.dtype), paddings);
  const windowMax = graph.maxPool2d(x, poolOptions(attrs));
  const maxIsNaN = nanMask(graph, windowMax);

  let matchedBefore: Node | undefined;
  let gathered: Node | undefined;
  for (let kh = 0; kh < attrs.poolSize[0]; kh++) {
    for (let kw = 0; kw < attrs.poolSize[1]; kw++) {
      const tap = (padded: Node) => windowTap(graph, padded, kh, kw, attrs.strides, geometry.outHeight, geometry.outWidth);
      const value = tap(xPadded);
      const equalsMax = graph.add(graph.cast(graph.equal(value, windowMax), x.dtype), graph.mul(nanMask(graph, value), maxIsNaN));
      const matches = graph.mul(equalsMax, tap(validPadded));
      const first = matchedBefore === undefined ? matches : graph.mul(matches, graph.sub(1, matchedBefore));
      matchedBefore = matchedBefore === undefined ? first : graph.add(matchedBefore, first);
      const picked = graph.where(graph.greater(first, 0), tap(dzPadded), 0);
      gathered = gathered === undefined ? picked : graph.add(gathered, picked);
    }
  }
  return gathered!;
}

// The ops.

export const convOps: { [K in WindowName]: OpDef<K> } = {
  // <conv2d(x, w), dy> = <x, conv2dBackpropInput(dy, w)> = <w, conv2dBackpropFilter(x, dy)>, so
  //   dx = conv2dBackpropInput(dy, w),  dw = conv2dBackpropFilter(x, dy).
  // conv2d is bilinear and has no kinks.
  conv2d: {
    arity: 2,
    attrs: (raw, site) => convAttrs(raw, site),
    infer: (inputs, attrs, site) => {
      const dtype = floatInputs(site, inputs);
      return { shape: convOutputShape(site, inputs[0]!.shape, inputs[1]!.shape, attrs), dtype };
    },
    evaluate: (inputs, attrs) => conv2dValues(inputs[0]!, inputs[1]!, attrs),
    grad: ({ graph, inputs, attrs, dy }) => {
      const [x, filter] = inputs as [Node, Node];
      return [graph.conv2dBackpropInput(dy, filter, x.shape, convOptions(attrs)), graph.conv2dBackpropFilter(x, dy, filter.shape, convOptions(attrs))];
    },
  },

  // z = conv2dBackpropInput(dy, w), with z of x's shape:
  // <z, dz> = <conv2d(dz, w), dy> = <w, conv2dBackpropFilter(dz, dy)>, so
  //   d/d(dy) = conv2d(dz, w),  d/dw = conv2dBackpropFilter(dz, dy).
  conv2dBackpropInput: {
    arity: 2,
    attrs: (raw, site) => ({ ...convAttrs(raw, site), inputShape: shapeAttr(site, 'inputShape', raw.inputShape, NHWC) }),
    infer: (inputs, attrs, site) => {
      const [dy, filter] = inputs as [TypeInfo, TypeInfo];
      const dtype = floatInputs(site, inputs);
      const expected = convOutputShape(site, attrs.inputShape, filter.shape, attrs, { x: 'inputShape', filter: 'filter' });
      requireShape(site, 'dy', dy.shape, expected, `the conv2d output for inputShape ${formatShape(attrs.inputShape)} and filter ${formatShape(filter.shape)}`);
      return { shape: attrs.inputShape, dtype };
    },
    evaluate: (inputs, attrs) => backpropInputValues(inputs[0]!, inputs[1]!, attrs),
    grad: ({ graph, inputs, attrs, dy: dz }) => {
      const [dy, filter] = inputs as [Node, Node];
      return [graph.conv2d(dz, filter, convOptions(attrs)), graph.conv2dBackpropFilter(dz, dy, filter.shape, convOptions(attrs))];
    },
  },

  // z = conv2dBackpropFilter(x, dy), with z of the filter's shape:
  // <z, dz> = <conv2d(x, dz), dy> = <x, conv2dBackpropInput(dy, dz)>, so
  //   d/dx = conv2dBackpropInput(dy, dz),  d/d(dy) = conv2d(x, dz).
  conv2dBackpropFilter: {
    arity: 2,
    attrs: (raw, site) => ({ ...convAttrs(raw, site), filterShape: shapeAttr(site, 'filterShape', raw.filterShape, HWIO) }),
    infer: (inputs, attrs, site) => {
      const [x, dy] = inputs as [TypeInfo, TypeInfo];
      const dtype = floatInputs(site, inputs);
      const expected = convOutputShape(site, x.shape, attrs.filterShape, attrs, { x: 'x', filter: 'filterShape' });
      requireShape(site, 'dy', dy.shape, expected, `the conv2d output for x ${formatShape(x.shape)} and filterShape ${formatShape(attrs.filterShape)}`);
      return { shape: attrs.filterShape, dtype };
    },
    evaluate: (inputs, attrs) => backpropFilterValues(inputs[0]!, inputs[1]!, attrs),
    grad: ({ graph, inputs, attrs, dy: dz }) => {
      const [x, dy] = inputs as [Node, Node];
      return [graph.conv2dBackpropInput(dy, dz, x.shape, convOptions(attrs)), graph.conv2d(x, dz, convOptions(attrs))];
    },
  },

  // dx = maxPool2dGrad(x, dy): each window's dy goes to its first maximal
  // element in row-major window order, and overlapping windows add up. At a
  // tie the first maximal element takes all of dy, as in TensorFlow's CPU
  // MaxPoolGrad kernel. This differs from the max reduction, which splits
  // ties evenly. A NaN counts as the maximum and takes the gradient, so a
  // numerical fault stays visible.
  maxPool2d: {
    arity: 1,
    attrs: (raw, site) => poolAttrs(raw, site),
    infer: (inputs, attrs, site) => {
      const dtype = floatInputs(site, inputs);
      return { shape: poolOutputShape(site, inputs[0]!.shape, attrs), dtype };
    },
    evaluate: (inputs, attrs) => maxPoolValues(inputs[0]!, attrs),
    grad: ({ graph, inputs, attrs, dy }) => [graph.addNode('maxPool2dGrad', [inputs[0]!, dy], poolOptions(attrs))],
  },

  // z = maxPool2dGrad(x, dy) = S(x)^T dy, where S(x) picks each window's first
  // maximal element of x. z is linear in dy, so d/d(dy) = S(x) dz: dz gathered
  // at the same elements. S(x) is piecewise constant in x, so d/dx is 0
  // almost everywhere. The rule returns no gradient for x, which the grad
  // pass reads as 0, as for leakyReluGrad.
  maxPool2dGrad: {
    arity: 2,
    attrs: (raw, site) => poolAttrs(raw, site),
    infer: (inputs, attrs, site) => {
      const [x, dy] = inputs as [TypeInfo, TypeInfo];
      const dtype = floatInputs(site, inputs);
      requireShape(site, 'dy', dy.shape, poolOutputShape(site, x.shape, attrs), `the maxPool2d output for x ${formatShape(x.shape)}`);
      return { shape: x.shape, dtype };
    },
    evaluate: (inputs, attrs) => maxPoolGradValues(inputs[0]!, inputs[1]!, attrs),
    grad: ({ graph, inputs, attrs, dy: dz }) => [undefined, gatherAtFirstMax(graph, inputs[0]!, dz, attrs)],
  },

  // avgPool2d is linear, y = A x, where A averages each window over the
  // elements inside the input. Padding is not counted, as in tf.nn.pool,
  // whose reduction never includes out-of-bounds positions.
  // dx = A^T dy = avgPool2dGrad(dy). No kinks.
  avgPool2d: {
    arity: 1,
    attrs: (raw, site) => poolAttrs(raw, site),
    infer: (inputs, attrs, site) => {
      const dtype = floatInputs(site, inputs);
      return { shape: poolOutputShape(site, inputs[0]!.shape, attrs), dtype };
    },
    evaluate: (inputs, attrs) => avgPoolValues(inputs[0]!, attrs),
    grad: ({ graph, inputs, attrs, dy }) => [graph.addNode('avgPool2dGrad', [dy], { ...poolOptions(attrs), inputShape: inputs[0]!.shape })],
  },

  // z = avgPool2dGrad(dy) = A^T dy, so d/d(dy) = A dz = avgPool2d(dz).
  avgPool2dGrad: {
    arity: 1,
    attrs: (raw, site) => ({ ...poolAttrs(raw, site), inputShape: shapeAttr(site, 'inputShape', raw.inputShape, NHWC) }),
    infer: (inputs, attrs, site) => {
      const dtype = floatInputs(site, inputs);
      const expected = poolOutputShape(site, attrs.inputShape, attrs, 'inputShape');
      requireShape(site, 'dy', inputs[0]!.shape, expected, `the avgPool2d output for inputShape ${formatShape(attrs.inputShape)}`);
      return { shape: attrs.inputShape, dtype };
    },
    evaluate: (inputs, attrs) => avgPoolGradValues(inputs[0]!, attrs),
    grad: ({ graph, attrs, dy: dz }) => [graph.avgPool2d(dz, poolOptions(attrs))],
  },
};
