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

/** Prints an expression used as a number: JavaScript booleans become 0 or 1. */
function numeric(e: Expr): string {
  return isBoolean(e) ? `+(${expr(e)})` : expr(e);
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
function operand(e: Expr, min: number, asNumber: boolean): string {
  const text = asNumber ? numeric(e) : expr(e);
  const p = asNumber && isBoolean(e) ? 20 : precedence(e);
  return p < min ? `(${text})` : text;
}

export function expr(e: Expr): string {
  switch (e.k) {
    case 'num':
      return literal(e.v);
    case 'var':
      return e.name;
    case 'load':
      return `b${e.buf}[${expr(e.index)}]`;
    case 'un':
      if (e.op === 'neg') return `-${operand(e.a, 15, true)}`;
      if (e.op === 'not') return `!${operand(e.a, 15, false)}`;
      return `${MATH[e.op]}(${numeric(e.a)})`;
    case 'bin': {
      if (e.op === 'max') return `Math.max(${numeric(e.a)}, ${numeric(e.b)})`;
      if (e.op === 'min') return `Math.min(${numeric(e.a)}, ${numeric(e.b)})`;
      if (e.op === 'pow') return `Math.pow(${numeric(e.a)}, ${numeric(e.b)})`;
      if (e.op === 'idiv') return `Math.floor(${numeric(e.a)} / ${numeric(e.b)})`;
      // a + -c prints as a - c, and a * -1 as -a, so index arithmetic reads naturally.
      if (e.op === 'add' && e.b.k === 'num' && e.b.v < 0) return `${operand(e.a, 11, true)} - ${literal(-e.b.v)}`;
      if (e.op === 'add' && e.b.k === 'bin' && e.b.op === 'mul' && e.b.b.k === 'num' && e.b.b.v < 0) {
        const magnitude = e.b.b.v === -1 ? e.b.a : { ...e.b, b: { ...e.b.b, v: -e.b.b.v } };
        return `${operand(e.a, 11, true)} - ${operand(magnitude, 12, true)}`;
      }
      if (e.op === 'mul' && e.b.k === 'num' && e.b.v === -1) return `-${operand(e.a, 15, true)}`;
      const p = PRECEDENCE[e.op]!;
      const logical = e.op === 'and' || e.op === 'or';
      // Left-associative: the right operand needs parentheses at equal precedence.
      return `${operand(e.a, p, !logical)} ${INFIX[e.op]} ${operand(e.b, p + 1, !logical)}`;
    }
    case 'select':
      return `${operand(e.cond, 3, false)} ? ${operand(e.a, 2, true)} : ${operand(e.b, 2, true)}`;
    case 'cast':
      if (e.t === 'f32') return `Math.fround(${numeric(e.a)})`;
      if (e.t === 'i32' && e.a.t !== 'i32') return `(${numeric(e.a)} | 0)`;
      return numeric(e.a);
  }
}

function stmt(s: Stmt, indent: string, out: string[]): void {
  switch (s.k) {
    case 'for':
      out.push(`${indent}for (let ${s.v} = ${expr(s.from)}; ${s.v} < ${expr(s.to)}; ${s.v}++) {`);
      for (const inner of s.body) stmt(inner, `${indent}  `, out);
      out.push(`${indent}}`);
      return;
    case 'let':
      out.push(`${indent}let ${s.name} = ${numeric(s.init)};`);
      return;
    case 'assign':
      out.push(`${indent}${s.name} = ${numeric(s.value)};`);
      return;
    case 'store':
      out.push(`${indent}b${s.buf}[${expr(s.index)}] = ${numeric(s.value)};`);
      return;
    case 'if':
      out.push(`${indent}if (${expr(s.cond)}) {`);
      for (const inner of s.then) stmt(inner, `${indent}  `, out);
      if (s.else.length > 0) {
        out.push(`${indent}} else {`);
        for (const inner of s.else) stmt(inner, `${indent}  `, out);
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
  for (const s of kernel.body) stmt(s, '  ', lines);
  lines.push('}');
  return lines.join('\n');
}

export type CompiledKernel = (...buffers: ArrayBufferView[]) => void;

/** Compiles printed kernel source into a callable function. */
export function compileKernel(name: string, source: string): CompiledKernel {
  if (!/^k\d+_[A-Za-z0-9]+$/.test(name)) throw new Error(`internal: kernel name ${JSON.stringify(name)} is not a generated identifier`);
  return new Function(`${source}\nreturn ${name};`)() as CompiledKernel;
}
