// One training run of `slope train`: the small CNN with one activation,
// trained with Adam, with its per-epoch logs, its compiled training step's
// kernels and their measured times.

import type { Dataset } from '../data/dataset.ts';
import { Adam, analyzeModelStatic, Conv2D, DEFAULT_ANALYSIS_BOX, Dense, Dropout, Flatten, LeakyReLU, MaxPooling2D, mergeStaticRows, sequential } from '../layers/index.ts';
import type { DeadUnitRow, Layer } from '../layers/index.ts';
import type { ActivationSpec, EpochLog, ProgressReporter, Sequential } from '../index.ts';

export type ActivationChoice = 'relu' | 'leaky_relu';

/** The settings every run of one `slope train` shares. */
export interface TrainConfig {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Inverse-time decay of the learning rate per step (see Adam's decay option). */
  decay: number;
  /** Slope of LeakyReLU runs. */
  alpha: number;
  seed: number;
  backend: 'js' | 'wasm';
  /** Filters of the two conv layers. */
  filters: readonly [number, number];
  /** Units of the hidden dense layer. */
  denseUnits: number;
  /** Dropout rate after Flatten and after the hidden dense layer; 0 for none. */
  dropout: number;
}

/** One epoch as `slope train` reports it; accuracies are fractions in [0, 1]. */
export interface EpochSummary {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  valLoss: number;
  valAccuracy: number;
  imagesPerSecond: number;
  seconds: number;
  deadUnits: Record<string, number>;
  units: Record<string, number>;
  gradNorms: Record<string, number>;
  /** The dead-unit analysis of the validation set after the epoch, as `slope dead-units --json` prints it. */
  deadUnitReport: { layers: DeadUnitRow[] };
}

/** A kernel of the compiled training step with its measured time per step. */
export interface KernelSummary {
  name: string;
  summary: string;
  flops: number;
  bytes: number;
  msPerStep: number;
}

export interface RunResult {
  activation: ActivationChoice;
  /** 0 for relu. */
  alpha: number;
  epochs: EpochSummary[];
  /** Wall time of the run, data loading excluded, in seconds. */
  seconds: number;
  params: number;
  layers: string;
  kernels: KernelSummary[];
  /** The compiler's report of the training step: passes, fusion, memory. */
  compileReport: string;
  /**
   * The dead-unit analysis of the trained model, as `slope dead-units --box
   * LO,HI --data ... --json` prints it: dead, always active and unstable
   * units proven over the box of pixel values, merged with the last epoch's
   * validation analysis (never positive, dying, sparsity, gradient norm).
   */
  deadUnitReport: { box: { lower: number; upper: number }; seconds: number; layers: DeadUnitRow[] };
}

/**
 * Builds the CNN of `slope train`: two 3x3 convolutions ('valid' padding),
 * each followed by 2x2 max pooling, then a hidden dense layer and 10 logits.
 * Every hidden layer uses the run's activation.
 */
export function buildCnn(activation: ActivationChoice, config: Pick<TrainConfig, 'alpha' | 'seed' | 'filters' | 'denseUnits' | 'dropout'>, inputShape: readonly number[]): Sequential {
  const act = (): ActivationSpec => (activation === 'relu' ? 'relu' : new LeakyReLU({ alpha: config.alpha }));
  const dropout = (): Layer[] => (config.dropout > 0 ? [new Dropout({ rate: config.dropout })] : []);
  return sequential(
    [
      new Conv2D({ filters: config.filters[0], kernelSize: 3, activation: act(), kernelInitializer: 'heNormal' }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: config.filters[1], kernelSize: 3, activation: act(), kernelInitializer: 'heNormal' }),
      new MaxPooling2D({ poolSize: 2 }),
      new Flatten(),
      ...dropout(),
      new Dense({ units: config.denseUnits, activation: act(), kernelInitializer: 'heNormal' }),
      ...dropout(),
      new Dense({ units: 10 }),
    ],
    { inputShape, seed: config.seed },
  );
}

function summarizeEpoch(log: EpochLog): EpochSummary {
  return {
    epoch: log.epoch,
    loss: log.loss,
    trainAccuracy: log.trainAccuracy!,
    valLoss: log.valLoss!,
    valAccuracy: log.valAccuracy!,
    imagesPerSecond: log.imagesPerSecond,
    seconds: log.seconds,
    deadUnits: log.deadUnits,
    units: log.units,
    gradNorms: log.gradNorms,
    deadUnitReport: log.deadUnitReport!,
  };
}

/** Trains the CNN with one activation and returns its logs and kernel profile. */
export async function trainRun(activation: ActivationChoice, data: { train: Dataset; validation: Dataset }, config: TrainConfig, progress: ProgressReporter | false, threads?: number): Promise<RunResult> {
  const started = performance.now();
  const { train, validation } = data;
  const model = buildCnn(activation, config, [train.height, train.width, train.channels]);
  model.compile({ optimizer: new Adam({ learningRate: config.learningRate, decay: config.decay }), loss: 'softmaxCrossEntropy', metrics: ['accuracy'], backend: config.backend, ...(threads === undefined ? {} : { threads }) });
  const history = await model.fit(train, { epochs: config.epochs, batchSize: config.batchSize, validation, seed: config.seed, progress });
  const seconds = (performance.now() - started) / 1000;

  // Profile the training step on its first batch; profile() leaves the params unchanged.
  const step = history.trainStep;
  const size = train.height * train.width * train.channels;
  const profileFeeds = { x: train.images.subarray(0, step.batchSize * size), labels: train.labels.subarray(0, step.batchSize) };
  const noise = Object.fromEntries(step.executable.graph.inputs.filter((n) => n.name!.endsWith('/noise')).map((n) => [n.name!, new Float32Array(n.size)]));
  const times = step.executable.profile({ ...profileFeeds, ...noise }, 3);
  const kernels = step.executable.kernels.map((k, i) => ({ name: k.name, summary: k.summary, flops: k.flops, bytes: k.bytes, msPerStep: times[i]!.ms }));

  const staticStarted = performance.now();
  const { lower, upper } = DEFAULT_ANALYSIS_BOX;
  const proven = analyzeModelStatic(model.spec(), lower, upper);
  const lastEpoch = history.epochs[history.epochs.length - 1]!;
  const deadUnitReport = { box: { lower, upper }, seconds: (performance.now() - staticStarted) / 1000, layers: mergeStaticRows(lastEpoch.deadUnitReport!.layers, proven) };

  return {
    activation,
    alpha: activation === 'relu' ? 0 : config.alpha,
    epochs: history.epochs.map(summarizeEpoch),
    seconds,
    params: model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
    layers: model.summary(),
    kernels,
    compileReport: step.executable.report(),
    deadUnitReport,
  };
}
