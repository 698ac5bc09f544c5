// Small random networks for the dead-unit tests: fully connected layers with
// relu-family activations, described by plain data so fast-check can build
// and shrink them.

import fc from 'fast-check';
import type { Graph, Node } from '../../src/index.ts';
import { graph } from '../../src/index.ts';

export type ActivationSpec =
  | { op: 'relu' }
  | { op: 'leakyRelu'; alpha: number }
  | { op: 'elu'; alpha: number }
  | { op: 'prelu'; alphas: number[] };

export interface LayerSpec {
  weights: number[][];
  bias: number[];
  activation: ActivationSpec;
}

export interface NetworkSpec {
  inputs: number;
  batch: number;
  layers: LayerSpec[];
  lower: number[];
  upper: number[];
}

export interface BuiltNetwork {
  g: Graph;
  x: Node;
  preActivations: Node[];
  activations: Node[];
  output: Node;
}

/** Builds the network in float64, with params initialized to the spec's values. */
export function buildNetwork(spec: NetworkSpec, dtype: 'float32' | 'float64' = 'float64'): BuiltNetwork {
  const g = graph();
  const x = g.input('x', [spec.batch, spec.inputs], dtype);
  let h: Node = x;
  const preActivations: Node[] = [];
  const activations: Node[] = [];
  spec.layers.forEach((layer, k) => {
    const fanIn = h.shape[1]!;
    const width = layer.bias.length;
    const w = g.param(`w${k}`, [fanIn, width], { dtype, init: { kind: 'values', values: Float64Array.from(layer.weights.flat()) } });
    const b = g.param(`b${k}`, [width], { dtype, init: { kind: 'values', values: Float64Array.from(layer.bias) } });
    const z = h.matmul(w).add(b);
    preActivations.push(z);
    h = applyActivation(g, z, layer.activation, k, dtype);
    activations.push(h);
  });
  return { g, x, preActivations, activations, output: h };
}

function applyActivation(g: Graph, z: Node, activation: ActivationSpec, k: number, dtype: 'float32' | 'float64'): Node {
  switch (activation.op) {
    case 'relu':
      return z.relu();
    case 'leakyRelu':
      return z.leakyRelu(activation.alpha);
    case 'elu':
      return z.elu(activation.alpha);
    case 'prelu':
      return z.prelu(g.param(`alpha${k}`, [activation.alphas.length], { dtype, init: { kind: 'values', values: Float64Array.from(activation.alphas) } }));
  }
}

const weight = fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true });

function activationArbitrary(width: number): fc.Arbitrary<ActivationSpec> {
  return fc.oneof(
    fc.constant<ActivationSpec>({ op: 'relu' }),
    fc.constantFrom(0, 0.01, 0.2, -0.5, 1.5).map((alpha): ActivationSpec => ({ op: 'leakyRelu', alpha })),
    fc.constantFrom(0.5, 1, 2, -0.5).map((alpha): ActivationSpec => ({ op: 'elu', alpha })),
    fc.array(fc.constantFrom(0, 0.1, 0.3, 2), { minLength: width, maxLength: width }).map((alphas): ActivationSpec => ({ op: 'prelu', alphas })),
  );
}

/**
 * Generates networks of 1 to 3 layers of width 1 to 4 over a box of 1 to 3
 * inputs, with relu only when `reluOnly`. `biasShift` lowers each layer's
 * biases by up to that amount, so that some units are dead.
 */
export function networkArbitrary(options: { reluOnly?: boolean; maxLayers?: number; maxBatch?: number; biasShift?: number } = {}): fc.Arbitrary<NetworkSpec> {
  return fc
    .record({
      inputs: fc.integer({ min: 1, max: 3 }),
      batch: fc.integer({ min: 1, max: options.maxBatch ?? 2 }),
      widths: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: options.maxLayers ?? 3 }),
    })
    .chain(({ inputs, batch, widths }) => {
      const layers = widths.map((width, k) => {
        const fanIn = k === 0 ? inputs : widths[k - 1]!;
        return fc.record({
          weights: fc.array(fc.array(weight, { minLength: width, maxLength: width }), { minLength: fanIn, maxLength: fanIn }),
          bias: fc.tuple(fc.array(weight, { minLength: width, maxLength: width }), fc.double({ min: 0, max: options.biasShift ?? 0, noNaN: true })).map(([bias, shift]) => bias.map((b) => b - shift)),
          activation: options.reluOnly ? fc.constant<ActivationSpec>({ op: 'relu' }) : activationArbitrary(width),
        });
      });
      const box = fc.array(fc.tuple(fc.double({ min: -2, max: 2, noNaN: true }), fc.double({ min: 0, max: 3, noNaN: true })), { minLength: inputs, maxLength: inputs });
      return fc.record({ layers: fc.tuple(...layers), box }).map(({ layers: built, box: ranges }): NetworkSpec => ({
        inputs,
        batch,
        layers: built,
        lower: ranges.map(([lo]) => lo),
        upper: ranges.map(([lo, width]) => lo + width),
      }));
    });
}

/** Samples the box uniformly with a seed, corners first, one row per sample. */
export function sampleBox(spec: NetworkSpec, count: number, seed: number): Float64Array[] {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rows: Float64Array[] = [];
  const corners = Math.min(2 ** spec.inputs, count);
  for (let c = 0; c < corners; c++) {
    rows.push(Float64Array.from(spec.lower, (lo, i) => ((c >> i) & 1 ? spec.upper[i]! : lo)));
  }
  while (rows.length < count) rows.push(Float64Array.from(spec.lower, (lo, i) => lo + (spec.upper[i]! - lo) * next()));
  return rows;
}
