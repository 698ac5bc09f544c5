// Linear (symbolic) bounds by back-substitution, in the spirit of DeepPoly
// (Singh et al., 2019) and CROWN (Zhang et al., 2018).
//
// To bound a target node t, start from the expressions t <= I t and
// t >= I t and walk the graph backwards. A linear op with one variable
// input (matmul or conv2d by a param, add of a bias, reshape, slice, sum, ...)
// substitutes its input into the expression exactly. Its coefficients pass
// through the op's transposed Jacobian, and the parts that read params or
// constants become constant terms. A relu-family activation y = f(z) is
// replaced by a linear relaxation sL z + bL <= y <= sU z + bU, valid on the
// bounds [l, u] already known for z; an upper-bound expression takes the
// upper line where its coefficient is positive and the lower line where it
// is negative. Every other node is cut: its interval bounds are used as they
// are. At the input nodes the expression is concretized over the box.
//
//            x in box                     relu(z) <= u (z - l) / (u - l)
//             |                           relu(z) >= z or 0
//        z1 = x W1 + b1                        (whichever is tighter)
//             |
//        y1 = relu(z1)     back-substitute t's coefficients
//             |            t -> y1 -> z1 -> x, then take the
//        t = y1 W2 + b2    max (upper) or min (lower) over the box
//
// Because the relaxations keep the correlation between units that share
// inputs, linear bounds prove relu(x) + relu(-x) - 1.5 < 0 on [-1, 1], which
// interval bounds cannot. Bounds are widened by a rounding margin relative
// to the sum of the magnitudes of the terms, so an exact 0 stays exact.
// NOTE: the margin does not cover cancellation inside the coefficient
// products; it assumes the float64 error of back-substitution is below 2^-36
// of the terms' magnitudes.

import type { Node } from '../../src/graph/node.ts';
import type { Shape } from '../../src/graph/shape.ts';
import { broadcastIndexer, broadcastShapes, shapesEqual, sizeOf } from '../../src/graph/shape.ts';
import { ancestors } from '../../src/interp/interpreter.ts';
import { reductionIndexer } from '../../src/ops/reduce.ts';
import type { Interval } from './interval.ts';
import { referenceOf, UNDERFLOW_MARGIN } from './interval.ts';
import type { Relaxation } from './relax.ts';
import { relaxation } from './relax.ts';

/** The queries that back-substitution makes about the nodes it walks through. */
export interface LinearContext {
  /** The best bounds known for a node (interval bounds refined by earlier linear bounds). */
  bounds(node: Node): Interval;
  /** True when the node depends on an input of the region. */
  isVariable(node: Node): boolean;
  /** The value of a node that depends on no input, if it is a known point. */
  pointValue(node: Node): Float64Array | undefined;
  /** The box of an input node. */
  box(input: Node): { lo: Float64Array; hi: Float64Array };
  /** Relaxations already built for activation nodes, by node id; their pre-activation bounds do not change once known. */
  relaxations: Map<number, Relaxation | undefined>;
}

const LINEAR_MARGIN = 2 ** -36;

/**
 * Coefficient rows of the bounds of some target elements, over the elements
 * of each pending node: rows [0, upperRows) bound from above, the rest from
 * below. Both kinds share one matrix so that every linear op runs once.
 */
class Expression {
  readonly pending = new Map<number, Float64Array>();
  readonly constant: Float64Array;
  /** Sum of the magnitudes of the constant's terms, for the rounding margin. */
  readonly magnitude: Float64Array;
  /** Rows where a nonzero factor entered the constant; their products may have underflowed to 0. */
  readonly touched: Uint8Array;

  constructor(readonly rows: number, readonly upperRows: number) {
    this.constant = new Float64Array(rows);
    this.magnitude = new Float64Array(rows);
    this.touched = new Uint8Array(rows);
  }

  add(node: Node, coefficients: Float64Array): void {
    const known = this.pending.get(node.id);
    if (known === undefined) this.pending.set(node.id, coefficients);
    else for (let i = 0; i < known.length; i++) known[i] = known[i]! + coefficients[i]!;
  }

  /** Adds coefficients times a known value to the constant. */
  addValue(coefficients: Float64Array, value: Float64Array): void {
    const size = value.length;
    for (let r = 0; r < this.rows; r++) {
      let sum = 0;
      let magnitude = 0;
      let touched = false;
      for (let j = 0; j < size; j++) {
        const c = coefficients[r * size + j]!;
        if (c === 0 || value[j] === 0) continue;
        const term = c * value[j]!;
        sum += term;
        magnitude += Math.abs(term);
        touched = true;
      }
      this.record(r, sum, magnitude, touched);
    }
  }

  record(row: number, sum: number, magnitude: number, touched: boolean): void {
    this.constant[row] = this.constant[row]! + sum;
    this.magnitude[row] = this.magnitude[row]! + magnitude;
    if (touched) this.touched[row] = 1;
  }

  /** True for a row that bounds from above. */
  isUpper(row: number): boolean {
    return row < this.upperRows;
  }

  /** Adds the max (upper rows) or min (lower rows) of coefficients times a value in [lo, hi]. */
  addRange(coefficients: Float64Array, lo: Float64Array, hi: Float64Array): void {
    const size = lo.length;
    for (let r = 0; r < this.rows; r++) {
      const upper = this.isUpper(r);
      let sum = 0;
      let magnitude = 0;
      let touched = false;
      for (let j = 0; j < size; j++) {
        const c = coefficients[r * size + j]!;
        if (c === 0) continue;
        const end = c > 0 === upper ? hi[j]! : lo[j]!;
        if (end === 0) continue;
        const term = c * end;
        sum += term;
        magnitude += Math.abs(term);
        touched = true;
      }
      this.record(r, sum, magnitude, touched);
    }
  }

  /** Returns the bound of each row, widened by the rounding margin. */
  result(): Float64Array {
    const out = new Float64Array(this.rows);
    for (let r = 0; r < this.rows; r++) {
      const sign = this.isUpper(r) ? 1 : -1;
      const value = this.constant[r]!;
      const margin = LINEAR_MARGIN * this.magnitude[r]! + (this.touched[r] === 1 ? UNDERFLOW_MARGIN : 0);
      out[r] = Number.isNaN(value) ? sign * Infinity : value + sign * margin;
    }
    return out;
  }
}

/** One step of back-substitution through a node, for one bound. */
class Step {
  readonly rows: number;

  constructor(
    readonly node: Node,
    readonly coefficients: Float64Array,
    readonly expression: Expression,
    readonly context: LinearContext,
  ) {
    this.rows = expression.rows;
  }

  /** Passes coefficients over an input's elements on to that input. */
  push(input: Node, coefficients: Float64Array): void {
    pushTo(input, coefficients, this.expression, this.context);
  }
}

type LinearRule = (step: Step) => boolean;

/**
 * Computes linear bounds of every element of `target`, or undefined when the
 * work (target elements times the elements of the nodes walked) exceeds the budget.
 */
export function linearBounds(target: Node, context: LinearContext, budget: number): { lo: Float64Array; hi: Float64Array } | undefined {
  const walked = ancestors([target]).filter((n) => context.isVariable(n)).reverse();
  const walkedSize = walked.reduce((n, node) => n + node.size, 0);
  if (target.size * walkedSize > budget) return undefined;

  const lo = new Float64Array(target.size);
  const hi = new Float64Array(target.size);
  const largest = Math.max(...walked.map((n) => n.size));
  const chunk = Math.max(1, Math.min(target.size, Math.floor(2 ** 21 / Math.max(largest, 1))));
  for (let start = 0; start < target.size; start += chunk) {
    const rows = Math.min(chunk, target.size - start);
    const expression = new Expression(2 * rows, rows);
    const identity = new Float64Array(2 * rows * target.size);
    for (let r = 0; r < rows; r++) {
      identity[r * target.size + start + r] = 1;
      identity[(rows + r) * target.size + start + r] = 1;
    }
    expression.pending.set(target.id, identity);
    for (const node of walked) substitute(node, expression, context);
    const bounds = expression.result();
    hi.set(bounds.subarray(0, rows), start);
    lo.set(bounds.subarray(rows), start);
  }
  return { lo, hi };
}

/** Replaces a node's pending coefficients by coefficients of its inputs, or concretizes them. */
function substitute(node: Node, expression: Expression, context: LinearContext): void {
  const coefficients = expression.pending.get(node.id);
  if (coefficients === undefined) return;
  expression.pending.delete(node.id);
  if (node.is('input')) {
    const box = context.box(node);
    expression.addRange(coefficients, box.lo, box.hi);
    return;
  }
  const step = new Step(node, coefficients, expression, context);
  const rule = LINEAR_RULES[node.op];
  if (rule !== undefined && !context.bounds(node).mayBeNaN && rule(step)) return;
  const bounds = context.bounds(node);
  expression.addRange(coefficients, bounds.lo, bounds.hi);
}

function pushTo(input: Node, coefficients: Float64Array, expression: Expression, context: LinearContext): void {
  if (context.isVariable(input)) {
    expression.add(input, coefficients);
    return;
  }
  const value = context.pointValue(input);
  if (value !== undefined) expression.addValue(coefficients, value);
  else {
    const bounds = context.bounds(input);
    expression.addRange(coefficients, bounds.lo, bounds.hi);
  }
}

/** Sums coefficient rows over [rows, ...from] down to [rows, ...to], undoing a broadcast of `to` to `from`. */
function sumToShape(coefficients: Float64Array, rows: number, from: Shape, to: Shape): Float64Array {
  if (shapesEqual(from, to)) return coefficients;
  const fromSize = sizeOf(from);
  const toSize = sizeOf(to);
  const index = broadcastIndexer(to, from);
  const out = new Float64Array(rows * toSize);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < fromSize; i++) {
      const j = r * toSize + index(i);
      out[j] = out[j]! + coefficients[r * fromSize + i]!;
    }
  }
  return out;
}

/** Multiplies coefficient rows over `shape` by a value broadcast to `shape`. */
function scaleBy(coefficients: Float64Array, rows: number, shape: Shape, value: Float64Array, valueShape: Shape, map: (v: number) => number = (v) => v): Float64Array {
  const size = sizeOf(shape);
  const index = shapesEqual(shape, valueShape) ? (i: number) => i : broadcastIndexer(valueShape, shape);
  const factors = new Float64Array(size);
  for (let i = 0; i < size; i++) factors[i] = map(value[index(i)]!);
  const out = new Float64Array(coefficients.length);
  for (let r = 0; r < rows; r++) for (let i = 0; i < size; i++) out[r * size + i] = coefficients[r * size + i]! * factors[i]!;
  return out;
}

const negate = (values: Float64Array) => values.map((v) => -v);

function evaluateRows(op: Parameters<typeof referenceOf>[0], inputs: { shape: Shape; data: Float64Array }[], attrs: unknown, outShape: Shape): Float64Array {
  return referenceOf(op)(inputs.map((i) => ({ ...i, dtype: 'float64' as const })), attrs, { shape: outShape, dtype: 'float64' });
}

/** Swaps the last two axes of row data of shape [rows, ..., p, q]. */
function swapLastAxes(data: Float64Array, shape: Shape): { data: Float64Array; shape: Shape } {
  const rank = shape.length;
  const perm = shape.map((_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  const outShape = perm.map((p) => shape[p]!);
  return { data: evaluateRows('transpose', [{ shape, data }], { perm }, outShape), shape: outShape };
}

/** Row-batched product of matrices over the last two axes, batch axes broadcast. */
function batchedMatmul(a: { shape: Shape; data: Float64Array }, b: { shape: Shape; data: Float64Array }, transposeA: boolean, transposeB: boolean): { data: Float64Array; shape: Shape } {
  const m = a.shape[a.shape.length - (transposeA ? 1 : 2)]!;
  const n = b.shape[b.shape.length - (transposeB ? 2 : 1)]!;
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2))!;
  const shape = [...batch, m, n];
  return { data: evaluateRows('matmul', [a, b], { transposeA, transposeB }, shape), shape };
}

/**
 * Returns dy op(b)^T for coefficient rows dy of shape [rows, m, n] and a
 * point matrix b: the common case of a dense layer, without the general
 * batched matmul's index arithmetic.
 */
function rowsTimesTransposed(dy: Float64Array, rows: number, m: number, n: number, b: Float64Array, transposeB: boolean): Float64Array {
  const k = b.length / n;
  const out = new Float64Array(rows * m * k);
  // op(b) is [k, n]. Untransposed, b is [k, n] and op(b)^T[j][p] = b[p * n + j];
  // transposed, b is [n, k] and op(b)^T[j][p] = b[j * k + p].
  for (let r = 0; r < rows * m; r++) {
    const from = r * n;
    const to = r * k;
    for (let j = 0; j < n; j++) {
      const c = dy[from + j]!;
      if (c === 0) continue;
      if (transposeB) for (let p = 0; p < k; p++) out[to + p] = out[to + p]! + c * b[j * k + p]!;
      else for (let p = 0; p < k; p++) out[to + p] = out[to + p]! + c * b[p * n + j]!;
    }
  }
  return out;
}

/** y = op(a) op(b): the coefficients of the variable operand, the other being a point. */
const matmulRule: LinearRule = (step) => {
  const { node, rows, coefficients, context } = step;
  const [a, b] = node.inputs as [Node, Node];
  const { transposeA, transposeB } = (node as Node<'matmul'>).attrs;
  const dy = { shape: [rows, ...node.shape], data: coefficients };
  if (context.isVariable(a) && !context.isVariable(b)) {
    const value = context.pointValue(b);
    if (value === undefined) return false;
    if (a.rank === 2 && b.rank === 2 && !transposeA) {
      step.push(a, rowsTimesTransposed(coefficients, rows, node.shape[0]!, node.shape[1]!, value, transposeB));
      return true;
    }
    // d op(a) = dy op(b)^T, and da is its transpose when a is transposed.
    let product = batchedMatmul(dy, { shape: b.shape, data: value }, false, !transposeB);
    if (transposeA) product = swapLastAxes(product.data, product.shape);
    step.push(a, sumToShape(product.data, rows, product.shape.slice(1), a.shape));
    return true;
  }
  if (context.isVariable(b) && !context.isVariable(a)) {
    const value = context.pointValue(a);
    if (value === undefined) return false;
    // d op(b) = op(a)^T dy.
    const aRows = { shape: [1, ...a.shape], data: value };
    let product = batchedMatmul(aRows, dy, !transposeA, false);
    if (transposeB) product = swapLastAxes(product.data, product.shape);
    step.push(b, sumToShape(product.data, rows, product.shape.slice(1), b.shape));
    return true;
  }
  return false;
};

/** conv2d by a point filter: the coefficients of x are conv2dBackpropInput of the coefficients. */
const conv2dRule: LinearRule = (step) => {
  const { node, rows, coefficients, context } = step;
  const [x, filter] = node.inputs as [Node, Node];
  if (!context.isVariable(x) || context.isVariable(filter)) return false;
  const value = context.pointValue(filter);
  if (value === undefined) return false;
  const attrs = (node as Node<'conv2d'>).attrs;
  const [batch, ...rest] = node.shape as [number, ...number[]];
  const inputShape = [rows * x.shape[0]!, ...x.shape.slice(1)];
  const dy = { shape: [rows * batch, ...rest], data: coefficients };
  step.push(x, evaluateRows('conv2dBackpropInput', [dy, { shape: filter.shape, data: value }], { ...attrs, inputShape }, inputShape));
  return true;
};

const avgPoolRule: LinearRule = (step) => {
  const { node, rows, coefficients } = step;
  const x = node.inputs[0]!;
  const [batch, ...rest] = node.shape as [number, ...number[]];
  const inputShape = [rows * x.shape[0]!, ...x.shape.slice(1)];
  const attrs = (node as Node<'avgPool2d'>).attrs;
  step.push(x, evaluateRows('avgPool2dGrad', [{ shape: [rows * batch, ...rest], data: coefficients }], { ...attrs, inputShape }, inputShape));
  return true;
};

/** a (+/-) b: each variable side takes the coefficients summed back over its broadcast axes. */
function sumRule(sign: 1 | -1): LinearRule {
  return (step) => {
    const [a, b] = step.node.inputs as [Node, Node];
    step.push(a, sumToShape(step.coefficients, step.rows, step.node.shape, a.shape));
    const forB = sumToShape(step.coefficients, step.rows, step.node.shape, b.shape);
    step.push(b, sign === 1 ? forB : negate(forB));
    return true;
  };
}

/** a * b or a / b with the other operand (the divisor for div) a point. */
function productRule(divide: boolean): LinearRule {
  return (step) => {
    const { node, rows, coefficients, context } = step;
    const [a, b] = node.inputs as [Node, Node];
    const scale = (variable: Node, other: Node, map?: (v: number) => number) => {
      const value = context.pointValue(other);
      if (value === undefined) return false;
      step.push(variable, sumToShape(scaleBy(coefficients, rows, node.shape, value, other.shape, map), rows, node.shape, variable.shape));
      return true;
    };
    if (divide) return context.isVariable(a) && !context.isVariable(b) && scale(a, b, (v) => 1 / v);
    if (context.isVariable(a) && !context.isVariable(b)) return scale(a, b);
    if (context.isVariable(b) && !context.isVariable(a)) return scale(b, a);
    return false;
  };
}

const identityRule: LinearRule = (step) => {
  step.push(step.node.inputs[0]!, step.coefficients);
  return true;
};

/** Coefficients of a node of shape [rows, ...shape] rearranged by a reference op applied with a leading row axis. */
function rowsThrough(step: Step, op: 'transpose' | 'pad' | 'slice', attrs: unknown, outShape: Shape): Float64Array {
  return evaluateRows(op, [{ shape: [step.rows, ...step.node.shape], data: step.coefficients }], attrs, [step.rows, ...outShape]);
}

const LINEAR_RULES: Partial<Record<Node['op'], LinearRule>> = {
  add: sumRule(1),
  sub: sumRule(-1),
  neg: (step) => {
    step.push(step.node.inputs[0]!, negate(step.coefficients));
    return true;
  },
  mul: productRule(false),
  div: productRule(true),
  matmul: matmulRule,
  conv2d: conv2dRule,
  avgPool2d: avgPoolRule,
  reshape: identityRule,
  stopGradient: identityRule,
  cast: (step) => (step.node.dtype === 'float64' && step.node.inputs[0]!.dtype === 'float64' ? identityRule(step) : false),
  broadcastTo: (step) => {
    const x = step.node.inputs[0]!;
    step.push(x, sumToShape(step.coefficients, step.rows, step.node.shape, x.shape));
    return true;
  },
  transpose: (step) => {
    const perm = (step.node as Node<'transpose'>).attrs.perm;
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    const x = step.node.inputs[0]!;
    step.push(x, rowsThrough(step, 'transpose', { perm: [0, ...inverse.map((p) => p + 1)] }, x.shape));
    return true;
  },
  slice: (step) => {
    const { begin, size } = (step.node as Node<'slice'>).attrs;
    const x = step.node.inputs[0]!;
    const paddings = [[0, 0], ...begin.map((b, i) => [b, x.shape[i]! - b - size[i]!])];
    step.push(x, rowsThrough(step, 'pad', { paddings, value: 0 }, x.shape));
    return true;
  },
  pad: (step) => {
    const { paddings, value } = (step.node as Node<'pad'>).attrs;
    const x = step.node.inputs[0]!;
    const inner = rowsThrough(step, 'slice', { begin: [0, ...paddings.map((p) => p[0])], size: [step.rows, ...x.shape] }, x.shape);
    if (value !== 0) {
      // The padded elements are the constant `value`: add value times the sum of their coefficients.
      const total = new Float64Array(step.rows);
      const size = step.node.size;
      const xSize = x.size;
      for (let r = 0; r < step.rows; r++) {
        let sum = 0;
        for (let j = 0; j < size; j++) sum += step.coefficients[r * size + j]!;
        for (let j = 0; j < xSize; j++) sum -= inner[r * xSize + j]!;
        total[r] = sum;
      }
      step.expression.addValue(total, Float64Array.of(value));
    }
    step.push(x, inner);
    return true;
  },
  concat: (step) => {
    const axis = (step.node as Node<'concat'>).attrs.axis;
    let start = 0;
    for (const input of step.node.inputs) {
      const begin = [0, ...input.shape.map((_, i) => (i === axis ? start : 0))];
      step.push(input, rowsThrough(step, 'slice', { begin, size: [step.rows, ...input.shape] }, input.shape));
      start += input.shape[axis]!;
    }
    return true;
  },
  sum: (step) => reductionRule(step, false),
  mean: (step) => reductionRule(step, true),
  where: (step) => {
    const [condition, a, b] = step.node.inputs as [Node, Node, Node];
    if (step.context.isVariable(condition)) return false;
    const value = step.context.pointValue(condition);
    if (value === undefined) return false;
    const { rows, coefficients, node } = step;
    step.push(a, sumToShape(scaleBy(coefficients, rows, node.shape, value, condition.shape, (c) => (c !== 0 ? 1 : 0)), rows, node.shape, a.shape));
    step.push(b, sumToShape(scaleBy(coefficients, rows, node.shape, value, condition.shape, (c) => (c !== 0 ? 0 : 1)), rows, node.shape, b.shape));
    return true;
  },
  relu: (step) => activationRule(step),
  leakyRelu: (step) => activationRule(step),
  elu: (step) => activationRule(step),
  prelu: (step) => activationRule(step),
};

/** sum or mean: every input element takes the coefficient of the output element it reduces into. */
function reductionRule(step: Step, mean: boolean): boolean {
  const { node, rows, coefficients } = step;
  const x = node.inputs[0]!;
  const axes = (node as Node<'sum'>).attrs.axes;
  const toOut = reductionIndexer(x.shape, axes);
  const scale = mean ? node.size / Math.max(x.size, 1) : 1;
  const out = new Float64Array(rows * x.size);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < x.size; i++) out[r * x.size + i] = coefficients[r * node.size + toOut(i)]! * scale;
  }
  step.push(x, out);
  return true;
}

/** Substitutes a relu-family activation: each coefficient takes the relaxation line that bounds its side. */
function activationRule(step: Step): boolean {
  const { node, rows, coefficients, context, expression } = step;
  const z = node.inputs[0]!;
  if (!shapesEqual(z.shape, node.shape)) return false;
  if (!context.relaxations.has(node.id)) context.relaxations.set(node.id, relaxation(node, context.bounds(z), context));
  const lines = context.relaxations.get(node.id);
  if (lines === undefined) return false;
  const zBounds = context.bounds(z);

  const size = node.size;
  const out = new Float64Array(coefficients.length);
  for (let r = 0; r < rows; r++) {
    const upper = expression.isUpper(r);
    let sum = 0;
    let magnitude = 0;
    let touched = false;
    for (let j = 0; j < size; j++) {
      const c = coefficients[r * size + j]!;
      if (c === 0) continue;
      const useUpper = c > 0 === upper;
      const slope = useUpper ? lines.upperSlope[j]! : lines.lowerSlope[j]!;
      const intercept = useUpper ? lines.upperIntercept[j]! : lines.lowerIntercept[j]!;
      out[r * size + j] = c * slope;
      if (lines.exact[j] === 1) continue;
      // A chord's rounding error is relative to its values over [l, u], not to its intercept alone.
      const scale = Math.abs(slope) * Math.max(Math.abs(zBounds.lo[j]!), Math.abs(zBounds.hi[j]!)) + Math.abs(intercept);
      if (scale !== 0) {
        sum += c * intercept;
        magnitude += Math.abs(c) * scale;
        touched = true;
      }
    }
    expression.record(r, sum, magnitude, touched);
  }

  step.push(z, out);
  return true;
}
