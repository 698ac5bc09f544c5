import { describe, expect, it } from 'vitest';
import type { Graph, StaticReport } from '../../src/index.ts';
import { analyzeDynamic, analyzeStatic, deadUnitAnnotations, deadUnitColors, deadUnitsJson, formatDeadUnitsTable, graph, printGraph, toDot } from '../../src/index.ts';

/** Builds two layers: hidden (relu, units 1 and 3 with bias -100) and leaky (leakyRelu, unit 0 with bias -100). */
function network() {
  const g = graph();
  const x = g.input('x', [4, 2], 'float64');
  const w1 = g.param('w1', [2, 4], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(1, 1, -1, 1, 1, 1, 1, 1) } });
  const b1 = g.param('b1', [4], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(0.5, -100, 0.5, -100) } });
  const hidden = x.matmul(w1, { bias: b1 }).relu().named('hidden');
  const w2 = g.param('w2', [4, 2], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(1, 1, 1, 1, 1, 1, 1, 1) } });
  const b2 = g.param('b2', [2], { dtype: 'float64', init: { kind: 'values', values: Float64Array.of(-100, 0.5) } });
  const leaky = hidden.matmul(w2, { bias: b2 }).leakyRelu(0.1).named('leaky');
  return { g, x, hidden, leaky, loss: leaky.sum() };
}

const data = [{ x: [0.25, 0.5, 0.75, 1, 0, 0.25, 1, 0] }];

describe('dead-unit reports', () => {
  it('formats a static table', () => {
    const { leaky } = network();
    const report = analyzeStatic(leaky, { region: { x: { lower: 0, upper: 1 } } });
    expect(formatDeadUnitsTable(report)).toMatchInlineSnapshot(`
      "layer   op         units     dead  dying  always active  unstable  sparsity  grad norm
      hidden  relu           4        2      -              1         1         -          -
      leaky   leakyRelu      2  1 (neg)      -              1         0         -          -
      (neg): never positive in the negative regime; the gradient is scaled by alpha, not zeroed"
    `);
  });

  it('formats a dynamic table', async () => {
    const { leaky, loss } = network();
    const report = await analyzeDynamic(leaky, { data, loss });
    expect(formatDeadUnitsTable(report)).toMatchInlineSnapshot(`
      "layer   op         units     dead  dying  always active  unstable  sparsity  grad norm
      hidden  relu           4        2      0              -         -     0.563     4.4000
      leaky   leakyRelu      2  1 (neg)      0              -         -     0.500     2.8284
      (neg): never positive in the negative regime; the gradient is scaled by alpha, not zeroed"
    `);
  });

  it('merges static and dynamic reports', async () => {
    const { leaky, loss } = network();
    const fixed = analyzeStatic(leaky, { region: { x: { lower: 0, upper: 1 } } });
    const measured = await analyzeDynamic(leaky, { data, loss });
    expect(formatDeadUnitsTable(fixed, measured)).toMatchInlineSnapshot(`
      "layer   op         units     dead  never positive  dying  always active  unstable  sparsity  grad norm
      hidden  relu           4        2               2      0              1         1     0.563     4.4000
      leaky   leakyRelu      2  1 (neg)         1 (neg)      0              1         0     0.500     2.8284
      (neg): never positive in the negative regime; the gradient is scaled by alpha, not zeroed"
    `);
  });

  it('gives JSON with one entry per layer', async () => {
    const { leaky, loss } = network();
    const json = deadUnitsJson(await analyzeDynamic(leaky, { data, loss }));
    expect(json.layers.map((l) => l.name)).toEqual(['hidden', 'leaky']);
    expect(json.layers[0]).toMatchObject({ units: 4, dead: 2, dying: 0, alwaysActive: null, unstable: null, deadLabel: 'dead' });
    expect(json.layers[1]).toMatchObject({ units: 2, dead: 1, deadLabel: 'negativeRegime' });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('marks dead units in the printer', () => {
    const { g, leaky } = network();
    const report = analyzeStatic(leaky, { region: { x: { lower: 0, upper: 1 } } });
    const lines = g.toString().split('\n').length;
    const printed = printWithMarks(g, report);
    expect(printed.split('\n').length).toBe(lines);
    expect(printed.split('\n').filter((l) => l.includes('dead 2/4'))).toHaveLength(1);
    expect(printed.split('\n').filter((l) => l.includes('negative-regime 1/2'))).toHaveLength(1);
  });

  it('colours dead units in DOT', () => {
    const { g, hidden, leaky } = network();
    const report = analyzeStatic(leaky, { region: { x: { lower: 0, upper: 1 } } });
    const color = deadUnitColors(report);
    expect(color(hidden)).toBe('#f4a6a6');
    expect(color(leaky)).toBe('#f7d59c');
    expect(color(g.nodes[0]!)).toBeUndefined();
    const dot = g.toDot();
    expect(dot).not.toContain('fillcolor');
    const colored = dotWithMarks(g, report);
    expect(colored).toContain(`n${hidden.id} [label=`);
    expect(colored.split('\n').find((l) => l.startsWith(`  n${hidden.id} [`))).toContain('fillcolor="#f4a6a6"');
  });
});

function printWithMarks(g: Graph, report: StaticReport): string {
  return printGraph(g, { annotate: deadUnitAnnotations(report) });
}

function dotWithMarks(g: Graph, report: StaticReport): string {
  return toDot(g, { annotate: deadUnitAnnotations(report), color: deadUnitColors(report) });
}
