// The fused-matmul field case: a fused matmul + bias + leakyRelu kernel must
// keep the activation's alpha (a converter once dropped it, so the kernel
// multiplied by undefined and returned NaN), fall back to the op's default
// alpha 0.2 when none is given, and handle a transposed weight.

import { describe, expect, test } from 'vitest';
import { compile } from '../../src/runtime/executable.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { caseTolerance, expectedTensor, inputTensor, loadCase } from '../support/fieldCases.ts';
import { EVALUATORS } from '../support/backends.ts';
import { allClose, expectAllClose } from '../support/tolerance.ts';

const data = loadCase(new URL('../../../shared/cases/c17.json', import.meta.url));
const tolerance = caseTolerance(data);

function build(options: { alpha?: number; transposeB?: boolean }) {
  const g = new Graph();
  const feeds: Record<string, Float64Array> = {};
  const input = (name: string, key: string): Node => {
    const t = inputTensor(data, key);
    feeds[name] = t.values;
    return g.input(name, t.shape, 'float64');
  };
  const a = input('a', 'a');
  const b = options.transposeB ? input('b', 'b_transposed') : input('b', 'b');
  const bias = input('bias', 'bias');
  const activation = (z: Node) => (options.alpha === undefined ? z.leakyRelu() : z.leakyRelu(options.alpha));
  const y = a.matmul(b, { transposeB: options.transposeB ?? false, bias, activation });
  return { y, feeds };
}

const VARIANTS = [
  { key: 'y_alpha_0p1', options: { alpha: 0.1 } },
  { key: 'y_alpha_missing_default_0p2', options: {} },
  { key: 'y_transpose_b_alpha_0p1', options: { alpha: 0.1, transposeB: true } },
] as const;

describe('fused matmul keeps the activation alpha', () => {
  for (const backend of EVALUATORS) {
    test.each(VARIANTS)(`$key on ${backend.name}`, ({ key, options }) => {
      const { y, feeds } = build(options);
      const [value] = backend.evaluate([y], feeds);
      const expected = expectedTensor(data, key);
      expect(value!.shape).toEqual(expected.shape);
      expect(value!.data.some(Number.isNaN)).toBe(false);
      expectAllClose(value!.data, expected.values, tolerance, key);
    });
  }

  test('compiles each variant to one kernel', () => {
    for (const { options } of VARIANTS) {
      const exe = compile(build(options).y);
      expect(exe.kernels.map((k) => k.summary)).toEqual(['matmul + add + leakyRelu']);
    }
  });

  test('a kernel that ignored alpha would fail the case', () => {
    const { y, feeds } = build({ alpha: 0.1 });
    const relu = compile(y.inputs[0]!.relu()).run(feeds)[0]!;
    expect(allClose(relu, expectedTensor(data, 'y_alpha_0p1').values, tolerance)).toBe(false);
  });
});
