// softmaxCrossEntropy's gradient in closed form: d loss / d logits =
// softmax(logits) - labels for one-hot or int32 labels, and
// softmax(logits) sum(labels) - labels for any labels. It must hold to
// 1e-12 and stay finite for logits of +-1e4, where exp overflows unless
// everything is computed from the max-shifted log-sum-exp.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { grad } from '../../passes/grad.ts';
import { Graph } from '../../src/graph/graph.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import { uniformDoubleArb } from '../support/arbitraries.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { expectAllClose } from '../support/tolerance.ts';

const EXACT = { rtol: 0, atol: 1e-12 };

/** Returns the softmax of each row, computed from the max-shifted exponentials. */
function referenceSoftmax(logits: Float64Array, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let base = 0; base < logits.length; base += classes) {
    const row = logits.subarray(base, base + classes);
    const max = Math.max(...row);
    let total = 0;
    for (let k = 0; k < classes; k++) total += Math.exp(row[k]! - max);
    for (let k = 0; k < classes; k++) out[base + k] = Math.exp(row[k]! - max) / total;
  }
  return out;
}

/** Logits of moderate size, with +-1e4 mixed in often. */
const LOGIT = fc.oneof({ arbitrary: uniformDoubleArb(-20, 20), weight: 3 }, { arbitrary: fc.constantFrom(1e4, -1e4, 9999.5, -9999.5), weight: 1 });

const SAMPLE = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 2, max: 6 }))
  .chain(([rows, classes]) =>
    fc.record({
      rows: fc.constant(rows),
      classes: fc.constant(classes),
      logits: fc.array(LOGIT, { minLength: rows * classes, maxLength: rows * classes }).map((v) => Float64Array.from(v)),
      labels: fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: rows, maxLength: rows }),
    }),
  );

function oneHot(labels: readonly number[], classes: number): Float64Array {
  const out = new Float64Array(labels.length * classes);
  labels.forEach((c, r) => (out[r * classes + c] = 1));
  return out;
}

describe('softmaxCrossEntropy gradient', () => {
  for (const labelKind of ['one-hot', 'int32'] as const) {
    test(`equals softmax minus ${labelKind} labels`, () => {
      fc.assert(
        fc.property(SAMPLE, ({ rows, classes, logits, labels }) => {
          const graph = new Graph();
          const z = graph.input('z', [rows, classes], 'float64');
          const target = labelKind === 'one-hot' ? graph.input('labels', [rows, classes], 'float64') : graph.input('labels', [rows], 'int32');
          const loss = graph.softmaxCrossEntropy(z, target);
          const [dz] = grad(loss.sum(), [z]);
          const labelFeed = labelKind === 'one-hot' ? oneHot(labels, classes) : Int32Array.from(labels);
          const [lossValue, dzValue] = evaluate([loss, dz!], { z: logits, labels: labelFeed });

          expect(lossValue!.data.every(Number.isFinite), `loss ${Array.from(lossValue!.data)}`).toBe(true);
          expect(dzValue!.data.every(Number.isFinite), `gradient ${Array.from(dzValue!.data)}`).toBe(true);
          const expected = referenceSoftmax(logits, classes).map((p, i) => p - oneHot(labels, classes)[i]!);
          expectAllClose(dzValue!.data, expected, EXACT, 'd loss / d logits against softmax - labels');
        }),
        { numRuns: fuzzRuns(200) },
      );
    });
  }

  test('equals softmax times label mass minus soft labels', () => {
    const soft = SAMPLE.chain((s) =>
      fc.array(uniformDoubleArb(0, 2), { minLength: s.rows * s.classes, maxLength: s.rows * s.classes }).map((l) => ({ ...s, soft: Float64Array.from(l) })),
    );
    fc.assert(
      fc.property(soft, ({ rows, classes, logits, soft: labels }) => {
        const graph = new Graph();
        const z = graph.input('z', [rows, classes], 'float64');
        const l = graph.input('l', [rows, classes], 'float64');
        const [dz] = grad(graph.softmaxCrossEntropy(z, l).sum(), [z]);
        const [dzValue] = evaluate([dz!], { z: logits, l: labels });

        const probabilities = referenceSoftmax(logits, classes);
        const expected = probabilities.map((p, i) => {
          const row = Math.floor(i / classes);
          const mass = labels.subarray(row * classes, (row + 1) * classes).reduce((a, b) => a + b, 0);
          return p * mass - labels[i]!;
        });
        // softmax is exp(z - lse(z)), and lse(z) near 1e4 is rounded to its
        // spacing of 1.8e-12, so p carries a relative error up to about 1e-12
        // that the label mass (up to 12 here) multiplies.
        expectAllClose(dzValue!.data, expected, { rtol: 1e-12, atol: 2e-11 }, 'd loss / d logits for soft labels');
      }),
      { numRuns: fuzzRuns(100) },
    );
  });

  test('stays finite at logits of +-1e4', () => {
    const graph = new Graph();
    const z = graph.input('z', [3, 3], 'float64');
    const labels = graph.input('labels', [3], 'int32');
    const loss = graph.softmaxCrossEntropy(z, labels);
    const [dz] = grad(loss.sum(), [z]);
    const logits = [1e4, -1e4, 0, -1e4, 1e4, 1e4, -1e4, -1e4, -1e4];
    const [lossValue, dzValue] = evaluate([loss, dz!], { z: logits, labels: [1, 1, 2] });

    expectAllClose(lossValue!.data, [2e4, Math.LN2, Math.log(3)], { rtol: 1e-12, atol: 1e-12 }, 'loss');
    expectAllClose(dzValue!.data, [1, -1, 0, 0, -0.5, 0.5, 1 / 3, 1 / 3, -2 / 3], EXACT, 'd loss / d logits');
  });
});
