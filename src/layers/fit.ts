// The training loop and evaluation over whole datasets, on top of the
// compiled training and inference steps.
//
// Each epoch shuffles the training set with a seed derived from the fit seed
// and the epoch, runs one compiled step per full batch, copies the trained
// params back into the model, and evaluates the validation set. With the
// same seed, data and backend, two runs give the same params bit for bit:
// the kernels run in a fixed order and every random draw (initializers,
// shuffles, dropout masks) comes from a seeded generator.

import { describeValue } from '../ops/check.ts';
import { shuffledIndices } from '../data/random.ts';
import { Rng } from '../graph/init.ts';
import { formatShape, sizeOf } from '../graph/shape.ts';
import type { Shape } from '../graph/shape.ts';
import { LayerError } from './errors.ts';
import type { Loss } from './losses.ts';
import type { EpochLog, ProgressReporter } from './progress.ts';
import type { Sequential } from './sequential.ts';
import { InferenceStep, TrainStep } from './steps.ts';
import type { ModelSpec } from './steps.ts';
import { DEFAULT_GRADIENT_EVERY } from '../../passes/dead-units/dynamic.ts';
import { UnitAnalysis } from './unit-analysis.ts';
import type { DeadUnitRow, UnitAnalysisOptions } from './unit-analysis.ts';

/** Examples for fit and evaluate. A data module Dataset is one. */
export interface Examples {
  /** The examples' values, row-major: count × the model's input size. */
  images: Float32Array;
  /** int32 class indices (softmaxCrossEntropy) or float32 targets of the output's size per example (meanSquaredError). */
  labels: Int32Array | Float32Array;
  count: number;
  /** Image height, width and channels; they give the input shape of a model built without one. */
  height?: number;
  width?: number;
  channels?: number;
}

export interface FitOptions {
  /** Defaults to 1. */
  epochs?: number;
  /** Defaults to 32, or the example count if smaller. */
  batchSize?: number;
  /** Evaluated after every epoch: loss, accuracy and dead units. */
  validation?: Examples;
  /** Shuffle the training set every epoch; defaults to true. */
  shuffle?: boolean;
  /** Seed of the shuffles and dropout masks; defaults to the model's seed. */
  seed?: number;
  /**
   * Report the dead-unit analysis of the validation set after every epoch:
   * counts per unit and the gradient statistics of the validation loss with
   * respect to every activation. Defaults to true. With false, the logs have
   * no dead-unit fields and no gradients are taken, but the validation loss
   * and accuracy still come from the analysis's executable, counters included.
   */
  deadUnits?: boolean;
  /**
   * Take the analysis's gradient statistics on every k-th validation batch
   * only, so they are estimates from those batches; counts stay exact.
   * Defaults to the analysis's DEFAULT_GRADIENT_EVERY.
   */
  gradientEvery?: number;
  /**
   * Largest batch of validation; defaults to 256. The examples are split into
   * equal batches of at most this size (and one smaller batch when they do not
   * divide evenly). It changes speed and the gradient statistics, which are
   * per batch, but not the loss, accuracy or counts.
   */
  validationBatchSize?: number;
  /** Called after every epoch, after the progress reporter; fit awaits it. */
  onEpochEnd?: (log: EpochLog) => void | Promise<void>;
  /**
   * Progress reporting. 'auto' (the default) draws a progress bar on stderr
   * when stderr is a terminal and prints one line per epoch otherwise, and
   * reports nothing where there is no process.stderr (a browser). false
   * reports nothing.
   */
  progress?: 'auto' | false | ProgressReporter;
}

export interface History {
  epochs: EpochLog[];
  /** The compiled training step, for reading its kernels and report. */
  trainStep: TrainStep;
  /** Examples skipped per epoch because they did not fill a batch. */
  skippedPerEpoch: number;
}

export interface EvaluateOptions {
  /** Defaults to 256. It changes speed only, not results. */
  batchSize?: number;
}

export interface Evaluation {
  loss: number;
  /** Present when the model was compiled with the accuracy metric. */
  accuracy?: number;
  /** Units never positive over the examples, by activation layer; see EpochLog.deadUnits. */
  deadUnits: Record<string, number>;
  units: Record<string, number>;
  /** The dead-unit analysis per activation layer, in the row shape of `slope dead-units --json`. */
  layers: DeadUnitRow[];
}

function positiveInteger(value: number, option: string, where: string): number {
  if (!Number.isInteger(value) || value < 1) throw new LayerError(`Error in ${where}: ${option} must be a positive integer, got ${describeValue(value)}`);
  return value;
}

function inputShapeOf(data: Examples): Shape | undefined {
  const { height, width, channels } = data;
  return height !== undefined && width !== undefined && channels !== undefined ? [height, width, channels] : undefined;
}

/** Raises LayerError unless the examples fit the model and the loss. */
function checkExamples(data: Examples, spec: ModelSpec, loss: Loss | undefined, where: string): void {
  if (typeof data !== 'object' || data === null || !(data.images instanceof Float32Array)) {
    throw new LayerError(`Error in ${where}: data must be { images: Float32Array, labels, count }, got ${String(data)}`);
  }
  if (!Number.isInteger(data.count) || data.count < 1) throw new LayerError(`Error in ${where}: data.count must be a positive integer, got ${describeValue(data.count)}`);
  const exampleSize = sizeOf(spec.inputShape);
  if (data.images.length !== data.count * exampleSize) {
    throw new LayerError(`Error in ${where}: ${data.count} examples of shape ${formatShape(spec.inputShape)} need ${data.count * exampleSize} values, but images has ${data.images.length}`);
  }
  if (loss === undefined) return;

  const labelSize = sizeOf(loss.labelShape(spec.outputShape));
  const expectedType = loss.labelDType === 'int32' ? Int32Array : Float32Array;
  if (!(data.labels instanceof expectedType)) {
    throw new LayerError(`Error in ${where}: the ${loss.name} loss needs labels as a ${expectedType.name}, got ${data.labels?.constructor?.name ?? typeof data.labels}`);
  }
  if (data.labels.length !== data.count * labelSize) {
    throw new LayerError(`Error in ${where}: ${data.count} examples need ${data.count * labelSize} label values, but labels has ${data.labels.length}`);
  }
  if (loss.labelDType === 'int32') {
    const classes = spec.outputShape[0]!;
    const bad = data.labels.findIndex((label) => !(label >= 0 && label < classes));
    if (bad >= 0) throw new LayerError(`Error in ${where}: label ${data.labels[bad]} of example ${bad} is not a class index in [0, ${classes}) of the model's ${classes} outputs`);
  }
}

async function resolveProgress(option: FitOptions['progress']): Promise<ProgressReporter | undefined> {
  if (option === false) return undefined;
  if (option !== undefined && option !== 'auto') return option;
  const stderr = (globalThis as { process?: { stderr?: unknown } }).process?.stderr;
  if (stderr === undefined) return undefined;
  // Loaded on demand, so code that runs in a browser never imports the Node module. The specifier is
  // a variable so that bundlers leave the import alone instead of bundling cli-progress for a browser.
  const nodeProgress = './progress-node.ts';
  const { terminalProgress } = (await import(nodeProgress)) as typeof import('./progress-node.ts');
  return terminalProgress();
}

/** Copies the examples at order[start .. start + count) into the batch buffers. */
function gather(data: Examples, order: Int32Array, start: number, count: number, exampleSize: number, labelSize: number, images: Float32Array, labels: Int32Array | Float32Array): void {
  for (let row = 0; row < count; row++) {
    const index = order[start + row]!;
    images.set(data.images.subarray(index * exampleSize, (index + 1) * exampleSize), row * exampleSize);
    labels.set(data.labels.subarray(index * labelSize, (index + 1) * labelSize), row * labelSize);
  }
}

const inferenceCache = new WeakMap<Sequential, Map<number, InferenceStep>>();

/** Returns a cached inference step of the model; layers never change after build, so a step stays valid. */
function inferenceStep(model: Sequential, batchSize: number): InferenceStep {
  let steps = inferenceCache.get(model);
  if (steps === undefined) inferenceCache.set(model, (steps = new Map()));
  let step = steps.get(batchSize);
  if (step === undefined) steps.set(batchSize, (step = new InferenceStep(model.spec(), batchSize)));
  step.loadWeights(model.weights);
  return step;
}

const analysisCache = new WeakMap<Sequential, Map<string, UnitAnalysis>>();

/** Returns a cached dead-unit analysis of the model for `count` examples. */
function unitAnalysis(model: Sequential, count: number, maxBatch: number, options: UnitAnalysisOptions): UnitAnalysis {
  let analyses = analysisCache.get(model);
  if (analyses === undefined) analysisCache.set(model, (analyses = new Map()));
  const key = `${count}/${maxBatch}/${options.loss.name}/${options.accuracy}/${options.gradients}/${options.gradientEvery}`;
  let analysis = analyses.get(key);
  if (analysis === undefined) analyses.set(key, (analysis = new UnitAnalysis(model.spec(), count, maxBatch, options)));
  return analysis;
}

/** Evaluates the examples through the dead-unit analysis with the model's current weights. */
function evaluateWith(analysis: UnitAnalysis, model: Sequential, data: Examples): Evaluation {
  const result = analysis.run(data.images, data.labels, model.weights);
  const evaluation: Evaluation = { loss: result.loss, deadUnits: result.deadUnits, units: result.units, layers: result.layers };
  if (result.accuracy !== undefined) evaluation.accuracy = result.accuracy;
  return evaluation;
}

export async function fitModel(model: Sequential, data: Examples, options: FitOptions): Promise<History> {
  const spec = model.spec(inputShapeOf(data));
  const config = model.training;
  checkExamples(data, spec, config.loss, 'fit');
  if (options.validation !== undefined) checkExamples(options.validation, spec, config.loss, 'fit (validation)');
  const epochs = positiveInteger(options.epochs ?? 1, 'epochs', 'fit');
  const batchSize = Math.min(positiveInteger(options.batchSize ?? 32, 'batchSize', 'fit'), data.count);
  const validationBatchSize = positiveInteger(options.validationBatchSize ?? 256, 'validationBatchSize', 'fit');
  const gradientEvery = positiveInteger(options.gradientEvery ?? DEFAULT_GRADIENT_EVERY, 'gradientEvery', 'fit');
  const seed = options.seed ?? model.seed;
  if (!Number.isSafeInteger(seed)) throw new LayerError(`Error in fit: seed must be an integer, got ${describeValue(seed)}`);

  const step = new TrainStep(spec, batchSize, { ...config, optimizerState: model.optimizerState });
  const validation = options.validation;
  const analysisOptions = { loss: config.loss, accuracy: config.accuracy, gradients: options.deadUnits ?? true, gradientEvery };
  const evaluator = validation === undefined ? undefined : unitAnalysis(model, validation.count, validationBatchSize, analysisOptions);
  const reporter = await resolveProgress(options.progress);

  const exampleSize = sizeOf(spec.inputShape);
  const labelSize = sizeOf(config.loss.labelShape(spec.outputShape));
  const images = new Float32Array(batchSize * exampleSize);
  const labels = config.loss.labelDType === 'int32' ? new Int32Array(batchSize * labelSize) : new Float32Array(batchSize * labelSize);
  // NOTE: examples that do not fill a last batch are skipped in that epoch; with shuffling, other examples are skipped in each epoch.
  const steps = Math.floor(data.count / batchSize);
  const dropout = new Rng(seed ^ 0x5bd1e995);
  const inOrder = Int32Array.from({ length: data.count }, (_, i) => i);
  const logs: EpochLog[] = [];

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const order = options.shuffle === false ? inOrder : shuffledIndices(data.count, (seed + epoch - 1) >>> 0);
    reporter?.epochStart?.({ epoch, epochs, steps });
    let lossSum = 0;
    let correct = 0;
    const normSums = new Float64Array(step.gradNormLayers.length);

    const started = performance.now();
    for (let s = 0; s < steps; s++) {
      gather(data, order, s * batchSize, batchSize, exampleSize, labelSize, images, labels);
      const result = step.run(images, labels, dropout);
      lossSum += result.loss;
      correct += result.correct;
      result.gradNorms.forEach((norm, i) => (normSums[i] += norm));
      const accuracy = config.accuracy ? correct / ((s + 1) * batchSize) : undefined;
      reporter?.batchEnd?.({ epoch, step: s + 1, steps, loss: lossSum / (s + 1), ...(accuracy === undefined ? {} : { accuracy }) });
    }
    const seconds = (performance.now() - started) / 1000;

    const trained = new Map<string, Float32Array>();
    step.readWeights(trained);
    model.setWeights(trained);

    const log: EpochLog = { epoch, loss: lossSum / steps, imagesPerSecond: (steps * batchSize) / seconds, seconds, deadUnits: {}, units: {}, gradNorms: {} };
    if (config.accuracy) log.trainAccuracy = correct / (steps * batchSize);
    step.gradNormLayers.forEach((layer, i) => (log.gradNorms[layer] = normSums[i]! / steps));
    if (evaluator !== undefined) {
      const evaluation = evaluateWith(evaluator, model, validation!);
      log.valLoss = evaluation.loss;
      if (evaluation.accuracy !== undefined) log.valAccuracy = evaluation.accuracy;
      if (options.deadUnits ?? true) {
        log.deadUnits = evaluation.deadUnits;
        log.units = evaluation.units;
        log.deadUnitReport = { layers: evaluation.layers };
      }
    }
    logs.push(log);
    reporter?.epochEnd?.(log, { epochs });
    await options.onEpochEnd?.(log);
    // Let timers and I/O run between epochs (a browser repaints, a terminal redraws).
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  step.readOptimizerState(model.optimizerState);
  return { epochs: logs, trainStep: step, skippedPerEpoch: data.count - steps * batchSize };
}

export function evaluateModel(model: Sequential, data: Examples, options: EvaluateOptions): Evaluation {
  const spec = model.spec(inputShapeOf(data));
  const config = model.training;
  checkExamples(data, spec, config.loss, 'evaluate');
  const batchSize = Math.min(positiveInteger(options.batchSize ?? 256, 'batchSize', 'evaluate'), data.count);
  return evaluateWith(unitAnalysis(model, data.count, batchSize, { loss: config.loss, accuracy: config.accuracy, gradients: false, gradientEvery: 1 }), model, data);
}

export function predictModel(model: Sequential, images: Float32Array, options: { batchSize?: number }): Float32Array {
  if (!(images instanceof Float32Array)) throw new LayerError(`Error in predict: images must be a Float32Array, got ${String(images)}`);
  const spec = model.spec();
  const exampleSize = sizeOf(spec.inputShape);
  if (images.length === 0 || images.length % exampleSize !== 0) {
    throw new LayerError(`Error in predict: images has ${images.length} values, which is not a positive multiple of the example size ${exampleSize} (shape ${formatShape(spec.inputShape)})`);
  }
  const count = images.length / exampleSize;
  const batchSize = Math.min(positiveInteger(options.batchSize ?? 256, 'batchSize', 'predict'), count);
  const step = inferenceStep(model, batchSize);
  const outputSize = sizeOf(spec.outputShape);
  const outputs = new Float32Array(count * outputSize);
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    outputs.set(step.run(images, start, n).output, start * outputSize);
  }
  return outputs;
}
