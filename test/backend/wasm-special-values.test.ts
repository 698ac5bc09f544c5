// NaN, infinities and signed zeros through the relu family and its
// gradient on the wasm backend, with SIMD on and off, against the
// interpreter element for element. The inputs have 11 elements, so the
// SIMD loop and its scalar tail both see special values.

import { describe, expect, it } from 'vitest';
import { evaluate, graph } from '../../src/index.ts';
import type { DType, Node } from '../../src/index.ts';
import { compileAndRun, expectIdentical } from './compare.ts';

const X = [NaN, Infinity, -Infinity, 0, -0, 1.5, -1.5, 3e-40, -3e-40, NaN, -0];
const DY = [2, -3, Infinity, -Infinity, NaN, -0, 0, 1.25, -2, 7, 0.5];

/** Alphas that float32 represents exactly, so float32 results equal the interpreter's rounded to float32. */
const ALPHAS = [0, 1, 5, -0.5, 0.25];

const CASES: readonly { label: string; build: (x: Node, dy: Node) => Node }[] = [
  { label: 'relu', build: (x) => x.relu() },
  ...ALPHAS.map((alpha) => ({ label: `leakyRelu(${alpha})`, build: (x: Node) => x.leakyRelu(alpha) })),
  ...ALPHAS.map((alpha) => ({ label: `leakyReluGrad(${alpha})`, build: (x: Node, dy: Node) => x.graph.leakyReluGrad(x, dy, alpha) })),
  { label: 'prelu', build: (x, dy) => x.prelu(dy) },
  { label: 'maximum', build: (x, dy) => x.maximum(dy) },
  { label: 'abs', build: (x) => x.abs() },
  { label: 'sign', build: (x) => x.sign() },
];

describe.each<DType>(['float32', 'float64'])('special values in %s', (dtype) => {
  it.each(CASES.flatMap((c) => [true, false].map((simd) => [c.label, simd, c] as const)))('%s with SIMD %s matches the interpreter', (_label, simd, c) => {
    const g = graph();
    const x = g.input('x', [X.length], dtype);
    const dy = g.input('dy', [DY.length], dtype);
    const y = c.build(x, dy);
    const feeds = dtype === 'float32' ? { x: Float32Array.from(X), dy: Float32Array.from(DY) } : { x: Float64Array.from(X), dy: Float64Array.from(DY) };
    const { exe, results } = compileAndRun([y], feeds, { backend: 'wasm', simd });
    expect(exe.moduleText!.includes('v128')).toBe(simd);
    const reference = evaluate([y], feeds)[0]!.data;
    expectIdentical(results[0]!, dtype === 'float32' ? Float32Array.from(reference) : reference, c.label);
  });
});
