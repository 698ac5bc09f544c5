// Linear relaxations of the relu family on a known pre-activation range
// [l, u]: lines with sL z + bL <= f(z) <= sU z + bU for every z in [l, u].
//
//   u <= 0   f is alpha z (leakyRelu, prelu) or convex alpha (e^z - 1) (elu):
//            exact, or the chord above and the tangent at the midpoint below
//   l >= 0   f(z) = z, exact
//   l < 0 < u, f convex (slope alpha <= 1 left of 0, 1 right of it):
//            the chord from (l, f(l)) to (u, f(u)) above; lambda z below with
//            lambda = 1 when u > -l, else alpha, which of the two valid lines
//            leaves the smaller area (the DeepPoly choice)
//   f concave (leakyRelu with alpha > 1): the same lines with the sides swapped
//
// elu with alpha > 1 or alpha < 0 is neither convex nor concave across 0;
// it gets the constant lines f(z) in [min f, max f].

import type { Node } from '../../src/graph/node.ts';
import { broadcastIndexer, shapesEqual } from '../../src/graph/shape.ts';
import { leakyReluValue } from '../../src/ops/elementwise.ts';
import type { Interval } from './interval.ts';
import { eluValue } from './interval.ts';

export interface Relaxation {
  upperSlope: Float64Array;
  upperIntercept: Float64Array;
  lowerSlope: Float64Array;
  lowerIntercept: Float64Array;
  /** 1 where both lines are f itself (slope 1 or alpha through 0), so rounding adds no error beyond the coefficient's own. */
  exact: Uint8Array;
}

/** Builds the relaxation of a relu-family node from its pre-activation bounds; undefined for a prelu whose slopes depend on an input. */
export function relaxation(node: Node, z: Interval, context: { pointValue(node: Node): Float64Array | undefined }): Relaxation | undefined {
  const size = z.lo.length;
  const lines: Relaxation = {
    upperSlope: new Float64Array(size),
    upperIntercept: new Float64Array(size),
    lowerSlope: new Float64Array(size),
    lowerIntercept: new Float64Array(size),
    exact: new Uint8Array(size),
  };
  if (node.is('relu') || node.is('leakyRelu')) {
    const alpha = node.is('relu') ? 0 : node.attrs.alpha;
    for (let j = 0; j < size; j++) leakyLines(z.lo[j]!, z.hi[j]!, alpha, lines, j);
    return lines;
  }
  if (node.is('elu')) {
    for (let j = 0; j < size; j++) eluLines(z.lo[j]!, z.hi[j]!, node.attrs.alpha, lines, j);
    return lines;
  }
  if (node.is('prelu')) {
    const slopes = node.inputs[1]!;
    const value = context.pointValue(slopes);
    if (value === undefined) return undefined;
    const index = shapesEqual(slopes.shape, node.shape) ? (i: number) => i : broadcastIndexer(slopes.shape, node.shape);
    for (let j = 0; j < size; j++) leakyLines(z.lo[j]!, z.hi[j]!, value[index(j)]!, lines, j);
    return lines;
  }
  return undefined;
}

function setLines(lines: Relaxation, j: number, upperSlope: number, upperIntercept: number, lowerSlope: number, lowerIntercept: number): void {
  lines.upperSlope[j] = upperSlope;
  lines.upperIntercept[j] = upperIntercept;
  lines.lowerSlope[j] = lowerSlope;
  lines.lowerIntercept[j] = lowerIntercept;
}

/** Constant lines at the range of f, for ranges that are unbounded or functions without a better relaxation. */
function constantLines(f: (x: number) => number, l: number, u: number, lines: Relaxation, j: number): void {
  const values = [f(l), f(u)];
  if (l < 0 && u > 0) values.push(f(0));
  setLines(lines, j, 0, Math.max(...values), 0, Math.min(...values));
}

/** Returns the chord of f between l and u as [slope, intercept]. */
function chord(f: (x: number) => number, l: number, u: number): [number, number] {
  if (u === l) return [0, f(l)];
  const slope = (f(u) - f(l)) / (u - l);
  return [slope, f(l) - slope * l];
}

function exactLine(lines: Relaxation, j: number, slope: number): void {
  setLines(lines, j, slope, 0, slope, 0);
  lines.exact[j] = 1;
}

export function leakyLines(l: number, u: number, alpha: number, lines: Relaxation, j: number): void {
  if (u <= 0) return exactLine(lines, j, alpha);
  if (l >= 0) return exactLine(lines, j, 1);
  const f = (x: number) => leakyReluValue(x, alpha);
  if (!Number.isFinite(l) || !Number.isFinite(u)) return constantLines(f, l, u, lines, j);
  const [slope, intercept] = chord(f, l, u);
  const through = u > -l ? 1 : alpha;
  if (alpha <= 1) setLines(lines, j, slope, intercept, through, 0);
  else setLines(lines, j, through, 0, slope, intercept);
}

export function eluLines(l: number, u: number, alpha: number, lines: Relaxation, j: number): void {
  if (l >= 0) return exactLine(lines, j, 1);
  if (alpha === 0) return leakyLines(l, u, 0, lines, j);
  const f = (x: number) => eluValue(x, alpha);
  if (alpha < 0 || alpha > 1 || !Number.isFinite(l) || !Number.isFinite(u)) return constantLines(f, l, u, lines, j);
  const [slope, intercept] = chord(f, l, u);
  if (u <= 0) {
    // alpha (e^z - 1) is convex: the chord is above it and a tangent below it.
    const m = l + (u - l) / 2;
    const tangent = alpha * Math.exp(m);
    return setLines(lines, j, slope, intercept, tangent, f(m) - tangent * m);
  }
  // alpha z <= alpha (e^z - 1) because z <= e^z - 1, so both lines through 0 are valid below.
  setLines(lines, j, slope, intercept, u > -l ? 1 : alpha, 0);
}
