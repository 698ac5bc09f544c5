// The shape of one op's definition. Each op is defined once, in the registry
// (src/ops/index.ts): attribute checks, shape and dtype rule, float64
// reference semantics and gradient rule sit side by side.

import type { DType } from '../graph/dtype.ts';
import type { Graph } from '../graph/graph.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import type { Tensor } from '../interp/tensor.ts';
import type { OpAttrs, OpName } from './attrs.ts';
import { describeNode, SlopeError } from '../errors.ts';

export interface TypeInfo {
  shape: Shape;
  dtype: DType;
}

/** Where an op is being built or checked; used to phrase its errors. */
export class OpSite {
  constructor(
    readonly op: string,
    readonly id?: number,
    readonly name?: string,
  ) {}

  get subject(): string {
    return describeNode(this.op, this.id, this.name);
  }

  /** Returns an error of the given class whose message starts with `Error in <op> (<node>)`. */
  error<E extends SlopeError>(ErrorClass: new (message: string) => E, message: string): E {
    return new ErrorClass(`Error in ${this.subject}: ${message}`);
  }
}

export interface GradContext<K extends OpName> {
  graph: Graph;
  node: Node;
  inputs: readonly Node[];
  attrs: OpAttrs[K];
  /** The cotangent of the node's output, of the node's shape and dtype. */
  dy: Node;
}

/**
 * Builds the gradient of each input from the output's cotangent, using
 * ordinary ops in the same graph. An entry is undefined for an input that
 * carries no gradient (an integer or bool input). Returned gradients may
 * still have the output's broadcast shape: the grad pass sums them back.
 */
export type GradRule<K extends OpName> = (c: GradContext<K>) => readonly (Node | undefined)[];

/** Marks an op that has no gradient; the reason is quoted in the error. */
export interface NoGradient {
  nondifferentiable: string;
}

export interface OpDef<K extends OpName> {
  /** Number of inputs, or 'variadic' for concat. */
  arity: number | 'variadic';
  /**
   * Validates raw attributes and fills defaults. Inputs are given so that
   * axes can be resolved against ranks; the result contains no negative axis.
   */
  attrs(raw: Partial<OpAttrs[K]>, site: OpSite, inputs: readonly TypeInfo[]): OpAttrs[K];
  /** The output's shape and dtype, or a typed error naming the shapes. */
  infer(inputs: readonly TypeInfo[], attrs: OpAttrs[K], site: OpSite): TypeInfo;
  /** Reference semantics in float64 over flat row-major data. */
  evaluate(inputs: readonly Tensor[], attrs: OpAttrs[K], out: TypeInfo): Float64Array;
  grad: GradRule<K> | NoGradient;
}

export type Registry = { [K in OpName]: OpDef<K> };
