// The WAT printer: the text form of the functions and modules that the
// encoder turns into bytes, for reading. Instructions are printed one per
// line in the linear (unfolded) syntax, indented by block depth, with locals
// and functions by name. Comments come only from generated text or pass
// through `commentText`, which keeps each on one line.

import { commentText } from '../js/codegen.ts';
import type { DefinedFunction, ModuleDescription, ValueType } from './encoder.ts';
import type { Instr } from './opcodes.ts';
import { opcode } from './opcodes.ts';

/** Natural alignment (log2 of the access size) of the memory instructions slope emits. */
const NATURAL_ALIGNMENT: Record<string, number> = {
  'i32.load': 2, 'f32.load': 2, 'f64.load': 3, 'i32.load8_u': 0,
  'i32.store': 2, 'f32.store': 2, 'f64.store': 3, 'i32.store8': 0,
  'v128.load': 4, 'v128.load32_splat': 2, 'v128.load64_splat': 3, 'v128.store': 4,
};

/** The shortest decimal that reads back as the same float32 or float64, in WAT spelling. */
export function floatLiteral(v: number, single: boolean): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  if (!single) return String(v);
  const target = Math.fround(v);
  for (let digits = 1; digits <= 9; digits++) {
    const text = target.toPrecision(digits);
    if (Math.fround(Number(text)) === target) return String(Number(text));
  }
  return String(target);
}

/** A WAT identifier from a generated name; characters outside the identifier set become `_`. */
export function watId(name: string): string {
  return `$${name.replace(/[^0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]/g, '_')}`;
}

function instructionText(instr: Instr, localName: (index: number) => string): string {
  const [op, ...imm] = instr;
  if (op === ';;') return `;; ${commentText(String(imm[0]))}`;
  const info = opcode(op);
  switch (info.imm) {
    case 'none':
    case 'block':
      return op;
    case 'local':
      return `${op} ${localName(Number(imm[0]))}`;
    case 'func':
      return `${op} ${watId(String(imm[0]))}`;
    case 'label':
    case 'lane':
    case 'i32':
      return `${op} ${imm[0]}`;
    case 'f32':
      return `${op} ${floatLiteral(Number(imm[0]), true)}`;
    case 'f64':
      return `${op} ${floatLiteral(Number(imm[0]), false)}`;
    case 'memarg': {
      const parts = [op];
      if (Number(imm[1]) !== 0) parts.push(`offset=${imm[1]}`);
      if (Number(imm[0]) !== NATURAL_ALIGNMENT[op]) parts.push(`align=${2 ** Number(imm[0])}`);
      return parts.join(' ');
    }
    case 'v128': {
      const shape = String(imm[0]);
      const lanes = imm.slice(1).map((v) => (shape === 'i32x4' ? String(v) : floatLiteral(Number(v), shape === 'f32x4')));
      return `${op} ${shape} ${lanes.join(' ')}`;
    }
  }
}

function signature(params: readonly string[], types: readonly ValueType[], results: readonly ValueType[]): string {
  const parts = params.map((name, i) => `(param ${watId(name)} ${types[i]})`);
  if (results.length > 0) parts.push(`(result ${results.join(' ')})`);
  return parts.join(' ');
}

/** Prints one defined function, preceded by `describe` as comment lines. */
export function printFunction(f: DefinedFunction, describe: readonly string[] = [], indent = ''): string {
  const lines = describe.map((d) => `${indent};; ${commentText(d)}`);
  const paramCount = f.type.params.length;
  const head = [`(func ${watId(f.name)}`];
  if (f.exportAs !== undefined) head.push(`(export ${JSON.stringify(f.exportAs)})`);
  const sig = signature(f.localNames.slice(0, paramCount), f.type.params, f.type.results);
  if (sig !== '') head.push(sig);
  lines.push(`${indent}${head.join(' ')}`);
  const inner = `${indent}  `;
  f.locals.forEach((t, i) => lines.push(`${inner}(local ${watId(f.localNames[paramCount + i] ?? `l${paramCount + i}`)} ${t})`));
  const localName = (index: number) => watId(f.localNames[index] ?? `l${index}`);
  let depth = 0;
  for (const instr of f.body) {
    const op = instr[0];
    if (op === 'end' || op === 'else') depth--;
    lines.push(`${inner}${'  '.repeat(Math.max(depth, 0))}${instructionText(instr, localName)}`);
    if (op === 'block' || op === 'loop' || op === 'if' || op === 'else') depth++;
  }
  lines.push(`${indent})`);
  return lines.join('\n');
}

/** Prints a whole module: the memory and function imports, then every function. */
export function printModule(module: ModuleDescription, describe: (f: DefinedFunction) => readonly string[] = () => []): string {
  const m = module.memory;
  const limits = m.shared ? `${m.minPages} ${m.maxPages ?? m.minPages} shared` : m.maxPages === undefined ? `${m.minPages}` : `${m.minPages} ${m.maxPages}`;
  const lines = ['(module', `  (import ${JSON.stringify(m.module)} ${JSON.stringify(m.field)} (memory ${limits}))`];
  for (const f of module.imports) {
    const sig = signature([], [], f.type.results);
    const params = f.type.params.length > 0 ? ` (param ${f.type.params.join(' ')})` : '';
    lines.push(`  (import ${JSON.stringify(f.module)} ${JSON.stringify(f.field)} (func ${watId(f.name)}${params}${sig === '' ? '' : ` ${sig}`}))`);
  }
  for (const f of module.functions) lines.push(printFunction(f, describe(f), '  '));
  lines.push(')');
  return lines.join('\n');
}
