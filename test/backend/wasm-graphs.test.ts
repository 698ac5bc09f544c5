// The wasm backend against the JS backend and the reference interpreter on
// random graphs, with SIMD on and forced off, in float32 and float64.

import fc from 'fast-check';
import { describe, it } from 'vitest';
import { evaluate } from '../../src/index.ts';
import type { OutputArray } from '../../src/index.ts';
import { compileAndRun, expectClose, expectIdentical } from './compare.ts';
import { buildCase, graphCaseArbitrary } from './random-graphs.ts';
import type { BuiltCase } from './random-graphs.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 60);

function runOn(built: BuiltCase, backend: 'js' | 'wasm', simd = true): OutputArray[] {
  return compileAndRun(built.outputs, built.feeds, { backend, simd }).results;
}

describe('wasm backend on random graphs', () => {
  it('float64 matches the JS backend bit for bit, with and without SIMD', () => {
    fc.assert(fc.property(graphCaseArbitrary('float64'), (c) => {
      const built = buildCase(c);
      const js = runOn(built, 'js');
      const simd = runOn(built, 'wasm', true);
      const scalar = runOn(built, 'wasm', false);
      const reference = evaluate(built.outputs, built.feeds);
      js.forEach((out, k) => {
        expectIdentical(simd[k]!, out, `output ${k} with SIMD`);
        expectIdentical(scalar[k]!, out, `output ${k} without SIMD`);
        expectClose(out, reference[k]!.data, 1e-9, 1e-12 * built.scale, `output ${k} against the interpreter`);
      });
    }), { numRuns: FUZZ_RUNS });
  }, 120_000);

  it('float32 stays within float32 rounding of the interpreter', () => {
    fc.assert(fc.property(graphCaseArbitrary('float32'), (c) => {
      const built = buildCase(c);
      const simd = runOn(built, 'wasm', true);
      const scalar = runOn(built, 'wasm', false);
      const js = runOn(built, 'js');
      const reference = evaluate(built.outputs, built.feeds);
      reference.forEach((r, k) => {
        const expected = Float32Array.from(r.data);
        expectIdentical(scalar[k]!, simd[k]!, `output ${k} without SIMD against SIMD`);
        expectClose(simd[k]!, expected, 2e-4, 2e-5 * built.scale, `output ${k} on wasm`);
        expectClose(js[k]!, expected, 2e-4, 2e-5 * built.scale, `output ${k} on js`);
      });
    }), { numRuns: FUZZ_RUNS });
  }, 120_000);
});
