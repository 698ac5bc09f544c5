// The layers API: Keras-style layers, the Sequential model, losses,
// optimizers and training. Browser-safe; saving and loading model files
// (Node only) is in node-io.ts.

export { Activation, ActivationLayer, ELU, ELU_DEFAULT_ALPHA, LEAKY_RELU_LAYER_DEFAULT_ALPHA, LeakyReLU, ReLU, activationFromConfig, canonicalActivation } from './activations.ts';
export type { ActivationConfig } from './activations.ts';
export { AveragePooling2D, Conv2D, MaxPooling2D } from './conv.ts';
export type { Conv2DOptions, Pooling2DOptions, Size2D } from './conv.ts';
export { Dense, Dropout, Flatten } from './core.ts';
export type { DenseOptions } from './core.ts';
export { LayerError, ModelFileError, SerializationError } from './errors.ts';
export type { ModelFileProblem } from './errors.ts';
export type { EvaluateOptions, Evaluation, Examples, FitOptions, History } from './fit.ts';
export { Layer } from './layer.ts';
export type { ConfigValue, Initializer, LayerConfig, LayerContext } from './layer.ts';
export { LOSS_NAMES, lossByName } from './losses.ts';
export type { Loss, LossName } from './losses.ts';
export type { ParamInfo } from './model-graph.ts';
export { Adam, SGD, optimizerByName } from './optimizers.ts';
export type { AdamOptions, Optimizer, SGDOptions } from './optimizers.ts';
export { formatEpochLog } from './progress.ts';
export type { EpochLog, ProgressReporter } from './progress.ts';
export { Sequential, sequential } from './sequential.ts';
export type { CompileOptions as ModelCompileOptions, SequentialOptions, TrainingConfig } from './sequential.ts';
export { InferenceStep, TrainStep } from './steps.ts';
export type { InferenceResult, TrainStepResult } from './steps.ts';
export { analyzeModelStatic, DEFAULT_ANALYSIS_BOX, mergeStaticRows } from './unit-analysis.ts';
export type { DeadUnitRow } from './unit-analysis.ts';
