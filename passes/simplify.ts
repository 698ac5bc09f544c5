// simplify: rebuilds a program's graph with only what its outputs need.
//
// - dead-code elimination: nodes the outputs do not depend on are dropped,
//   except inputs and params, which keep their names for feeds and updates;
// - constant folding: an op whose inputs are all constants becomes a constant
//   (up to MAX_FOLDED_ELEMENTS elements), evaluated by the reference semantics;
//   an elementwise op of broadcast scalars becomes a broadcast scalar;
// - algebraic identities: x*1, 1*x, x+0, 0+x, x-0, x/1, neg(neg x), reshape of
//   reshape, reshape or broadcastTo to the same shape, transpose of transpose,
//   cast to the same dtype, and stopGradient (gradients are already built).
//   x*0 is never rewritten to 0, because x may be NaN or infinite;
// - common-subexpression elimination: two nodes with one op, the same inputs
//   and equal attributes become one. Inputs and params are never merged.

import { Graph } from '../src/graph/graph.ts';
import type { Node } from '../src/graph/node.ts';
import { shapesEqual } from '../src/graph/shape.ts';
import { ancestors } from '../src/interp/interpreter.ts';
import type { OpName } from '../src/ops/attrs.ts';
import type { OpDef } from '../src/ops/def.ts';
import { registry } from '../src/ops/index.ts';
import type { Program } from './program.ts';
import { isPointwise } from '../src/kernel/pointwise.ts';

const MAX_FOLDED_ELEMENTS = 4096;

function attrKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Float64Array ? Array.from(v, (x) => (Object.is(x, -0) ? '-0' : String(x))) : v));
}

/** Returns the single value of a constant node, if it is a constant with all elements equal. */
function uniformValue(node: Node): number | undefined {
  if (!node.is('constant')) return undefined;
  const values = node.attrs.value;
  const first = values[0];
  return first !== undefined && values.every((v) => Object.is(v, first)) ? first : undefined;
}

/** Returns the value of a node that is one number broadcast everywhere: a uniform constant or a broadcast of one. */
function scalarOf(node: Node): number | undefined {
  if (node.is('broadcastTo')) return scalarOf(node.inputs[0]!);
  return uniformValue(node);
}

function composePermutations(inner: readonly number[], outer: readonly number[]): number[] {
  return outer.map((p) => inner[p]!);
}

/** Returns a node equivalent to `node` (with already-rewritten inputs), or undefined to copy it as is. */
function identity(graph: Graph, node: Node, inputs: readonly Node[]): Node | undefined {
  const [a, b] = inputs;
  const same = (x: Node | undefined): x is Node => x !== undefined && shapesEqual(x.shape, node.shape) && x.dtype === node.dtype;
  switch (node.op) {
    case 'mul':
      if (uniformValue(b!) === 1 && same(a)) return a;
      if (uniformValue(a!) === 1 && same(b)) return b;
      return undefined;
    case 'add':
      if (uniformValue(b!) === 0 && same(a)) return a;
      if (uniformValue(a!) === 0 && same(b)) return b;
      return undefined;
    case 'sub':
      return uniformValue(b!) === 0 && same(a) ? a : undefined;
    case 'div':
      return uniformValue(b!) === 1 && same(a) ? a : undefined;
    case 'neg':
      return a!.is('neg') ? a.inputs[0] : undefined;
    case 'stopGradient':
      return a;
    case 'cast':
      return same(a) ? a : undefined;
    case 'broadcastTo':
      return same(a) ? a : undefined;
    case 'reshape': {
      const source: Node = inputs[0]!;
      if (shapesEqual(source.shape, node.shape)) return source;
      return source.is('reshape') ? graph.reshape(source.inputs[0]!, node.shape) : undefined;
    }
    case 'transpose': {
      const perm = (node as Node<'transpose'>).attrs.perm;
      if (perm.every((p, i) => p === i)) return a;
      if (!a!.is('transpose')) return undefined;
      const composed = composePermutations(a.attrs.perm, perm);
      return composed.every((p, i) => p === i) ? a.inputs[0] : graph.transpose(a.inputs[0]!, composed);
    }
    default:
      return undefined;
  }
}

export interface SimplifyOptions {
  fold?: boolean;
  identities?: boolean;
  cse?: boolean;
}

/** Rebuilds the program's graph, simplified. The input program is not changed. */
export function simplify(program: Program, options: SimplifyOptions = {}): Program {
  const { fold = true, identities = true, cse = true } = options;
  const out = new Graph(program.graph.seed);
  const mapped = new Map<number, Node>();
  const seen = new Map<string, Node>();

  // Every input and param is kept, needed or not, so feeds and params keep their names.
  const needed = new Set(ancestors(program.outputs).map((n) => n.id));
  const kept = program.graph.nodes.filter((n) => needed.has(n.id) || n.op === 'input' || n.op === 'param');
  for (const node of kept) {
    const inputs = node.inputs.map((i) => mapped.get(i.id)!);
    let result: Node | undefined;

    if (node.is('input')) result = out.input(node.name!, node.shape, node.dtype);
    else if (node.is('param')) result = out.param(node.name!, node.shape, { init: node.attrs.init, dtype: node.dtype });
    else {
      if (identities) result = identity(out, node, inputs);
      // broadcastTo and reshape of constants stay unfolded: folding would only copy values into a buffer.
      const movesOnly = node.op === 'broadcastTo' || (node.op === 'reshape' && node.size > 1);
      // An elementwise op of broadcast scalars is a broadcast scalar: fold it without materialising the tensor.
      if (result === undefined && fold && isPointwise(node.op) && inputs.length > 0 && inputs.every((i) => scalarOf(i) !== undefined)) {
        const def = registry[node.op] as OpDef<OpName>;
        const scalars = inputs.map((i) => ({ shape: [], dtype: i.dtype, data: Float64Array.of(scalarOf(i)!) }));
        const value = def.evaluate(scalars, node.attrs, { shape: [], dtype: node.dtype })[0]!;
        result = out.fill(value, node.shape, node.dtype);
      }
      if (result === undefined && fold && !movesOnly && inputs.length > 0 && inputs.every((i) => i.is('constant')) && node.size <= MAX_FOLDED_ELEMENTS) {
        const def = registry[node.op] as OpDef<OpName>;
        const tensors = inputs.map((i) => ({ shape: i.shape, dtype: i.dtype, data: (i as Node<'constant'>).attrs.value }));
        result = out.constant(def.evaluate(tensors, node.attrs, { shape: node.shape, dtype: node.dtype }), node.shape, node.dtype);
      }
      if (result === undefined) {
        const key = `${node.op}(${inputs.map((i) => i.id).join(',')})${attrKey(node.attrs)}`;
        const existing = cse ? seen.get(key) : undefined;
        result = existing ?? out.addNode(node.op, inputs, node.attrs as never, node.name);
        if (cse) seen.set(key, result);
      }
      if (cse && result.is('constant')) {
        const key = `constant${attrKey(result.attrs)}`;
        const existing = seen.get(key);
        if (existing !== undefined && existing !== result) result = existing;
        else seen.set(key, result);
      }
    }
    mapped.set(node.id, result);
  }
  const simplified = { graph: out, outputs: program.outputs.map((o) => mapped.get(o.id)!) };
  // Rewrites can orphan nodes built before them (a folded constant's old inputs); copy once more without them.
  const live = new Set(ancestors(simplified.outputs).map((n) => n.id));
  const orphans = out.nodes.some((n) => !live.has(n.id) && n.op !== 'input' && n.op !== 'param');
  return !orphans ? simplified : simplify(simplified, { fold: false, identities: false, cse: false });
}
