// Each differentiable op's gradient rule against central differences, on
// random shapes (broadcast for binary ops) and values, in float64 through the
// reference interpreter. The output is reduced to a scalar with random
// weights, so every output element gets its own cotangent.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { grad } from '../../passes/grad.ts';
import { Graph } from '../../src/graph/graph.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { OpDef } from '../../src/ops/def.ts';
import type { OpName } from '../../src/ops/index.ts';
import { registry } from '../../src/ops/index.ts';
import { seededValues, valuesArb, shapeArb } from '../support/arbitraries.ts';
import { expectGradientsMatch } from '../support/finiteDifference.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { smoothnessReport } from '../support/kinks.ts';
import type { OpCase, OpSample } from '../support/opCases.ts';
import { COVERED_ELSEWHERE, NOT_DIFFERENTIABLE, OP_CASES } from '../support/opCases.ts';
import { sizeOf } from '../../src/graph/shape.ts';

/** Smallest relative distance from a kink or tie that a sample may come: 100 finite-difference steps. */
const KINK_MARGIN = 1e-4;

function checkOpCase(c: OpCase, sample: OpSample<unknown>, seed: number): void {
  const graph = new Graph();
  const inputs = sample.operands.map((o, i) => graph.input(`x${i}`, o.shape, o.dtype));
  const feeds = Object.fromEntries(sample.operands.map((o, i) => [`x${i}`, o.values]));
  const y = c.build(graph, inputs, sample.attrs);
  expect(y.op).toBe(c.op);

  const weights = graph.constant(seededValues(seed, y.size), y.shape, 'float64');
  const loss = graph.sum(graph.mul(y, weights));
  fc.pre(smoothnessReport([loss], feeds).minDistance >= KINK_MARGIN);

  const wrt = inputs.filter((x) => x.dtype === 'float64');
  expectGradientsMatch({ output: loss, wrt, feeds });
}

describe('op gradient against central differences', () => {
  for (const c of OP_CASES) {
    test(c.title, () => {
      fc.assert(
        fc.property(c.sample, fc.integer(), (sample, seed) => checkOpCase(c, sample, seed)),
        { numRuns: fuzzRuns(40) },
      );
    });
  }
});

describe('cast gradient', () => {
  // float64 -> float32 -> float64 rounds the value, so it is a step function
  // at the float32 spacing and a 1e-6 central difference measures steps, not
  // the slope. Its gradient is the identity rounded to float32: the
  // cotangent passes through the float32 node, so it is rounded there.
  test('round trip through float32 rounds the cotangent', () => {
    fc.assert(
      fc.property(shapeArb().chain((shape) => fc.tuple(fc.constant(shape), valuesArb(sizeOf(shape)), valuesArb(sizeOf(shape)))), ([shape, x, w]) => {
        const graph = new Graph();
        const input = graph.input('x', shape, 'float64');
        const roundTrip = input.cast('float32').cast('float64');
        const loss = graph.sum(graph.mul(roundTrip, graph.constant(w, shape, 'float64')));
        const [dx] = grad(loss, [input]);
        expect(dx!.dtype).toBe('float64');
        const [value] = evaluate([dx!], { x });
        expect(Array.from(value!.data)).toEqual(Array.from(w, Math.fround));
      }),
      { numRuns: fuzzRuns(40) },
    );
  });

  test('round trip through float32 matches wide differences', () => {
    fc.assert(
      fc.property(shapeArb().chain((shape) => fc.tuple(fc.constant(shape), valuesArb(sizeOf(shape)))), fc.integer(), ([shape, x], seed) => {
        const graph = new Graph();
        const input = graph.input('x', shape, 'float64');
        const weights = graph.constant(seededValues(seed, sizeOf(shape)), shape, 'float64');
        const loss = graph.sum(graph.mul(input.cast('float32').cast('float64'), weights));
        // A step of 1e-3 spans thousands of float32 spacings near 1, so the
        // rounding error of the difference quotient is below about 1e-4.
        expectGradientsMatch({ output: loss, wrt: [input], feeds: { x }, step: 1e-3, tolerance: { rtol: 1e-3, atol: 1e-3 } });
      }),
      { numRuns: fuzzRuns(40) },
    );
  });
});

describe('registry coverage', () => {
  const opNames = Object.keys(registry) as OpName[];
  const tested = new Set(OP_CASES.map((c) => c.op));

  test('every op has a gradient test or a stated exemption', () => {
    const unaccounted = opNames.filter((op) => !tested.has(op) && COVERED_ELSEWHERE[op] === undefined && NOT_DIFFERENTIABLE[op] === undefined);
    expect(unaccounted, 'ops without a gradient test: add a case to OP_CASES in test/support/opCases.ts, or list the op in COVERED_ELSEWHERE or NOT_DIFFERENTIABLE with the reason').toEqual([]);
  });

  test('each op is in exactly one list', () => {
    for (const op of opNames) {
      const lists = [tested.has(op), COVERED_ELSEWHERE[op] !== undefined, NOT_DIFFERENTIABLE[op] !== undefined].filter(Boolean);
      expect(lists.length, `${op} appears in ${lists.length} lists`).toBe(1);
    }
  });

  test('exempt lists name only registered ops', () => {
    const listed = [...Object.keys(COVERED_ELSEWHERE), ...Object.keys(NOT_DIFFERENTIABLE)];
    expect(listed.filter((op) => !Object.hasOwn(registry, op))).toEqual([]);
  });

  test('argmax and comparisons declare no gradient', () => {
    for (const op of ['argmax', 'greater', 'greaterEqual', 'less', 'equal'] as const) {
      const rule = (registry[op] as OpDef<OpName>).grad;
      expect(typeof rule, op).toBe('object');
      expect((rule as { nondifferentiable: string }).nondifferentiable, op).toContain(op);
    }
  });
});
