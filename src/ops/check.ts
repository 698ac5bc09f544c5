// Attribute and input checks shared by the op definitions. Each throws a
// typed error whose message names the op, the node and what was allowed.

import { AttributeError, DTypeError } from '../errors.ts';
import type { DType } from '../graph/dtype.ts';
import { isFloat } from '../graph/dtype.ts';
import type { Shape } from '../graph/shape.ts';
import { formatShape, normalizeAxis } from '../graph/shape.ts';
import type { OpSite, TypeInfo } from './def.ts';

/** A finite number, or a typed error naming the attribute. */
export function finiteNumber(site: OpSite, key: string, value: unknown, fallback?: number): number {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw site.error(AttributeError, `${key} must be a finite number, got ${describeValue(v)}`);
  }
  return v;
}

export function integer(site: OpSite, key: string, value: unknown, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw site.error(AttributeError, `${key} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${describeValue(value)}`);
  }
  return value;
}

export function integerList(site: OpSite, key: string, value: unknown, min = -Infinity): number[] {
  if (!Array.isArray(value)) throw site.error(AttributeError, `${key} must be an array of integers, got ${describeValue(value)}`);
  return value.map((v, i) => integer(site, `${key}[${i}]`, v, min));
}

export function boolean(site: OpSite, key: string, value: unknown, fallback: boolean): boolean {
  const v = value === undefined ? fallback : value;
  if (typeof v !== 'boolean') throw site.error(AttributeError, `${key} must be a boolean, got ${describeValue(v)}`);
  return v;
}

/** Returns whether a number can be stored in a tensor of the dtype: an int32 integer, or 0 or 1 for bool. */
export function representable(dtype: DType, value: number): boolean {
  if (dtype === 'int32') return Number.isInteger(value) && value >= -2147483648 && value <= 2147483647;
  if (dtype === 'bool') return value === 0 || value === 1;
  return true;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Resolves one axis against a rank, or throws naming the allowed range. */
export function axis(site: OpSite, key: string, value: unknown, rank: number): number {
  const a = integer(site, key, value);
  const resolved = normalizeAxis(a, rank);
  if (resolved === undefined) throw site.error(AttributeError, `${key} ${a} is out of range for rank ${rank}; allowed: ${-rank}..${rank - 1}`);
  return resolved;
}

export function requireFloat(site: OpSite, input: TypeInfo, which = 'input'): void {
  if (!isFloat(input.dtype)) throw site.error(DTypeError, `${which} must be float32 or float64, got ${input.dtype}`);
}

export function requireDType(site: OpSite, input: TypeInfo, allowed: readonly DType[], which = 'input'): void {
  if (!allowed.includes(input.dtype)) throw site.error(DTypeError, `${which} must be ${allowed.join(' or ')}, got ${input.dtype}`);
}

/** Requires two inputs to share a dtype (no implicit promotion, as in TensorFlow). */
export function sameDType(site: OpSite, inputs: readonly TypeInfo[]): DType {
  const first = inputs[0]!.dtype;
  for (const input of inputs) {
    if (input.dtype !== first) {
      throw site.error(DTypeError, `inputs must have one dtype, got ${inputs.map((i) => i.dtype).join(' and ')}; insert a cast`);
    }
  }
  return first;
}

export function requireRank(site: OpSite, shape: Shape, rank: number, which: string): void {
  if (shape.length !== rank) throw site.error(AttributeError, `${which} must have rank ${rank}, got shape ${formatShape(shape)}`);
}
