// The graph verifier: re-checks every node of a graph (references, arity,
// attributes, shape and dtype) against the op registry. Tests run it after
// every pass.

import { GraphError } from '../errors.ts';
import { registry } from '../ops/index.ts';
import type { OpDef, OpName } from '../ops/index.ts';
import { OpSite } from '../ops/def.ts';
import type { Graph } from './graph.ts';
import { formatShape, shapesEqual } from './shape.ts';

/** Throws a GraphError listing every broken invariant, or returns the graph. */
export function verify(graph: Graph): Graph {
  const problems: string[] = [];
  const names = new Map<string, number>();
  graph.nodes.forEach((node, index) => {
    const where = `${node.label} (${node.op})`;
    if (node.id !== index) problems.push(`${where}: id ${node.id} is not its index ${index}`);
    if (node.graph !== graph) problems.push(`${where}: belongs to another graph`);
    if (!Object.hasOwn(registry, node.op)) {
      problems.push(`${where}: unknown op`);
      return;
    }
    for (const input of node.inputs) {
      if (input.graph !== graph || graph.nodes[input.id] !== input) problems.push(`${where}: input ${input.label} is not a node of this graph`);
      else if (input.id >= node.id) problems.push(`${where}: input ${input.label} does not come before it`);
    }
    if (node.op === 'input' || node.op === 'param') {
      const other = names.get(node.name ?? '');
      if (node.name === undefined) problems.push(`${where}: has no name`);
      else if (other !== undefined) problems.push(`${where}: name ${JSON.stringify(node.name)} is also used by %${other}`);
      else names.set(node.name, node.id);
    }
    const def = registry[node.op] as OpDef<OpName>;
    if (def.arity !== 'variadic' && def.arity !== node.inputs.length) problems.push(`${where}: has ${node.inputs.length} inputs, expected ${def.arity}`);
    try {
      const site = new OpSite(node.op, node.id, node.name);
      const attrs = def.attrs(node.attrs as never, site, node.inputs);
      const info = def.infer(node.inputs, attrs, site);
      if (!shapesEqual(info.shape, node.shape)) problems.push(`${where}: shape ${formatShape(node.shape)}, but its op infers ${formatShape(info.shape)}`);
      if (info.dtype !== node.dtype) problems.push(`${where}: dtype ${node.dtype}, but its op infers ${info.dtype}`);
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) throw new GraphError(`Error in verify: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  return graph;
}
