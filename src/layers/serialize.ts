// The saved form of a Sequential model: a JSON topology and a binary
// weights file. Browser-safe; node-io.ts reads and writes the files.
//
// Topology (format 'slope-sequential', version 1):
//   { format, version, inputShape, seed,
//     layers: [{ className, config: { name, ...options } }],
//     training?: { loss, metrics, optimizer: { className, config } },
//     weights: { file, dtype: 'float32', byteOrder: 'little', byteLength,
//                crc32, params: [{ name, shape }] } }
// Weights: the params' float32 values, little-endian, concatenated in the
// order of `weights.params`. The CRC-32 of those bytes detects a corrupt or
// mismatched file.

import { describeValue } from '../ops/check.ts';
import { formatShape, sizeOf } from '../graph/shape.ts';
import { Activation, activationFromConfig, ELU, LeakyReLU, ReLU } from './activations.ts';
import { AveragePooling2D, Conv2D, MaxPooling2D } from './conv.ts';
import type { Size2D } from './conv.ts';
import { Dense, Dropout, Flatten } from './core.ts';
import { LayerError, ModelFileError, SerializationError } from './errors.ts';
import type { Initializer, Layer, LayerConfig } from './layer.ts';
import type { LossName } from './losses.ts';
import { Adam, SGD } from './optimizers.ts';
import type { Optimizer } from './optimizers.ts';
import { Sequential } from './sequential.ts';
import type { Padding2D } from '../ops/attrs.ts';

export const MODEL_FORMAT = 'slope-sequential';
export const MODEL_FORMAT_VERSION = 1;

export interface WeightsManifest {
  /** File name of the weights, beside the topology file. */
  file: string;
  dtype: 'float32';
  byteOrder: 'little';
  byteLength: number;
  /** CRC-32 (IEEE 802.3) of the weights bytes, as 8 hex digits. */
  crc32: string;
  params: { name: string; shape: number[] }[];
}

export interface ModelTopology {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_FORMAT_VERSION;
  inputShape: number[];
  seed: number;
  layers: LayerConfig[];
  training?: { loss: LossName; metrics: 'accuracy'[]; optimizer: { className: string; config: Record<string, number | boolean> } };
  weights: WeightsManifest;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Returns the CRC-32 (IEEE 802.3, as in zip and PNG) of the bytes, as 8 hex digits. */
export function crc32(bytes: Uint8Array): string {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

/**
 * Returns the topology and weights bytes of a built model. Raises
 * SerializationError, before anything is written, when a layer cannot be
 * saved (an activation given as an unregistered callable).
 */
export function serializeModel(model: Sequential, weightsFile: string): { topology: ModelTopology; weights: Uint8Array } {
  if (!model.built) throw new SerializationError('Error in saveModel: the model is not built yet; build it (or fit it) before saving');
  const layers: LayerConfig[] = model.layers.map((layer) => ({ className: layer.className, config: { name: layer.name!, ...layer.getConfig() } }));

  const params = model.params;
  const byteLength = params.reduce((n, p) => n + 4 * sizeOf(p.shape), 0);
  const weights = new Uint8Array(byteLength);
  const view = new DataView(weights.buffer);
  let offset = 0;
  for (const p of params) {
    for (const value of model.weights.get(p.name)!) {
      view.setFloat32(offset, value, true);
      offset += 4;
    }
  }

  const topology: ModelTopology = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    inputShape: [...model.inputShape],
    seed: model.seed,
    layers,
    weights: { file: weightsFile, dtype: 'float32', byteOrder: 'little', byteLength, crc32: crc32(weights), params: params.map((p) => ({ name: p.name, shape: [...p.shape] })) },
  };
  const training = model.trainingConfigOrUndefined;
  if (training !== undefined) {
    topology.training = {
      loss: training.loss.name,
      metrics: training.accuracy ? ['accuracy'] : [],
      optimizer: { className: training.optimizer.className, config: training.optimizer.getConfig() },
    };
  }
  return { topology, weights };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(path: string, message: string): ModelFileError {
  return new ModelFileError(`Error in loadModel: ${path} is not a valid slope model: ${message}`, path, 'invalid-topology');
}

/** Builds a layer from its saved config; `where` names it in errors. */
function layerFromConfig(entry: unknown, where: string): Layer {
  // Keras writes class_name; slope writes className and reads both.
  const className = isRecord(entry) ? (entry['className'] ?? entry['class_name']) : undefined;
  if (!isRecord(entry) || typeof className !== 'string' || !isRecord(entry['config'])) {
    throw new LayerError(`Error in ${where}: expected { className, config }, got ${describeValue(entry)}`);
  }
  const config = entry['config'];
  const name = typeof config['name'] === 'string' ? config['name'] : undefined;
  const at = `${where} (${className} ${name ?? 'unnamed'})`;
  const activation = config['activation'] === undefined ? 'linear' : activationFromConfig(config['activation'], at);
  const initializers = {
    ...(config['kernelInitializer'] === undefined ? {} : { kernelInitializer: config['kernelInitializer'] as Initializer }),
    ...(config['biasInitializer'] === undefined ? {} : { biasInitializer: config['biasInitializer'] as Initializer }),
  };
  const pool = {
    ...(name === undefined ? {} : { name }),
    ...(config['poolSize'] === undefined ? {} : { poolSize: config['poolSize'] as Size2D }),
    ...(config['strides'] === undefined ? {} : { strides: config['strides'] as Size2D }),
    ...(config['padding'] === undefined ? {} : { padding: config['padding'] as Padding2D }),
  };
  const named = name === undefined ? {} : { name };

  switch (className) {
    case 'Dense':
      return new Dense({ ...named, units: config['units'] as number, activation, useBias: (config['useBias'] as boolean | undefined) ?? true, ...initializers });
    case 'Conv2D':
      return new Conv2D({
        ...named,
        filters: config['filters'] as number,
        kernelSize: config['kernelSize'] as Size2D,
        strides: (config['strides'] as Size2D | undefined) ?? 1,
        padding: (config['padding'] as Padding2D | undefined) ?? 'valid',
        dilation: (config['dilation'] as Size2D | undefined) ?? 1,
        useBias: (config['useBias'] as boolean | undefined) ?? true,
        activation,
        ...initializers,
      });
    case 'MaxPooling2D':
    case 'MaxPool2D':
      return new MaxPooling2D(pool);
    case 'AveragePooling2D':
    case 'AvgPool2D':
      return new AveragePooling2D(pool);
    case 'Flatten':
      return new Flatten(named);
    case 'Dropout':
      return new Dropout({ ...named, rate: config['rate'] as number });
    case 'ReLU':
    case 'LeakyReLU':
    case 'ELU': {
      // The activation reader knows every name of alpha and each class's default.
      const layer = activationFromConfig({ className, config }, at) as ReLU | LeakyReLU | ELU;
      layer.name = name;
      return layer;
    }
    case 'Activation':
      return new Activation(activation, named);
    default:
      throw new LayerError(`Error in ${where}: unknown layer class ${JSON.stringify(className)}; known: Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout, ReLU, LeakyReLU, ELU, Activation`);
  }
}

function optimizerFromConfig(saved: unknown, path: string): Optimizer {
  if (!isRecord(saved) || !isRecord(saved['config'])) throw invalid(path, 'training.optimizer must be { className, config }');
  if (saved['className'] === 'SGD') return new SGD(saved['config']);
  if (saved['className'] === 'Adam') return new Adam(saved['config']);
  throw invalid(path, `unknown optimizer class ${JSON.stringify(saved['className'])}; known: SGD, Adam`);
}

function checkManifest(topology: Record<string, unknown>, path: string): WeightsManifest {
  const manifest = topology['weights'];
  if (!isRecord(manifest) || !Array.isArray(manifest['params']) || typeof manifest['byteLength'] !== 'number' || typeof manifest['crc32'] !== 'string') {
    throw invalid(path, 'weights must be { file, byteLength, crc32, params }');
  }
  if (manifest['dtype'] !== 'float32' || manifest['byteOrder'] !== 'little') {
    throw invalid(path, `weights must be float32 little-endian, got ${describeValue(manifest['dtype'])} ${JSON.stringify(manifest['byteOrder'])}`);
  }
  return manifest as unknown as WeightsManifest;
}

/**
 * Rebuilds a model from its parsed topology and its weights bytes. `paths`
 * name the two files in errors. Raises ModelFileError for a topology of
 * another format, and for weights that are truncated, corrupt (CRC
 * mismatch) or do not match the layers. Configs that the layers reject
 * raise LayerError or UnknownActivationError.
 */
export function deserializeModel(topology: unknown, weights: Uint8Array, paths: { topology: string; weights: string }): Sequential {
  const path = paths.topology;
  if (!isRecord(topology)) throw invalid(path, 'the top level must be a JSON object');
  if (topology['format'] !== MODEL_FORMAT) throw invalid(path, `format must be ${JSON.stringify(MODEL_FORMAT)}, got ${describeValue(topology['format'])}`);
  if (topology['version'] !== MODEL_FORMAT_VERSION) {
    throw invalid(path, `version ${JSON.stringify(topology['version'])} is not supported; this slope reads version ${MODEL_FORMAT_VERSION}`);
  }
  if (!Array.isArray(topology['layers'])) throw invalid(path, 'layers must be an array');
  const manifest = checkManifest(topology, path);

  const layers = topology['layers'].map((entry, i) => layerFromConfig(entry, `loadModel ${path} layer ${i}`));
  const seed = Number.isSafeInteger(topology['seed']) ? (topology['seed'] as number) : 0;
  const model = new Sequential(layers, { seed, inputShape: topology['inputShape'] as number[] });

  // The saved params must be the ones these layers create, in the same order.
  const expected = model.params.map((p) => `${p.name}${formatShape(p.shape)}`);
  const saved = manifest.params.map((p) => `${p.name}${formatShape(p.shape)}`);
  const differing = Array.from({ length: Math.max(expected.length, saved.length) }, (_, i) => i).find((i) => expected[i] !== saved[i]);
  if (differing !== undefined) {
    throw new ModelFileError(
      `Error in loadModel: the weights listed in ${path} do not match the params its layers create: ` +
        `param ${differing} is ${saved[differing] ?? '(none)'} in the file but ${expected[differing] ?? '(none)'} from the layers`,
      path,
      'mismatch',
    );
  }
  const byteLength = model.params.reduce((n, p) => n + 4 * sizeOf(p.shape), 0);
  if (manifest.byteLength !== byteLength) throw new ModelFileError(`Error in loadModel: ${path} declares ${manifest.byteLength} weight bytes, but its params need ${byteLength}`, path, 'mismatch');
  if (weights.length < byteLength) {
    throw new ModelFileError(`Error in loadModel: ${paths.weights} is truncated: it has ${weights.length} bytes, but ${path} needs ${byteLength}. Save the model again.`, paths.weights, 'truncated');
  }
  if (weights.length > byteLength) {
    throw new ModelFileError(`Error in loadModel: ${paths.weights} has ${weights.length} bytes, but ${path} needs ${byteLength}; it belongs to another model or save`, paths.weights, 'mismatch');
  }
  const checksum = crc32(weights);
  if (checksum !== manifest.crc32) {
    throw new ModelFileError(`Error in loadModel: ${paths.weights} is corrupt or belongs to another save: its CRC-32 is ${checksum}, but ${path} expects ${manifest.crc32}`, paths.weights, 'corrupt');
  }

  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const values = new Map<string, Float32Array>();
  let offset = 0;
  for (const p of model.params) {
    const array = new Float32Array(sizeOf(p.shape));
    for (let i = 0; i < array.length; i++, offset += 4) array[i] = view.getFloat32(offset, true);
    values.set(p.name, array);
  }
  model.setWeights(values);

  const training = topology['training'];
  if (training !== undefined) {
    if (!isRecord(training)) throw invalid(path, 'training must be an object');
    model.compile({ optimizer: optimizerFromConfig(training['optimizer'], path), loss: training['loss'] as LossName, metrics: (training['metrics'] as 'accuracy'[] | undefined) ?? [] });
  }
  return model;
}
