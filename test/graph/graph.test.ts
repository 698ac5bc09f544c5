// The graph builder and the Node fluent API: ids, sources, helpers that
// build several nodes, and how nodes describe themselves.

import { describe, expect, test } from 'vitest';
import { graph } from '../../src/graph/graph.ts';
import { run } from '../ops/support.ts';

describe('graph builder', () => {
  test('ids are the node indices', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const y = x.relu().neg();
    expect(g.nodes.map((n) => n.id)).toEqual([0, 1, 2]);
    expect(y.id).toBe(2);
    expect(g.nodes[2]).toBe(y);
  });

  test('fluent calls add nodes to the node graph', () => {
    const g = graph();
    const x = g.input('x', [2, 3]);
    const y = x.leakyRelu(0.3).sum(1);
    expect(y.graph).toBe(g);
    expect(g.nodes.map((n) => n.op)).toEqual(['input', 'leakyRelu', 'sum']);
  });

  test('inputs, params and sources by name', () => {
    const g = graph();
    const x = g.input('x', [2]);
    const w = g.param('w', [2, 3]);
    const b = g.param('b', [3], { init: 'zeros' });
    g.constant(1);
    expect(g.inputs).toEqual([x]);
    expect(g.params).toEqual([w, b]);
    expect([...g.sources.entries()]).toEqual([
      ['x', x],
      ['w', w],
      ['b', b],
    ]);
    expect(g.paramCount).toBe(9);
  });

  test('fill broadcasts a scalar constant', () => {
    const g = graph();
    const filled = g.fill(2.5, [2, 2], 'float64');
    expect(filled.op).toBe('broadcastTo');
    expect(filled.inputs[0]!.op).toBe('constant');
    expect(Array.from(run(filled).data)).toEqual([2.5, 2.5, 2.5, 2.5]);
  });

  test('fill of a scalar shape is the constant itself', () => {
    const g = graph();
    expect(g.fill(1, []).op).toBe('constant');
  });

  test('zerosLike keeps shape and dtype', () => {
    const g = graph();
    const zeros = g.zerosLike(g.input('x', [3, 1], 'float64'));
    expect(zeros.shape).toEqual([3, 1]);
    expect(zeros.dtype).toBe('float64');
    expect(Array.from(run(zeros).data)).toEqual([0, 0, 0]);
  });

  test('constant of a number is a scalar', () => {
    const g = graph();
    const c = g.constant(4);
    expect(c.shape).toEqual([]);
    expect(c.attrs.value).toEqual(Float64Array.of(4));
  });

  test('shape is a frozen copy', () => {
    const g = graph();
    const shape = [2, 3];
    const x = g.input('x', shape);
    shape[0] = 5;
    expect(x.shape).toEqual([2, 3]);
    expect(Object.isFrozen(x.shape)).toBe(true);
  });
});

describe('node descriptions', () => {
  test('label of an unnamed node', () => {
    const g = graph();
    g.input('x', [2]);
    expect(g.nodes[0]!.relu().label).toBe('%1');
  });

  test('label quotes the name', () => {
    const g = graph();
    expect(g.input('say "hi"', [2]).label).toBe('%0 "say \\"hi\\""');
  });

  test('label escapes line separators', () => {
    const g = graph();
    expect(g.input('a\u2028b', [2]).label).toBe('%0 "a\\u2028b"');
  });

  test('toString shows op, dtype and shape', () => {
    const g = graph();
    expect(String(g.input('x', [2, 3], 'int32'))).toBe('Node(%0 "x": input int32[2,3])');
  });

  test('rank and size', () => {
    const g = graph();
    const x = g.input('x', [2, 3, 4]);
    expect(x.rank).toBe(3);
    expect(x.size).toBe(24);
    expect(g.constant(1).size).toBe(1);
  });
});
