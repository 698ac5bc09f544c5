// The attributes of every op, by op name. This interface is the list of ops:
// `OpName` is its keys, and the registry is typed over it, so an op without a
// definition, a gradient rule or a builder fails to compile.

import type { DType } from '../graph/dtype.ts';
import type { InitSpec } from '../graph/init.ts';

type None = Record<string, never>;

/** Explicit padding of a 2-D window op: [[top, bottom], [left, right]]. */
export type Padding2D = 'same' | 'valid' | readonly [readonly [number, number], readonly [number, number]];

export interface Conv2DAttrs {
  strides: readonly [number, number];
  padding: Padding2D;
  dilations: readonly [number, number];
}

export interface Pool2DAttrs {
  poolSize: readonly [number, number];
  strides: readonly [number, number];
  padding: Padding2D;
}

export interface ReduceAttrs {
  axes: readonly number[];
  keepDims: boolean;
}

export interface OpAttrs {
  // sources
  input: { shape: readonly number[]; dtype: DType };
  param: { shape: readonly number[]; dtype: DType; init: InitSpec };
  /** A constant; `value` has the shape's size. */
  constant: { shape: readonly number[]; dtype: DType; value: Float64Array };

  // elementwise unary
  neg: None;
  abs: None;
  sign: None;
  exp: None;
  log: None;
  sqrt: None;
  square: None;
  reciprocal: None;
  tanh: None;
  sigmoid: None;
  relu: None;
  leakyRelu: { alpha: number };
  elu: { alpha: number };
  softplus: None;
  stopGradient: None;
  cast: { dtype: DType };

  // elementwise binary and ternary, numpy broadcasting
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  maximum: None;
  minimum: None;
  greater: None;
  greaterEqual: None;
  less: None;
  equal: None;
  where: None;
  prelu: None;
  /** The gradient of leakyRelu: inputs (x, dy); dy where x > 0, alpha * dy elsewhere, NaN where x is NaN. */
  leakyReluGrad: { alpha: number };

  // reductions
  sum: ReduceAttrs;
  mean: ReduceAttrs;
  max: ReduceAttrs;
  min: ReduceAttrs;
  argmax: { axis: number };

  // linear algebra and data movement
  matmul: { transposeA: boolean; transposeB: boolean };
  transpose: { perm: readonly number[] };
  reshape: { shape: readonly number[] };
  broadcastTo: { shape: readonly number[] };
  slice: { begin: readonly number[]; size: readonly number[] };
  concat: { axis: number };
  pad: { paddings: readonly (readonly [number, number])[]; value: number };
  oneHot: { depth: number };

  // convolution and pooling, NHWC activations and HWIO filters
  conv2d: Conv2DAttrs;
  /** Inputs (dy, filter); the gradient of conv2d with respect to its input. */
  conv2dBackpropInput: Conv2DAttrs & { inputShape: readonly number[] };
  /** Inputs (x, dy); the gradient of conv2d with respect to its filter. */
  conv2dBackpropFilter: Conv2DAttrs & { filterShape: readonly number[] };
  maxPool2d: Pool2DAttrs;
  /** Inputs (x, dy); routes each window's gradient to its first maximal element. */
  maxPool2dGrad: Pool2DAttrs;
  avgPool2d: Pool2DAttrs;
  /** Input (dy); spreads each window's gradient evenly over the window's valid elements. */
  avgPool2dGrad: Pool2DAttrs & { inputShape: readonly number[] };

  // neural-network helpers
  softmax: { axis: number };
  logSoftmax: { axis: number };
  /** Inputs (logits, labels); per-example loss over the last axis. Labels are one-hot floats or int32 class indices. */
  softmaxCrossEntropy: None;
  /** Inputs (predictions, targets); the mean of the squared differences, a scalar. */
  meanSquaredError: None;
}

export type OpName = keyof OpAttrs;
