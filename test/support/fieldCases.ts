// Reads the JSON files of field cases: small computations that some
// framework once got wrong, with their inputs, expected values (computed in
// float64) and the tolerance a result must meet. Tensors are
// {dtype, shape, values} with nested value lists, and non-finite numbers are
// the strings "NaN", "Infinity" and "-Infinity".

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tolerance } from './tolerance.ts';

export interface CaseTensor {
  dtype: string;
  shape: number[];
  /** Row-major values; float32 tensors are rounded to float32. */
  values: Float64Array;
}

export interface FieldCase {
  id: string;
  description: string;
  inputs: Record<string, unknown>;
  expected: Record<string, unknown>;
  tolerance: Record<string, unknown>;
}

/** Reads a case file, or throws naming the missing path. */
export function loadCase(url: URL): FieldCase {
  const path = fileURLToPath(url);
  if (!existsSync(path)) {
    throw new Error(`field case file not found: ${path}; the cases folder must be present beside the repository folder`);
  }
  const data = JSON.parse(readFileSync(path, 'utf8')) as FieldCase;
  for (const key of ['id', 'inputs', 'expected', 'tolerance'] as const) {
    if (data[key] === undefined) throw new Error(`field case ${path} is missing the "${key}" field`);
  }
  return data;
}

/** Converts a JSON number or one of the strings "NaN", "Infinity", "-Infinity". */
export function parseNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw new Error(`invalid number in a field case: ${JSON.stringify(value)}`);
}

function flatten(values: unknown): number[] {
  return Array.isArray(values) ? values.flatMap(flatten) : [parseNumber(values)];
}

function lookup(data: FieldCase, section: 'inputs' | 'expected', key: string): unknown {
  const value = data[section][key];
  if (value === undefined) throw new Error(`field case ${data.id} has no ${section}.${key}`);
  return value;
}

/** Converts a {dtype, shape, values} object to a CaseTensor and checks its size. */
export function toTensor(data: FieldCase, spec: unknown, label: string): CaseTensor {
  const { dtype, shape, values } = spec as { dtype?: string; shape?: number[]; values?: unknown };
  if (typeof dtype !== 'string' || !Array.isArray(shape)) throw new Error(`field case ${data.id}: ${label} is not a {dtype, shape, values} tensor`);
  const flat = flatten(values);
  const size = shape.reduce((n, d) => n * d, 1);
  if (flat.length !== size) throw new Error(`field case ${data.id}: ${label} has ${flat.length} values for shape [${shape.join(',')}]`);
  const rounded = dtype === 'float32' ? flat.map(Math.fround) : flat;
  return { dtype, shape, values: Float64Array.from(rounded) };
}

/** Returns inputs[key] as a tensor. */
export function inputTensor(data: FieldCase, key: string): CaseTensor {
  return toTensor(data, lookup(data, 'inputs', key), `inputs.${key}`);
}

/** Returns expected[key] as a tensor. */
export function expectedTensor(data: FieldCase, key: string): CaseTensor {
  return toTensor(data, lookup(data, 'expected', key), `expected.${key}`);
}

/** Returns a plain number from inputs or expected ("NaN" and infinities included). */
export function caseNumber(data: FieldCase, section: 'inputs' | 'expected', key: string): number {
  return parseNumber(lookup(data, section, key));
}

/**
 * Returns the tolerance for an expected key: the case's single tolerance,
 * or its "default" entry overridden by an entry named after the key.
 */
export function caseTolerance(data: FieldCase, key?: string): Tolerance {
  const table = data.tolerance as Record<string, Record<string, unknown> | unknown>;
  const isTable = typeof table['default'] === 'object';
  const base = (isTable ? table['default'] : table) as Record<string, unknown>;
  const specific = isTable && key !== undefined && typeof table[key] === 'object' ? (table[key] as Record<string, unknown>) : {};
  const merged = { ...base, ...specific };
  const rtol = merged['rtol'];
  const atol = merged['atol'];
  if (typeof rtol !== 'number' || typeof atol !== 'number') throw new Error(`field case ${data.id}: tolerance for ${key ?? 'its values'} has no numeric rtol and atol`);
  return {
    rtol,
    atol,
    nanEqual: merged['nan_equal'] === true,
    signedZeroMatters: merged['signed_zero_matters'] === true,
  };
}
