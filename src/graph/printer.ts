// The text form of a graph: one line per node, in the spirit of a jaxpr.
//
//   %0:f32[2,3] = input "x"
//   %2:f32[2,3] = add %0 %1
//   %3:f32[2,3] = leakyRelu %2 alpha=0.2    # "hidden"
//
// User strings (names) are printed as JSON string literals, with the line
// separators that JSON leaves raw escaped too, so a name cannot break the
// line structure.

import type { InitSpec } from './init.ts';
import type { Graph } from './graph.ts';
import type { Node } from './node.ts';
import { shortDType } from './dtype.ts';

const MAX_INLINE_VALUES = 8;

/**
 * Quotes a user string as a JSON string literal and also escapes U+0085,
 * U+2028 and U+2029, which JSON.stringify leaves raw but many editors and
 * line splitters treat as line breaks.
 */
export function quoteName(text: string): string {
  return JSON.stringify(text).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function formatNumber(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

function formatValues(values: Float64Array): string {
  const shown = Array.from(values.subarray(0, MAX_INLINE_VALUES), formatNumber);
  if (values.length > MAX_INLINE_VALUES) shown.push(`... ${values.length} values`);
  return values.length === 1 ? shown[0]! : `[${shown.join(', ')}]`;
}

function formatInit(init: InitSpec): string {
  switch (init.kind) {
    case 'zeros':
    case 'ones':
      return init.kind;
    case 'constant':
      return `constant(${formatNumber(init.value)})`;
    case 'values':
      return `values(${init.values.length})`;
    case 'normal':
      return `normal(mean=${init.mean}, std=${init.std}, seed=${init.seed})`;
    case 'uniform':
      return `uniform(low=${init.low}, high=${init.high}, seed=${init.seed})`;
    default:
      return `${init.kind}(seed=${init.seed})`;
  }
}

function formatAttr(key: string, value: unknown): string {
  if (value instanceof Float64Array) return formatValues(value);
  if (key === 'init') return `init=${formatInit(value as InitSpec)}`;
  if (typeof value === 'number') return `${key}=${formatNumber(value)}`;
  if (typeof value === 'string' || typeof value === 'boolean') return `${key}=${String(value)}`;
  return `${key}=${JSON.stringify(value)}`;
}

/** Formats the type of a node as the printer writes it: `f32[2,3]`. */
export function formatType(node: Node): string {
  return `${shortDType(node.dtype)}[${node.shape.join(',')}]`;
}

/** Formats one line for one node, without its name comment. */
export function formatNode(node: Node): string {
  const parts = [`%${node.id}:${formatType(node)} = ${node.op}`];
  if (node.op === 'input' || node.op === 'param') parts.push(node.name === undefined ? '<no name>' : quoteName(node.name));
  for (const input of node.inputs) parts.push(`%${input.id}`);
  for (const [key, value] of Object.entries(node.attrs as object)) {
    if (key === 'shape' || key === 'dtype') {
      if (node.op === 'input' || node.op === 'param' || node.op === 'constant') continue;
    }
    if (key === 'transposeA' || key === 'transposeB' || key === 'keepDims') {
      if (value === false) continue;
    }
    parts.push(formatAttr(key, value));
  }
  return parts.join(' ');
}

export interface PrintOptions {
  outputs?: readonly Node[];
  /** Extra text appended to a node's line as a comment, such as a dead-unit mark. */
  annotate?: (node: Node) => string | undefined;
}

export function printGraph(graph: Graph, options: PrintOptions = {}): string {
  const lines: string[] = [];
  for (const node of graph.nodes) {
    let line = formatNode(node);
    const notes: string[] = [];
    if (node.name !== undefined && node.op !== 'input' && node.op !== 'param') notes.push(quoteName(node.name));
    const extra = options.annotate?.(node);
    if (extra !== undefined) notes.push(extra.replace(/[\r\n\u2028\u2029]/g, ' '));
    if (notes.length > 0) line += `    # ${notes.join(' ')}`;
    lines.push(line);
  }
  if (options.outputs !== undefined) lines.push(`outputs: ${options.outputs.map((n) => `%${n.id}`).join(', ')}`);
  return lines.join('\n');
}
