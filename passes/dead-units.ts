// The dead-unit pass, static part: which units of which relu-family
// activations can never be positive (dead), are always positive, or may be
// either, for every input in a box. It reports and never rewrites the graph.
//
// For each box the pass runs twice over the graph in topological order:
//   1. interval bounds of every node (interval.ts), with no refinement;
//   2. the same, but each pre-activation and each output is also bounded by
//      back-substitution (linear.ts) and its bounds become the intersection,
//      so later relaxations and intervals start from the tighter range.
// A unit's reported bounds are the intersection of the two; its status is
// decided from them. With `splits`, an unresolved box is bisected along its
// widest input dimension up to that depth. A unit is then dead only if it is
// dead on every sub-box, and reported bounds are the hull over the sub-boxes.
//
// Assumptions: the box bounds are finite. Bounds describe the float64
// reference semantics (src/ops), so a float32 executable can differ by its
// rounding, and a pre-activation within float32 rounding of 0 may compute
// positive. A unit whose pre-activation node may be NaN is never called dead
// or always active.

import type { Node } from '../src/graph/node.ts';
import { formatShape } from '../src/graph/shape.ts';
import { ancestors, paramValue } from '../src/interp/interpreter.ts';
import type { Interval } from './dead-units/interval.ts';
import { intersect, intervalRules, isPoint, pointInterval } from './dead-units/interval.ts';
import type { LinearContext } from './dead-units/linear.ts';
import { linearBounds } from './dead-units/linear.ts';
import type { ActivationLayer, UnitCounts, UnitStatus } from './dead-units/units.ts';
import { channelBounds, classify, countStatuses, DeadUnitsError, describeLayer, isActivation, unitBounds } from './dead-units/units.ts';

/** Lower and upper bounds of one input: a number for every element, or one per element (or per element of one batch row). */
export interface InputBox {
  lower: number | ArrayLike<number>;
  upper: number | ArrayLike<number>;
}

/** A box of inputs, by input name. */
export type InputRegion = Readonly<Record<string, InputBox>>;

export interface StaticOptions {
  region: InputRegion;
  /** Param values by name; params not given take their initializer's values, as `evaluate` does. */
  params?: Readonly<Record<string, ArrayLike<number>>>;
  /** Depth of input-box bisection (0: none). A box whose units are all dead or always active is not split further. */
  splits?: number;
  /** Back-substituted linear bounds besides interval bounds; default true. */
  linear?: boolean;
  /**
   * Maximum work of one back-substitution, counted as target elements times
   * the elements of the nodes walked; a larger node keeps its interval bounds.
   * Default 5e7.
   */
  linearBudget?: number;
}

export interface Bounds {
  lower: Float64Array;
  upper: Float64Array;
}

/** Bounds of one set of elements: reported (the intersection), interval only, and linear only. */
export interface BoundsReport {
  bounds: Bounds;
  interval: Bounds;
  /** ±Infinity where back-substitution was skipped. */
  linear: Bounds;
}

export interface StaticLayer extends ActivationLayer, BoundsReport {
  status: UnitStatus[];
  counts: UnitCounts;
  /** Per-channel summary of a pre-activation of rank 3 or more: dead only if dead at every position. */
  channelSummary: (BoundsReport & { status: UnitStatus[]; counts: UnitCounts }) | undefined;
  mayBeNaN: boolean;
  /** Back-substitution was over the budget on some box, so only interval bounds count. */
  linearSkipped: boolean;
}

export interface OutputBounds extends BoundsReport {
  node: Node;
  mayBeNaN: boolean;
}

/** One box the analysis ended on, and the layers that are dead on all of it. */
export interface LeafBox {
  region: Record<string, Bounds>;
  /** Indices into `layers` of the activations all of whose units are dead (or negative-regime) on this box. */
  deadLayers: number[];
}

export interface StaticReport {
  kind: 'static';
  layers: StaticLayer[];
  outputs: OutputBounds[];
  leaves: LeafBox[];
  ms: number;
}

type BoxArrays = Map<number, Bounds>;

interface Setup {
  order: Node[];
  variable: Set<number>;
  params: Map<number, Float64Array>;
  layers: ActivationLayer[];
  targets: Set<number>;
  outputs: Node[];
  linear: boolean;
  budget: number;
}

/** Bounds every relu-family unit of the outputs' graph over an input box and classifies it. */
export function analyzeStatic(outputs: Node | readonly Node[], options: StaticOptions): StaticReport {
  const start = performance.now();
  const list = Array.isArray(outputs) ? [...outputs] : [outputs as Node];
  if (list.length === 0) throw new DeadUnitsError('Error in analyzeStatic: no outputs given; pass the nodes whose activations to analyse');
  const setup = prepare(list, options);
  const root = regionArrays(setup, options.region);
  const splits = options.splits ?? 0;
  if (!Number.isInteger(splits) || splits < 0) throw new DeadUnitsError(`Error in analyzeStatic: splits must be a non-negative integer, got ${splits}`);

  const leaves: { region: BoxArrays; result: BoxResult }[] = [];
  const visit = (region: BoxArrays, depth: number) => {
    const result = analyzeBox(setup, region);
    const unresolved = result.layers.some((l) => l.status.includes('unstable'));
    if (depth < splits && unresolved) {
      const [left, right] = bisect(region);
      if (left !== undefined && right !== undefined) {
        visit(left, depth + 1);
        visit(right, depth + 1);
        return;
      }
    }
    leaves.push({ region, result });
  };
  visit(root, 0);
  return combine(setup, leaves, performance.now() - start);
}

function prepare(outputs: Node[], options: StaticOptions): Setup {
  const graph = outputs[0]!.graph;
  for (const o of outputs) {
    if (o.graph !== graph) throw new DeadUnitsError(`Error in analyzeStatic: output ${o.label} belongs to another graph than ${outputs[0]!.label}`);
  }
  const order = ancestors(outputs);
  const paramNames = new Set(graph.params.map((p) => p.name));
  for (const name of Object.keys(options.params ?? {})) {
    if (!paramNames.has(name)) throw new DeadUnitsError(`Error in analyzeStatic: unknown param ${JSON.stringify(name)}; the graph's params are ${[...paramNames].map((n) => JSON.stringify(n)).join(', ') || '(none)'}`);
  }
  const params = new Map<number, Float64Array>();
  for (const node of order) if (node.is('param')) params.set(node.id, paramValue(node, options.params?.[node.name!]));

  const variable = new Set<number>();
  for (const node of order) {
    if (node.is('input') || node.inputs.some((i) => variable.has(i.id))) variable.add(node.id);
  }
  const pointValues = new Map<number, Float64Array>();
  const pointValue = (node: Node) => (node.is('param') ? params.get(node.id) : node.is('constant') ? node.attrs.value : pointValues.get(node.id));
  // Values of the nodes that depend on no input, so that a prelu's slopes can be inspected.
  for (const node of order) {
    if (variable.has(node.id) || node.is('param') || node.is('constant')) continue;
    const inputs = node.inputs.map((i) => pointInterval(i.shape, pointValue(i) ?? new Float64Array(i.size).fill(NaN)));
    const bounds = (intervalRules[node.op] as (i: Interval[], a: unknown, o: { shape: readonly number[]; dtype: Node['dtype'] }) => Interval)(inputs, node.attrs, node);
    if (isPoint(bounds)) pointValues.set(node.id, bounds.lo);
  }
  const layers = order.filter((n) => isActivation(n) && variable.has(n.id)).map((n) => describeLayer(n as Node<'relu'>, pointValue));
  const targets = new Set<number>([...layers.map((l) => l.preActivation.id), ...outputs.filter((o) => variable.has(o.id)).map((o) => o.id)]);
  return { order, variable, params, layers, targets, outputs, linear: options.linear ?? true, budget: options.linearBudget ?? 5e7 };
}

function toArray(value: number | ArrayLike<number>, node: Node, which: string): Float64Array {
  const size = node.size;
  const row = node.rank >= 2 ? size / node.shape[0]! : size;
  if (typeof value === 'number') return new Float64Array(size).fill(value);
  if (value.length === size) return Float64Array.from(value);
  if (value.length === row) {
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = value[i % row]!;
    return out;
  }
  throw new DeadUnitsError(`Error in analyzeStatic: the ${which} bound of input ${JSON.stringify(node.name)} ${formatShape(node.shape)} has ${value.length} values; give a number, ${size} values, or ${row} values for one batch row`);
}

function regionArrays(setup: Setup, region: InputRegion): BoxArrays {
  const needed = setup.order.filter((n) => n.is('input'));
  const graphInputs = setup.outputs[0]!.graph.inputs;
  for (const name of Object.keys(region)) {
    if (!graphInputs.some((n) => n.name === name)) {
      throw new DeadUnitsError(`Error in analyzeStatic: the region names ${JSON.stringify(name)}, which is not an input; the graph's inputs are ${graphInputs.map((n) => JSON.stringify(n.name)).join(', ') || '(none)'}`);
    }
  }
  const arrays: BoxArrays = new Map();
  for (const node of needed) {
    const box = region[node.name!];
    if (box === undefined) throw new DeadUnitsError(`Error in analyzeStatic: the region has no box for input ${JSON.stringify(node.name)} ${formatShape(node.shape)}; give { lower, upper }`);
    const lower = toArray(box.lower, node, 'lower');
    const upper = toArray(box.upper, node, 'upper');
    for (let i = 0; i < lower.length; i++) {
      if (!Number.isFinite(lower[i]!) || !Number.isFinite(upper[i]!) || lower[i]! > upper[i]!) {
        throw new DeadUnitsError(`Error in analyzeStatic: the box of input ${JSON.stringify(node.name)} at element ${i} is [${lower[i]}, ${upper[i]}]; bounds must be finite with lower <= upper`);
      }
    }
    arrays.set(node.id, { lower, upper });
  }
  return arrays;
}

/** Splits a box in two along its widest input dimension; undefined halves when every dimension is a point. */
function bisect(region: BoxArrays): [BoxArrays | undefined, BoxArrays | undefined] {
  let best: { id: number; index: number; width: number } | undefined;
  for (const [id, box] of region) {
    for (let i = 0; i < box.lower.length; i++) {
      const width = box.upper[i]! - box.lower[i]!;
      if (width > (best?.width ?? 0)) best = { id, index: i, width };
    }
  }
  if (best === undefined) return [undefined, undefined];
  const box = region.get(best.id)!;
  const middle = box.lower[best.index]! + best.width / 2;
  const half = (lower: boolean): BoxArrays => {
    const copy = new Map(region);
    const next = { lower: Float64Array.from(box.lower), upper: Float64Array.from(box.upper) };
    if (lower) next.upper[best!.index] = middle;
    else next.lower[best!.index] = middle;
    copy.set(best!.id, next);
    return copy;
  };
  return [half(true), half(false)];
}

interface NodeResult {
  interval: Interval;
  refined: Interval;
  linear: { lo: Float64Array; hi: Float64Array } | undefined;
}

interface BoxResult {
  nodes: Map<number, NodeResult>;
  layers: { status: UnitStatus[] }[];
}

/** Runs the interval pass and the refined pass over one box. */
function analyzeBox(setup: Setup, region: BoxArrays): BoxResult {
  const pure = new Map<number, Interval>();
  const refined = new Map<number, Interval>();
  const linear = new Map<number, { lo: Float64Array; hi: Float64Array } | undefined>();
  const sourceBounds = (node: Node): Interval | undefined => {
    if (node.is('input')) {
      const box = region.get(node.id)!;
      return { shape: node.shape, lo: box.lower, hi: box.upper, mayBeNaN: false };
    }
    if (node.is('param')) return pointInterval(node.shape, setup.params.get(node.id)!);
    return undefined;
  };
  const rule = (node: Node, inputs: Interval[]) =>
    (intervalRules[node.op] as (i: Interval[], a: unknown, o: { shape: readonly number[]; dtype: Node['dtype'] }) => Interval)(inputs, node.attrs, node);

  const context: LinearContext = {
    bounds: (node) => refined.get(node.id)!,
    isVariable: (node) => setup.variable.has(node.id),
    pointValue: (node) => {
      const bounds = refined.get(node.id)!;
      return isPoint(bounds) ? bounds.lo : undefined;
    },
    box: (input) => {
      const box = region.get(input.id)!;
      return { lo: box.lower, hi: box.upper };
    },
    relaxations: new Map(),
  };

  for (const node of setup.order) {
    const source = sourceBounds(node);
    if (source !== undefined) {
      pure.set(node.id, source);
      refined.set(node.id, source);
      continue;
    }
    pure.set(node.id, rule(node, node.inputs.map((i) => pure.get(i.id)!)));
    let bounds = rule(node, node.inputs.map((i) => refined.get(i.id)!));
    if (setup.linear && setup.targets.has(node.id)) {
      refined.set(node.id, bounds);
      const symbolic = linearBounds(node, context, setup.budget);
      linear.set(node.id, symbolic);
      if (symbolic !== undefined) bounds = intersect(bounds, { shape: node.shape, lo: symbolic.lo, hi: symbolic.hi, mayBeNaN: bounds.mayBeNaN });
    }
    refined.set(node.id, bounds);
  }

  const nodes = new Map<number, NodeResult>();
  for (const id of setup.targets) {
    const interval = pure.get(id)!;
    nodes.set(id, { interval, refined: intersect(refined.get(id)!, interval), linear: linear.get(id) });
  }
  const layers = setup.layers.map((layer) => {
    const result = nodes.get(layer.preActivation.id)!;
    const { lower, upper } = unitBounds(layer, result.refined.lo, result.refined.hi);
    return { status: Array.from(lower, (l, u) => classify(l, upper[u]!, result.refined.mayBeNaN)) };
  });
  return { nodes, layers };
}

/** Widens `into` to the hull of itself and `next`: min of lower, max of upper. */
function hull(into: Bounds | undefined, next: Bounds): Bounds {
  if (into === undefined) return { lower: Float64Array.from(next.lower), upper: Float64Array.from(next.upper) };
  for (let i = 0; i < next.lower.length; i++) {
    into.lower[i] = Math.min(into.lower[i]!, next.lower[i]!);
    into.upper[i] = Math.max(into.upper[i]!, next.upper[i]!);
  }
  return into;
}

function combine(setup: Setup, leaves: { region: BoxArrays; result: BoxResult }[], ms: number): StaticReport {
  const reportFor = (node: Node, reduce: (lo: Float64Array, hi: Float64Array) => { lower: Float64Array; upper: Float64Array }) => {
    let bounds: Bounds | undefined;
    let interval: Bounds | undefined;
    let linear: Bounds | undefined;
    let mayBeNaN = false;
    let skipped = false;
    for (const leaf of leaves) {
      const result = leaf.result.nodes.get(node.id)!;
      bounds = hull(bounds, reduce(result.refined.lo, result.refined.hi));
      interval = hull(interval, reduce(result.interval.lo, result.interval.hi));
      const symbolic = result.linear ?? { lo: new Float64Array(node.size).fill(-Infinity), hi: new Float64Array(node.size).fill(Infinity) };
      linear = hull(linear, reduce(symbolic.lo, symbolic.hi));
      mayBeNaN ||= result.refined.mayBeNaN;
      skipped ||= result.linear === undefined;
    }
    return { report: { bounds: bounds!, interval: interval!, linear: linear! }, mayBeNaN, skipped };
  };

  const layers: StaticLayer[] = setup.layers.map((layer) => {
    const { report, mayBeNaN, skipped } = reportFor(layer.preActivation, (lo, hi) => unitBounds(layer, lo, hi));
    const status = Array.from(report.bounds.lower, (l, u) => classify(l, report.bounds.upper[u]!, mayBeNaN));
    let channelSummary: StaticLayer['channelSummary'];
    if (layer.channels !== undefined) {
      const perChannel = (b: Bounds) => channelBounds(layer, b.lower, b.upper);
      const bounds = perChannel(report.bounds);
      const channelStatus = Array.from(bounds.lower, (l, c) => classify(l, bounds.upper[c]!, mayBeNaN));
      channelSummary = { bounds, interval: perChannel(report.interval), linear: perChannel(report.linear), status: channelStatus, counts: countStatuses(channelStatus) };
    }
    return { ...layer, ...report, status, counts: countStatuses(status), channelSummary, mayBeNaN, linearSkipped: skipped || !setup.linear };
  });

  const outputs = setup.outputs
    .filter((o) => setup.variable.has(o.id))
    .map((node) => {
      const { report, mayBeNaN } = reportFor(node, (lo, hi) => ({ lower: lo, upper: hi }));
      return { node, ...report, mayBeNaN };
    });

  const leafBoxes: LeafBox[] = leaves.map((leaf) => ({
    region: Object.fromEntries([...leaf.region].map(([id, box]) => [setup.order.find((n) => n.id === id)!.name!, box])),
    deadLayers: leaf.result.layers.flatMap((l, i) => (l.status.every((s) => s === 'dead') ? [i] : [])),
  }));
  return { kind: 'static', layers, outputs, leaves: leafBoxes, ms };
}

export { analyzeDynamic, DEFAULT_GRADIENT_EVERY, DynamicAnalyzer } from './dead-units/dynamic.ts';
export type { AnalyzerOptions, DataSource, DynamicLayer, DynamicOptions, DynamicReport, DynamicTotals, GradientStats, GradientTarget, UnitActivity } from './dead-units/dynamic.ts';
export { deadUnitAnnotations, deadUnitColors, deadUnitsJson, formatDeadUnitsTable, summarizeLayers } from './dead-units/report.ts';
export type { DeadUnitColors, DeadUnitReport, LayerCounts, LayerSummary } from './dead-units/report.ts';
export { DeadUnitsError } from './dead-units/units.ts';
export type { ActivationLayer, ActivationOp, NonPositiveLabel, UnitCounts, UnitStatus } from './dead-units/units.ts';
