// Graphviz DOT export. Labels are escaped for DOT's quoted strings, so a node
// name cannot end a label or inject attributes.

import type { Graph } from './graph.ts';
import type { Node } from './node.ts';
import { formatType, quoteName } from './printer.ts';

/** Escapes text for a DOT double-quoted string. */
export function escapeDot(text: string): string {
  return text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n|[\r\u2028\u2029]/g, '\\n');
}

export interface DotOptions {
  outputs?: readonly Node[];
  /** Fill colour of a node, such as red for a layer with dead units. */
  color?: (node: Node) => string | undefined;
  /** Extra label line of a node. */
  annotate?: (node: Node) => string | undefined;
}

export function toDot(graph: Graph, options: DotOptions = {}): string {
  const outputs = new Set((options.outputs ?? []).map((n) => n.id));
  const lines = ['digraph slope {', '  rankdir=TB;', '  node [shape=box, fontname="monospace"];'];
  for (const node of graph.nodes) {
    const title = node.name === undefined ? `%${node.id} ${node.op}` : `%${node.id} ${node.op} ${quoteName(node.name)}`;
    const labelLines = [title, formatType(node)];
    const note = options.annotate?.(node);
    if (note !== undefined) labelLines.push(note);
    const attrs = [`label="${labelLines.map(escapeDot).join('\\n')}"`];
    const color = options.color?.(node);
    if (color !== undefined) attrs.push(`style=filled`, `fillcolor="${escapeDot(color)}"`);
    else if (node.op === 'input' || node.op === 'param') attrs.push('style=rounded');
    if (outputs.has(node.id)) attrs.push('peripheries=2');
    lines.push(`  n${node.id} [${attrs.join(', ')}];`);
  }
  for (const node of graph.nodes) {
    node.inputs.forEach((input, i) => lines.push(`  n${input.id} -> n${node.id}${node.inputs.length > 1 ? ` [label="${i}"]` : ''};`));
  }
  lines.push('}');
  return lines.join('\n');
}
