// The analysis that picks the loop of a kernel that worker threads may
// share. A kernel is split only along its outermost loop, and only when that
// loop's iterations write disjoint elements and no iteration reads what
// another writes:
//
//   for v in [0, n):          the kernel's only statement besides comments
//     ... no assignment to a variable declared before the loop ...
//     out[S * v + r] = ...    for every store, r in [base, base + S) for all v
//
// Each i32 expression of the body is tracked as c * v + r with r in an
// interval [lo, hi], from the bounds of the inner loops and the values of
// the lets. A store is accepted when c = S > 0 and hi - lo < S, so the
// elements that iteration v writes lie in one block of S elements. A load
// from memory that a store also writes must stay inside its own
// iteration's block. A reduction along the split loop assigns to an
// accumulator declared outside it and is rejected, so every output element
// is computed by the same instructions whichever thread computes it.

import type { Contraction, Expr, Kernel, LoopRange, Stmt } from '../../kernel/ir.ts';
import { loop as forLoop } from '../../kernel/ir.ts';
import type { BufferAccess } from './scalar.ts';
import { ELEMENT_BYTES } from './scalar.ts';

/** The loop that threads share: its variable and trip count; it runs from 0. */
export interface ParallelLoop {
  name: string;
  size: number;
}

/** An i32 value c * v + r with lo <= r <= hi; undefined when the analysis cannot bound it. */
interface Affine {
  c: number;
  lo: number;
  hi: number;
}

type Abstract = Affine | undefined;

const UNBOUNDED: Affine = { c: 0, lo: -Infinity, hi: Infinity };
const BOOLEAN: Affine = { c: 0, lo: 0, hi: 1 };

function constant(v: number): Affine {
  return { c: 0, lo: v, hi: v };
}

/** Multiplies by a constant; 0 times an unbounded value is 0, not NaN. */
function scale(a: Affine, factor: number): Affine {
  if (factor === 0) return constant(0);
  const ends = [a.lo * factor, a.hi * factor];
  return { c: a.c * factor, lo: Math.min(...ends), hi: Math.max(...ends) };
}

function corners(a: Affine, b: Affine, f: (x: number, y: number) => number): Affine {
  const values = [f(a.lo, b.lo), f(a.lo, b.hi), f(a.hi, b.lo), f(a.hi, b.hi)].map((x) => (Number.isNaN(x) ? 0 : x));
  return { c: 0, lo: Math.min(...values), hi: Math.max(...values) };
}

/** Abstract interpretation of i32 index arithmetic over one iteration of the split loop. */
class IndexAnalysis {
  private readonly scopes: Map<string, Abstract>[] = [new Map()];

  constructor(
    private readonly loopVar: string,
    /** i32 variables assigned somewhere in the loop: their values are not tracked. */
    private readonly assigned: ReadonlySet<string>,
  ) {}

  push(): void {
    this.scopes.push(new Map());
  }

  pop(): void {
    this.scopes.pop();
  }

  bind(name: string, value: Abstract): void {
    this.scopes[this.scopes.length - 1]!.set(name, this.assigned.has(name) ? undefined : value);
  }

  private lookup(name: string): Abstract {
    for (let d = this.scopes.length - 1; d >= 0; d--) {
      const scope = this.scopes[d]!;
      if (scope.has(name)) return scope.get(name);
    }
    return name === this.loopVar ? { c: 1, lo: 0, hi: 0 } : undefined;
  }

  value(e: Expr): Abstract {
    if (e.t !== 'i32') return UNBOUNDED;
    switch (e.k) {
      case 'num':
        return constant(e.v);
      case 'var':
        return this.lookup(e.name);
      case 'load':
      case 'cast':
        return UNBOUNDED;
      case 'un':
        return this.unary(e.op, e.a);
      case 'bin':
        return this.binary(e.op, e.a, e.b);
      case 'select': {
        const a = this.value(e.a);
        const b = this.value(e.b);
        if (a === undefined || b === undefined || a.c !== b.c) return undefined;
        return { c: a.c, lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) };
      }
    }
  }

  private unary(op: string, operand: Expr): Abstract {
    if (op === 'not') return BOOLEAN;
    const a = this.value(operand);
    if (a === undefined) return undefined;
    if (op === 'neg') return { c: -a.c, lo: -a.hi, hi: -a.lo };
    if (a.c !== 0) return undefined;
    if (op === 'sign') return { c: 0, lo: -1, hi: 1 };
    if (op === 'abs') {
      const hi = Math.max(Math.abs(a.lo), Math.abs(a.hi));
      if (a.lo >= 0) return { c: 0, lo: a.lo, hi };
      if (a.hi <= 0) return { c: 0, lo: -a.hi, hi };
      return { c: 0, lo: 0, hi };
    }
    return op === 'floor' ? a : undefined;
  }

  private binary(op: string, left: Expr, right: Expr): Abstract {
    if (['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or'].includes(op)) return BOOLEAN;
    const a = this.value(left);
    const b = this.value(right);
    if (a === undefined || b === undefined) return undefined;
    switch (op) {
      case 'add':
        return { c: a.c + b.c, lo: a.lo + b.lo, hi: a.hi + b.hi };
      case 'sub':
        return { c: a.c - b.c, lo: a.lo - b.hi, hi: a.hi - b.lo };
      case 'mul':
        if (b.c === 0 && b.lo === b.hi) return scale(a, b.lo);
        if (a.c === 0 && a.lo === a.hi) return scale(b, a.lo);
        return a.c === 0 && b.c === 0 ? corners(a, b, (x, y) => x * y) : undefined;
      case 'max':
      case 'min': {
        if (a.c !== 0 || b.c !== 0) return undefined;
        const f = op === 'max' ? Math.max : Math.min;
        return { c: 0, lo: f(a.lo, b.lo), hi: f(a.hi, b.hi) };
      }
      case 'idiv':
      case 'imod': {
        // Operands are non-negative and the divisor a positive constant, as the IR states.
        if (a.c !== 0 || b.c !== 0 || b.lo !== b.hi || b.lo <= 0 || a.lo < 0) return undefined;
        if (op === 'idiv') return { c: 0, lo: Math.floor(a.lo / b.lo), hi: Math.floor(a.hi / b.lo) };
        return a.hi < b.lo ? a : { c: 0, lo: 0, hi: b.lo - 1 };
      }
      default:
        return undefined;
    }
  }
}

/** The elements one buffer access touches in iteration v: c * v + [lo, hi]. */
interface Access {
  buf: number;
  index: Abstract;
}

/** Walks the loop body, collecting stores and loads with their abstract indices; false when the body carries state across iterations. */
function collect(body: readonly Stmt[], analysis: IndexAnalysis, declared: Set<string>, stores: Access[], loads: Access[]): boolean {
  const expr = (e: Expr): void => {
    switch (e.k) {
      case 'load':
        loads.push({ buf: e.buf, index: analysis.value(e.index) });
        expr(e.index);
        return;
      case 'un':
      case 'cast':
        expr(e.a);
        return;
      case 'bin':
        expr(e.a);
        expr(e.b);
        return;
      case 'select':
        expr(e.cond);
        expr(e.a);
        expr(e.b);
        return;
      default:
        return;
    }
  };
  for (const s of body) {
    switch (s.k) {
      case 'for': {
        expr(s.from);
        expr(s.to);
        const from = analysis.value(s.from);
        const to = analysis.value(s.to);
        analysis.push();
        declared.add(s.v);
        const range = from === undefined || to === undefined || from.c !== 0 || to.c !== 0 ? undefined : { c: 0, lo: from.lo, hi: to.hi - 1 };
        analysis.bind(s.v, range);
        const ok = collect(s.body, analysis, declared, stores, loads);
        analysis.pop();
        if (!ok) return false;
        break;
      }
      case 'let':
        expr(s.init);
        declared.add(s.name);
        analysis.bind(s.name, s.t === 'i32' ? analysis.value(s.init) : UNBOUNDED);
        break;
      case 'assign':
        if (!declared.has(s.name)) return false;
        expr(s.value);
        break;
      case 'store':
        expr(s.index);
        expr(s.value);
        stores.push({ buf: s.buf, index: analysis.value(s.index) });
        break;
      case 'if': {
        expr(s.cond);
        analysis.push();
        const ok = collect(s.then, analysis, declared, stores, loads);
        analysis.pop();
        analysis.push();
        const okElse = ok && collect(s.else, analysis, declared, stores, loads);
        analysis.pop();
        if (!okElse) return false;
        break;
      }
      case 'comment':
        break;
    }
  }
  return true;
}

function assignedNames(body: readonly Stmt[], into = new Set<string>()): Set<string> {
  for (const s of body) {
    if (s.k === 'assign') into.add(s.name);
    else if (s.k === 'for') assignedNames(s.body, into);
    else if (s.k === 'if') {
      assignedNames(s.then, into);
      assignedNames(s.else, into);
    }
  }
  return into;
}

/** Returns the kernel body's only top-level statement besides comments when it is a loop. */
export function outermostLoop(body: readonly Stmt[]): Extract<Stmt, { k: 'for' }> | undefined {
  const statements = body.filter((s) => s.k !== 'comment');
  const only = statements[0];
  return statements.length === 1 && only!.k === 'for' ? only : undefined;
}

/**
 * Returns the loop whose iterations threads may share, or undefined when
 * the kernel must run on one thread. `buffers` gives each kernel param's
 * address, since two params may share memory when an output overwrites a
 * dying input.
 */
export function parallelLoop(kernel: Kernel, buffers: readonly BufferAccess[]): ParallelLoop | undefined {
  const loop = outermostLoop(kernel.body);
  if (loop === undefined || loop.from.k !== 'num' || loop.from.v !== 0 || loop.to.k !== 'num' || loop.to.v < 2) return undefined;
  const analysis = new IndexAnalysis(loop.v, assignedNames(loop.body));
  const stores: Access[] = [];
  const loads: Access[] = [];
  if (!collect(loop.body, analysis, new Set([loop.v]), stores, loads)) return undefined;

  // Each written buffer: one block of S elements per iteration.
  const blocks = new Map<number, { stride: number; lo: number; hi: number }>();
  for (const { buf, index } of stores) {
    if (index === undefined || index.c <= 0 || !Number.isFinite(index.lo) || !Number.isFinite(index.hi)) return undefined;
    const block = blocks.get(buf);
    if (block !== undefined && block.stride !== index.c) return undefined;
    const lo = Math.min(block?.lo ?? index.lo, index.lo);
    const hi = Math.max(block?.hi ?? index.hi, index.hi);
    if (hi - lo >= index.c) return undefined;
    blocks.set(buf, { stride: index.c, lo, hi });
  }

  // Memory of a written buffer may be read only inside the reading iteration's own block.
  const size = (buf: number) => kernel.params[buf]!.size * ELEMENT_BYTES[buffers[buf]!.element];
  const overlaps = (x: number, y: number) => buffers[x]!.address < buffers[y]!.address + size(y) && buffers[y]!.address < buffers[x]!.address + size(x);
  const written = [...blocks.keys()];
  for (const w of written) {
    if (written.some((other) => other !== w && overlaps(w, other))) return undefined;
  }
  for (const { buf, index } of loads) {
    for (const w of written) {
      if (!overlaps(buf, w)) continue;
      const block = blocks.get(w)!;
      const same = buffers[buf]!.address === buffers[w]!.address && buffers[buf]!.element === buffers[w]!.element;
      if (!same || index === undefined || index.c !== block.stride || !Number.isFinite(index.lo) || !Number.isFinite(index.hi)) return undefined;
      if (index.lo < block.hi + 1 - block.stride || index.hi > block.lo + block.stride - 1) return undefined;
    }
  }
  return { name: loop.v, size: loop.to.v };
}

function nestLoops(ranges: readonly LoopRange[], body: Stmt[]): Stmt[] {
  let stmts = body;
  for (let d = ranges.length - 1; d >= 0; d--) stmts = [forLoop(ranges[d]!.name, 0, ranges[d]!.size, stmts)];
  return stmts;
}

/** Builds the loops that a contraction states: every output element sums its products into its own accumulator, then runs the epilogue. */
function contractionBody(c: Contraction): Stmt[] {
  const product: Expr = { k: 'bin', t: c.t, op: 'mul', a: c.a, b: c.b };
  const sum: Stmt = { k: 'assign', name: c.acc, value: { k: 'bin', t: c.t, op: 'add', a: { k: 'var', t: c.t, name: c.acc }, b: product } };
  const element: Stmt[] = [{ k: 'let', name: c.acc, t: c.t, init: { k: 'num', t: c.t, v: 0 } }, ...nestLoops(c.reduce, [sum]), ...c.epilogue];
  return nestLoops([...c.outer, c.i, c.j], element);
}

/**
 * Returns the loop that threads may share when a contraction runs as
 * register tiles: its first outer loop, or i when it has none. The
 * contraction's own loops are analysed rather than the kernel body, whose
 * row accumulator (a scratch buffer that every row reuses) the tiles do not
 * use.
 */
export function contractionParallelLoop(kernel: Kernel, buffers: readonly BufferAccess[]): ParallelLoop | undefined {
  const c = kernel.contraction;
  return c === undefined ? undefined : parallelLoop({ ...kernel, body: contractionBody(c) }, buffers);
}
