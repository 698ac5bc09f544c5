// Parameter initializers, drawn from a seeded PRNG so that a seed gives the
// same values bit for bit on every machine.
//
// Fan-in and fan-out follow the TensorFlow layouts: a dense weight [in, out]
// has fanIn = in and fanOut = out; an HWIO conv filter has fanIn = H*W*I and
// fanOut = H*W*O. heNormal draws from N(0, 2 / fanIn) without truncation (as
// PyTorch's kaiming_normal_ does; Keras truncates at two standard deviations).
//
// randomizedAsymmetric follows the randomized asymmetric initialization of
// Lu, Shin, Su and Karniadakis, "Dying ReLU and Initialization: Theory and
// Numerical Examples" (2019): in each unit's column one incoming parameter,
// chosen uniformly, is drawn from a positive distribution and the others from
// a symmetric one. slope draws the positive entry from Beta(2, 1) and the
// others from N(0, 1.5 / (rows - 1)); with E[p^2] = 1/2 for p ~ Beta(2, 1),
// that gives the pre-activation the second moment of heNormal,
// E[z^2] = 2 E[h^2]. NOTE: the variance is slope's derivation, not a constant
// taken from the paper. To include a bias, as a unit's parameters in the paper
// do, make it the last row of a [fanIn + 1, units] param and slice it off.

import { AttributeError } from '../errors.ts';
import type { Shape } from './shape.ts';
import { sizeOf } from './shape.ts';

export type InitSpec =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'heNormal'; seed: number }
  | { kind: 'heUniform'; seed: number }
  | { kind: 'glorotUniform'; seed: number }
  | { kind: 'randomizedAsymmetric'; seed: number }
  | { kind: 'normal'; seed: number; mean: number; std: number }
  | { kind: 'uniform'; seed: number; low: number; high: number }
  | { kind: 'values'; values: Float64Array };

export type InitKind = InitSpec['kind'];

/** A 32-bit PRNG (mulberry32): small, fast and with good statistics for initialisation. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns a float uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Returns a standard normal draw (Box-Muller; the second value is discarded for simplicity). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const receptive = sizeOf(shape.slice(0, -2));
  return { fanIn: receptive * shape[shape.length - 2]!, fanOut: receptive * shape[shape.length - 1]! };
}

/** Fills a new array of the shape's size from the initializer. */
export function initialize(spec: InitSpec, shape: Shape): Float64Array {
  const size = sizeOf(shape);
  const out = new Float64Array(size);
  const { fanIn, fanOut } = fans(shape);
  switch (spec.kind) {
    case 'zeros':
      return out;
    case 'ones':
      return out.fill(1);
    case 'constant':
      return out.fill(spec.value);
    case 'values':
      if (spec.values.length !== size) {
        throw new AttributeError(`Error in param: init values have ${spec.values.length} elements, expected ${size} for shape [${shape.join(',')}]`);
      }
      return Float64Array.from(spec.values);
    case 'heNormal': {
      const rng = new Rng(spec.seed);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < size; i++) out[i] = std * rng.normal();
      return out;
    }
    case 'heUniform': {
      const rng = new Rng(spec.seed);
      const limit = Math.sqrt(6 / fanIn);
      for (let i = 0; i < size; i++) out[i] = rng.uniform(-limit, limit);
      return out;
    }
    case 'glorotUniform': {
      const rng = new Rng(spec.seed);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) out[i] = rng.uniform(-limit, limit);
      return out;
    }
    case 'randomizedAsymmetric':
      return randomizedAsymmetric(spec.seed, shape);
    case 'normal': {
      const rng = new Rng(spec.seed);
      for (let i = 0; i < size; i++) out[i] = spec.mean + spec.std * rng.normal();
      return out;
    }
    case 'uniform': {
      const rng = new Rng(spec.seed);
      for (let i = 0; i < size; i++) out[i] = rng.uniform(spec.low, spec.high);
      return out;
    }
  }
}

/**
 * Fills a [rows, units] view of the shape: units on the last axis, every other
 * axis folded into rows, so an HWIO filter has H*W*I rows. In each unit's
 * column one uniformly chosen row gets a Beta(2, 1) draw, the others N(0, 1.5 / (rows - 1)).
 */
function randomizedAsymmetric(seed: number, shape: Shape): Float64Array {
  if (shape.length < 2) {
    throw new AttributeError(`Error in param: init 'randomizedAsymmetric' needs a weight of rank 2 or more ([fanIn, units]), got shape [${shape.join(',')}]; put a bias in the last row of a [fanIn + 1, units] param`);
  }
  const units = shape[shape.length - 1]!;
  const size = sizeOf(shape);
  const out = new Float64Array(size);
  fillRandomizedAsymmetric(out, 0, units === 0 ? 0 : size / units, units, new Rng(seed));
  return out;
}

/** A source of uniform [0, 1) and standard normal draws, such as Rng. */
export interface RandomSource {
  next(): number;
  normal(): number;
}

/**
 * Writes one [rows, units] randomizedAsymmetric weight at `offset` of `out`,
 * drawing from `random`: a batch of weights can share one generator.
 */
export function fillRandomizedAsymmetric(out: Float64Array, offset: number, rows: number, units: number, random: RandomSource): void {
  const std = rows > 1 ? Math.sqrt(1.5 / (rows - 1)) : 0;
  const size = rows * units;
  for (let i = 0; i < size; i++) out[offset + i] = std * random.normal();
  for (let unit = 0; unit < units; unit++) {
    const row = Math.min(rows - 1, Math.floor(random.next() * rows));
    // sqrt(U) has the Beta(2, 1) distribution: P(sqrt(U) <= t) = t^2.
    out[offset + row * units + unit] = Math.sqrt(random.next());
  }
}
