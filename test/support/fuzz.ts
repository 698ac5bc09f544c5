// Run counts of fast-check properties. The defaults keep `npm test` quick;
// `npm run fuzz` sets SLOPE_FUZZ_RUNS (to 2000) to search much harder.

/**
 * Returns the number of runs for a property: SLOPE_FUZZ_RUNS when it is set,
 * else `defaultRuns`. Throws on a value that is not a positive integer, so a
 * typo cannot quietly turn fuzzing off.
 */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env['SLOPE_FUZZ_RUNS'];
  if (raw === undefined || raw === '') return defaultRuns;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`SLOPE_FUZZ_RUNS must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return runs;
}
