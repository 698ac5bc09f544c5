// int32 arithmetic wraps to 32 bits (two's complement) on every evaluator:
// add, sub, mul and sum give the value of WebAssembly's i32.add and i32.mul.
// A float64 product of two int32 values can exceed 2^53 and lose its low
// bits, so wrapping the rounded product would give a different value. The
// chains below also compare and select on wrapped intermediates inside one
// fused kernel, where an unwrapped value would change the comparison.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, evaluate, graph } from '../../src/index.ts';
import type { Node } from '../../src/index.ts';
import { EVALUATORS } from '../support/backends.ts';
import { fuzzRuns } from '../support/fuzz.ts';

const int32 = fc.integer({ min: -2147483648, max: 2147483647 });
const edgeInt32 = fc.oneof(int32, fc.constantFrom(-2147483648, -2147483647, -1, 0, 1, 2147483646, 2147483647, 65536, 46341));

/** Computes the expected outputs with Math.imul and `| 0`. */
function wrapped(a: number[], b: number[], c: number[]) {
  const product = a.map((x, i) => Math.imul(x, b[i]!));
  const chain = product.map((p, i) => (p + c[i]! - a[i]!) | 0);
  return {
    product,
    chain,
    positive: chain.map((v) => (v > 0 ? 1 : 0)),
    selected: chain.map((v, i) => (v > c[i]! ? v : Math.imul(v, 3))),
    sum: chain.reduce((s, v) => (s + v) | 0, 0),
  };
}

function build(n: number) {
  const g = graph();
  const a = g.input('a', [n], 'int32');
  const b = g.input('b', [n], 'int32');
  const c = g.input('c', [n], 'int32');
  const chain = a.mul(b).add(c).sub(a);
  const outputs: Node[] = [a.mul(b), chain, chain.greater(0), g.where(chain.greater(c), chain, chain.mul(3)), chain.sum()];
  return outputs;
}

describe('int32 arithmetic wraps to 32 bits', () => {
  it.each(EVALUATORS.map((e) => [e.name, e.evaluate] as const))('on %s', (_name, run) => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 13 }).chain((n) => fc.tuple(...[0, 1, 2].map(() => fc.array(edgeInt32, { minLength: n, maxLength: n })))), ([a, b, c]) => {
      const outputs = build(a.length);
      const [product, chain, positive, selected, sum] = run(outputs, { a: Int32Array.from(a), b: Int32Array.from(b), c: Int32Array.from(c) });
      const expected = wrapped(a, b, c);
      expect(Array.from(product!.data)).toEqual(expected.product);
      expect(Array.from(chain!.data)).toEqual(expected.chain);
      expect(Array.from(positive!.data)).toEqual(expected.positive);
      expect(Array.from(selected!.data)).toEqual(expected.selected);
      expect(Array.from(sum!.data)).toEqual([expected.sum]);
    }), { numRuns: fuzzRuns(40) });
  }, 120_000);

  it('wraps tensor values, not indices, in JS source', () => {
    const exe = compile(build(5), { backend: 'js' });
    const source = exe.kernels.map((k) => k.source).join('\n');
    expect(source).toContain('Math.imul(');
    expect(source).toMatch(/ \| 0\)/);
    // Index arithmetic of a 2-D transpose stays as it was.
    const g = graph();
    const x = g.input('x', [3, 4], 'int32');
    const t = compile([x.transpose([1, 0])], { backend: 'js' }).kernels[0]!.source;
    expect(t).not.toContain('Math.imul');
    expect(t).not.toContain('| 0');
  });

  it('leaves in-range products unchanged', () => {
    const outputs = build(3);
    const [product] = evaluate(outputs, { a: Int32Array.from([46340, -7, 3]), b: Int32Array.from([46340, 9, -5]), c: Int32Array.from([0, 0, 0]) });
    expect(Array.from(product!.data)).toEqual([46340 * 46340, -63, -15]);
  });
});

describe('int32 max and min reductions', () => {
  it.each(EVALUATORS.map((e) => [e.name, e.evaluate] as const))('on %s', (_name, run) => {
    const g = graph();
    const i = g.input('i', [2, 4], 'int32');
    const wide = g.input('w', [3, 9], 'int32');
    const outputs: Node[] = [i.max(1), i.min(1), i.max(), wide.max(0), wide.min(0)];
    const values = Int32Array.of(-5, -2147483648, 3, 1, -7, -8, -9, -10);
    const columns = Int32Array.from({ length: 27 }, (_, k) => (k % 2 === 0 ? -2147483648 : 2147483647) - (k % 5));
    const [rowMax, rowMin, all, columnMax, columnMin] = run(outputs, { i: values, w: columns });
    expect(Array.from(rowMax!.data)).toEqual([3, -7]);
    expect(Array.from(rowMin!.data)).toEqual([-2147483648, -10]);
    expect(Array.from(all!.data)).toEqual([3]);
    const column = (j: number) => [0, 1, 2].map((r) => columns[r * 9 + j]!);
    expect(Array.from(columnMax!.data)).toEqual(Array.from({ length: 9 }, (_, j) => Math.max(...column(j))));
    expect(Array.from(columnMin!.data)).toEqual(Array.from({ length: 9 }, (_, j) => Math.min(...column(j))));
  }, 60_000);
});
