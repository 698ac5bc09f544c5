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
// A DynamicAnalyzer compiles that executable once and can run it again over
// new data with new param values, as a training loop does after every epoch.
// analyzeDynamic is the one-shot form. With `gradientEvery: k`, a second
// executable without the gradients runs the batches in between. Gradient
// statistics then come from batches 0, k, 2k, ... while counts cover every
// batch.
//
// Counts are per batch in the pre-activation's dtype; float32 counts are
// exact up to 2^24 per batch and unit.

import type { Feeds } from '../../src/graph/feeds.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import type { Executable, OutputArray } from '../../src/runtime/executable.ts';
import { compile } from '../../src/runtime/executable.ts';
import type { CompileOptions } from '../../src/runtime/executable.ts';
import { ancestors } from '../../src/interp/interpreter.ts';
import { describeValue } from '../../src/ops/check.ts';
import { grad } from '../grad.ts';
import type { ActivationLayer } from './units.ts';
import { DeadUnitsError, describeLayer, isActivation } from './units.ts';

/** Batches of feeds: an iterable, an async iterable, or a function returning either (needed to read the data twice). */
export type DataSource = Iterable<Feeds> | AsyncIterable<Feeds> | (() => Iterable<Feeds> | AsyncIterable<Feeds>);

export type GradientTarget = 'activations' | 'preActivations' | 'params';

/**
 * Default of `gradientEvery`: gradient statistics on every 8th batch.
 * Measured with examples/dead-units-cost.ts on the CNN of `slope train` and
 * the wasm backend, in forward passes: 2.80 with exact statistics, 1.75 with
 * every 4th batch, 1.64 with every 8th, 1.60 with every 16th, and 1.47
 * without gradients (see docs/dead-units.md).
 */
export const DEFAULT_GRADIENT_EVERY = 8;

/** Options of a DynamicAnalyzer: what it counts and how it compiles. */
export interface AnalyzerOptions {
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
  /**
   * Batch stride of gradient statistics: they are taken on batches 0, k,
   * 2k, ... only, so they are estimates from those batches. Counts, sparsity
   * and the other activation statistics stay exact over every batch. Needs a
   * loss. Default DEFAULT_GRADIENT_EVERY when a loss is given, else 1.
   */
  gradientEvery?: number;
  /** Options of the compiled executables. */
  compile?: Omit<CompileOptions, 'params' | 'updates'>;
  /** Receives the original outputs' values of each batch, computed by the instrumented executable. */
  onBatch?: (outputs: OutputArray[], batch: number) => void;
}

export interface DynamicOptions extends AnalyzerOptions {
  data: DataSource;
  /** Also time one forward pass over the data (the original outputs only) to report the analysis's cost ratio; the data is read twice. */
  measureCost?: boolean;
}

/** Statistics of one gradient over the batches that took gradients (every batch unless `gradientEvery` is above 1). */
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
  /** Batches that took gradient statistics: every batch, or batches 0, k, 2k, ... with `gradientEvery` k; 0 without a loss. */
  gradientBatches: number;
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

/** The counter outputs of one layer, in the copied graph; each has one value per unit. */
interface LayerCounters {
  /** Rows with a positive pre-activation; with `nanWeight`, plus nanWeight times the NaN rows. */
  positive: Node;
  absSum: Node;
  max: Node;
  sum: Node;
  squares: Node;
  /** Rows whose pre-activation is not NaN; absent when `positive` carries the NaN count. */
  notNaN: Node | undefined;
  nanWeight: number | undefined;
  /** Batch rows per run: the batch size, or 1 for a rank-1 pre-activation. */
  rows: number;
}

/** The counter outputs of one gradient: per unit for an activation's gradient, scalars for a param's. */
interface GradientCounters {
  squares: Node;
  absSum: Node;
  zeros: Node;
  perUnit: boolean;
}

/** Totals per layer: positive, absSum, max, sum, squares, notNaN; `max` (index 2) is combined over batches by max, the rest by sum. */
const LAYER_COUNTERS = 6;
const MAX_COUNTER = 2;
const NOT_NAN_COUNTER = 5;
const GRADIENT_COUNTERS = 3;

/**
 * Sums and maxima over the batch axis of one node, computed from a view of it
 * as [1, batch, units] (a reshape, which shares the buffer).
 *
 * A reduction over the batch axis of the view runs row by row (see
 * reduceRowByRow in src/kernel/anchors.ts), reading the rows contiguously.
 * The view also keeps the counters out of the kernel that computes the node.
 * Fusion joins an elementwise node to its input's kernel when their shapes
 * match, and as extra stores in a conv's epilogue the counters made that
 * conv about 10 times slower. Through the view, the elementwise ops are
 * inlined into the matmuls and reductions that read them. A rank-1 node has
 * no batch axis, so its per-unit values are the node's own elements.
 */
class BatchReducer {
  private readonly view: Node;
  private readonly batched: boolean;

  constructor(readonly node: Node) {
    this.batched = node.rank >= 2;
    if (!this.batched) {
      this.view = node;
      return;
    }
    const batch = node.shape[0]!;
    this.view = node.reshape([1, batch, node.size / batch]);
  }

  /** Returns, per unit, the sum over the batch of `f` of the node. */
  sum(f: (view: Node) => Node): Node {
    const values = f(this.view);
    return this.batched ? values.sum([1], { keepDims: true }) : values;
  }

  /** Returns, per unit, how many batch rows satisfy `condition`. */
  count(condition: (view: Node) => Node): Node {
    return this.sum((view) => condition(view).cast(this.node.dtype));
  }

  /** Returns, per unit, the max over the batch. */
  max(): Node {
    return this.batched ? this.view.max([1]) : this.view;
  }
}

/**
 * Builds the counters of one layer. The positive and NaN counts share one
 * sum when it stays exact. Each row adds 1 where the pre-activation is
 * positive and `rows + 1` where it is NaN. A unit's batch total is then
 * positive + (rows + 1) * NaN, which the host splits again. That saves one
 * pass over the pre-activation. The total is at most rows * (rows + 2),
 * exact in float32 below 2^24, so batches of 4,095 rows or more count
 * separately.
 */
function layerCounters(preActivation: Node, activation: Node): LayerCounters {
  const z = new BatchReducer(preActivation);
  const a = new BatchReducer(activation);
  const rows = preActivation.rank >= 2 ? preActivation.shape[0]! : 1;
  const exactLimit = preActivation.dtype === 'float64' ? 2 ** 53 : 2 ** 24;
  const nanWeight = rows * (rows + 2) < exactLimit ? rows + 1 : undefined;
  const g = preActivation.graph;
  const dtype = preActivation.dtype;
  return {
    positive: nanWeight === undefined ? z.count((v) => v.greater(0)) : z.sum((v) => g.where(v.equal(v), v.greater(0).cast(dtype), g.constant(nanWeight, [], dtype))),
    // A relu output is never negative, so its sum needs no abs.
    absSum: isNonNegative(activation) ? a.sum((v) => v) : a.sum((v) => v.abs()),
    max: z.max(),
    sum: z.sum((v) => v),
    squares: z.sum((v) => v.square()),
    notNaN: nanWeight === undefined ? z.count((v) => v.equal(v)) : undefined,
    nanWeight,
    rows,
  };
}

/** Tells whether an activation's output is never negative: relu, and leakyRelu or elu with alpha 0 (NaN stays NaN either way). */
function isNonNegative(activation: Node): boolean {
  if (activation.is('relu')) return true;
  return (activation.is('leakyRelu') || activation.is('elu')) && activation.attrs.alpha === 0;
}

/** Adds one batch's packed positive-and-NaN counts to the positive and not-NaN totals. */
function accumulatePacked(positive: Float64Array, notNaN: Float64Array, values: OutputArray, nanWeight: number, rows: number): void {
  for (let i = 0; i < positive.length; i++) {
    const packed = Number(values[i]!);
    const nan = Math.floor(packed / nanWeight);
    positive[i] = positive[i]! + packed - nan * nanWeight;
    notNaN[i] = notNaN[i]! + rows - nan;
  }
}

function gradientCounters(g: Node, perUnit: boolean): GradientCounters {
  if (!perUnit) return { squares: g.square().sum(), absSum: g.abs().sum(), zeros: g.equal(0).cast(g.dtype).sum(), perUnit };
  const reducer = new BatchReducer(g);
  return { squares: reducer.sum((v) => v.square()), absSum: reducer.sum((v) => v.abs()), zeros: reducer.count((v) => v.equal(0)), perUnit };
}

/**
 * Returns the feeds of the inputs in `used`. A feed of another input of the
 * graph, such as labels that only a loss reads, is dropped. A name that is no
 * input of the graph is an error.
 */
function usedFeeds(feeds: Feeds, known: ReadonlySet<string>, used: ReadonlySet<string>, where: string): Feeds {
  const kept: Record<string, Feeds[string]> = {};
  for (const [name, value] of Object.entries(feeds)) {
    if (!known.has(name)) {
      throw new DeadUnitsError(`Error in ${where}: the data feeds ${JSON.stringify(name)}, which is not an input; the graph's inputs are ${[...known].map((n) => JSON.stringify(n)).join(', ') || '(none)'}`);
    }
    if (used.has(name)) kept[name] = value;
  }
  return kept;
}

async function* batchesOf(data: DataSource): AsyncGenerator<Feeds> {
  const source = typeof data === 'function' ? data() : data;
  yield* source as AsyncIterable<Feeds>;
}

/** Running sums of one analysis, from DynamicAnalyzer.start; pass them to add for each batch and to finish at the end. */
export interface DynamicTotals {
  /** Per counter output: the sum over batches, or the max for the largest pre-activation. */
  readonly sums: Float64Array[];
  /** Per layer: the examples (batch rows) seen, and those that took gradient statistics. */
  readonly examples: Float64Array;
  readonly gradientExamples: Float64Array;
  batches: number;
  gradientBatches: number;
}

/**
 * The instrumented executable of a graph's dynamic analysis, compiled once.
 * `run(data, params)` analyses a dataset with the given param values, and it
 * can be called again with new values. `start`, `add` and `finish` do the
 * same one batch at a time, for a caller that feeds the batches itself.
 */
export class DynamicAnalyzer {
  readonly layers: readonly ActivationLayer[];
  /** Computes the outputs, the counters and, with a loss, the gradient statistics. */
  readonly executable: Executable;
  /** Computes the outputs and the counters only; compiled when `gradientEvery` is above 1. */
  readonly countingExecutable: Executable | undefined;
  readonly threshold: number;
  readonly tau: number;
  readonly gradientEvery: number;
  private readonly outputCount: number;
  private readonly counters: LayerCounters[];
  private readonly gradients: GradientCounters[];
  /** Per counter output, how it adds to the totals. */
  private readonly accumulators: ((values: OutputArray, sums: Float64Array[]) => void)[];
  /** Size of each total. */
  private readonly sizes: number[];
  private readonly mode: GradientTarget;
  private readonly params: Node[];
  private readonly known: Set<string>;
  private readonly used: Set<string>;
  private readonly onBatch: AnalyzerOptions['onBatch'];
  private readonly where: string;

  /** `where` names the API in error messages. */
  constructor(outputs: Node | readonly Node[], options: AnalyzerOptions = {}, where = 'DynamicAnalyzer') {
    this.where = where;
    const list: Node[] = Array.isArray(outputs) ? [...outputs] : [outputs as Node];
    if (list.length === 0) throw new DeadUnitsError(`Error in ${where}: no outputs given; pass the nodes whose activations to analyse`);
    this.threshold = options.threshold ?? 0.01;
    this.tau = options.tau ?? 0;
    this.gradientEvery = options.gradientEvery ?? (options.loss === undefined ? 1 : DEFAULT_GRADIENT_EVERY);
    this.mode = options.gradientsOf ?? 'activations';
    checkOptions(options, this.threshold, this.tau, this.gradientEvery, where);

    // Instrument a copy of the graph.
    const roots = options.loss === undefined ? list : [...list, options.loss];
    const { map } = copyGraph(roots);
    const copyOf = (node: Node) => map.get(node.id)!;
    const originals = ancestors(roots);
    this.layers = originals.filter((n) => isActivation(n) && n.inputs[0]!.dtype !== 'int32').map((n) => describeLayer(n as Node<'relu'>, () => undefined));
    this.counters = this.layers.map((l) => layerCounters(copyOf(l.preActivation), copyOf(l.node)));
    this.params = originals.filter((n) => n.is('param'));
    this.gradients = [];
    if (options.loss !== undefined) {
      const loss = copyOf(options.loss);
      const wrt = this.mode === 'params' ? this.params.map(copyOf) : this.layers.map((l) => copyOf(this.mode === 'activations' ? l.node : l.preActivation));
      this.gradients = grad(loss, wrt).map((g) => gradientCounters(g, this.mode !== 'params'));
    }
    const counting = this.counters.flatMap((c) => [c.positive, c.absSum, c.max, c.sum, c.squares, ...(c.notNaN === undefined ? [] : [c.notNaN])]);
    const gradientOutputs = this.gradients.flatMap((g) => [g.squares, g.absSum, g.zeros]);
    const extra = [...counting, ...gradientOutputs];
    const compileOptions = { ...options.compile, ...(options.params === undefined ? {} : { params: options.params }) };
    const copiedOutputs = list.map(copyOf);
    this.executable = compile([...copiedOutputs, ...extra], compileOptions);
    this.countingExecutable = this.gradients.length > 0 && this.gradientEvery > 1 ? compile([...copiedOutputs, ...counting], compileOptions) : undefined;

    this.outputCount = list.length;
    this.accumulators = this.accumulatorsOf(gradientOutputs.length);
    this.sizes = [...this.counters.flatMap((c) => Array<number>(LAYER_COUNTERS).fill(c.positive.size)), ...gradientOutputs.map((node) => node.size)];
    this.known = new Set(list[0]!.graph.inputs.map((n) => n.name!));
    this.used = new Set(originals.filter((n) => n.is('input')).map((n) => n.name!));
    this.onBatch = options.onBatch;
  }

  /** Returns, per counter output in executable order, the function that adds it to the totals. */
  private accumulatorsOf(gradientOutputs: number): ((values: OutputArray, sums: Float64Array[]) => void)[] {
    const list: ((values: OutputArray, sums: Float64Array[]) => void)[] = [];
    this.counters.forEach((c, k) => {
      const base = k * LAYER_COUNTERS;
      const nanWeight = c.nanWeight;
      if (nanWeight === undefined) list.push((v, s) => accumulate(s[base]!, v));
      else list.push((v, s) => accumulatePacked(s[base]!, s[base + NOT_NAN_COUNTER]!, v, nanWeight, c.rows));
      list.push((v, s) => accumulate(s[base + 1]!, v));
      list.push((v, s) => accumulateMax(s[base + MAX_COUNTER]!, v));
      list.push((v, s) => accumulate(s[base + 3]!, v));
      list.push((v, s) => accumulate(s[base + 4]!, v));
      if (nanWeight === undefined) list.push((v, s) => accumulate(s[base + NOT_NAN_COUNTER]!, v));
    });
    const offset = this.counters.length * LAYER_COUNTERS;
    for (let j = 0; j < gradientOutputs; j++) list.push((v, s) => accumulate(s[offset + j]!, v));
    return list;
  }

  /** Sets param values by name in the compiled executables; params not named keep their values. */
  setParams(params: Readonly<Record<string, ArrayLike<number>>>): void {
    for (const [name, values] of Object.entries(params)) {
      this.executable.setParam(name, values);
      this.countingExecutable?.setParam(name, values);
    }
  }

  /** Returns zeroed totals for a new pass over the data. */
  start(): DynamicTotals {
    const isMax = (k: number) => k < this.counters.length * LAYER_COUNTERS && k % LAYER_COUNTERS === MAX_COUNTER;
    const sums = this.sizes.map((size, k) => new Float64Array(size).fill(isMax(k) ? -Infinity : 0));
    return { sums, examples: new Float64Array(this.layers.length), gradientExamples: new Float64Array(this.layers.length), batches: 0, gradientBatches: 0 };
  }

  /**
   * Runs one batch, adds its counters to `totals` and returns the original
   * outputs' values. The totals may come from the start() of an analyzer of
   * the same model built for another batch size, so that a last, smaller
   * batch can be added to them.
   */
  add(totals: DynamicTotals, feeds: Feeds): OutputArray[] {
    if (totals.sums.length !== this.sizes.length || totals.sums.some((s, k) => s.length !== this.sizes[k])) {
      throw new DeadUnitsError(`Error in ${this.where}: the totals come from an analyzer of another graph; start them with start() of this analyzer or of one built from the same model`);
    }
    const withGradients = this.gradients.length > 0 && totals.batches % this.gradientEvery === 0;
    const executable = withGradients || this.countingExecutable === undefined ? this.executable : this.countingExecutable;
    const results = executable.run(usedFeeds(feeds, this.known, this.used, this.where));
    for (let k = this.outputCount; k < results.length; k++) this.accumulators[k - this.outputCount]!(results[k]!, totals.sums);
    totals.batches++;
    if (withGradients) totals.gradientBatches++;
    this.layers.forEach((layer, k) => {
      totals.examples[k] += layer.batch;
      if (withGradients) totals.gradientExamples[k] += layer.batch;
    });
    return results.slice(0, this.outputCount);
  }

  /** Summarises the totals into a report; `cost` is attached as given. */
  finish(totals: DynamicTotals, cost?: DynamicReport['cost']): DynamicReport {
    if (totals.batches === 0) throw new DeadUnitsError(`Error in ${this.where}: the data gave no batches; pass at least one batch of feeds`);
    return summarize({ ...this.summaryInputs(), totals: totals.sums, examples: totals.examples, gradientExamples: totals.gradientExamples, batches: totals.batches, gradientBatches: totals.gradientBatches, cost });
  }

  /** Analyses every batch of `data`, after setting `params` when given. */
  async run(data: DataSource, params?: Readonly<Record<string, ArrayLike<number>>>): Promise<DynamicReport> {
    if (params !== undefined) this.setParams(params);
    const totals = this.start();
    for await (const feeds of batchesOf(data)) {
      const outputs = this.add(totals, feeds);
      this.onBatch?.(outputs, totals.batches - 1);
    }
    return this.finish(totals);
  }

  private summaryInputs() {
    return { layers: this.layers, counters: this.counters, gradients: this.gradients, threshold: this.threshold, tau: this.tau, mode: this.mode, params: this.params };
  }
}

function checkOptions(options: AnalyzerOptions, threshold: number, tau: number, gradientEvery: number, where: string): void {
  if (!(threshold >= 0 && threshold <= 1)) throw new DeadUnitsError(`Error in ${where}: threshold must be in [0, 1], got ${threshold}`);
  if (!(tau >= 0)) throw new DeadUnitsError(`Error in ${where}: tau must be a number >= 0, got ${tau}`);
  if (!Number.isSafeInteger(gradientEvery) || gradientEvery < 1) {
    throw new DeadUnitsError(`Error in ${where}: gradientEvery must be an integer >= 1 (1 takes gradients on every batch, k on every k-th), got ${describeValue(gradientEvery)}`);
  }
  if (gradientEvery > 1 && options.loss === undefined) throw new DeadUnitsError(`Error in ${where}: gradientEvery is ${gradientEvery} but no loss is given; pass a loss or leave gradientEvery at 1`);
  if (options.loss !== undefined && options.loss.size !== 1) {
    throw new DeadUnitsError(`Error in ${where}: the loss ${options.loss.label} has shape [${options.loss.shape.join(',')}]; pass a scalar, for example loss.mean()`);
  }
}

/** Runs the outputs' graph over a dataset and reports, per relu-family unit, how often it is positive. */
export async function analyzeDynamic(outputs: Node | readonly Node[], options: DynamicOptions): Promise<DynamicReport> {
  const analyzer = new DynamicAnalyzer(outputs, options, 'analyzeDynamic');
  const list: Node[] = Array.isArray(outputs) ? [...outputs] : [outputs as Node];
  const start = performance.now();
  const report = await analyzer.run(options.data);
  const analysisMs = performance.now() - start;
  if (!options.measureCost) return report;
  return { ...report, cost: await measureForward(list, options, analysisMs) };
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

/** Times one pass of the original outputs over the data. */
async function measureForward(outputs: Node[], options: DynamicOptions, analysisMs: number): Promise<DynamicReport['cost']> {
  if (typeof options.data !== 'function' && !Array.isArray(options.data)) {
    throw new DeadUnitsError('Error in analyzeDynamic: measureCost reads the data twice; pass an array of batches or a function that returns the batches');
  }
  const forward = compile(outputs, { ...options.compile, ...(options.params === undefined ? {} : { params: options.params }) });
  const known = new Set(outputs[0]!.graph.inputs.map((n) => n.name!));
  const used = new Set(ancestors(outputs).filter((n) => n.is('input')).map((n) => n.name!));
  const start = performance.now();
  for await (const feeds of batchesOf(options.data)) forward.run(usedFeeds(feeds, known, used, 'analyzeDynamic'));
  const forwardMs = performance.now() - start;
  return { analysisMs, forwardMs, ratio: analysisMs / Math.max(forwardMs, 1e-9) };
}

interface Totals {
  layers: readonly ActivationLayer[];
  counters: LayerCounters[];
  gradients: GradientCounters[];
  totals: Float64Array[];
  examples: Float64Array;
  gradientExamples: Float64Array;
  batches: number;
  gradientBatches: number;
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
  const total = (values: Float64Array) => values.reduce((a, b) => a + b, 0);
  // Each gradient's counters come after the counters of every layer.
  const gradientOffset = (k: number) => t.counters.length * LAYER_COUNTERS + k * GRADIENT_COUNTERS;
  // The batch gradient's squared L2 norm summed over the batches that took gradients, so its root mean square over them is sqrt(total / batches).
  const gradientStats = (k: number, entries: number): GradientStats => {
    const offset = gradientOffset(k);
    return {
      l2Norm: Math.sqrt(total(t.totals[offset]!) / t.gradientBatches),
      meanAbs: total(t.totals[offset + 1]!) / entries,
      zeroFraction: total(t.totals[offset + 2]!) / entries,
    };
  };

  const layers: DynamicLayer[] = t.layers.map((layer, k) => {
    const [positive, absSum, max, sum, squares, notNaN] = t.totals.slice(k * LAYER_COUNTERS, (k + 1) * LAYER_COUNTERS) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    const examples = t.examples[k]!;
    const elements = examples * layer.units;
    const mean = total(sum) / elements;
    let gradient: DynamicLayer['gradient'];
    if (t.gradients.length > 0 && t.mode !== 'params') {
      const unitZeros = t.totals[gradientOffset(k) + 2]!;
      const sampled = t.gradientExamples[k]!;
      gradient = { ...gradientStats(k, sampled * layer.units), unitZeroFraction: unitZeros.map((z) => z / sampled) };
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
      sparsity: 1 - total(positive) / elements,
      preActivationMean: mean,
      preActivationStd: Math.sqrt(Math.max(total(squares) / elements - mean * mean, 0)),
      nanCount: elements - total(notNaN),
      channelSummary,
      gradient,
    };
  });

  const paramGradients = t.mode === 'params' && t.gradients.length > 0 ? t.params.map((p, k) => ({ name: p.name!, ...gradientStats(k, p.size * t.gradientBatches) })) : [];
  const examples = t.layers.length === 0 ? 0 : t.examples[0]!;
  return { kind: 'dynamic', layers, paramGradients, examples, batches: t.batches, gradientBatches: t.gradientBatches, threshold: t.threshold, tau: t.tau, cost: t.cost };
}
