// Fusion: partitions a graph's nodes into groups that each become one kernel.
//
//            x    w                    Groups of leakyRelu(conv2d(x, w) + b):
//             \  /
//            conv2d  <- anchor          one kernel: the conv computes each
//              |  b                     output element in a register, then
//             add                       the epilogue adds b[c] and applies
//              |                        leakyRelu before the single store.
//           leakyRelu
//
// Rules, applied in graph order:
// - An anchor (any op that is not elementwise: matmul, conv, reduction, ...)
//   starts a group whose iteration space is its output shape.
// - An elementwise node joins the latest group that computes one of its
//   inputs, if its shape is that group's shape and every other input it
//   reads is computed by that group or by an earlier one; otherwise it starts
//   a group of its own. Chains and trees of elementwise ops so become one
//   loop, and an anchor absorbs its bias, activation and residual add.
// - An elementwise node that joins no group, and whose consumers are all
//   anchors (or nodes inlined in turn), is inlined: it gets no buffer, and
//   each consuming kernel recomputes it where it loads it. That is how a
//   reduction absorbs its producers.
// - Joining wins over inlining, so a value is computed once where possible:
//   the gradient of an activation, leakyReluGrad(z, dy), becomes the
//   epilogue of the kernel that computes dy (the next layer's
//   conv2dBackpropInput or matmul), and the two conv back-propagation
//   kernels and the bias-gradient reduction read it. When dy is a constant
//   (the gradient of sum(y)), it joins the forward kernel that computes z.
// - reshape is an alias: it shares its input's buffer.
// - A node is stored to a buffer when it is an output or a node outside its
//   group reads it; the others live only in registers.

import type { Node } from '../src/graph/node.ts';
import type { Shape } from '../src/graph/shape.ts';
import { shapesEqual } from '../src/graph/shape.ts';
import { ancestors } from '../src/interp/interpreter.ts';
import { isPointwise } from '../src/kernel/pointwise.ts';

export interface FusionGroup {
  index: number;
  /** The non-elementwise op that the group is built around, if any. */
  anchor?: Node;
  /** Nodes computed by the group's kernel, in graph order (anchor first). */
  nodes: Node[];
  /** The iteration space: the shape of every node of the group but an anchor's inputs. */
  shape: Shape;
}

export interface FusionPlan {
  groups: FusionGroup[];
  /** Elementwise nodes recomputed inside each consuming kernel, by id. */
  inline: ReadonlySet<number>;
  /** reshape nodes by id, mapped to the node whose buffer they share. */
  aliases: ReadonlyMap<number, Node>;
  /** Nodes that get a buffer of their own: group nodes read elsewhere, and outputs. */
  stored: ReadonlySet<number>;
  /** Every node the outputs depend on, in graph order. */
  nodes: readonly Node[];
  outputs: readonly Node[];
}

export interface FuseOptions {
  /** false gives one kernel per op: the baseline that fused kernels are tested against. */
  enabled?: boolean;
}

/** Elementwise in the sense of fusion: computable per output element from its inputs' elements. */
export function isElementwise(node: Node): boolean {
  return isPointwise(node.op) || node.op === 'broadcastTo';
}

function isSource(node: Node): boolean {
  return node.op === 'input' || node.op === 'param' || node.op === 'constant';
}

/** Ops that read each input element many times; only cheap expressions are inlined into them. */
const HEAVY_READERS = new Set(['matmul', 'conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter']);
const CHEAP_OPS = new Set(['neg', 'abs', 'add', 'sub', 'mul', 'maximum', 'minimum', 'relu', 'leakyRelu', 'leakyReluGrad', 'prelu', 'where', 'greater', 'greaterEqual', 'less', 'equal', 'cast', 'broadcastTo', 'stopGradient', 'square']);

/** Maximum number of nodes recomputed per inlined load, to bound repeated work. */
const MAX_INLINE_NODES = 6;

function consumersOf(nodes: readonly Node[]): Map<number, Node[]> {
  const consumers = new Map<number, Node[]>();
  for (const node of nodes) {
    for (const input of node.inputs) {
      const list = consumers.get(input.id) ?? [];
      if (!list.includes(node)) list.push(node);
      consumers.set(input.id, list);
    }
  }
  return consumers;
}

/** Chooses the inlined nodes, visiting consumers before producers. */
function chooseInline(nodes: readonly Node[], consumers: Map<number, Node[]>, outputs: ReadonlySet<number>): Set<number> {
  const inline = new Set<number>();
  const size = new Map<number, number>();
  for (let k = nodes.length - 1; k >= 0; k--) {
    const node = nodes[k]!;
    if (!isElementwise(node) || outputs.has(node.id)) continue;
    const users = consumers.get(node.id) ?? [];
    if (users.length === 0) continue;
    const heavy = users.some((u) => HEAVY_READERS.has(u.op));
    const accepted = users.every((u) => inline.has(u.id) || (!isElementwise(u) && u.op !== 'reshape'));
    if (!accepted || (heavy && !CHEAP_OPS.has(node.op))) continue;
    const cost = 1 + node.inputs.reduce((n, i) => n + (inline.has(i.id) ? (size.get(i.id) ?? 1) : 0), 0);
    if (cost > MAX_INLINE_NODES) continue;
    inline.add(node.id);
    size.set(node.id, cost);
  }
  // A producer was sized before its consumers' sizes settled; drop inlines whose subtree grew too large.
  for (const node of nodes) {
    if (!inline.has(node.id)) continue;
    const cost = 1 + node.inputs.reduce((n, i) => n + (inline.has(i.id) ? (size.get(i.id) ?? 1) : 0), 0);
    if (cost > MAX_INLINE_NODES) inline.delete(node.id);
    else size.set(node.id, cost);
  }
  return inline;
}

/** Partitions the nodes that the outputs need into fusion groups. */
export function fuse(outputs: readonly Node[], options: FuseOptions = {}): FusionPlan {
  const enabled = options.enabled ?? true;
  const nodes = ancestors(outputs);
  const outputIds = new Set(outputs.map((o) => o.id));
  const consumers = consumersOf(nodes);
  const inline = enabled ? chooseInline(nodes, consumers, outputIds) : new Set<number>();

  const groups: FusionGroup[] = [];
  const groupOf = new Map<number, FusionGroup>();
  const aliases = new Map<number, Node>();

  for (const node of nodes) {
    if (isSource(node)) continue;
    let target: FusionGroup | undefined;
    if (enabled && isElementwise(node)) target = joinableGroup(node, groupOf, inline, aliases);
    if (target === undefined && inline.has(node.id)) continue;
    inline.delete(node.id);
    if (node.op === 'reshape') {
      const source = node.inputs[0]!;
      aliases.set(node.id, aliases.get(source.id) ?? source);
      continue;
    }
    if (target === undefined) {
      target = { index: groups.length, nodes: [], shape: node.shape, ...(isElementwise(node) ? {} : { anchor: node }) };
      groups.push(target);
    }
    target.nodes.push(node);
    groupOf.set(node.id, target);
  }

  const stored = new Set<number>();
  const markStored = (node: Node) => {
    const alias = aliases.get(node.id);
    if (alias !== undefined) markStored(alias);
    else if (!isSource(node) && !inline.has(node.id)) stored.add(node.id);
  };
  for (const node of nodes) {
    if (outputIds.has(node.id)) markStored(node);
    const group = groupOf.get(node.id);
    for (const input of node.inputs) {
      // An input read by another group, by an alias or by an inlined expression needs a buffer.
      if (group === undefined || groupOf.get(input.id) !== group) markStored(input);
    }
  }
  return { groups, inline, aliases, stored, nodes, outputs };
}

/**
 * Returns the index of the last group that computes part of a node's value:
 * its own group, its source's through a reshape alias, or for an inlined node
 * the latest among its inputs. Sources give -1.
 */
function producerIndex(node: Node, groupOf: Map<number, FusionGroup>, inline: ReadonlySet<number>, aliases: ReadonlyMap<number, Node>): number {
  const group = groupOf.get(node.id);
  if (group !== undefined) return group.index;
  const source = aliases.get(node.id);
  if (source !== undefined) return producerIndex(source, groupOf, inline, aliases);
  if (inline.has(node.id)) return Math.max(-1, ...node.inputs.map((i) => producerIndex(i, groupOf, inline, aliases)));
  return -1;
}

/**
 * Returns the latest group that `node` may join, or undefined. Every input
 * that the group does not compute itself must be complete before the group
 * runs: computed by an earlier group, directly, through a reshape alias or
 * inside an inlined expression. Inside the group such an element would not
 * be computed yet.
 */
function joinableGroup(node: Node, groupOf: Map<number, FusionGroup>, inline: ReadonlySet<number>, aliases: ReadonlyMap<number, Node>): FusionGroup | undefined {
  const inputGroups = node.inputs.map((i) => groupOf.get(i.id));
  const candidates = [...new Set(inputGroups.filter((g): g is FusionGroup => g !== undefined))].sort((a, b) => b.index - a.index);
  for (const group of candidates) {
    if (!shapesEqual(group.shape, node.shape)) continue;
    const ordered = node.inputs.every((input, i) => inputGroups[i] === group || producerIndex(input, groupOf, inline, aliases) < group.index);
    if (ordered) return group;
  }
  return undefined;
}
