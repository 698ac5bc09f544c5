// Progress reporting of fit, and the one-line text of an epoch's log.
// The terminal reporter, which needs Node, lives in progress-node.ts.

import type { DeadUnitRow } from './unit-analysis.ts';

/** Per-epoch results of fit. Accuracies are fractions in [0, 1]. */
export interface EpochLog {
  /** 1 for the first epoch. */
  epoch: number;
  /** Mean training loss over the epoch's batches, each measured before its update. */
  loss: number;
  /** Fraction of the epoch's training examples classified right while training (dropout active), as Keras reports it; absent without the accuracy metric. */
  trainAccuracy?: number;
  /** Mean loss over the validation set after the epoch; absent without validation data. */
  valLoss?: number;
  /** Accuracy over the validation set after the epoch. */
  valAccuracy?: number;
  /** Training examples per second of the epoch's training steps, validation excluded. */
  imagesPerSecond: number;
  /** Wall time of the epoch's training steps, in seconds. */
  seconds: number;
  /**
   * Per activation layer (a Dense or Conv2D layer with a relu-family
   * activation, or an activation layer), the number of units whose
   * pre-activation was never positive on any validation example: one unit per
   * Dense neuron, per conv channel (over every position). The dead-unit
   * analysis gives it, as deadUnitReport does.
   */
  deadUnits: Record<string, number>;
  /** Number of units of each layer in deadUnits. */
  units: Record<string, number>;
  /**
   * The dead-unit analysis of the validation set after the epoch, one row per
   * activation layer in the shape of `slope dead-units --json`: units, dead,
   * dying, sparsity and the gradient norm of the validation loss with respect
   * to the activation. Absent without validation data or with deadUnits false.
   */
  deadUnitReport?: { layers: DeadUnitRow[] };
  /** Mean over the epoch's steps of each layer's gradient L2 norm (all its params together). */
  gradNorms: Record<string, number>;
}

/** Receives fit's progress; every method is optional. */
export interface ProgressReporter {
  epochStart?(info: { epoch: number; epochs: number; steps: number }): void;
  /** Called after every step with the epoch's running mean loss and accuracy. */
  batchEnd?(info: { epoch: number; step: number; steps: number; loss: number; accuracy?: number }): void;
  epochEnd?(log: EpochLog, info: { epochs: number }): void;
}

function percent(fraction: number | undefined): string {
  return fraction === undefined ? '-' : `${(100 * fraction).toFixed(2)}%`;
}

/** Returns one line summarising an epoch: `epoch 2/5  loss 0.1234  train 96.10%  val 97.25%  1520 img/s`. */
export function formatEpochLog(log: EpochLog, epochs: number): string {
  const parts = [`epoch ${log.epoch}/${epochs}`, `loss ${log.loss.toFixed(4)}`];
  if (log.trainAccuracy !== undefined) parts.push(`train ${percent(log.trainAccuracy)}`);
  if (log.valLoss !== undefined) parts.push(`val loss ${log.valLoss.toFixed(4)}`);
  if (log.valAccuracy !== undefined) parts.push(`val ${percent(log.valAccuracy)}`);
  parts.push(`${Math.round(log.imagesPerSecond)} img/s`);
  const dead = Object.entries(log.deadUnits);
  if (dead.length > 0) parts.push(`dead ${dead.map(([layer, n]) => `${layer} ${n}/${log.units[layer]}`).join(', ')}`);
  return parts.join('  ');
}
