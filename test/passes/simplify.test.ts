import { describe, expect, it } from 'vitest';
import { evaluate, graph, verify } from '../../src/index.ts';
import type { Node } from '../../src/index.ts';
import { simplify } from '../../passes/simplify.ts';

function run(outputs: Node[]) {
  const program = simplify({ graph: outputs[0]!.graph, outputs });
  verify(program.graph);
  return program;
}

describe('simplify', () => {
  it('drops nodes the outputs do not need', () => {
    const g = graph();
    const x = g.input('x', [3]);
    x.exp();
    const y = x.neg();
    const { graph: out } = run([y]);
    expect(out.nodes.map((n) => n.op)).toEqual(['input', 'neg']);
  });

  it('keeps unused inputs and params by name', () => {
    const g = graph();
    const x = g.input('x', [3]);
    g.input('unused', [2]);
    g.param('p', [2]);
    const { graph: out } = run([x.neg()]);
    expect(out.inputs.map((n) => n.name)).toEqual(['x', 'unused']);
    expect(out.params.map((n) => n.name)).toEqual(['p']);
  });

  it('folds constants', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const c = g.constant([1, 2]).mul(3).add(g.constant([0.5, 0.5]));
    const { graph: out, outputs } = run([x.add(c)]);
    const folded = outputs[0]!.inputs[1]!;
    expect(folded.op).toBe('constant');
    expect(Array.from((folded as Node<'constant'>).attrs.value)).toEqual([3.5, 6.5]);
    expect(out.nodes.filter((n) => n.op === 'mul')).toHaveLength(0);
  });

  it('removes x*1, x+0, x-0, x/1 and double negation', () => {
    const g = graph();
    const x = g.input('x', [4]);
    const y = x.mul(1).add(0).sub(0).div(1).neg().neg();
    const { outputs } = run([y]);
    expect(outputs[0]!.op).toBe('input');
  });

  it('never rewrites x*0 to 0', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const { outputs } = run([x.mul(0)]);
    expect(outputs[0]!.op).toBe('mul');
    const [value] = evaluate(outputs, { x: [NaN, Infinity, 2] });
    expect(value!.data[0]).toBeNaN();
    expect(value!.data[1]).toBeNaN();
    expect(value!.data[2]).toBe(0);
  });

  it('keeps x*1 when the 1 broadcasts x to a larger shape', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const { outputs } = run([x.mul(g.fill(1, [2, 3]))]);
    expect(outputs[0]!.shape).toEqual([2, 3]);
    expect(outputs[0]!.op).not.toBe('input');
  });

  it('merges reshapes and cancels transposes', () => {
    const g = graph();
    const x = g.input('x', [2, 3, 4]);
    const r = x.reshape([6, 4]).reshape([4, 6]);
    const t = x.transpose([1, 0, 2]).transpose([1, 0, 2]);
    const { outputs } = run([r, t]);
    expect(outputs[0]!.op).toBe('reshape');
    expect(outputs[0]!.inputs[0]!.op).toBe('input');
    expect(outputs[1]!.op).toBe('input');
  });

  it('merges common subexpressions', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const a = x.exp().add(1);
    const b = x.exp().add(1);
    const { graph: out, outputs } = run([a.mul(b)]);
    expect(out.nodes.filter((n) => n.op === 'exp')).toHaveLength(1);
    expect(outputs[0]!.inputs[0]).toBe(outputs[0]!.inputs[1]);
  });

  it('folds elementwise ops of broadcast scalars without materialising them', () => {
    const g = graph();
    const x = g.input('x', [1000]);
    const ones = g.fill(1, [1000]);
    const { graph: out } = run([x.mul(ones.div(4))]);
    const constants = out.nodes.filter((n) => n.op === 'constant');
    expect(constants.every((c) => c.size === 1)).toBe(true);
  });

  it('preserves values', () => {
    const g = graph();
    const x = g.input('x', [2, 3]);
    const y = x.mul(1).transpose([1, 0]).transpose([1, 0]).add(g.constant([1, 2, 3]).mul(2)).relu().sum(1);
    const feeds = { x: [1, -2, 3, -4, 5, -6] };
    const before = evaluate([y], feeds)[0]!.data;
    const after = evaluate(run([y]).outputs, feeds)[0]!.data;
    expect(Array.from(after)).toEqual(Array.from(before));
  });
});
