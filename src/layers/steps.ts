// The two executables a model compiles: the training step (forward pass,
// loss, gradients and optimizer update in one executable) and the inference
// step (forward pass, and optionally per-example loss and correctness). Both
// have a fixed batch size, as every compiled shape is static.

import type { BackendName } from '../backend/backend.ts';
import type { FeedValue } from '../graph/feeds.ts';
import { graph } from '../graph/graph.ts';
import { Rng } from '../graph/init.ts';
import type { Node } from '../graph/node.ts';
import { sizeOf } from '../graph/shape.ts';
import type { Shape } from '../graph/shape.ts';
import { compile } from '../runtime/executable.ts';
import type { Executable, OutputArray } from '../runtime/executable.ts';
import { grad } from '../../passes/grad.ts';
import { correctPredictions } from './losses.ts';
import type { Loss } from './losses.ts';
import { buildForward } from './model-graph.ts';
import type { ForwardGraph } from './model-graph.ts';
import type { Layer } from './layer.ts';
import type { Optimizer } from './optimizers.ts';

/** The parts of a model that a step reads. */
export interface ModelSpec {
  layers: readonly Layer[];
  inputShape: Shape;
  outputShape: Shape;
  seed: number;
  /** Current values of the model's params, by name. */
  weights: ReadonlyMap<string, Float32Array>;
  /** The backend that compiles the steps. */
  backend: BackendName;
  /** The wasm backend's `threads` option; undefined for its default. */
  threads?: number | undefined;
}

/** Returns the compile option that carries a model's thread count, or none when the model sets none. */
export function threadsOption(model: { threads?: number | undefined }): { threads?: number } {
  return model.threads === undefined ? {} : { threads: model.threads };
}

/** Name prefix of optimizer state params, so they never clash with layer params (whose names start with a layer name). */
export const OPTIMIZER_STATE_PREFIX = 'optimizer/';

/** Results of one training step. */
export interface TrainStepResult {
  /** Mean loss over the batch, before the update. */
  loss: number;
  /** Number of examples whose largest output is the labelled class; NaN without the accuracy metric. */
  correct: number;
  /** L2 norm of each layer's gradient (all its params together), in `gradNormLayers` order. */
  gradNorms: Float64Array;
}

function feedsOf(forward: ForwardGraph): Map<string, Float32Array> {
  const feeds = new Map<string, Float32Array>();
  for (const [name, node] of forward.noise) feeds.set(name, new Float32Array(node.size));
  return feeds;
}

/** One compiled training step: forward, backward and update. */
export class TrainStep {
  readonly executable: Executable;
  readonly batchSize: number;
  /** Layers with params, in model order; gradient norms come in this order. */
  readonly gradNormLayers: readonly string[];
  /** Names of the optimizer's state params. */
  readonly stateNames: readonly string[];
  private readonly paramNames: readonly string[];
  private readonly noise: Map<string, Float32Array>;

  constructor(model: ModelSpec, batchSize: number, options: { loss: Loss; optimizer: Optimizer; accuracy: boolean; optimizerState: ReadonlyMap<string, Float32Array> }) {
    this.batchSize = batchSize;
    const g = graph(model.seed);
    const forward = buildForward(g, model.layers, model.inputShape, batchSize, { training: true, seed: model.seed });
    const labels = g.input('labels', [batchSize, ...options.loss.labelShape(model.outputShape)], options.loss.labelDType);
    const loss = options.loss.batchMean(forward.output, labels).named('loss');

    const params = forward.params.map((p) => forward.paramNodes.get(p.name)!);
    const grads = grad(loss, params);

    const stateNames: string[] = [];
    const createState = (name: string, shape: Shape): Node => {
      const fullName = `${OPTIMIZER_STATE_PREFIX}${name}`;
      stateNames.push(fullName);
      return g.param(fullName, shape, { init: 'zeros' });
    };
    const updates = options.optimizer.updates(params, grads, createState);

    const outputs: Node[] = [loss];
    outputs.push(options.accuracy ? correctPredictions(forward.output, labels).cast('float32').sum().named('correct') : g.constant(NaN));

    const layers = [...new Set(forward.params.map((p) => p.layer))];
    for (const layer of layers) {
      const squares = forward.params.flatMap((p, i) => (p.layer === layer ? [grads[i]!.square().sum()] : []));
      outputs.push(squares.reduce((a, b) => a.add(b)).sqrt().named(`${layer}/gradNorm`));
    }

    const initial: Record<string, Float32Array> = {};
    for (const p of forward.params) initial[p.name] = model.weights.get(p.name)!;
    for (const name of stateNames) {
      const saved = options.optimizerState.get(name);
      if (saved !== undefined && saved.length === sizeOf(g.sources.get(name)!.shape)) initial[name] = saved;
    }

    this.executable = compile(outputs, { updates, params: initial, backend: model.backend, ...threadsOption(model) });
    this.gradNormLayers = layers;
    this.stateNames = stateNames;
    this.paramNames = forward.params.map((p) => p.name);
    this.noise = feedsOf(forward);
  }

  /** Runs one step on a full batch; `random` draws the dropout masks. */
  run(images: Float32Array, labels: Int32Array | Float32Array, random: Rng): TrainStepResult {
    const feeds: Record<string, FeedValue> = { x: images, labels };
    for (const [name, values] of this.noise) {
      for (let i = 0; i < values.length; i++) values[i] = random.next();
      feeds[name] = values;
    }
    const [loss, correct, ...norms] = this.executable.run(feeds);
    return { loss: loss![0]!, correct: correct![0]!, gradNorms: Float64Array.from(norms, (n) => n[0]!) };
  }

  /** Copies the current param values out of the executable. */
  readWeights(into: Map<string, Float32Array>): void {
    for (const name of this.paramNames) into.set(name, this.executable.getParam(name) as Float32Array);
  }

  /** Copies the optimizer state out of the executable. */
  readOptimizerState(into: Map<string, Float32Array>): void {
    for (const name of this.stateNames) into.set(name, this.executable.getParam(name) as Float32Array);
  }
}

/** Outputs of an inference step for one batch, trimmed to its real examples. */
export interface InferenceResult {
  output: OutputArray;
  loss?: OutputArray;
  correct?: OutputArray;
}

/** One compiled forward pass, with the extra per-example outputs evaluation needs. */
export class InferenceStep {
  readonly executable: Executable;
  readonly batchSize: number;
  private readonly exampleSize: number;
  /** Whether the step computes the per-example loss and correctness. */
  readonly hasLoss: boolean;
  readonly hasAccuracy: boolean;
  private readonly batch: Float32Array;
  private readonly labelBatch: Int32Array | Float32Array | undefined;
  private readonly labelSize: number;

  constructor(model: ModelSpec, batchSize: number, options: { loss?: Loss; accuracy?: boolean } = {}) {
    this.batchSize = batchSize;
    const g = graph(model.seed);
    const forward = buildForward(g, model.layers, model.inputShape, batchSize, { training: false, seed: model.seed });
    const outputs: Node[] = [forward.output];

    this.hasLoss = options.loss !== undefined;
    this.hasAccuracy = options.loss !== undefined && options.accuracy === true;
    let labelShape: Shape = [];
    if (options.loss !== undefined) {
      labelShape = options.loss.labelShape(model.outputShape);
      const labels = g.input('labels', [batchSize, ...labelShape], options.loss.labelDType);
      outputs.push(options.loss.perExample(forward.output, labels));
      if (this.hasAccuracy) outputs.push(correctPredictions(forward.output, labels));
      this.labelBatch = options.loss.labelDType === 'int32' ? new Int32Array(batchSize * sizeOf(labelShape)) : new Float32Array(batchSize * sizeOf(labelShape));
    }
    this.labelSize = sizeOf(labelShape);

    const params: Record<string, Float32Array> = {};
    for (const p of forward.params) params[p.name] = model.weights.get(p.name)!;
    this.executable = compile(outputs, { params, backend: model.backend, ...threadsOption(model) });
    this.exampleSize = sizeOf(model.inputShape);
    this.batch = new Float32Array(batchSize * this.exampleSize);
  }

  /** Sets the params from the model's current weights. */
  loadWeights(weights: ReadonlyMap<string, Float32Array>): void {
    for (const [name, values] of weights) this.executable.setParam(name, values);
  }

  /**
   * Runs the examples [start, start + count) of `images` (and `labels`), with
   * count at most the batch size. A short batch is padded by repeating its
   * own examples; per-example outputs are trimmed to `count`.
   */
  run(images: Float32Array, start: number, count: number, labels?: Int32Array | Float32Array): InferenceResult {
    const size = this.exampleSize;
    for (let row = 0; row < this.batchSize; row++) {
      const source = start + (row % count);
      this.batch.set(images.subarray(source * size, (source + 1) * size), row * size);
    }
    const feeds: Record<string, FeedValue> = { x: this.batch };
    if (this.hasLoss) {
      const labelBatch = this.labelBatch!;
      for (let row = 0; row < this.batchSize; row++) {
        const source = start + (row % count);
        labelBatch.set(labels!.subarray(source * this.labelSize, (source + 1) * this.labelSize), row * this.labelSize);
      }
      feeds['labels'] = labelBatch;
    }

    const results = this.executable.run(feeds);
    const outputSize = results[0]!.length / this.batchSize;
    let next = 1;
    const result: InferenceResult = { output: results[0]!.subarray(0, count * outputSize) };
    if (this.hasLoss) result.loss = results[next++]!.subarray(0, count);
    if (this.hasAccuracy) result.correct = results[next++]!.subarray(0, count);
    return result;
  }
}
