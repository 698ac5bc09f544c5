// Ops beyond float arithmetic on the wasm backend: int32 and bool values
// (bool stored as bytes), casts, argmax, oneHot and the data-movement anchors,
// against the JS backend element for element, with SIMD on and off.

import { describe, expect, it } from 'vitest';
import { evaluate, graph } from '../../src/index.ts';
import type { Feeds, Graph, Node } from '../../src/index.ts';
import { compileAndRun, expectIdentical } from './compare.ts';

const FLOATS = [NaN, -Infinity, -2.75, -1.5, -0.5, -0, 0, 0.5, 1.5, 2.5, 3e9, Infinity];
/** No values near the int32 limits: the JS backend keeps a fused kernel's intermediates as doubles, where wasm wraps them. */
const INTS = [-7, -3, -1, 0, 0, 1, 2, 3, 5, 7, 100, -100];

interface OpCase {
  label: string;
  build(g: Graph, x: Node, n: Node): Node[];
}

const CASES: readonly OpCase[] = [
  { label: 'cast float to int32', build: (_g, x) => [x.cast('int32')] },
  { label: 'cast float to bool', build: (_g, x) => [x.cast('bool')] },
  { label: 'cast int32 to float', build: (_g, _x, n) => [n.cast('float32')] },
  { label: 'comparisons to bool', build: (_g, x) => [x.greater(0), x.less(0.5), x.equal(-0), x.greaterEqual(1.5)] },
  { label: 'where on a bool input', build: (g, x) => [g.where(x.greater(0), x, x.neg())] },
  { label: 'int32 arithmetic', build: (_g, _x, n) => [n.add(n), n.sub(3), n.mul(n), n.maximum(2), n.minimum(-1)] },
  { label: 'argmax', build: (_g, x) => [x.reshape([3, 4]).argmax(1), x.reshape([3, 4]).argmax(0)] },
  { label: 'oneHot', build: (_g, _x, n) => [n.oneHot(4)] },
  { label: 'transpose and slice', build: (_g, x) => [x.reshape([3, 4]).transpose(), x.reshape([3, 4]).slice([1, 1], [2, 3])] },
  { label: 'concat and pad', build: (g, x) => [g.concat([x.reshape([3, 4]), x.reshape([3, 4]).neg()], 1), x.reshape([3, 4]).pad([[1, 0], [2, 1]], 0.5)] },
  { label: 'reductions', build: (_g, x) => [x.reshape([3, 4]).max(1), x.reshape([3, 4]).min(0), x.reshape([3, 4]).sum(1)] },
];

describe('wasm ops beyond float arithmetic', () => {
  it.each(CASES.flatMap((c) => [true, false].map((simd) => [c.label, simd, c] as const)))('%s with SIMD %s matches the JS backend', (_label, simd, c) => {
    const g = graph();
    const x = g.input('x', [12]);
    const n = g.input('n', [12], 'int32');
    const outputs = c.build(g, x, n);
    const feeds: Feeds = { x: Float32Array.from(FLOATS), n: Int32Array.from(INTS) };
    const js = compileAndRun(outputs, feeds, { backend: 'js' }).results;
    const wasm = compileAndRun(outputs, feeds, { backend: 'wasm', simd }).results;
    js.forEach((expected, i) => {
      expect(wasm[i]!.constructor).toBe(expected.constructor);
      expectIdentical(wasm[i]!, expected, `output ${i}`);
    });
  });

  it('runs a graph with an empty tensor', () => {
    const g = graph();
    const x = g.input('x', [0, 5]);
    const y = x.mul(2).sum(0);
    const { results } = compileAndRun([y], { x: new Float32Array(0) }, { backend: 'wasm' });
    expectIdentical(results[0]!, Float32Array.from(evaluate([y], { x: new Float32Array(0) })[0]!.data), 'sum over an empty axis');
  });
});
