// Differential tests of the compiler: random graphs compiled for the JS
// backend against the reference interpreter, with fusion on against fusion
// off, and compiled gradients against interpreted ones.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad } from '../../passes/grad.ts';
import type { Node } from '../../src/graph/node.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import { compiled } from '../support/backends.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { buildDag, dagSpecArb } from '../support/randomGraph.ts';
import type { Tolerance } from '../support/tolerance.ts';
import { findMismatches } from '../support/tolerance.ts';

const RUNS = fuzzRuns(60);
const FLOAT64: Tolerance = { rtol: 1e-12, atol: 1e-12, nanEqual: true };

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** Compares every output, scaling the absolute tolerance by the output's largest magnitude. */
function expectOutputsMatch(outputs: readonly Node[], actual: readonly { data: ArrayLike<number> }[], expected: readonly { data: ArrayLike<number> }[], tolerance: Tolerance, describeGraph: () => string): void {
  outputs.forEach((node, i) => {
    const scale = Math.max(1, maxAbs(expected[i]!.data));
    const mismatches = findMismatches(actual[i]!.data, expected[i]!.data, { ...tolerance, atol: tolerance.atol * scale });
    expect(mismatches, `${node.label} (${node.op}) differs in\n${describeGraph()}`).toEqual([]);
  });
}

describe('js backend against the interpreter', () => {
  it('matches in float64 on random graphs, every node an output', () => {
    fc.assert(
      fc.property(dagSpecArb(), (spec) => {
        const dag = buildDag(spec);
        const outputs = [dag.output, ...dag.nodes.slice(dag.inputs.length)];
        const expected = evaluate(outputs, dag.feeds);
        expectOutputsMatch(outputs, compiled('js')(outputs, dag.feeds), expected, FLOAT64, () => dag.graph.toString());
      }),
      { numRuns: RUNS },
    );
  });

  it('matches in float64 with only the scalar output, so fusion and inlining apply', () => {
    fc.assert(
      fc.property(dagSpecArb(), (spec) => {
        const dag = buildDag(spec);
        const expected = evaluate([dag.output], dag.feeds);
        expectOutputsMatch([dag.output], compiled('js')([dag.output], dag.feeds), expected, FLOAT64, () => dag.graph.toString());
        expectOutputsMatch([dag.output], compiled('js', { fuse: false })([dag.output], dag.feeds), expected, FLOAT64, () => dag.graph.toString());
      }),
      { numRuns: RUNS },
    );
  });

  it('matches in float32 within a tolerance scaled to the value range', () => {
    fc.assert(
      fc.property(dagSpecArb({ valueRange: 1 }), (spec) => {
        const dag32 = buildDag(spec, 'float32');
        const dag64 = buildDag(spec);
        const outputs32 = dag32.nodes.slice(dag32.inputs.length);
        const outputs64 = dag64.nodes.slice(dag64.inputs.length);
        // Divisions by values near zero amplify float32 rounding without bound; those graphs are skipped.
        const expected = evaluate(outputs64, dag64.feeds);
        fc.pre(expected.every((t) => maxAbs(t.data) < 1e4));
        const actual = compiled('js')(outputs32, Object.fromEntries(Object.entries(dag32.feeds).map(([k, v]) => [k, Float32Array.from(v)])));
        expectOutputsMatch(outputs32, actual, expected, { rtol: 1e-3, atol: 1e-4, nanEqual: true }, () => dag32.graph.toString());
      }),
      { numRuns: RUNS },
    );
  });

  it('computes gradients equal to interpreted ones', () => {
    fc.assert(
      fc.property(dagSpecArb(), (spec) => {
        const dag = buildDag(spec);
        const grads = grad(dag.output, dag.inputs);
        const expected = evaluate(grads, dag.feeds);
        expectOutputsMatch(grads, compiled('js')(grads, dag.feeds), expected, FLOAT64, () => dag.graph.toString());
      }),
      { numRuns: RUNS },
    );
  });
});
