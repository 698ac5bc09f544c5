// Timing and the agreement check: the parts of the protocol that every
// system goes through the same way, in the main process or in a child.

import type { Prepared } from './system.ts';

/** How many runs to discard and how many to time. */
export interface Protocol {
  readonly warmup: number;
  readonly runs: number;
}

/**
 * Completes the warm-up, then runs `prepared` `runs` times and returns each
 * timed run's wall time in milliseconds. A run ends when its outputs are
 * host arrays, because `Prepared.run` returns them only then.
 * `runsAlready` untimed runs (the first run, whose outputs were checked)
 * count toward `warmup`.
 */
export async function timeRuns(prepared: Prepared, protocol: Protocol, runsAlready = 0): Promise<number[]> {
  for (let i = runsAlready; i < protocol.warmup; i++) await prepared.run();
  const times: number[] = [];
  for (let i = 0; i < protocol.runs; i++) {
    const start = performance.now();
    await prepared.run();
    times.push(performance.now() - start);
  }
  return times;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median: no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Largest relative difference allowed between a system's outputs and the
 * reference. Float32 accumulation in different orders (blocked matmul,
 * im2col convolution) differed by 1e-7 to 6e-5 of the output's scale in
 * this benchmark's runs. A wrong index or gradient differs by far more.
 */
export const TOLERANCE = 1e-3;

/**
 * Returns max |actual - expected| / max |expected| over all elements of all
 * outputs, each output scaled by its own largest magnitude, so values near
 * zero do not blow up the ratio. NaN or a length mismatch returns Infinity.
 */
export function maxRelativeDifference(actual: readonly Float32Array[], expected: readonly Float32Array[]): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let t = 0; t < expected.length; t++) {
    const a = actual[t];
    const e = expected[t];
    if (a.length !== e.length) return Infinity;
    let scale = 0;
    for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]));
    if (scale === 0) scale = 1;
    for (let i = 0; i < e.length; i++) {
      const difference = Math.abs(a[i] - e[i]) / scale;
      if (!(difference <= worst)) {
        // Also reached when difference is NaN.
        if (Number.isNaN(difference)) return Infinity;
        worst = difference;
      }
    }
  }
  return worst;
}
