// Whole gradients of random composite graphs against central differences.
// Each graph has 1-3 float64 inputs and 2-12 steps (unary ops, leakyRelu,
// binary ops with broadcasting, reductions, matmul, reshape, transpose), and
// its scalar output weights every leaf, so every step gets a cotangent.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { verify } from '../../src/graph/verify.ts';
import { expectGradientsMatch, GRADIENT_TOLERANCE } from '../support/finiteDifference.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { smoothnessReport } from '../support/kinks.ts';
import type { DagStep } from '../support/randomGraph.ts';
import { buildDag, dagSpecArb } from '../support/randomGraph.ts';

/**
 * Smallest distance from a kink, tie or pole: 1,000 finite-difference steps.
 * Near a pole of 1/x the central difference's error grows as (step / x)^2
 * relative to the derivative, so at 1e-4 it reached 1e-4 and failed a correct
 * gradient; at 1e-3 it stays near 1e-6, under the 1e-5 tolerance.
 */
const KINK_MARGIN = 1e-3;
/** Largest intermediate value allowed; exp chains beyond it make differences meaningless. */
const MAX_MAGNITUDE = 1e6;

describe('random graph generator', () => {
  const specs = fc.sample(dagSpecArb(), { numRuns: 300, seed: 7 });

  test('draws 1-3 inputs and 2-12 steps', () => {
    for (const spec of specs) {
      expect(spec.inputs.length).toBeGreaterThanOrEqual(1);
      expect(spec.inputs.length).toBeLessThanOrEqual(3);
      expect(spec.steps.length).toBeGreaterThanOrEqual(2);
      expect(spec.steps.length).toBeLessThanOrEqual(12);
    }
  });

  test('draws every step kind', () => {
    const kinds = new Set<DagStep['kind']>(specs.flatMap((s) => s.steps.map((step) => step.kind)));
    expect([...kinds].sort()).toEqual(['binary', 'leakyRelu', 'matmul', 'reduce', 'reshape', 'transpose', 'unary']);
  });

  test('draws broadcasting binary steps', () => {
    const broadcasting = specs.some((spec) => {
      const dag = buildDag(spec);
      return dag.graph.nodes.some((n) => n.inputs.length === 2 && n.op !== 'matmul' && n.inputs.some((i) => i.shape.join() !== n.shape.join()));
    });
    expect(broadcasting).toBe(true);
  });

  test('builds a valid graph with a scalar output', () => {
    for (const spec of specs) {
      const dag = buildDag(spec);
      expect(() => verify(dag.graph)).not.toThrow();
      expect(dag.output.shape).toEqual([]);
      expect(dag.output.dtype).toBe('float64');
      expect(dag.inputs.map((x) => x.shape)).toEqual(spec.inputs.map((i) => i.shape));
    }
  });
});

describe('random graph gradients', () => {
  test('match central differences for every input', () => {
    fc.assert(
      fc.property(dagSpecArb(), (spec) => {
        const dag = buildDag(spec);
        const report = smoothnessReport([dag.output], dag.feeds);
        fc.pre(report.finite && report.maxAbs <= MAX_MAGNITUDE && report.minDistance >= KINK_MARGIN);

        // Rounding in the difference quotient grows with the intermediate
        // values, about 1e-16 * maxAbs / step, so the absolute floor does too.
        const tolerance = { ...GRADIENT_TOLERANCE, atol: Math.max(GRADIENT_TOLERANCE.atol, 1e-8 * report.maxAbs) };
        try {
          expectGradientsMatch({ output: dag.output, wrt: dag.inputs, feeds: dag.feeds, tolerance });
        } catch (error) {
          throw new Error(`${(error as Error).message}\ngraph:\n${dag.graph.toString({ outputs: [dag.output] })}`);
        }
      }),
      { numRuns: fuzzRuns(200) },
    );
  });
});
