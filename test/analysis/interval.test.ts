// Interval bounds of every op of the registry, checked against the reference
// interpreter at sampled points of random boxes: each sampled value must lie
// in the bounds, and a NaN may appear only where the node is marked mayBeNaN.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DType, Graph, Node, OpName } from '../../src/index.ts';
import { analyzeStatic, evaluate, graph } from '../../src/index.ts';

const runs = Number(process.env.SLOPE_FUZZ_RUNS ?? 12);
const SAMPLES = 24;

interface InputSpec {
  shape: number[];
  dtype?: DType;
  /** For int32 inputs: the values lie in [0, classes). */
  classes?: number;
}

interface OpCase {
  inputs: InputSpec[];
  build: (g: Graph, xs: Node[]) => Node;
}

const f = (...shape: number[]): InputSpec => ({ shape });
const unary = (apply: (x: Node) => Node): OpCase => ({ inputs: [f(2, 3)], build: (_g, [x]) => apply(x!) });
const binary = (apply: (a: Node, b: Node) => Node): OpCase => ({ inputs: [f(2, 3), f(3)], build: (_g, [a, b]) => apply(a!, b!) });

type Computed = Exclude<OpName, 'input' | 'param' | 'constant'>;

/** One case per op, typed over the op names so that a new op without a case fails to compile. */
const CASES: { [K in Computed]: OpCase[] } = {
  neg: [unary((x) => x.neg())],
  abs: [unary((x) => x.abs())],
  sign: [unary((x) => x.sign())],
  exp: [unary((x) => x.exp())],
  log: [unary((x) => x.log())],
  sqrt: [unary((x) => x.sqrt())],
  square: [unary((x) => x.square())],
  reciprocal: [unary((x) => x.reciprocal())],
  tanh: [unary((x) => x.tanh())],
  sigmoid: [unary((x) => x.sigmoid())],
  relu: [unary((x) => x.relu())],
  leakyRelu: [unary((x) => x.leakyRelu(0.2)), unary((x) => x.leakyRelu(-0.5)), unary((x) => x.leakyRelu(3))],
  elu: [unary((x) => x.elu(1)), unary((x) => x.elu(2)), unary((x) => x.elu(-1))],
  softplus: [unary((x) => x.softplus())],
  stopGradient: [unary((x) => x.stopGradient())],
  cast: [unary((x) => x.cast('float32')), unary((x) => x.cast('int32')), unary((x) => x.cast('bool')), unary((x) => x.cast('float64'))],
  add: [binary((a, b) => a.add(b))],
  sub: [binary((a, b) => a.sub(b))],
  mul: [binary((a, b) => a.mul(b))],
  div: [binary((a, b) => a.div(b))],
  pow: [binary((a, b) => a.pow(b)), { inputs: [f(2, 3)], build: (_g, [a]) => a!.pow(3) }, { inputs: [f(2, 3)], build: (_g, [a]) => a!.pow(-2) }],
  maximum: [binary((a, b) => a.maximum(b))],
  minimum: [binary((a, b) => a.minimum(b))],
  greater: [binary((a, b) => a.greater(b))],
  greaterEqual: [binary((a, b) => a.greaterEqual(b))],
  less: [binary((a, b) => a.less(b))],
  equal: [binary((a, b) => a.equal(b)), { inputs: [f(2, 3)], build: (_g, [a]) => a!.cast('int32').equal(a!.cast('int32')) }],
  where: [{ inputs: [f(2, 3), f(2, 3), f(3)], build: (_g, [c, a, b]) => _g.where(c!.greater(0), a!, b!) }],
  prelu: [binary((a, b) => a.prelu(b))],
  leakyReluGrad: [{ inputs: [f(2, 3), f(2, 3)], build: (g, [x, dy]) => g.leakyReluGrad(x!, dy!, 0.3) }],
  sum: [unary((x) => x.sum()), unary((x) => x.sum(1, { keepDims: true }))],
  mean: [unary((x) => x.mean(0))],
  max: [unary((x) => x.max(1))],
  min: [unary((x) => x.min())],
  argmax: [unary((x) => x.argmax(1))],
  matmul: [
    { inputs: [f(2, 3), f(3, 2)], build: (_g, [a, b]) => a!.matmul(b!) },
    { inputs: [f(3, 2), f(2, 3)], build: (_g, [a, b]) => a!.matmul(b!, { transposeA: true, transposeB: true }) },
  ],
  transpose: [unary((x) => x.transpose())],
  reshape: [unary((x) => x.reshape([3, 2]))],
  broadcastTo: [{ inputs: [f(3)], build: (_g, [x]) => x!.broadcastTo([2, 3]) }],
  slice: [unary((x) => x.slice([0, 1], [2, 2]))],
  concat: [{ inputs: [f(2, 3), f(1, 3)], build: (g, xs) => g.concat(xs, 0) }],
  pad: [unary((x) => x.pad([[1, 0], [0, 2]], 0.5))],
  oneHot: [{ inputs: [{ shape: [4], dtype: 'int32', classes: 5 }], build: (_g, [i]) => i!.oneHot(3) }],
  conv2d: [{ inputs: [f(1, 4, 4, 2), f(2, 2, 2, 3)], build: (_g, [x, w]) => x!.conv2d(w!, { padding: 'same', strides: 2 }) }],
  conv2dBackpropInput: [{ inputs: [f(1, 3, 3, 3), f(2, 2, 2, 3)], build: (g, [dy, w]) => g.conv2dBackpropInput(dy!, w!, [1, 4, 4, 2]) }],
  conv2dBackpropFilter: [{ inputs: [f(1, 4, 4, 2), f(1, 3, 3, 3)], build: (g, [x, dy]) => g.conv2dBackpropFilter(x!, dy!, [2, 2, 2, 3]) }],
  maxPool2d: [{ inputs: [f(1, 4, 4, 2)], build: (_g, [x]) => x!.maxPool2d({ poolSize: 2, strides: 1, padding: 'same' }) }],
  maxPool2dGrad: [{ inputs: [f(1, 4, 4, 2), f(1, 2, 2, 2)], build: (g, [x, dy]) => g.addNode('maxPool2dGrad', [x!, dy!], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }) }],
  avgPool2d: [{ inputs: [f(1, 4, 4, 2)], build: (_g, [x]) => x!.avgPool2d({ poolSize: 3, strides: 1, padding: 'same' }) }],
  avgPool2dGrad: [{ inputs: [f(1, 2, 2, 2)], build: (g, [dy]) => g.addNode('avgPool2dGrad', [dy!], { poolSize: [2, 2], strides: [2, 2], padding: 'valid', inputShape: [1, 4, 4, 2] }) }],
  softmax: [unary((x) => x.softmax(1))],
  logSoftmax: [unary((x) => x.logSoftmax(0))],
  softmaxCrossEntropy: [
    { inputs: [f(2, 3), { shape: [2], dtype: 'int32', classes: 4 }], build: (g, [z, l]) => g.softmaxCrossEntropy(z!, l!) },
    { inputs: [f(2, 3), f(2, 3)], build: (g, [z, l]) => g.softmaxCrossEntropy(z!, l!) },
  ],
  meanSquaredError: [{ inputs: [f(2, 3), f(2, 3)], build: (g, [p, t]) => g.meanSquaredError(p!, t!) }],
};

const endpoint = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, -1, 720, -720, 1e-310) },
);
const range = fc.tuple(endpoint, endpoint).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);

/** Samples a point of each input's box: ends, 0 where it lies inside, then uniform values. */
function samplePoint(spec: InputSpec, box: [number, number], k: number, random: () => number): number[] {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => {
    if (spec.dtype === 'int32') return Math.floor(random() * (spec.classes! + 1)) - (k % 7 === 0 ? 1 : 0);
    const pick = (k + i) % 5;
    if (pick === 0) return box[0];
    if (pick === 1) return box[1];
    if (pick === 2 && box[0] <= 0 && box[1] >= 0) return 0;
    return box[0] + (box[1] - box[0]) * random();
  });
}

function runCase(name: string, opCase: OpCase, boxes: [number, number][], seed: number): void {
  const g = graph();
  const xs = opCase.inputs.map((spec, i) => g.input(`x${i}`, spec.shape, spec.dtype ?? 'float64'));
  const out = opCase.build(g, xs);
  const region = Object.fromEntries(
    opCase.inputs.map((spec, i) => {
      const box: [number, number] = spec.dtype === 'int32' ? [-1, spec.classes!] : boxes[i % boxes.length]!;
      return [`x${i}`, { lower: box[0], upper: box[1] }];
    }),
  );
  const report = analyzeStatic(out, { region, linear: false });
  const bounds = report.outputs[0]!;
  let state = seed >>> 0;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  for (let k = 0; k < SAMPLES; k++) {
    const feeds = Object.fromEntries(
      opCase.inputs.map((spec, i) => {
        const box: [number, number] = spec.dtype === 'int32' ? [-1, spec.classes!] : boxes[i % boxes.length]!;
        const values = samplePoint(spec, box, k, random);
        return [`x${i}`, spec.dtype === 'int32' ? Int32Array.from(values) : Float64Array.from(values)];
      }),
    );
    const value = evaluate([out], feeds)[0]!.data;
    for (let j = 0; j < value.length; j++) {
      const v = value[j]!;
      const where = `${name} element ${j} at sample ${k}: ${v} vs [${bounds.interval.lower[j]}, ${bounds.interval.upper[j]}]`;
      if (Number.isNaN(v)) {
        expect(bounds.mayBeNaN, where).toBe(true);
        continue;
      }
      expect(v, where).toBeGreaterThanOrEqual(bounds.interval.lower[j]!);
      expect(v, where).toBeLessThanOrEqual(bounds.interval.upper[j]!);
    }
  }
}

describe('interval bounds of every op', () => {
  for (const [op, cases] of Object.entries(CASES) as [Computed, OpCase[]][]) {
    it(`contain sampled values of ${op}`, () => {
      fc.assert(
        fc.property(fc.array(range, { minLength: 3, maxLength: 3 }), fc.integer(), (boxes, seed) => {
          cases.forEach((opCase, k) => runCase(`${op} case ${k}`, opCase, boxes, seed));
        }),
        { numRuns: runs },
      );
    }, 600_000);
  }
});
