// The text form and the DOT form of a graph: inline snapshots of a small
// graph, and hostile node names that must neither break a printed line nor
// end a DOT string early.

import { describe, expect, test } from 'vitest';
import { toDot } from '../../src/graph/dot.ts';
import { graph } from '../../src/graph/graph.ts';
import type { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { printGraph } from '../../src/graph/printer.ts';

/** Inputs, params with initializers, constants, ops with attributes and a named node. */
function sampleGraph(): { g: Graph; y: Node } {
  const g = graph(7);
  const x = g.input('x', [2, 3]);
  const w = g.param('w', [4, 3], { init: 'heNormal', seed: 1 });
  const b = g.param('b', [4], { init: 'zeros' });
  const scale = g.constant(0.5);
  const offsets = g.constant([1, -0, 2.5], [3]);
  const shifted = x.add(offsets);
  const hidden = g.addNode('leakyRelu', [g.matmul(shifted, w, { transposeB: true }).add(b)], { alpha: 0.1 }, 'hidden');
  const y = hidden.mul(scale).sum([1], { keepDims: true });
  return { g, y };
}

describe('printer', () => {
  test('small graph', () => {
    const { g, y } = sampleGraph();
    expect(g.toString({ outputs: [y] })).toMatchInlineSnapshot(`
      "%0:f32[2,3] = input "x"
      %1:f32[4,3] = param "w" init=heNormal(seed=1)
      %2:f32[4] = param "b" init=zeros
      %3:f32[] = constant 0.5
      %4:f32[3] = constant [1, -0, 2.5]
      %5:f32[2,3] = add %0 %4
      %6:f32[2,4] = matmul %5 %1 transposeB=true
      %7:f32[2,4] = add %6 %2
      %8:f32[2,4] = leakyRelu %7 alpha=0.1    # "hidden"
      %9:f32[2,4] = mul %8 %3
      %10:f32[2,1] = sum %9 axes=[1] keepDims=true
      outputs: %10"
    `);
  });

  test('long constant is abbreviated', () => {
    const g = graph();
    g.constant(Array.from({ length: 10 }, (_, i) => i), [10]);
    expect(g.toString()).toMatchInlineSnapshot(`"%0:f32[10] = constant [0, 1, 2, 3, 4, 5, 6, 7, ... 10 values]"`);
  });

  test('annotation stays on its line', () => {
    const g = graph();
    g.addNode('relu', [g.input('x', [1])], {}, 'act');
    const text = printGraph(g, { annotate: (node) => (node.op === 'relu' ? 'dead:\n3 of 4\u2028units' : undefined) });
    expect(text).toBe('%0:f32[1] = input "x"\n%1:f32[1] = relu %0    # "act" dead: 3 of 4 units');
  });
});

describe('DOT', () => {
  test('small graph', () => {
    const { g, y } = sampleGraph();
    expect(g.toDot({ outputs: [y] })).toMatchInlineSnapshot(`
      "digraph slope {
        rankdir=TB;
        node [shape=box, fontname="monospace"];
        n0 [label="%0 input \\"x\\"\\nf32[2,3]", style=rounded];
        n1 [label="%1 param \\"w\\"\\nf32[4,3]", style=rounded];
        n2 [label="%2 param \\"b\\"\\nf32[4]", style=rounded];
        n3 [label="%3 constant\\nf32[]"];
        n4 [label="%4 constant\\nf32[3]"];
        n5 [label="%5 add\\nf32[2,3]"];
        n6 [label="%6 matmul\\nf32[2,4]"];
        n7 [label="%7 add\\nf32[2,4]"];
        n8 [label="%8 leakyRelu \\"hidden\\"\\nf32[2,4]"];
        n9 [label="%9 mul\\nf32[2,4]"];
        n10 [label="%10 sum\\nf32[2,1]", peripheries=2];
        n0 -> n5 [label="0"];
        n4 -> n5 [label="1"];
        n5 -> n6 [label="0"];
        n1 -> n6 [label="1"];
        n6 -> n7 [label="0"];
        n2 -> n7 [label="1"];
        n7 -> n8;
        n8 -> n9 [label="0"];
        n3 -> n9 [label="1"];
        n9 -> n10;
      }"
    `);
  });
});

// Names that could end a comment, a line or a quoted string in some output.
const HOSTILE_NAMES = [
  '*/ process.exit(1) /*',
  'two\nlines',
  'carriage\r\nreturn',
  'say "hi"',
  'back\\slash',
  'trailing backslash\\',
  'line\u2028separator',
  'paragraph\u2029separator',
  'next\u0085line',
  'tab\there',
];

/** Splits text at every character that some reader treats as a line break. */
function splitLines(text: string): string[] {
  return text.split(/\r\n|[\n\r\u2028\u2029\u0085\v\f]/);
}

/** Builds an input and a named op for every hostile name. */
function hostileGraph(): Graph {
  const g = graph();
  for (const name of HOSTILE_NAMES) {
    const x = g.input(name, [1]);
    g.addNode('neg', [x], {}, `op ${name}`);
  }
  return g;
}

/**
 * Parses the attribute list of one DOT node line, `key=value, key="..."`,
 * and returns the attributes with quoted values decoded. Throws when a
 * quoted string is not closed or text is left over.
 */
function parseDotAttributes(list: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let i = 0;
  while (i < list.length) {
    const key = /^[a-z]+=/.exec(list.slice(i));
    if (key === null) throw new Error(`expected key= at ${i} in ${JSON.stringify(list)}`);
    i += key[0].length;
    let value = '';
    if (list[i] === '"') {
      i++;
      while (list[i] !== '"') {
        if (i >= list.length) throw new Error(`unterminated string in ${JSON.stringify(list)}`);
        if (list[i] === '\\') {
          const escaped = list[i + 1];
          value += escaped === 'n' ? '\n' : escaped;
          i += 2;
        } else {
          value += list[i];
          i++;
        }
      }
      i++;
    } else {
      const bare = /^[A-Za-z0-9_]+/.exec(list.slice(i));
      if (bare === null) throw new Error(`expected a value at ${i} in ${JSON.stringify(list)}`);
      value = bare[0];
      i += bare[0].length;
    }
    attributes.set(key[0].slice(0, -1), value);
    if (list.startsWith(', ', i)) i += 2;
    else if (i !== list.length) throw new Error(`unexpected text at ${i} in ${JSON.stringify(list)}`);
  }
  return attributes;
}

describe('hostile names', () => {
  test('printer keeps one line per node', () => {
    const g = hostileGraph();
    const lines = splitLines(g.toString());
    expect(lines.length).toBe(g.nodes.length);
    lines.forEach((line, i) => expect(line.startsWith(`%${i}:`)).toBe(true));
  });

  test('printer quotes each name so it parses back', () => {
    const g = hostileGraph();
    const lines = splitLines(g.toString());
    HOSTILE_NAMES.forEach((name, k) => {
      const inputLine = lines[2 * k]!;
      const opLine = lines[2 * k + 1]!;
      expect(JSON.parse(/ = input (".*)$/.exec(inputLine)![1]!)).toBe(name);
      expect(JSON.parse(/ {4}# (".*)$/.exec(opLine)![1]!)).toBe(`op ${name}`);
    });
  });

  test('DOT has one line per node and per edge', () => {
    const g = hostileGraph();
    const lines = splitLines(g.toDot());
    const nodeLines = lines.filter((line) => /^ {2}n\d+ \[/.test(line));
    const edgeLines = lines.filter((line) => /^ {2}n\d+ -> n\d+/.test(line));
    expect(nodeLines.length).toBe(g.nodes.length);
    expect(edgeLines.length).toBe(HOSTILE_NAMES.length);
    expect(lines.length).toBe(3 + g.nodes.length + HOSTILE_NAMES.length + 1);
  });

  test('DOT labels are closed and decode to the names', () => {
    const g = hostileGraph();
    const nodeLines = splitLines(g.toDot()).filter((line) => /^ {2}n\d+ \[/.test(line));
    nodeLines.forEach((line, i) => {
      const match = /^ {2}n(\d+) \[(.*)\];$/.exec(line);
      expect(match).not.toBeNull();
      expect(Number(match![1])).toBe(i);
      const label = parseDotAttributes(match![2]!).get('label')!;
      const [title, type] = label.split('\n');
      const node = g.nodes[i]!;
      expect(type).toBe('f32[1]');
      const quoted = title!.slice(`%${i} ${node.op} `.length);
      expect(JSON.parse(quoted)).toBe(node.name);
    });
  });

  test('DOT escapes annotations and colours', () => {
    const g = graph();
    g.input('x', [1]);
    const dot = toDot(g, { annotate: () => 'dead: "50%"\nof units', color: () => 'red", shape="circle' });
    const nodeLine = splitLines(dot).find((line) => line.startsWith('  n0 ['))!;
    const attributes = parseDotAttributes(/^ {2}n0 \[(.*)\];$/.exec(nodeLine)![1]!);
    expect(attributes.get('label')).toBe('%0 input "x"\nf32[1]\ndead: "50%"\nof units');
    expect(attributes.get('fillcolor')).toBe('red", shape="circle');
    expect(attributes.has('shape')).toBe(false);
  });
});
