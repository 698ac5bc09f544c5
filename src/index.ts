// slope's public API.

export { Graph, graph } from './graph/graph.ts';
export type { Operand, ParamOptions, ParamInit } from './graph/graph.ts';
export { Node } from './graph/node.ts';
export type { Conv2DOptions, MatmulOptions, Pool2DOptions } from './graph/node.ts';
export type { DType } from './graph/dtype.ts';
export type { Shape } from './graph/shape.ts';
export type { InitSpec, RandomSource } from './graph/init.ts';
export { fillRandomizedAsymmetric, initialize, Rng } from './graph/init.ts';
export { ACTIVATION_NAMES, LEAKY_RELU_DEFAULT_ALPHA, activationNames, registerActivation, registeredActivationName, resolveActivation, unregisterActivation } from './graph/activation.ts';
export type { ActivationFn, ActivationObject, ActivationSpec } from './graph/activation.ts';
export type { Feeds, FeedValue } from './graph/feeds.ts';
export { verify } from './graph/verify.ts';
export { printGraph } from './graph/printer.ts';
export { toDot } from './graph/dot.ts';
export { evaluate } from './interp/interpreter.ts';
export type { Tensor } from './interp/tensor.ts';
export { grad, hvp, jvp, valueAndGrad } from '../passes/grad.ts';
export {
  analyzeDynamic,
  analyzeStatic,
  DeadUnitsError,
  DEFAULT_GRADIENT_EVERY,
  DynamicAnalyzer,
  deadUnitAnnotations,
  deadUnitColors,
  deadUnitsJson,
  formatDeadUnitsTable,
  summarizeLayers,
} from '../passes/dead-units.ts';
export type {
  ActivationOp,
  AnalyzerOptions,
  BoundsReport,
  DataSource,
  DeadUnitReport,
  DynamicLayer,
  DynamicOptions,
  DynamicReport,
  DynamicTotals,
  InputBox,
  InputRegion,
  LayerSummary,
  StaticLayer,
  StaticOptions,
  StaticReport,
  UnitStatus,
} from '../passes/dead-units.ts';
export * from './errors.ts';
export { registry } from './ops/index.ts';
export type { OpAttrs, OpName } from './ops/index.ts';
export { compile, Executable } from './runtime/executable.ts';
export type { BackendName, CompileOptions, KernelInfo, OutputArray, ParamUpdate } from './runtime/executable.ts';
export * from './layers/index.ts';
