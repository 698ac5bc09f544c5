import { describe, expect, it } from 'vitest';
import { Adam, Dense, Dropout, Flatten, LeakyReLU, SGD, evaluate, grad, graph, sequential } from '../../src/index.ts';
import type { EpochLog, Examples } from '../../src/index.ts';
import { Rng } from '../../src/graph/init.ts';
import { LayerError } from '../../src/layers/errors.ts';
import { expectClose, filled } from './helpers.ts';

/** Returns `count` random examples of `features` values in [-1, 1) with labels in [0, classes). */
function randomExamples(count: number, features: number, classes: number, seed: number): Examples {
  const rng = new Rng(seed);
  const images = filled(count * features, () => rng.uniform(-1, 1));
  const labels = Int32Array.from({ length: count }, () => Math.floor(rng.next() * classes));
  return { images, labels, count };
}

function twoLayerNet(seed: number) {
  return sequential(
    [new Dense({ units: 32, activation: new LeakyReLU({ alpha: 0.1 }), kernelInitializer: 'heNormal' }), new Dense({ units: 4 })],
    { inputShape: [8], seed },
  );
}

describe('fit', () => {
  it('overfits 32 examples to 100% accuracy', async () => {
    const data = randomExamples(32, 8, 4, 11);
    const model = twoLayerNet(5).compile({ optimizer: new Adam({ learningRate: 0.02 }), loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
    let firstPerfect: number | undefined;
    const history = await model.fit(data, {
      epochs: 150,
      batchSize: 8,
      progress: false,
      onEpochEnd: (log) => {
        if (firstPerfect === undefined && model.evaluate(data).accuracy === 1) firstPerfect = log.epoch;
      },
    });

    expect(firstPerfect, 'epochs until every example is right').toBeDefined();
    expect(firstPerfect!).toBeLessThanOrEqual(150);
    expect(model.evaluate(data).accuracy).toBe(1);
    expect(history.epochs.at(-1)!.loss).toBeLessThan(history.epochs[0]!.loss / 10);
  });

  it('reproduces weights bit for bit from a seed', async () => {
    const data = randomExamples(40, 8, 4, 3);
    const train = async (seed: number) => {
      const model = sequential([new Dense({ units: 16, activation: 'relu', kernelInitializer: 'heUniform' }), new Dropout({ rate: 0.3 }), new Dense({ units: 4 })], { inputShape: [8], seed });
      model.compile({ optimizer: new SGD({ learningRate: 0.05, momentum: 0.9, nesterov: true }), loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
      await model.fit(data, { epochs: 3, batchSize: 16, progress: false });
      return model.getWeights();
    };

    const first = await train(7);
    const second = await train(7);
    const other = await train(8);
    for (const [name, values] of first) {
      expect(Array.from(second.get(name)!), name).toEqual(Array.from(values));
    }
    expect(Array.from(other.get('dense_1/kernel')!)).not.toEqual(Array.from(first.get('dense_1/kernel')!));
  });

  it('reports per-epoch logs', async () => {
    const data = randomExamples(64, 8, 4, 21);
    const validation = randomExamples(20, 8, 4, 22);
    const model = twoLayerNet(1).compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
    const logs: EpochLog[] = [];
    const history = await model.fit(data, { epochs: 2, batchSize: 16, validation, progress: false, onEpochEnd: (log) => void logs.push(log) });

    expect(logs).toEqual(history.epochs);
    expect(logs.map((l) => l.epoch)).toEqual([1, 2]);
    for (const log of logs) {
      expect(log.trainAccuracy).toBeGreaterThanOrEqual(0);
      expect(log.trainAccuracy).toBeLessThanOrEqual(1);
      expect(log.valAccuracy).toBeGreaterThanOrEqual(0);
      expect(log.valAccuracy).toBeLessThanOrEqual(1);
      expect(log.imagesPerSecond).toBeGreaterThan(0);
      expect(Object.keys(log.gradNorms)).toEqual(['dense_1', 'dense_2']);
      expect(Object.keys(log.deadUnits)).toEqual(['dense_1']);
      expect(log.units).toEqual({ dense_1: 32 });
    }
    expect(history.skippedPerEpoch).toBe(0);
  });

  it('rejects labels outside the classes', async () => {
    const data = randomExamples(8, 8, 4, 1);
    data.labels[3] = 4;
    const model = twoLayerNet(1).compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
    await expect(model.fit(data, { progress: false })).rejects.toThrow(/label 4 of example 3/);
  });

  it('rejects an uncompiled model', async () => {
    await expect(twoLayerNet(1).fit(randomExamples(8, 8, 4, 1), { progress: false })).rejects.toThrow(LayerError);
  });

  it('carries optimizer state across fits', async () => {
    const data = randomExamples(32, 8, 4, 9);
    const once = twoLayerNet(2).compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'softmaxCrossEntropy' });
    await once.fit(data, { epochs: 2, batchSize: 8, shuffle: false, progress: false });
    const twice = twoLayerNet(2).compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'softmaxCrossEntropy' });
    await twice.fit(data, { epochs: 1, batchSize: 8, shuffle: false, progress: false });
    await twice.fit(data, { epochs: 1, batchSize: 8, shuffle: false, progress: false });
    expect(Array.from(twice.getWeights().get('dense_1/kernel')!)).toEqual(Array.from(once.getWeights().get('dense_1/kernel')!));
  });

  it('trains a regression with meanSquaredError', async () => {
    const rng = new Rng(4);
    const images = filled(64 * 2, () => rng.uniform(-1, 1));
    const labels = Float32Array.from({ length: 64 }, (_, i) => 0.5 * images[2 * i]! - 0.25 * images[2 * i + 1]! + 0.1);
    const model = sequential([new Dense({ units: 1 })], { inputShape: [2], seed: 1 }).compile({ optimizer: new SGD({ learningRate: 0.2 }), loss: 'meanSquaredError' });
    const history = await model.fit({ images, labels, count: 64 }, { epochs: 60, batchSize: 16, progress: false });
    expect(history.epochs.at(-1)!.loss).toBeLessThan(1e-4);
    expectClose(model.getWeights().get('dense_1/kernel')!, [0.5, -0.25], 0, 0.01);
  });
});

/** Returns a one-weight-vector model whose loss is (w · x - t)^2, so each step can be computed by hand. */
function linearModel(optimizer: SGD | Adam) {
  const model = sequential([new Dense({ units: 1, useBias: false, kernelInitializer: { kind: 'constant', value: 0.5 } })], { inputShape: [2] });
  return model.compile({ optimizer, loss: 'meanSquaredError' });
}

const X = [1, -2];
const T = 3;
const gradientAt = (w: readonly number[]) => {
  const error = w[0]! * X[0]! + w[1]! * X[1]! - T;
  return X.map((x) => 2 * error * x);
};

describe('optimizers', () => {
  const example = { images: Float32Array.from(X), labels: Float32Array.of(T), count: 1 };

  it('SGD with momentum matches the update rule', async () => {
    const model = linearModel(new SGD({ learningRate: 0.01, momentum: 0.9 }));
    await model.fit(example, { epochs: 2, batchSize: 1, progress: false });

    let w = [0.5, 0.5];
    let v = [0, 0];
    for (let step = 0; step < 2; step++) {
      const g = gradientAt(w);
      v = v.map((vi, i) => 0.9 * vi - 0.01 * g[i]!);
      w = w.map((wi, i) => wi + v[i]!);
    }
    expectClose(model.getWeights().get('dense_1/kernel')!, w, 1e-5, 1e-7);
  });

  it('SGD with decay matches the update rule', async () => {
    const model = linearModel(new SGD({ learningRate: 0.01, decay: 0.5 }));
    await model.fit(example, { epochs: 3, batchSize: 1, progress: false });

    let w = [0.5, 0.5];
    for (let t = 1; t <= 3; t++) {
      const g = gradientAt(w);
      w = w.map((wi, i) => wi - (0.01 / (1 + 0.5 * (t - 1))) * g[i]!);
    }
    expectClose(model.getWeights().get('dense_1/kernel')!, w, 1e-5, 1e-7);
  });

  it('SGD with Nesterov momentum matches the update rule', async () => {
    const model = linearModel(new SGD({ learningRate: 0.01, momentum: 0.9, nesterov: true }));
    await model.fit(example, { epochs: 2, batchSize: 1, progress: false });

    let w = [0.5, 0.5];
    let v = [0, 0];
    for (let step = 0; step < 2; step++) {
      const g = gradientAt(w);
      v = v.map((vi, i) => 0.9 * vi - 0.01 * g[i]!);
      w = w.map((wi, i) => wi + 0.9 * v[i]! - 0.01 * g[i]!);
    }
    expectClose(model.getWeights().get('dense_1/kernel')!, w, 1e-5, 1e-7);
  });

  it.each([0, 0.5])('Adam with decay %s matches the update rule', async (decay) => {
    const model = linearModel(new Adam({ learningRate: 0.1, decay }));
    await model.fit(example, { epochs: 3, batchSize: 1, progress: false });

    let w = [0.5, 0.5];
    let m = [0, 0];
    let v = [0, 0];
    for (let t = 1; t <= 3; t++) {
      const g = gradientAt(w);
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]!);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i]! ** 2);
      const rate = ((0.1 / (1 + decay * (t - 1))) * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
      w = w.map((wi, i) => wi - (rate * m[i]!) / (Math.sqrt(v[i]!) + 1e-7));
    }
    expectClose(model.getWeights().get('dense_1/kernel')!, w, 1e-5, 1e-6);
  });

  it('reject invalid options', () => {
    expect(() => new SGD({ momentum: 1 })).toThrow(LayerError);
    expect(() => new Adam({ learningRate: -1 })).toThrow(LayerError);
  });
});

describe('dropout', () => {
  it('is the identity at inference', () => {
    const withDropout = sequential([new Flatten(), new Dropout({ rate: 0.5 }), new Dense({ units: 3 })], { inputShape: [2, 3], seed: 4 });
    const without = sequential([new Flatten(), new Dense({ units: 3 })], { inputShape: [2, 3], seed: 4 });
    const inputs = filled(12, (i) => i / 5 - 1);
    expect(Array.from(withDropout.predict(inputs))).toEqual(Array.from(without.predict(inputs)));
  });

  it('feeds a noise input in training steps', () => {
    const model = sequential([new Dropout({ rate: 0.25 }), new Dense({ units: 2 })], { inputShape: [4] });
    model.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy' });
    const step = model.compileTrainStep(3);
    const noise = step.executable.graph.inputs.find((n) => n.name === 'dropout_1/noise');
    expect(noise?.shape).toEqual([3, 4]);
  });

  it('rejects a rate outside [0, 1)', () => {
    expect(() => new Dropout({ rate: 1 })).toThrow(LayerError);
  });
});

describe('analysis outputs', () => {
  it('count units never positive as dead', () => {
    const model = sequential([new Dense({ units: 3, activation: 'relu' }), new Dense({ units: 2 })], { inputShape: [2] });
    model.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy' });
    // Unit 0 follows x0, unit 1 is always -1, unit 2 is exactly 0: units 1 and 2 are never positive.
    model.setWeights({ 'dense_1/kernel': [1, 0, 0, 0, 0, 0], 'dense_1/bias': [0, -1, 0] });
    const data = { images: Float32Array.of(1, 2, -1, 0.5, 3, 3), labels: Int32Array.of(0, 1, 0), count: 3 };
    const evaluation = model.evaluate(data);
    expect(evaluation.deadUnits).toEqual({ dense_1: 2 });
    expect(evaluation.units).toEqual({ dense_1: 3 });
  });

  it('report gradient norms of each layer', async () => {
    const data = randomExamples(6, 3, 2, 8);
    const model = sequential([new Dense({ units: 4, activation: 'tanh' }), new Dense({ units: 2 })], { inputShape: [3], seed: 2 });
    model.compile({ optimizer: new SGD({ learningRate: 0 }), loss: 'softmaxCrossEntropy' });
    const weights = model.getWeights();
    const history = await model.fit(data, { epochs: 1, batchSize: 6, shuffle: false, progress: false });

    const g = graph();
    const x = g.input('x', [6, 3], 'float64');
    const labels = g.input('labels', [6], 'int32');
    const k1 = g.param('dense_1/kernel', [3, 4], { dtype: 'float64' });
    const b1 = g.param('dense_1/bias', [4], { dtype: 'float64' });
    const k2 = g.param('dense_2/kernel', [4, 2], { dtype: 'float64' });
    const b2 = g.param('dense_2/bias', [2], { dtype: 'float64' });
    const logits = x.matmul(k1, { bias: b1, activation: 'tanh' }).matmul(k2, { bias: b2 });
    const loss = g.softmaxCrossEntropy(logits, labels).mean();
    const grads = grad(loss, [k1, b1, k2, b2]);
    const params = Object.fromEntries(weights);
    const values = evaluate(grads, { x: data.images, labels: data.labels }, { params });
    const norm = (a: number, b: number) => Math.sqrt([...values[a]!.data, ...values[b]!.data].reduce((s, v) => s + v * v, 0));

    expect(history.epochs[0]!.gradNorms['dense_1']).toBeCloseTo(norm(0, 1), 5);
    expect(history.epochs[0]!.gradNorms['dense_2']).toBeCloseTo(norm(2, 3), 5);
  });
});

describe('model building', () => {
  it('names layers by class', () => {
    const model = sequential([new Dense({ units: 2 }), new LeakyReLU(), new Dense({ units: 2, name: 'out' })], { inputShape: [3] });
    expect(model.layers.map((l) => l.name)).toEqual(['dense_1', 'leaky_re_lu_1', 'out']);
    expect(model.params.map((p) => p.name)).toEqual(['dense_1/kernel', 'dense_1/bias', 'out/kernel', 'out/bias']);
  });

  it('rejects duplicate layer names', () => {
    expect(() => sequential([new Dense({ units: 2, name: 'a' }), new Dense({ units: 2, name: 'a' })], { inputShape: [3] })).toThrow(/two layers are named "a"/);
  });

  it('takes the input shape from the data', async () => {
    const model = sequential([new Flatten(), new Dense({ units: 2 })]).compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy' });
    await model.fit({ images: new Float32Array(2 * 6), labels: Int32Array.of(0, 1), count: 2, height: 2, width: 3, channels: 1 }, { progress: false });
    expect(model.inputShape).toEqual([2, 3, 1]);
  });

  it('prints a summary', () => {
    const model = sequential([new Flatten(), new Dense({ units: 2 })], { inputShape: [2, 3, 1] });
    expect(model.summary()).toBe(
      ['layer      class    output shape  params', 'flatten_1  Flatten  [6]           0', 'dense_1    Dense    [2]           14', 'total params: 14'].join('\n'),
    );
  });
});
