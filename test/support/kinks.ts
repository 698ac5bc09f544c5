// Finds how close a graph's evaluation comes to a point where an op is not
// smooth: the kink of the relu family and abs, a tie of maximum/minimum or
// of a max/min reduction, a flip of a comparison, a pole of div or
// reciprocal, the edge of log's or sqrt's domain. A central difference that
// straddles such a point measures an average of two slopes (or a jump), not
// a derivative, so gradient checks discard samples that come too close.

import type { Feeds } from '../../src/graph/feeds.ts';
import type { Node } from '../../src/graph/node.ts';
import { broadcastIndexer, broadcastShapes } from '../../src/graph/shape.ts';
import { ancestors, evaluate } from '../../src/interp/interpreter.ts';
import type { Tensor } from '../../src/interp/tensor.ts';
import { reductionIndexer } from '../../src/ops/reduce.ts';

export interface SmoothnessReport {
  /**
   * Smallest distance, over all nodes, between an operand and the nearest
   * non-smooth point of its op, relative to max(1, |operand|). Infinity when
   * the graph has no such op.
   */
  minDistance: number;
  /** The node at which minDistance occurs. */
  closest: Node | undefined;
  /** Largest |value| over every node that the outputs depend on. */
  maxAbs: number;
  /** Whether every value that the outputs depend on is finite. */
  finite: boolean;
}

const SINGLE_POINT_OPS = new Set(['relu', 'leakyRelu', 'abs', 'sign', 'elu', 'reciprocal', 'log', 'sqrt']);
// equal is left out: a small step flips it only from an exact tie, and the
// ties that gradient rules test (x == max(x), x == x) move together and hold.
const PAIR_OPS = new Set(['maximum', 'minimum', 'greater', 'greaterEqual', 'less']);

function relativeDistance(value: number, point: number): number {
  return Math.abs(value - point) / Math.max(1, Math.abs(value));
}

function distanceToZero(data: Float64Array): number {
  let min = Infinity;
  for (const x of data) min = Math.min(min, relativeDistance(x, 0));
  return min;
}

function pairDistance(a: Tensor, b: Tensor): number {
  const shape = broadcastShapes(a.shape, b.shape)!;
  const indexA = broadcastIndexer(a.shape, shape);
  const indexB = broadcastIndexer(b.shape, shape);
  let size = 1;
  for (const d of shape) size *= d;
  let min = Infinity;
  for (let i = 0; i < size; i++) {
    const x = a.data[indexA(i)]!;
    const y = b.data[indexB(i)]!;
    min = Math.min(min, Math.abs(x - y) / Math.max(1, Math.abs(x), Math.abs(y)));
  }
  return min;
}

/** Returns the smallest gap between the two best elements of any lane of a max or min reduction. */
function reductionGap(x: Tensor, axes: readonly number[], outputSize: number): number {
  const toLane = reductionIndexer(x.shape, axes);
  const lanes = Array.from({ length: outputSize }, () => [] as number[]);
  for (let i = 0; i < x.data.length; i++) lanes[toLane(i)]!.push(x.data[i]!);
  let min = Infinity;
  for (const lane of lanes) {
    lane.sort((p, q) => p - q);
    for (let k = 1; k < lane.length; k++) {
      min = Math.min(min, Math.abs(lane[k]! - lane[k - 1]!) / Math.max(1, Math.abs(lane[k]!)));
    }
  }
  return min;
}

function kinkDistance(node: Node, values: ReadonlyMap<number, Tensor>): number {
  const operand = (i: number) => values.get(node.inputs[i]!.id)!;
  if (SINGLE_POINT_OPS.has(node.op)) return distanceToZero(operand(0).data);
  if (node.op === 'prelu' || node.op === 'leakyReluGrad' || node.op === 'pow') return distanceToZero(operand(0).data);
  if (node.op === 'div') return distanceToZero(operand(1).data);
  if (PAIR_OPS.has(node.op)) return pairDistance(operand(0), operand(1));
  if (node.is('max') || node.is('min')) return reductionGap(operand(0), node.attrs.axes, node.size);
  return Infinity;
}

/** Evaluates every node that the outputs depend on and reports how close the evaluation comes to a kink. */
export function smoothnessReport(outputs: readonly Node[], feeds: Feeds): SmoothnessReport {
  const nodes = ancestors(outputs);
  const tensors = evaluate(nodes, feeds);
  const values = new Map(nodes.map((n, i) => [n.id, tensors[i]!] as const));
  const report: SmoothnessReport = { minDistance: Infinity, closest: undefined, maxAbs: 0, finite: true };
  for (const node of nodes) {
    for (const x of values.get(node.id)!.data) {
      if (!Number.isFinite(x)) report.finite = false;
      else report.maxAbs = Math.max(report.maxAbs, Math.abs(x));
    }
    const distance = kinkDistance(node, values);
    if (distance < report.minDistance) {
      report.minDistance = distance;
      report.closest = node;
    }
  }
  return report;
}
