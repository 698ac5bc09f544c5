// Behaviours of the grad pass itself rather than of one op's rule. It sums
// the contributions of a node used several times, undoes broadcasts and
// gives zero gradients to nodes that y does not depend on. It honours
// stopGradient and seeds, and raises for gradients through argmax and
// comparisons.

import { describe, expect, test } from 'vitest';
import { grad } from '../../passes/grad.ts';
import { GradientError } from '../../src/errors.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { verify } from '../../src/graph/verify.ts';
import { evaluate } from '../../src/interp/interpreter.ts';

function values(nodes: readonly Node[], feeds: Record<string, readonly number[]>): number[][] {
  return evaluate(nodes, feeds).map((t) => Array.from(t.data));
}

/** Returns the GradientError that `build` throws, or fails the test. */
function gradientError(build: () => unknown): GradientError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(GradientError);
    return error as GradientError;
  }
  throw new Error('expected a GradientError, but nothing was thrown');
}

describe('fan-out', () => {
  test('sums the contributions of a node used three times', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const y = x.mul(x).add(x.exp()).sum();
    const [dx] = grad(y, [x]);
    const [gradient] = values([dx!], { x: [1, -2, 0.5] });
    expect(gradient).toEqual([2 + Math.E, -4 + Math.exp(-2), 1 + Math.exp(0.5)]);
  });

  test('sums contributions along paths of different lengths', () => {
    const graph = new Graph();
    const x = graph.input('x', [], 'float64');
    const h = x.mul(3);
    const y = h.mul(h).add(x).add(h.tanh());
    const [dx] = grad(y, [x]);
    const [gradient] = values([dx!], { x: [0.2] });
    expect(gradient![0]).toBeCloseTo(18 * 0.2 + 1 + 3 * (1 - Math.tanh(0.6) ** 2), 14);
  });

  test('leaves a graph that verifies', () => {
    const graph = new Graph();
    const x = graph.input('x', [2, 3], 'float64');
    grad(x.matmul(x, { transposeB: true }).relu().sum(), [x]);
    expect(() => verify(graph)).not.toThrow();
  });
});

describe('broadcasting', () => {
  test('gradient has the input shape', () => {
    const graph = new Graph();
    const big = graph.input('big', [2, 3, 4], 'float64');
    const row = graph.input('row', [1, 4], 'float64');
    const column = graph.input('column', [3, 1], 'float64');
    const scalar = graph.input('scalar', [], 'float64');
    const single = graph.input('single', [1], 'float64');
    const y = big.add(row).mul(column).add(scalar).mul(single).sum();
    const gradients = grad(y, [big, row, column, scalar, single]);
    expect(gradients.map((g) => g.shape)).toEqual([[2, 3, 4], [1, 4], [3, 1], [], [1]]);
  });

  test('sums over prepended and size-1 axes', () => {
    const graph = new Graph();
    const big = graph.input('big', [2, 3, 4], 'float64');
    const row = graph.input('row', [1, 4], 'float64');
    const weights = graph.input('w', [2, 3, 4], 'float64');
    const [drow] = grad(big.add(row).mul(weights).sum(), [row]);
    const w = Array.from({ length: 24 }, (_, i) => i);
    const [gradient] = values([drow!], { big: new Array(24).fill(0), row: [0, 0, 0, 0], w });
    // Each of the 4 entries sums w over the 2 x 3 positions it was broadcast to.
    const expected = [0, 1, 2, 3].map((j) => w.filter((_, i) => i % 4 === j).reduce((a, b) => a + b, 0));
    expect(gradient).toEqual(expected);
  });

  test('undoes broadcastTo', () => {
    const graph = new Graph();
    const x = graph.input('x', [3, 1], 'float64');
    const [dx] = grad(x.broadcastTo([2, 3, 5]).sum(), [x]);
    expect(dx!.shape).toEqual([3, 1]);
    expect(values([dx!], { x: [1, 2, 3] })[0]).toEqual([10, 10, 10]);
  });
});

describe('unused wrt nodes', () => {
  test('get a zero gradient of their shape', () => {
    const graph = new Graph();
    const x = graph.input('x', [2], 'float64');
    const unused = graph.input('unused', [3, 2], 'float64');
    const sideBranch = unused.exp();
    const [dx, dUnused, dSide] = grad(x.square().sum(), [x, unused, sideBranch]);
    expect(dUnused!.shape).toEqual([3, 2]);
    expect(dUnused!.dtype).toBe('float64');
    expect(dSide!.shape).toEqual([3, 2]);
    const [gx, gUnused, gSide] = values([dx!, dUnused!, dSide!], { x: [1, 2], unused: [1, 2, 3, 4, 5, 6] });
    expect(gx).toEqual([2, 4]);
    expect(gUnused).toEqual([0, 0, 0, 0, 0, 0]);
    expect(gSide).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('stopGradient', () => {
  test('blocks one factor of a product', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const [dx] = grad(x.mul(x.stopGradient()).sum(), [x]);
    expect(values([dx!], { x: [1, -2, 3] })[0]).toEqual([1, -2, 3]);
  });

  test('gives zero when it cuts every path', () => {
    const graph = new Graph();
    const x = graph.input('x', [2], 'float64');
    const [dx] = grad(x.stopGradient().exp().sum(), [x]);
    expect(values([dx!], { x: [1, 2] })[0]).toEqual([0, 0]);
  });

  test('before a comparison raises no error', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const mask = graph.greater(x.stopGradient(), 0).cast('float64');
    const [dx] = grad(mask.sum(), [x]);
    expect(values([dx!], { x: [1, -1, 2] })[0]).toEqual([0, 0, 0]);
  });
});

describe('gradient through ops without one', () => {
  test('argmax as the only path raises', () => {
    const graph = new Graph();
    const x = graph.input('x', [2, 3], 'float64');
    const index = x.argmax(-1);
    const error = gradientError(() => grad(index.cast('float64').sum(), [x]));
    expect(error.message).toContain(`only through argmax ${index.label}`);
    expect(error.message).toContain('argmax returns indices and has no gradient');
  });

  test('comparison as the only path raises', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const positive = x.greater(0);
    const error = gradientError(() => grad(positive.cast('float64').sum(), [x]));
    expect(error.message).toContain(`only through greater ${positive.label}`);
    expect(error.message).toContain('stopGradient');
    expect(error.message).toContain('where()');
  });

  for (const op of ['greaterEqual', 'less', 'equal'] as const) {
    test(`${op} as the only path raises`, () => {
      const graph = new Graph();
      const x = graph.input('x', [3], 'float64');
      const comparison = graph.addNode(op, [x, graph.constant(0, [], 'float64')]);
      const error = gradientError(() => grad(comparison.cast('float64').sum(), [x]));
      expect(error.message).toContain(`only through ${op} ${comparison.label}`);
    });
  }

  test('mask with another path differentiates', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const [dx] = grad(x.greater(0).cast('float64').mul(x).sum(), [x]);
    expect(values([dx!], { x: [1, -1, 2] })[0]).toEqual([1, 0, 1]);
  });

  test('where(x > 0, x, 0) differentiates', () => {
    const graph = new Graph();
    const x = graph.input('x', [4], 'float64');
    const y = graph.where(x.greater(0), x, 0).mul(graph.constant([1, 2, 3, 4], [4], 'float64')).sum();
    const [dx] = grad(y, [x]);
    expect(values([dx!], { x: [1, -1, 0, 2] })[0]).toEqual([1, 0, 0, 4]);
  });
});

describe('seed', () => {
  test('non-scalar y without a seed raises', () => {
    const graph = new Graph();
    const x = graph.input('x', [2, 3], 'float64');
    const y = x.tanh();
    const error = gradientError(() => grad(y, [x]));
    expect(error.message).toContain('[2,3]');
    expect(error.message).toContain('seed');
  });

  test('seed of the wrong shape raises', () => {
    const graph = new Graph();
    const x = graph.input('x', [2, 3], 'float64');
    const seed = graph.input('seed', [3, 2], 'float64');
    const error = gradientError(() => grad(x.tanh(), [x], { seed }));
    expect(error.message).toContain("y's shape [2,3]");
  });

  test('seed weights the gradient of a non-scalar y', () => {
    const graph = new Graph();
    const x = graph.input('x', [2, 2], 'float64');
    const seed = graph.input('seed', [2, 2], 'float64');
    const [dx] = grad(x.square(), [x], { seed });
    expect(values([dx!], { x: [1, 2, 3, 4], seed: [1, 0.5, -1, 0] })[0]).toEqual([2, 2, -6, 0]);
  });

  test('one-element y needs no seed', () => {
    const graph = new Graph();
    const x = graph.input('x', [1, 1], 'float64');
    const [dx] = grad(x.square(), [x]);
    expect(values([dx!], { x: [3] })[0]).toEqual([6]);
  });
});

describe('dtypes', () => {
  test('int32 y raises', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const error = gradientError(() => grad(x.argmax(), [x]));
    expect(error.message).toContain('int32');
  });

  test('int32 wrt node raises', () => {
    const graph = new Graph();
    const x = graph.input('x', [3], 'float64');
    const k = graph.input('k', [3], 'int32');
    const error = gradientError(() => grad(x.sum(), [k]));
    expect(error.message).toContain('integer and bool nodes carry no gradient');
  });

  test('float32 input gets a float32 gradient through a float64 cast', () => {
    const graph = new Graph();
    const x = graph.input('x', [2], 'float32');
    const [dx] = grad(x.cast('float64').square().sum(), [x]);
    expect(dx!.dtype).toBe('float32');
    expect(values([dx!], { x: [1.5, -2] })[0]).toEqual([3, -4]);
  });
});
