import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Node } from '../../src/index.ts';
import { analyzeStatic, compile, grad } from '../../src/index.ts';
import type { NetworkSpec } from './networks.ts';
import { buildNetwork, networkArbitrary, sampleBox } from './networks.ts';

const runs = Number(process.env.SLOPE_FUZZ_RUNS ?? 12);
const RANDOM_INPUTS = 10_000;
const SEARCH_STARTS = 1_000;
const SEARCH_STEPS = 25;

interface DeadUnit {
  layer: number;
  unit: number;
}

function deadUnitsOf(spec: NetworkSpec, splits: number): DeadUnit[] {
  const report = analyzeStatic(buildNetwork(spec).output, { region: { x: { lower: spec.lower, upper: spec.upper } }, splits });
  return report.layers.flatMap((layer, k) => layer.status.flatMap((s, u) => (s === 'dead' ? [{ layer: k, unit: u }] : [])));
}

function feedOf(rows: Float64Array[], inputs: number): Float64Array {
  const x = new Float64Array(rows.length * inputs);
  rows.forEach((row, r) => x.set(row, r * inputs));
  return x;
}

/** Returns the largest pre-activation of a dead unit over the rows of one run. */
function largest(values: ArrayLike<number>, units: number, unit: number): number {
  let max = -Infinity;
  for (let i = unit; i < values.length; i += units) max = Math.max(max, values[i]!);
  return max;
}

/** Checks dead units on random inputs of the box, through the compiled network. */
function checkRandom(spec: NetworkSpec, dead: DeadUnit[], seed: number): void {
  const net = buildNetwork({ ...spec, batch: RANDOM_INPUTS });
  const executable = compile(net.preActivations);
  const results = executable.run({ x: feedOf(sampleBox(spec, RANDOM_INPUTS, seed), spec.inputs) });
  for (const { layer, unit } of dead) {
    const units = net.preActivations[layer]!.shape[1]!;
    expect(largest(results[layer]!, units, unit), `layer ${layer} unit ${unit} on random inputs`).toBeLessThanOrEqual(0);
  }
}

/** Runs projected sign-gradient ascent on each unit's pre-activation from many starts; returns the largest value per unit. */
function search(spec: NetworkSpec, units: DeadUnit[], seed: number, check: (value: number, unit: DeadUnit, iteration: number) => void): number[] {
  const net = buildNetwork({ ...spec, batch: SEARCH_STARTS });
  const objectives: Node[] = units.map(({ layer, unit }) => {
    const z = net.preActivations[layer]!;
    return z.slice([0, unit], [SEARCH_STARTS, 1]).sum();
  });
  const gradients = objectives.map((objective) => grad(objective, [net.x])[0]!);
  const executable = compile([...net.preActivations, ...gradients]);
  const step = spec.upper.map((hi, i) => (hi - spec.lower[i]!) / 10);

  return units.map((target, k) => {
    const { layer, unit } = target;
    const x = feedOf(sampleBox(spec, SEARCH_STARTS, seed + k), spec.inputs);
    const width = net.preActivations[layer]!.shape[1]!;
    let best = -Infinity;
    for (let iteration = 0; iteration <= SEARCH_STEPS; iteration++) {
      const results = executable.run({ x });
      const value = largest(results[layer]!, width, unit);
      check(value, target, iteration);
      best = Math.max(best, value);
      const g = results[net.preActivations.length + k]!;
      for (let i = 0; i < x.length; i++) {
        const d = i % spec.inputs;
        x[i] = Math.min(spec.upper[d]!, Math.max(spec.lower[d]!, x[i]! + step[d]! * Math.sign(g[i]!)));
      }
    }
    return best;
  });
}

function checkAdversarial(spec: NetworkSpec, dead: DeadUnit[], seed: number): void {
  search(spec, dead, seed, (value, { layer, unit }, iteration) => {
    expect(value, `layer ${layer} unit ${unit} after ${iteration} ascent steps`).toBeLessThanOrEqual(0);
  });
}

describe('static analysis: dead units under search', () => {
  it('are never positive on random or searched inputs', () => {
    let checked = 0;
    fc.assert(
      fc.property(networkArbitrary({ biasShift: 3, maxBatch: 1 }), fc.integer({ min: 0, max: 2 }), fc.integer(), (spec, splits, seed) => {
        const dead = deadUnitsOf(spec, splits);
        if (dead.length === 0) return;
        checked += dead.length;
        checkRandom(spec, dead, seed);
        checkAdversarial(spec, dead, seed);
      }),
      { numRuns: runs },
    );
    expect(checked).toBeGreaterThan(0);
  }, 600_000);

  it('search finds a positive value of a live unit', () => {
    // z = x0 - 0.95 on x in [0, 1]^2 is positive only near x0 = 1, and the ascent must reach it.
    const spec: NetworkSpec = { inputs: 2, batch: 1, layers: [{ weights: [[1], [0]], bias: [-0.95], activation: { op: 'relu' } }], lower: [0, 0], upper: [1, 1] };
    const [best] = search(spec, [{ layer: 0, unit: 0 }], 1, () => {});
    expect(best!).toBeCloseTo(0.05, 12);
  });
});
