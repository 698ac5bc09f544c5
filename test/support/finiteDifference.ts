// Numeric gradients by central differences, and the check that compares them
// with the gradients that slope's grad pass builds. Everything is evaluated in
// float64 by the reference interpreter unless the caller passes another
// evaluator (a backend, for example).

import { grad } from '../../passes/grad.ts';
import type { Feeds } from '../../src/graph/feeds.ts';
import type { Node } from '../../src/graph/node.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { Tolerance } from './tolerance.ts';
import { expectAllClose } from './tolerance.ts';

/** Step of the central differences, relative to max(1, |x|). */
export const DEFAULT_STEP = 1e-6;

/**
 * Tolerance of an analytic gradient against central differences with the
 * default step. The truncation error is about step^2 times the third
 * derivative and the rounding error about 1e-16 |f| / step, so 1e-5 relative
 * with a 1e-6 absolute floor passes smooth functions of moderate size.
 */
export const GRADIENT_TOLERANCE: Tolerance = { rtol: 1e-5, atol: 1e-6 };

/**
 * Computes d f / d point[i] for every i by central differences. Each step is
 * `step * max(1, |x_i|)`, and the quotient divides by the distance between the
 * two rounded sample points, not by 2h, to avoid one source of rounding error.
 */
export function centralDifference(f: (point: Float64Array) => number, point: Float64Array, step = DEFAULT_STEP): Float64Array {
  const derivative = new Float64Array(point.length);
  const probe = Float64Array.from(point);
  for (let i = 0; i < point.length; i++) {
    const x = point[i]!;
    const h = step * Math.max(1, Math.abs(x));
    const above = x + h;
    const below = x - h;
    probe[i] = above;
    const fAbove = f(probe);
    probe[i] = below;
    const fBelow = f(probe);
    probe[i] = x;
    derivative[i] = (fAbove - fBelow) / (above - below);
  }
  return derivative;
}

/**
 * Computes the derivative of a vector function along `direction` by one
 * central difference: (f(x + h v) - f(x - h v)) / 2h, with h = step.
 */
export function directionalDifference(
  f: (point: Float64Array) => Float64Array,
  point: Float64Array,
  direction: Float64Array,
  step = DEFAULT_STEP,
): Float64Array {
  const above = point.map((x, i) => x + step * direction[i]!);
  const below = point.map((x, i) => x - step * direction[i]!);
  const fAbove = f(above);
  const fBelow = f(below);
  return fAbove.map((y, i) => (y - fBelow[i]!) / (2 * step));
}

/** Returns a function that evaluates a one-element node in the reference interpreter. */
export function interpreterScalar(output: Node): (feeds: Feeds) => number {
  if (output.size !== 1) throw new Error(`expected a scalar output, got ${output.toString()}`);
  return (feeds) => evaluate([output], feeds)[0]!.data[0]!;
}

/**
 * Computes the numeric gradient of a scalar function of the feeds with
 * respect to each named float feed, perturbing one element at a time.
 */
export function numericGradients(
  evaluateScalar: (feeds: Feeds) => number,
  feeds: Readonly<Record<string, Float64Array | Int32Array | Uint8Array>>,
  names: readonly string[],
  step = DEFAULT_STEP,
): Float64Array[] {
  return names.map((name) => {
    const point = feeds[name];
    if (!(point instanceof Float64Array)) throw new Error(`feed ${JSON.stringify(name)} must be a Float64Array to be differentiated numerically`);
    return centralDifference((probe) => evaluateScalar({ ...feeds, [name]: probe }), point, step);
  });
}

export interface GradientCheck {
  /** The scalar whose gradient is checked. */
  output: Node;
  /** Float64 input nodes to differentiate against; each must have a feed. */
  wrt: readonly Node[];
  feeds: Readonly<Record<string, Float64Array | Int32Array | Uint8Array>>;
  tolerance?: Tolerance;
  step?: number;
}

export interface GradientCheckResult {
  analytic: Float64Array[];
  numeric: Float64Array[];
}

/**
 * Builds grad(output, wrt), evaluates it in the interpreter and throws,
 * naming the input, unless each gradient matches central differences.
 */
export function expectGradientsMatch(check: GradientCheck): GradientCheckResult {
  const { output, wrt, feeds } = check;
  const tolerance = check.tolerance ?? GRADIENT_TOLERANCE;
  const gradients = grad(output, wrt);
  const analytic = evaluate(gradients, feeds).map((t) => t.data);
  const names = wrt.map((w) => {
    if (w.name === undefined || !w.is('input')) throw new Error(`wrt node ${w.label} must be a named input with a feed`);
    return w.name;
  });
  const numeric = numericGradients(interpreterScalar(output), feeds, names, check.step);
  wrt.forEach((w, i) => {
    if (gradients[i]!.shape.join(',') !== w.shape.join(',')) {
      throw new Error(`gradient of ${w.label} has shape [${gradients[i]!.shape.join(',')}], expected [${w.shape.join(',')}]`);
    }
    expectAllClose(analytic[i]!, numeric[i]!, tolerance, `gradient of ${w.label} against central differences`);
  });
  return { analytic, numeric };
}
