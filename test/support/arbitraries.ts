// fast-check arbitraries for tensors: shapes, groups of shapes that broadcast
// together as numpy does, and float64 values kept away from chosen points
// (the kinks and poles of the op under test).

import fc from 'fast-check';
import { Rng } from '../../src/graph/init.ts';
import { broadcastShapes, sizeOf } from '../../src/graph/shape.ts';

export interface ShapeOptions {
  minRank?: number;
  maxRank?: number;
  minDim?: number;
  maxDim?: number;
}

/** Draws a shape of rank minRank..maxRank (default 0..3) with dimensions minDim..maxDim (default 1..4). */
export function shapeArb(options: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const dim = fc.integer({ min: options.minDim ?? 1, max: options.maxDim ?? 4 });
  return fc.array(dim, { minLength: options.minRank ?? 0, maxLength: options.maxRank ?? 3 });
}

export interface BroadcastShapes {
  /** The shape of each operand. */
  operands: number[][];
  /** The broadcast of all operands. */
  shape: number[];
}

/**
 * Draws the shapes of `count` operands that broadcast together. Each operand starts
 * from one common shape, drops some leading axes and sets some of the rest
 * to 1, so prepended axes and size-1 axes both occur.
 */
export function broadcastShapesArb(count: number, options: ShapeOptions = {}): fc.Arbitrary<BroadcastShapes> {
  return shapeArb(options).chain((full) => {
    const operand = fc
      .tuple(fc.integer({ min: 0, max: full.length }), fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }))
      .map(([dropped, ones]) => full.map((d, i) => (ones[i]! ? 1 : d)).slice(dropped));
    return fc.array(operand, { minLength: count, maxLength: count }).map((operands) => {
      const shape = operands.reduce<number[] | undefined>((acc, s) => (acc === undefined ? undefined : broadcastShapes(acc, s)), [])!;
      return { operands, shape };
    });
  });
}

export interface ValueOptions {
  /** Smallest value; default -3. */
  min?: number;
  /** Largest value; default 3. */
  max?: number;
  /** Points each value stays at least `margin` away from, such as a kink at 0. */
  avoid?: readonly number[];
  /** Default 1e-3, a thousand times the finite-difference step. */
  margin?: number;
}

/**
 * Draws a float64 value uniform on [min, max] as a real interval, on a grid
 * of 2^32 steps. fc.double spreads its draws over the representable
 * doubles instead, and most of those have tiny magnitudes.
 */
export function uniformDoubleArb(min: number, max: number): fc.Arbitrary<number> {
  const steps = 2 ** 32;
  return fc.integer({ min: 0, max: steps }).map((k) => Math.min(max, min + ((max - min) * k) / steps));
}

/**
 * Draws one float64 value in [min, max], never NaN, at least `margin` away
 * from each avoided point. Most draws are uniform on the interval, and the
 * rest come from fc.double for tiny magnitudes and the interval's ends.
 */
export function valueArb(options: ValueOptions = {}): fc.Arbitrary<number> {
  const min = options.min ?? -3;
  const max = options.max ?? 3;
  const avoid = options.avoid ?? [];
  const margin = options.margin ?? 1e-3;
  return fc
    .oneof({ arbitrary: uniformDoubleArb(min, max), weight: 3 }, { arbitrary: fc.double({ min, max, noNaN: true }), weight: 1 })
    .filter((x) => avoid.every((point) => Math.abs(x - point) >= margin));
}

/** Draws `size` float64 values with valueArb. */
export function valuesArb(size: number, options: ValueOptions = {}): fc.Arbitrary<Float64Array> {
  return fc.array(valueArb(options), { minLength: size, maxLength: size }).map((values) => Float64Array.from(values));
}

export interface TensorSample {
  shape: number[];
  values: Float64Array;
}

/** Draws a shape from `shapes` and float64 values for it. */
export function tensorArb(shapes: fc.Arbitrary<number[]>, options: ValueOptions = {}): fc.Arbitrary<TensorSample> {
  return shapes.chain((shape) => valuesArb(sizeOf(shape), options).map((values) => ({ shape, values })));
}

/**
 * Returns `size` values uniform in [low, high) from a seed. Tests use it for
 * tensors whose size is known only after a graph is built, such as the
 * cotangent weights of an op's output.
 */
export function seededValues(seed: number, size: number, low = -1, high = 1): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: size }, () => rng.uniform(low, high));
}
