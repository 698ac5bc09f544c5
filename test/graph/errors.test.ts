// Every error class that slope raises, each from a real mistake, with its
// whole message: the op, the node (its name when it has one, and its id),
// the shapes or values involved, and what is allowed.

import { describe, expect, test } from 'vitest';
import { grad } from '../../passes/grad.ts';
import {
  AttributeError,
  DTypeError,
  FeedError,
  GradientError,
  GraphError,
  InternalError,
  ShapeError,
  SlopeError,
  UnknownActivationError,
  UnknownOpError,
} from '../../src/errors.ts';
import type { DType } from '../../src/graph/dtype.ts';
import type { Feeds } from '../../src/graph/feeds.ts';
import { graph } from '../../src/graph/graph.ts';
import { Node } from '../../src/graph/node.ts';
import type { OpName } from '../../src/ops/attrs.ts';
import { registry } from '../../src/ops/index.ts';
import { evaluate } from '../../src/interp/interpreter.ts';

/** Runs `fn` and returns what it threw, failing the test if it returned. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, but none was thrown');
}

describe('SlopeError', () => {
  test('every class is a SlopeError named after itself', () => {
    const classes = [ShapeError, AttributeError, DTypeError, UnknownOpError, GraphError, FeedError, GradientError, InternalError];
    for (const ErrorClass of classes) {
      const error = new ErrorClass('message');
      expect(error).toBeInstanceOf(SlopeError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(ErrorClass.name);
    }
  });
});

describe('ShapeError', () => {
  test('add of shapes that do not broadcast', () => {
    const g = graph();
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [4]);
    const error = thrown(() => a.add(b));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in add (%2): shapes [2,3] and [4] do not broadcast; each pair of trailing dimensions must be equal or 1');
  });

  test('named node appears in the message', () => {
    const g = graph();
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [4]);
    const error = thrown(() => g.addNode('mul', [a, b], {}, 'scores'));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in mul (node "scores", %2): shapes [2,3] and [4] do not broadcast; each pair of trailing dimensions must be equal or 1');
  });

  test('where lists all three shapes', () => {
    const g = graph();
    const c = g.input('c', [3], 'bool');
    const error = thrown(() => g.where(c, g.input('a', [2, 3]), g.input('b', [2, 2])));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in where (%3): shapes [3] and [2,3] and [2,2] do not broadcast; each pair of trailing dimensions must be equal or 1');
  });

  test('matmul inner dimension mismatch', () => {
    const g = graph();
    const error = thrown(() => g.input('a', [2, 3]).matmul(g.input('b', [4, 5])));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in matmul (%2): inner dimensions differ: [2,3] times [4,5] has 3 against 4');
  });

  test('matmul mismatch marks a transposed operand', () => {
    const g = graph();
    const error = thrown(() => g.input('a', [2, 3]).matmul(g.input('b', [5, 4]), { transposeB: true }));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in matmul (%2): inner dimensions differ: [2,3] times [5,4]^T has 3 against 4');
  });

  test('matmul batch dimensions that do not broadcast', () => {
    const g = graph();
    const error = thrown(() => g.input('a', [2, 2, 3]).matmul(g.input('b', [3, 3, 4])));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in matmul (%2): batch dimensions of [2,2,3] and [3,3,4] do not broadcast');
  });

  test('matmul of a vector', () => {
    const g = graph();
    const error = thrown(() => g.input('a', [3]).matmul(g.input('b', [3, 4])));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in matmul (%2): inputs must have rank 2 or more, got [3] and [3,4]; reshape a vector to [1, n] or [n, 1]');
  });

  test('reshape to another size', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, 3]).reshape([4, -1]));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in reshape (%1): cannot reshape [2,3] (6 elements) to [4,-1]');
  });

  test('broadcastTo a shape that does not fit', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, 3]).broadcastTo([3, 3]));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in broadcastTo (%1): cannot broadcast [2,3] to [3,3]; each trailing dimension must be equal or 1');
  });

  test('slice past the end of an axis', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [4, 2]).slice([3, 0], [2, 2]));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in slice (%1): slice begin [3,0] size [2,2] is outside shape [4,2] on axis 0');
  });

  test('concat of shapes that differ off the axis', () => {
    const g = graph();
    const error = thrown(() => g.concat([g.input('a', [2, 3]), g.input('b', [3, 3])], 1));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in concat (%2): shapes [2,3], [3,3] differ outside axis 1');
  });

  test('argmax along an empty axis', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, 0]).argmax());
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe('Error in argmax (%1): axis 1 of [2,0] is empty, so it has no index of a maximum');
  });

  test('softmaxCrossEntropy one-hot labels of the wrong shape', () => {
    const g = graph();
    const error = thrown(() => g.softmaxCrossEntropy(g.input('z', [2, 3]), g.input('l', [2, 4])));
    expect(error).toBeInstanceOf(ShapeError);
    expect(error.message).toBe(
      "Error in softmaxCrossEntropy (%2): one-hot labels must have the logits' shape [2,3], got [2,4]; pass int32 class indices of shape [2] instead",
    );
  });
});

describe('AttributeError', () => {
  test('reduction axis out of range', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, 3]).sum([2]));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in sum (%1): axes[0] 2 is out of range for rank 2; allowed: -2..1');
  });

  test('reduction axis repeated', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, 3]).max([1, -1]));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in max (%1): axes [1,-1] repeat an axis');
  });

  test('transpose perm that is not a permutation', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, 3]).transpose([0, 0]));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in transpose (%1): perm [0,0] is not a permutation of 0..1 for shape [2,3]');
  });

  test('keepDims that is not a boolean', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2]).sum(0, { keepDims: 1 as unknown as boolean }));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in sum (%1): keepDims must be a boolean, got 1');
  });

  test('input without a name', () => {
    const g = graph();
    const error = thrown(() => g.input('', [2]));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in input (node "", %0): a non-empty name is required; feeds and params are looked up by it');
  });

  test('input shape with a negative dimension', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2, -1]));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in input (node "x", %0): shape must be an array of non-negative integers, got [2,-1]');
  });

  test('constant whose value does not fit its shape', () => {
    const g = graph();
    const error = thrown(() => g.constant([1, 2, 3], [2, 2]));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in constant (%0): value has 3 elements but shape [2,2] needs 4');
  });

  test('int32 constant with a fraction', () => {
    const g = graph();
    const error = thrown(() => g.constant([1, 1.5], [2], 'int32'));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in constant (%0): value[1] = 1.5 cannot be stored as int32; use int32 integers');
  });

  test('number operand with a fraction on an int32 node', () => {
    const g = graph();
    const x = g.input('x', [2], 'int32');
    const error = thrown(() => x.add(0.5));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in constant (%1): value[0] = 0.5 cannot be stored as int32; use int32 integers');
  });

  test('pad value with a fraction on an int32 input', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2], 'int32').pad([[1, 1]], 0.5));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in pad (%1): value 0.5 cannot be stored in the int32 input; use an int32 integer');
  });

  test('param with an unknown initializer', () => {
    const g = graph();
    const error = thrown(() => g.param('w', [2], { init: 'xavier' as 'zeros' }));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe(
      'Error in param (node "w", %0): init must be one of zeros, ones, constant, heNormal, heUniform, glorotUniform, randomizedAsymmetric, normal, uniform, values, got "xavier"',
    );
  });

  test('node name that is not a string', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const error = thrown(() => g.addNode('relu', [x], {}, 7 as unknown as string));
    expect(error).toBeInstanceOf(AttributeError);
    expect(error.message).toBe('Error in relu (node 7, %1): name must be a string, got number');
  });
});

describe('DTypeError', () => {
  test('exp of an int32 node', () => {
    const g = graph();
    const error = thrown(() => g.input('i', [2], 'int32').exp());
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in exp (%1): input must be float32 or float64, got int32');
  });

  test('add of float32 and float64', () => {
    const g = graph();
    const error = thrown(() => g.input('a', [2], 'float32').add(g.input('b', [2], 'float64')));
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in add (%2): inputs must have one dtype, got float32 and float64; insert a cast');
  });

  test('div of int32 nodes', () => {
    const g = graph();
    const i = g.input('i', [2], 'int32');
    const error = thrown(() => i.div(i));
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in div (%1): input must be float32 or float64, got int32');
  });

  test('mean of an int32 node', () => {
    const g = graph();
    const error = thrown(() => g.input('i', [2], 'int32').mean());
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in mean (%1): input must be float32 or float64, got int32');
  });

  test('input of an unknown dtype', () => {
    const g = graph();
    const error = thrown(() => g.input('x', [2], 'float16' as DType));
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in input (node "x", %0): dtype must be one of float32, float64, int32, bool, got "float16"');
  });

  test('int32 param', () => {
    const g = graph();
    const error = thrown(() => g.param('w', [2], { dtype: 'int32' }));
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in param (node "w", %0): a param must be float32 or float64, got int32; use a constant or an input for int32 data');
  });

  test('where with a float condition', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const error = thrown(() => g.where(x, x, x));
    expect(error).toBeInstanceOf(DTypeError);
    expect(error.message).toBe('Error in where (%1): condition must be bool, got float32');
  });
});

describe('UnknownOpError', () => {
  test('addNode of an op not in the registry', () => {
    const g = graph();
    const error = thrown(() => g.addNode('nope' as OpName, []));
    expect(error).toBeInstanceOf(UnknownOpError);
    expect(error.message).toBe(`Error in addNode: unknown op "nope"; known ops: ${Object.keys(registry).join(', ')}`);
  });

  test('inherited object keys are not ops', () => {
    const g = graph();
    const error = thrown(() => g.addNode('toString' as OpName, []));
    expect(error).toBeInstanceOf(UnknownOpError);
    expect(error.message).toMatch(/^Error in addNode: unknown op "toString"; known ops: input, param, constant, /);
  });
});

describe('UnknownActivationError', () => {
  test('matmul epilogue with a misspelt activation', () => {
    const g = graph();
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [3, 4]);
    const error = thrown(() => g.matmul(a, b, { activation: 'rleu' }));
    expect(error).toBeInstanceOf(UnknownActivationError);
    expect(error.message).toBe(
      'Error in activation: unknown activation "rleu". Known names: linear, relu, leakyRelu, leaky_relu, sigmoid, tanh, elu, softplus, softmax; a callable (node) => node or an object with apply(node) is accepted too. Did you mean \'relu\'?',
    );
  });
});

describe('GraphError', () => {
  test('input from another graph', () => {
    const g1 = graph();
    const g2 = graph();
    const a = g1.input('a', [2]);
    const b = g2.input('b', [2]);
    const error = thrown(() => a.add(b));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in add (%1): input %0 "b" belongs to another graph; build all nodes of a computation in one graph');
  });

  test('duplicate input name', () => {
    const g = graph();
    g.input('x', [2]);
    const error = thrown(() => g.input('x', [3]));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in input (node "x", %1): the name "x" is already used by %0 "x"; input and param names must be unique');
  });

  test('param that reuses an input name', () => {
    const g = graph();
    g.input('x', [2]);
    const error = thrown(() => g.param('x', [2]));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in param (node "x", %1): the name "x" is already used by %0 "x"; input and param names must be unique');
  });

  test('wrong number of inputs', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const error = thrown(() => g.addNode('add', [x]));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in add (%1): expected 2 input(s), got 1');
  });

  test('concat of no inputs', () => {
    const g = graph();
    const error = thrown(() => g.concat([]));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in concat (%0): expected at least one input');
  });

  test('input that is not a node', () => {
    const g = graph();
    const error = thrown(() => g.addNode('neg', [42 as unknown as Node]));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in neg (%0): input 42 is not a Node');
  });

  test('evaluate of outputs from two graphs', () => {
    const a = graph().constant(1);
    const b = graph().constant(2);
    const error = thrown(() => evaluate([a, b]));
    expect(error).toBeInstanceOf(GraphError);
    expect(error.message).toBe('Error in evaluate: outputs[1] %0 belongs to another graph than outputs[0] %0; evaluate the outputs of each graph separately');
  });
});

describe('FeedError', () => {
  function feedError(feeds: Feeds): Error {
    const g = graph();
    const x = g.input('x', [2, 3]);
    g.input('labels', [2], 'int32');
    return thrown(() => evaluate([x.relu()], feeds));
  }

  test('missing feed', () => {
    const error = feedError({});
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: missing feed for "x" f32[2,3]');
  });

  test('extra feed', () => {
    const error = feedError({ x: new Float32Array(6), y: [1] });
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: unknown feed "y"; the graph\'s inputs are "x" f32[2,3], "labels" i32[2]');
  });

  test('feed for an input the outputs do not need is accepted', () => {
    const g = graph();
    const x = g.input('x', [1]);
    g.input('unused', [1]);
    expect(Array.from(evaluate([x.relu()], { x: [-1], unused: [5] })[0]!.data)).toEqual([0]);
  });

  test('wrong length', () => {
    const error = feedError({ x: new Float32Array(5) });
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: feed "x" (f32[2,3]) needs 6 elements, got 5');
  });

  test('int32 array for a float32 input', () => {
    const error = feedError({ x: new Int32Array(6) });
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe(
      'Error in evaluate: feed "x" (f32[2,3]) has the wrong dtype: expected a Float32Array, a Float64Array or an array of numbers, got Int32Array',
    );
  });

  test('fraction for an int32 input', () => {
    const g = graph();
    const i = g.input('i', [2], 'int32');
    const error = thrown(() => evaluate([i.sum()], { i: [1, 1.5] }));
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: feed "i" (i32[2]) has the wrong dtype: expected an Int32Array or an array of integers, got Array');
  });

  test('value that is not an array', () => {
    const error = feedError({ x: 'abc' as unknown as number[] });
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: feed "x" (f32[2,3]) must be a Float32Array, a Float64Array or an array of numbers, got string');
  });

  test('feeds that are not an object', () => {
    const g = graph();
    const error = thrown(() => evaluate([g.input('x', [1])], null as unknown as Feeds));
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: feeds must be an object mapping input names to arrays, got null');
  });

  test('param override of the wrong length', () => {
    const g = graph();
    const w = g.param('w', [2, 2]);
    const error = thrown(() => evaluate([w], {}, { params: { w: [1, 2, 3] } }));
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: param "w" needs 4 elements, got 3');
  });

  test('override for an unknown param', () => {
    const g = graph();
    const w = g.param('w', [1]);
    const error = thrown(() => evaluate([w], {}, { params: { v: [1] } }));
    expect(error).toBeInstanceOf(FeedError);
    expect(error.message).toBe('Error in evaluate: unknown param "v"; the graph\'s params are "w"');
  });
});

describe('GradientError', () => {
  test('gradient of a non-scalar without a seed', () => {
    const g = graph();
    const x = g.input('x', [2, 3]);
    const error = thrown(() => grad(x.square(), [x]));
    expect(error).toBeInstanceOf(GradientError);
    expect(error.message).toBe('Error in grad: y %1 has shape [2,3]; pass a scalar (for example y.sum()) or a seed cotangent of that shape');
  });

  test('gradient through argmax only', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const y = x.argmax().cast('float32');
    const error = thrown(() => grad(y, [x]));
    expect(error).toBeInstanceOf(GradientError);
    expect(error.message).toBe(
      'Error in grad: y %2 depends on %0 "x" only through argmax %1, which has no gradient (argmax returns indices and has no gradient)',
    );
  });
});

describe('InternalError', () => {
  test('node whose shape disagrees with its value', () => {
    const g = graph();
    const x = g.input('x', [2], 'float64');
    g.nodes.push(new Node(g, 1, 'neg', [x], {}, [3], 'float64', 'broken'));
    const error = thrown(() => evaluate([g.nodes[1]!], { x: [1, 2] }));
    expect(error).toBeInstanceOf(InternalError);
    expect(error.message).toBe('internal: neg %1 "broken" produced 2 values for shape [3]');
  });

  test('source op evaluated as a computation', () => {
    const error = thrown(() => registry.input.evaluate([], { shape: [], dtype: 'float32' }, { shape: [], dtype: 'float32' }));
    expect(error).toBeInstanceOf(InternalError);
    expect(error.message).toBe('internal: input has no evaluate rule; its value comes from feeds, params or attributes');
  });
});
