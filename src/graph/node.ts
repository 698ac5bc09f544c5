// A node of a graph: one op applied to earlier nodes. Nodes are immutable and
// carry fluent methods, so `x.conv2d(w).add(b).leakyRelu(0.2)` builds three
// nodes in x's graph.

import type { OpAttrs, OpName, Padding2D } from '../ops/attrs.ts';
import type { ActivationSpec } from './activation.ts';
import type { DType } from './dtype.ts';
import type { Graph, Operand } from './graph.ts';
import { quoteName } from './printer.ts';
import type { Shape } from './shape.ts';

export class Node<K extends OpName = OpName> {
  constructor(
    readonly graph: Graph,
    /** Stable id: the node's index in its graph. */
    readonly id: number,
    readonly op: K,
    readonly inputs: readonly Node[],
    readonly attrs: OpAttrs[K],
    readonly shape: Shape,
    readonly dtype: DType,
    /** The user's name, if one was given. Names label nodes in prints and kernels and never change results. */
    public name?: string,
  ) {}

  /** Sets the node's name (for printing and kernel comments) and returns the node. */
  named(name: string): this {
    if (typeof name !== 'string') throw new TypeError(`Error in named: a node name must be a string, got ${typeof name}`);
    if (this.op === 'input' || this.op === 'param') {
      throw new TypeError(`Error in named: ${this.label} is an ${this.op}, whose name is its feed key and is fixed when it is created`);
    }
    this.name = name;
    return this;
  }

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    let n = 1;
    for (const d of this.shape) n *= d;
    return n;
  }

  /** `%id` or `%id name`, as the printer refers to the node. */
  get label(): string {
    return this.name === undefined ? `%${this.id}` : `%${this.id} ${quoteName(this.name)}`;
  }

  is<T extends OpName>(op: T): this is Node<T> {
    return (this.op as OpName) === op;
  }

  toString(): string {
    return `Node(${this.label}: ${this.op} ${this.dtype}[${this.shape.join(',')}])`;
  }

  // elementwise unary
  neg(): Node { return this.graph.neg(this); }
  abs(): Node { return this.graph.abs(this); }
  sign(): Node { return this.graph.sign(this); }
  exp(): Node { return this.graph.exp(this); }
  log(): Node { return this.graph.log(this); }
  sqrt(): Node { return this.graph.sqrt(this); }
  square(): Node { return this.graph.square(this); }
  reciprocal(): Node { return this.graph.reciprocal(this); }
  tanh(): Node { return this.graph.tanh(this); }
  sigmoid(): Node { return this.graph.sigmoid(this); }
  relu(): Node { return this.graph.relu(this); }
  leakyRelu(alpha?: number): Node { return this.graph.leakyRelu(this, alpha); }
  elu(alpha?: number): Node { return this.graph.elu(this, alpha); }
  softplus(): Node { return this.graph.softplus(this); }
  prelu(alpha: Operand): Node { return this.graph.prelu(this, alpha); }
  stopGradient(): Node { return this.graph.stopGradient(this); }
  cast(dtype: DType): Node { return this.graph.cast(this, dtype); }
  activation(spec: ActivationSpec): Node { return this.graph.activation(this, spec); }

  // elementwise binary
  add(other: Operand): Node { return this.graph.add(this, other); }
  sub(other: Operand): Node { return this.graph.sub(this, other); }
  mul(other: Operand): Node { return this.graph.mul(this, other); }
  div(other: Operand): Node { return this.graph.div(this, other); }
  pow(other: Operand): Node { return this.graph.pow(this, other); }
  maximum(other: Operand): Node { return this.graph.maximum(this, other); }
  minimum(other: Operand): Node { return this.graph.minimum(this, other); }
  greater(other: Operand): Node { return this.graph.greater(this, other); }
  greaterEqual(other: Operand): Node { return this.graph.greaterEqual(this, other); }
  less(other: Operand): Node { return this.graph.less(this, other); }
  equal(other: Operand): Node { return this.graph.equal(this, other); }

  // reductions
  sum(axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.graph.sum(this, axes, options); }
  mean(axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.graph.mean(this, axes, options); }
  max(axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.graph.max(this, axes, options); }
  min(axes?: number | readonly number[], options?: { keepDims?: boolean }): Node { return this.graph.min(this, axes, options); }
  argmax(axis?: number): Node { return this.graph.argmax(this, axis); }

  // linear algebra and data movement
  matmul(other: Node, options?: MatmulOptions): Node { return this.graph.matmul(this, other, options); }
  transpose(perm?: readonly number[]): Node { return this.graph.transpose(this, perm); }
  reshape(shape: readonly number[]): Node { return this.graph.reshape(this, shape); }
  broadcastTo(shape: readonly number[]): Node { return this.graph.broadcastTo(this, shape); }
  slice(begin: readonly number[], size: readonly number[]): Node { return this.graph.slice(this, begin, size); }
  pad(paddings: readonly (readonly [number, number])[], value?: number): Node { return this.graph.pad(this, paddings, value); }
  oneHot(depth: number): Node { return this.graph.oneHot(this, depth); }

  // convolution and pooling
  conv2d(filter: Node, options?: Conv2DOptions): Node { return this.graph.conv2d(this, filter, options); }
  maxPool2d(options: Pool2DOptions): Node { return this.graph.maxPool2d(this, options); }
  avgPool2d(options: Pool2DOptions): Node { return this.graph.avgPool2d(this, options); }

  // neural-network helpers
  softmax(axis?: number): Node { return this.graph.softmax(this, axis); }
  logSoftmax(axis?: number): Node { return this.graph.logSoftmax(this, axis); }
}

export interface EpilogueOptions {
  /** Added after the product, broadcast over the last axis. */
  bias?: Node;
  /** Applied last: a name, a callable or an activation object. */
  activation?: ActivationSpec;
}

export interface MatmulOptions extends EpilogueOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

export type Pair = number | readonly [number, number];

export interface Conv2DOptions extends EpilogueOptions {
  strides?: Pair;
  padding?: Padding2D;
  dilations?: Pair;
}

export interface Pool2DOptions {
  poolSize: Pair;
  /** Defaults to the pool size, as in Keras. */
  strides?: Pair;
  padding?: Padding2D;
}
