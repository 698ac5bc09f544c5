// Accumulators of SIMD loops: a float variable declared outside a vectorized
// loop and updated once per iteration as `acc = acc op f` (or `f op acc` for
// a commutative op). Reductions along the innermost axis and softmax's
// log-sum-exp lower to such loops.
//
// max and min are order-free. They keep partial values per lane, in one v128
// local per unrolled copy of the loop body, and combine them after the loop.
// That gives the scalar result because max and min are commutative and
// associative on every input, NaN and signed zeros included: both propagate
// NaN, and max(-0, +0) is +0 in either order. Any other operator adds the
// lanes to the scalar accumulator one at a time, in iteration order, so the
// SIMD loop rounds exactly as the scalar loop does and only computing f is
// vectorized (exp in a softmax's sum). Partial sums would be faster but
// would change the rounding.

import type { BinaryOp, Expr, Stmt } from '../../kernel/ir.ts';
import type { Instr } from './opcodes.ts';
import type { ScalarEmitter } from './scalar.ts';
import type { Shape } from './vector.ts';

/**
 * An accumulator of a vectorized loop. An order-free one keeps per-lane
 * partial values in v128 locals: `partials` has one per unrolled copy of the
 * body, and `local` is the one the next copy updates.
 */
export interface Accumulator {
  kind: 'accumulator';
  name: string;
  t: 'f32' | 'f64';
  op: BinaryOp;
  operand: Expr;
  accumulatorFirst: boolean;
  orderFree: boolean;
  partials: number[];
  local: number;
}

/**
 * Copies of the body per iteration of the first vector loop when it updates
 * an order-free accumulator. With one v128 of partial values, each iteration
 * waits for the previous one's f32x4.max, which V8 lowers to several
 * instructions that handle NaN and -0. Four independent partial values made
 * a max over 1024 x 1000 float32 rows about 3 times faster than one
 * (2-core AMD EPYC, Node.js 20).
 */
export const PARTIALS = 4;

const ACCUMULATING = new Set<BinaryOp>(['add', 'sub', 'mul', 'max', 'min']);
const COMMUTATIVE = new Set<BinaryOp>(['add', 'mul', 'max', 'min']);
/** Operators whose lanes may be combined in any order with the same result, NaN and -0 included. */
const ORDER_FREE = new Set<BinaryOp>(['max', 'min']);

/** Returns the accumulator that an assignment to a variable declared outside the loop updates, or why it is not one. */
export function accumulatorOf(s: Extract<Stmt, { k: 'assign' }>, shape: Shape): Accumulator | string {
  const value = s.value;
  if (value.k !== 'bin' || !ACCUMULATING.has(value.op) || value.t !== shape.t) return `${s.name} is not updated by a ${shape.t} add, sub, mul, max or min`;
  const isAccumulator = (e: Expr) => e.k === 'var' && e.name === s.name;
  const accumulatorFirst = isAccumulator(value.a);
  if (!accumulatorFirst && !(isAccumulator(value.b) && COMMUTATIVE.has(value.op))) return `${s.name} is not an operand of its update`;
  return {
    kind: 'accumulator',
    name: s.name,
    t: shape.t,
    op: value.op,
    operand: accumulatorFirst ? value.b : value.a,
    accumulatorFirst,
    orderFree: ORDER_FREE.has(value.op),
    partials: [],
    local: -1,
  };
}

/**
 * Splats an order-free accumulator into all of its partial values, before
 * the vector loops. Starting every partial at acc leaves the result
 * unchanged, as max(acc, acc, ...) = acc.
 */
export function openAccumulator(emitter: ScalarEmitter, shape: Shape, b: Accumulator): void {
  const fb = emitter.fb;
  const p = shape.prefix;
  b.partials = Array.from({ length: PARTIALS }, (_, copy) => fb.local(`${b.name}.${p}.${copy}`, 'v128'));
  b.local = b.partials[0]!;
  emitter.expr({ k: 'var', t: b.t, name: b.name });
  fb.emit([`${p}.splat`], ['local.set', b.local]);
  for (const partial of b.partials.slice(1)) fb.emit(['local.get', b.local], ['local.set', partial]);
}

/** Combines the partial values of an order-free accumulator into its scalar variable, after the vector loops. */
export function closeAccumulator(emitter: ScalarEmitter, shape: Shape, b: Accumulator): void {
  const fb = emitter.fb;
  const p = shape.prefix;
  const [first, ...rest] = b.partials as [number, ...number[]];
  for (const partial of rest) fb.emit(['local.get', first], ['local.get', partial], [`${p}.${b.op}`], ['local.set', first]);
  for (let lane = 0; lane < shape.lanes; lane++) {
    fb.emit(['local.get', first], [`${p}.extract_lane`, lane]);
    if (lane > 0) fb.emit([`${b.t}.${b.op}`]);
  }
  fb.emit(['local.set', emitter.variable(b.name, b.t)]);
}

/**
 * Applies one vector of terms, which `pushTerms` pushes, to an accumulator:
 * lane-wise when it is order-free, else lane by lane into the scalar.
 */
export function updateAccumulator(emitter: ScalarEmitter, shape: Shape, b: Accumulator, pushTerms: () => void): void {
  const fb = emitter.fb;
  const p = shape.prefix;
  if (b.orderFree) {
    fb.emit(['local.get', b.local]);
    pushTerms();
    fb.emit([`${p}.${b.op}`], ['local.set', b.local]);
    return;
  }
  pushTerms();
  const terms = fb.temp('v128');
  const acc = emitter.variable(b.name, b.t);
  fb.emit(['local.set', terms]);
  for (let lane = 0; lane < shape.lanes; lane++) {
    const term: Instr[] = [['local.get', terms], [`${p}.extract_lane`, lane]];
    if (b.accumulatorFirst) fb.emit(['local.get', acc], ...term);
    else fb.emit(...term, ['local.get', acc]);
    fb.emit([`${b.t}.${b.op}`], ['local.set', acc]);
  }
  fb.release(terms);
}
