import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StaticLayer } from '../../src/index.ts';
import { analyzeStatic, DeadUnitsError, evaluate, graph } from '../../src/index.ts';
import type { NetworkSpec } from './networks.ts';
import { buildNetwork, networkArbitrary, sampleBox } from './networks.ts';

const runs = Number(process.env.SLOPE_FUZZ_RUNS ?? 60);

/** Concatenates sample rows into one feed. */
function rowsToFeed(spec: NetworkSpec, rows: Float64Array[]): Float64Array {
  const out = new Float64Array(rows.length * spec.inputs);
  rows.forEach((row, r) => out.set(row, r * spec.inputs));
  return out;
}

/** Checks that every element of `data` lies in the per-unit bounds (units = data.length / batch rows). */
function expectWithin(data: ArrayLike<number>, units: number, lower: Float64Array, upper: Float64Array, what: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    const u = i % units;
    expect(v, `${what} element ${i}: ${v} outside [${lower[u]}, ${upper[u]}]`).toBeGreaterThanOrEqual(lower[u]!);
    expect(v, `${what} element ${i}: ${v} outside [${lower[u]}, ${upper[u]}]`).toBeLessThanOrEqual(upper[u]!);
  }
}

function expectTighter(layer: { bounds: { lower: Float64Array; upper: Float64Array }; interval: { lower: Float64Array; upper: Float64Array }; linear: { lower: Float64Array; upper: Float64Array } }, what: string): void {
  for (let u = 0; u < layer.bounds.lower.length; u++) {
    expect(layer.bounds.lower[u]!, `${what} unit ${u} lower vs interval`).toBeGreaterThanOrEqual(layer.interval.lower[u]!);
    expect(layer.bounds.lower[u]!, `${what} unit ${u} lower vs linear`).toBeGreaterThanOrEqual(layer.linear.lower[u]!);
    expect(layer.bounds.upper[u]!, `${what} unit ${u} upper vs interval`).toBeLessThanOrEqual(layer.interval.upper[u]!);
    expect(layer.bounds.upper[u]!, `${what} unit ${u} upper vs linear`).toBeLessThanOrEqual(layer.linear.upper[u]!);
  }
}

describe('static analysis: known dead units', () => {
  it('finds units with bias -100', () => {
    const g = graph();
    const x = g.input('x', [1, 3]);
    const w1 = g.param('w1', [3, 4], { init: 'heNormal', seed: 4 });
    const b1 = g.param('b1', [4], { init: { kind: 'values', values: Float64Array.of(0.1, -100, 0, -100) } });
    const h1 = x.matmul(w1, { bias: b1, activation: 'relu' }).named('hidden1');
    const w2 = g.param('w2', [4, 3], { init: 'heNormal', seed: 5 });
    const b2 = g.param('b2', [3], { init: { kind: 'values', values: Float64Array.of(-100, 0.2, 0) } });
    const h2 = h1.matmul(w2, { bias: b2, activation: 'relu' }).named('hidden2');
    const report = analyzeStatic(h2, { region: { x: { lower: -1, upper: 1 } } });

    expect(report.layers.map((l) => l.name)).toEqual(['hidden1', 'hidden2']);
    expect(report.layers[0]!.status.map((s, i) => (s === 'dead' ? i : -1)).filter((i) => i >= 0)).toEqual([1, 3]);
    expect(report.layers[1]!.status.map((s, i) => (s === 'dead' ? i : -1)).filter((i) => i >= 0)).toEqual([0]);
  });

  it('finds negative weights on non-negative inputs', () => {
    const g = graph();
    const x = g.input('x', [2, 3]);
    // Unit 0: all weights negative, bias 0 -> dead (0 at x = 0). Unit 1: all positive, bias 0.5 -> always active.
    // Unit 2: mixed signs -> unstable. Unit 3: all negative, bias -0.1 -> dead.
    const weights = [
      [-1, 2, 0.5, -0.3],
      [-0.5, 1, -1, -2],
      [-2, 0.1, 0.5, -0.1],
    ].flat();
    const w = g.param('w', [3, 4], { init: { kind: 'values', values: Float64Array.from(weights) } });
    const b = g.param('b', [4], { init: { kind: 'values', values: Float64Array.of(0, 0.5, 0, -0.1) } });
    const h = x.matmul(w, { bias: b, activation: 'relu' });
    const report = analyzeStatic(h, { region: { x: { lower: 0, upper: 1 } } });
    expect(report.layers[0]!.status).toEqual(['dead', 'alwaysActive', 'unstable', 'dead']);
    expect(report.layers[0]!.counts).toEqual({ dead: 2, alwaysActive: 1, unstable: 1 });
  });

  it('calls leakyRelu dead units negative-regime', () => {
    const g = graph();
    const x = g.input('x', [1, 2]);
    const w = g.param('w', [2, 2], { init: { kind: 'values', values: Float64Array.of(1, 1, 1, 1) } });
    const b = g.param('b', [2], { init: { kind: 'values', values: Float64Array.of(-100, 0) } });
    const h = x.matmul(w, { bias: b }).leakyRelu(0.1);
    const layer = analyzeStatic(h, { region: { x: { lower: 0, upper: 1 } } }).layers[0]!;
    expect(layer.label).toBe('negativeRegime');
    expect(layer.status).toEqual(['dead', 'unstable']);
  });
});

describe('static analysis: linear bounds', () => {
  // |x| - 1.5 = relu(x) + relu(-x) - 1.5 on [-1, 1] lies in [-1.5, -0.5].
  function absMinusOneAndHalf() {
    const g = graph();
    const x = g.input('x', [1, 1]);
    const y = x.relu().add(x.neg().relu()).sub(1.5);
    return { y, out: y.relu() };
  }

  it('proves |x| - 1.5 negative where intervals cannot', () => {
    const { y } = absMinusOneAndHalf();
    const report = analyzeStatic(y, { region: { x: { lower: -1, upper: 1 } } });
    const bounds = report.outputs[0]!;
    expect(bounds.interval.upper[0]).toBe(0.5);
    expect(bounds.linear.upper[0]!).toBeLessThan(0);
    expect(bounds.linear.upper[0]!).toBeCloseTo(-0.5, 9);
    expect(bounds.bounds.upper[0]!).toBeLessThan(0);
  });

  it('marks relu(|x| - 1.5) dead only with linear bounds', () => {
    const { out } = absMinusOneAndHalf();
    const region = { x: { lower: -1, upper: 1 } };
    expect(analyzeStatic(out, { region }).layers.at(-1)!.status).toEqual(['dead']);
    expect(analyzeStatic(out, { region, linear: false }).layers.at(-1)!.status).toEqual(['unstable']);
  });

  it('proves it with interval bounds after one split', () => {
    const { out } = absMinusOneAndHalf();
    const report = analyzeStatic(out, { region: { x: { lower: -1, upper: 1 } }, linear: false, splits: 1 });
    expect(report.layers.at(-1)!.status).toEqual(['dead']);
    expect(report.leaves.map((l) => [l.region.x!.lower[0], l.region.x!.upper[0]])).toEqual([
      [-1, 0],
      [0, 1],
    ]);
  });
});

describe('static analysis: soundness', () => {
  it('bounds contain every sampled value', () => {
    fc.assert(
      fc.property(networkArbitrary(), fc.integer({ min: 0, max: 2 }), fc.integer(), (spec, splits, seed) => {
        const net = buildNetwork(spec);
        const report = analyzeStatic(net.output, { region: { x: { lower: spec.lower, upper: spec.upper } }, splits });
        const rows = sampleBox(spec, 64 * spec.batch, seed);
        for (let start = 0; start < rows.length; start += spec.batch) {
          const feeds = { x: rowsToFeed(spec, rows.slice(start, start + spec.batch)) };
          const results = evaluate([...net.preActivations, net.output], feeds);
          report.layers.forEach((layer: StaticLayer, k) => {
            const data = results[k]!.data;
            expectWithin(data, layer.units, layer.bounds.lower, layer.bounds.upper, `layer ${k} bounds`);
            expectWithin(data, layer.units, layer.interval.lower, layer.interval.upper, `layer ${k} interval`);
            expectWithin(data, layer.units, layer.linear.lower, layer.linear.upper, `layer ${k} linear`);
          });
          const output = report.outputs[0]!;
          const out = results.at(-1)!.data;
          expectWithin(out, out.length, output.bounds.lower, output.bounds.upper, 'output bounds');
        }
      }),
      { numRuns: runs },
    );
  }, 600_000);

  it('reports bounds no looser than interval or linear', () => {
    fc.assert(
      fc.property(networkArbitrary(), fc.integer({ min: 0, max: 2 }), (spec, splits) => {
        const report = analyzeStatic(buildNetwork(spec).output, { region: { x: { lower: spec.lower, upper: spec.upper } }, splits });
        report.layers.forEach((layer, k) => expectTighter(layer, `layer ${k}`));
        report.outputs.forEach((output) => expectTighter(output, 'output'));
      }),
      { numRuns: runs },
    );
  }, 600_000);
});

describe('static analysis: arguments', () => {
  const g = graph();
  const x = g.input('x', [2, 3]);
  const h = x.relu();

  it('rejects a missing box', () => {
    expect(() => analyzeStatic(h, { region: {} })).toThrow(DeadUnitsError);
    expect(() => analyzeStatic(h, { region: {} })).toThrow(/no box for input "x"/);
  });

  it('rejects an unknown input', () => {
    expect(() => analyzeStatic(h, { region: { x: { lower: 0, upper: 1 }, y: { lower: 0, upper: 1 } } })).toThrow(/"y", which is not an input/);
  });

  it('rejects lower above upper', () => {
    expect(() => analyzeStatic(h, { region: { x: { lower: 1, upper: 0 } } })).toThrow(/lower <= upper/);
  });

  it('rejects a bound of the wrong length', () => {
    expect(() => analyzeStatic(h, { region: { x: { lower: [0, 0], upper: 1 } } })).toThrow(/give a number, 6 values, or 3 values/);
  });

  it('accepts one bound per row element', () => {
    const report = analyzeStatic(h, { region: { x: { lower: [1, -1, -2], upper: [2, 0, 3] } } });
    expect(report.layers[0]!.status).toEqual(['alwaysActive', 'dead', 'unstable']);
  });
});
