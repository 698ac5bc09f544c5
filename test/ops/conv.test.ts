// conv2d, its two backprop ops and 2-D pooling on the reference interpreter:
// values against direct loops written here, output shapes against
// TensorFlow's formulas, gradients against central finite differences in
// float64, attribute errors, and the field cases stored beside the repository.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grad } from '../../passes/grad.ts';
import { AttributeError, DTypeError, ShapeError } from '../../src/errors.ts';
import type { SlopeError } from '../../src/errors.ts';
import type { Graph } from '../../src/graph/graph.ts';
import { graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { Tensor } from '../../src/interp/tensor.ts';
import type { Padding2D, Pool2DAttrs } from '../../src/ops/attrs.ts';
import { window2D, windowAxis } from '../../src/ops/window.ts';
import { EVALUATORS } from '../support/backends.ts';

/** Runs of each property; `npm run fuzz` raises it through SLOPE_FUZZ_RUNS. */
const RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 60);

type Pair = readonly [number, number];
type Feeds = Record<string, Float64Array>;

// Random data.

/** A small seeded generator (mulberry32), so each fast-check seed gives fixed tensors. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValues(size: number, seed: number): Float64Array {
  const next = rng(seed);
  return Float64Array.from({ length: size }, () => next() * 2 - 1);
}

/** Values at least 0.08 apart, in random order, so no max pooling window has a tie. */
function distinctValues(size: number, seed: number): Float64Array {
  const next = rng(seed);
  const values = Array.from({ length: size }, (_, i) => (i - size / 2) * 0.1 + next() * 0.02);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return Float64Array.from(values);
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

// Reference loops, written from TensorFlow's documented formulas.

/** Output size and padding before the input along one axis, per the tf.nn.conv2d documentation. */
function tfAxis(inSize: number, kernel: number, stride: number, dilation: number, padding: 'same' | 'valid' | Pair): { out: number; before: number; after: number } {
  const effective = (kernel - 1) * dilation + 1;
  if (padding === 'same') {
    const out = Math.ceil(inSize / stride);
    const total = Math.max((out - 1) * stride + effective - inSize, 0);
    return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
  }
  if (padding === 'valid') return { out: Math.ceil((inSize - effective + 1) / stride), before: 0, after: 0 };
  return { out: Math.floor((inSize + padding[0] + padding[1] - effective) / stride) + 1, before: padding[0], after: padding[1] };
}

function axisOf(padding: Padding2D, axis: 0 | 1): 'same' | 'valid' | Pair {
  return typeof padding === 'string' ? padding : padding[axis];
}

interface ConvCase {
  xShape: number[];
  wShape: number[];
  strides: Pair;
  dilations: Pair;
  padding: Padding2D;
}

/** conv2d as a direct 7-deep loop over n, oh, ow, o, kh, kw, c; padding cells are skipped. */
function directConv2d(x: Float64Array, w: Float64Array, c: ConvCase): Tensor {
  const [N, H, W, C] = c.xShape as [number, number, number, number];
  const [KH, KW, , O] = c.wShape as [number, number, number, number];
  const rows = tfAxis(H, KH, c.strides[0], c.dilations[0], axisOf(c.padding, 0));
  const cols = tfAxis(W, KW, c.strides[1], c.dilations[1], axisOf(c.padding, 1));
  if (rows.out < 1 || cols.out < 1) return { shape: [N, rows.out, cols.out, O], dtype: 'float64', data: new Float64Array(0) };
  const y = new Float64Array(N * rows.out * cols.out * O);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < rows.out; oh++) {
      for (let ow = 0; ow < cols.out; ow++) {
        for (let o = 0; o < O; o++) {
          let sum = 0;
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              for (let ch = 0; ch < C; ch++) {
                const ih = oh * c.strides[0] - rows.before + kh * c.dilations[0];
                const iw = ow * c.strides[1] - cols.before + kw * c.dilations[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                sum += x[((n * H + ih) * W + iw) * C + ch]! * w[((kh * KW + kw) * C + ch) * O + o]!;
              }
            }
          }
          y[((n * rows.out + oh) * cols.out + ow) * O + o] = sum;
        }
      }
    }
  }
  return { shape: [N, rows.out, cols.out, O], dtype: 'float64', data: y };
}

/** For each pooling output element, the flat indices of the input elements in its window, row-major. */
function poolWindows(xShape: readonly number[], attrs: Pool2DAttrs): { shape: number[]; windows: number[][] } {
  const [N, H, W, C] = xShape as [number, number, number, number];
  const rows = tfAxis(H, attrs.poolSize[0], attrs.strides[0], 1, axisOf(attrs.padding, 0));
  const cols = tfAxis(W, attrs.poolSize[1], attrs.strides[1], 1, axisOf(attrs.padding, 1));
  const windows: number[][] = [];
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < rows.out; oh++) {
      for (let ow = 0; ow < cols.out; ow++) {
        for (let ch = 0; ch < C; ch++) {
          const members: number[] = [];
          for (let kh = 0; kh < attrs.poolSize[0]; kh++) {
            for (let kw = 0; kw < attrs.poolSize[1]; kw++) {
              const ih = oh * attrs.strides[0] - rows.before + kh;
              const iw = ow * attrs.strides[1] - cols.before + kw;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) members.push(((n * H + ih) * W + iw) * C + ch);
            }
          }
          windows.push(members);
        }
      }
    }
  }
  return { shape: [N, rows.out, cols.out, C], windows };
}

/** Returns the index of the first maximal element of each window. */
function firstMaxIndices(x: Float64Array, windows: number[][]): number[] {
  return windows.map((members) => members.reduce((best, i) => (x[i]! > x[best]! ? i : best), members[0]!));
}

// Graph helpers.

function floatInput(g: Graph, name: string, shape: readonly number[]): Node {
  return g.input(name, shape, 'float64');
}

function run(node: Node, feeds: Feeds): Tensor {
  return evaluate([node], feeds)[0]!;
}

function scalarValue(node: Node, feeds: Feeds): number {
  return run(node, feeds).data[0]!;
}

/** Returns the dot product of a node with a tensor of its shape, fed as `name`. */
function pairing(g: Graph, node: Node, name: string): Node {
  return g.sum(g.mul(node, floatInput(g, name, node.shape)));
}

/** Central differences of a scalar node with respect to one fed input. */
function numericGradient(loss: Node, feeds: Feeds, name: string, step = 1e-6): Float64Array {
  const base = feeds[name]!;
  const result = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const plus = Float64Array.from(base);
    const minus = Float64Array.from(base);
    plus[i] += step;
    minus[i] -= step;
    result[i] = (scalarValue(loss, { ...feeds, [name]: plus }) - scalarValue(loss, { ...feeds, [name]: minus })) / (2 * step);
  }
  return result;
}

/** Lists the elements where |actual - expected| > atol + rtol |expected|; NaN never passes. */
function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): string[] {
  const bad: string[] = [];
  if (actual.length !== expected.length) return [`length ${actual.length}, expected ${expected.length}`];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) bad.push(`[${i}] ${a} vs ${e}`);
  }
  return bad.slice(0, 8);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, rtol = 1e-12, atol = 1e-12): void {
  expect(mismatches(actual, expected, rtol, atol), `${label}: elements outside rtol ${rtol}, atol ${atol}`).toEqual([]);
}

/** Checks grad(loss, wrt) against central differences for each named input. */
function expectGradientsMatch(loss: Node, wrt: Record<string, Node>, feeds: Feeds, rtol = 1e-5, atol = 1e-7): void {
  const names = Object.keys(wrt);
  const analytic = evaluate(grad(loss, names.map((n) => wrt[n]!)), feeds);
  names.forEach((name, i) => {
    expectClose(analytic[i]!.data, numericGradient(loss, feeds, name), `d loss / d ${name}`, rtol, atol);
  });
}

/** Returns the error that `build` throws, or undefined. */
function thrown(build: () => unknown): unknown {
  try {
    build();
  } catch (error) {
    return error;
  }
  return undefined;
}

// Arbitraries.

const paddingArbitrary = (maxPad: number): fc.Arbitrary<Padding2D> =>
  fc.oneof(
    fc.constant<Padding2D>('same'),
    fc.constant<Padding2D>('valid'),
    fc.tuple(fc.tuple(fc.nat(maxPad), fc.nat(maxPad)), fc.tuple(fc.nat(maxPad), fc.nat(maxPad))),
  );

const convCaseArbitrary = fc.record({
  batch: fc.integer({ min: 1, max: 2 }),
  height: fc.integer({ min: 1, max: 8 }),
  width: fc.integer({ min: 1, max: 8 }),
  channels: fc.integer({ min: 1, max: 3 }),
  outChannels: fc.integer({ min: 1, max: 3 }),
  kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  dilations: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  padding: paddingArbitrary(2),
  seed: fc.integer(),
});

describe('window geometry', () => {
  it('same padding matches TensorFlow', () => {
    // [in, kernel, stride, dilation] -> [out, before, after]
    const table: [number, number, number, number, number, number, number][] = [
      [6, 3, 2, 1, 3, 0, 1],
      [7, 3, 2, 1, 4, 1, 1],
      [8, 3, 2, 1, 4, 0, 1],
      [5, 3, 2, 1, 3, 1, 1],
      [4, 2, 1, 1, 4, 0, 1],
      [5, 3, 1, 2, 5, 2, 2],
      [1, 3, 2, 1, 1, 1, 1],
      [2, 1, 3, 1, 1, 0, 0],
      [10, 4, 3, 1, 4, 1, 2],
      [6, 4, 2, 1, 3, 1, 1],
    ];
    for (const [inSize, kernel, stride, dilation, out, before, after] of table) {
      expect(windowAxis(inSize, kernel, stride, dilation, 'same'), `in ${inSize} kernel ${kernel} stride ${stride} dilation ${dilation}`).toEqual({ outSize: out, padBefore: before, padAfter: after });
    }
  });

  it('valid and explicit padding', () => {
    expect(windowAxis(7, 3, 2, 1, 'valid')).toEqual({ outSize: 3, padBefore: 0, padAfter: 0 });
    expect(windowAxis(8, 3, 2, 1, 'valid')).toEqual({ outSize: 3, padBefore: 0, padAfter: 0 });
    expect(windowAxis(9, 3, 1, 2, 'valid')).toEqual({ outSize: 5, padBefore: 0, padAfter: 0 });
    expect(windowAxis(2, 3, 1, 1, 'valid').outSize).toBe(0);
    expect(windowAxis(5, 3, 2, 1, [1, 2])).toEqual({ outSize: 3, padBefore: 1, padAfter: 2 });
    expect(windowAxis(1, 3, 1, 1, [0, 1]).outSize).toBe(0);
  });

  it('agrees with the formulas on random axes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        paddingArbitrary(3).map((p) => axisOf(p, 0)),
        (inSize, kernel, stride, dilation, padding) => {
          const expected = tfAxis(inSize, kernel, stride, dilation, padding);
          const actual = windowAxis(inSize, kernel, stride, dilation, padding);
          expect(actual.outSize).toBe(Math.max(expected.out, 0));
          if (expected.out >= 1) expect([actual.padBefore, actual.padAfter]).toEqual([expected.before, expected.after]);
        },
      ),
      { numRuns: RUNS * 5 },
    );
  });

  it('window2D combines both axes', () => {
    expect(window2D(6, 7, [3, 3], [2, 2], [1, 1], 'same')).toEqual({ outHeight: 3, outWidth: 4, padTop: 0, padBottom: 1, padLeft: 1, padRight: 1 });
    expect(window2D(5, 5, [2, 3], [1, 2], [1, 1], [[1, 0], [0, 2]])).toEqual({ outHeight: 5, outWidth: 3, padTop: 1, padBottom: 0, padLeft: 0, padRight: 2 });
  });
});

function slopeConv2d(x: Float64Array, w: Float64Array, c: ConvCase): Tensor {
  const g = graph();
  const y = g.conv2d(floatInput(g, 'x', c.xShape), floatInput(g, 'w', c.wShape), { strides: c.strides, dilations: c.dilations, padding: c.padding });
  return run(y, { x, w });
}

function expectConvMatches(c: ConvCase, seed: number): void {
  const x = randomValues(sizeOf(c.xShape), seed);
  const w = randomValues(sizeOf(c.wShape), seed + 1);
  const expected = directConv2d(x, w, c);
  if (expected.shape[1]! < 1 || expected.shape[2]! < 1) {
    expect(thrown(() => slopeConv2d(x, w, c))).toBeInstanceOf(ShapeError);
    return;
  }
  const actual = slopeConv2d(x, w, c);
  expect(actual.shape, JSON.stringify(c)).toEqual(expected.shape);
  expectClose(actual.data, expected.data, `conv2d ${JSON.stringify(c)}`);
}

describe('conv2d', () => {
  it('matches a direct convolution', () => {
    fc.assert(
      fc.property(convCaseArbitrary, (r) => {
        const c: ConvCase = {
          xShape: [r.batch, r.height, r.width, r.channels],
          wShape: [r.kernel[0], r.kernel[1], r.channels, r.outChannels],
          strides: r.strides,
          dilations: r.dilations,
          padding: r.padding,
        };
        expectConvMatches(c, r.seed);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('same with stride 2 on odd and even sizes', () => {
    for (const height of [4, 5, 6, 7, 8]) {
      for (const width of [4, 5, 6, 7]) {
        for (const kernel of [1, 2, 3, 4]) {
          const c: ConvCase = { xShape: [1, height, width, 2], wShape: [kernel, kernel, 2, 2], strides: [2, 2], dilations: [1, 1], padding: 'same' };
          expectConvMatches(c, height * 100 + width * 10 + kernel);
          expect(slopeConv2d(new Float64Array(2 * height * width), new Float64Array(kernel * kernel * 4), c).shape).toEqual([1, Math.ceil(height / 2), Math.ceil(width / 2), 2]);
        }
      }
    }
  });

  it('output shapes follow TensorFlow formulas', () => {
    const shapeOf = (xShape: number[], wShape: number[], options: { strides?: Pair; dilations?: Pair; padding: Padding2D }) => {
      const g = graph();
      return g.conv2d(floatInput(g, 'x', xShape), floatInput(g, 'w', wShape), options).shape;
    };
    expect(shapeOf([1, 6, 6, 2], [3, 3, 2, 3], { strides: [2, 2], padding: 'same' })).toEqual([1, 3, 3, 3]);
    expect(shapeOf([2, 7, 8, 1], [3, 3, 1, 4], { strides: [2, 2], padding: 'same' })).toEqual([2, 4, 4, 4]);
    expect(shapeOf([1, 7, 7, 1], [3, 3, 1, 1], { strides: [2, 2], padding: 'valid' })).toEqual([1, 3, 3, 1]);
    expect(shapeOf([1, 8, 8, 1], [3, 3, 1, 1], { strides: [2, 2], padding: 'valid' })).toEqual([1, 3, 3, 1]);
    expect(shapeOf([1, 9, 9, 1], [3, 3, 1, 1], { dilations: [2, 2], padding: 'valid' })).toEqual([1, 5, 5, 1]);
    expect(shapeOf([1, 9, 10, 1], [3, 3, 1, 1], { dilations: [2, 2], padding: 'same' })).toEqual([1, 9, 10, 1]);
    expect(shapeOf([1, 5, 5, 1], [3, 2, 1, 1], { strides: [2, 3], padding: [[1, 2], [0, 1]] })).toEqual([1, 3, 2, 1]);
  });
});

describe('conv2d backprop', () => {
  it('backprop ops are the adjoints of conv2d', () => {
    fc.assert(
      fc.property(convCaseArbitrary, (r) => {
        const xShape = [r.batch, r.height, r.width, r.channels];
        const wShape = [r.kernel[0], r.kernel[1], r.channels, r.outChannels];
        const options = { strides: r.strides, dilations: r.dilations, padding: r.padding };
        const g = graph();
        const x = floatInput(g, 'x', xShape);
        const w = floatInput(g, 'w', wShape);
        const built = thrown(() => g.conv2d(x, w, options));
        if (built !== undefined) {
          expect(built).toBeInstanceOf(ShapeError);
          return;
        }
        const y = g.conv2d(x, w, options);
        const dy = floatInput(g, 'dy', y.shape);
        const dx = g.conv2dBackpropInput(dy, w, xShape, options);
        const dw = g.conv2dBackpropFilter(x, dy, wShape, options);
        const feeds = { x: randomValues(x.size, r.seed), w: randomValues(w.size, r.seed + 1), dy: randomValues(y.size, r.seed + 2) };
        const [yValue, dxValue, dwValue] = evaluate([y, dx, dw], feeds) as [Tensor, Tensor, Tensor];
        const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0);
        const reference = dot(yValue.data, feeds.dy);
        expectClose([dot(feeds.x, dxValue.data)], [reference], '<x, conv2dBackpropInput(dy, w)>', 1e-12, 1e-12);
        expectClose([dot(feeds.w, dwValue.data)], [reference], '<w, conv2dBackpropFilter(x, dy)>', 1e-12, 1e-12);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  // Strides 1 and 2, 'same' and 'valid', dilations 1 and 2, and one explicit padding.
  const gradientCases: { name: string; xShape: number[]; wShape: number[]; strides: Pair; dilations: Pair; padding: Padding2D }[] = [];
  for (const strides of [[1, 1], [2, 2]] as const) {
    for (const padding of ['same', 'valid'] as const) {
      for (const dilations of [[1, 1], [2, 2]] as const) {
        gradientCases.push({ name: `stride ${strides[0]} ${padding} dilation ${dilations[0]}`, xShape: [2, 6, 5, 2], wShape: [2, 3, 2, 2], strides, dilations, padding });
      }
    }
  }
  gradientCases.push({ name: 'stride 2x1 explicit padding', xShape: [1, 5, 4, 3], wShape: [3, 2, 3, 2], strides: [2, 1], dilations: [1, 1], padding: [[2, 1], [0, 1]] });

  it.each(gradientCases)('conv2d gradients match finite differences: $name', (c) => {
    const g = graph();
    const x = floatInput(g, 'x', c.xShape);
    const w = floatInput(g, 'w', c.wShape);
    const y = g.conv2d(x, w, c);
    const loss = pairing(g, y, 'r');
    const feeds = { x: randomValues(x.size, 1), w: randomValues(w.size, 2), r: randomValues(y.size, 3) };
    expectGradientsMatch(loss, { x, w }, feeds);
  });

  it.each(gradientCases)('backprop op gradients match finite differences: $name', (c) => {
    const g = graph();
    const x = floatInput(g, 'x', c.xShape);
    const w = floatInput(g, 'w', c.wShape);
    const dy = floatInput(g, 'dy', g.conv2d(x, w, c).shape);
    const dx = g.conv2dBackpropInput(dy, w, c.xShape, c);
    const dw = g.conv2dBackpropFilter(x, dy, c.wShape, c);
    const feeds = { x: randomValues(x.size, 4), w: randomValues(w.size, 5), dy: randomValues(dy.size, 6), rx: randomValues(x.size, 7), rw: randomValues(w.size, 8) };
    const lossOfDx = pairing(g, dx, 'rx');
    const lossOfDw = pairing(g, dw, 'rw');
    expectGradientsMatch(lossOfDx, { dy, w }, feeds);
    expectGradientsMatch(lossOfDw, { x, dy }, feeds);
  });

  it.each([gradientCases[2]!, gradientCases[5]!, gradientCases[8]!])('second derivative through conv and tanh: $name', (c) => {
    const g = graph();
    const x = floatInput(g, 'x', c.xShape);
    const w = floatInput(g, 'w', c.wShape);
    const loss = pairing(g, g.tanh(g.conv2d(x, w, c)), 'r');
    const [dx, dw] = grad(loss, [x, w]) as [Node, Node];
    const secondary = g.add(pairing(g, dx, 'rx'), pairing(g, dw, 'rw'));
    const feeds: Feeds = { x: randomValues(x.size, 11), w: randomValues(w.size, 12), rx: randomValues(x.size, 14), rw: randomValues(w.size, 15) };
    feeds.r = randomValues(sizeOf(g.nodes.find((n) => n.name === 'r')!.shape), 13);
    expectGradientsMatch(secondary, { x, w }, feeds, 1e-5, 1e-8);
  });
});

function poolCase(xShape: number[], attrs: Pool2DAttrs, kind: 'max' | 'avg') {
  const g = graph();
  const x = floatInput(g, 'x', xShape);
  const y = kind === 'max' ? g.maxPool2d(x, attrs) : g.avgPool2d(x, attrs);
  return { g, x, y };
}

const poolArbitrary = fc
  .record({
    batch: fc.integer({ min: 1, max: 2 }),
    height: fc.integer({ min: 1, max: 7 }),
    width: fc.integer({ min: 1, max: 7 }),
    channels: fc.integer({ min: 1, max: 3 }),
    poolSize: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padding: paddingArbitrary(2),
    seed: fc.integer(),
  })
  .filter((r) => typeof r.padding === 'string' || r.padding.every((pads, axis) => pads.every((p) => p < r.poolSize[axis]!)));

describe('pooling', () => {
  it('maxPool2d and avgPool2d match direct loops', () => {
    fc.assert(
      fc.property(poolArbitrary, (r) => {
        const xShape = [r.batch, r.height, r.width, r.channels];
        const attrs: Pool2DAttrs = { poolSize: r.poolSize, strides: r.strides, padding: r.padding };
        const { shape, windows } = poolWindows(xShape, attrs);
        const x = randomValues(sizeOf(xShape), r.seed);
        for (const kind of ['max', 'avg'] as const) {
          if (shape[1]! < 1 || shape[2]! < 1) {
            expect(thrown(() => poolCase(xShape, attrs, kind))).toBeInstanceOf(ShapeError);
            continue;
          }
          const { y } = poolCase(xShape, attrs, kind);
          expect(y.shape).toEqual(shape);
          const expected = windows.map((members) => (kind === 'max' ? Math.max(...members.map((i) => x[i]!)) : members.reduce((s, i) => s + x[i]!, 0) / members.length));
          expectClose(run(y, { x }).data, expected, `${kind}Pool2d ${JSON.stringify(attrs)}`);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('pool gradients match direct loops', () => {
    fc.assert(
      fc.property(poolArbitrary, (r) => {
        const xShape = [r.batch, r.height, r.width, r.channels];
        const attrs: Pool2DAttrs = { poolSize: r.poolSize, strides: r.strides, padding: r.padding };
        const { shape, windows } = poolWindows(xShape, attrs);
        if (shape[1]! < 1 || shape[2]! < 1) return;
        const x = randomValues(sizeOf(xShape), r.seed);
        const dy = randomValues(windows.length, r.seed + 1);
        const expectedMax = new Float64Array(x.length);
        firstMaxIndices(x, windows).forEach((i, o) => (expectedMax[i] += dy[o]!));
        const expectedAvg = new Float64Array(x.length);
        windows.forEach((members, o) => members.forEach((i) => (expectedAvg[i] += dy[o]! / members.length)));
        for (const [kind, expected] of [['max', expectedMax], ['avg', expectedAvg]] as const) {
          const { g, x: xNode, y } = poolCase(xShape, attrs, kind);
          const [dx] = grad(g.sum(g.mul(y, floatInput(g, 'dy', y.shape))), [xNode]) as [Node];
          expectClose(run(dx, { x, dy }).data, expected, `${kind}Pool2d gradient ${JSON.stringify(attrs)}`);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  const poolGradientCases: { name: string; attrs: Pool2DAttrs }[] = [
    { name: '2x2 stride 2 valid', attrs: { poolSize: [2, 2], strides: [2, 2], padding: 'valid' } },
    { name: '3x3 stride 2 same', attrs: { poolSize: [3, 3], strides: [2, 2], padding: 'same' } },
    { name: '3x2 stride 1 same', attrs: { poolSize: [3, 2], strides: [1, 1], padding: 'same' } },
    { name: '2x3 stride 2x1 explicit', attrs: { poolSize: [2, 3], strides: [2, 1], padding: [[1, 0], [2, 1]] } },
  ];

  it.each(poolGradientCases)('pool gradients match finite differences: $name', ({ attrs }) => {
    for (const kind of ['max', 'avg'] as const) {
      const { g, x, y } = poolCase([2, 6, 5, 2], attrs, kind);
      const loss = pairing(g, y, 'r');
      const feeds = { x: distinctValues(x.size, 21), r: randomValues(y.size, 22) };
      expectGradientsMatch(loss, { x }, feeds);
    }
  });

  it('max pooling sends a tie to the first maximal element', () => {
    // Overlapping 2x2 windows over a constant input: each window's first element is its top-left.
    const attrs: Pool2DAttrs = { poolSize: [2, 2], strides: [1, 1], padding: 'valid' };
    const { g, x, y } = poolCase([1, 3, 3, 1], attrs, 'max');
    const [dx] = grad(g.sum(y), [x]) as [Node];
    expect(Array.from(run(dx, { x: new Float64Array(9).fill(1) }).data)).toEqual([1, 1, 0, 1, 1, 0, 0, 0, 0]);

    // One window [[1, 3], [3, 2]]: the 3 in row 0 is first in row-major order.
    const single = poolCase([1, 2, 2, 1], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }, 'max');
    const [dSingle] = grad(single.g.sum(single.y), [single.x]) as [Node];
    expect(Array.from(run(dSingle, { x: Float64Array.of(1, 3, 3, 2) }).data)).toEqual([0, 1, 0, 0]);
  });

  it('padding never wins a max or counts in an average', () => {
    const attrs: Pool2DAttrs = { poolSize: [3, 3], strides: [2, 2], padding: 'same' };
    const negative = Float64Array.from({ length: 16 }, (_, i) => -1 - i);
    const max = poolCase([1, 4, 4, 1], attrs, 'max');
    // 'same' pads 0 rows before and 1 after: windows start at rows 0 and 2.
    expect(Array.from(run(max.y, { x: negative }).data)).toEqual([-1, -3, -9, -11]);

    const avg = poolCase([1, 4, 4, 1], attrs, 'avg');
    expect(Array.from(run(avg.y, { x: new Float64Array(16).fill(1) }).data)).toEqual([1, 1, 1, 1]);
    // Bottom-right window covers rows 2..3 and columns 2..3 of 0..15: mean of 10, 11, 14, 15.
    expect(run(avg.y, { x: Float64Array.from({ length: 16 }, (_, i) => i) }).data[3]).toBe(12.5);
  });

  it('max pooling propagates NaN and routes its gradient there', () => {
    const { g, x, y } = poolCase([1, 2, 2, 1], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }, 'max');
    const [dx] = grad(g.sum(y), [x]) as [Node];
    const [value, gradient] = evaluate([y, dx], { x: Float64Array.of(5, NaN, 7, NaN) }) as [Tensor, Tensor];
    expect(value.data[0]).toBeNaN();
    expect(Array.from(gradient.data)).toEqual([0, 1, 0, 0]);
  });

  it('maxPool2dGrad gradient gathers at the first maximum', () => {
    for (const { name, attrs } of poolGradientCases) {
      const xShape = [2, 5, 6, 2];
      const g = graph();
      const x = floatInput(g, 'x', xShape);
      const pooled = g.maxPool2d(x, attrs);
      const dy = floatInput(g, 'dy', pooled.shape);
      const routed = g.addNode('maxPool2dGrad', [x, dy], attrs);
      const loss = pairing(g, routed, 'r');
      const [dDy, dX] = grad(loss, [dy, x]) as [Node, Node];
      const { windows } = poolWindows(xShape, attrs);

      // Rounded values give many ties, so the first-maximum rule is exercised.
      const feeds = { x: randomValues(x.size, 31).map((v) => Math.round(v * 2)), dy: randomValues(dy.size, 32), r: randomValues(x.size, 33) };
      const expected = firstMaxIndices(feeds.x, windows).map((i) => feeds.r[i]!);
      const [gathered, zero] = evaluate([dDy, dX], feeds) as [Tensor, Tensor];
      expect(Array.from(gathered.data), name).toEqual(expected);
      expect(Array.from(zero.data).every((v) => v === 0), name).toBe(true);
      expectGradientsMatch(loss, { dy }, feeds);
    }
  });

  it('avgPool2dGrad gradient is avgPool2d', () => {
    for (const { name, attrs } of poolGradientCases) {
      const g = graph();
      const xShape = [1, 6, 5, 2];
      const pooledShape = g.avgPool2d(floatInput(g, 'x', xShape), attrs).shape;
      const dy = floatInput(g, 'dy', pooledShape);
      const spread = g.addNode('avgPool2dGrad', [dy], { ...attrs, inputShape: xShape });
      const loss = pairing(g, spread, 'r');
      const [dDy] = grad(loss, [dy]) as [Node];
      const feeds = { dy: randomValues(dy.size, 41), r: randomValues(sizeOf(xShape), 42) };
      const expected = run(g.avgPool2d(g.nodes.find((n) => n.name === 'r')!, attrs), feeds);
      expectClose(run(dDy, feeds).data, expected.data, name);
      expectGradientsMatch(loss, { dy }, feeds);
    }
  });

  it('second derivative through conv, tanh and max pooling', () => {
    const g = graph();
    const x = floatInput(g, 'x', [1, 7, 6, 2]);
    const w = floatInput(g, 'w', [3, 3, 2, 3]);
    const hidden = g.tanh(g.conv2d(x, w, { padding: 'same' }));
    const loss = pairing(g, g.maxPool2d(hidden, { poolSize: [3, 3], strides: [2, 2], padding: 'same' }), 'r');
    const [dw] = grad(loss, [w]) as [Node];
    const secondary = pairing(g, dw, 'rw');
    const feeds: Feeds = { x: randomValues(x.size, 51), w: randomValues(w.size, 52), rw: randomValues(w.size, 54) };
    feeds.r = randomValues(sizeOf(g.nodes.find((n) => n.name === 'r')!.shape), 53);
    expectGradientsMatch(secondary, { w, x }, feeds, 1e-5, 1e-8);
  });
});

for (const backend of EVALUATORS) {
  describe(`max pooling rules on ${backend.name}`, () => {
    // Five channels with equal values, so that compiled kernels run SIMD lanes and a scalar tail.
    const CHANNELS = 5;
    const perChannel = (pixels: readonly number[]) => Float64Array.from(pixels.flatMap((v) => new Array<number>(CHANNELS).fill(v)));

    /** Returns maxPool2d(x) and the gradient of sum(maxPool2d(x) * dy) for x, on this evaluator. */
    function poolAndGradient(size: Pair, attrs: Pool2DAttrs, x: Float64Array, dy: (outSize: number) => Float64Array): { y: Float64Array; dx: Float64Array } {
      const g = graph();
      const xNode = floatInput(g, 'x', [1, size[0], size[1], CHANNELS]);
      const y = g.maxPool2d(xNode, attrs);
      const [dx] = grad(g.sum(g.mul(y, floatInput(g, 'dy', y.shape))), [xNode]) as [Node];
      const [value, gradient] = backend.evaluate([y, dx], { x, dy: dy(y.size) }) as [Tensor, Tensor];
      return { y: value.data, dx: gradient.data };
    }

    /** Checks every element with Object.is, so -0 and +0 differ. */
    function expectSame(actual: Float64Array, expected: Float64Array): void {
      expect(actual.length).toBe(expected.length);
      actual.forEach((v, i) => expect(v, `element ${i}`).toBe(expected[i]));
    }

    const ones = (n: number) => new Float64Array(n).fill(1);

    it('sends a tie to the first maximal element', () => {
      // Overlapping 2x2 windows over a constant input: each window's first element is its top-left.
      const overlapping = poolAndGradient([3, 3], { poolSize: [2, 2], strides: [1, 1], padding: 'valid' }, perChannel(new Array(9).fill(1)), ones);
      expectSame(overlapping.dx, perChannel([1, 1, 0, 1, 1, 0, 0, 0, 0]));

      // One window [[1, 3], [3, 2]]: the 3 in row 0 is first in row-major order.
      const single = poolAndGradient([2, 2], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }, perChannel([1, 3, 3, 2]), ones);
      expectSame(single.dx, perChannel([0, 1, 0, 0]));
    });

    it('keeps the first of tied zeros and turns a -0 gradient into +0', () => {
      const attrs: Pool2DAttrs = { poolSize: [2, 2], strides: [2, 2], padding: 'valid' };
      const minusFirst = poolAndGradient([2, 2], attrs, perChannel([-0, 0, 0, -0]), (n) => new Float64Array(n).fill(-0));
      expectSame(minusFirst.y, perChannel([-0]));
      expectSame(minusFirst.dx, perChannel([0, 0, 0, 0]));
      expectSame(poolAndGradient([2, 2], attrs, perChannel([0, -0, -0, 0]), ones).y, perChannel([0]));

      // 'same' padding with overlapping windows takes the other gradient path.
      const padded = poolAndGradient([2, 2], { poolSize: [2, 2], strides: [1, 1], padding: 'same' }, perChannel([-0, 0, 0, -0]), (n) => new Float64Array(n).fill(-0));
      expectSame(padded.y, perChannel([-0, 0, 0, -0]));
      expectSame(padded.dx, perChannel([0, 0, 0, 0]));
    });

    it('propagates NaN and routes its gradient to the first NaN', () => {
      const { y, dx } = poolAndGradient([2, 2], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }, perChannel([5, NaN, 7, NaN]), ones);
      expectSame(y, perChannel([NaN]));
      expectSame(dx, perChannel([0, 1, 0, 0]));

      // Windows at the padded edge: NaN wins wherever it lies inside a window.
      const padded = poolAndGradient([3, 3], { poolSize: [3, 3], strides: [2, 2], padding: 'same' }, perChannel([1, 2, 3, 4, NaN, 6, 7, 8, 9]), ones);
      expectSame(padded.y, perChannel([NaN, NaN, NaN, NaN]));
      expectSame(padded.dx, perChannel([0, 0, 0, 0, 4, 0, 0, 0, 0]));
    });
  });
}

describe('conv and pooling errors', () => {
  const build = (xShape: number[], wShape: number[], options: object, dtypes: ['float32' | 'float64' | 'int32', 'float32' | 'float64' | 'int32'] = ['float32', 'float32']) => () => {
    const g = graph();
    return g.conv2d(g.input('x', xShape, dtypes[0]), g.input('w', wShape, dtypes[1]), options);
  };
  const pool = (xShape: number[], attrs: Record<string, unknown>, op: 'maxPool2d' | 'avgPool2d' = 'maxPool2d') => () => {
    const g = graph();
    return g.addNode(op, [g.input('x', xShape)], attrs);
  };
  const cases: { name: string; build: () => unknown; error: new (message: string) => SlopeError; message: RegExp }[] = [
    {
      name: 'channel mismatch',
      build: build([1, 5, 5, 3], [3, 3, 2, 4], {}),
      error: ShapeError,
      message: /^Error in conv2d \(%2\): x \[1,5,5,3\] has 3 channels but filter \[3,3,2,4\] expects 2; the filter's axis 2 \(in channels\) must equal the input's axis 3$/,
    },
    { name: 'input of rank 3', build: build([5, 5, 3], [3, 3, 3, 4], {}), error: ShapeError, message: /x must have rank 4 \[batch, height, width, channels\] \(NHWC\), got shape \[5,5,3\]$/ },
    { name: 'filter of rank 2', build: build([1, 5, 5, 3], [3, 3], {}), error: ShapeError, message: /filter must have rank 4 \[height, width, in channels, out channels\] \(HWIO\), got shape \[3,3\]$/ },
    { name: 'zero stride', build: build([1, 5, 5, 1], [3, 3, 1, 1], { strides: [0, 1] }), error: AttributeError, message: /strides\[0\] must be an integer >= 1, got 0$/ },
    { name: 'fractional stride', build: build([1, 5, 5, 1], [3, 3, 1, 1], { strides: 1.5 }), error: AttributeError, message: /strides\[0\] must be an integer >= 1, got 1.5$/ },
    { name: 'negative dilation', build: build([1, 5, 5, 1], [3, 3, 1, 1], { dilations: [1, -1] }), error: AttributeError, message: /dilations\[1\] must be an integer >= 1, got -1$/ },
    { name: 'negative explicit padding', build: build([1, 5, 5, 1], [3, 3, 1, 1], { padding: [[0, -1], [0, 0]] }), error: AttributeError, message: /padding\[0\]\[1\] must be an integer >= 0, got -1$/ },
    { name: 'explicit padding not a pair', build: build([1, 5, 5, 1], [3, 3, 1, 1], { padding: [[0, 1, 2], [0, 0]] }), error: AttributeError, message: /padding\[0\] must be a pair \[before, after\], got \[0,1,2\]$/ },
    {
      name: 'uppercase padding',
      build: build([1, 5, 5, 1], [3, 3, 1, 1], { padding: 'SAME' }),
      error: AttributeError,
      message: /padding must be 'same', 'valid' or \[\[top, bottom\], \[left, right\]\], got "SAME"; use lowercase 'same'$/,
    },
    {
      name: 'empty output',
      build: build([1, 2, 4, 1], [3, 3, 1, 1], { padding: 'valid' }),
      error: ShapeError,
      message: /output height would be 0: input height 2 with filter height 3, dilation 1 \(effective size 3\), stride 1 and padding 'valid' leaves no complete window; use 'same' padding, a smaller filter or a larger input$/,
    },
    {
      name: 'empty output from dilation',
      build: build([1, 8, 6, 1], [3, 3, 1, 1], { dilations: [1, 3], padding: [[0, 0], [0, 0]] }),
      error: ShapeError,
      message: /output width would be 0: input width 6 with filter width 3, dilation 3 \(effective size 7\), stride 1 and padding \[\[0,0\],\[0,0\]\]/,
    },
    { name: 'mixed dtypes', build: build([1, 5, 5, 1], [3, 3, 1, 1], {}, ['float32', 'float64']), error: DTypeError, message: /inputs must have one dtype, got float32 and float64; insert a cast$/ },
    { name: 'int32 inputs', build: build([1, 5, 5, 1], [3, 3, 1, 1], {}, ['int32', 'int32']), error: DTypeError, message: /inputs must be float32 or float64, got int32$/ },
    {
      name: 'backprop input with the wrong dy shape',
      build: () => {
        const g = graph();
        return g.conv2dBackpropInput(g.input('dy', [1, 3, 3, 4]), g.input('w', [3, 3, 2, 4]), [1, 6, 7, 2], { strides: 2, padding: 'same' });
      },
      error: ShapeError,
      message: /^Error in conv2dBackpropInput \(%2\): dy must have shape \[1,3,4,4\] \(the conv2d output for inputShape \[1,6,7,2\] and filter \[3,3,2,4\]\), got \[1,3,3,4\]$/,
    },
    {
      name: 'backprop input with a short inputShape',
      build: () => {
        const g = graph();
        return g.conv2dBackpropInput(g.input('dy', [1, 3, 3, 4]), g.input('w', [3, 3, 2, 4]), [6, 6, 2]);
      },
      error: AttributeError,
      message: /inputShape must have 4 entries \[batch, height, width, channels\], got \[6,6,2\]$/,
    },
    {
      name: 'backprop filter with the wrong channels',
      build: () => {
        const g = graph();
        return g.conv2dBackpropFilter(g.input('x', [1, 5, 5, 2]), g.input('dy', [1, 3, 3, 4]), [3, 3, 3, 4]);
      },
      error: ShapeError,
      message: /^Error in conv2dBackpropFilter \(%2\): x \[1,5,5,2\] has 2 channels but filterShape \[3,3,3,4\] expects 3/,
    },
    { name: 'zero pool size', build: pool([1, 4, 4, 1], { poolSize: [0, 2] }), error: AttributeError, message: /^Error in maxPool2d \(%1\): poolSize\[0\] must be an integer >= 1, got 0$/ },
    {
      name: 'pool padding as large as the pool',
      build: pool([1, 4, 4, 1], { poolSize: [2, 3], strides: [1, 1], padding: [[0, 0], [3, 0]] }, 'avgPool2d'),
      error: AttributeError,
      message: /^Error in avgPool2d \(%1\): padding\[1\]\[0\] is 3, but pooling padding must be smaller than the pool size 3 on that axis, so that every window contains an input element$/,
    },
    {
      name: 'empty pool output',
      build: pool([1, 4, 1, 1], { poolSize: [2, 2], strides: [2, 2], padding: 'valid' }),
      error: ShapeError,
      message: /output width would be 0: input width 1 with pool width 2, stride 2 and padding 'valid' leaves no complete window; use 'same' padding, a smaller pool or a larger input$/,
    },
    {
      name: 'maxPool2dGrad with the wrong dy shape',
      build: () => {
        const g = graph();
        return g.addNode('maxPool2dGrad', [g.input('x', [1, 4, 4, 1]), g.input('dy', [1, 4, 4, 1])], { poolSize: [2, 2] });
      },
      error: ShapeError,
      message: /dy must have shape \[1,2,2,1\] \(the maxPool2d output for x \[1,4,4,1\]\), got \[1,4,4,1\]$/,
    },
    {
      name: 'avgPool2dGrad with a mismatched inputShape',
      build: () => {
        const g = graph();
        return g.addNode('avgPool2dGrad', [g.input('dy', [1, 2, 2, 1])], { poolSize: [2, 2], inputShape: [1, 6, 4, 1] });
      },
      error: ShapeError,
      message: /dy must have shape \[1,3,2,1\] \(the avgPool2d output for inputShape \[1,6,4,1\]\), got \[1,2,2,1\]$/,
    },
  ];

  it.each(cases)('$name', ({ build: make, error, message }) => {
    const caught = thrown(make);
    expect(caught).toBeInstanceOf(error);
    expect((caught as Error).message).toMatch(message);
  });
});

// Field cases: computations that some framework once got wrong, stored as
// JSON in shared/cases beside the repository directory, with float64 values.

interface TensorJson {
  dtype: string;
  shape: number[];
  values: unknown;
}

interface FieldCase {
  graph: { nodes: { id: string; op: string; inputs: string[]; attrs?: Record<string, unknown> }[]; gradients?: { of: string; wrt: string[] }[] };
  inputs: Record<string, TensorJson>;
  expected: Record<string, unknown>;
  tolerance: { rtol: number; atol: number };
}

/** A value computed for an expected key: a tensor or scalar compared within tolerance, integers compared exactly, or a group of keys. */
type Computed = Tensor | number | readonly number[] | { readonly [key: string]: Computed };

const CASES_DIRECTORY = new URL('../../../shared/cases/', import.meta.url);

function loadFieldCase(file: string): FieldCase {
  const url = new URL(file, CASES_DIRECTORY);
  if (!existsSync(url)) {
    throw new Error(`field case ${fileURLToPath(url)} is missing; these tests read the shared/cases directory that sits beside the repository directory`);
  }
  return JSON.parse(readFileSync(url, 'utf8')) as FieldCase;
}

/** Flattens nested lists, reading the strings "NaN", "Infinity" and "-Infinity" as numbers. */
function flatValues(values: unknown): number[] {
  if (Array.isArray(values)) return values.flatMap(flatValues);
  if (typeof values === 'string') return [Number(values)];
  return [values as number];
}

function isTensorJson(value: unknown): value is TensorJson {
  return typeof value === 'object' && value !== null && 'shape' in value && 'values' in value;
}

/** Declares every input of a case as a float64 graph input and returns the nodes and their feeds. */
function caseInputs(g: Graph, fieldCase: FieldCase): { nodes: Record<string, Node>; feeds: Feeds } {
  const nodes: Record<string, Node> = {};
  const feeds: Feeds = {};
  for (const [name, tensor] of Object.entries(fieldCase.inputs)) {
    const values = Float64Array.from(flatValues(tensor.values));
    expect(values.length, `input ${name} has ${values.length} values for shape ${JSON.stringify(tensor.shape)}`).toBe(sizeOf(tensor.shape));
    nodes[name] = floatInput(g, name, tensor.shape);
    feeds[name] = values;
  }
  return { nodes, feeds };
}

/** Reads the conv2d node's attributes, checking the layouts slope uses. */
function caseConvOptions(fieldCase: FieldCase): { strides: Pair; dilations: Pair; padding: Padding2D } {
  const attrs = fieldCase.graph.nodes.find((n) => n.op === 'conv2d')!.attrs!;
  expect(attrs.data_format).toBe('NHWC');
  expect(attrs.filter_format).toBe('HWIO');
  return {
    strides: attrs.strides as Pair,
    dilations: (attrs.dilations ?? [1, 1]) as Pair,
    padding: String(attrs.padding).toLowerCase() as 'same' | 'valid',
  };
}

function leavesOf(computed: Computed): ArrayLike<number>[] {
  if (typeof computed === 'number') return [[computed]];
  if (Array.isArray(computed)) return [computed as readonly number[]];
  if ('data' in computed && computed.data instanceof Float64Array) return [computed.data];
  return Object.values(computed as Record<string, Computed>).flatMap(leavesOf);
}

/** Requires that no computed value of the same size matches a known wrong output. */
function expectNoMatch(diagnostic: unknown, computed: Record<string, Computed>, tolerance: FieldCase['tolerance'], where: string): void {
  const wrong = isTensorJson(diagnostic) ? flatValues(diagnostic.values) : flatValues(diagnostic);
  for (const leaf of leavesOf(computed)) {
    if (leaf.length !== wrong.length) continue;
    expect(mismatches(leaf, wrong, tolerance.rtol, tolerance.atol).length, `a computed value matches the known wrong output ${where}`).toBeGreaterThan(0);
  }
}

/** Checks every expected key against the computed values; an expected key with no computed value fails. */
function checkExpected(expected: Record<string, unknown>, computed: Record<string, Computed>, tolerance: FieldCase['tolerance'], path = ''): void {
  for (const [key, value] of Object.entries(expected)) {
    const where = `${path}${key}`;
    if (key.startsWith('diagnostic_')) {
      expectNoMatch(value, computed, tolerance, where);
      continue;
    }
    expect(Object.hasOwn(computed, key), `no computed value for the expected key ${where}`).toBe(true);
    const actual = computed[key]!;
    if (isTensorJson(value)) {
      expect((actual as Tensor).shape, `${where} shape`).toEqual(value.shape);
      expect(mismatches((actual as Tensor).data, flatValues(value.values), tolerance.rtol, tolerance.atol), where).toEqual([]);
    } else if (typeof value === 'number') {
      expect(mismatches([actual as number], [value], tolerance.rtol, tolerance.atol), where).toEqual([]);
    } else if (Array.isArray(value)) {
      expect(Array.from(actual as readonly number[]), where).toEqual(value);
    } else {
      checkExpected(value as Record<string, unknown>, actual as Record<string, Computed>, tolerance, `${where}.`);
    }
  }
}

for (const backend of EVALUATORS) {
  describe(`field cases on ${backend.name}`, () => {
    it('conv2d + bias + activation, stride 2 same', () => {
      const fieldCase = loadFieldCase('c15.json');
      const { tolerance } = fieldCase;
      const g = graph();
      const { nodes, feeds } = caseInputs(g, fieldCase);
      const { x, w, bias, prelu_alpha: alpha } = nodes as Record<string, Node>;
      const options = caseConvOptions(fieldCase);
      const activations: Record<string, (v: Node) => Node> = {
        linear: (v) => v,
        relu: (v) => g.relu(v),
        prelu: (v) => g.prelu(v, alpha!),
        leaky_relu_0p2: (v) => g.leakyRelu(v, 0.2),
      };

      // The chain as separate nodes, and as the conv2d builder's bias and activation options.
      const pre = g.conv2d(x!, w!, options);
      const names = Object.keys(activations);
      const chained = names.map((name) => activations[name]!(g.add(pre, bias!)));
      const built = names.map((name) => g.conv2d(x!, w!, { ...options, bias: bias!, activation: activations[name]! }));
      const values = backend.evaluate([...chained, ...built], feeds);
      const [height, width] = [x!.shape[1]!, x!.shape[2]!];
      const geometry = window2D(height, width, [w!.shape[0]!, w!.shape[1]!], options.strides, options.dilations, options.padding);
      const computed: Record<string, Computed> = {
        output_shape: pre.shape,
        pads_top_bottom_left_right: [geometry.padTop, geometry.padBottom, geometry.padLeft, geometry.padRight],
      };
      names.forEach((name, i) => (computed[`y_${name}`] = values[i]!));
      checkExpected(fieldCase.expected, computed, tolerance);

      const activationKeys = Object.fromEntries(Object.entries(fieldCase.expected).filter(([key]) => key.startsWith('y_')));
      expect(Object.keys(activationKeys)).toHaveLength(names.length);
      const builtComputed = Object.fromEntries(names.map((name, i) => [`y_${name}`, values[names.length + i]!]));
      checkExpected(activationKeys, builtComputed, tolerance);

      // The expected values reject the faults the case describes: the odd
      // padding row and column placed before the input, or the bias added along
      // the width axis (which has the channel count here).
      const expectedLinear = flatValues((fieldCase.expected.y_linear as TensorJson).values);
      const paddedBefore = g.add(g.conv2d(x!, w!, { ...options, padding: [[1, 0], [1, 0]] }), bias!);
      const biasOnWidth = g.add(pre, g.reshape(bias!, [1, 1, bias!.size, 1]));
      for (const wrong of backend.evaluate([paddedBefore, biasOnWidth], feeds)) {
        expect(wrong.shape).toEqual(pre.shape);
        expect(mismatches(wrong.data, expectedLinear, tolerance.rtol, tolerance.atol).length).toBeGreaterThan(0);
      }
    });

    it('gradients of conv2d + bias + prelu', () => {
      const fieldCase = loadFieldCase('c18.json');
      const { tolerance } = fieldCase;
      const net = graph();
      const { nodes, feeds } = caseInputs(net, fieldCase);
      const { x, w, bias, prelu_alpha: alpha, g: cotangent } = nodes as Record<string, Node>;
      expect(fieldCase.graph.gradients?.map((gradient) => gradient.wrt)).toEqual([
        ['x', 'w', 'bias', 'prelu_alpha'],
        ['x', 'w', 'bias'],
      ]);

      const preActivation = net.add(net.conv2d(x!, w!, caseConvOptions(fieldCase)), bias!);
      const y = net.prelu(preActivation, alpha!);
      const loss = net.sum(net.mul(y, cotangent!));
      const preluGrads = grad(loss, [x!, w!, bias!, alpha!]);
      const leakyLoss = net.sum(net.mul(net.leakyRelu(preActivation, 0.2), cotangent!));
      const leakyGrads = grad(leakyLoss, [x!, w!, bias!]);
      const values = backend.evaluate([y, loss, ...preluGrads, ...leakyGrads], feeds);
      const [yValue, lossValue, gx, gw, gBias, gAlpha, lx, lw, lBias] = values as Tensor[];
      checkExpected(
        fieldCase.expected,
        {
          y_prelu: yValue!,
          loss_prelu: lossValue!.data[0]!,
          grad_x: gx!,
          grad_w: gw!,
          grad_bias: gBias!,
          grad_alpha: gAlpha!,
          leaky_0p2: { grad_x: lx!, grad_w: lw!, grad_bias: lBias! },
        },
        tolerance,
      );

      // The expected values reject the faults the case describes: no alpha
      // gradient, or an alpha gradient read from the activation's output
      // (alpha * pre) in place of the pre-activation.
      const expectedAlpha = flatValues((fieldCase.expected.grad_alpha as TensorJson).values);
      const fromOutput = net.sum(net.where(net.greater(preActivation, 0), 0, net.mul(y, cotangent!)), [0, 1, 2]);
      expect(mismatches(run(fromOutput, feeds).data, expectedAlpha, tolerance.rtol, tolerance.atol).length).toBeGreaterThan(0);
      expect(mismatches(new Float64Array(expectedAlpha.length), expectedAlpha, tolerance.rtol, tolerance.atol).length).toBeGreaterThan(0);
    });
  });
}
