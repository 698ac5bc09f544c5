// Conv2D and the 2-D pooling layers, on NHWC images with HWIO filters.

import { describeValue } from '../ops/check.ts';
import { resolveActivation } from '../graph/activation.ts';
import type { ActivationFn, ActivationSpec } from '../graph/activation.ts';
import type { Node } from '../graph/node.ts';
import type { Padding2D } from '../ops/attrs.ts';
import { canonicalActivation } from './activations.ts';
import { LayerError } from './errors.ts';
import { Layer, positiveInteger, positivePair } from './layer.ts';
import type { ConfigValue, Initializer, LayerContext } from './layer.ts';

/** A size or stride given as one number for both axes, or as [height, width]. */
export type Size2D = number | readonly [number, number];

function checkPadding(padding: unknown, where: string): Padding2D {
  if (padding === 'same' || padding === 'valid') return padding;
  const valid =
    Array.isArray(padding) &&
    padding.length === 2 &&
    padding.every((axis) => Array.isArray(axis) && axis.length === 2 && axis.every((p) => Number.isInteger(p) && p >= 0));
  if (!valid) throw new LayerError(`Error in ${where}: padding must be 'same', 'valid' or [[top, bottom], [left, right]], got ${describeValue(padding)}`);
  return padding as unknown as Padding2D;
}

function requireImages(x: Node, where: string): void {
  if (x.rank !== 4) {
    throw new LayerError(`Error in ${where}: expected images of shape [height, width, channels] per example, got [${x.shape.slice(1).join(',')}]`);
  }
}

export interface Conv2DOptions {
  filters: number;
  kernelSize: Size2D;
  /** Defaults to 1. */
  strides?: Size2D;
  /** Defaults to 'valid', as in Keras. */
  padding?: Padding2D;
  /** Dilation rate of the filter; defaults to 1. */
  dilation?: Size2D;
  /** Defaults to true. */
  useBias?: boolean;
  /** A name, an activation layer or a callable; defaults to 'linear'. */
  activation?: ActivationSpec;
  /** Defaults to 'glorotUniform', as in Keras. */
  kernelInitializer?: Initializer;
  /** Defaults to 'zeros'. */
  biasInitializer?: Initializer;
  name?: string;
}

/**
 * activation(conv2d(x, kernel) + bias), with an HWIO kernel of shape
 * [kernelHeight, kernelWidth, inputChannels, filters]. The convolution, bias
 * and activation compile to one fused kernel.
 */
export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly namePrefix = 'conv2d';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding2D;
  readonly dilation: [number, number];
  readonly useBias: boolean;
  readonly activation: ActivationSpec;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  private readonly activationFn: ActivationFn;

  constructor(options: Conv2DOptions) {
    super(options?.name);
    this.filters = positiveInteger(options?.filters, 'filters', 'Conv2D');
    this.kernelSize = positivePair(options.kernelSize, 'kernelSize', 'Conv2D');
    this.strides = positivePair(options.strides ?? 1, 'strides', 'Conv2D');
    this.padding = checkPadding(options.padding ?? 'valid', 'Conv2D');
    this.dilation = positivePair(options.dilation ?? 1, 'dilation', 'Conv2D');
    this.useBias = options.useBias ?? true;
    this.activation = options.activation ?? 'linear';
    this.activationFn = resolveActivation(this.activation, `Conv2D ${this.label}`);
    this.kernelInitializer = options.kernelInitializer ?? 'glorotUniform';
    this.biasInitializer = options.biasInitializer ?? 'zeros';
  }

  call(x: Node, context: LayerContext): Node {
    requireImages(x, `Conv2D ${this.label}`);
    const channels = x.shape[3]!;
    const kernel = context.param('kernel', [...this.kernelSize, channels, this.filters], this.kernelInitializer);
    const bias = this.useBias ? context.param('bias', [this.filters], this.biasInitializer) : undefined;
    const options = { strides: this.strides, padding: this.padding, dilations: this.dilation };
    const preActivation = x.conv2d(kernel, bias === undefined ? options : { ...options, bias });
    context.recordUnits(preActivation);
    return this.activationFn(preActivation);
  }

  getConfig(): Record<string, ConfigValue> {
    return {
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding as ConfigValue,
      dilation: this.dilation,
      useBias: this.useBias,
      activation: { ...canonicalActivation(this.activation, `Conv2D ${this.label}`) },
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
  }
}

export interface Pooling2DOptions {
  /** Defaults to 2. */
  poolSize?: Size2D;
  /** Defaults to the pool size, as in Keras. */
  strides?: Size2D;
  /** Defaults to 'valid'. */
  padding?: Padding2D;
  name?: string;
}

abstract class Pooling2D extends Layer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding2D;

  constructor(options: Pooling2DOptions, where: string) {
    super(options.name);
    this.poolSize = positivePair(options.poolSize ?? 2, 'poolSize', where);
    this.strides = positivePair(options.strides ?? this.poolSize, 'strides', where);
    this.padding = checkPadding(options.padding ?? 'valid', where);
  }

  getConfig(): Record<string, ConfigValue> {
    return { poolSize: this.poolSize, strides: this.strides, padding: this.padding as ConfigValue };
  }
}

/** The maximum of each window; its gradient goes to the window's first maximal element. */
export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  readonly namePrefix = 'max_pooling2d';

  constructor(options: Pooling2DOptions = {}) {
    super(options, 'MaxPooling2D');
  }

  call(x: Node): Node {
    requireImages(x, `MaxPooling2D ${this.label}`);
    return x.maxPool2d({ poolSize: this.poolSize, strides: this.strides, padding: this.padding });
  }
}

/** The mean of each window's valid elements. */
export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  readonly namePrefix = 'average_pooling2d';

  constructor(options: Pooling2DOptions = {}) {
    super(options, 'AveragePooling2D');
  }

  call(x: Node): Node {
    requireImages(x, `AveragePooling2D ${this.label}`);
    return x.avgPool2d({ poolSize: this.poolSize, strides: this.strides, padding: this.padding });
  }
}
