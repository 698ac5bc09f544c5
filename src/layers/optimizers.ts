// Optimizers as graph builders. An optimizer turns each param and its
// gradient into the node of the param's next value. compile() runs those
// updates with every training step, so one executable does the forward
// pass, the backward pass and the update. Optimizer state (momentum
// velocities, Adam's moments and step count) lives in params of its own,
// which the step updates the same way.

import { describeValue } from '../ops/check.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import type { ParamUpdate } from '../runtime/executable.ts';
import { LayerError } from './errors.ts';

/** Returns a zero-initialised state param, named after the param it serves. */
export type StateFactory = (name: string, shape: Shape) => Node;

export interface Optimizer {
  readonly className: string;
  /** Returns the update of every param and of every state param it created. */
  updates(params: readonly Node[], grads: readonly Node[], createState: StateFactory): ParamUpdate[];
  getConfig(): Record<string, number | boolean>;
}

/**
 * Returns the learning rate of the step whose 1-based count is `step`,
 * with inverse-time decay as Keras 2 optimizers applied their `decay`
 * option: lr / (1 + decay * (step - 1)).
 */
function decayedRate(learningRate: number, decay: number, step: Node): Node | number {
  if (decay === 0) return learningRate;
  return step.sub(1).mul(decay).add(1).reciprocal().mul(learningRate);
}

function checkRate(value: number, option: string, where: string, range: { min: number; max?: number; maxExclusive?: boolean }): number {
  const { min, max, maxExclusive } = range;
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && (max === undefined || (maxExclusive ? value < max : value <= max));
  if (!ok) {
    const upper = max === undefined ? '' : `, at most ${max}${maxExclusive ? ' (exclusive)' : ''}`;
    throw new LayerError(`Error in ${where}: ${option} must be a finite number of at least ${min}${upper}, got ${describeValue(value)}`);
  }
  return value;
}

export interface SGDOptions {
  /** Defaults to 0.01, as in Keras. */
  learningRate?: number;
  /** Momentum in [0, 1); defaults to 0 (plain gradient descent). */
  momentum?: number;
  /** Nesterov momentum; defaults to false. */
  nesterov?: boolean;
  /** Inverse-time decay of the learning rate per step, lr / (1 + decay * (step - 1)); defaults to 0 (constant). */
  decay?: number;
}

/**
 * Stochastic gradient descent, with Keras's momentum formulation:
 *   v' = momentum * v - lr * g
 *   w' = w + v'                         (classic)
 *   w' = w + momentum * v' - lr * g     (Nesterov)
 * with lr decayed per step when `decay` is set.
 */
export class SGD implements Optimizer {
  readonly className = 'SGD';
  readonly learningRate: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly decay: number;

  constructor(options: SGDOptions = {}) {
    this.learningRate = checkRate(options.learningRate ?? 0.01, 'learningRate', 'SGD', { min: 0 });
    this.momentum = checkRate(options.momentum ?? 0, 'momentum', 'SGD', { min: 0, max: 1, maxExclusive: true });
    this.nesterov = options.nesterov ?? false;
    this.decay = checkRate(options.decay ?? 0, 'decay', 'SGD', { min: 0 });
  }

  updates(params: readonly Node[], grads: readonly Node[], createState: StateFactory): ParamUpdate[] {
    const updates: ParamUpdate[] = [];
    let rate: Node | number = this.learningRate;
    if (this.decay > 0) {
      const count = createState('sgd/step', []);
      const nextCount = count.add(1);
      rate = decayedRate(this.learningRate, this.decay, nextCount);
      updates.push({ param: count, value: nextCount });
    }
    params.forEach((param, i) => {
      const step = grads[i]!.mul(rate);
      if (this.momentum === 0) {
        updates.push({ param, value: param.sub(step) });
        return;
      }
      const velocity = createState(`${param.name}/velocity`, param.shape);
      const nextVelocity = velocity.mul(this.momentum).sub(step);
      const value = this.nesterov ? param.add(nextVelocity.mul(this.momentum)).sub(step) : param.add(nextVelocity);
      updates.push({ param, value }, { param: velocity, value: nextVelocity });
    });
    return updates;
  }

  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, momentum: this.momentum, nesterov: this.nesterov, decay: this.decay };
  }
}

export interface AdamOptions {
  /** Defaults to 0.001. */
  learningRate?: number;
  /** Decay of the first moment; defaults to 0.9. */
  beta1?: number;
  /** Decay of the second moment; defaults to 0.999. */
  beta2?: number;
  /** Defaults to 1e-7, as in Keras (PyTorch uses 1e-8). */
  epsilon?: number;
  /** Inverse-time decay of the learning rate per step, lr / (1 + decay * (t - 1)); defaults to 0 (constant). */
  decay?: number;
}

/**
 * Adam (Kingma and Ba, 2015), in the form Keras uses, with t counted from 1:
 *   m' = beta1 * m + (1 - beta1) * g
 *   v' = beta2 * v + (1 - beta2) * g^2
 *   w' = w - lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m' / (sqrt(v') + epsilon)
 * with lr decayed per step when `decay` is set.
 */
export class Adam implements Optimizer {
  readonly className = 'Adam';
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly decay: number;

  constructor(options: AdamOptions = {}) {
    this.learningRate = checkRate(options.learningRate ?? 0.001, 'learningRate', 'Adam', { min: 0 });
    this.beta1 = checkRate(options.beta1 ?? 0.9, 'beta1', 'Adam', { min: 0, max: 1, maxExclusive: true });
    this.beta2 = checkRate(options.beta2 ?? 0.999, 'beta2', 'Adam', { min: 0, max: 1, maxExclusive: true });
    this.epsilon = checkRate(options.epsilon ?? 1e-7, 'epsilon', 'Adam', { min: 0 });
    this.decay = checkRate(options.decay ?? 0, 'decay', 'Adam', { min: 0 });
  }

  updates(params: readonly Node[], grads: readonly Node[], createState: StateFactory): ParamUpdate[] {
    const step = createState('adam/step', []);
    const nextStep = step.add(1);
    const graph = step.graph;
    const correction = graph.sqrt(graph.sub(1, graph.pow(this.beta2, nextStep))).div(graph.sub(1, graph.pow(this.beta1, nextStep)));
    const rate = correction.mul(decayedRate(this.learningRate, this.decay, nextStep));

    const updates: ParamUpdate[] = [{ param: step, value: nextStep }];
    params.forEach((param, i) => {
      const g = grads[i]!;
      const m = createState(`${param.name}/m`, param.shape);
      const v = createState(`${param.name}/v`, param.shape);
      const nextM = m.mul(this.beta1).add(g.mul(1 - this.beta1));
      const nextV = v.mul(this.beta2).add(g.square().mul(1 - this.beta2));
      const value = param.sub(nextM.mul(rate).div(nextV.sqrt().add(this.epsilon)));
      updates.push({ param, value }, { param: m, value: nextM }, { param: v, value: nextV });
    });
    return updates;
  }

  getConfig(): Record<string, number | boolean> {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, decay: this.decay };
  }
}

/** Returns an optimizer with default options by name: 'sgd' or 'adam'. */
export function optimizerByName(name: string): Optimizer {
  switch (name.toLowerCase()) {
    case 'sgd':
      return new SGD();
    case 'adam':
      return new Adam();
    default:
      throw new LayerError(`Error in compile: unknown optimizer ${JSON.stringify(name)}; known optimizers: sgd, adam, or an instance of SGD or Adam`);
  }
}
