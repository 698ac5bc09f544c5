// Comparison helpers shared by the backend tests.

import { expect } from 'vitest';
import { compile } from '../../src/index.ts';
import type { CompileOptions, Executable, Feeds, Node, OutputArray } from '../../src/index.ts';
import { webAssembly } from '../../src/backend/wasm/host.ts';

/** Compiles on a backend, checks that a wasm module validates, and runs with the feeds the compiled graph reads. */
export function compileAndRun(outputs: readonly Node[], feeds: Feeds, options: CompileOptions): { exe: Executable; results: OutputArray[] } {
  const exe = compile(outputs, options);
  if (exe.backend === 'wasm') expect(webAssembly()!.validate(exe.moduleBytes!)).toBe(true);
  const names = new Set(exe.graph.inputs.map((n) => n.name));
  return { exe, results: exe.run(Object.fromEntries(Object.entries(feeds).filter(([name]) => names.has(name)))) };
}

/** Same bits, NaN matching NaN. */
/** Formats a number so that -0 reads as -0. */
function show(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

export function expectIdentical(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i]) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      expect.fail(`${label}, element ${i}: ${show(actual[i]!)} is not ${show(expected[i]!)}`);
    }
  }
}

/** Within atol + rtol |expected|; NaN and infinities must match exactly. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) expect.fail(`${label}, element ${i}: ${a} is not ${e}`);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) expect.fail(`${label}, element ${i}: ${a} is not within tolerance of ${e}`);
  }
}

/** Largest finite magnitude in the data, at least 1. */
export function magnitude(data: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i]!)) m = Math.max(m, Math.abs(data[i]!));
  return m;
}
