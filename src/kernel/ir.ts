// The kernel IR: loop nests over flat buffers, one kernel per fused group.
// Both backends lower from this form and nothing else lowers from the graph.
//
// Every expression carries its scalar type (f32, f64 or i32; bool values are
// i32 0 or 1), so a typed target such as WebAssembly needs no inference.
// Buffers are numbered per kernel: `buf` indexes the kernel's params.

export type ScalarType = 'f32' | 'f64' | 'i32';

export type UnaryOp = 'neg' | 'abs' | 'sign' | 'exp' | 'expm1' | 'log' | 'log1p' | 'sqrt' | 'tanh' | 'floor' | 'not';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min'
  | 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne' | 'and' | 'or'
  /** Integer division and remainder of non-negative i32 operands. */
  | 'idiv' | 'imod';

export type Expr =
  | { k: 'num'; t: ScalarType; v: number }
  | { k: 'var'; t: ScalarType; name: string }
  | { k: 'load'; t: ScalarType; buf: number; index: Expr }
  | { k: 'un'; t: ScalarType; op: UnaryOp; a: Expr }
  | { k: 'bin'; t: ScalarType; op: BinaryOp; a: Expr; b: Expr }
  | { k: 'select'; t: ScalarType; cond: Expr; a: Expr; b: Expr }
  | { k: 'cast'; t: ScalarType; a: Expr };

export type Stmt =
  | { k: 'for'; v: string; from: Expr; to: Expr; body: Stmt[] }
  | { k: 'let'; name: string; t: ScalarType; init: Expr }
  | { k: 'assign'; name: string; value: Expr }
  | { k: 'store'; buf: number; index: Expr; value: Expr }
  | { k: 'if'; cond: Expr; then: Stmt[]; else: Stmt[] }
  | { k: 'comment'; text: string };

/** A loop of a contraction: its variable and trip count (the loop runs from 0). */
export interface LoopRange {
  name: string;
  size: number;
}

/**
 * The structure of a kernel that computes, for every outer index and every
 * (i, j) of an m x n output tile,
 *
 *   acc = sum of a * b over the reduce loops, in row-major order from 0
 *   epilogue (reads acc, i, j and the outer variables; stores the element)
 *
 * as matmul does. A backend may use it to schedule the kernel its own way
 * (register tiles, SIMD lanes along j), provided each output element still
 * sums its products in that order. The kernel's body remains the reference
 * semantics, and a backend may always run the body instead.
 */
export interface Contraction {
  outer: LoopRange[];
  i: LoopRange;
  j: LoopRange;
  reduce: LoopRange[];
  /** The left factor, an expression of the outer, i and reduce variables. */
  a: Expr;
  /** The right factor, an expression of the outer, reduce and j variables. */
  b: Expr;
  /** The accumulator's name and type, as the epilogue reads it. */
  acc: string;
  t: ScalarType;
  /** Statements finishing one output element from acc: the fused epilogue and the stores. */
  epilogue: Stmt[];
}

/** A buffer a kernel reads or writes. */
export interface KernelParam {
  /**
   * The buffer's id in the executable: a graph node id for node values, or a
   * negative id for a scratch buffer that lives only during this kernel.
   */
  buffer: number;
  t: ScalarType;
  /** Number of elements. */
  size: number;
  access: 'read' | 'write' | 'readwrite';
}

export interface Kernel {
  /** A sanitised identifier, unique in the executable: k3_conv2d. */
  name: string;
  /** Graph node ids computed by this kernel, in graph order. */
  nodes: number[];
  /** The ops of those nodes, for reading: "conv2d + add + leakyRelu". */
  summary: string;
  params: KernelParam[];
  body: Stmt[];
  /** Estimated floating-point operations of one run. */
  flops: number;
  /** Bytes read and written by one run, counting each param once. */
  bytes: number;
  /** True when every load and store uses the loop's flat index, so an output may overwrite a dying input. */
  inPlaceSafe: boolean;
  /** Set when the kernel is a contraction (matmul), for backends that tile it. */
  contraction?: Contraction;
}

// Builders. Short names because lowering code is dense with them.

export const num = (v: number, t: ScalarType = 'f64'): Expr => ({ k: 'num', t, v });
export const int = (v: number): Expr => ({ k: 'num', t: 'i32', v });
export const ivar = (name: string): Expr => ({ k: 'var', t: 'i32', name });
export const fvar = (name: string, t: ScalarType): Expr => ({ k: 'var', t, name });
export const load = (buf: number, index: Expr, t: ScalarType): Expr => ({ k: 'load', t, buf, index });
export const un = (op: UnaryOp, a: Expr): Expr => ({ k: 'un', t: op === 'not' ? 'i32' : a.t, op, a });
export const select = (cond: Expr, a: Expr, b: Expr): Expr => ({ k: 'select', t: a.t, cond, a, b });
export const cast = (a: Expr, t: ScalarType): Expr => (a.t === t ? a : { k: 'cast', t, a });

const COMPARISONS = new Set<BinaryOp>(['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or']);

const FOLDABLE: Partial<Record<BinaryOp, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: Math.max,
  min: Math.min,
};

/** Builds a binary expression. Numbers become constants of the other operand's type, and two float constants fold. */
export function bin(op: BinaryOp, a: Expr | number, b: Expr | number): Expr {
  const ea = typeof a === 'number' ? num(a, typeof b === 'number' ? 'f64' : b.t) : a;
  const eb = typeof b === 'number' ? num(b, ea.t) : b;
  const fold = FOLDABLE[op];
  if (fold !== undefined && ea.k === 'num' && eb.k === 'num' && ea.t !== 'i32') return num(fold(ea.v, eb.v), ea.t);
  return { k: 'bin', t: COMPARISONS.has(op) ? 'i32' : ea.t, op, a: ea, b: eb };
}

/** Integer index arithmetic with constant folding, so generated indices stay short. */
export function iadd(...terms: Expr[]): Expr {
  let constant = 0;
  const rest: Expr[] = [];
  for (const t of terms) {
    if (t.k === 'num') constant += t.v;
    else rest.push(t);
  }
  let e: Expr | undefined;
  for (const t of rest) e = e === undefined ? t : { k: 'bin', t: 'i32', op: 'add', a: e, b: t };
  if (e === undefined) return int(constant);
  return constant === 0 ? e : { k: 'bin', t: 'i32', op: 'add', a: e, b: int(constant) };
}

export function imul(a: Expr, factor: number): Expr {
  if (factor === 0) return int(0);
  if (factor === 1) return a;
  if (a.k === 'num') return int(a.v * factor);
  return { k: 'bin', t: 'i32', op: 'mul', a, b: int(factor) };
}

export function idiv(a: Expr, divisor: number): Expr {
  if (divisor === 1) return a;
  if (a.k === 'num') return int(Math.floor(a.v / divisor));
  return { k: 'bin', t: 'i32', op: 'idiv', a, b: int(divisor) };
}

export function imod(a: Expr, divisor: number): Expr {
  if (divisor === 1) return int(0);
  if (a.k === 'num') return int(a.v % divisor);
  return { k: 'bin', t: 'i32', op: 'imod', a, b: int(divisor) };
}

export function loop(v: string, from: Expr | number, to: Expr | number, body: Stmt[]): Stmt {
  return { k: 'for', v, from: typeof from === 'number' ? int(from) : from, to: typeof to === 'number' ? int(to) : to, body };
}
