// The Sequential model: a stack of layers, the values of their params, and
// the Keras-style compile / fit / evaluate / predict on top of the training
// and inference steps.

import { describeValue } from '../ops/check.ts';
import type { BackendName } from '../backend/backend.ts';
import { graph } from '../graph/graph.ts';
import { initialize } from '../graph/init.ts';
import { formatShape, sizeOf } from '../graph/shape.ts';
import type { Shape } from '../graph/shape.ts';
import { LayerError } from './errors.ts';
import { evaluateModel, fitModel, predictModel } from './fit.ts';
import type { EvaluateOptions, Evaluation, Examples, FitOptions, History } from './fit.ts';
import { initSpec, Layer } from './layer.ts';
import { lossByName } from './losses.ts';
import type { Loss, LossName } from './losses.ts';
import { buildForward, paramSeed } from './model-graph.ts';
import type { ParamInfo } from './model-graph.ts';
import { optimizerByName } from './optimizers.ts';
import type { Optimizer } from './optimizers.ts';
import { InferenceStep, TrainStep } from './steps.ts';
import type { ModelSpec } from './steps.ts';

export interface SequentialOptions {
  /** Shape of one example without the batch axis, such as [28, 28, 1]; without it, fit, evaluate and predict take it from their data. */
  inputShape?: Shape;
  /** Seed of the param initializers and, unless fit is given its own, of shuffling and dropout. Defaults to 0. */
  seed?: number;
}

export interface CompileOptions {
  /** An optimizer instance, or 'sgd' or 'adam' with default options. */
  optimizer: Optimizer | 'sgd' | 'adam';
  loss: LossName;
  /** ['accuracy'] reports the fraction of examples whose largest output is the labelled class. */
  metrics?: readonly 'accuracy'[];
  /** The backend that compiles the training and inference steps: 'js' (default) or 'wasm'. */
  backend?: BackendName;
  /** wasm backend only: the `threads` option of the steps' executables. Default: one per core. */
  threads?: number;
}

/** The training configuration set by `compile`. */
export interface TrainingConfig {
  optimizer: Optimizer;
  loss: Loss;
  accuracy: boolean;
}

export class Sequential {
  readonly layers: Layer[] = [];
  /** The backend that compiles this model's steps; set by compile. */
  backend: BackendName = 'js';
  /** The wasm backend's `threads` option for this model's steps; set by compile, undefined for the default. */
  threads: number | undefined;
  readonly seed: number;
  private inputShapeValue: Shape | undefined;
  private outputShapeValue: Shape | undefined;
  private paramList: ParamInfo[] | undefined;
  private readonly weightValues = new Map<string, Float32Array>();
  /** Optimizer state (momentum, Adam moments) carried from one fit to the next; reset by compile. */
  readonly optimizerState = new Map<string, Float32Array>();
  private trainingConfig: TrainingConfig | undefined;

  constructor(layers: readonly Layer[] = [], options: SequentialOptions = {}) {
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new LayerError(`Error in sequential: seed must be an integer, got ${describeValue(seed)}`);
    this.seed = seed;
    for (const layer of layers) this.add(layer);
    if (options.inputShape !== undefined) this.build(options.inputShape);
  }

  /** Appends a layer; only before the model is built. */
  add(layer: Layer): this {
    if (this.paramList !== undefined) throw new LayerError(`Error in add: the model is already built; add layer ${layer.label} before the first build, fit, evaluate or predict`);
    if (!(layer instanceof Layer)) {
      throw new LayerError(`Error in add: expected a layer such as new Dense({ units: 10 }), got ${String(layer)}`);
    }
    if (this.layers.includes(layer)) throw new LayerError(`Error in add: layer ${layer.label} is already in the model; create a new layer to add another`);
    this.layers.push(layer);
    return this;
  }

  get built(): boolean {
    return this.paramList !== undefined;
  }

  /** Shape of one input example; raises LayerError before the model is built. */
  get inputShape(): Shape {
    return this.requireBuilt('inputShape').inputShape;
  }

  /** Shape of one output example; raises LayerError before the model is built. */
  get outputShape(): Shape {
    return this.requireBuilt('outputShape').outputShape;
  }

  /** The model's params in creation order: name, layer, shape and initializer. */
  get params(): readonly ParamInfo[] {
    return this.requireBuilt('params').params;
  }

  /**
   * Names the unnamed layers (dense_1, conv2d_1, ...), traces the layers once
   * to infer every shape, and initialises the params from the seed. Raises
   * LayerError on a duplicate layer name, and the op's error (ShapeError,
   * for example) on shapes that do not fit.
   */
  build(inputShape: Shape): this {
    if (this.paramList !== undefined) {
      if (formatShape(inputShape) !== formatShape(this.inputShapeValue!)) {
        throw new LayerError(`Error in build: the model was built for inputs of shape ${formatShape(this.inputShapeValue!)}, got ${formatShape(inputShape)}`);
      }
      return this;
    }
    if (this.layers.length === 0) throw new LayerError('Error in build: the model has no layers; pass them to sequential([...]) or add them');
    if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new LayerError(`Error in build: inputShape must be an array of positive integers (one example, without the batch axis), got ${describeValue(inputShape)}`);
    }
    this.nameLayers();

    const forward = buildForward(graph(this.seed), this.layers, inputShape, 1, { training: false, seed: this.seed });
    this.inputShapeValue = [...inputShape];
    this.outputShapeValue = forward.output.shape.slice(1);
    this.paramList = forward.params;
    forward.params.forEach((p, i) => {
      const spec = initSpec(p.initializer, paramSeed(this.seed, i), p.name);
      this.weightValues.set(p.name, Float32Array.from(initialize(spec, p.shape)));
    });
    return this;
  }

  private nameLayers(): void {
    const taken = new Set<string>();
    for (const layer of this.layers) {
      if (layer.name === undefined) continue;
      if (taken.has(layer.name)) throw new LayerError(`Error in build: two layers are named ${JSON.stringify(layer.name)}; layer names must be unique in a model`);
      taken.add(layer.name);
    }
    const counts = new Map<string, number>();
    for (const layer of this.layers) {
      if (layer.name !== undefined) continue;
      let name: string;
      do {
        const n = (counts.get(layer.namePrefix) ?? 0) + 1;
        counts.set(layer.namePrefix, n);
        name = `${layer.namePrefix}_${n}`;
      } while (taken.has(name));
      layer.name = name;
      taken.add(name);
    }
  }

  private requireBuilt(what: string): ModelSpec & { params: ParamInfo[] } {
    if (this.paramList === undefined) {
      throw new LayerError(`Error in ${what}: the model is not built yet; pass inputShape to sequential(), or call build(inputShape), fit, evaluate or predict first`);
    }
    return { layers: this.layers, inputShape: this.inputShapeValue!, outputShape: this.outputShapeValue!, seed: this.seed, weights: this.weightValues, params: this.paramList, backend: this.backend, threads: this.threads };
  }

  /** Returns the model as the training and inference steps see it, building it from `inputShape` first if needed. */
  spec(inputShape?: Shape): ModelSpec {
    if (this.paramList === undefined && inputShape !== undefined) this.build(inputShape);
    return this.requireBuilt('spec');
  }

  /** Returns a copy of every param's values, by name, in creation order. */
  getWeights(): Map<string, Float32Array> {
    const copies = new Map<string, Float32Array>();
    for (const p of this.params) copies.set(p.name, this.weightValues.get(p.name)!.slice());
    return copies;
  }

  /** Sets params by name; each must exist and have the right number of values. Others keep their values. */
  setWeights(weights: ReadonlyMap<string, ArrayLike<number>> | Readonly<Record<string, ArrayLike<number>>>): void {
    const entries = weights instanceof Map ? [...weights.entries()] : Object.entries(weights);
    const params = new Map(this.params.map((p) => [p.name, p]));
    for (const [name, values] of entries) {
      const param = params.get(name);
      if (param === undefined) throw new LayerError(`Error in setWeights: unknown param ${JSON.stringify(name)}; the model's params are ${[...params.keys()].join(', ')}`);
      if (values.length !== sizeOf(param.shape)) {
        throw new LayerError(`Error in setWeights: param ${JSON.stringify(name)} of shape ${formatShape(param.shape)} needs ${sizeOf(param.shape)} values, got ${values.length}`);
      }
    }
    for (const [name, values] of entries) this.weightValues.set(name, Float32Array.from(values));
  }

  /** The live values of the params, for the steps; callers must not keep them across a fit. */
  get weights(): ReadonlyMap<string, Float32Array> {
    return this.weightValues;
  }

  /** Sets the optimizer, loss and metrics that fit and evaluate use; resets the optimizer state. */
  compile(options: CompileOptions): this {
    const optimizer = typeof options.optimizer === 'string' ? optimizerByName(options.optimizer) : options.optimizer;
    if (typeof optimizer?.updates !== 'function') throw new LayerError(`Error in compile: optimizer must be 'sgd', 'adam' or an optimizer instance, got ${String(options.optimizer)}`);
    const loss = lossByName(options.loss);
    const metrics = options.metrics ?? [];
    for (const metric of metrics) {
      if (metric !== 'accuracy') throw new LayerError(`Error in compile: unknown metric ${JSON.stringify(metric)}; the known metric is accuracy`);
    }
    const accuracy = metrics.includes('accuracy');
    if (accuracy && loss.labelDType !== 'int32') {
      throw new LayerError('Error in compile: the accuracy metric needs int32 class labels, so it works with the softmaxCrossEntropy loss only');
    }
    this.trainingConfig = { optimizer, loss, accuracy };
    this.backend = options.backend ?? 'js';
    this.threads = options.threads;
    this.optimizerState.clear();
    return this;
  }

  /** The configuration set by compile; raises LayerError before compile. */
  get training(): TrainingConfig {
    if (this.trainingConfig === undefined) {
      throw new LayerError("Error in fit: the model is not compiled; call model.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy', metrics: ['accuracy'] }) first");
    }
    return this.trainingConfig;
  }

  /** The configuration set by compile, or undefined before compile. */
  get trainingConfigOrUndefined(): TrainingConfig | undefined {
    return this.trainingConfig;
  }

  /** Compiles a training step of this batch size, for inspecting its kernels; fit compiles its own. */
  compileTrainStep(batchSize: number, inputShape?: Shape): TrainStep {
    const { optimizer, loss, accuracy } = this.training;
    return new TrainStep(this.spec(inputShape), batchSize, { loss, optimizer, accuracy, optimizerState: this.optimizerState });
  }

  /** Compiles a forward pass of this batch size, for inspecting its kernels; predict compiles its own. */
  compileInference(batchSize: number, inputShape?: Shape): InferenceStep {
    return new InferenceStep(this.spec(inputShape), batchSize);
  }

  /** Trains the model; see FitOptions. Resolves with the per-epoch logs. */
  fit(data: Examples, options: FitOptions = {}): Promise<History> {
    return fitModel(this, data, options);
  }

  /** Returns the mean loss, and the accuracy if compiled with it, over the examples. */
  evaluate(data: Examples, options: EvaluateOptions = {}): Evaluation {
    return evaluateModel(this, data, options);
  }

  /** Returns the model's outputs for `images` (examples of the input shape, row-major), count × output size values. */
  predict(images: Float32Array, options: { batchSize?: number } = {}): Float32Array {
    return predictModel(this, images, options);
  }

  /** Returns a table of the layers: name, class, output shape and param count. */
  summary(): string {
    const spec = this.requireBuilt('summary');
    const rows: string[][] = [['layer', 'class', 'output shape', 'params']];
    const shapes = this.layerOutputShapes();
    let total = 0;
    this.layers.forEach((layer, i) => {
      const count = spec.params.filter((p) => p.layer === layer.name).reduce((n, p) => n + sizeOf(p.shape), 0);
      total += count;
      rows.push([layer.name!, layer.className, formatShape(shapes[i]!), String(count)]);
    });
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
    lines.push(`total params: ${total}`);
    return lines.join('\n');
  }

  /** Returns each layer's per-example output shape. */
  layerOutputShapes(): Shape[] {
    const spec = this.requireBuilt('layerOutputShapes');
    const forward = buildForward(graph(this.seed), this.layers, spec.inputShape, 1, { training: false, seed: this.seed });
    return forward.layerOutputs.map((node) => node.shape.slice(1));
  }
}

/** Creates a Sequential model from layers; see SequentialOptions. */
export function sequential(layers: readonly Layer[] = [], options: SequentialOptions = {}): Sequential {
  return new Sequential(layers, options);
}
