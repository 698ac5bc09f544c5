// fit's per-epoch dead-unit numbers are the dynamic analysis's own: the same
// rows as analyzeDynamic on the same params and validation batches.

import { describe, expect, it } from 'vitest';
import { analyzeDynamic, Dense, graph, LayerError, LeakyReLU, sequential } from '../../src/index.ts';
import type { EpochLog, Examples } from '../../src/index.ts';
import { Rng } from '../../src/graph/init.ts';
import { buildForward } from '../../src/layers/model-graph.ts';
import { analysisBatches } from '../../src/layers/unit-analysis.ts';

function randomExamples(count: number, features: number, classes: number, seed: number): Examples {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: count * features }, () => rng.next() * 2 - 1);
  const labels = Int32Array.from({ length: count }, () => Math.floor(rng.next() * classes));
  return { images, labels, count };
}

function model() {
  const net = sequential([new Dense({ units: 12, activation: 'relu' }), new Dense({ units: 6, activation: new LeakyReLU({ alpha: 0.1 }) }), new Dense({ units: 3 })], { inputShape: [5], seed: 3 });
  return net.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
}

/** Runs analyzeDynamic on the model's forward graph with the validation examples in batches of `batch`. */
async function oneShot(net: ReturnType<typeof model>, weights: Map<string, Float32Array>, validation: Examples, batch: number, gradientEvery?: number) {
  const g = graph();
  const forward = buildForward(g, net.layers, [5], batch, { training: false, seed: 3 });
  const labels = g.input('labels', [batch], 'int32');
  const data = Array.from({ length: validation.count / batch }, (_, k) => ({
    x: validation.images.subarray(k * batch * 5, (k + 1) * batch * 5),
    labels: validation.labels.subarray(k * batch, (k + 1) * batch),
  }));
  const loss = g.softmaxCrossEntropy(forward.output, labels).mean();
  return analyzeDynamic(forward.output, { data, params: Object.fromEntries(weights), ...(gradientEvery === undefined ? {} : { loss, gradientEvery }) });
}

describe('fit dead-unit analysis', () => {
  it('equals analyzeDynamic every epoch', async () => {
    const net = model();
    const validation = randomExamples(12, 5, 3, 2);
    const weights: Map<string, Float32Array>[] = [];
    const logs: EpochLog[] = [];
    await net.fit(randomExamples(32, 5, 3, 1), {
      epochs: 2,
      batchSize: 8,
      validation,
      validationBatchSize: 4,
      gradientEvery: 2,
      progress: false,
      onEpochEnd: (log) => {
        logs.push(log);
        weights.push(net.getWeights());
      },
    });

    for (const [epoch, log] of logs.entries()) {
      const expected = await oneShot(net, weights[epoch]!, validation, 4, 2);
      const rows = log.deadUnitReport!.layers;
      expect(rows.map((r) => r.name)).toEqual(['dense_1', 'dense_2']);
      expected.layers.forEach((layer, k) => {
        const row = rows[k]!;
        expect(row.units, `epoch ${epoch + 1} ${row.name}`).toBe(layer.units);
        expect(row.dead, `epoch ${epoch + 1} ${row.name}`).toBe(layer.dead);
        expect(row.dying, `epoch ${epoch + 1} ${row.name}`).toBe(layer.dying);
        expect(row.sparsity, `epoch ${epoch + 1} ${row.name}`).toBe(layer.sparsity);
        expect(row.gradNorm, `epoch ${epoch + 1} ${row.name}`).toBe(layer.gradient!.l2Norm);
        expect(log.deadUnits[row.name]).toBe(layer.dead);
        expect(log.units[row.name]).toBe(layer.units);
      });
    }
    // The analysis ran with each epoch's weights, not the first ones again.
    expect(logs[0]!.deadUnitReport!.layers[0]!.gradNorm).not.toBe(logs[1]!.deadUnitReport!.layers[0]!.gradNorm);
  });

  it('counts a smaller last batch once', async () => {
    const net = model();
    const validation = randomExamples(10, 5, 3, 4);
    const evaluation = net.evaluate(validation, { batchSize: 4 });
    // Counts do not depend on the batch size, so batches of one give the same.
    const expected = await oneShot(net, net.getWeights(), validation, 1);
    expected.layers.forEach((layer, k) => {
      expect(evaluation.layers[k]!.dead).toBe(layer.dead);
      expect(evaluation.layers[k]!.dying).toBe(layer.dying);
      expect(evaluation.layers[k]!.sparsity).toBeCloseTo(layer.sparsity, 12);
    });
  });

  it('splits examples into even batches', () => {
    expect(analysisBatches(2000, 256)).toEqual({ batchSize: 250, full: 8, rest: 0 });
    expect(analysisBatches(10, 4)).toEqual({ batchSize: 4, full: 2, rest: 2 });
    expect(analysisBatches(3, 256)).toEqual({ batchSize: 3, full: 1, rest: 0 });
  });

  it('rejects an invalid gradientEvery', async () => {
    const net = model();
    const data = randomExamples(8, 5, 3, 5);
    await expect(net.fit(data, { validation: data, gradientEvery: 0, progress: false })).rejects.toThrow(LayerError);
    await expect(net.fit(data, { validation: data, gradientEvery: 1.5, progress: false })).rejects.toThrow(/gradientEvery must be a positive integer, got 1.5/);
  });
});
