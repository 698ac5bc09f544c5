// Forward values of relu, leakyRelu, elu and prelu at the points where
// implementations disagree: signed zeros, tiny magnitudes, infinities, NaN
// and slopes above 1. Every value is checked with Object.is, so -0 and +0
// differ. Inputs are float64 so the fed values reach the ops unrounded.

import { describe, expect, test } from 'vitest';
import { AttributeError } from '../../src/errors.ts';
import { graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { run } from './support.ts';

/** Evaluates `build(x)` at one float64 scalar. */
function valueAt(x: number, build: (x: Node) => Node): number {
  const g = graph();
  const input = g.input('x', [], 'float64');
  return run(build(input), { x: [x] }).data[0]!;
}

function label(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, but none was thrown');
}

// leakyRelu(x, alpha) = x where x > 0, else alpha * x in float64; alpha 0
// gives +0 (never -0 or NaN) for every x <= 0. Products such as 0.3 * -3
// are written as the float64 result, -0.8999999999999999.
const LEAKY_RELU_TABLE: readonly (readonly [alpha: number, x: number, expected: number])[] = [
  [0, -3, 0],
  [0, -1e-45, 0],
  [0, -0, 0],
  [0, 0, 0],
  [0, 1e-45, 1e-45],
  [0, 3, 3],
  [0, Infinity, Infinity],
  [0, -Infinity, 0],
  [0, NaN, NaN],

  [0.01, -3, -0.03],
  [0.01, -1e-45, -1e-47],
  [0.01, -0, -0],
  [0.01, 0, 0],
  [0.01, 1e-45, 1e-45],
  [0.01, 3, 3],
  [0.01, Infinity, Infinity],
  [0.01, -Infinity, -Infinity],
  [0.01, NaN, NaN],

  [0.2, -3, -0.6000000000000001],
  [0.2, -1e-45, -2e-46],
  [0.2, -0, -0],
  [0.2, 0, 0],
  [0.2, 1e-45, 1e-45],
  [0.2, 3, 3],
  [0.2, Infinity, Infinity],
  [0.2, -Infinity, -Infinity],
  [0.2, NaN, NaN],

  [0.3, -3, -0.8999999999999999],
  [0.3, -1e-45, -3e-46],
  [0.3, -0, -0],
  [0.3, 0, 0],
  [0.3, 1e-45, 1e-45],
  [0.3, 3, 3],
  [0.3, Infinity, Infinity],
  [0.3, -Infinity, -Infinity],
  [0.3, NaN, NaN],

  [1, -3, -3],
  [1, -1e-45, -1e-45],
  [1, -0, -0],
  [1, 0, 0],
  [1, 1e-45, 1e-45],
  [1, 3, 3],
  [1, Infinity, Infinity],
  [1, -Infinity, -Infinity],
  [1, NaN, NaN],

  [5, -3, -15],
  [5, -1e-45, -5e-45],
  [5, -0, -0],
  [5, 0, 0],
  [5, 1e-45, 1e-45],
  [5, 3, 3],
  [5, Infinity, Infinity],
  [5, -Infinity, -Infinity],
  [5, NaN, NaN],
];

describe('leakyRelu values', () => {
  test.each(LEAKY_RELU_TABLE.map(([alpha, x, expected]) => ({ alpha, x, expected, name: `alpha ${alpha} at ${label(x)} is ${label(expected)}` })))(
    '$name',
    ({ alpha, x, expected }) => {
      expect(Object.is(valueAt(x, (n) => n.leakyRelu(alpha)), expected)).toBe(true);
    },
  );

  test('alpha 5 keeps a positive x, unlike max(x, alpha * x)', () => {
    expect(valueAt(3, (n) => n.leakyRelu(5))).toBe(3);
  });

  test('negative alpha flips negative inputs', () => {
    expect(valueAt(-2, (n) => n.leakyRelu(-0.5))).toBe(1);
  });

  test('omitted alpha defaults to 0.2', () => {
    expect(valueAt(-1, (n) => n.leakyRelu())).toBe(-0.2);
  });

  test('explicit undefined alpha defaults to 0.2', () => {
    expect(valueAt(-1, (n) => n.leakyRelu(undefined))).toBe(-0.2);
    expect(valueAt(-1, (n) => n.graph.addNode('leakyRelu', [n], { alpha: undefined }))).toBe(-0.2);
  });

  test('stored alpha attribute is the default', () => {
    const g = graph();
    const node = g.leakyRelu(g.input('x', [2]));
    expect(node.attrs).toEqual({ alpha: 0.2 });
  });
});

describe('leakyRelu alpha validation', () => {
  test.each([
    { name: 'NaN', alpha: NaN, shown: 'NaN' },
    { name: 'Infinity', alpha: Infinity, shown: 'Infinity' },
    { name: '-Infinity', alpha: -Infinity, shown: '-Infinity' },
    { name: 'a string', alpha: '0.2', shown: '"0.2"' },
    { name: 'null', alpha: null, shown: 'null' },
    { name: 'a boolean', alpha: true, shown: 'true' },
    { name: 'an object', alpha: { value: 0.2 }, shown: '{"value":0.2}' },
  ])('$name is an AttributeError', ({ alpha, shown }) => {
    const g = graph();
    const x = g.input('x', [2]);
    const error = thrown(() => x.leakyRelu(alpha as number));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe(`Error in leakyRelu (%1): alpha must be a finite number, got ${shown}`);
  });

  test('error names the node when it has a name', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const error = thrown(() => g.addNode('leakyRelu', [x], { alpha: NaN }, 'act1'));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in leakyRelu (node "act1", %1): alpha must be a finite number, got NaN');
  });

  test('elu alpha is checked the same way', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2]).elu(Infinity));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in elu (%1): alpha must be a finite number, got Infinity');
  });

  test('leakyReluGrad alpha is checked the same way', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const error = thrown(() => g.leakyReluGrad(x, x, NaN));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in leakyReluGrad (%1): alpha must be a finite number, got NaN');
  });
});

// relu(x) = x where x > 0, else +0; NaN stays NaN.
const RELU_TABLE: readonly (readonly [x: number, expected: number])[] = [
  [-3, 0],
  [-1e-45, 0],
  [-0, 0],
  [0, 0],
  [1e-45, 1e-45],
  [3, 3],
  [Infinity, Infinity],
  [-Infinity, 0],
  [NaN, NaN],
];

describe('relu values', () => {
  test.each(RELU_TABLE.map(([x, expected]) => ({ x, expected, name: `at ${label(x)} is ${label(expected)}` })))('$name', ({ x, expected }) => {
    expect(Object.is(valueAt(x, (n) => n.relu()), expected)).toBe(true);
  });
});

// elu(x, alpha) = x where x > 0, else alpha * expm1(x). e^-3 - 1 = -0.950212931632136...
describe('elu values', () => {
  test('NaN stays NaN', () => {
    expect(valueAt(NaN, (n) => n.elu())).toBeNaN();
  });

  test('-Infinity gives -alpha', () => {
    expect(valueAt(-Infinity, (n) => n.elu(0.5))).toBe(-0.5);
  });

  test('-0 stays -0', () => {
    expect(Object.is(valueAt(-0, (n) => n.elu()), -0)).toBe(true);
  });

  test('positive x passes through', () => {
    expect(valueAt(3, (n) => n.elu(2))).toBe(3);
  });

  test('tiny negative x is x times alpha', () => {
    expect(valueAt(-1e-45, (n) => n.elu())).toBe(-1e-45);
  });

  test('x of -3 with default alpha 1', () => {
    expect(valueAt(-3, (n) => n.elu())).toBeCloseTo(-0.950212931632136, 14);
  });

  test('x of -3 with alpha 0.5', () => {
    expect(valueAt(-3, (n) => n.elu(0.5))).toBeCloseTo(-0.475106465816068, 14);
  });
});

describe('prelu values', () => {
  test('per-channel alpha broadcasts over the last axis', () => {
    const g = graph();
    const x = g.input('x', [2, 3], 'float64');
    const alpha = g.constant([0, 0.5, 5], [3], 'float64');
    const y = run(x.prelu(alpha), { x: [-2, -2, -2, 3, 3, NaN] });
    expect(Array.from(y.data)).toEqual([0, -1, -10, 3, 3, NaN]);
  });

  test('alpha 0 matches relu at -Infinity', () => {
    const g = graph();
    const x = g.input('x', [2], 'float64');
    const y = run(x.prelu(g.constant([0, 0.5], [2], 'float64')), { x: [-Infinity, -Infinity] });
    expect(Object.is(y.data[0], 0)).toBe(true);
    expect(y.data[1]).toBe(-Infinity);
  });
});
