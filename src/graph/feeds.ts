// Validation of the values fed to a run. Everything is checked before any
// work starts: a missing, unexpected, wrongly sized or wrongly typed feed is
// a FeedError naming the input, its shape and dtype.

import { FeedError } from '../errors.ts';
import type { DType } from './dtype.ts';
import { shortDType } from './dtype.ts';
import type { Node } from './node.ts';
import { formatShape, sizeOf } from './shape.ts';

export type FeedValue = Float32Array | Float64Array | Int32Array | Uint8Array | readonly number[] | readonly boolean[];

export type Feeds = Readonly<Record<string, FeedValue>>;

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'Array';
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function accepts(dtype: DType, value: FeedValue): boolean {
  switch (dtype) {
    case 'float32':
    case 'float64':
      return value instanceof Float32Array || value instanceof Float64Array || (Array.isArray(value) && value.every((v) => typeof v === 'number'));
    case 'int32':
      return value instanceof Int32Array || (Array.isArray(value) && value.every((v) => Number.isInteger(v)));
    case 'bool':
      return value instanceof Uint8Array || (Array.isArray(value) && value.every((v) => typeof v === 'boolean' || v === 0 || v === 1));
  }
}

const ACCEPTED: Record<DType, string> = {
  float32: 'a Float32Array, a Float64Array or an array of numbers',
  float64: 'a Float64Array, a Float32Array or an array of numbers',
  int32: 'an Int32Array or an array of integers',
  bool: 'a Uint8Array or an array of booleans',
};

/**
 * Checks feeds against the graph inputs a run needs. `known` lists every
 * input of the graph, so a feed for an input the outputs do not need is
 * accepted; a name that is no input at all is an error.
 */
export function validateFeeds(feeds: Feeds, needed: readonly Node[], known: readonly Node[], where = 'run'): void {
  if (typeof feeds !== 'object' || feeds === null) throw new FeedError(`Error in ${where}: feeds must be an object mapping input names to arrays, got ${typeName(feeds)}`);
  const names = new Set(known.map((n) => n.name));
  const unknown = Object.keys(feeds).filter((k) => !names.has(k));
  if (unknown.length > 0) {
    const list = known.map((n) => `${JSON.stringify(n.name)} ${shortDType(n.dtype)}${formatShape(n.shape)}`).join(', ');
    throw new FeedError(`Error in ${where}: unknown feed${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the graph's inputs are ${list || '(none)'}`);
  }
  const missing = needed.filter((n) => !Object.hasOwn(feeds, n.name!));
  if (missing.length > 0) {
    const list = missing.map((n) => `${JSON.stringify(n.name)} ${shortDType(n.dtype)}${formatShape(n.shape)}`).join(', ');
    throw new FeedError(`Error in ${where}: missing feed${missing.length > 1 ? 's' : ''} for ${list}`);
  }
  for (const node of known) {
    if (!Object.hasOwn(feeds, node.name!)) continue;
    const value = feeds[node.name!]!;
    const subject = `Error in ${where}: feed ${JSON.stringify(node.name)} (${shortDType(node.dtype)}${formatShape(node.shape)})`;
    if (!ArrayBuffer.isView(value) && !Array.isArray(value)) throw new FeedError(`${subject} must be ${ACCEPTED[node.dtype]}, got ${typeName(value)}`);
    if (!accepts(node.dtype, value)) throw new FeedError(`${subject} has the wrong dtype: expected ${ACCEPTED[node.dtype]}, got ${typeName(value)}`);
    const expected = sizeOf(node.shape);
    if (value.length !== expected) throw new FeedError(`${subject} needs ${expected} elements, got ${value.length}`);
  }
}

/** Copies a validated feed into float64 storage. */
export function feedToFloat64(value: FeedValue): Float64Array {
  const out = new Float64Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = Number(value[i]);
  return out;
}
