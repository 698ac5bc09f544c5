// The dead-unit pass, dynamic part: how often each relu-family unit is
// positive over a dataset, measured by the compiled kernels themselves.
//
// The graph is copied (the caller's graph gets no new nodes) and each
// activation's copy gets per-unit counters as extra outputs: the number of
// batch rows where the pre-activation is positive, the sum of |activation|,
// the largest pre-activation, and per-layer sums for the pre-activation's
// mean and standard deviation.
// With a loss, gradients of the loss with respect to the activation outputs,
// the pre-activations or the params are added too, with their squared sums,
// absolute sums and zero counts. Every batch runs through one executable that
// computes the original outputs and the counters together; the counters are
// summed over batches in float64.
//
// Counts are per batch in the pre-activation's dtype; float32 counts are
// exact up to 2^24 per batch and unit.

import type { Feeds } from '../../src/graph/feeds.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import type { OutputArray } from '../../src/runtime/executable.ts';
import { compile } from '../../src/runtime/executable.ts';
import type { CompileOptions } from '../../src/runtime/executable.ts';
import { ancestors } from '../../src/interp/interpreter.ts';
import { grad } from '../grad.ts';
import type { ActivationLayer } from './units.ts';
import { DeadUnitsError, describeLayer, isActivation } from './units.ts';

/** Batches of feeds: an iterable, an async iterable, or a function returning either (needed to read the data twice). */
export type DataSource = Iterable<Feeds> | AsyncIterable<Feeds> | (() => Iterable<Feeds> | AsyncIterable<Feeds>);

export type GradientTarget = 'activations' | 'preActivations' | 'params';

export interface DynamicOptions {
  data: DataSource;
  /** Param values by name; others take their initializer's values. */
  params?: Readonly<Record<string, ArrayLike<number>>>;
  /** A unit positive on fewer than this fraction of examples (but on some) is dying. Default 0.01. */
  threshold?: number;
  /** A unit is tau-dormant when its mean |activation| is at most tau times its layer's mean; 0 (the default) means exactly 0. */
  tau?: number;
  /** A scalar loss for gradient statistics; it may read inputs that the batches feed, such as labels. */
  loss?: Node;
  /** The nodes that gradients are taken with respect to. Default 'activations'. */
  gradientsOf?: GradientTarget;
  /** Also time one forward pass over the data (the original outputs only) to report the analysis's cost ratio; the data is read twice. */
  measureCost?: boolean;
  /** Options of both compiled executables. */
  compile?: Omit<CompileOptions, 'params' | 'updates'>;
  /** Receives the original outputs' values of each batch, computed by the instrumented executable. */
  onBatch?: (outputs: OutputArray[], batch: number) => void;
}

export interface GradientStats {
  /** Root mean square over batches of the L2 norm of the batch's gradient. */
  l2Norm: number;
  /** Mean of |g| over all entries and batches. */
  meanAbs: number;
  /** Fraction of entries that are exactly 0. */
  zeroFraction: number;
}

export interface UnitActivity {
  /** Per unit: the fraction of examples on which the pre-activation is positive. */
  positiveFraction: Float64Array;
  /** Per unit: the mean of |activation|. */
  meanAbsActivation: Float64Array;
  /** Per unit: the largest pre-activation seen, which is <= 0 exactly for a never-positive unit. */
  maxPreActivation: Float64Array;
  /** Units never positive. */
  dead: number;
  /** Units positive on some examples but on fewer than the threshold fraction. */
  dying: number;
  /** Units whose mean |activation| is at most tau times the layer's mean. */
  dormant: number;
}

export interface DynamicLayer extends ActivationLayer, UnitActivity {
  /** Batch rows seen. */
  examples: number;
  /** Fraction of (example, unit) pairs whose pre-activation is not positive: a zero output for relu, the negative regime otherwise. */
  sparsity: number;
  preActivationMean: number;
  preActivationStd: number;
  /** Pre-activation elements that were NaN. */
  nanCount: number;
  /** The same counts per channel over all positions, for pre-activations of rank 3 or more. */
  channelSummary: UnitActivity | undefined;
  gradient: (GradientStats & { unitZeroFraction: Float64Array }) | undefined;
}

export interface DynamicReport {
  kind: 'dynamic';
  layers: DynamicLayer[];
  /** Gradient statistics per param, when `gradientsOf` is 'params'. */
  paramGradients: (GradientStats & { name: string })[];
  examples: number;
  batches: number;
  threshold: number;
  tau: number;
  /** Times over the data when `measureCost` is set: the analysis run, one plain forward pass, and their ratio. */
  cost: { analysisMs: number; forwardMs: number; ratio: number } | undefined;
}

/** Copies the outputs' computation into a new graph, so that instrumentation leaves the caller's graph unchanged. */
function copyGraph(outputs: readonly Node[]): { graph: Graph; map: Map<number, Node> } {
  const graph = new Graph(outputs[0]!.graph.seed);
  const map = new Map<number, Node>();
  for (const node of ancestors(outputs)) {
    const inputs = node.inputs.map((i) => map.get(i.id)!);
    let copy: Node;
    if (node.is('input')) copy = graph.input(node.name!, node.shape, node.dtype);
    else if (node.is('param')) copy = graph.param(node.name!, node.shape, { init: node.attrs.init, dtype: node.dtype });
    else copy = graph.addNode(node.op, inputs, node.attrs as never, node.name);
    map.set(node.id, copy);
  }
  return { graph, map };
}

/** The counter outputs of one layer, in the copied graph. */
interface LayerCounters {
  positive: Node;
  absSum: Node;
  max: Node;
  sum: Node;
  squares: Node;
  notNaN: Node;
}

interface GradientCounters {
  squares: Node;
  absSum: Node;
  zeros: Node;
  /** Zero count per unit, summed over the batch axis; absent for params. */
  unitZeros?: Node;
}

const batchAxes = (node: Node) => (node.rank >= 2 ? [0] : []);

/** Counter outputs per layer, in the order of LayerCounters; `max` (index 2) is combined over batches by max, the rest by sum. */
const LAYER_COUNTERS = 6;
const MAX_COUNTER = 2;

function countWhere(condition: Node, like: Node, axes: number[]): Node {
  const ones = condition.cast(like.dtype);
  return axes.length === 0 ? ones : ones.sum(axes);
}

function layerCounters(z: Node, activation: Node): LayerCounters {
  const axes = batchAxes(z);
  const absolute = activation.abs();
  return {
    positive: countWhere(z.greater(0), z, axes),
    absSum: axes.length === 0 ? absolute : absolute.sum(axes),
    max: axes.length === 0 ? z : z.max(axes),
    sum: z.sum(),
    squares: z.square().sum(),
    notNaN: countWhere(z.equal(z), z, []).sum(),
  };
}

function gradientCounters(g: Node, perUnit: boolean): GradientCounters {
  const zero = g.equal(0);
  const counters: GradientCounters = { squares: g.square().sum(), absSum: g.abs().sum(), zeros: countWhere(zero, g, []).sum() };
  if (perUnit) counters.unitZeros = countWhere(zero, g, batchAxes(g));
  return counters;
}

/**
 * Yields each batch's feeds for the inputs in `used`. A feed of another input
 * of the graph, such as labels that only a loss reads, is dropped. A name
 * that is no input of the graph is an error.
 */
async function* batchesOf(data: DataSource, graphInputs: readonly Node[], used: ReadonlySet<string>): AsyncGenerator<Feeds> {
  const source = typeof data === 'function' ? data() : data;
  const known = new Set(graphInputs.map((n) => n.name!));
  for await (const feeds of source as AsyncIterable<Feeds>) {
    const kept: Record<string, Feeds[string]> = {};
    for (const [name, value] of Object.entries(feeds)) {
      if (!known.has(name)) {
        throw new DeadUnitsError(`Error in analyzeDynamic: the data feeds ${JSON.stringify(name)}, which is not an input; the graph's inputs are ${[...known].map((n) => JSON.stringify(n)).join(', ') || '(none)'}`);
      }
      if (used.has(name)) kept[name] = value;
    }
    yield kept;
  }
}

/** Runs the outputs' graph over a dataset and reports, per relu-family unit, how often it is positive. */
export async function analyzeDynamic(outputs: Node | readonly Node[], options: DynamicOptions): Promise<DynamicReport> {
  const list = Array.isArray(outputs) ? [...outputs] : [outputs as Node];
  if (list.length === 0) throw new DeadUnitsError('Error in analyzeDynamic: no outputs given; pass the nodes whose activations to analyse');
  const threshold = options.threshold ?? 0.01;
  const tau = options.tau ?? 0;
  if (!(threshold >= 0 && threshold <= 1)) throw new DeadUnitsError(`Error in analyzeDynamic: threshold must be in [0, 1], got ${threshold}`);
  if (!(tau >= 0)) throw new DeadUnitsError(`Error in analyzeDynamic: tau must be a number >= 0, got ${tau}`);
  const mode = options.gradientsOf ?? 'activations';
  if (options.loss !== undefined && options.loss.size !== 1) {
    throw new DeadUnitsError(`Error in analyzeDynamic: the loss ${options.loss.label} has shape [${options.loss.shape.join(',')}]; pass a scalar, for example loss.mean()`);
  }

  // Instrument a copy of the graph.
  const roots = options.loss === undefined ? list : [...list, options.loss];
  const { map } = copyGraph(roots);
  const copyOf = (node: Node) => map.get(node.id)!;
  const originals = ancestors(roots);
  const layers = originals.filter((n) => isActivation(n) && n.inputs[0]!.dtype !== 'int32').map((n) => describeLayer(n as Node<'relu'>, () => undefined));
  const counters = layers.map((l) => layerCounters(copyOf(l.preActivation), copyOf(l.node)));
  const params = originals.filter((n) => n.is('param'));
  let gradients: GradientCounters[] = [];
  if (options.loss !== undefined) {
    const loss = copyOf(options.loss);
    const wrt = mode === 'params' ? params.map(copyOf) : layers.map((l) => copyOf(mode === 'activations' ? l.node : l.preActivation));
    gradients = grad(loss, wrt).map((g) => gradientCounters(g, mode !== 'params'));
  }
  const extra = [
    ...counters.flatMap((c) => [c.positive, c.absSum, c.max, c.sum, c.squares, c.notNaN]),
    ...gradients.flatMap((g) => [g.squares, g.absSum, g.zeros, ...(g.unitZeros === undefined ? [] : [g.unitZeros])]),
  ];
  const compileOptions = { ...options.compile, ...(options.params === undefined ? {} : { params: options.params }) };
  const executable = compile([...list.map(copyOf), ...extra], compileOptions);

  // Run every batch and sum the counters.
  const isMax = extra.map((_, k) => k < counters.length * LAYER_COUNTERS && k % LAYER_COUNTERS === MAX_COUNTER);
  const totals = extra.map((node, k) => new Float64Array(node.size).fill(isMax[k] ? -Infinity : 0));
  let batches = 0;
  const startAnalysis = performance.now();
  const graphInputs = list[0]!.graph.inputs;
  const used = new Set(originals.filter((n) => n.is('input')).map((n) => n.name!));
  for await (const feeds of batchesOf(options.data, graphInputs, used)) {
    const results = executable.run(feeds);
    options.onBatch?.(results.slice(0, list.length), batches);
    results.slice(list.length).forEach((values, k) => (isMax[k] ? accumulateMax(totals[k]!, values) : accumulate(totals[k]!, values)));
    batches++;
  }
  const analysisMs = performance.now() - startAnalysis;
  if (batches === 0) throw new DeadUnitsError('Error in analyzeDynamic: the data gave no batches; pass at least one batch of feeds');

  const cost = options.measureCost ? await measureForward(list, options, compileOptions, analysisMs) : undefined;
  return summarize({ layers, counters, gradients, totals, batches, threshold, tau, mode, params, cost });
}

function accumulate(total: Float64Array, values: OutputArray): void {
  for (let i = 0; i < total.length; i++) total[i] = total[i]! + Number(values[i]!);
}

/** Keeps the running max; NaN propagates as in the max reduction. */
function accumulateMax(total: Float64Array, values: OutputArray): void {
  for (let i = 0; i < total.length; i++) {
    const v = Number(values[i]!);
    if (Number.isNaN(v) || v > total[i]!) total[i] = v;
  }
}

/** Times one pass of the original outputs over the data, after a warm-up batch for both executables. */
async function measureForward(outputs: Node[], options: DynamicOptions, compileOptions: CompileOptions, analysisMs: number): Promise<DynamicReport['cost']> {
  if (typeof options.data !== 'function' && !Array.isArray(options.data)) {
    throw new DeadUnitsError('Error in analyzeDynamic: measureCost reads the data twice; pass an array of batches or a function that returns the batches');
  }
  const forward = compile(outputs, compileOptions);
  const used = new Set(ancestors(outputs).filter((n) => n.is('input')).map((n) => n.name!));
  const start = performance.now();
  for await (const feeds of batchesOf(options.data, outputs[0]!.graph.inputs, used)) forward.run(feeds);
  const forwardMs = performance.now() - start;
  return { analysisMs, forwardMs, ratio: analysisMs / Math.max(forwardMs, 1e-9) };
}

interface Totals {
  layers: ActivationLayer[];
  counters: LayerCounters[];
  gradients: GradientCounters[];
  totals: Float64Array[];
  batches: number;
  threshold: number;
  tau: number;
  mode: GradientTarget;
  params: Node[];
  cost: DynamicReport['cost'];
}

function activity(positive: Float64Array, absSum: Float64Array, max: Float64Array, examples: number, threshold: number, tau: number): UnitActivity {
  const positiveFraction = positive.map((p) => p / examples);
  const meanAbsActivation = absSum.map((s) => s / examples);
  const layerMean = meanAbsActivation.reduce((a, b) => a + b, 0) / Math.max(meanAbsActivation.length, 1);
  return {
    positiveFraction,
    meanAbsActivation,
    maxPreActivation: max,
    dead: positive.filter((p) => p === 0).length,
    dying: positiveFraction.filter((f) => f > 0 && f < threshold).length,
    dormant: meanAbsActivation.filter((m) => m <= tau * layerMean).length,
  };
}

/** Takes the max of per-unit values over positions, per channel. */
function maxPerChannel(values: Float64Array, channels: number): Float64Array {
  const out = new Float64Array(channels).fill(-Infinity);
  values.forEach((v, unit) => (out[unit % channels] = Math.max(out[unit % channels]!, v)));
  return out;
}

/** Sums per-unit totals over positions into per-channel totals. */
function perChannel(values: Float64Array, channels: number): Float64Array {
  const out = new Float64Array(channels);
  values.forEach((v, unit) => (out[unit % channels] = out[unit % channels]! + v));
  return out;
}

function summarize(t: Totals): DynamicReport {
  const examplesOf = (layer: ActivationLayer) => layer.batch * t.batches;
  // Where each gradient's counters start among the totals: after the counters of every layer.
  const gradientOffsets: number[] = [];
  let next = t.counters.length * LAYER_COUNTERS;
  for (const g of t.gradients) {
    gradientOffsets.push(next);
    next += g.unitZeros === undefined ? 3 : 4;
  }
  // The batch gradient's squared L2 norm summed over batches, so its root mean square over batches is sqrt(total / batches).
  const gradientStats = (k: number, entries: number): GradientStats => {
    const offset = gradientOffsets[k]!;
    return {
      l2Norm: Math.sqrt(t.totals[offset]![0]! / t.batches),
      meanAbs: t.totals[offset + 1]![0]! / entries,
      zeroFraction: t.totals[offset + 2]![0]! / entries,
    };
  };

  const layers: DynamicLayer[] = t.layers.map((layer, k) => {
    const [positive, absSum, max, sum, squares, notNaN] = t.totals.slice(k * LAYER_COUNTERS, (k + 1) * LAYER_COUNTERS) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const examples = examplesOf(layer);
    const elements = examples * layer.units;
    const mean = sum[0]! / elements;
    let gradient: DynamicLayer['gradient'];
    if (t.gradients.length > 0 && t.mode !== 'params') {
      const unitZeros = t.totals[gradientOffsets[k]! + 3]!;
      gradient = { ...gradientStats(k, elements), unitZeroFraction: unitZeros.map((z) => z / examples) };
    }
    let channelSummary: UnitActivity | undefined;
    if (layer.channels !== undefined) {
      const positions = layer.units / layer.channels;
      channelSummary = activity(perChannel(positive, layer.channels), perChannel(absSum, layer.channels), maxPerChannel(max, layer.channels), examples * positions, t.threshold, t.tau);
    }
    return {
      ...layer,
      ...activity(positive, absSum, max, examples, t.threshold, t.tau),
      examples,
      sparsity: 1 - positive.reduce((a, b) => a + b, 0) / elements,
      preActivationMean: mean,
      preActivationStd: Math.sqrt(Math.max(squares[0]! / elements - mean * mean, 0)),
      nanCount: elements - notNaN[0]!,
      channelSummary,
      gradient,
    };
  });

  const paramGradients = t.mode === 'params' && t.gradients.length > 0 ? t.params.map((p, k) => ({ name: p.name!, ...gradientStats(k, p.size * t.batches) })) : [];
  const examples = t.layers.length === 0 ? 0 : examplesOf(t.layers[0]!);
  return { kind: 'dynamic', layers, paramGradients, examples, batches: t.batches, threshold: t.threshold, tau: t.tau, cost: t.cost };
}
