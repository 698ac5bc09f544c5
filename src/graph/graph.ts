// The symbolic graph. A Graph owns an append-only list of nodes. A node may
// only read nodes created before it, so every graph is acyclic by
// construction and node ids are stable. Passes build new graphs through
// `addNode`, the one place where attributes are checked and shapes inferred.

import { AttributeError, DTypeError, GraphError, UnknownOpError } from '../errors.ts';
import type { OpAttrs, OpName, Padding2D, ReduceAttrs } from '../ops/attrs.ts';
import { OpSite } from '../ops/def.ts';
import { registry } from '../ops/index.ts';
import type { ActivationSpec } from './activation.ts';
import { resolveActivation } from './activation.ts';
import type { DType } from './dtype.ts';
import { isDType } from './dtype.ts';
import type { InitSpec } from './init.ts';
import type { Conv2DOptions, MatmulOptions, Pair, Pool2DOptions } from './node.ts';
import { Node } from './node.ts';
import { printGraph } from './printer.ts';
import type { PrintOptions } from './printer.ts';
import type { DotOptions } from './dot.ts';
import { toDot } from './dot.ts';
import type { Shape } from './shape.ts';
import { sizeOf } from './shape.ts';

/** A node, or a number that becomes a scalar constant of the other operand's dtype. */
export type Operand = Node | number;

export type ParamInit = InitSpec['kind'] | InitSpec;

export interface ParamOptions {
  /** An initializer name or spec; defaults to 'glorotUniform'. */
  init?: ParamInit;
  /** Seed of a random initializer; defaults to the graph's seed plus the node id. */
  seed?: number;
  dtype?: DType;
}

function pair(value: Pair | undefined, fallback: number): readonly [number, number] {
  if (value === undefined) return [fallback, fallback];
  return typeof value === 'number' ? [value, value] : value;
}

/** Builds the spec of an initializer given by name: seeded kinds take the seed, normal and uniform their standard ranges. */
function namedInit(kind: InitSpec['kind'], seed: number): InitSpec {
  switch (kind) {
    case 'zeros':
    case 'ones':
      return { kind };
    case 'constant':
      return { kind, value: 0 };
    case 'normal':
      return { kind, seed, mean: 0, std: 1 };
    case 'uniform':
      return { kind, seed, low: -1, high: 1 };
    case 'values':
      throw new AttributeError("Error in param: init 'values' needs the values; pass { kind: 'values', values }");
    default:
      return { kind, seed };
  }
}

export class Graph {
  readonly nodes: Node[] = [];
  private readonly sourceNames = new Map<string, Node>();

  constructor(
    /** Base seed of random initializers that were given no seed of their own. */
    readonly seed = 0,
  ) {}

  /**
   * Appends a node after checking its inputs and attributes and inferring its
   * shape. Every other builder goes through here.
   */
  addNode<K extends OpName>(op: K, inputs: readonly Node[], rawAttrs: Partial<OpAttrs[K]> = {}, name?: string): Node<K> {
    const id = this.nodes.length;
    const site = new OpSite(op, id, name);
    if (!Object.hasOwn(registry, op)) {
      throw new UnknownOpError(`Error in addNode: unknown op ${JSON.stringify(op)}; known ops: ${Object.keys(registry).join(', ')}`);
    }
    const def = registry[op];
    if (def.arity !== 'variadic' && inputs.length !== def.arity) {
      throw site.error(GraphError, `expected ${def.arity} input(s), got ${inputs.length}`);
    }
    if (def.arity === 'variadic' && inputs.length === 0) throw site.error(GraphError, 'expected at least one input');
    for (const input of inputs) {
      if (!(input instanceof Node)) throw site.error(GraphError, `input ${String(input)} is not a Node`);
      if (input.graph !== this) {
        throw site.error(GraphError, `input ${input.label} belongs to another graph; build all nodes of a computation in one graph`);
      }
    }
    if (name !== undefined && typeof name !== 'string') throw site.error(AttributeError, `name must be a string, got ${typeof name}`);

    const attrs = def.attrs(rawAttrs, site, inputs);
    const info = def.infer(inputs, attrs, site);
    const node = new Node<K>(this, id, op, [...inputs], attrs, Object.freeze([...info.shape]), info.dtype, name);
    this.nodes.push(node as unknown as Node);
    return node;
  }

  /** Inputs and params by name. */
  get sources(): ReadonlyMap<string, Node> {
    return this.sourceNames;
  }

  get inputs(): Node<'input'>[] {
    return this.nodes.filter((n): n is Node<'input'> => n.is('input'));
  }

  get params(): Node<'param'>[] {
    return this.nodes.filter((n): n is Node<'param'> => n.is('param'));
  }

  private addSource<K extends 'input' | 'param'>(op: K, name: string, shape: Shape, dtype: DType, attrs: Partial<OpAttrs[K]>): Node<K> {
    const site = new OpSite(op, this.nodes.length, name);
    if (typeof name !== 'string' || name.length === 0) throw site.error(AttributeError, 'a non-empty name is required; feeds and params are looked up by it');
    if (this.sourceNames.has(name)) {
      throw site.error(GraphError, `the name ${JSON.stringify(name)} is already used by ${this.sourceNames.get(name)!.label}; input and param names must be unique`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw site.error(AttributeError, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!isDType(dtype)) throw site.error(DTypeError, `dtype must be one of float32, float64, int32, bool, got ${JSON.stringify(dtype)}`);
    const node = this.addNode(op, [], { ...attrs, shape, dtype } as Partial<OpAttrs[K]>, name);
    this.sourceNames.set(name, node as unknown as Node);
    return node;
  }

  /** Adds an input: a placeholder fed at run time under its name. */
  input(name: string, shape: Shape, dtype: DType = 'float32'): Node<'input'> {
    return this.addSource('input', name, shape, dtype, {});
  }

  /** Adds a param: a trainable tensor whose value comes from its initializer unless given to compile or evaluate. */
  param(name: string, shape: Shape, options: ParamOptions = {}): Node<'param'> {
    const init = options.init ?? 'glorotUniform';
    const seed = options.seed ?? this.seed + this.nodes.length;
    const spec = typeof init === 'string' ? namedInit(init, seed) : init;
    return this.addSource('param', name, shape, options.dtype ?? 'float32', { init: spec });
  }

  /** Adds a constant tensor. A number gives a scalar. */
  constant(value: number | ArrayLike<number>, shape?: Shape, dtype: DType = 'float32'): Node<'constant'> {
    const data = typeof value === 'number' ? Float64Array.of(value) : Float64Array.from(value);
    const finalShape = shape ?? (typeof value === 'number' ? [] : [data.length]);
    return this.addNode('constant', [], { value: data, shape: finalShape, dtype } as Partial<OpAttrs['constant']>);
  }

  /** Builds a tensor of one value as a scalar constant broadcast to the shape. */
  fill(value: number, shape: Shape, dtype: DType = 'float32'): Node {
    const scalar = this.constant(value, [], dtype);
    return shape.length === 0 ? scalar : this.broadcastTo(scalar, shape);
  }

  zerosLike(x: Node): Node {
    return this.fill(0, x.shape, x.dtype);
  }

  private operand(value: Operand, like: Operand): Node {
    if (value instanceof Node) return value;
    const dtype = like instanceof Node ? like.dtype : 'float32';
    return this.constant(value, [], dtype);
  }

  private binary<K extends OpName>(op: K, a: Operand, b: Operand): Node {
    return this.addNode(op, [this.operand(a, b), this.operand(b, a)]);
  }

  // elementwise unary
  neg(x: Node): Node { return this.addNode('neg', [x]); }
  abs(x: Node): Node { return this.addNode('abs', [x]); }
  sign(x: Node): Node { return this.addNode('sign', [x]); }
  exp(x: Node): Node { return this.addNode('exp', [x]); }
  log(x: Node): Node { return this.addNode('log', [x]); }
  sqrt(x: Node): Node { return this.addNode('sqrt', [x]); }
  square(x: Node): Node { return this.addNode('square', [x]); }
  reciprocal(x: Node): Node { return this.addNode('reciprocal', [x]); }
  tanh(x: Node): Node { return this.addNode('tanh', [x]); }
  sigmoid(x: Node): Node { return this.addNode('sigmoid', [x]); }
  relu(x: Node): Node { return this.addNode('relu', [x]); }
  /** `x > 0 ? x : alpha * x`; alpha defaults to 0.2 as in tf.nn.leaky_relu. */
  leakyRelu(x: Node, alpha?: number): Node { return this.addNode('leakyRelu', [x], alpha === undefined ? {} : { alpha }); }
  /** `x > 0 ? x : alpha * (exp(x) - 1)`; alpha defaults to 1. */
  elu(x: Node, alpha?: number): Node { return this.addNode('elu', [x], alpha === undefined ? {} : { alpha }); }
  softplus(x: Node): Node { return this.addNode('softplus', [x]); }
  /** Parametric ReLU: `x > 0 ? x : alpha * x` with alpha a tensor broadcast against x (per channel). */
  prelu(x: Node, alpha: Operand): Node { return this.binary('prelu', x, alpha); }
  stopGradient(x: Node): Node { return this.addNode('stopGradient', [x]); }
  cast(x: Node, dtype: DType): Node { return this.addNode('cast', [x], { dtype }); }
  leakyReluGrad(x: Node, dy: Node, alpha: number): Node { return this.addNode('leakyReluGrad', [x, dy], { alpha }); }

  /** Applies an activation given by name, callable or object. */
  activation(x: Node, spec: ActivationSpec): Node {
    return resolveActivation(spec)(x);
  }

  // elementwise binary
  add(a: Operand, b: Operand): Node { return this.binary('add', a, b); }
  sub(a: Operand, b: Operand): Node { return this.binary('sub', a, b); }
  mul(a: Operand, b: Operand): Node { return this.binary('mul', a, b); }
  div(a: Operand, b: Operand): Node { return this.binary('div', a, b); }
  pow(a: Operand, b: Operand): Node { return this.binary('pow', a, b); }
  maximum(a: Operand, b: Operand): Node { return this.binary('maximum', a, b); }
  minimum(a: Operand, b: Operand): Node { return this.binary('minimum', a, b); }
  greater(a: Operand, b: Operand): Node { return this.binary('greater', a, b); }
  greaterEqual(a: Operand, b: Operand): Node { return this.binary('greaterEqual', a, b); }
  less(a: Operand, b: Operand): Node { return this.binary('less', a, b); }
  equal(a: Operand, b: Operand): Node { return this.binary('equal', a, b); }
  /** `cond ? a : b` elementwise, with broadcasting; cond is a bool mask. */
  where(cond: Node, a: Operand, b: Operand): Node {
    return this.addNode('where', [cond, this.operand(a, b), this.operand(b, a)]);
  }

  // reductions
  private reduce(op: 'sum' | 'mean' | 'max' | 'min', x: Node, axes: number | readonly number[] | undefined, options?: { keepDims?: boolean }): Node {
    const raw: Partial<ReduceAttrs> = { keepDims: options?.keepDims ?? false };
    if (axes !== undefined) raw.axes = typeof axes === 'number' ? [axes] : axes;
    return this.addNode(op, [x], raw);
  }
  /** Sums over the axes (all axes when omitted). */
  sum(x: Node, axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.reduce('sum', x, axes, options); }
  mean(x: Node, axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.reduce('mean', x, axes, options); }
  max(x: Node, axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.reduce('max', x, axes, options); }
  min(x: Node, axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.reduce('min', x, axes, options); }
  /** Index of the first maximum along the axis (default last), as int32. */
  argmax(x: Node, axis = -1): Node { return this.addNode('argmax', [x], { axis }); }

  // linear algebra and data movement
  /** Matrix product over the last two axes, batch axes broadcast; options add a bias and an activation. */
  matmul(a: Node, b: Node, options: MatmulOptions = {}): Node {
    const product = this.addNode('matmul', [a, b], { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false });
    return this.epilogue(product, options.bias, options.activation);
  }
  transpose(x: Node, perm?: readonly number[]): Node {
    return this.addNode('transpose', [x], { perm: perm ?? x.shape.map((_, i) => x.rank - 1 - i) });
  }
  /** Reshapes; one entry may be -1 and is inferred. */
  reshape(x: Node, shape: readonly number[]): Node { return this.addNode('reshape', [x], { shape }); }
  broadcastTo(x: Node, shape: readonly number[]): Node { return this.addNode('broadcastTo', [x], { shape }); }
  /** Takes `size[i]` elements from `begin[i]` on each axis; a size of -1 means to the end. */
  slice(x: Node, begin: readonly number[], size: readonly number[]): Node { return this.addNode('slice', [x], { begin, size }); }
  concat(xs: readonly Node[], axis = 0): Node { return this.addNode('concat', xs, { axis }); }
  /** Pads each axis with [before, after] elements of `value` (default 0). */
  pad(x: Node, paddings: readonly (readonly [number, number])[], value = 0): Node { return this.addNode('pad', [x], { paddings, value }); }
  /** One-hot float32 encoding of int32 class indices along a new last axis; out-of-range indices give a zero row. */
  oneHot(indices: Node, depth: number): Node { return this.addNode('oneHot', [indices], { depth }); }

  // convolution and pooling
  /** 2-D convolution, NHWC input and HWIO filter; options add a bias and an activation. */
  conv2d(x: Node, filter: Node, options: Conv2DOptions = {}): Node {
    const conv = this.addNode('conv2d', [x, filter], {
      strides: pair(options.strides, 1),
      padding: options.padding ?? 'valid',
      dilations: pair(options.dilations, 1),
    });
    return this.epilogue(conv, options.bias, options.activation);
  }
  conv2dBackpropInput(dy: Node, filter: Node, inputShape: readonly number[], options: Conv2DOptions = {}): Node {
    return this.addNode('conv2dBackpropInput', [dy, filter], {
      inputShape, strides: pair(options.strides, 1), padding: options.padding ?? 'valid', dilations: pair(options.dilations, 1),
    });
  }
  conv2dBackpropFilter(x: Node, dy: Node, filterShape: readonly number[], options: Conv2DOptions = {}): Node {
    return this.addNode('conv2dBackpropFilter', [x, dy], {
      filterShape, strides: pair(options.strides, 1), padding: options.padding ?? 'valid', dilations: pair(options.dilations, 1),
    });
  }
  private poolAttrs(options: Pool2DOptions | undefined, op: string): { poolSize: readonly [number, number]; strides: readonly [number, number]; padding: Padding2D } {
    if (options === undefined || options.poolSize === undefined) {
      throw new AttributeError(`Error in ${op}: poolSize is required, such as ${op}({ poolSize: 2 })`);
    }
    const poolSize = pair(options.poolSize, 2);
    return { poolSize, strides: options.strides === undefined ? poolSize : pair(options.strides, 1), padding: options.padding ?? 'valid' };
  }
  maxPool2d(x: Node, options: Pool2DOptions): Node { return this.addNode('maxPool2d', [x], this.poolAttrs(options, 'maxPool2d')); }
  avgPool2d(x: Node, options: Pool2DOptions): Node { return this.addNode('avgPool2d', [x], this.poolAttrs(options, 'avgPool2d')); }

  // neural-network helpers
  softmax(x: Node, axis = -1): Node { return this.addNode('softmax', [x], { axis }); }
  logSoftmax(x: Node, axis = -1): Node { return this.addNode('logSoftmax', [x], { axis }); }
  /** Per-example cross-entropy of softmax(logits) against one-hot labels (float) or class indices (int32). */
  softmaxCrossEntropy(logits: Node, labels: Node): Node { return this.addNode('softmaxCrossEntropy', [logits, labels]); }
  meanSquaredError(predictions: Node, targets: Node): Node { return this.addNode('meanSquaredError', [predictions, targets]); }

  private epilogue(x: Node, bias: Node | undefined, activation: ActivationSpec | undefined): Node {
    const biased = bias === undefined ? x : this.add(x, bias);
    return activation === undefined ? biased : this.activation(biased, activation);
  }

  /** Prints the graph one line per node, in the spirit of a jaxpr. */
  toString(options?: PrintOptions): string {
    return printGraph(this, options);
  }

  /** Graphviz DOT text. */
  toDot(options?: DotOptions): string {
    return toDot(this, options);
  }

  /** Number of elements of all params together. */
  get paramCount(): number {
    return this.params.reduce((n, p) => n + sizeOf(p.shape), 0);
  }
}

/** Creates an empty graph. */
export function graph(seed = 0): Graph {
  return new Graph(seed);
}
