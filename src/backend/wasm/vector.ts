// SIMD lowering of innermost loops: a loop whose body is straight-line lets
// and stores runs 4 float32 (or 2 float64) iterations at a time in v128
// registers, then finishes the remaining iterations with the scalar code.
//
// The loop variable v is the first lane's iteration. Each expression of
// the body is either uniform (the same in every lane: it does not depend on
// v) or varying. Uniform values are computed with scalar code and splat
// where a vector needs them. Varying values are float vectors or masks
// (all-ones lanes for true). Integer lets must be affine in v and are kept
// as the first lane's value, so that an index built from them is the first
// lane's index. A load or store whose index has coefficient 1 in v touches
// consecutive elements, so it becomes one v128 access. A load whose index
// has coefficient 0 is uniform. Anything else (gathers, integer vectors, pow,
// branches) leaves the loop scalar.
//
// Every lane computes exactly what its scalar iteration computes: the same
// operations in the same order on the same values, since wasm's f32x4 and
// f64x2 arithmetic, min, max and comparisons are the lane-wise IEEE
// operations of their scalar counterparts, and the math functions are shared
// with the scalar code (math.ts).
//
// Reductions take two more forms, both keeping that promise:
//
//   for j (lanes):                          for k (lanes):
//     let acc = 0                             acc = acc + f(k)      acc declared outside
//     for r: acc = acc + x[r, j]
//     store out[j] = acc
//
// Left, a loop whose body holds inner loops with uniform bounds runs them in
// lockstep for 4 (or 2) outputs, each lane with its own accumulator, which
// adds its terms in the scalar order (a column sum, a bias gradient).
// Right, an accumulator declared outside the loop (accumulators.ts): max and
// min keep partial values per lane and combine them after the loop, and any
// other operator adds the lanes to the scalar accumulator in iteration order.

import type { BinaryOp, Expr, ScalarType, Stmt, UnaryOp } from '../../kernel/ir.ts';
import type { Accumulator } from './accumulators.ts';
import { accumulatorOf, closeAccumulator, openAccumulator, PARTIALS, updateAccumulator } from './accumulators.ts';
import type { ModuleMathOp } from './math.ts';
import { mathFunctionName, MODULE_MATH_OPS } from './math.ts';
import type { Instr } from './opcodes.ts';
import type { ScalarEmitter } from './scalar.ts';
import { isBoolean, MATH_IMPORTS } from './scalar.ts';
import type { MathImport } from './scalar.ts';

type ForStmt = Extract<Stmt, { k: 'for' }>;

/** A vector shape: float32 in 4 lanes or float64 in 2. */
export interface Shape {
  t: 'f32' | 'f64';
  lanes: number;
  prefix: 'f32x4' | 'f64x2';
}

export const F32X4: Shape = { t: 'f32', lanes: 4, prefix: 'f32x4' };
export const F64X2: Shape = { t: 'f64', lanes: 2, prefix: 'f64x2' };

/** The kind of value a variable has inside the vector loop. */
type Binding =
  | { kind: 'uniform' }
  | { kind: 'affine'; coefficient: number }
  | { kind: 'vector'; local: number }
  | { kind: 'mask'; local: number }
  | Accumulator;

const ARITHMETIC = new Set<BinaryOp>(['add', 'sub', 'mul', 'div', 'max', 'min']);
const COMPARISON = new Set<BinaryOp>(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);
const ELEMENTARY_UNARY = new Set<UnaryOp>(['neg', 'abs', 'sqrt', 'floor']);

class Rejected extends Error {}

function reject(reason: string): never {
  throw new Rejected(reason);
}

/** Calls `visit` on every statement of a body, inner loops and branches included. */
function walk(body: readonly Stmt[], visit: (s: Stmt) => void): void {
  for (const s of body) {
    visit(s);
    if (s.k === 'for') walk(s.body, visit);
    else if (s.k === 'if') {
      walk(s.then, visit);
      walk(s.else, visit);
    }
  }
}

/** Adds the buffers that an expression loads to `into`. */
function loadedBuffers(e: Expr, into: Set<number>): void {
  switch (e.k) {
    case 'load':
      into.add(e.buf);
      return loadedBuffers(e.index, into);
    case 'un':
    case 'cast':
      return loadedBuffers(e.a, into);
    case 'bin':
      loadedBuffers(e.a, into);
      return loadedBuffers(e.b, into);
    case 'select':
      loadedBuffers(e.cond, into);
      loadedBuffers(e.a, into);
      return loadedBuffers(e.b, into);
    default:
      return;
  }
}

/** Vector code for one loop body; `plan` checks the whole body before anything is emitted. */
export class VectorBody {
  readonly bindings = new Map<string, Binding>();
  /**
   * Lets float64 exp, log and the other host Math functions run as one call
   * per lane. Set for a register tile's epilogue, which would otherwise make
   * the whole contraction scalar; a plain loop gains nothing from it.
   */
  hostCallsPerLane = false;
  /** Variables declared in the body and assigned in it. */
  private readonly laneLocals = new Set<string>();

  constructor(
    readonly emitter: ScalarEmitter,
    readonly shape: Shape,
    readonly loopVar: string,
  ) {
    this.bindings.set(loopVar, { kind: 'affine', coefficient: 1 });
  }

  private get fb() {
    return this.emitter.fb;
  }

  // Analysis.

  /** True when `e` has the same value in every lane. */
  uniform(e: Expr): boolean {
    switch (e.k) {
      case 'num':
        return true;
      case 'var': {
        const b = this.bindings.get(e.name);
        return b === undefined || b.kind === 'uniform' || (b.kind === 'affine' && b.coefficient === 0);
      }
      case 'load':
        return this.uniform(e.index);
      case 'un':
      case 'cast':
        return this.uniform(e.a);
      case 'bin':
        return this.uniform(e.a) && this.uniform(e.b);
      case 'select':
        return this.uniform(e.cond) && this.uniform(e.a) && this.uniform(e.b);
    }
  }

  /** Returns the coefficient of the loop variable in an i32 expression, or undefined when it is not affine. */
  coefficient(e: Expr): number | undefined {
    if (this.uniform(e)) return 0;
    switch (e.k) {
      case 'var': {
        const b = this.bindings.get(e.name);
        return b?.kind === 'affine' ? b.coefficient : undefined;
      }
      case 'bin': {
        const a = this.coefficient(e.a);
        const b = this.coefficient(e.b);
        if (a === undefined || b === undefined) return undefined;
        if (e.op === 'add') return a + b;
        if (e.op === 'sub') return a - b;
        if (e.op === 'mul' && e.b.k === 'num') return a * e.b.v;
        if (e.op === 'mul' && e.a.k === 'num') return b * e.a.v;
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** Checks that a varying expression can be computed lane-wise, as a vector of `shape` or as a mask. */
  check(e: Expr): void {
    if (this.uniform(e)) return;
    switch (e.k) {
      case 'var': {
        const b = this.bindings.get(e.name);
        if (b?.kind === 'accumulator') reject(`accumulator ${e.name} is read outside its update`);
        if (b?.kind !== 'vector' && b?.kind !== 'mask') reject(`${e.name} is an integer that varies across lanes`);
        return;
      }
      case 'load': {
        const access = this.emitter.buffer(e.buf);
        if (access.element !== this.shape.t) reject(`b${e.buf} is not ${this.shape.t}`);
        if (this.coefficient(e.index) !== 1) reject(`b${e.buf} is not read at consecutive elements`);
        return;
      }
      case 'un':
        if (e.op === 'not') return this.checkMask(e.a);
        if (e.t !== this.shape.t) reject(`${e.op} of ${e.t}`);
        if (!ELEMENTARY_UNARY.has(e.op) && e.op !== 'sign' && !this.hasMathFunction(e.op)) reject(`${e.op} has no ${this.shape.prefix} lowering`);
        return this.check(e.a);
      case 'bin':
        if (e.op === 'and' || e.op === 'or') {
          this.checkMask(e.a);
          return this.checkMask(e.b);
        }
        if (e.a.t !== this.shape.t) reject(`${e.op} of ${e.a.t}`);
        if (!ARITHMETIC.has(e.op) && !COMPARISON.has(e.op)) reject(`${e.op} has no ${this.shape.prefix} lowering`);
        this.check(e.a);
        return this.check(e.b);
      case 'select':
        if (e.t !== this.shape.t) reject(`select of ${e.t}`);
        this.checkMask(e.cond);
        this.check(e.a);
        return this.check(e.b);
      case 'cast':
        if (e.t !== this.shape.t || !isBoolean(e.a)) reject(`cast from ${e.a.t} to ${e.t}`);
        return this.checkMask(e.a);
      case 'num':
        return;
    }
  }

  private checkMask(e: Expr): void {
    if (this.uniform(e)) return;
    if (e.k === 'var' && this.bindings.get(e.name)?.kind === 'mask') return;
    if (!isBoolean(e)) reject('a varying condition is not a comparison');
    this.check(e);
  }

  private hasMathFunction(op: UnaryOp): boolean {
    if (this.shape.t === 'f64') return this.hostCallsPerLane && `Math.${op}` in MATH_IMPORTS;
    return this.emitter.ctx.moduleMath && (MODULE_MATH_OPS as readonly string[]).includes(op);
  }

  /** Checks a loop body and records each let's kind; returns false when the body cannot be vectorized. */
  tryPlan(body: readonly Stmt[]): boolean {
    try {
      this.plan(body);
      return true;
    } catch (e) {
      if (e instanceof Rejected) return false;
      throw e;
    }
  }

  /** Checks the loop body and records each variable's kind. Throws Rejected when it cannot be vectorized. */
  private plan(body: readonly Stmt[]): void {
    const declared = new Map<string, number>();
    const assigns: Extract<Stmt, { k: 'assign' }>[] = [];
    let nested = false;
    walk(body, (s) => {
      if (s.k === 'let') declared.set(s.name, (declared.get(s.name) ?? 0) + 1);
      else if (s.k === 'assign') assigns.push(s);
      else if (s.k === 'for') nested = true;
    });
    if (nested) {
      // Bindings are by name, so a name must mean one variable in every block of the nest.
      for (const [name, count] of declared) if (count > 1 || this.emitter.lookup(name) !== undefined) reject(`${name} is declared twice in a loop nest`);
      // Inner loops run in lockstep for all lanes, which reorders one lane's memory accesses against another's.
      this.checkIndependentBuffers(body);
    }
    for (const s of assigns) {
      if (declared.has(s.name)) this.laneLocals.add(s.name);
      else this.planAccumulator(s, nested, assigns);
    }
    this.planStatements(body);
  }

  private planStatements(body: readonly Stmt[]): void {
    for (const s of body) {
      switch (s.k) {
        case 'let':
          this.planLet(s.name, s.t, s.init);
          break;
        case 'store': {
          const access = this.emitter.buffer(s.buf);
          if (access.element !== this.shape.t) reject(`b${s.buf} is not ${this.shape.t}`);
          if (this.coefficient(s.index) !== 1) reject(`b${s.buf} is not written at consecutive elements`);
          this.check(s.value);
          break;
        }
        case 'assign': {
          const b = this.bindings.get(s.name);
          if (b?.kind === 'accumulator') this.check(b.operand);
          else if (b?.kind === 'vector') this.check(s.value);
          else reject(`${s.name} is assigned but is not a float of the lanes`);
          break;
        }
        case 'for':
          if (!this.uniform(s.from) || !this.uniform(s.to)) reject(`the bounds of ${s.v} vary across lanes`);
          this.planStatements(s.body);
          break;
        case 'comment':
          break;
        default:
          reject(`a ${s.k} statement in the loop body`);
      }
    }
  }

  /** Records an assignment to a variable declared outside the loop as an accumulator, or rejects it. */
  private planAccumulator(s: Extract<Stmt, { k: 'assign' }>, nested: boolean, assigns: readonly Extract<Stmt, { k: 'assign' }>[]): void {
    // With inner loops, the lanes would interleave their terms.
    if (nested) reject(`${s.name} accumulates across inner loops`);
    if (assigns.filter((a) => a.name === s.name).length > 1) reject(`${s.name} is assigned twice`);
    const accumulator = accumulatorOf(s, this.shape);
    if (typeof accumulator === 'string') reject(accumulator);
    this.bindings.set(s.name, accumulator);
  }

  private checkIndependentBuffers(body: readonly Stmt[]): void {
    const stored = new Set<number>();
    const loaded = new Set<number>();
    walk(body, (s) => {
      if (s.k === 'store') {
        stored.add(s.buf);
        loadedBuffers(s.index, loaded);
        loadedBuffers(s.value, loaded);
      } else if (s.k === 'let') loadedBuffers(s.init, loaded);
      else if (s.k === 'assign') loadedBuffers(s.value, loaded);
      else if (s.k === 'for') {
        loadedBuffers(s.from, loaded);
        loadedBuffers(s.to, loaded);
      } else if (s.k === 'if') loadedBuffers(s.cond, loaded);
    });
    for (const buf of stored) if (loaded.has(buf)) reject(`b${buf} is read and written in a loop nest`);
  }

  private planLet(name: string, t: ScalarType, init: Expr): void {
    if (this.laneLocals.has(name)) {
      // Assigned later in the body, so each lane needs its own copy even when it starts uniform.
      if (t !== this.shape.t) reject(`${name} is an assigned ${t}`);
      this.check(init);
      this.bindings.set(name, { kind: 'vector', local: -1 });
      return;
    }
    if (this.uniform(init)) {
      this.bindings.set(name, { kind: 'uniform' });
      return;
    }
    if (t === this.shape.t) {
      this.check(init);
      this.bindings.set(name, { kind: 'vector', local: -1 });
      return;
    }
    if (t === 'i32' && isBoolean(init)) {
      this.checkMask(init);
      this.bindings.set(name, { kind: 'mask', local: -1 });
      return;
    }
    const coefficient = t === 'i32' ? this.coefficient(init) : undefined;
    if (coefficient === undefined) reject(`${name} varies across lanes and is not affine in ${this.loopVar}`);
    this.bindings.set(name, { kind: 'affine', coefficient });
  }

  // Emission.

  emit(body: readonly Stmt[]): void {
    for (const s of body) {
      switch (s.k) {
        case 'let': {
          const b = this.bindings.get(s.name)!;
          if (b.kind === 'uniform' || b.kind === 'affine') {
            this.emitter.statement(s);
          } else {
            if (b.local < 0) b.local = this.fb.local(`${s.name}.${b.kind === 'mask' ? 'mask' : this.shape.prefix}`, 'v128');
            if (b.kind === 'mask') this.mask(s.init);
            else this.vector(s.init);
            this.fb.emit(['local.set', b.local]);
          }
          break;
        }
        case 'store': {
          const offset = this.emitter.address(this.emitter.buffer(s.buf), s.index);
          this.vector(s.value);
          this.fb.emit(['v128.store', 4, offset]);
          break;
        }
        case 'assign': {
          const b = this.bindings.get(s.name);
          if (b?.kind === 'accumulator') {
            updateAccumulator(this.emitter, this.shape, b, () => this.vector(b.operand));
          } else if (b?.kind === 'vector') {
            this.vector(s.value);
            this.fb.emit(['local.set', b.local]);
          } else {
            throw new Error(`internal: assignment to ${s.name} reached vector emission`);
          }
          break;
        }
        case 'for':
          this.emitter.loop(s.v, s.from, s.to, () => this.emit(s.body));
          break;
        case 'comment':
          this.fb.comment(s.text);
          break;
        default:
          throw new Error(`internal: ${s.k} reached vector emission`);
      }
    }
  }

  private get accumulators(): Accumulator[] {
    return [...this.bindings.values()].filter((b): b is Accumulator => b.kind === 'accumulator');
  }

  /** Copies of the body per iteration that the first vector loop should run (PARTIALS or 1). */
  get copies(): number {
    return this.accumulators.some((b) => b.orderFree) ? PARTIALS : 1;
  }

  /** Makes the next copy of the body update the `copy`th partial values of each order-free accumulator. */
  useCopy(copy: number): void {
    for (const b of this.accumulators) if (b.orderFree) b.local = b.partials[copy]!;
  }

  /** Splats each order-free accumulator into its partial values, before the vector loops. */
  openAccumulators(): void {
    for (const b of this.accumulators) if (b.orderFree) openAccumulator(this.emitter, this.shape, b);
  }

  /** Combines the partial values of each order-free accumulator into its scalar variable, after the vector loops. */
  closeAccumulators(): void {
    for (const b of this.accumulators) if (b.orderFree) closeAccumulator(this.emitter, this.shape, b);
  }

  /** Pushes a v128 of `shape` lanes holding e in each lane. */
  vector(e: Expr): void {
    const p = this.shape.prefix;
    if (this.uniform(e)) {
      if (e.k === 'num') {
        this.fb.emit(this.constant(e.v));
        return;
      }
      this.emitter.expr(e);
      this.fb.emit([`${p}.splat`]);
      return;
    }
    switch (e.k) {
      case 'var': {
        const b = this.bindings.get(e.name);
        if (b?.kind !== 'vector') throw new Error(`internal: ${e.name} is not a vector`);
        this.fb.emit(['local.get', b.local]);
        return;
      }
      case 'load': {
        const offset = this.emitter.address(this.emitter.buffer(e.buf), e.index);
        this.fb.emit(['v128.load', 4, offset]);
        return;
      }
      case 'un':
        this.unary(e.op, e.a);
        return;
      case 'bin':
        this.vector(e.a);
        this.vector(e.b);
        this.fb.emit([`${p}.${e.op}`]);
        return;
      case 'select':
        this.vector(e.a);
        this.vector(e.b);
        this.mask(e.cond);
        this.fb.emit(['v128.bitselect']);
        return;
      case 'cast':
        // A mask's all-ones lanes AND the bits of 1.0 give 1.0; zero lanes give 0.0.
        this.mask(e.a);
        this.fb.emit(this.constant(1), ['v128.and']);
        return;
      default:
        throw new Error(`internal: ${e.k} reached vector emission`);
    }
  }

  private unary(op: UnaryOp, a: Expr): void {
    const p = this.shape.prefix;
    if (ELEMENTARY_UNARY.has(op)) {
      this.vector(a);
      this.fb.emit([`${p}.${op}`]);
      return;
    }
    if (op === 'sign') {
      // 1 above 0, -1 below, and x itself for 0, -0 and NaN, as the scalar code.
      this.vector(a);
      const x = this.fb.temp('v128');
      this.fb.emit(['local.set', x], this.constant(1), this.constant(-1), ['local.get', x], ['local.get', x], this.constant(0), [`${p}.lt`], ['v128.bitselect']);
      this.fb.emit(['local.get', x], this.constant(0), [`${p}.gt`], ['v128.bitselect']);
      this.fb.release(x);
      return;
    }
    if (this.shape.t === 'f64') {
      this.hostCall(`Math.${op}` as MathImport, a);
      return;
    }
    this.emitter.ctx.useMathFunction(op as ModuleMathOp, true);
    this.vector(a);
    this.fb.emit(['call', mathFunctionName(op as ModuleMathOp, true)]);
  }

  /** Pushes the f64x2 of a host Math function applied to each lane of `a`, the same call the scalar code makes. */
  private hostCall(name: MathImport, a: Expr): void {
    this.emitter.ctx.useImport(name);
    this.vector(a);
    const x = this.fb.temp('v128');
    this.fb.emit(['local.set', x], ['local.get', x], ['f64x2.extract_lane', 0], ['call', name], ['f64x2.splat']);
    this.fb.emit(['local.get', x], ['f64x2.extract_lane', 1], ['call', name], ['f64x2.replace_lane', 1]);
    this.fb.release(x);
  }

  /** Pushes a v128 mask: all-ones lanes where the condition holds. */
  mask(e: Expr): void {
    const p = this.shape.prefix;
    if (this.uniform(e)) {
      // 0 - truth is 0 or -1 (all ones), splat to every lane; 64-bit lanes need both halves set, which i32x4 does.
      this.fb.emit(['i32.const', 0]);
      this.emitter.condition(e);
      if (!isBoolean(e)) this.fb.emit(['i32.const', 0], ['i32.ne']);
      this.fb.emit(['i32.sub'], ['i32x4.splat']);
      return;
    }
    if (e.k === 'var') {
      const b = this.bindings.get(e.name);
      if (b?.kind !== 'mask') throw new Error(`internal: ${e.name} is not a mask`);
      this.fb.emit(['local.get', b.local]);
      return;
    }
    if (e.k === 'un' && e.op === 'not') {
      this.mask(e.a);
      this.fb.emit(['v128.not']);
      return;
    }
    if (e.k === 'bin' && (e.op === 'and' || e.op === 'or')) {
      this.mask(e.a);
      this.mask(e.b);
      this.fb.emit([`v128.${e.op}`]);
      return;
    }
    if (e.k === 'bin' && COMPARISON.has(e.op)) {
      this.vector(e.a);
      this.vector(e.b);
      this.fb.emit([`${p}.${e.op}`]);
      return;
    }
    throw new Error(`internal: ${e.k} is not a vector condition`);
  }

  constant(v: number): Instr {
    return this.shape.lanes === 4 ? ['v128.const', 'f32x4', v, v, v, v] : ['v128.const', 'f64x2', v, v];
  }
}

/** Returns the vector shape of a loop body's float stores and assignments, if they share one type. */
function shapeOf(emitter: ScalarEmitter, body: readonly Stmt[]): Shape | undefined {
  const types = new Set<string>();
  walk(body, (s) => {
    if (s.k === 'store') types.add(emitter.buffer(s.buf).element);
    else if (s.k === 'assign') types.add(s.value.t);
  });
  if (types.size !== 1) return undefined;
  if (types.has('f32')) return F32X4;
  if (types.has('f64')) return F64X2;
  return undefined;
}

/**
 * Emits a loop as SIMD iterations then a scalar tail, when its body allows;
 * returns false (having emitted nothing) otherwise. Use as the scalar
 * emitter's loop hook.
 */
export function vectorizeLoop(loop: ForStmt, emitter: ScalarEmitter): boolean {
  const shape = shapeOf(emitter, loop.body);
  if (shape === undefined) return false;
  if (loop.from.k === 'num' && loop.to.k === 'num' && loop.to.v - loop.from.v < shape.lanes) return false;
  const body = new VectorBody(emitter, shape, loop.v);
  if (!body.tryPlan(loop.body)) return false;
  emitter.block(() => emitVectorLoop(loop, emitter, body));
  return true;
}

function emitVectorLoop(loop: ForStmt, emitter: ScalarEmitter, body: VectorBody): void {
  const fb = emitter.fb;
  const lanes = body.shape.lanes;
  const copies = body.copies;
  const v = emitter.declare(loop.v, 'i32');
  if (copies > 1) fb.comment(`${loop.v}: ${copies} vectors of ${lanes} lanes per iteration, then one vector, then one element at a time`);
  else fb.comment(`${loop.v}: ${lanes} lanes per iteration, then one at a time`);

  body.openAccumulators();
  emitter.expr(loop.from);
  fb.emit(['local.set', v]);
  let at = loop.from.k === 'num' ? loop.from.v : undefined;
  if (copies > 1) at = emitVectorRun(loop, emitter, body, copies, at);
  body.useCopy(0);
  at = emitVectorRun(loop, emitter, body, 1, at);
  body.closeAccumulators();

  const exact = at !== undefined && loop.to.k === 'num' && at === loop.to.v;
  if (!exact) emitter.loop(loop.v, { k: 'var', t: 'i32', name: loop.v }, loop.to, () => emitter.statements(loop.body));
}

/**
 * Emits a loop running `copies` vectors of the body per iteration while they
 * fit: up to v = from + (to - from) rounded down to a multiple of
 * copies * lanes. `at` is v's value on entry when it is a constant. Returns
 * v's value on exit when that is a constant.
 */
function emitVectorRun(loop: ForStmt, emitter: ScalarEmitter, body: VectorBody, copies: number, at: number | undefined): number | undefined {
  const fb = emitter.fb;
  const lanes = body.shape.lanes;
  const step = copies * lanes;
  const v = emitter.declare(loop.v, 'i32');
  let end: Instr;
  let endLocal: number | undefined;
  let constantEnd: number | undefined;
  if (loop.from.k === 'num' && loop.to.k === 'num') {
    constantEnd = loop.from.v + Math.floor((loop.to.v - loop.from.v) / step) * step;
    end = ['i32.const', constantEnd];
  } else {
    endLocal = fb.temp('i32');
    emitter.expr(loop.from);
    emitter.expr(loop.to);
    emitter.expr(loop.from);
    fb.emit(['i32.sub'], ['i32.const', -step], ['i32.and'], ['i32.add'], ['local.set', endLocal]);
    end = ['local.get', endLocal];
  }
  const known = at !== undefined && constantEnd !== undefined;
  if (at !== undefined && constantEnd !== undefined && at >= constantEnd) return at;
  if (!known) fb.emit(['block'], ['local.get', v], end, ['i32.ge_s'], ['br_if', 0]);
  fb.emit(['loop']);
  for (let copy = 0; copy < copies; copy++) {
    body.useCopy(copy);
    body.emit(loop.body);
    if (copy < copies - 1) fb.emit(['local.get', v], ['i32.const', lanes], ['i32.add'], ['local.set', v]);
  }
  fb.emit(['local.get', v], ['i32.const', lanes], ['i32.add'], ['local.tee', v], end, ['i32.lt_s'], ['br_if', 0], ['end']);
  if (!known) fb.emit(['end']);
  if (endLocal !== undefined) fb.release(endLocal);
  return known ? constantEnd : undefined;
}
