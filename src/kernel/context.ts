// The interface of an anchor's lowering: producers that give the value of an input
// element at a point (a buffer load, or an inlined elementwise expression),
// and `emit`, which applies the fused epilogue to an output element and
// stores what must be stored.

import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import type { Contraction, Expr, ScalarType, Stmt } from './ir.ts';
import type { Point } from './point.ts';

export interface AnchorContext<N extends Node = Node> {
  node: N;
  /** Scalar type of the anchor's output. */
  t: ScalarType;
  /** The value of input `i` at a point of that input's shape. */
  input(i: number, point: Point): Expr;
  inputShape(i: number): Shape;
  inputType(i: number): ScalarType;
  /** Statements that finish one output element: epilogue, then stores. */
  emit(point: Point, value: Expr): Stmt[];
  /** A new variable name, unique in the kernel. */
  fresh(prefix: string): string;
  /** A scratch buffer of `size` elements of the output's type, live only in this kernel; returns its buffer index. */
  scratch(size: number): number;
  /** Records that the statements returned compute this contraction, for backends that tile it. */
  contraction(structure: Contraction): void;
}
