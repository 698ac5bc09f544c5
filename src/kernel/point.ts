// A point of an iteration space: the coordinates of one element, kept as
// either per-axis loop variables or one flat index, with the other form
// derived on demand. Loads of same-shape operands then index by the flat
// variable directly, and only broadcast operands pay for div and mod.

import type { Shape } from '../graph/shape.ts';
import { stridesOf } from '../graph/shape.ts';
import type { Expr } from './ir.ts';
import { iadd, idiv, imod, imul, int } from './ir.ts';
import { shapesEqual } from '../graph/shape.ts';

export class Point {
  private constructor(
    readonly shape: Shape,
    private readonly coords: readonly Expr[] | undefined,
    private readonly flatIndex: Expr | undefined,
  ) {}

  static of(shape: Shape, coords: readonly Expr[]): Point {
    return new Point(shape, coords, undefined);
  }

  static flat(shape: Shape, index: Expr): Point {
    return new Point(shape, undefined, index);
  }

  /** Returns the row-major flat index of the point. */
  flat(): Expr {
    if (this.flatIndex !== undefined) return this.flatIndex;
    const strides = stridesOf(this.shape);
    return iadd(...this.coords!.map((c, d) => imul(c, this.shape[d] === 1 ? 0 : strides[d]!)));
  }

  coord(d: number): Expr {
    if (this.coords !== undefined) return this.coords[d]!;
    if (this.shape[d] === 1) return int(0);
    const strides = stridesOf(this.shape);
    const index = d === 0 ? this.flatIndex! : imod(this.flatIndex!, strides[d - 1]!);
    return idiv(index, strides[d]!);
  }

  allCoords(): Expr[] {
    return this.shape.map((_, d) => this.coord(d));
  }

  /** Returns the point of a numpy-broadcast operand of shape `inShape` that this element reads. */
  broadcastTo(inShape: Shape): Point {
    if (shapesEqual(inShape, this.shape)) return this;
    if (inShape.every((d) => d === 1)) return Point.flat(inShape, int(0));
    const offset = this.shape.length - inShape.length;
    return Point.of(inShape, inShape.map((d, i) => (d === 1 ? int(0) : this.coord(i + offset))));
  }
}
