// The JavaScript backend: prints a kernel as a readable JavaScript function
// over typed arrays and compiles it once with `new Function`.
//
// No user string reaches the source except inside a `//` comment, through
// `commentText`, which escapes every character that could end the comment
// or the line. Identifiers are generated (k3_conv2d, b0, v12, i0).

import type { Expr, Kernel, Stmt } from '../../kernel/ir.ts';

/** Escapes text for a `//` line comment: no line terminator, no control character survives. */
export function commentText(text: string): string {
  // A backslash cannot end a line comment, so it stays as it is: a name printed as "a\nb" reads the same as in the graph printer.
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

const BOOLEAN_OPS = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or']);

function isBoolean(e: Expr): boolean {
  return (e.k === 'bin' && BOOLEAN_OPS.has(e.op)) || (e.k === 'un' && e.op === 'not');
}

/**
 * Names of int32 variables that contain tensor values rather than indices.
 * An int32 add, sub or mul on tensor values wraps to 32 bits as in
 * WebAssembly (i32.add, i32.mul), so the printer wraps it with `| 0` or
 * `Math.imul`. Index arithmetic stays plain because it never leaves the
 * int32 range.
 */
type DataNames = ReadonlySet<string>;

/** Returns true when `e` reads a buffer or a variable in `data`. */
function readsData(e: Expr, data: DataNames): boolean {
  switch (e.k) {
    case 'num':
      return false;
    case 'var':
      return data.has(e.name);
    case 'load':
      return true;
    case 'un':
    case 'cast':
      return readsData(e.a, data);
    case 'bin':
      return readsData(e.a, data) || readsData(e.b, data);
    case 'select':
      return readsData(e.cond, data) || readsData(e.a, data) || readsData(e.b, data);
  }
}

/** Collects the int32 variables of a kernel body whose values are computed from buffer loads. */
function int32DataNames(body: readonly Stmt[]): Set<string> {
  const data = new Set<string>();
  const int32 = new Set<string>();
  const visit = (statements: readonly Stmt[]): void => {
    for (const s of statements) {
      if (s.k === 'let' && s.t === 'i32') {
        int32.add(s.name);
        if (readsData(s.init, data)) data.add(s.name);
      } else if (s.k === 'assign' && int32.has(s.name) && readsData(s.value, data)) data.add(s.name);
      else if (s.k === 'for') visit(s.body);
      else if (s.k === 'if') {
        visit(s.then);
        visit(s.else);
      }
    }
  };
  // A variable assigned from data inside a loop may be read earlier in the loop, so visit until nothing changes.
  let size = -1;
  while (size !== data.size) {
    size = data.size;
    visit(body);
  }
  return data;
}

/** Returns true for an int32 add, sub or mul on tensor values, which must wrap to 32 bits. */
function wrapsInt32(e: Expr & { k: 'bin' }, data: DataNames): boolean {
  return e.t === 'i32' && (e.op === 'add' || e.op === 'sub' || e.op === 'mul') && readsData(e, data);
}

/** Prints an expression used as a number: JavaScript booleans become 0 or 1. */
function numeric(e: Expr, data: DataNames): string {
  return isBoolean(e) ? `+(${expr(e, data)})` : expr(e, data);
}

const INFIX: Record<string, string> = { add: '+', sub: '-', mul: '*', div: '/', imod: '%', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==', and: '&&', or: '||' };
const PRECEDENCE: Record<string, number> = { or: 3, and: 4, eq: 8, ne: 8, lt: 9, le: 9, gt: 9, ge: 9, add: 11, sub: 11, mul: 12, div: 12, imod: 12 };
const MATH: Record<string, string> = { abs: 'Math.abs', sign: 'Math.sign', exp: 'Math.exp', expm1: 'Math.expm1', log: 'Math.log', log1p: 'Math.log1p', sqrt: 'Math.sqrt', tanh: 'Math.tanh', floor: 'Math.floor' };

/** Precedence of the printed form of an expression; atoms and calls bind tightest. */
function precedence(e: Expr): number {
  if (e.k === 'bin' && Object.hasOwn(PRECEDENCE, e.op)) return PRECEDENCE[e.op]!;
  if (e.k === 'select') return 2;
  if (e.k === 'un' && (e.op === 'neg' || e.op === 'not')) return 14;
  if (e.k === 'num' && (e.v < 0 || Object.is(e.v, -0))) return 14;
  return 20;
}

/** Prints an operand, in parentheses when it binds looser than its context requires. */
function operand(e: Expr, min: number, asNumber: boolean, data: DataNames): string {
  const text = asNumber ? numeric(e, data) : expr(e, data);
  const p = asNumber && isBoolean(e) ? 20 : precedence(e);
  return p < min ? `(${text})` : text;
}

export function expr(e: Expr, data: DataNames = new Set()): string {
  switch (e.k) {
    case 'num':
      return literal(e.v);
    case 'var':
      return e.name;
    case 'load':
      return `b${e.buf}[${expr(e.index, data)}]`;
    case 'un':
      if (e.op === 'neg') return `-${operand(e.a, 15, true, data)}`;
      if (e.op === 'not') return `!${operand(e.a, 15, false, data)}`;
      return `${MATH[e.op]}(${numeric(e.a, data)})`;
    case 'bin': {
      if (e.op === 'max') return `Math.max(${numeric(e.a, data)}, ${numeric(e.b, data)})`;
      if (e.op === 'min') return `Math.min(${numeric(e.a, data)}, ${numeric(e.b, data)})`;
      if (e.op === 'pow') return `Math.pow(${numeric(e.a, data)}, ${numeric(e.b, data)})`;
      if (e.op === 'idiv') return `Math.floor(${operand(e.a, 12, true, data)} / ${operand(e.b, 13, true, data)})`;
      // a + -c prints as a - c, and a * -1 as -a, so index arithmetic reads naturally.
      if (e.op === 'add' && e.b.k === 'num' && e.b.v < 0) return `${operand(e.a, 11, true, data)} - ${literal(-e.b.v)}`;
      if (e.op === 'add' && e.b.k === 'bin' && e.b.op === 'mul' && e.b.b.k === 'num' && e.b.b.v < 0) {
        const magnitude = e.b.b.v === -1 ? e.b.a : { ...e.b, b: { ...e.b.b, v: -e.b.b.v } };
        return `${operand(e.a, 11, true, data)} - ${operand(magnitude, 12, true, data)}`;
      }
      if (wrapsInt32(e, data)) {
        if (e.op === 'mul') return `Math.imul(${numeric(e.a, data)}, ${numeric(e.b, data)})`;
        return `(${operand(e.a, 11, true, data)} ${INFIX[e.op]} ${operand(e.b, 12, true, data)} | 0)`;
      }
      if (e.op === 'mul' && e.b.k === 'num' && e.b.v === -1) return `-${operand(e.a, 15, true, data)}`;
      const p = PRECEDENCE[e.op]!;
      const logical = e.op === 'and' || e.op === 'or';
      // Left-associative: the right operand needs parentheses at equal precedence.
      return `${operand(e.a, p, !logical, data)} ${INFIX[e.op]} ${operand(e.b, p + 1, !logical, data)}`;
    }
    case 'select':
      return `${operand(e.cond, 3, false, data)} ? ${operand(e.a, 2, true, data)} : ${operand(e.b, 2, true, data)}`;
    case 'cast':
      if (e.t === 'f32') return `Math.fround(${numeric(e.a, data)})`;
      if (e.t === 'i32' && e.a.t !== 'i32') return `(${numeric(e.a, data)} | 0)`;
      return numeric(e.a, data);
  }
}

function stmt(s: Stmt, indent: string, out: string[], data: DataNames): void {
  switch (s.k) {
    case 'for':
      out.push(`${indent}for (let ${s.v} = ${expr(s.from, data)}; ${s.v} < ${expr(s.to, data)}; ${s.v}++) {`);
      for (const inner of s.body) stmt(inner, `${indent}  `, out, data);
      out.push(`${indent}}`);
      return;
    case 'let':
      out.push(`${indent}let ${s.name} = ${numeric(s.init, data)};`);
      return;
    case 'assign':
      out.push(`${indent}${s.name} = ${numeric(s.value, data)};`);
      return;
    case 'store':
      out.push(`${indent}b${s.buf}[${expr(s.index, data)}] = ${numeric(s.value, data)};`);
      return;
    case 'if':
      out.push(`${indent}if (${expr(s.cond, data)}) {`);
      for (const inner of s.then) stmt(inner, `${indent}  `, out, data);
      if (s.else.length > 0) {
        out.push(`${indent}} else {`);
        for (const inner of s.else) stmt(inner, `${indent}  `, out, data);
      }
      out.push(`${indent}}`);
      return;
    case 'comment':
      out.push(`${indent}// ${commentText(s.text)}`);
      return;
  }
}

/**
 * Prints a kernel as a function declaration. `describe` gives the comment
 * lines that name the fused graph nodes; they are escaped here.
 */
export function printKernel(kernel: Kernel, describe: readonly string[]): string {
  const lines = describe.map((d) => `// ${commentText(d)}`);
  const params = kernel.params.map((_, i) => `b${i}`).join(', ');
  lines.push(`function ${kernel.name}(${params}) {`);
  const data = int32DataNames(kernel.body);
  for (const s of kernel.body) stmt(s, '  ', lines, data);
  lines.push('}');
  return lines.join('\n');
}

export type CompiledKernel = (...buffers: ArrayBufferView[]) => void;

/** Compiles printed kernel source into a callable function. */
export function compileKernel(name: string, source: string): CompiledKernel {
  if (!/^k\d+_[A-Za-z0-9]+$/.test(name)) throw new Error(`internal: kernel name ${JSON.stringify(name)} is not a generated identifier`);
  return new Function(`${source}\nreturn ${name};`)() as CompiledKernel;
}
