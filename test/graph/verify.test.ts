// The verifier accepts every graph the builder makes and reports each
// hand-corrupted node with a GraphError naming it and the broken invariant.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { GraphError, SlopeError } from '../../src/errors.ts';
import type { DType } from '../../src/graph/dtype.ts';
import { graph } from '../../src/graph/graph.ts';
import type { Graph } from '../../src/graph/graph.ts';
import { Node } from '../../src/graph/node.ts';
import { verify } from '../../src/graph/verify.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import { fuzzRuns, randomValues, sizeOfShape } from '../ops/support.ts';

const RUNS = fuzzRuns(100);

const UNARY = ['neg', 'abs', 'exp', 'tanh', 'sigmoid', 'relu', 'softplus', 'square', 'leakyRelu', 'elu'] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'prelu', 'select'] as const;
const REDUCE = ['sum', 'mean', 'max', 'min'] as const;

const stepArb = fc.record({
  kind: fc.constantFrom('unary', 'binary', 'reduce', 'matmul', 'softmax'),
  unary: fc.constantFrom(...UNARY),
  binary: fc.constantFrom(...BINARY),
  reduce: fc.constantFrom(...REDUCE),
  first: fc.nat(),
  second: fc.nat(),
  axes: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  keepDims: fc.boolean(),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  alpha: fc.double({ min: -2, max: 2, noNaN: true }),
});

type Step = typeof stepArb extends fc.Arbitrary<infer T> ? T : never;

/** Applies one random step to nodes of the graph; the builder may reject it. */
function applyStep(g: Graph, nodes: readonly Node[], step: Step): Node {
  const a = nodes[step.first % nodes.length]!;
  const b = nodes[step.second % nodes.length]!;
  switch (step.kind) {
    case 'unary':
      if (step.unary === 'leakyRelu') return a.leakyRelu(step.alpha);
      if (step.unary === 'elu') return a.elu(step.alpha);
      return g[step.unary](a);
    case 'binary':
      if (step.binary === 'select') return g.where(a.greater(b), a, b);
      return g[step.binary](a, b);
    case 'reduce': {
      const axes = a.shape.map((_, i) => i).filter((i) => step.axes[i]);
      return g[step.reduce](a, axes, { keepDims: step.keepDims });
    }
    case 'matmul':
      return a.matmul(b, { transposeA: step.transposeA, transposeB: step.transposeB });
    case 'softmax':
      return a.softmax(step.first % Math.max(a.rank, 1));
  }
  throw new Error(`unknown step kind ${step.kind}`);
}

/** Builds a random graph from float inputs, a param and a constant; returns it with its float nodes. */
function randomGraph(steps: readonly Step[], dtype: DType): { g: Graph; nodes: Node[]; rejected: number } {
  const g = graph();
  const nodes: Node[] = [
    g.input('x', [2, 3], dtype),
    g.input('y', [3], dtype),
    g.input('z', [3, 2], dtype),
    g.param('w', [3, 3], { dtype }),
    g.constant([0.5, -1, 2], [1, 3], dtype),
  ];
  let rejected = 0;
  for (const step of steps) {
    try {
      nodes.push(applyStep(g, nodes, step));
    } catch (error) {
      if (!(error instanceof SlopeError)) throw error;
      rejected++;
    }
  }
  return { g, nodes, rejected };
}

describe('verify on built graphs', () => {
  test('accepts every graph the builder makes', () => {
    const arb = fc.record({ steps: fc.array(stepArb, { minLength: 1, maxLength: 12 }), dtype: fc.constantFrom<DType>('float32', 'float64') });
    fc.assert(
      fc.property(arb, ({ steps, dtype }) => {
        const { g, nodes } = randomGraph(steps, dtype);
        expect(verify(g)).toBe(g);

        // Every node also evaluates to a value of its inferred shape.
        const feeds = { x: randomValues(6, 1), y: randomValues(3, 2), z: randomValues(6, 3) };
        const values = evaluate(nodes, feeds);
        values.forEach((value, i) => expect(value.data.length).toBe(sizeOfShape(nodes[i]!.shape)));
      }),
      { numRuns: RUNS },
    );
  });

  test('random graphs are mostly accepted by the builder', () => {
    // Guards the property above against testing only empty graphs.
    let built = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 10, maxLength: 10 }), (steps) => {
        const { rejected } = randomGraph(steps, 'float32');
        built += steps.length - rejected;
      }),
      { numRuns: 50 },
    );
    expect(built).toBeGreaterThan(100);
  });
});

describe('verify on corrupted graphs', () => {
  function verifyError(g: Graph): Error {
    try {
      verify(g);
    } catch (error) {
      return error as Error;
    }
    throw new Error('expected verify to fail');
  }

  test('node with a wrong shape', () => {
    const g = graph();
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [3]);
    g.nodes.push(new Node(g, 2, 'add', [a, b], {}, [7], 'float32', 'broken'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %2 "broken" (add): shape [7], but its op infers [2,3]');
  });

  test('node with a wrong dtype', () => {
    const g = graph();
    const a = g.input('a', [2]);
    g.nodes.push(new Node(g, 1, 'exp', [a], {}, [2], 'float64'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %1 (exp): dtype float64, but its op infers float32');
  });

  test('node whose id is not its index', () => {
    const g = graph();
    const a = g.input('a', [2]);
    g.nodes.push(new Node(g, 5, 'neg', [a], {}, [2], 'float32'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %5 (neg): id 5 is not its index 1');
  });

  test('input from another graph', () => {
    const g = graph();
    g.input('a', [2]);
    const stranger = graph().input('s', [2]);
    g.nodes.push(new Node(g, 1, 'neg', [stranger], {}, [2], 'float32'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %1 (neg): input %0 "s" is not a node of this graph');
  });

  test('input that comes after the node', () => {
    const g = graph();
    const a = g.input('a', [2]);
    const later = new Node(g, 2, 'neg', [a], {}, [2], 'float32');
    g.nodes.push(new Node(g, 1, 'neg', [later], {}, [2], 'float32'));
    g.nodes.push(later);
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %1 (neg): input %2 does not come before it');
  });

  test('wrong number of inputs', () => {
    const g = graph();
    const a = g.input('a', [2]);
    g.nodes.push(new Node(g, 1, 'add', [a], {}, [2], 'float32'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %1 (add): has 1 inputs, expected 2');
  });

  test('invalid attribute', () => {
    const g = graph();
    const a = g.input('a', [2]);
    g.nodes.push(new Node(g, 1, 'leakyRelu', [a], { alpha: NaN }, [2], 'float32', 'act'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %1 "act" (leakyRelu): Error in leakyRelu (node "act", %1): alpha must be a finite number, got NaN');
  });

  test('duplicate source name', () => {
    const g = graph();
    g.input('x', [2]);
    g.nodes.push(new Node(g, 1, 'input', [], { shape: [2], dtype: 'float32' }, [2], 'float32', 'x'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in verify: 1 problem(s):\n  %1 "x" (input): name "x" is also used by %0');
  });

  test('every problem is listed', () => {
    const g = graph();
    const a = g.input('a', [2]);
    g.nodes.push(new Node(g, 1, 'neg', [a], {}, [3], 'float32', 'first'));
    g.nodes.push(new Node(g, 2, 'exp', [a], {}, [2], 'int32', 'second'));
    const error = verifyError(g);
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe(
      'Error in verify: 2 problem(s):\n  %1 "first" (neg): shape [3], but its op infers [2]\n  %2 "second" (exp): dtype int32, but its op infers float32',
    );
  });
});
