// Evaluation of a model over a dataset through the dead-unit pass's dynamic
// analysis: one compiled executable per batch size computes the
// per-example loss and correctness together with the unit counters, and,
// when asked, the gradient statistics of the batch loss with respect to
// every activation. fit runs it on the validation set after every epoch and
// evaluate runs it on its examples, so the dead units they report are the
// analysis's own numbers.

import type { Feeds } from '../graph/feeds.ts';
import { graph } from '../graph/graph.ts';
import { sizeOf } from '../graph/shape.ts';
import { analyzeStatic } from '../../passes/dead-units.ts';
import { DynamicAnalyzer } from '../../passes/dead-units/dynamic.ts';
import type { DynamicReport, DynamicTotals } from '../../passes/dead-units/dynamic.ts';
import { summarizeLayers } from '../../passes/dead-units/report.ts';
import type { LayerSummary } from '../../passes/dead-units/report.ts';
import { correctPredictions } from './losses.ts';
import { threadsOption } from './steps.ts';
import type { Loss } from './losses.ts';
import { buildForward } from './model-graph.ts';
import type { ModelSpec } from './steps.ts';

/** The box of pixel values that `slope train` analyses statically: every pixel in [0, 1]. */
export const DEFAULT_ANALYSIS_BOX = { lower: 0, upper: 1 } as const;

/** One row of `slope dead-units --json`: a layer's counts, named by its model layer. */
export type DeadUnitRow = Omit<LayerSummary, 'id'>;

export interface UnitAnalysisOptions {
  loss: Loss;
  accuracy: boolean;
  /** Take gradient statistics of the batch loss with respect to every activation. */
  gradients: boolean;
  /** Take them on every k-th batch only (see the analysis's gradientEvery). */
  gradientEvery: number;
}

/** The results of one analysis of a dataset. */
export interface UnitAnalysisResult {
  /** Mean per-example loss. */
  loss: number;
  /** Fraction of examples classified right; present with the accuracy metric. */
  accuracy?: number;
  report: DynamicReport;
  /** One row per activation layer, as `slope dead-units --json` prints it. */
  layers: DeadUnitRow[];
  /** Per activation layer, the units never positive: per Dense neuron, per conv channel over every position. */
  deadUnits: Record<string, number>;
  /** Number of units of each layer in deadUnits: Dense neurons, conv channels. */
  units: Record<string, number>;
}

/** The instrumented forward pass of a model for one batch size, with its feed buffers. */
class AnalysisStep {
  readonly analyzer: DynamicAnalyzer;
  /** Model layer name of each analysed activation, by activation node id. */
  readonly layerNames: Map<number, string>;
  private readonly images: Float32Array;
  private readonly labels: Int32Array | Float32Array;
  private readonly labelSize: number;

  constructor(
    model: ModelSpec,
    readonly batchSize: number,
    options: UnitAnalysisOptions,
  ) {
    const g = graph(model.seed);
    const forward = buildForward(g, model.layers, model.inputShape, batchSize, { training: false, seed: model.seed });
    const labelShape = options.loss.labelShape(model.outputShape);
    const labels = g.input('labels', [batchSize, ...labelShape], options.loss.labelDType);
    const outputs = [options.loss.perExample(forward.output, labels)];
    if (options.accuracy) outputs.push(correctPredictions(forward.output, labels));

    const params: Record<string, Float32Array> = {};
    for (const p of forward.params) params[p.name] = model.weights.get(p.name)!;
    this.analyzer = new DynamicAnalyzer(outputs, {
      params,
      compile: { backend: model.backend, ...threadsOption(model) },
      ...(options.gradients ? { loss: options.loss.batchMean(forward.output, labels), gradientEvery: options.gradientEvery } : {}),
    });

    const byPreActivation = new Map([...forward.units].map(([name, z]) => [z.id, name]));
    this.layerNames = new Map(this.analyzer.layers.map((l) => [l.node.id, byPreActivation.get(l.preActivation.id) ?? l.name]));
    this.labelSize = sizeOf(labelShape);
    this.images = new Float32Array(batchSize * sizeOf(model.inputShape));
    this.labels = options.loss.labelDType === 'int32' ? new Int32Array(batchSize * this.labelSize) : new Float32Array(batchSize * this.labelSize);
  }

  /** Runs the examples [start, start + batchSize) and returns their per-example outputs. */
  add(totals: DynamicTotals, images: Float32Array, labels: Int32Array | Float32Array, start: number) {
    const size = this.images.length / this.batchSize;
    this.images.set(images.subarray(start * size, (start + this.batchSize) * size));
    this.labels.set(labels.subarray(start * this.labelSize, (start + this.batchSize) * this.labelSize));
    const feeds: Feeds = { x: this.images, labels: this.labels };
    return this.analyzer.add(totals, feeds);
  }
}

/**
 * Splits `count` examples into batches of at most `maxBatch`: equal full
 * batches, and one smaller last batch only when they do not divide `count`.
 * Counts are summed over examples, so every example counts once.
 */
export function analysisBatches(count: number, maxBatch: number): { batchSize: number; full: number; rest: number } {
  const batchSize = Math.ceil(count / Math.ceil(count / maxBatch));
  const full = Math.floor(count / batchSize);
  return { batchSize, full, rest: count - full * batchSize };
}

/** The dead-unit analysis of a model over datasets of one size, compiled once and run with the model's current weights. */
export class UnitAnalysis {
  private readonly main: AnalysisStep;
  private readonly last: AnalysisStep | undefined;
  private readonly full: number;

  constructor(model: ModelSpec, readonly count: number, maxBatch: number, readonly options: UnitAnalysisOptions) {
    const { batchSize, full, rest } = analysisBatches(count, maxBatch);
    this.main = new AnalysisStep(model, batchSize, options);
    this.last = rest === 0 ? undefined : new AnalysisStep(model, rest, options);
    this.full = full;
  }

  /** Analyses the examples with these weights; the example count must be the one the analysis was built for. */
  run(images: Float32Array, labels: Int32Array | Float32Array, weights: ReadonlyMap<string, Float32Array>): UnitAnalysisResult {
    const params = Object.fromEntries(weights);
    this.main.analyzer.setParams(params);
    this.last?.analyzer.setParams(params);

    let lossSum = 0;
    let correct = 0;
    const totals = this.main.analyzer.start();
    const addOutputs = ([loss, right]: ArrayLike<number>[]) => {
      for (let i = 0; i < loss!.length; i++) lossSum += loss![i]!;
      if (right !== undefined) for (let i = 0; i < right.length; i++) correct += right[i]!;
    };
    for (let b = 0; b < this.full; b++) addOutputs(this.main.add(totals, images, labels, b * this.main.batchSize));
    if (this.last !== undefined) addOutputs(this.last.add(totals, images, labels, this.full * this.main.batchSize));

    const report = this.main.analyzer.finish(totals);
    const count = this.count;
    const rows = summarizeLayers(report).map(({ id, ...row }) => ({ ...row, name: this.main.layerNames.get(id) ?? row.name }));
    const deadUnits: Record<string, number> = {};
    const units: Record<string, number> = {};
    for (const row of rows) {
      deadUnits[row.name] = row.channels?.dead ?? row.dead ?? 0;
      units[row.name] = row.channels?.units ?? row.units;
    }
    const result: UnitAnalysisResult = { loss: lossSum / count, report, layers: rows, deadUnits, units };
    if (this.options.accuracy) result.accuracy = correct / count;
    return result;
  }
}

/**
 * Runs the static analysis of a model over a box of input values (the same
 * bounds for every input element) with its current weights, and returns one
 * row per activation layer: dead, always active and unstable units.
 */
export function analyzeModelStatic(model: ModelSpec, lower: number, upper: number): DeadUnitRow[] {
  const g = graph(model.seed);
  // One example: the box is the same for every batch row, and back-substitution costs the square of the batch.
  const forward = buildForward(g, model.layers, model.inputShape, 1, { training: false, seed: model.seed });
  const params: Record<string, Float32Array> = {};
  for (const p of forward.params) params[p.name] = model.weights.get(p.name)!;
  const report = analyzeStatic(forward.output, { region: { x: { lower, upper } }, params });
  const byPreActivation = new Map([...forward.units].map(([name, z]) => [z.id, name]));
  const names = new Map(report.layers.map((l) => [l.node.id, byPreActivation.get(l.preActivation.id) ?? l.name]));
  return summarizeLayers(report).map(({ id, ...row }) => ({ ...row, name: names.get(id) ?? row.name }));
}

/**
 * Merges static rows into dynamic rows of the same layer names, as
 * `slope dead-units --box ... --data ...` merges its two reports: `dead` is
 * then the static count, proven for the whole box, and `neverPositive` the
 * dynamic one.
 */
export function mergeStaticRows(dynamic: readonly DeadUnitRow[], statics: readonly DeadUnitRow[]): DeadUnitRow[] {
  const byName = new Map(statics.map((row) => [row.name, row]));
  const merged = dynamic.map((row) => {
    const proven = byName.get(row.name);
    if (proven === undefined) return { ...row };
    byName.delete(row.name);
    const channels = row.channels === null || proven.channels === null ? (row.channels ?? proven.channels) : { ...row.channels, dead: proven.channels.dead, alwaysActive: proven.channels.alwaysActive, unstable: proven.channels.unstable };
    return { ...row, dead: proven.dead, alwaysActive: proven.alwaysActive, unstable: proven.unstable, neverPositive: row.dead, channels };
  });
  return [...merged, ...byName.values()];
}
