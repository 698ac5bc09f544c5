// Activation names through a save and load, on two computations that other
// frameworks got wrong: an activation saved under one spelling and rejected
// or misread under another when loaded, and 'leaky_relu' loaded with the
// wrong default slope. The cases' inputs and expected values are read from
// the shared/cases directory beside the repository.

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Activation, Dense, LeakyReLU, UnknownActivationError, activationFromConfig, sequential } from '../../src/index.ts';
import type { ActivationSpec } from '../../src/index.ts';
import { loadModel, saveModel } from '../../src/layers/node-io.ts';
import { crc32 } from '../../src/layers/serialize.ts';
import { expectClose } from './helpers.ts';

interface TensorJson {
  shape: number[];
  values: unknown;
}

interface FieldCase {
  inputs: Record<string, TensorJson>;
  expected: Record<string, TensorJson>;
  tolerance: { rtol: number; atol: number };
  graph: { saved_config_fragment?: { class_name: string; config: Record<string, unknown> } };
}

function loadFieldCase(file: string): FieldCase {
  const url = new URL(`../../../shared/cases/${file}`, import.meta.url);
  if (!existsSync(url)) {
    throw new Error(`field case ${fileURLToPath(url)} is missing; these tests read the shared/cases directory that sits beside the repository directory`);
  }
  return JSON.parse(readFileSync(url, 'utf8')) as FieldCase;
}

function flat(tensor: TensorJson): Float32Array {
  const values = (tensor.values as unknown[]).flat(Infinity) as number[];
  return Float32Array.from(values);
}

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'slope-cases-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('activation names through save and load', () => {
  const c10 = loadFieldCase('c10.json');
  const x = flat(c10.inputs['x']!);
  const { rtol, atol } = c10.tolerance;

  // Every accepted spelling of each activation, with the expected output it must give.
  const forms: { label: string; activation: () => ActivationSpec; expected: string; saved: object }[] = [
    { label: "'relu'", activation: () => 'relu', expected: 'y_relu', saved: { name: 'relu' } },
    { label: 'new Activation(relu)', activation: () => new Activation('relu'), expected: 'y_relu', saved: { name: 'relu' } },
    { label: "'leaky_relu'", activation: () => 'leaky_relu', expected: 'y_leaky_relu_function_default_0p2', saved: { name: 'leaky_relu', alpha: 0.2 } },
    { label: "'leakyRelu'", activation: () => 'leakyRelu', expected: 'y_leaky_relu_function_default_0p2', saved: { name: 'leaky_relu', alpha: 0.2 } },
    { label: 'new LeakyReLU()', activation: () => new LeakyReLU(), expected: 'y_LeakyReLU_layer_default_0p3', saved: { name: 'leaky_relu', alpha: 0.3 } },
    { label: 'new LeakyReLU({ alpha: 0.1 })', activation: () => new LeakyReLU({ alpha: 0.1 }), expected: 'y_leaky_relu_alpha_0p1', saved: { name: 'leaky_relu', alpha: 0.1 } },
    { label: 'new LeakyReLU({ negativeSlope: 0.1 })', activation: () => new LeakyReLU({ negativeSlope: 0.1 }), expected: 'y_leaky_relu_alpha_0p1', saved: { name: 'leaky_relu', alpha: 0.1 } },
    {
      label: "Keras { class_name: 'LeakyReLU', config: { alpha: 0.1 } }",
      activation: () => activationFromConfig({ class_name: 'LeakyReLU', config: { alpha: 0.1 } }, 'test'),
      expected: 'y_leaky_relu_alpha_0p1',
      saved: { name: 'leaky_relu', alpha: 0.1 },
    },
    {
      label: "Keras { class_name: 'LeakyReLU', config: {} }",
      activation: () => activationFromConfig({ class_name: 'LeakyReLU', config: {} }, 'test'),
      expected: 'y_LeakyReLU_layer_default_0p3',
      saved: { name: 'leaky_relu', alpha: 0.3 },
    },
    {
      label: "{ name: 'leakyRelu', negative_slope: 0.1 }",
      activation: () => activationFromConfig({ name: 'leakyRelu', negative_slope: 0.1 }, 'test'),
      expected: 'y_leaky_relu_alpha_0p1',
      saved: { name: 'leaky_relu', alpha: 0.1 },
    },
  ];

  it.each(forms)('$label gives the expected output before and after a round trip', async ({ activation, expected, saved }) => {
    const model = sequential([new Dense({ units: 3, activation: activation() })], { inputShape: [2] });
    model.setWeights({ 'dense_1/kernel': flat(c10.inputs['kernel']!), 'dense_1/bias': flat(c10.inputs['bias']!) });
    const want = flat(c10.expected[expected]!);
    expectClose(model.predict(x), want, rtol, atol, 'before saving');

    const path = join(directory, 'model.json');
    await saveModel(model, path);
    const topology = JSON.parse(await readFile(path, 'utf8'));
    expect(topology.layers[0].config.activation).toEqual(saved);

    const loaded = await loadModel(path);
    expectClose(loaded.predict(x), want, rtol, atol, 'after loading');
  });

  it.each(['LeakyReLU', 'ReLU', 'Leaky_ReLU', 'leakyrelu'])('rejects the unknown name %j with a suggestion', (name) => {
    let error: unknown;
    try {
      new Dense({ units: 3, activation: name });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect((error as UnknownActivationError).requested).toBe(name);
    expect((error as Error).message).toContain(JSON.stringify(name));
    expect((error as UnknownActivationError).suggestion).toBeDefined();
  });
});

describe('leaky_relu saved by name only', () => {
  const c12 = loadFieldCase('c12.json');

  it('loads with the function default alpha 0.2', async () => {
    const fragment = c12.graph.saved_config_fragment!;
    expect(fragment.config['activation']).toBe('leaky_relu');
    const params = [
      { name: 'dense_1/kernel', shape: c12.inputs['kernel1']!.shape, values: flat(c12.inputs['kernel1']!) },
      { name: 'dense_1/bias', shape: c12.inputs['bias1']!.shape, values: flat(c12.inputs['bias1']!) },
      { name: 'dense_2/kernel', shape: c12.inputs['kernel2']!.shape, values: flat(c12.inputs['kernel2']!) },
      { name: 'dense_2/bias', shape: c12.inputs['bias2']!.shape, values: flat(c12.inputs['bias2']!) },
    ];
    const bytes = new Uint8Array(params.reduce((n, p) => n + 4 * p.values.length, 0));
    const view = new DataView(bytes.buffer);
    let offset = 0;
    for (const p of params) {
      for (const value of p.values) {
        view.setFloat32(offset, value, true);
        offset += 4;
      }
    }
    const topology = {
      format: 'slope-sequential',
      version: 1,
      inputShape: [2],
      seed: 0,
      // The first layer exactly as the case's saved config has it; the second is linear.
      layers: [fragment, { className: 'Dense', config: { units: 1, activation: 'linear' } }],
      weights: { file: 'model.weights.bin', dtype: 'float32', byteOrder: 'little', byteLength: bytes.length, crc32: crc32(bytes), params: params.map(({ name, shape }) => ({ name, shape })) },
    };
    await writeFile(join(directory, 'model.json'), JSON.stringify(topology));
    await writeFile(join(directory, 'model.weights.bin'), bytes);

    const model = await loadModel(join(directory, 'model.json'));
    const y = model.predict(flat(c12.inputs['x']!));
    const { rtol, atol } = c12.tolerance;
    expectClose(y, flat(c12.expected['y']!), rtol, atol);
    for (const wrong of ['diagnostic_y_if_alpha_0p3', 'diagnostic_y_if_alpha_0p01']) {
      const diagnostic = flat(c12.expected[wrong]!);
      expect(Math.abs(y[0]! - diagnostic[0]!), wrong).toBeGreaterThan(1e-3);
    }
  });
});
