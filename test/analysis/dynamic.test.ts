import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DynamicReport, Node } from '../../src/index.ts';
import { analyzeDynamic, compile, DeadUnitsError, DEFAULT_GRADIENT_EVERY, DynamicAnalyzer, evaluate, grad, graph } from '../../src/index.ts';
import type { NetworkSpec } from './networks.ts';
import { buildNetwork, networkArbitrary, sampleBox } from './networks.ts';

const runs = Number(process.env.SLOPE_FUZZ_RUNS ?? 40);

interface CaseTensor {
  shape: number[];
  values: unknown;
}

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

function readCase(): { inputs: Record<string, CaseTensor>; expected: Record<string, unknown> } {
  const url = new URL('../../../shared/cases/c27.json', import.meta.url);
  try {
    return JSON.parse(readFileSync(url, 'utf8'));
  } catch (error) {
    throw new Error(`the dead-unit case file ${url.pathname} is missing or invalid JSON: ${String(error)}`);
  }
}

function valuesParam(g: ReturnType<typeof graph>, name: string, tensor: CaseTensor): Node {
  return g.param(name, tensor.shape, { dtype: 'float64', init: { kind: 'values', values: Float64Array.from(flat(tensor.values)) } });
}

describe('dynamic analysis: dense case from keras-contrib DeadReluDetector', () => {
  const c = readCase();
  const g = graph();
  const x = g.input('X', c.inputs.X!.shape, 'float64');
  const w = valuesParam(g, 'W', c.inputs.W!);
  const b = valuesParam(g, 'b', c.inputs.b!);
  const h = x.matmul(w, { bias: b }).relu().named('dense');
  const feeds = [{ X: flat(c.inputs.X!.values) }];

  it('finds the never-positive units', async () => {
    const report = await analyzeDynamic(h, { data: feeds });
    const layer = report.layers[0]!;
    const dead = Array.from(layer.positiveFraction).flatMap((f, i) => (f === 0 ? [i] : []));
    expect(dead).toEqual(c.expected.dense_dead_units);
    expect(layer.dead / layer.units).toBeCloseTo(c.expected.dense_dead_fraction as number, 12);
    expect(layer.dead / layer.units >= 0.1).toBe(c.expected.dense_warn_at_10_percent);
  });

  it('counts the fire rate of each unit', async () => {
    const layer = (await analyzeDynamic(h, { data: feeds })).layers[0]!;
    const expected = flat((c.expected.dense_fire_rate as CaseTensor).values);
    expected.forEach((rate, i) => expect(layer.positiveFraction[i]!, `unit ${i}`).toBeCloseTo(rate, 10));
    const pre = (c.expected.dense_pre_activation as CaseTensor).values as number[][];
    pre[0]!.forEach((_, i) => expect(layer.maxPreActivation[i]!, `unit ${i}`).toBeCloseTo(Math.max(...pre.map((row) => row[i]!)), 12));
    // Unit 3 fires on 1 of 6 examples: alive, and not dying at the 1% threshold.
    expect(layer.dying).toBe(0);
    expect((await analyzeDynamic(h, { data: feeds, threshold: 0.2 })).layers[0]!.dying).toBe(1);
  });

  it('counts a unit peaking at exactly 0 as dead', async () => {
    // Unit 2's largest pre-activation is exactly 0: dead under pre-activation <= 0, alive under < 0.
    const layer = (await analyzeDynamic(h, { data: feeds })).layers[0]!;
    expect(layer.positiveFraction[2]).toBe(0);
  });

  it('gives dead units exactly zero gradient columns', () => {
    const [dw, db] = grad(h.sum(), [w, b]);
    const [gw, gb] = compile([dw!, db!]).run(feeds[0]!);
    expect(Array.from(gw!)).toEqual(flat((c.expected.dense_grad_W_sum_loss as CaseTensor).values));
    expect(Array.from(gb!)).toEqual(flat((c.expected.dense_grad_b_sum_loss as CaseTensor).values));
  });

  it('reports the zero fraction of param gradients', async () => {
    const report = await analyzeDynamic(h, { data: feeds, loss: h.sum(), gradientsOf: 'params' });
    const byName = Object.fromEntries(report.paramGradients.map((p) => [p.name, p]));
    // Three of five columns of dW and three of five entries of db are 0.
    expect(byName.W!.zeroFraction).toBeCloseTo(0.6, 12);
    expect(byName.b!.zeroFraction).toBeCloseTo(0.6, 12);
  });
});

/** True once the conv2d reference op is in the registry; before that, building a conv2d node raises. */
function convAvailable(): boolean {
  try {
    const g = graph();
    g.input('x', [1, 2, 2, 1]).conv2d(g.input('w', [1, 1, 1, 1]));
    return true;
  } catch {
    return false;
  }
}

describe('dynamic analysis: conv case from keras-contrib DeadReluDetector', () => {
  const c = readCase();
  // NOTE: skipped until conv2d's reference op is merged; the dense case above runs now.
  it.skipIf(!convAvailable())('finds the dead channel', async () => {
    const g = graph();
    const x = g.input('Xc', c.inputs.Xc!.shape, 'float64');
    const w = valuesParam(g, 'Wc', c.inputs.Wc!);
    const b = valuesParam(g, 'bc', c.inputs.bc!);
    const h = x.conv2d(w, { padding: 'valid', bias: b }).relu();
    const layer = (await analyzeDynamic(h, { data: [{ Xc: flat(c.inputs.Xc!.values) }] })).layers[0]!;
    const summary = layer.channelSummary!;
    const dead = Array.from(summary.positiveFraction).flatMap((f, i) => (f === 0 ? [i] : []));
    expect(dead).toEqual(c.expected.conv_dead_channels);
    expect(summary.dead / layer.channels!).toBeCloseTo(c.expected.conv_dead_fraction as number, 10);
    const maxima = flat((c.expected.conv_pre_activation_max_per_channel as CaseTensor).values);
    maxima.forEach((m, channel) => expect(summary.maxPreActivation[channel]!, `channel ${channel}`).toBeCloseTo(m, 10));
  });
});

/** Counts over the data with the reference interpreter, one batch at a time. */
function bruteForce(spec: NetworkSpec, batches: Float64Array[]) {
  const net = buildNetwork(spec);
  const layers = net.preActivations.map((z) => ({ units: z.shape[1]!, positive: new Float64Array(z.shape[1]!), absSum: new Float64Array(z.shape[1]!), sum: 0, squares: 0 }));
  for (const x of batches) {
    const results = evaluate([...net.preActivations, ...net.activations], { x });
    layers.forEach((layer, k) => {
      const z = results[k]!.data;
      const a = results[k + layers.length]!.data;
      for (let i = 0; i < z.length; i++) {
        const unit = i % layer.units;
        if (z[i]! > 0) layer.positive[unit]!++;
        layer.absSum[unit] = layer.absSum[unit]! + Math.abs(a[i]!);
        layer.sum += z[i]!;
        layer.squares += z[i]! * z[i]!;
      }
    });
  }
  return layers;
}

function batchesOf(spec: NetworkSpec, count: number, seed: number): Float64Array[] {
  const rows = sampleBox(spec, count * spec.batch, seed);
  const batches: Float64Array[] = [];
  for (let k = 0; k < count; k++) {
    const x = new Float64Array(spec.batch * spec.inputs);
    for (let r = 0; r < spec.batch; r++) x.set(rows[k * spec.batch + r]!, r * spec.inputs);
    batches.push(x);
  }
  return batches;
}

describe('dynamic analysis: against the interpreter', () => {
  it('matches brute-force counts', async () => {
    await fc.assert(
      fc.asyncProperty(networkArbitrary({ maxBatch: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer(), async (spec, count, seed) => {
        const batches = batchesOf(spec, count, seed);
        const report = await analyzeDynamic(buildNetwork(spec).output, { data: batches.map((x) => ({ x })) });
        const expected = bruteForce(spec, batches);
        const examples = spec.batch * count;
        report.layers.forEach((layer, k) => {
          const brute = expected[k]!;
          expect(layer.examples).toBe(examples);
          brute.positive.forEach((p, u) => expect(layer.positiveFraction[u], `layer ${k} unit ${u}`).toBe(p / examples));
          expect(layer.dead).toBe(brute.positive.filter((p) => p === 0).length);
          expect(layer.dying).toBe(brute.positive.filter((p) => p > 0 && p / examples < 0.01).length);
          brute.absSum.forEach((s, u) => expect(layer.meanAbsActivation[u]!).toBeCloseTo(s / examples, 9));
          const elements = examples * brute.units;
          expect(layer.sparsity).toBeCloseTo(1 - brute.positive.reduce((a, b) => a + b, 0) / elements, 12);
          expect(layer.preActivationMean).toBeCloseTo(brute.sum / elements, 9);
        });
      }),
      { numRuns: runs },
    );
  }, 600_000);

  it('leaves the outputs of the compiled graph unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(networkArbitrary({ maxBatch: 3 }), fc.integer(), async (spec, seed) => {
        const net = buildNetwork(spec, 'float32');
        const batches = batchesOf(spec, 2, seed).map((x) => ({ x: Float32Array.from(x) }));
        const plain = compile(net.output);
        const seen: number[][] = [];
        await analyzeDynamic(net.output, { data: batches, loss: net.output.sum(), onBatch: ([out]) => seen.push(Array.from(out!)) });
        batches.forEach((feeds, k) => expect(seen[k]).toEqual(Array.from(plain.run(feeds)[0]!)));
      }),
      { numRuns: Math.ceil(runs / 2) },
    );
  }, 600_000);

  it('leaves the caller graph unchanged', async () => {
    const net = buildNetwork({ inputs: 2, batch: 1, layers: [{ weights: [[1], [2]], bias: [0], activation: { op: 'relu' } }], lower: [0, 0], upper: [1, 1] });
    const loss = net.output.sum();
    const before = net.g.nodes.length;
    await analyzeDynamic(net.output, { data: [{ x: [1, 2] }], loss });
    expect(net.g.nodes.length).toBe(before);
  });
});

describe('dynamic analysis: gradients', () => {
  /** Builds one layer of four units, units 1 and 3 with bias -100, and a weighted sum as the loss. */
  function network(activation: 'relu' | 'leakyRelu') {
    const g = graph();
    const x = g.input('x', [8, 2], 'float64');
    const w = g.param('w', [2, 4], { dtype: 'float64', init: 'heNormal', seed: 3 });
    const b = g.param('b', [4], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(0.5, -100, 0.5, -100) } });
    const z = x.matmul(w).add(b);
    const h = activation === 'relu' ? z.relu() : z.leakyRelu(0.1);
    const v = g.param('v', [4, 1], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(1, -2, 0.5, 3) } });
    return { h, loss: h.matmul(v).sum() };
  }
  const data = Array.from({ length: 3 }, (_, k) => ({ x: Array.from({ length: 16 }, (_, i) => Math.sin(i + 16 * k)) }));

  it('never reports zero gradient for negative-regime units', async () => {
    const { h, loss } = network('leakyRelu');
    const layer = (await analyzeDynamic(h, { data, loss, gradientsOf: 'preActivations' })).layers[0]!;
    expect(layer.label).toBe('negativeRegime');
    expect(layer.dead).toBe(2);
    expect(layer.gradient!.unitZeroFraction[1]).toBe(0);
    expect(layer.gradient!.unitZeroFraction[3]).toBe(0);
    expect(layer.gradient!.zeroFraction).toBe(0);
  });

  it('reports zero gradient for dead relu units', async () => {
    const { h, loss } = network('relu');
    const layer = (await analyzeDynamic(h, { data, loss, gradientsOf: 'preActivations' })).layers[0]!;
    expect(layer.label).toBe('dead');
    expect(layer.gradient!.unitZeroFraction[1]).toBe(1);
    expect(layer.gradient!.unitZeroFraction[3]).toBe(1);
  });

  it('computes the gradient norm over batches', async () => {
    const { h, loss } = network('relu');
    const layer = (await analyzeDynamic(h, { data, loss, gradientsOf: 'activations' })).layers[0]!;
    // d loss / d h is v broadcast over 8 rows: each batch norm is sqrt(8 * (1 + 4 + 0.25 + 9)).
    expect(layer.gradient!.l2Norm).toBeCloseTo(Math.sqrt(8 * 14.25), 10);
    expect(layer.gradient!.meanAbs).toBeCloseTo((1 + 2 + 0.5 + 3) / 4, 12);
    expect(layer.gradient!.zeroFraction).toBe(0);
  });
});

describe('dynamic analysis: activation forms', () => {
  // keras-contrib's detector read a layer's config and missed ReLU given as a layer or callable; slope reads graph ops.
  it('finds relu given by name, callable or object', async () => {
    const g = graph();
    const x = g.input('x', [2, 2], 'float64');
    const w = g.param('w', [2, 2], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(1, -1, 1, -1) } });
    const byName = x.matmul(w, { activation: 'relu' });
    const byCallable = byName.matmul(w, { activation: (n) => n.relu() });
    const byObject = byCallable.matmul(w, { activation: { apply: (n) => n.relu() } });
    const report = await analyzeDynamic(byObject, { data: [{ x: [1, 2, 3, 4] }] });
    expect(report.layers).toHaveLength(3);
    expect(report.layers.map((l) => l.dead)).toEqual([1, 1, 1]);
  });
});

describe('dynamic analysis: dormant units', () => {
  it('counts tau-dormant units beside dead ones', async () => {
    const g = graph();
    const x = g.input('x', [4, 1], 'float64');
    // Units scale x by 1, 0.05 and 0 (dead): means of |activation| are 1, 0.05 and 0 times mean |x|.
    const w = g.param('w', [1, 3], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(1, 0.05, 0) } });
    const h = x.matmul(w).relu();
    const data = [{ x: [1, 2, 3, 4] }];
    const strict = (await analyzeDynamic(h, { data })).layers[0]!;
    expect(strict.dead).toBe(1);
    expect(strict.dormant).toBe(1);
    // The layer mean is 0.35 of mean |x|; tau = 0.2 makes 0.05 dormant too.
    expect((await analyzeDynamic(h, { data, tau: 0.2 })).layers[0]!.dormant).toBe(2);
  });
});

describe('dynamic analysis: arguments', () => {
  const g = graph();
  const x = g.input('x', [2, 2]);
  const h = x.relu();

  it('drops feeds of inputs the outputs do not read', async () => {
    g.input('labels', [2], 'int32');
    const report = await analyzeDynamic(h, { data: [{ x: [1, -2, 3, -4], labels: [0, 1] }], measureCost: true });
    expect(report.layers[0]!.dead).toBe(1);
  });

  it('rejects a feed that is no input', async () => {
    await expect(analyzeDynamic(h, { data: [{ x: [1, 2, 3, 4], y: [1] }] })).rejects.toThrow(/feeds "y", which is not an input/);
  });

  it('rejects empty data', async () => {
    await expect(analyzeDynamic(h, { data: [] })).rejects.toThrow(DeadUnitsError);
  });

  it('rejects a threshold outside [0, 1]', async () => {
    await expect(analyzeDynamic(h, { data: [{ x: [1, 2, 3, 4] }], threshold: 2 })).rejects.toThrow(/threshold must be in \[0, 1\]/);
  });

  it('rejects a loss that is not a scalar', async () => {
    await expect(analyzeDynamic(h, { data: [{ x: [1, 2, 3, 4] }], loss: h })).rejects.toThrow(/pass a scalar/);
  });

  it('rejects measureCost on one-shot data', async () => {
    function* once() {
      yield { x: [1, 2, 3, 4] };
    }
    await expect(analyzeDynamic(h, { data: once(), measureCost: true })).rejects.toThrow(/reads the data twice/);
  });

  it('measures the cost against a forward pass', async () => {
    const report: DynamicReport = await analyzeDynamic(h, { data: [{ x: [1, 2, 3, 4] }], measureCost: true });
    expect(report.cost!.ratio).toBeGreaterThan(0);
    expect(Number.isFinite(report.cost!.ratio)).toBe(true);
  });
});

describe('dynamic analyzer: reuse', () => {
  /** Two relu layers and a loss; the params are given per run. */
  function network() {
    const g = graph();
    const x = g.input('x', [4, 3], 'float64');
    const labels = g.input('labels', [4], 'int32');
    const w1 = g.param('w1', [3, 5], { dtype: 'float64', init: 'heNormal', seed: 1 });
    const w2 = g.param('w2', [5, 3], { dtype: 'float64', init: 'heNormal', seed: 2 });
    const h = x.matmul(w1).relu().named('hidden');
    const logits = h.matmul(w2).relu().named('logits');
    return { logits, loss: g.softmaxCrossEntropy(logits, labels).mean() };
  }
  const data = Array.from({ length: 5 }, (_, k) => ({ x: Array.from({ length: 12 }, (_, i) => Math.cos(3 * i + k)), labels: [k % 3, 1, 2, 0] }));
  const paramsOf = (seed: number) => ({
    w1: Array.from({ length: 15 }, (_, i) => Math.sin(seed + 7 * i)),
    w2: Array.from({ length: 15 }, (_, i) => Math.cos(seed * 3 + i)),
  });

  it('gives one-shot results on each run', async () => {
    const { logits, loss } = network();
    const analyzer = new DynamicAnalyzer(logits, { loss });
    for (const seed of [1, 2, 1]) {
      const params = paramsOf(seed);
      const reused = await analyzer.run(data, params);
      const oneShot = await analyzeDynamic(logits, { data, loss, params });
      expect(reused.layers.map((l) => l.dead), `seed ${seed}`).toEqual(oneShot.layers.map((l) => l.dead));
      expect(reused.layers.map((l) => Array.from(l.positiveFraction))).toEqual(oneShot.layers.map((l) => Array.from(l.positiveFraction)));
      expect(reused.layers.map((l) => l.sparsity)).toEqual(oneShot.layers.map((l) => l.sparsity));
      expect(reused.layers.map((l) => l.gradient!.l2Norm)).toEqual(oneShot.layers.map((l) => l.gradient!.l2Norm));
      expect(reused.layers.map((l) => Array.from(l.maxPreActivation))).toEqual(oneShot.layers.map((l) => Array.from(l.maxPreActivation)));
    }
    const first = await analyzer.run(data, paramsOf(1));
    const second = await analyzer.run(data, paramsOf(2));
    expect(first.layers[0]!.preActivationMean).not.toBe(second.layers[0]!.preActivationMean);
  });

  it('accumulates batch by batch like run', async () => {
    const { logits, loss } = network();
    const analyzer = new DynamicAnalyzer(logits, { loss, params: paramsOf(3) });
    const totals = analyzer.start();
    for (const feeds of data) analyzer.add(totals, feeds);
    const stepped = analyzer.finish(totals);
    const whole = await analyzer.run(data);
    expect(stepped.layers.map((l) => [l.dead, l.dying, l.sparsity, l.gradient!.l2Norm])).toEqual(whole.layers.map((l) => [l.dead, l.dying, l.sparsity, l.gradient!.l2Norm]));
  });

  it('rejects totals of another analyzer', () => {
    const { logits, loss } = network();
    const analyzer = new DynamicAnalyzer(logits, { loss });
    const other = new DynamicAnalyzer(logits.inputs[0]!);
    expect(() => analyzer.add(other.start(), data[0]!)).toThrow(/totals come from an analyzer of another graph/);
  });

  it('samples gradients on every k-th batch', async () => {
    const { logits, loss } = network();
    const params = paramsOf(4);
    for (const gradientsOf of ['activations', 'preActivations', 'params'] as const) {
      const sampled = await analyzeDynamic(logits, { data, loss, params, gradientsOf, gradientEvery: 2 });
      const exact = await analyzeDynamic(logits, { data, loss, params, gradientsOf, gradientEvery: 1 });
      // Batches 0, 2 and 4 take gradients.
      const subset = await analyzeDynamic(logits, { data: [data[0]!, data[2]!, data[4]!], loss, params, gradientsOf, gradientEvery: 1 });
      expect(sampled.batches).toBe(5);
      expect(sampled.gradientBatches).toBe(3);
      sampled.layers.forEach((layer, k) => {
        expect(Array.from(layer.positiveFraction), `${gradientsOf} layer ${k}`).toEqual(Array.from(exact.layers[k]!.positiveFraction));
        expect(layer.sparsity).toBe(exact.layers[k]!.sparsity);
        expect(layer.preActivationStd).toBe(exact.layers[k]!.preActivationStd);
        if (gradientsOf === 'params') return;
        const expected = subset.layers[k]!.gradient!;
        expect(layer.gradient!.l2Norm).toBeCloseTo(expected.l2Norm, 12);
        expect(layer.gradient!.meanAbs).toBeCloseTo(expected.meanAbs, 12);
        expect(layer.gradient!.zeroFraction).toBeCloseTo(expected.zeroFraction, 12);
        expect(Array.from(layer.gradient!.unitZeroFraction)).toEqual(Array.from(expected.unitZeroFraction));
      });
      sampled.paramGradients.forEach((p, k) => {
        expect(p.l2Norm, p.name).toBeCloseTo(subset.paramGradients[k]!.l2Norm, 12);
        expect(p.meanAbs, p.name).toBeCloseTo(subset.paramGradients[k]!.meanAbs, 12);
      });
    }
  });

  it('samples every 8th batch by default', async () => {
    const { logits, loss } = network();
    const many = [...data, ...data, ...data, ...data];
    const report = await analyzeDynamic(logits, { data: many, loss });
    expect(DEFAULT_GRADIENT_EVERY).toBe(8);
    // Batches 0, 8 and 16 of 20.
    expect(report.gradientBatches).toBe(3);
    expect(report.layers[0]!.gradient!.l2Norm).toBe((await analyzeDynamic(logits, { data: many, loss, gradientEvery: 8 })).layers[0]!.gradient!.l2Norm);
    expect((await analyzeDynamic(logits, { data })).gradientBatches).toBe(0);
  });

  it('rejects an invalid gradientEvery', async () => {
    const { logits, loss } = network();
    for (const bad of [0, -1, 1.5, NaN]) {
      expect(() => new DynamicAnalyzer(logits, { loss, gradientEvery: bad }), String(bad)).toThrow(DeadUnitsError);
      expect(() => new DynamicAnalyzer(logits, { loss, gradientEvery: bad })).toThrow(/gradientEvery must be an integer >= 1/);
    }
    await expect(analyzeDynamic(logits, { data, loss, gradientEvery: 0 })).rejects.toThrow(/Error in analyzeDynamic: gradientEvery must be an integer >= 1/);
    expect(() => new DynamicAnalyzer(logits, { gradientEvery: 2 })).toThrow(/gradientEvery is 2 but no loss is given/);
  });
});

describe('dynamic analysis: NaN pre-activations', () => {
  // Small batches pack the positive and NaN counts into one sum; from 4,095 rows on they are counted apart.
  for (const rows of [3, 5000]) {
    it(`counts NaN apart from positive (batch ${rows})`, async () => {
      const g = graph();
      const x = g.input('x', [rows, 2]);
      const column0 = [1, NaN, -1];
      const column1 = [NaN, 2, 3, 0];
      const values = Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? column0[(i >> 1) % 3]! : column1[(i >> 1) % 4]!));
      const layer = (await analyzeDynamic(x.relu(), { data: [{ x: values }, { x: values }] })).layers[0]!;
      const count = (column: number[], test: (v: number) => boolean) => Array.from({ length: rows }, (_, r) => column[r % column.length]!).filter(test).length;
      expect(layer.examples).toBe(2 * rows);
      expect(layer.positiveFraction[0]).toBe(count(column0, (v) => v > 0) / rows);
      expect(layer.positiveFraction[1]).toBe(count(column1, (v) => v > 0) / rows);
      expect(layer.nanCount).toBe(2 * (count(column0, Number.isNaN) + count(column1, Number.isNaN)));
    });
  }
});
