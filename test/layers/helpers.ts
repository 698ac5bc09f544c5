// Shared helpers of the layers tests.

import { expect } from 'vitest';

/** Asserts that two arrays have one length and agree elementwise within atol + rtol * |expected|. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-6, label = ''): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e)) expect(a, `${label} element ${i}`).toBeNaN();
    else expect(Math.abs(a - e), `${label} element ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(atol + rtol * Math.abs(e));
  }
}

/** Returns a Float32Array of n values f(i). */
export function filled(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}
