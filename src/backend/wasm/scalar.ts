// Scalar lowering of the kernel IR to WebAssembly instructions, one value per
// element, with the JS backend's semantics:
// - Every buffer sits at a fixed address of the shared memory, so a load or
//   store is `index << log2(size)` with the buffer's address in the memarg
//   offset. bool buffers hold one byte per element.
// - Comparisons give i32 0 or 1; a condition is true when nonzero (for an
//   integer) or nonzero and not NaN (for a float), as JavaScript truthiness.
// - select is eager in WebAssembly: both branches are computed. IR
//   expressions are pure and their loads are in bounds (the IR clamps
//   indices), so that changes no result.
// - f32.max and f32.min propagate NaN and order -0 below +0, as Math.max and
//   Math.min do.
// - idiv and imod take non-negative operands and a positive constant
//   divisor; imod is the remainder of truncating division, as JavaScript `%`.
// - Transcendental functions of f64 values call the host's Math functions,
//   so float64 kernels match the JS backend bit for bit. Those of f32 values
//   are computed by functions of the module (math.ts), or by the host when
//   module math is off.
// - float32 kernels compute in float32, where the JS backend computes in
//   float64 and rounds at each store; results differ within float32 rounding.

import type { BinaryOp, Expr, ScalarType, Stmt, UnaryOp } from '../../kernel/ir.ts';
import type { FunctionBuilder } from './function.ts';
import type { ModuleMathOp } from './math.ts';
import { mathFunctionName, MODULE_MATH_OPS } from './math.ts';
import type { Instr } from './opcodes.ts';

/** The storage type of a buffer's elements. */
export type ElementType = 'f32' | 'f64' | 'i32' | 'u8';

export interface BufferAccess {
  /** Byte address of element 0 in the module's memory. */
  address: number;
  element: ElementType;
}

export const ELEMENT_BYTES: Record<ElementType, number> = { f32: 4, f64: 8, i32: 4, u8: 1 };
const LOG2_BYTES: Record<ElementType, number> = { f32: 2, f64: 3, i32: 2, u8: 0 };
const LOAD: Record<ElementType, string> = { f32: 'f32.load', f64: 'f64.load', i32: 'i32.load', u8: 'i32.load8_u' };
const STORE: Record<ElementType, string> = { f32: 'f32.store', f64: 'f64.store', i32: 'i32.store', u8: 'i32.store8' };

/** Host functions a module may import, by the name its calls use. */
export const MATH_IMPORTS = {
  'Math.exp': { field: 'exp', arity: 1 },
  'Math.expm1': { field: 'expm1', arity: 1 },
  'Math.log': { field: 'log', arity: 1 },
  'Math.log1p': { field: 'log1p', arity: 1 },
  'Math.tanh': { field: 'tanh', arity: 1 },
  'Math.pow': { field: 'pow', arity: 2 },
} as const;

export type MathImport = keyof typeof MATH_IMPORTS;

export interface LoweringContext {
  /** Buffer access by kernel param index. */
  buffers: readonly BufferAccess[];
  /** Records a host function that the module must import. */
  useImport(name: MathImport): void;
  /** Records a math function that the module must define (math.ts). */
  useMathFunction(op: ModuleMathOp, vector: boolean): void;
  /** Compute f32 transcendental functions in the module rather than through the host's f64 Math. */
  moduleMath: boolean;
}

const COMPARISONS = new Set<BinaryOp>(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);

const FLOAT_BINARY: Partial<Record<BinaryOp, string>> = { add: 'add', sub: 'sub', mul: 'mul', div: 'div', max: 'max', min: 'min', lt: 'lt', le: 'le', gt: 'gt', ge: 'ge', eq: 'eq', ne: 'ne' };
const INT_BINARY: Partial<Record<BinaryOp, string>> = { add: 'add', sub: 'sub', mul: 'mul', lt: 'lt_s', le: 'le_s', gt: 'gt_s', ge: 'ge_s', eq: 'eq', ne: 'ne', imod: 'rem_s' };

/** True for expressions whose value is already 0 or 1. */
export function isBoolean(e: Expr): boolean {
  return (e.k === 'bin' && (COMPARISONS.has(e.op) || e.op === 'and' || e.op === 'or')) || (e.k === 'un' && e.op === 'not');
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * A hook that may emit a `for` statement in its own way, as the SIMD
 * vectorizer does. It returns false to leave the loop to the scalar lowering.
 */
export type LoopHook = (loop: Extract<Stmt, { k: 'for' }>, emitter: ScalarEmitter) => boolean;

export class ScalarEmitter {
  loopHook: LoopHook | undefined;
  /**
   * IR variables by block, innermost last. A let is scoped to its block, as
   * in JavaScript, so an inner let may reuse an outer name with another type.
   */
  private readonly scopes: Map<string, number>[] = [new Map()];

  constructor(
    readonly fb: FunctionBuilder,
    readonly ctx: LoweringContext,
  ) {}

  /** Returns the local of a visible IR variable, declaring it in the current block if there is none. */
  variable(name: string, t: ScalarType): number {
    const visible = this.lookup(name);
    if (visible !== undefined && this.fb.typeOf(visible) === t) return visible;
    return this.declare(name, t);
  }

  /** Declares an IR variable in the current block; it shadows any outer one of the same name. */
  declare(name: string, t: ScalarType): number {
    const scope = this.scopes[this.scopes.length - 1]!;
    const current = scope.get(name);
    if (current !== undefined && this.fb.typeOf(current) === t) return current;
    const busy = new Set<number>();
    for (const s of this.scopes) {
      const index = s.get(name);
      if (index !== undefined) busy.add(index);
    }
    const index = this.fb.variableLocal(name, t, busy);
    scope.set(name, index);
    return index;
  }

  lookup(name: string): number | undefined {
    for (let d = this.scopes.length - 1; d >= 0; d--) {
      const index = this.scopes[d]!.get(name);
      if (index !== undefined) return index;
    }
    return undefined;
  }

  /** Runs `emit` in a new block scope. */
  block(emit: () => void): void {
    this.scopes.push(new Map());
    try {
      emit();
    } finally {
      this.scopes.pop();
    }
  }

  statements(stmts: readonly Stmt[]): void {
    for (const s of stmts) this.statement(s);
  }

  statement(s: Stmt): void {
    switch (s.k) {
      case 'for':
        if (this.loopHook?.(s, this)) return;
        this.loop(s.v, s.from, s.to, () => this.statements(s.body));
        return;
      case 'let':
        this.expr(s.init);
        this.fb.emit(['local.set', this.declare(s.name, s.t)]);
        return;
      case 'assign': {
        const index = this.lookup(s.name);
        if (index === undefined) throw new Error(`internal: assignment to undeclared variable ${s.name}`);
        this.expr(s.value);
        this.fb.emit(['local.set', index]);
        return;
      }
      case 'store': {
        const access = this.buffer(s.buf);
        const offset = this.address(access, s.index);
        this.storeValue(access, s.value);
        this.fb.emit([STORE[access.element], LOG2_BYTES[access.element], offset]);
        return;
      }
      case 'if':
        this.condition(s.cond);
        this.fb.emit(['if']);
        this.block(() => this.statements(s.then));
        if (s.else.length > 0) {
          this.fb.emit(['else']);
          this.block(() => this.statements(s.else));
        }
        this.fb.emit(['end']);
        return;
      case 'comment':
        this.fb.comment(s.text);
        return;
    }
  }

  /**
   * Emits `for (v = from; v < to; v++) body()`. The bound is computed once,
   * because IR bounds do not change inside their loop. The entry test is
   * left out when both bounds are constants and the loop runs at least once.
   */
  loop(v: string, from: Expr, to: Expr, body: () => void): void {
    if (from.k === 'num' && to.k === 'num' && from.v >= to.v) return;
    let bound: Instr = ['i32.const', to.k === 'num' ? to.v : 0];
    let boundLocal: number | undefined;
    if (to.k !== 'num') {
      boundLocal = this.fb.temp('i32');
      this.expr(to);
      this.fb.emit(['local.set', boundLocal]);
      bound = ['local.get', boundLocal];
    }
    // The bounds are read in the enclosing block; the loop variable belongs to the loop's own.
    this.expr(from);
    this.scopes.push(new Map());
    const index = this.declare(v, 'i32');
    this.fb.emit(['local.set', index]);
    const guarded = !(from.k === 'num' && to.k === 'num');
    if (guarded) this.fb.emit(['block'], ['local.get', index], bound, ['i32.ge_s'], ['br_if', 0]);
    this.fb.emit(['loop']);
    this.block(body);
    this.fb.emit(['local.get', index], ['i32.const', 1], ['i32.add'], ['local.tee', index], bound, ['i32.lt_s'], ['br_if', 0], ['end']);
    if (guarded) this.fb.emit(['end']);
    this.scopes.pop();
    if (boundLocal !== undefined) this.fb.release(boundLocal);
  }

  buffer(index: number): BufferAccess {
    const access = this.ctx.buffers[index];
    if (access === undefined) throw new Error(`internal: kernel buffer b${index} has no placement`);
    return access;
  }

  /** Pushes the dynamic part of an element's address and returns the constant part, for the memarg offset. */
  address(access: BufferAccess, index: Expr): number {
    const size = ELEMENT_BYTES[access.element];
    if (index.k === 'num') {
      this.fb.emit(['i32.const', 0]);
      return access.address + index.v * size;
    }
    this.expr(index);
    if (size > 1) this.fb.emit(['i32.const', LOG2_BYTES[access.element]], ['i32.shl']);
    return access.address;
  }

  private storeValue(access: BufferAccess, value: Expr): void {
    this.expr(value);
    const stored: ScalarType = access.element === 'u8' ? 'i32' : access.element;
    if (value.t !== stored) throw new Error(`internal: store of a ${value.t} value into a ${access.element} buffer`);
  }

  /** Pushes an i32 that is nonzero when `e` is true in the JavaScript sense. */
  condition(e: Expr): void {
    this.expr(e);
    if (isBoolean(e) || e.t === 'i32') return;
    // A float is true unless it is 0, -0 or NaN, which are exactly the values where |x| > 0 is false.
    this.fb.emit([`${e.t}.abs`], [`${e.t}.const`, 0], [`${e.t}.gt`]);
  }

  /** Pushes 0 or 1. */
  private truth(e: Expr): void {
    this.condition(e);
    if (!isBoolean(e) && e.t === 'i32') this.fb.emit(['i32.const', 0], ['i32.ne']);
  }

  /** Pushes the value of `e` (type e.t; booleans as i32 0 or 1). */
  expr(e: Expr): void {
    switch (e.k) {
      case 'num':
        this.fb.emit([`${e.t}.const`, e.v]);
        return;
      case 'var':
        this.fb.emit(['local.get', this.variable(e.name, e.t)]);
        return;
      case 'load': {
        const access = this.buffer(e.buf);
        const offset = this.address(access, e.index);
        this.fb.emit([LOAD[access.element], LOG2_BYTES[access.element], offset]);
        return;
      }
      case 'un':
        this.unary(e.op, e.a, e.t);
        return;
      case 'bin':
        this.binary(e.op, e.a, e.b, e.t);
        return;
      case 'select':
        this.expr(e.a);
        this.expr(e.b);
        this.condition(e.cond);
        this.fb.emit(['select']);
        return;
      case 'cast':
        this.cast(e.a, e.t);
        return;
    }
  }

  /** Evaluates `e` into a temporary local. */
  toTemp(e: Expr): number {
    this.expr(e);
    const local = this.fb.temp(e.t);
    this.fb.emit(['local.set', local]);
    return local;
  }

  private unary(op: UnaryOp, a: Expr, t: ScalarType): void {
    if (op === 'not') {
      this.truth(a);
      this.fb.emit(['i32.eqz']);
      return;
    }
    if (t === 'i32') {
      this.integerUnary(op, a);
      return;
    }
    switch (op) {
      case 'neg':
      case 'abs':
      case 'sqrt':
      case 'floor':
        this.expr(a);
        this.fb.emit([`${t}.${op}`]);
        return;
      case 'sign': {
        // 1 above 0, -1 below, and x itself for 0, -0 and NaN.
        const x = this.toTemp(a);
        this.fb.emit([`${t}.const`, 1], [`${t}.const`, -1], ['local.get', x], ['local.get', x], [`${t}.const`, 0], [`${t}.lt`], ['select']);
        this.fb.emit(['local.get', x], [`${t}.const`, 0], [`${t}.gt`], ['select']);
        this.fb.release(x);
        return;
      }
      default:
        this.transcendental(op, a, t);
    }
  }

  private transcendental(op: UnaryOp, a: Expr, t: ScalarType): void {
    if (t === 'f32' && this.ctx.moduleMath && (MODULE_MATH_OPS as readonly string[]).includes(op)) {
      this.ctx.useMathFunction(op as ModuleMathOp, false);
      this.expr(a);
      this.fb.emit(['call', mathFunctionName(op as ModuleMathOp, false)]);
      return;
    }
    const name = `Math.${op}` as MathImport;
    if (!(name in MATH_IMPORTS)) throw new Error(`internal: no WebAssembly lowering of ${op} on ${t}`);
    this.ctx.useImport(name);
    this.expr(a);
    if (t === 'f32') this.fb.emit(['f64.promote_f32']);
    this.fb.emit(['call', name]);
    if (t === 'f32') this.fb.emit(['f32.demote_f64']);
  }

  private integerUnary(op: UnaryOp, a: Expr): void {
    switch (op) {
      case 'neg':
        this.fb.emit(['i32.const', 0]);
        this.expr(a);
        this.fb.emit(['i32.sub']);
        return;
      case 'abs':
      case 'sign': {
        const x = this.toTemp(a);
        if (op === 'abs') {
          this.fb.emit(['i32.const', 0], ['local.get', x], ['i32.sub'], ['local.get', x], ['local.get', x], ['i32.const', 0], ['i32.lt_s'], ['select']);
        } else {
          this.fb.emit(['local.get', x], ['i32.const', 0], ['i32.gt_s'], ['local.get', x], ['i32.const', 0], ['i32.lt_s'], ['i32.sub']);
        }
        this.fb.release(x);
        return;
      }
      case 'floor':
        this.expr(a);
        return;
      default:
        throw new Error(`internal: ${op} of an i32 value has no lowering`);
    }
  }

  private binary(op: BinaryOp, a: Expr, b: Expr, t: ScalarType): void {
    if (op === 'and' || op === 'or') {
      this.truth(a);
      this.truth(b);
      this.fb.emit([`i32.${op}`]);
      return;
    }
    const operand = a.t;
    if (op === 'pow') {
      this.ctx.useImport('Math.pow');
      for (const x of [a, b]) {
        this.expr(x);
        if (x.t === 'f32') this.fb.emit(['f64.promote_f32']);
      }
      this.fb.emit(['call', 'Math.pow']);
      if (t === 'f32') this.fb.emit(['f32.demote_f64']);
      return;
    }
    if (operand !== 'i32') {
      const name = FLOAT_BINARY[op];
      if (name === undefined) throw new Error(`internal: ${op} of ${operand} values has no lowering`);
      this.expr(a);
      this.expr(b);
      this.fb.emit([`${operand}.${name}`]);
      return;
    }
    this.integerBinary(op, a, b);
  }

  private integerBinary(op: BinaryOp, a: Expr, b: Expr): void {
    if (op === 'idiv' && b.k === 'num' && isPowerOfTwo(b.v)) {
      // An arithmetic shift is floor division, as Math.floor(a / b) is.
      this.expr(a);
      this.fb.emit(['i32.const', Math.log2(b.v)], ['i32.shr_s']);
      return;
    }
    if (op === 'idiv') {
      this.expr(a);
      this.expr(b);
      this.fb.emit(['i32.div_s']);
      return;
    }
    if (op === 'max' || op === 'min') {
      const x = this.toTemp(a);
      const y = this.toTemp(b);
      this.fb.emit(['local.get', x], ['local.get', y], ['local.get', x], ['local.get', y], [op === 'max' ? 'i32.gt_s' : 'i32.lt_s'], ['select']);
      this.fb.release(x, y);
      return;
    }
    if (op === 'div') {
      // int32 division as the JS backend stores it: the float quotient
      // truncated toward zero, and 0 where it is not a finite int32.
      this.expr(a);
      this.fb.emit(['f64.convert_i32_s']);
      this.expr(b);
      this.fb.emit(['f64.convert_i32_s'], ['f64.div']);
      const q = this.fb.temp('f64');
      this.fb.emit(['local.tee', q], ['i32.trunc_sat_f64_s'], ['i32.const', 0], ['local.get', q], ['f64.abs'], ['f64.const', 2147483648], ['f64.lt'], ['select']);
      this.fb.release(q);
      return;
    }
    const name = INT_BINARY[op];
    if (name === undefined) throw new Error(`internal: ${op} of i32 values has no lowering`);
    this.expr(a);
    this.expr(b);
    this.fb.emit([`i32.${name}`]);
  }

  private cast(a: Expr, t: ScalarType): void {
    this.expr(a);
    const from = a.t;
    if (from === t) return;
    if (t === 'f32') this.fb.emit([from === 'f64' ? 'f32.demote_f64' : 'f32.convert_i32_s']);
    else if (t === 'f64') this.fb.emit([from === 'f32' ? 'f64.promote_f32' : 'f64.convert_i32_s']);
    else this.fb.emit([from === 'f32' ? 'i32.trunc_sat_f32_s' : 'i32.trunc_sat_f64_s']);
  }
}
