// Reductions over leading axes (a sum over the batch, a max over the batch of
// a conv activation) run row by row: a scratch row of accumulators that
// each input row updates in turn. Each output still combines its terms in
// row order, so float64 results equal the interpreter's bit for bit, and
// every backend gives the same bits as before the change of loop order.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, evaluate, graph } from '../../src/index.ts';
import type { Node } from '../../src/index.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { expectIdentical } from './compare.ts';

/** Values exact in float32 and float64, with NaN, infinities and signed zeros mixed in. */
const element = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -64, max: 64 }).map((v) => v / 8) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0, -0) },
);

interface Case {
  /** Leading reduced sizes, kept sizes (the first may be 1). */
  reduced: number[];
  kept: number[];
  keepDims: boolean;
  values: number[];
}

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    reduced: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 2 }),
    kept: fc.tuple(fc.constantFrom(1, 2), fc.integer({ min: 4, max: 23 })).map(([a, b]) => (a === 1 ? [1, b] : [b])),
    keepDims: fc.boolean(),
  })
  .chain((c) => {
    const size = [...c.reduced, ...c.kept].reduce((p, d) => p * d, 1);
    return fc.array(element, { minLength: size, maxLength: size }).map((values) => ({ ...c, values }));
  });

function build(c: Case, dtype: 'float32' | 'float64'): Node[] {
  const g = graph();
  const shape = c.kept[0] === 1 ? [1, ...c.reduced, ...c.kept.slice(1)] : [...c.reduced, ...c.kept];
  const axes = c.kept[0] === 1 ? c.reduced.map((_, i) => i + 1) : c.reduced.map((_, i) => i);
  const x = g.input('x', shape, dtype);
  const options = { keepDims: c.keepDims };
  return [x.sum(axes, options), x.max(axes, options), x.min(axes, options), x.mean(axes, options), x.sum(axes, options).sqrt()];
}

describe('reductions over leading axes', () => {
  it('give the interpreter bits in float64 on js and wasm', () => {
    fc.assert(fc.property(caseArbitrary, (c) => {
      const outputs = build(c, 'float64');
      const feeds = { x: Float64Array.from(c.values) };
      const reference = evaluate(outputs, feeds);
      for (const backend of ['js', 'wasm'] as const) {
        const results = compile(outputs, { backend }).run(feeds);
        results.forEach((r, k) => expectIdentical(r, reference[k]!.data, `${backend} output ${k}`));
      }
    }), { numRuns: fuzzRuns(40) });
  });

  it('agree in float32 across wasm with and without SIMD', () => {
    fc.assert(fc.property(caseArbitrary, (c) => {
      const outputs = build(c, 'float32');
      const feeds = { x: Float32Array.from(c.values) };
      const simd = compile(outputs, { backend: 'wasm' }).run(feeds);
      const scalar = compile(outputs, { backend: 'wasm', simd: false }).run(feeds);
      const reference = evaluate(outputs, feeds);
      simd.forEach((r, k) => {
        expectIdentical(r, scalar[k]!, `output ${k}`);
        // The terms are multiples of 1/8 below 2^4 and at most 49 of them, so float32 sums are exact.
        expectIdentical(r, Float32Array.from(reference[k]!.data), `output ${k} against the interpreter`);
      });
    }), { numRuns: fuzzRuns(40) });
  });

  it('read a broadcast input at the right rows', () => {
    // The flat index of a broadcast input divides a sum, which the JS printer must parenthesize.
    const g = graph();
    const c = g.input('c', [2, 1]);
    const outputs = [c.broadcastTo([2, 8]).sum(0), c.broadcastTo([2, 8]).max(0)];
    for (const backend of ['js', 'wasm'] as const) {
      const [sum, max] = compile(outputs, { backend }).run({ c: [1, 2] });
      expect(Array.from(sum!)).toEqual(new Array(8).fill(3));
      expect(Array.from(max!)).toEqual(new Array(8).fill(2));
    }
  });

  it('lowers a batch sum to a row-by-row loop', () => {
    const g = graph();
    const x = g.input('x', [100, 40]);
    const source = compile([x.sum(0)], { backend: 'js' }).kernels[0]!.source;
    // One loop over the 100 rows wraps one over the 40 accumulators.
    expect(source).toMatch(/for \(let r\d+ = 0; r\d+ < 100; r\d+\+\+\) \{\n\s+for \(let i\d+ = 0; i\d+ < 40; i\d+\+\+\) \{/);
  });

  it('keeps one output at a time for few kept elements', () => {
    const g = graph();
    const x = g.input('x', [100, 3]);
    const source = compile([x.sum(0)], { backend: 'js' }).kernels[0]!.source;
    expect(source).toMatch(/for \(let i\d+ = 0; i\d+ < 3; i\d+\+\+\) \{\n\s+let acc/);
  });
});
