// Random small graphs for backend tests: elementwise ops with broadcasting,
// keepDims reductions, matmul pairs, softmax and cross-entropy over a base
// shape [rows, cols]. Every node of the pool broadcasts to [rows, cols], so
// any two can be combined.
//
// The graphs are built so that float32 and float64 evaluations stay close:
// - discontinuous ops (sign, comparisons, where, leakyReluGrad's x) read only
//   inputs, whose values are exact in both types;
// - log, sqrt, reciprocal, division and pow get arguments bounded away from
//   their poles and branch cuts;
// - a node whose values leave [-1e4, 1e4] is squashed with tanh.

import fc from 'fast-check';
import { evaluate, graph, Rng } from '../../src/index.ts';
import type { DType, Graph, Node } from '../../src/index.ts';

const UNARY = ['neg', 'abs', 'exp', 'log', 'sqrt', 'square', 'reciprocal', 'tanh', 'sigmoid', 'relu', 'leakyRelu', 'elu', 'softplus'] as const;
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'prelu'] as const;
const ON_INPUTS = ['sign', 'where', 'leakyReluGrad'] as const;
const STRUCTURED = ['sum', 'mean', 'max', 'min', 'matmul', 'softmax', 'logSoftmax', 'crossEntropy'] as const;

export type StepOp = (typeof UNARY)[number] | (typeof BINARY)[number] | (typeof ON_INPUTS)[number] | (typeof STRUCTURED)[number];

export const ALPHAS = [0, 0.01, 0.2, 1, 5, -0.5] as const;

export interface Step {
  op: StepOp;
  a: number;
  b: number;
  c: number;
  alpha: number;
  axis: number;
}

export interface GraphCase {
  rows: number;
  cols: number;
  dtype: 'float32' | 'float64';
  seed: number;
  steps: Step[];
}

export const stepArbitrary: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom<StepOp>(...UNARY, ...BINARY, ...ON_INPUTS, ...STRUCTURED),
  a: fc.nat(),
  b: fc.nat(),
  c: fc.nat(),
  alpha: fc.constantFrom(...ALPHAS),
  axis: fc.integer({ min: 0, max: 2 }),
});

export function graphCaseArbitrary(dtype: 'float32' | 'float64'): fc.Arbitrary<GraphCase> {
  return fc.record({
    rows: fc.integer({ min: 1, max: 5 }),
    cols: fc.integer({ min: 1, max: 11 }),
    dtype: fc.constant(dtype),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    steps: fc.array(stepArbitrary, { minLength: 1, maxLength: 8 }),
  });
}

export interface BuiltCase {
  graph: Graph;
  outputs: Node[];
  feeds: Record<string, Float32Array | Float64Array>;
  /** Largest magnitude of any finite reference value of any node, for absolute tolerances. */
  scale: number;
}

/** Values that are exact in float32: multiples of 1/16 in [-3, 3], with 0 and -0 among them. */
function exactValues(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => {
    const v = Math.round(rng.uniform(-48, 48)) / 16;
    return v === 0 && rng.next() < 0.5 ? -0 : v;
  });
}

function maxMagnitude(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i]!)) m = Math.max(m, Math.abs(data[i]!));
  return m;
}

/** Builds the graph of a case; the reference interpreter checks every step's range as it goes. */
export function buildCase(c: GraphCase): BuiltCase {
  const g = graph();
  const rng = new Rng(c.seed);
  const { rows, cols } = c;
  const shapes: [string, number[]][] = [['x', [rows, cols]], ['y', [rows, cols]], ['bias', [cols]], ['column', [rows, 1]]];
  const feeds: Record<string, Float32Array | Float64Array> = {};
  const inputs: Node[] = shapes.map(([name, shape]) => {
    const values = exactValues(rng, shape.reduce((a, b) => a * b, 1));
    feeds[name] = c.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
    return g.input(name, shape, c.dtype as DType);
  });
  const pool: Node[] = [...inputs];
  let scale = 3;
  const pick = (i: number) => pool[i % pool.length]!;
  const pickInput = (i: number) => inputs[i % inputs.length]!;
  const positive = (n: Node, floor: number) => n.abs().add(floor);

  for (const s of c.steps) {
    const a = pick(s.a);
    const b = pick(s.b);
    let node: Node;
    switch (s.op) {
      case 'log': node = positive(a, 0.25).log(); break;
      case 'sqrt': node = a.abs().sqrt(); break;
      case 'reciprocal': node = positive(a, 0.5).reciprocal(); break;
      case 'exp': node = a.minimum(8).exp(); break;
      case 'leakyRelu': node = a.leakyRelu(s.alpha); break;
      case 'elu': node = a.elu(Math.abs(s.alpha)); break;
      case 'div': node = a.div(positive(b, 0.5)); break;
      case 'pow': node = positive(a, 0.5).pow(b.tanh().mul(2)); break;
      case 'prelu': node = a.prelu(b); break;
      case 'sign': node = pickInput(s.a).sign().mul(b); break;
      case 'where': node = g.where(pickInput(s.a).greater(pickInput(s.b)), a, b); break;
      case 'leakyReluGrad': node = g.leakyReluGrad(pickInput(s.a).broadcastTo([rows, cols]), b.broadcastTo([rows, cols]), s.alpha); break;
      case 'sum': case 'mean': case 'max': case 'min': {
        const axes = s.axis === 2 ? [0, 1] : [s.axis];
        node = g[s.op](a.broadcastTo([rows, cols]), axes, { keepDims: true });
        break;
      }
      case 'matmul': node = a.broadcastTo([rows, cols]).matmul(b.broadcastTo([rows, cols]), { transposeB: true }).matmul(pick(s.c).broadcastTo([rows, cols])); break;
      case 'softmax': node = a.broadcastTo([rows, cols]).softmax(); break;
      case 'logSoftmax': node = a.broadcastTo([rows, cols]).logSoftmax(); break;
      case 'crossEntropy': node = g.softmaxCrossEntropy(a.broadcastTo([rows, cols]), b.broadcastTo([rows, cols]).softmax()).reshape([rows, 1]); break;
      default: node = (s.op === 'add' || s.op === 'sub' || s.op === 'mul' || s.op === 'maximum' || s.op === 'minimum') ? a[s.op](b) : (a[s.op] as () => Node)();
    }
    let range = maxMagnitude(evaluate([node], feeds)[0]!.data);
    if (range > 1e4) {
      node = node.tanh();
      range = 1;
    }
    scale = Math.max(scale, range);
    pool.push(node);
  }
  const last = pool[pool.length - 1]!;
  const other = pool[inputs.length + (c.seed % (pool.length - inputs.length))]!;
  const outputs = other === last ? [last] : [last, other];
  return { graph: g, outputs, feeds, scale };
}
