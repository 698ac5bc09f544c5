import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Activation,
  AveragePooling2D,
  Conv2D,
  Dense,
  Dropout,
  ELU,
  Flatten,
  LeakyReLU,
  MaxPooling2D,
  ModelFileError,
  ReLU,
  SerializationError,
  UnknownActivationError,
  registerActivation,
  sequential,
  unregisterActivation,
} from '../../src/index.ts';
import type { Node } from '../../src/index.ts';
import { loadModel, saveModel } from '../../src/layers/node-io.ts';
import { filled } from './helpers.ts';

let directory: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'slope-model-'));
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function smallCnn() {
  return sequential(
    [
      new Conv2D({ filters: 3, kernelSize: 3, padding: 'same', activation: new LeakyReLU({ alpha: 0.2 }), kernelInitializer: 'heNormal' }),
      new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 4, kernelSize: [2, 2], strides: 1, activation: 'elu', biasInitializer: { kind: 'constant', value: 0.1 } }),
      new AveragePooling2D({ poolSize: 2, padding: 'same' }),
      new Flatten(),
      new Dropout({ rate: 0.2 }),
      new Dense({ units: 6, activation: 'leakyRelu' }),
      new ReLU(),
      new Dense({ units: 4 }),
      new Activation('softmax'),
    ],
    { inputShape: [8, 8, 1], seed: 12 },
  );
}

describe('saveModel and loadModel', () => {
  it('round-trip predictions bit for bit', async () => {
    const model = smallCnn();
    model.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
    const path = join(directory, 'model.json');
    const written = await saveModel(model, path);
    expect(written).toEqual({ topology: path, weights: join(directory, 'model.weights.bin') });

    const loaded = await loadModel(path);
    const inputs = filled(3 * 64, (i) => Math.sin(i * 0.31));
    expect(Array.from(loaded.predict(inputs))).toEqual(Array.from(model.predict(inputs)));
    expect(loaded.layers.map((l) => `${l.className} ${l.name}`)).toEqual(model.layers.map((l) => `${l.className} ${l.name}`));
    expect(loaded.training.accuracy).toBe(true);
    expect(loaded.training.optimizer.className).toBe('Adam');
  });

  it('leave no temporary files', async () => {
    await saveModel(smallCnn(), join(directory, 'model.json'));
    expect((await readdir(directory)).sort()).toEqual(['model.json', 'model.weights.bin']);
  });

  it('reject a truncated weights file', async () => {
    const path = join(directory, 'model.json');
    await saveModel(smallCnn(), path);
    const weightsPath = join(directory, 'model.weights.bin');
    const bytes = await readFile(weightsPath);
    await writeFile(weightsPath, bytes.subarray(0, bytes.length - 10));

    const error = await loadModel(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).problem).toBe('truncated');
    expect((error as ModelFileError).path).toBe(weightsPath);
    expect((error as Error).message).toContain(`${bytes.length - 10} bytes`);
    expect((error as Error).message).toContain(`needs ${bytes.length}`);
  });

  it('reject a corrupt weights file', async () => {
    const path = join(directory, 'model.json');
    await saveModel(smallCnn(), path);
    const weightsPath = join(directory, 'model.weights.bin');
    const bytes = await readFile(weightsPath);
    bytes[17] = bytes[17]! ^ 0x40;
    await writeFile(weightsPath, bytes);

    const error = await loadModel(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).problem).toBe('corrupt');
    expect((error as Error).message).toMatch(/CRC-32/);
  });

  it('reject a truncated topology file', async () => {
    const path = join(directory, 'model.json');
    await saveModel(smallCnn(), path);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, text.length / 2));

    const error = await loadModel(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).problem).toBe('invalid-json');
    expect((error as Error).message).toContain(path);
  });

  it('reject weights of another model', async () => {
    const path = join(directory, 'model.json');
    await saveModel(smallCnn(), path);
    const other = sequential([new Dense({ units: 3 })], { inputShape: [4] });
    await saveModel(other, join(directory, 'other.json'));
    const topology = JSON.parse(await readFile(path, 'utf8'));
    topology.weights.file = 'other.weights.bin';
    await writeFile(path, JSON.stringify(topology));

    const error = await loadModel(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelFileError);
    expect(['truncated', 'mismatch', 'corrupt']).toContain((error as ModelFileError).problem);
  });

  it('reject a topology whose layers do not match its weights', async () => {
    const path = join(directory, 'model.json');
    await saveModel(smallCnn(), path);
    const topology = JSON.parse(await readFile(path, 'utf8'));
    topology.layers[6].config.units = 7;
    await writeFile(path, JSON.stringify(topology));

    const error = await loadModel(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).problem).toBe('mismatch');
    expect((error as Error).message).toContain('dense_1/kernel[16,6] in the file but dense_1/kernel[16,7] from the layers');
  });

  it('reject a missing file', async () => {
    const error = await loadModel(join(directory, 'absent.json')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).problem).toBe('missing');
  });

  it('reject a weights file name with a directory', async () => {
    const path = join(directory, 'model.json');
    await saveModel(smallCnn(), path);
    const topology = JSON.parse(await readFile(path, 'utf8'));
    topology.weights.file = '../elsewhere.bin';
    await writeFile(path, JSON.stringify(topology));
    await expect(loadModel(path)).rejects.toThrow(/plain file name/);
  });
});

describe('saved activations', () => {
  it('use one canonical name with alpha spelled out', async () => {
    const model = sequential(
      [
        new Dense({ units: 2, activation: 'leakyRelu' }),
        new Dense({ units: 2, activation: 'leaky_relu' }),
        new Dense({ units: 2, activation: new LeakyReLU() }),
        new Dense({ units: 2, activation: new LeakyReLU({ negativeSlope: 0.1 }) }),
        new Dense({ units: 2, activation: new ELU() }),
        new Dense({ units: 2, activation: new Activation('relu') }),
        new LeakyReLU({ negativeSlope: 0.05 }),
        new Activation('leakyRelu'),
      ],
      { inputShape: [2] },
    );
    const path = join(directory, 'model.json');
    await saveModel(model, path);
    const topology = JSON.parse(await readFile(path, 'utf8'));
    const configs = topology.layers.map((l: { config: Record<string, unknown> }) => l.config['activation'] ?? l.config['alpha']);
    expect(configs).toEqual([
      { name: 'leaky_relu', alpha: 0.2 },
      { name: 'leaky_relu', alpha: 0.2 },
      { name: 'leaky_relu', alpha: 0.3 },
      { name: 'leaky_relu', alpha: 0.1 },
      { name: 'elu', alpha: 1 },
      { name: 'relu' },
      0.05,
      { name: 'leaky_relu', alpha: 0.2 },
    ]);

    const inputs = filled(6, (i) => i - 3);
    expect(Array.from((await loadModel(path)).predict(inputs))).toEqual(Array.from(model.predict(inputs)));
  });

  it('reject an unregistered callable before writing', async () => {
    const model = sequential([new Dense({ units: 2 }), new Dense({ units: 2, name: 'custom', activation: (x: Node) => x.leakyRelu(0.05) })], { inputShape: [3] });
    const path = join(directory, 'model.json');
    const error = await saveModel(model, path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain('Dense custom');
    expect((error as Error).message).toContain('registerActivation');
    expect(await readdir(directory)).toEqual([]);
  });

  it('save a registered callable by name', async () => {
    const swish = (x: Node) => x.mul(x.sigmoid());
    registerActivation('swish', swish);
    try {
      const model = sequential([new Dense({ units: 3, activation: swish }), new Dense({ units: 2, activation: 'swish' })], { inputShape: [3] });
      const path = join(directory, 'model.json');
      await saveModel(model, path);
      const topology = JSON.parse(await readFile(path, 'utf8'));
      expect(topology.layers[0].config.activation).toEqual({ name: 'swish' });
      expect(topology.layers[1].config.activation).toEqual({ name: 'swish' });
      const inputs = filled(6, (i) => i / 2 - 1);
      expect(Array.from((await loadModel(path)).predict(inputs))).toEqual(Array.from(model.predict(inputs)));
    } finally {
      unregisterActivation('swish');
    }
  });

  it('reject an unknown name when loading', async () => {
    const path = join(directory, 'model.json');
    await saveModel(sequential([new Dense({ units: 2, activation: 'relu' })], { inputShape: [2] }), path);
    const topology = JSON.parse(await readFile(path, 'utf8'));
    topology.layers[0].config.activation = 'LeakyReLU';
    await writeFile(path, JSON.stringify(topology));

    const error = await loadModel(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect((error as UnknownActivationError).suggestion).toBe('leaky_relu');
  });
});
