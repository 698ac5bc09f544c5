// Helpers shared by the graph and op tests: property run counts, shape
// arbitraries, seeded test data, and brute-force index arithmetic that the
// models use instead of slope's own stride code.

import fc from 'fast-check';
import type { Feeds } from '../../src/graph/feeds.ts';
import type { Node } from '../../src/graph/node.ts';
import type { Shape } from '../../src/graph/shape.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { Tensor } from '../../src/interp/tensor.ts';

/**
 * Returns the number of runs of a property: SLOPE_FUZZ_RUNS when it is set,
 * else `fallback`, which each file keeps small so the suite stays fast.
 */
export function fuzzRuns(fallback: number): number {
  const raw = process.env.SLOPE_FUZZ_RUNS;
  if (raw === undefined || raw === '') return fallback;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`SLOPE_FUZZ_RUNS must be a positive integer, got ${JSON.stringify(raw)}`);
  return runs;
}

/** Generates shapes of rank `minRank..maxRank` with dimensions `minDim..maxDim`. */
export function shapeArb(options: { minRank?: number; maxRank?: number; minDim?: number; maxDim?: number } = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 4, minDim = 0, maxDim = 4 } = options;
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/** Seeds for test data; fast-check shrinks them like any integer. */
export const seedArb = fc.integer({ min: 0, max: 0xffff });

/** Returns a uniform float in [0, 1) from a 32-bit xorshift state, independent of slope's Rng. */
function nextUniform(state: { s: number }): number {
  let x = state.s;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state.s = x >>> 0;
  return state.s / 4294967296;
}

/** Returns `size` floats uniform in [-scale, scale), reproducible from the seed. */
export function randomValues(size: number, seed: number, scale = 3): Float64Array {
  const state = { s: (seed * 2654435761 + 1) >>> 0 || 1 };
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * nextUniform(state) - 1) * scale;
  return out;
}

/** Returns `size` integers in [low, high], reproducible from the seed. */
export function randomIntegers(size: number, seed: number, low: number, high: number): Float64Array {
  const state = { s: (seed * 2246822519 + 7) >>> 0 || 1 };
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = low + Math.floor(nextUniform(state) * (high - low + 1));
  return out;
}

export function sizeOfShape(shape: Shape): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Row-major multi-index of a flat index, by repeated division. */
export function unravel(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let i = shape.length - 1; i >= 0; i--) {
    index[i] = rest % shape[i]!;
    rest = Math.floor(rest / shape[i]!);
  }
  return index;
}

/** Flat row-major index of a multi-index, by Horner's rule. */
export function ravel(index: readonly number[], shape: Shape): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i]! + index[i]!;
  return flat;
}

/** Lists every multi-index of a shape, in row-major order. */
export function allIndices(shape: Shape): number[][] {
  const size = sizeOfShape(shape);
  return Array.from({ length: size }, (_, flat) => unravel(flat, shape));
}

/**
 * Computes the numpy broadcast of several shapes by brute force: every shape
 * whose dimensions are drawn from the aligned inputs' dimensions is a
 * candidate, and the result is the one candidate that every input
 * broadcasts to. Returns undefined when no candidate fits.
 */
export function broadcastModel(shapes: readonly Shape[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const aligned = shapes.map((s) => [...new Array<number>(rank - s.length).fill(1), ...s]);
  const choices = Array.from({ length: rank }, (_, i) => [...new Set(aligned.map((s) => s[i]!))]);
  const fits = (candidate: readonly number[]) => aligned.every((s) => s.every((d, i) => d === candidate[i] || d === 1));
  const found: number[][] = [];
  const visit = (prefix: number[]) => {
    if (prefix.length === rank) {
      if (fits(prefix)) found.push(prefix);
      return;
    }
    for (const d of choices[prefix.length]!) visit([...prefix, d]);
  };
  visit([]);
  if (found.length > 1) throw new Error(`broadcast model found ${found.length} candidates for ${JSON.stringify(shapes)}`);
  return found[0];
}

/** Reads the element of `shape` that broadcasts to `outIndex`, aligning from the right. */
export function broadcastRead(data: ArrayLike<number>, shape: Shape, outIndex: readonly number[]): number {
  const offset = outIndex.length - shape.length;
  const index = shape.map((d, i) => (d === 1 ? 0 : outIndex[offset + i]!));
  return data[ravel(index, shape)]!;
}

/** Evaluates one node with the reference interpreter. */
export function run(node: Node, feeds: Feeds = {}): Tensor {
  return evaluate([node], feeds)[0]!;
}

/** Asserts that two arrays agree elementwise within a relative and absolute tolerance; NaN matches NaN. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-12): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) ? Number.isNaN(a) : a === e || Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e))) continue;
    throw new Error(`element ${i}: got ${a}, expected ${e} (tolerance ${tolerance})`);
  }
}
