// Linear bounds through every op that back-substitution rewrites (conv2d,
// avgPool2d, reshape, transpose, slice, pad, concat, broadcastTo, sum, mean,
// where, mul and div by a param, prelu), checked against sampled values.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../../src/index.ts';
import { analyzeStatic, evaluate, graph } from '../../src/index.ts';

const runs = Number(process.env.SLOPE_FUZZ_RUNS ?? 10);

/** Returns a seeded uniform generator in [0, 1). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

function param(g: Graph, name: string, shape: number[], random: () => number, scale = 1): Node {
  const size = shape.reduce((a, b) => a * b, 1);
  return g.param(name, shape, { dtype: 'float64', init: { kind: 'values', values: Float64Array.from({ length: size }, () => (2 * random() - 1) * scale) } });
}

interface Built {
  g: Graph;
  x: Node;
  output: Node;
}

/** Builds a conv network: conv2d, bias, relu, avgPool2d, conv2d, leakyRelu, then a dense head. */
function convNetwork(seed: number): Built {
  const random = generator(seed);
  const g = graph();
  const x = g.input('x', [1, 5, 5, 1], 'float64');
  const h1 = x.conv2d(param(g, 'w1', [2, 2, 1, 3], random), { padding: 'same', bias: param(g, 'b1', [3], random, 0.5) }).relu();
  const pooled = h1.avgPool2d({ poolSize: 2, strides: 1, padding: 'valid' });
  const h2 = pooled.conv2d(param(g, 'w2', [2, 2, 3, 2], random), { strides: 2, bias: param(g, 'b2', [2], random, 0.5) }).leakyRelu(0.1);
  const flat = h2.reshape([1, h2.size]);
  const output = flat.matmul(param(g, 'w3', [h2.size, 2], random)).elu(0.5);
  return { g, x, output };
}

/** Builds a dense network that moves its activations through every data-movement op between layers. */
function movementNetwork(seed: number): Built {
  const random = generator(seed);
  const g = graph();
  const x = g.input('x', [2, 3], 'float64');
  const z1 = x.matmul(param(g, 'w1', [3, 4], random)).add(param(g, 'b1', [4], random));
  const h1 = z1.relu();
  const moved = h1.transpose().reshape([2, 4]).slice([0, 1], [2, 3]).pad([[0, 0], [1, 0]], 0.25);
  const joined = g.concat([moved, h1.sum(1, { keepDims: true }), h1.mean(1, { keepDims: true })], 1);
  const scaled = joined.mul(param(g, 's', [6], random)).div(param(g, 'd', [1], random).abs().add(0.5));
  const mask = param(g, 'm', [6], random).greater(0);
  const chosen = g.where(mask, scaled, scaled.neg());
  const z2 = chosen.sub(param(g, 'b2', [1, 6], random).broadcastTo([2, 6]));
  const output = z2.prelu(param(g, 'alpha', [6], random, 0.5)).matmul(param(g, 'w3', [6, 1], random)).neg();
  return { g, x, output };
}

function checkContainment(built: Built, splits: number, seed: number): void {
  const region = { x: { lower: -1, upper: 1 } };
  const report = analyzeStatic(built.output, { region, splits });
  const random = generator(seed ^ 0x5bd1e995);
  const layers = report.layers;
  for (let k = 0; k < 60; k++) {
    // Every fourth element sits on a face of the box, the others inside it.
    const face = k % 2 === 0 ? -1 : 1;
    const point = Float64Array.from({ length: built.x.size }, (_, i) => ((k + i) % 4 === 0 ? face : 2 * random() - 1));
    const results = evaluate([...layers.map((l) => l.preActivation), built.output], { x: point });
    layers.forEach((layer, j) => {
      const data = results[j]!.data;
      for (let i = 0; i < data.length; i++) {
        const unit = i % layer.units;
        const where = `layer ${layer.name} element ${i} at sample ${k}`;
        expect(data[i]!, `${where} linear lower`).toBeGreaterThanOrEqual(layer.linear.lower[unit]!);
        expect(data[i]!, `${where} linear upper`).toBeLessThanOrEqual(layer.linear.upper[unit]!);
        expect(data[i]!, `${where} lower`).toBeGreaterThanOrEqual(layer.bounds.lower[unit]!);
        expect(data[i]!, `${where} upper`).toBeLessThanOrEqual(layer.bounds.upper[unit]!);
      }
    });
    const out = results.at(-1)!.data;
    const bounds = report.outputs[0]!;
    out.forEach((v, i) => {
      expect(v, `output ${i} linear`).toBeGreaterThanOrEqual(bounds.linear.lower[i]!);
      expect(v, `output ${i} linear`).toBeLessThanOrEqual(bounds.linear.upper[i]!);
    });
  }
}

describe('linear bounds through every rewritten op', () => {
  it('contain sampled values of a conv network', () => {
    fc.assert(fc.property(fc.integer(), fc.integer({ min: 0, max: 1 }), (seed, splits) => checkContainment(convNetwork(seed), splits, seed)), { numRuns: runs });
  }, 600_000);

  it('contain sampled values through data movement', () => {
    fc.assert(fc.property(fc.integer(), fc.integer({ min: 0, max: 1 }), (seed, splits) => checkContainment(movementNetwork(seed), splits, seed)), { numRuns: runs });
  }, 600_000);

  it('are no looser than interval bounds on a conv network', () => {
    const report = analyzeStatic(convNetwork(7).output, { region: { x: { lower: -1, upper: 1 } } });
    const widths = (b: { lower: Float64Array; upper: Float64Array }) => Array.from(b.lower, (l, i) => b.upper[i]! - l).reduce((a, w) => a + w, 0);
    const last = report.layers.at(-1)!;
    expect(widths(last.linear)).toBeLessThan(widths(last.interval));
  });
});

describe('linear bounds keep correlations', () => {
  // relu(x) + relu(-x) - 1.5 < 0 on [-1, 1] needs the correlation of the two units; a cut op would lose it.
  const cases: [string, (g: Graph, x: Node) => Node][] = [
    ['concat and sum', (g, x) => g.concat([x.relu(), x.neg().relu()], 1).sum(1)],
    ['transpose, reshape and mean', (g, x) => g.concat([x.relu(), x.neg().relu()], 0).transpose().reshape([1, 2]).mean(1).mul(2)],
    ['pad and slice', (g, x) => g.concat([x.relu(), x.neg().relu()], 1).pad([[0, 0], [1, 1]], 7).slice([0, 1], [1, 2]).sum()],
    ['broadcastTo and where', (g, x) => g.where(g.constant([1, 0], [2], 'bool'), x.relu().broadcastTo([1, 2]), x.neg().relu().broadcastTo([1, 2])).sum()],
    ['avgPool2d', (g, x) => g.concat([x.relu(), x.neg().relu()], 1).reshape([1, 1, 2, 1]).avgPool2d({ poolSize: [1, 2] }).mul(2).reshape([1])],
  ];
  for (const [name, build] of cases) {
    it(`through ${name}`, () => {
      const g = graph();
      const x = g.input('x', [1, 1], 'float64');
      const y = build(g, x).sub(1.5);
      const bounds = analyzeStatic(y, { region: { x: { lower: -1, upper: 1 } } }).outputs[0]!;
      expect(bounds.interval.upper[0]!).toBeGreaterThan(0);
      expect(bounds.linear.upper[0]!).toBeCloseTo(-0.5, 9);
    });
  }
});

describe('conv units', () => {
  it('finds a dead channel at every position', () => {
    const g = graph();
    const x = g.input('x', [2, 4, 4, 1], 'float64');
    const w = g.param('w', [3, 3, 1, 3], { dtype: 'float64', init: 'heNormal', seed: 2 });
    const b = g.param('b', [3], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(0.1, -100, 0) } });
    const h = x.conv2d(w, { padding: 'same', bias: b }).relu();
    const layer = analyzeStatic(h, { region: { x: { lower: 0, upper: 1 } } }).layers[0]!;
    expect(layer.unitShape).toEqual([4, 4, 3]);
    expect(layer.channels).toBe(3);
    expect(layer.channelSummary!.status).toEqual(['unstable', 'dead', 'unstable']);
    const deadPositions = layer.status.filter((s, unit) => unit % 3 === 1 && s === 'dead').length;
    expect(deadPositions).toBe(16);
  });
});
