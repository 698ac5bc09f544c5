// Activation layers (ReLU, LeakyReLU, ELU, Activation) and the canonical,
// saved form of an activation.
//
// An activation reaches a layer as a name, an activation layer or a callable.
// A saved model writes each one as `{ name, alpha? }` with a canonical name and
// every parameter spelled out, so the file means the same thing whichever
// defaults its reader has:
//
//   'relu'                      -> { name: 'relu' }
//   'leaky_relu', 'leakyRelu'   -> { name: 'leaky_relu', alpha: 0.2 }  (the op's default)
//   new LeakyReLU()             -> { name: 'leaky_relu', alpha: 0.3 }  (the layer's default)
//   'elu', new ELU()            -> { name: 'elu', alpha: 1 }
//   a registered callable       -> { name: <its registered name> }
//
// Loading accepts all of these forms back, and Keras's
// `{ class_name: 'LeakyReLU', config: { alpha } }` too.

import { describeValue } from '../ops/check.ts';
import { LEAKY_RELU_DEFAULT_ALPHA, registeredActivationName, resolveActivation } from '../graph/activation.ts';
import type { ActivationFn, ActivationSpec } from '../graph/activation.ts';
import type { Node } from '../graph/node.ts';
import { LayerError, SerializationError } from './errors.ts';
import { Layer } from './layer.ts';
import type { ConfigValue } from './layer.ts';

/** Default alpha of the LeakyReLU layer, as in Keras (keras.layers.LeakyReLU); the op leakyRelu defaults to 0.2. */
export const LEAKY_RELU_LAYER_DEFAULT_ALPHA = 0.3;

/** Default alpha of elu, the op and the ELU layer alike. */
export const ELU_DEFAULT_ALPHA = 1;

/** An activation in its saved form: a canonical name and its parameters. */
export interface ActivationConfig {
  name: string;
  alpha?: number;
}

/** Canonical name of each built-in activation name. */
const CANONICAL_NAMES: Readonly<Record<string, string>> = {
  linear: 'linear',
  relu: 'relu',
  leaky_relu: 'leaky_relu',
  leakyRelu: 'leaky_relu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  elu: 'elu',
  softplus: 'softplus',
  softmax: 'softmax',
};

function finiteAlpha(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new LayerError(`Error in ${where}: alpha must be a finite number, got ${describeValue(value)}`);
  return value;
}

/** An activation layer: a layer without params that can also be passed as another layer's `activation`. */
export abstract class ActivationLayer extends Layer {
  /** Applies the activation to x; this is what makes the layer usable as an `activation` option. */
  abstract apply(x: Node): Node;

  /** Returns the activation in its canonical saved form. */
  abstract activationConfig(): ActivationConfig;

  call(x: Node): Node {
    return this.apply(x);
  }
}

/** relu(x) = max(x, 0), with relu'(0) = 0. */
export class ReLU extends ActivationLayer {
  readonly className = 'ReLU';
  readonly namePrefix = 're_lu';

  constructor(options: { name?: string } = {}) {
    super(options.name);
  }

  apply(x: Node): Node {
    return x.relu();
  }

  activationConfig(): ActivationConfig {
    return { name: 'relu' };
  }

  getConfig(): Record<string, ConfigValue> {
    return {};
  }
}

/**
 * leakyRelu(x) = x where x > 0, else alpha * x. The layer's alpha defaults to
 * 0.3, as in Keras; the op `leakyRelu` and the name 'leaky_relu' default to
 * 0.2. `negativeSlope` (the Keras 3 and PyTorch name) is accepted as an alias
 * of `alpha`.
 */
export class LeakyReLU extends ActivationLayer {
  readonly className = 'LeakyReLU';
  readonly namePrefix = 'leaky_re_lu';
  readonly alpha: number;

  constructor(options: { alpha?: number; negativeSlope?: number; name?: string } = {}) {
    super(options.name);
    const { alpha, negativeSlope } = options;
    if (alpha !== undefined && negativeSlope !== undefined && alpha !== negativeSlope) {
      throw new LayerError(`Error in LeakyReLU: alpha ${alpha} and negativeSlope ${negativeSlope} differ; they are two names of one option, so pass only one`);
    }
    this.alpha = finiteAlpha(alpha ?? negativeSlope ?? LEAKY_RELU_LAYER_DEFAULT_ALPHA, 'LeakyReLU');
  }

  apply(x: Node): Node {
    return x.leakyRelu(this.alpha);
  }

  activationConfig(): ActivationConfig {
    return { name: 'leaky_relu', alpha: this.alpha };
  }

  getConfig(): Record<string, ConfigValue> {
    return { alpha: this.alpha };
  }
}

/** elu(x) = x where x > 0, else alpha * (exp(x) - 1); alpha defaults to 1. */
export class ELU extends ActivationLayer {
  readonly className = 'ELU';
  readonly namePrefix = 'elu';
  readonly alpha: number;

  constructor(options: { alpha?: number; name?: string } = {}) {
    super(options.name);
    this.alpha = finiteAlpha(options.alpha ?? ELU_DEFAULT_ALPHA, 'ELU');
  }

  apply(x: Node): Node {
    return x.elu(this.alpha);
  }

  activationConfig(): ActivationConfig {
    return { name: 'elu', alpha: this.alpha };
  }

  getConfig(): Record<string, ConfigValue> {
    return { alpha: this.alpha };
  }
}

/** Applies an activation given in any form: a name, an activation layer or a callable. */
export class Activation extends ActivationLayer {
  readonly className = 'Activation';
  readonly namePrefix = 'activation';
  readonly activation: ActivationSpec;
  private readonly fn: ActivationFn;

  constructor(activation: ActivationSpec, options: { name?: string } = {}) {
    super(options.name);
    this.fn = resolveActivation(activation, 'Activation');
    this.activation = activation;
  }

  apply(x: Node): Node {
    return this.fn(x);
  }

  activationConfig(): ActivationConfig {
    return canonicalActivation(this.activation, `Activation layer ${this.label}`);
  }

  getConfig(): Record<string, ConfigValue> {
    return { activation: { ...this.activationConfig() } };
  }
}

/**
 * Returns an activation in its canonical saved form. `where` names the layer
 * in errors. Raises UnknownActivationError for an unknown name and
 * SerializationError for a callable or object that has no saved form: a
 * callable needs registerActivation(name, fn) first.
 */
export function canonicalActivation(spec: ActivationSpec, where: string): ActivationConfig {
  if (typeof spec === 'string') {
    const canonical = Object.hasOwn(CANONICAL_NAMES, spec) ? CANONICAL_NAMES[spec]! : undefined;
    if (canonical === 'leaky_relu') return { name: canonical, alpha: LEAKY_RELU_DEFAULT_ALPHA };
    if (canonical === 'elu') return { name: canonical, alpha: ELU_DEFAULT_ALPHA };
    if (canonical !== undefined) return { name: canonical };
    resolveActivation(spec, where); // raises UnknownActivationError unless the name is registered
    return { name: spec };
  }
  if (spec instanceof ActivationLayer) return spec.activationConfig();
  if (typeof spec === 'function') {
    const name = registeredActivationName(spec);
    if (name !== undefined) return { name };
    throw new SerializationError(
      `Error in ${where}: its activation is a callable that was not registered, so the model cannot be saved. ` +
        `Register it first with registerActivation('name', fn), or use a name or an activation layer such as new LeakyReLU({ alpha }).`,
    );
  }
  throw new SerializationError(
    `Error in ${where}: its activation is an object with apply() that is not an activation layer, so the model cannot be saved. ` +
      `Use a name, an activation layer such as new LeakyReLU({ alpha }), or a callable registered with registerActivation('name', fn).`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the slope of a leaky ReLU in a saved config, under any of its names. */
function savedAlpha(config: Record<string, unknown>, fallback: number, where: string): number {
  const given = ['alpha', 'negativeSlope', 'negative_slope'].filter((key) => config[key] !== undefined && config[key] !== null);
  const values = new Set(given.map((key) => config[key]));
  if (values.size > 1) throw new SerializationError(`Error in ${where}: ${given.join(' and ')} are names of one option but have different values`);
  return given.length === 0 ? fallback : finiteAlpha(config[given[0]!], where);
}

/**
 * Returns the activation a saved config describes, as a spec a layer
 * accepts. Accepts every form that canonicalActivation writes, every
 * built-in and registered name as a plain string, and Keras's
 * `{ class_name, config }` objects of ReLU, LeakyReLU, ELU and Activation. A
 * name keeps its function's default (leaky_relu: 0.2), a LeakyReLU class its
 * layer default (0.3). Raises UnknownActivationError for an unknown name.
 */
export function activationFromConfig(value: unknown, where: string): ActivationSpec {
  if (typeof value === 'string') {
    resolveActivation(value, where);
    return value;
  }
  if (!isRecord(value)) {
    throw new SerializationError(`Error in ${where}: an activation must be a name or an object { name, alpha }, got ${describeValue(value)}`);
  }

  const className = value['class_name'] ?? value['className'];
  if (className !== undefined) {
    const config = isRecord(value['config']) ? value['config'] : {};
    switch (className) {
      case 'ReLU':
        return new ReLU();
      case 'LeakyReLU':
        return new LeakyReLU({ alpha: savedAlpha(config, LEAKY_RELU_LAYER_DEFAULT_ALPHA, where) });
      case 'ELU':
        return new ELU({ alpha: savedAlpha(config, ELU_DEFAULT_ALPHA, where) });
      case 'Activation':
        return activationFromConfig(config['activation'], where);
      default:
        throw new SerializationError(`Error in ${where}: unknown activation class ${JSON.stringify(className)}; known classes: ReLU, LeakyReLU, ELU, Activation`);
    }
  }

  const name = value['name'];
  if (typeof name !== 'string') throw new SerializationError(`Error in ${where}: an activation object needs a string name, got ${describeValue(value)}`);
  resolveActivation(name, where);
  const canonical = Object.hasOwn(CANONICAL_NAMES, name) ? CANONICAL_NAMES[name] : undefined;
  if (canonical === 'leaky_relu') return new LeakyReLU({ alpha: savedAlpha(value, LEAKY_RELU_DEFAULT_ALPHA, where) });
  if (canonical === 'elu') return new ELU({ alpha: savedAlpha(value, ELU_DEFAULT_ALPHA, where) });
  return name;
}
