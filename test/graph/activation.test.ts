// Activations given by name, callable or object. Each resolves, at graph
// level, to the same values as the op it stands for. An unknown name fails
// when the graph is built, and the error lists the known names and the
// nearest one.

import { describe, expect, test } from 'vitest';
import { GraphError, UnknownActivationError } from '../../src/errors.ts';
import { ACTIVATION_NAMES, nearestActivationName, resolveActivation } from '../../src/graph/activation.ts';
import type { ActivationSpec } from '../../src/graph/activation.ts';
import { graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import { run } from '../ops/support.ts';

const X_VALUES = [-3, -1, -0.5, -0, 0, 0.25, 1, 4];

// The op each activation name stands for, written with the ops directly.
const DIRECT: Record<string, (x: Node) => Node> = {
  linear: (x) => x,
  relu: (x) => x.relu(),
  leakyRelu: (x) => x.leakyRelu(0.2),
  leaky_relu: (x) => x.leakyRelu(0.2),
  sigmoid: (x) => x.sigmoid(),
  tanh: (x) => x.tanh(),
  elu: (x) => x.elu(1),
  softplus: (x) => x.softplus(),
  softmax: (x) => x.softmax(-1),
};

/** Evaluates `activation(x)` and `direct(x)` on the same [2, 4] input. */
function bothValues(spec: ActivationSpec, direct: (x: Node) => Node): [number[], number[]] {
  const g = graph();
  const x = g.input('x', [2, 4], 'float64');
  const [viaSpec, viaOp] = evaluate([x.activation(spec), direct(x)], { x: X_VALUES });
  return [Array.from(viaSpec!.data), Array.from(viaOp!.data)];
}

describe('activation names', () => {
  test('list is the documented set', () => {
    expect(ACTIVATION_NAMES).toEqual(Object.keys(DIRECT));
  });

  test.each(Object.keys(DIRECT))('%s gives the direct op values', (name) => {
    const [viaName, viaOp] = bothValues(name, DIRECT[name]!);
    expect(viaName).toEqual(viaOp);
  });

  test.each(Object.keys(DIRECT).filter((name) => name !== 'linear'))('%s adds one node of its op', (name) => {
    const g = graph();
    const x = g.input('x', [2, 4]);
    const y = x.activation(name);
    expect(g.nodes.length).toBe(2);
    expect(y.inputs).toEqual([x]);
  });

  test('linear returns its input node', () => {
    const g = graph();
    const x = g.input('x', [2]);
    expect(x.activation('linear')).toBe(x);
  });

  test('leaky_relu uses the op default alpha 0.2', () => {
    const g = graph();
    const y = g.input('x', [2]).activation('leaky_relu');
    expect(y.op).toBe('leakyRelu');
    expect(y.attrs).toEqual({ alpha: 0.2 });
  });
});

describe('activation callables and objects', () => {
  test('callable gives the same values as the op', () => {
    const [viaFunction, viaOp] = bothValues((x) => x.leakyRelu(0.3), (x) => x.leakyRelu(0.3));
    expect(viaFunction).toEqual(viaOp);
  });

  test('object with apply gives the same values as the op', () => {
    const layer = { alpha: 0.05, apply(x: Node) { return x.leakyRelu(this.alpha); } };
    const [viaObject, viaOp] = bothValues(layer, (x) => x.leakyRelu(0.05));
    expect(viaObject).toEqual(viaOp);
  });

  test('Graph.activation matches Node.activation', () => {
    const g = graph();
    const x = g.input('x', [2, 4], 'float64');
    const [a, b] = evaluate([g.activation(x, 'elu'), x.activation('elu')], { x: X_VALUES });
    expect(Array.from(a!.data)).toEqual(Array.from(b!.data));
  });
});

describe('matmul epilogue', () => {
  test('bias and leaky_relu match the separate ops', () => {
    const g = graph();
    const a = g.input('a', [2, 3], 'float64');
    const b = g.input('b', [3, 2], 'float64');
    const bias = g.input('bias', [2], 'float64');
    const fused = g.matmul(a, b, { bias, activation: 'leaky_relu' });
    const separate = g.matmul(a, b).add(bias).leakyRelu(0.2);
    const feeds = { a: [1, -2, 3, -4, 5, -6], b: [1, 2, 3, 4, 5, 6], bias: [-20, 1] };
    const [viaOptions, viaOps] = evaluate([fused, separate], feeds);
    expect(Array.from(viaOptions!.data)).toEqual(Array.from(viaOps!.data));
  });

  test('bias and leaky_relu match a hand computation', () => {
    const g = graph();
    const a = g.constant([1, -2, 3, -4, 5, -6], [2, 3], 'float64');
    const b = g.constant([1, 2, 3, 4, 5, 6], [3, 2], 'float64');
    const bias = g.constant([-20, 1], [2], 'float64');
    // a b = [[10, 12], [-19, -24]]; plus bias = [[-10, 13], [-39, -23]].
    const y = run(g.matmul(a, b, { bias, activation: 'leaky_relu' }));
    expect(Array.from(y.data)).toEqual([-2, 13, -7.800000000000001, -4.6000000000000005]);
  });

  test('activation object is applied last', () => {
    const g = graph();
    const a = g.constant([1, 2], [1, 2], 'float64');
    const b = g.constant([-1, 1], [2, 1], 'float64');
    const y = g.matmul(a, b, { activation: { apply: (x: Node) => x.mul(10) } });
    expect(y.op).toBe('mul');
    expect(Array.from(run(y).data)).toEqual([10]);
  });
});

describe('unknown activations', () => {
  function activationError(spec: unknown): UnknownActivationError {
    const g = graph();
    const x = g.input('x', [2]);
    try {
      x.activation(spec as ActivationSpec);
    } catch (error) {
      return error as UnknownActivationError;
    }
    throw new Error('expected an error, but none was thrown');
  }

  const KNOWN =
    'Known names: linear, relu, leakyRelu, leaky_relu, sigmoid, tanh, elu, softplus, softmax; a callable (node) => node or an object with apply(node) is accepted too.';

  test('LeakyReLU suggests leaky_relu and the layer', () => {
    const error = activationError('LeakyReLU');
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.message).toBe(
      `Error in activation: unknown activation "LeakyReLU". ${KNOWN} Did you mean 'leaky_relu' (alpha 0.2), or an object such as new LeakyReLU({ alpha }) to choose alpha?`,
    );
    expect(error.requested).toBe('LeakyReLU');
    expect(error.suggestion).toBe('leaky_relu');
    expect(error.known).toEqual(ACTIVATION_NAMES);
  });

  test('rleu suggests relu', () => {
    const error = activationError('rleu');
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.message).toBe(`Error in activation: unknown activation "rleu". ${KNOWN} Did you mean 'relu'?`);
    expect(error.suggestion).toBe('relu');
  });

  test('Sigmoid suggests sigmoid', () => {
    const error = activationError('Sigmoid');
    expect(error.suggestion).toBe('sigmoid');
  });

  test('distant name has no suggestion', () => {
    const error = activationError('convolution');
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.message).toBe(`Error in activation: unknown activation "convolution". ${KNOWN}`);
    expect(error.suggestion).toBeUndefined();
  });

  test('inherited object key is not a name', () => {
    const error = activationError('toString');
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.requested).toBe('toString');
  });

  test('number is rejected without a suggestion', () => {
    const error = activationError(42);
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.message).toBe(`Error in activation: unknown activation "42". ${KNOWN}`);
  });

  test('object without apply is rejected', () => {
    const error = activationError({ call: () => undefined });
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.requested).toBe('[object Object]');
  });

  test('resolveActivation names its caller', () => {
    expect(() => resolveActivation('swishy', 'Dense')).toThrow(/^Error in Dense: unknown activation "swishy"/);
  });

  test('nearest name ignores case and underscores', () => {
    expect(nearestActivationName('SOFT_MAX')).toBe('softmax');
    expect(nearestActivationName('Tanh')).toBe('tanh');
  });
});

describe('activation results', () => {
  test('reject results that are no node of the input shape', () => {
    const g = graph();
    const x = g.input('x', [2, 3]);
    const w = g.input('w', [3, 4]);
    const other = graph().input('o', [2, 4]);
    expect(() => x.matmul(w, { activation: (() => 3) as never })).toThrow(GraphError);
    expect(() => x.matmul(w, { activation: (() => 3) as never })).toThrow(/the callable returned number, not a Node/);
    expect(() => x.matmul(w, { activation: (n) => n.sum() })).toThrow(/returned shape \[\] for input shape \[2,4\]/);
    expect(() => x.matmul(w, { activation: () => other })).toThrow(/a node of another graph/);
    expect(() => x.matmul(w, { activation: { apply: (n) => n.cast('float64') } })).toThrow(/the apply\(\) returned float64 for a float32 input/);
  });
});
