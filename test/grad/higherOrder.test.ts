// Higher-order gradients, Hessian-vector products, Jacobian-vector products
// and valueAndGrad, each against central differences of a lower-order
// quantity: the gradient of sum(grad(y, x)) against differences of
// sum(grad(y, x)), hvp against differences of the gradient along v, and jvp
// against differences of the function along v.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { grad, hvp, jvp, valueAndGrad } from '../../passes/grad.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { sizeOf } from '../../src/graph/shape.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { ValueOptions } from '../support/arbitraries.ts';
import { seededValues, shapeArb, uniformDoubleArb, valuesArb } from '../support/arbitraries.ts';
import { directionalDifference, expectGradientsMatch } from '../support/finiteDifference.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { smoothnessReport } from '../support/kinks.ts';
import { expectAllClose } from '../support/tolerance.ts';

/** Smallest relative distance from a kink, tie or pole: 100 finite-difference steps. */
const KINK_MARGIN = 1e-4;
/**
 * Differences of a gradient along a direction carry the rounding error of
 * the gradient itself, so they get a looser tolerance than first-order checks.
 */
const SECOND_ORDER_TOLERANCE = { rtol: 1e-5, atol: 1e-5 };

interface TestFunction {
  name: string;
  /** Shapes of x; any rank by default. */
  shapes?: fc.Arbitrary<number[]>;
  values?: ValueOptions;
  /** Builds f(x); the result may have any shape. */
  build(graph: Graph, x: Node): Node;
}

const AWAY_FROM_ZERO: ValueOptions = { avoid: [0], margin: 1e-3 };

const FUNCTIONS: readonly TestFunction[] = [
  { name: 'x tanh(x)', build: (_, x) => x.mul(x.tanh()) },
  { name: 'exp(x) / (1 + x^2)', build: (_, x) => x.exp().div(x.square().add(1)) },
  { name: 'pow(x, 3)', values: { min: 0.1, max: 3 }, build: (g, x) => x.pow(g.constant(3, [], 'float64')) },
  { name: 'pow(2, x)', build: (g, x) => g.constant(2, [], 'float64').pow(x) },
  { name: 'sigmoid', build: (_, x) => x.sigmoid() },
  { name: 'softplus', build: (_, x) => x.softplus() },
  { name: 'log(1 + x^2)', build: (_, x) => x.square().add(1).log() },
  { name: 'sqrt(1 + x^2)', build: (_, x) => x.square().add(1).sqrt() },
  { name: 'reciprocal', values: { avoid: [0], margin: 0.2 }, build: (_, x) => x.reciprocal() },
  { name: 'x abs(x)', values: AWAY_FROM_ZERO, build: (_, x) => x.mul(x.abs()) },
  { name: 'x relu(x)', values: AWAY_FROM_ZERO, build: (_, x) => x.mul(x.relu()) },
  { name: 'x leakyRelu(x, 0.2)', values: AWAY_FROM_ZERO, build: (_, x) => x.mul(x.leakyRelu(0.2)) },
  { name: 'x leakyRelu(x, 3)', values: AWAY_FROM_ZERO, build: (_, x) => x.mul(x.leakyRelu(3)) },
  { name: 'elu(x, 2)', values: AWAY_FROM_ZERO, build: (_, x) => x.elu(2) },
  { name: 'x prelu(x, 0.3)', values: AWAY_FROM_ZERO, build: (g, x) => x.mul(x.prelu(g.constant(0.3, [], 'float64'))) },
  { name: 'x maximum(x, 0.5)', build: (_, x) => x.mul(x.maximum(0.5)) },
  { name: 'x minimum(x, 0.5)', build: (_, x) => x.mul(x.minimum(0.5)) },
  { name: 'maximum(x, 0.5)', build: (_, x) => x.maximum(0.5) },
  { name: 'max(x)', shapes: shapeArb({ minRank: 1 }), build: (_, x) => x.max(-1) },
  { name: 'x max(x)', shapes: shapeArb({ minRank: 1 }), build: (_, x) => x.mul(x.max(-1, { keepDims: true })) },
  { name: 'x min(x)', shapes: shapeArb({ minRank: 1 }), build: (_, x) => x.mul(x.min(-1, { keepDims: true })) },
  { name: 'variance', build: (_, x) => x.sub(x.mean()).square().mean() },
  { name: 'softmax', shapes: shapeArb({ minRank: 1 }), build: (_, x) => x.softmax(-1) },
  { name: 'logSoftmax', shapes: shapeArb({ minRank: 1 }), build: (_, x) => x.logSoftmax(0) },
  {
    name: 'softmaxCrossEntropy',
    shapes: shapeArb({ minRank: 1 }),
    build: (g, x) => g.softmaxCrossEntropy(x, g.constant(seededValues(1, x.size, 0, 1), x.shape, 'float64')),
  },
  { name: 'meanSquaredError', build: (g, x) => g.meanSquaredError(x.tanh(), g.fill(0.5, x.shape, 'float64')) },
  { name: 'x x^T', shapes: shapeArb({ minRank: 2 }), build: (g, x) => g.matmul(x, x, { transposeB: true }) },
  { name: 'x^T tanh(x)', shapes: shapeArb({ minRank: 2 }), build: (g, x) => g.matmul(x, x.tanh(), { transposeA: true }) },
  {
    name: 'movement ops',
    shapes: shapeArb({ minRank: 1 }),
    build: (g, x) => {
      const padded = x.pad(x.shape.map(() => [1, 0] as [number, number]));
      const sliced = padded.slice(x.shape.map(() => 1), x.shape.map(() => -1));
      const doubled = g.concat([sliced, x.tanh()], -1);
      return doubled.reshape([-1]).square().transpose();
    },
  },
];

function sampleFor(f: TestFunction): fc.Arbitrary<{ shape: number[]; x: Float64Array; v: Float64Array; seed: number }> {
  return (f.shapes ?? shapeArb()).chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      x: valuesArb(sizeOf(shape), f.values ?? {}),
      v: valuesArb(sizeOf(shape), { min: -1, max: 1 }),
      seed: fc.integer(),
    }),
  );
}

/** Builds y = sum(f(x) * w) with random weights w, so every element of f(x) counts. */
function weightedScalar(graph: Graph, f: TestFunction, x: Node, seed: number): Node {
  const fx = f.build(graph, x);
  return graph.sum(graph.mul(fx, graph.constant(seededValues(seed, fx.size), fx.shape, 'float64')));
}

describe('second derivative', () => {
  for (const f of FUNCTIONS) {
    test(`grad of sum(grad) of ${f.name}`, () => {
      fc.assert(
        fc.property(sampleFor(f), ({ shape, x, seed }) => {
          const graph = new Graph();
          const input = graph.input('x', shape, 'float64');
          const y = weightedScalar(graph, f, input, seed);
          const [dx] = grad(y, [input]);
          const gradientSum = graph.sum(dx!);
          fc.pre(smoothnessReport([gradientSum], { x }).minDistance >= KINK_MARGIN);

          expectGradientsMatch({ output: gradientSum, wrt: [input], feeds: { x }, tolerance: SECOND_ORDER_TOLERANCE });
        }),
        { numRuns: fuzzRuns(20) },
      );
    });
  }
});

describe('hvp', () => {
  for (const f of FUNCTIONS) {
    test(`hvp of ${f.name}`, () => {
      fc.assert(
        fc.property(sampleFor(f), ({ shape, x, v, seed }) => {
          const graph = new Graph();
          const input = graph.input('x', shape, 'float64');
          const direction = graph.input('v', shape, 'float64');
          const y = weightedScalar(graph, f, input, seed);
          const product = hvp(y, input, direction);
          const [dx] = grad(y, [input]);
          fc.pre(smoothnessReport([dx!, product], { x, v }).minDistance >= KINK_MARGIN);

          expect(product.shape).toEqual(shape);
          const [analytic] = evaluate([product], { x, v });
          const numeric = directionalDifference((point) => evaluate([dx!], { x: point })[0]!.data, x, v);
          expectAllClose(analytic!.data, numeric, SECOND_ORDER_TOLERANCE, `hvp of ${f.name} against differences of the gradient`);
        }),
        { numRuns: fuzzRuns(20) },
      );
    });
  }
});

describe('jvp', () => {
  for (const f of FUNCTIONS) {
    test(`jvp of ${f.name}`, () => {
      fc.assert(
        fc.property(sampleFor(f), ({ shape, x, v }) => {
          const graph = new Graph();
          const input = graph.input('x', shape, 'float64');
          const direction = graph.input('v', shape, 'float64');
          const fx = f.build(graph, input);
          const product = jvp(fx, [input], [direction]);
          fc.pre(smoothnessReport([fx, product], { x, v }).minDistance >= KINK_MARGIN);

          expect(product.shape).toEqual(fx.shape);
          const [analytic] = evaluate([product], { x, v });
          const numeric = directionalDifference((point) => evaluate([fx], { x: point })[0]!.data, x, v);
          expectAllClose(analytic!.data, numeric, SECOND_ORDER_TOLERANCE, `jvp of ${f.name} against differences of the function`);
        }),
        { numRuns: fuzzRuns(20) },
      );
    });
  }

  test('jvp with two inputs sums both tangents', () => {
    const sample = shapeArb({ minRank: 2, maxRank: 2 }).chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        a: valuesArb(sizeOf(shape)),
        b: valuesArb(sizeOf(shape)),
        va: valuesArb(sizeOf(shape), { min: -1, max: 1 }),
        vb: valuesArb(sizeOf(shape), { min: -1, max: 1 }),
      }),
    );
    fc.assert(
      fc.property(sample, ({ shape, a, b, va, vb }) => {
        const graph = new Graph();
        const [an, bn, van, vbn] = ['a', 'b', 'va', 'vb'].map((name) => graph.input(name, shape, 'float64')) as [Node, Node, Node, Node];
        const fx = graph.matmul(an.tanh(), bn, { transposeB: true }).add(an.mul(bn).sum());
        const product = jvp(fx, [an, bn], [van, vbn]);
        const [analytic] = evaluate([product], { a, b, va, vb });

        // One difference along the joint direction (va, vb) of the concatenated inputs.
        const split = a.length;
        const joint = Float64Array.from([...a, ...b]);
        const jointDirection = Float64Array.from([...va, ...vb]);
        const f = (point: Float64Array) => evaluate([fx], { a: point.subarray(0, split), b: point.subarray(split) })[0]!.data;
        expectAllClose(analytic!.data, directionalDifference(f, joint, jointDirection), SECOND_ORDER_TOLERANCE, 'jvp with two inputs');
      }),
      { numRuns: fuzzRuns(30) },
    );
  });
});

describe('valueAndGrad', () => {
  for (const f of FUNCTIONS) {
    test(`matches separate evaluation for ${f.name}`, () => {
      fc.assert(
        fc.property(sampleFor(f), ({ shape, x, seed }) => {
          const combined = new Graph();
          const combinedInput = combined.input('x', shape, 'float64');
          const { value, grads } = valueAndGrad(weightedScalar(combined, f, combinedInput, seed), [combinedInput]);
          const [combinedValue, combinedGrad] = evaluate([value, grads[0]!], { x });

          const valueOnly = new Graph();
          const [separateValue] = evaluate([weightedScalar(valueOnly, f, valueOnly.input('x', shape, 'float64'), seed)], { x });
          const gradOnly = new Graph();
          const gradInput = gradOnly.input('x', shape, 'float64');
          const [separateGrad] = evaluate(grad(weightedScalar(gradOnly, f, gradInput, seed), [gradInput]), { x });

          expect(Array.from(combinedValue!.data)).toEqual(Array.from(separateValue!.data));
          expect(Array.from(combinedGrad!.data)).toEqual(Array.from(separateGrad!.data));
        }),
        { numRuns: fuzzRuns(10) },
      );
    });
  }
});

test('uniform draws cover the interval', () => {
  const draws = fc.sample(uniformDoubleArb(-2, 2), { numRuns: 2000, seed: 1 });
  expect(Math.min(...draws)).toBeGreaterThanOrEqual(-2);
  expect(Math.max(...draws)).toBeLessThanOrEqual(2);
  expect(draws.filter((d) => Math.abs(d) > 1).length).toBeGreaterThan(800);
});
