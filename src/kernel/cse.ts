// Common-subexpression elimination inside each statement of a kernel.
// Inlined producers and select-based activations repeat their operands
// (leakyRelu reads its input in the test and in both branches), so every
// subexpression that occurs twice in one statement is bound to a local once,
// just before the statement. All IR expressions are pure, so evaluating a
// hoisted branch operand early changes no result.

import type { Expr, Stmt } from './ir.ts';

function key(e: Expr): string {
  switch (e.k) {
    case 'num':
      return `${e.t}:${Object.is(e.v, -0) ? '-0' : e.v}`;
    case 'var':
      return `$${e.name}`;
    case 'load':
      return `b${e.buf}[${key(e.index)}]`;
    case 'un':
      return `${e.op}(${key(e.a)})`;
    case 'bin':
      return `${e.op}:${e.t}(${key(e.a)},${key(e.b)})`;
    case 'select':
      return `?(${key(e.cond)},${key(e.a)},${key(e.b)})`;
    case 'cast':
      return `${e.t}(${key(e.a)})`;
  }
}

function children(e: Expr): Expr[] {
  switch (e.k) {
    case 'load':
      return [e.index];
    case 'un':
    case 'cast':
      return [e.a];
    case 'bin':
      return [e.a, e.b];
    case 'select':
      return [e.cond, e.a, e.b];
    default:
      return [];
  }
}

function count(e: Expr, counts: Map<string, number>): void {
  if (e.k === 'num' || e.k === 'var') return;
  const k = key(e);
  const seen = counts.get(k) ?? 0;
  counts.set(k, seen + 1);
  // Children of a repeated subexpression are counted once, with their parent.
  if (seen === 0) for (const c of children(e)) count(c, counts);
}

function rebuild(e: Expr, parts: Expr[]): Expr {
  switch (e.k) {
    case 'load':
      return { ...e, index: parts[0]! };
    case 'un':
    case 'cast':
      return { ...e, a: parts[0]! };
    case 'bin':
      return { ...e, a: parts[0]!, b: parts[1]! };
    case 'select':
      return { ...e, cond: parts[0]!, a: parts[1]!, b: parts[2]! };
    default:
      return e;
  }
}

/** Rewrites one statement's expressions, returning the hoisted lets and the new expressions. */
function hoist(exprs: readonly Expr[], fresh: () => string): { lets: Stmt[]; exprs: Expr[] } {
  const counts = new Map<string, number>();
  for (const e of exprs) count(e, counts);
  const bound = new Map<string, Expr>();
  const lets: Stmt[] = [];
  const rewrite = (e: Expr): Expr => {
    if (e.k === 'num' || e.k === 'var') return e;
    const k = key(e);
    const existing = bound.get(k);
    if (existing !== undefined) return existing;
    const rebuilt = rebuild(e, children(e).map(rewrite));
    if ((counts.get(k) ?? 0) < 2) return rebuilt;
    const name = fresh();
    lets.push({ k: 'let', name, t: e.t, init: rebuilt });
    const ref: Expr = { k: 'var', t: e.t, name };
    bound.set(k, ref);
    return ref;
  };
  return { lets, exprs: exprs.map(rewrite) };
}

/** Applies statement-level CSE to a kernel body. */
export function eliminateCommonSubexpressions(body: readonly Stmt[], fresh: () => string): Stmt[] {
  const out: Stmt[] = [];
  for (const s of body) {
    switch (s.k) {
      case 'for':
        out.push({ ...s, body: eliminateCommonSubexpressions(s.body, fresh) });
        break;
      case 'let': {
        const { lets, exprs } = hoist([s.init], fresh);
        out.push(...lets, { ...s, init: exprs[0]! });
        break;
      }
      case 'assign': {
        const { lets, exprs } = hoist([s.value], fresh);
        out.push(...lets, { ...s, value: exprs[0]! });
        break;
      }
      case 'store': {
        const { lets, exprs } = hoist([s.index, s.value], fresh);
        out.push(...lets, { ...s, index: exprs[0]!, value: exprs[1]! });
        break;
      }
      case 'if': {
        const { lets, exprs } = hoist([s.cond], fresh);
        out.push(...lets, { ...s, cond: exprs[0]!, then: eliminateCommonSubexpressions(s.then, fresh), else: eliminateCommonSubexpressions(s.else, fresh) });
        break;
      }
      default:
        out.push(s);
    }
  }
  return out;
}
