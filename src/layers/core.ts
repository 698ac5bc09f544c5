// Dense, Flatten and Dropout.

import { describeValue } from '../ops/check.ts';
import { resolveActivation } from '../graph/activation.ts';
import type { ActivationFn, ActivationSpec } from '../graph/activation.ts';
import type { Node } from '../graph/node.ts';
import { canonicalActivation } from './activations.ts';
import { LayerError } from './errors.ts';
import { Layer, positiveInteger } from './layer.ts';
import type { ConfigValue, Initializer, LayerContext } from './layer.ts';

export interface DenseOptions {
  units: number;
  /** A name, an activation layer or a callable; defaults to 'linear'. */
  activation?: ActivationSpec;
  /** Defaults to true. */
  useBias?: boolean;
  /** Defaults to 'glorotUniform', as in Keras. */
  kernelInitializer?: Initializer;
  /** Defaults to 'zeros'. */
  biasInitializer?: Initializer;
  name?: string;
}

/**
 * activation(x · kernel + bias), with kernel of shape [inputs, units]. The
 * product, bias and activation compile to one fused kernel.
 */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly namePrefix = 'dense';
  readonly units: number;
  readonly activation: ActivationSpec;
  readonly useBias: boolean;
  readonly kernelInitializer: Initializer;
  readonly biasInitializer: Initializer;
  private readonly activationFn: ActivationFn;

  constructor(options: DenseOptions) {
    super(options?.name);
    this.units = positiveInteger(options?.units, 'units', 'Dense');
    this.activation = options.activation ?? 'linear';
    // Resolved now, so an unknown name fails where the model is written.
    this.activationFn = resolveActivation(this.activation, `Dense ${this.label}`);
    this.useBias = options.useBias ?? true;
    this.kernelInitializer = options.kernelInitializer ?? 'glorotUniform';
    this.biasInitializer = options.biasInitializer ?? 'zeros';
  }

  call(x: Node, context: LayerContext): Node {
    if (x.rank < 2) throw new LayerError(`Error in Dense ${this.label}: expected an input with a feature axis, got shape [${x.shape.slice(1).join(',')}] per example`);
    const inputs = x.shape[x.rank - 1]!;
    const kernel = context.param('kernel', [inputs, this.units], this.kernelInitializer);
    const bias = this.useBias ? context.param('bias', [this.units], this.biasInitializer) : undefined;
    const preActivation = x.matmul(kernel, bias === undefined ? {} : { bias });
    context.recordUnits(preActivation);
    return this.activationFn(preActivation);
  }

  getConfig(): Record<string, ConfigValue> {
    return {
      units: this.units,
      activation: { ...canonicalActivation(this.activation, `Dense ${this.label}`) },
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
    };
  }
}

/** Reshapes each example to one axis: [batch, ...] to [batch, features]. */
export class Flatten extends Layer {
  readonly className = 'Flatten';
  readonly namePrefix = 'flatten';

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  call(x: Node): Node {
    return x.reshape([x.shape[0]!, -1]);
  }

  getConfig(): Record<string, ConfigValue> {
    return {};
  }
}

/**
 * Inverted dropout: in a training step, each element is zeroed with
 * probability `rate` and the rest are scaled by 1 / (1 - rate), so inference
 * is the identity. The mask comes from a uniform random input that training
 * feeds at every step from a seeded generator, so a seeded run is
 * reproducible.
 */
export class Dropout extends Layer {
  readonly className = 'Dropout';
  readonly namePrefix = 'dropout';
  readonly rate: number;

  constructor(options: { rate: number; name?: string }) {
    super(options?.name);
    const rate = options?.rate;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
      throw new LayerError(`Error in Dropout: rate must be a number in [0, 1), got ${describeValue(rate)}`);
    }
    this.rate = rate;
  }

  call(x: Node, context: LayerContext): Node {
    if (!context.training || this.rate === 0) return x;
    const noise = context.uniformNoise('noise', x.shape.slice(1));
    const keep = noise.greaterEqual(this.rate);
    return x.graph.where(keep, x.mul(1 / (1 - this.rate)), 0);
  }

  getConfig(): Record<string, ConfigValue> {
    return { rate: this.rate };
  }
}
