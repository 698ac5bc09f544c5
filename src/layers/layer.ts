// The base class of layers and the context a layer builds its nodes in.
//
// A layer is a recipe: `call(x, context)` appends the nodes of its forward
// pass to x's graph and requests its params from the context. The model calls
// every layer once per graph it builds (a training step, an inference
// executable, a shape trace), so a layer never holds nodes itself. Shapes
// given to and taken from layers are per example, without the batch axis.

import { describeValue } from '../ops/check.ts';
import type { InitSpec } from '../graph/init.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import { LayerError } from './errors.ts';

/**
 * An initializer without its seed: the model gives each param its own seed,
 * derived from the model's seed and the param's position.
 */
export type Initializer =
  | 'zeros'
  | 'ones'
  | 'heNormal'
  | 'heUniform'
  | 'glorotUniform'
  | { kind: 'constant'; value: number }
  | { kind: 'normal'; mean: number; std: number }
  | { kind: 'uniform'; low: number; high: number };

const SEEDED_KINDS = new Set(['heNormal', 'heUniform', 'glorotUniform', 'normal', 'uniform']);

/** Returns the full init spec of an initializer with the given seed; raises LayerError for an unknown initializer. */
export function initSpec(initializer: Initializer, seed: number, where: string): InitSpec {
  const kind = typeof initializer === 'string' ? initializer : initializer?.kind;
  switch (kind) {
    case 'zeros':
    case 'ones':
      return { kind };
    case 'heNormal':
    case 'heUniform':
    case 'glorotUniform':
      return { kind, seed };
  }
  if (typeof initializer === 'object' && initializer !== null) {
    const numbers = Object.entries(initializer).filter(([key]) => key !== 'kind');
    for (const [key, value] of numbers) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new LayerError(`Error in ${where}: initializer ${key} must be a finite number, got ${String(value)}`);
    }
    if (initializer.kind === 'constant') return { kind: 'constant', value: initializer.value };
    if (initializer.kind === 'normal') return { kind: 'normal', seed, mean: initializer.mean, std: initializer.std };
    if (initializer.kind === 'uniform') return { kind: 'uniform', seed, low: initializer.low, high: initializer.high };
  }
  throw new LayerError(
    `Error in ${where}: unknown initializer ${JSON.stringify(initializer)}; use zeros, ones, heNormal, heUniform, glorotUniform, ` +
      `or { kind: 'constant', value }, { kind: 'normal', mean, std }, { kind: 'uniform', low, high }`,
  );
}

/** Returns whether an initializer draws random values and so needs a seed. */
export function isSeeded(initializer: Initializer): boolean {
  return SEEDED_KINDS.has(typeof initializer === 'string' ? initializer : initializer.kind);
}

/** The services the model offers a layer while the layer builds its nodes. */
export interface LayerContext {
  /** True in a training step: dropout is active. */
  readonly training: boolean;
  /** Returns the layer's param `localName` (created as `layerName/localName`), of this shape. */
  param(localName: string, shape: Shape, initializer: Initializer): Node;
  /**
   * Returns a float32 input of the given per-example shape (batch axis
   * added), fed with values uniform in [0, 1) drawn from a seeded generator
   * at every step.
   */
  uniformNoise(localName: string, shape: Shape): Node;
  /**
   * Records the pre-activation of the layer's units, with units on the last
   * axis, for counting units that are never positive.
   */
  recordUnits(preActivation: Node): void;
}

/** A JSON value of a layer's configuration. */
export type ConfigValue = string | number | boolean | null | readonly ConfigValue[] | { readonly [key: string]: ConfigValue };

/** A layer as saved: its class name and its configuration, with every option spelled out. */
export interface LayerConfig {
  className: string;
  config: { name: string; [key: string]: ConfigValue };
}

export abstract class Layer {
  /** The class name written to saved models, as Keras names the layer. */
  abstract readonly className: string;
  /** The layer's name, unique in its model; the model assigns one when none is given. */
  name: string | undefined;

  constructor(name?: string) {
    if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.includes('/'))) {
      throw new LayerError(`Error in layer: invalid name ${JSON.stringify(name)}; a layer name is a non-empty string without '/'`);
    }
    this.name = name;
  }

  /** Appends the layer's forward pass on x (batch axis first) to x's graph. */
  abstract call(x: Node, context: LayerContext): Node;

  /**
   * Returns the layer's options, every one spelled out, as JSON values.
   * Raises a SerializationError when an option cannot be saved, such as an
   * activation given as an unregistered callable.
   */
  abstract getConfig(): Record<string, ConfigValue>;

  /** The prefix of the names the model gives layers of this class: 'dense' gives dense_1, dense_2. */
  abstract readonly namePrefix: string;

  /** The name, or a placeholder for error messages before the model named the layer. */
  get label(): string {
    return this.name ?? `(unnamed ${this.className})`;
  }
}

/** Returns a positive integer option unchanged; raises LayerError naming the layer and option otherwise. */
export function positiveInteger(value: unknown, option: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new LayerError(`Error in ${where}: ${option} must be a positive integer, got ${describeValue(value)}`);
  }
  return value;
}

/** Returns a pair option given as one number or two; raises LayerError unless both are positive integers. */
export function positivePair(value: unknown, option: string, where: string): [number, number] {
  if (typeof value === 'number') return [positiveInteger(value, option, where), value];
  if (Array.isArray(value) && value.length === 2) {
    return [positiveInteger(value[0], option, where), positiveInteger(value[1], option, where)];
  }
  throw new LayerError(`Error in ${where}: ${option} must be a positive integer or a pair of them, got ${describeValue(value)}`);
}
