// The reference interpreter: evaluates a graph in float64, op by op, with no
// passes. It favours being obviously right over being fast, and every backend,
// pass and gradient is tested against it.

import { FeedError, GraphError, InternalError } from '../errors.ts';
import type { Feeds } from '../graph/feeds.ts';
import { feedToFloat64, validateFeeds } from '../graph/feeds.ts';
import { initialize } from '../graph/init.ts';
import type { Node } from '../graph/node.ts';
import { sizeOf } from '../graph/shape.ts';
import { registry } from '../ops/index.ts';
import type { OpDef, OpName } from '../ops/index.ts';
import type { Tensor } from './tensor.ts';

export interface EvaluateOptions {
  /** Param values by name; params not given take their initializer's values. */
  params?: Readonly<Record<string, ArrayLike<number>>>;
}

/** Lists the nodes that the outputs depend on, in id (topological) order. */
export function ancestors(outputs: readonly Node[]): Node[] {
  const seen = new Map<number, Node>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node.id)) continue;
    seen.set(node.id, node);
    stack.push(...node.inputs);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

/** Returns the value of a param: the given override, or its initializer's values. */
export function paramValue(node: Node<'param'>, override?: ArrayLike<number>): Float64Array {
  if (override === undefined) return initialize(node.attrs.init, node.shape);
  if (override.length !== sizeOf(node.shape)) {
    throw new FeedError(`Error in evaluate: param ${JSON.stringify(node.name)} needs ${sizeOf(node.shape)} elements, got ${override.length}`);
  }
  return Float64Array.from(override);
}

/** Evaluates the outputs in float64. Feeds are checked before any op runs. */
export function evaluate(outputs: readonly Node[], feeds: Feeds = {}, options: EvaluateOptions = {}): Tensor[] {
  if (outputs.length === 0) return [];
  const graph = outputs[0]!.graph;
  outputs.forEach((o, i) => {
    if (o.graph !== graph) {
      throw new GraphError(`Error in evaluate: outputs[${i}] ${o.label} belongs to another graph than outputs[0] ${outputs[0]!.label}; evaluate the outputs of each graph separately`);
    }
  });

  const order = ancestors(outputs);
  const needed = order.filter((n) => n.op === 'input');
  validateFeeds(feeds, needed, graph.inputs, 'evaluate');
  const paramNames = new Set(graph.params.map((p) => p.name));
  for (const name of Object.keys(options.params ?? {})) {
    if (!paramNames.has(name)) throw new FeedError(`Error in evaluate: unknown param ${JSON.stringify(name)}; the graph's params are ${[...paramNames].map((n) => JSON.stringify(n)).join(', ') || '(none)'}`);
  }

  const values = new Map<number, Tensor>();
  for (const node of order) {
    let data: Float64Array;
    if (node.is('input')) data = feedToFloat64(feeds[node.name!]!);
    else if (node.is('param')) data = paramValue(node, options.params?.[node.name!]);
    else {
      const inputs = node.inputs.map((i) => values.get(i.id)!);
      const def = registry[node.op] as OpDef<OpName>;
      data = def.evaluate(inputs, node.attrs, { shape: node.shape, dtype: node.dtype });
    }
    if (data.length !== sizeOf(node.shape)) throw new InternalError(`${node.op} ${node.label} produced ${data.length} values for shape [${node.shape.join(',')}]`);
    values.set(node.id, { shape: node.shape, dtype: node.dtype, data });
  }
  return outputs.map((o) => values.get(o.id)!);
}
