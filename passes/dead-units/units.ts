// The units of relu-family activations: which nodes are activations, how
// their elements group into units, and the types of what the analyses report.
//
// A unit is an element of the activation's input (its pre-activation) with
// the batch axis summarised. For [N, F] a unit is a feature f. For an NHWC
// conv output [N, H, W, C] a unit is a position and channel (h, w, c), and
// the report also summarises each channel c over all positions. Axis 0 is the
// batch axis of every input of rank 2 or more; a rank-1 pre-activation has
// no batch axis.

import { SlopeError } from '../../src/errors.ts';
import type { Node } from '../../src/graph/node.ts';
import { sizeOf } from '../../src/graph/shape.ts';

/** An error in the arguments of a dead-unit analysis: a region, dataset or option that does not fit the graph. */
export class DeadUnitsError extends SlopeError {}

export const ACTIVATION_OPS = ['relu', 'leakyRelu', 'prelu', 'elu'] as const;
export type ActivationOp = (typeof ACTIVATION_OPS)[number];

/**
 * The report label of a unit whose pre-activation is never positive: 'dead'
 * when its gradient is exactly 0 there (relu, and leakyRelu or elu with
 * alpha 0), 'negativeRegime' when the gradient is only scaled by alpha.
 */
export type NonPositiveLabel = 'dead' | 'negativeRegime';

export type UnitStatus = 'dead' | 'alwaysActive' | 'unstable';

export interface UnitCounts {
  dead: number;
  alwaysActive: number;
  unstable: number;
}

/** An activation node and the layout of its units. */
export interface ActivationLayer {
  /** The activation node. */
  node: Node;
  /** Its input, whose sign decides the regime. */
  preActivation: Node;
  op: ActivationOp;
  /** The node's name, or `%id op` when it has none. */
  name: string;
  label: NonPositiveLabel;
  /** Number of batch rows (1 for a rank-1 pre-activation). */
  batch: number;
  /** Shape of one row: the units. */
  unitShape: readonly number[];
  units: number;
  /** Number of channels (the last axis) for a pre-activation of rank 3 or more, else undefined. */
  channels: number | undefined;
}

export function isActivation(node: Node): node is Node<ActivationOp> {
  return (ACTIVATION_OPS as readonly string[]).includes(node.op);
}

/** Returns the layer name of an activation: its own name, its computed pre-activation's name, or `%id op`. */
export function layerName(node: Node): string {
  const z = node.inputs[0]!;
  const computed = z.op !== 'input' && z.op !== 'param';
  return node.name ?? (computed ? z.name : undefined) ?? `%${node.id} ${node.op}`;
}

/**
 * Describes an activation's units. `pointValue` gives the value of a node
 * that depends on no input, so that a prelu whose slopes are all 0 counts as
 * a relu.
 */
export function describeLayer(node: Node<ActivationOp>, pointValue: (node: Node) => ArrayLike<number> | undefined): ActivationLayer {
  const z = node.inputs[0]!;
  const batch = z.rank >= 2 ? z.shape[0]! : 1;
  const unitShape = z.rank >= 2 ? z.shape.slice(1) : [...z.shape];
  return {
    node,
    preActivation: z,
    op: node.op,
    name: layerName(node),
    label: labelOf(node, pointValue),
    batch,
    unitShape,
    units: sizeOf(unitShape),
    channels: z.rank >= 3 ? z.shape[z.rank - 1]! : undefined,
  };
}

function labelOf(node: Node<ActivationOp>, pointValue: (node: Node) => ArrayLike<number> | undefined): NonPositiveLabel {
  if (node.is('relu')) return 'dead';
  if (node.is('leakyRelu') || node.is('elu')) return node.attrs.alpha === 0 ? 'dead' : 'negativeRegime';
  const slopes = pointValue(node.inputs[1]!);
  if (slopes !== undefined && Array.from(slopes).every((s) => s === 0)) return 'dead';
  return 'negativeRegime';
}

/** Classifies one unit from the bounds of its pre-activation over a region. */
export function classify(lower: number, upper: number, mayBeNaN: boolean): UnitStatus {
  if (mayBeNaN) return 'unstable';
  if (upper <= 0) return 'dead';
  if (lower > 0) return 'alwaysActive';
  return 'unstable';
}

export function countStatuses(status: readonly UnitStatus[]): UnitCounts {
  const counts: UnitCounts = { dead: 0, alwaysActive: 0, unstable: 0 };
  for (const s of status) counts[s]++;
  return counts;
}

/** Reduces per-element bounds of a pre-activation to per-unit bounds: min of lower and max of upper over the batch. */
export function unitBounds(layer: ActivationLayer, lo: Float64Array, hi: Float64Array): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(layer.units).fill(Infinity);
  const upper = new Float64Array(layer.units).fill(-Infinity);
  for (let i = 0; i < lo.length; i++) {
    const unit = i % layer.units;
    if (lo[i]! < lower[unit]!) lower[unit] = lo[i]!;
    if (hi[i]! > upper[unit]!) upper[unit] = hi[i]!;
  }
  return { lower, upper };
}

/** Reduces per-unit bounds to per-channel bounds over all positions. */
export function channelBounds(layer: ActivationLayer, lower: Float64Array, upper: Float64Array): { lower: Float64Array; upper: Float64Array } {
  const channels = layer.channels!;
  const channelLower = new Float64Array(channels).fill(Infinity);
  const channelUpper = new Float64Array(channels).fill(-Infinity);
  for (let unit = 0; unit < layer.units; unit++) {
    const c = unit % channels;
    channelLower[c] = Math.min(channelLower[c]!, lower[unit]!);
    channelUpper[c] = Math.max(channelUpper[c]!, upper[unit]!);
  }
  return { lower: channelLower, upper: channelUpper };
}
