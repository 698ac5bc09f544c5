// The plain JavaScript kernels are the benchmark's reference, so they are
// checked against naive formulas and finite differences here.

import { describe, expect, it } from 'vitest';

import {
  convLeakyBackward,
  convLeakyForward,
  eltwiseChain,
  matmul,
  matmulTransposeA,
  matmulTransposeB,
  mlpTrainStep,
} from '../../bench/systems/js-loop.ts';
import type { ConvShape } from '../../bench/systems/js-loop.ts';
import { MLP, WORKLOADS } from '../../bench/workloads.ts';
import { Random } from '../../bench/random.ts';

function naiveMatmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[p * n + j];
    }
  }
  return c;
}

function transpose(a: Float32Array, rows: number, columns: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) t[j * rows + i] = a[i * columns + j];
  return t;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i] - expected[i]), `element ${i}`).toBeLessThanOrEqual(tolerance);
  }
}

/** Direct definition of the padded convolution, one output element at a time. */
function naiveConvPreActivation(x: Float32Array, w: Float32Array, b: Float32Array, s: ConvShape): Float64Array {
  const pad = (s.kernel - 1) / 2;
  const z = new Float64Array(s.batch * s.height * s.width * s.outChannels);
  for (let n = 0; n < s.batch; n++)
    for (let h = 0; h < s.height; h++)
      for (let column = 0; column < s.width; column++)
        for (let o = 0; o < s.outChannels; o++) {
          let sum = b[o];
          for (let kh = 0; kh < s.kernel; kh++)
            for (let kw = 0; kw < s.kernel; kw++)
              for (let c = 0; c < s.inChannels; c++) {
                const ih = h + kh - pad;
                const iw = column + kw - pad;
                if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
                sum += x[((n * s.height + ih) * s.width + iw) * s.inChannels + c] * w[((kh * s.kernel + kw) * s.inChannels + c) * s.outChannels + o];
              }
          z[((n * s.height + h) * s.width + column) * s.outChannels + o] = sum;
        }
  return z;
}

const SMALL: ConvShape = { batch: 2, height: 5, width: 4, inChannels: 3, outChannels: 2, kernel: 3 };
const ALPHA = 0.2;

function sumLeakyConv(x: Float32Array, w: Float32Array, b: Float32Array): number {
  return naiveConvPreActivation(x, w, b, SMALL).reduce((total, z) => total + (z > 0 ? z : ALPHA * z), 0);
}

describe('js-loop kernels', () => {
  const random = new Random(7);

  it('matmul matches the naive product', () => {
    const a = random.uniform(5 * 7);
    const b = random.uniform(7 * 3);
    expectClose(matmul(a, b, 5, 7, 3), naiveMatmul(a, b, 5, 7, 3), 1e-5);
  });

  it('matmulTransposeA multiplies by the transpose', () => {
    const a = random.uniform(7 * 5);
    const b = random.uniform(7 * 3);
    expectClose(matmulTransposeA(a, b, 5, 7, 3), naiveMatmul(transpose(a, 7, 5), b, 5, 7, 3), 1e-5);
  });

  it('matmulTransposeB multiplies by the transpose', () => {
    const a = random.uniform(5 * 7);
    const b = random.uniform(3 * 7);
    expectClose(matmulTransposeB(a, b, 5, 7, 3), naiveMatmul(a, transpose(b, 3, 7), 5, 7, 3), 1e-5);
  });

  it('convLeakyForward matches the definition', () => {
    const x = random.uniform(2 * 5 * 4 * 3);
    const w = random.uniform(3 * 3 * 3 * 2);
    const b = random.uniform(2);
    const expected = Array.from(naiveConvPreActivation(x, w, b, SMALL), (z) => (z > 0 ? z : ALPHA * z));
    expectClose(convLeakyForward(x, w, b, SMALL, ALPHA), expected, 1e-5);
  });

  it('convLeakyBackward matches finite differences', () => {
    const x = random.uniform(2 * 5 * 4 * 3);
    const w = random.uniform(3 * 3 * 3 * 2);
    const b = random.uniform(2);
    const y = convLeakyForward(x, w, b, SMALL, ALPHA);
    const { dx, dw, db } = convLeakyBackward(x, w, y, SMALL, ALPHA);
    const epsilon = 1e-3;

    // Central differences in float64 around a few entries of each input.
    const probe = (values: Float32Array, index: number, evaluate: (changed: Float32Array) => number): number => {
      const plus = values.slice();
      const minus = values.slice();
      plus[index] += epsilon;
      minus[index] -= epsilon;
      return (evaluate(plus) - evaluate(minus)) / (plus[index] - minus[index]);
    };
    for (const index of [0, 7, 23, x.length - 1]) {
      expect(dx[index]).toBeCloseTo(probe(x, index, (changed) => sumLeakyConv(changed, w, b)), 2);
    }
    for (const index of [0, 11, w.length - 1]) {
      expect(dw[index]).toBeCloseTo(probe(w, index, (changed) => sumLeakyConv(x, changed, b)), 2);
    }
    for (const index of [0, 1]) {
      expect(db[index]).toBeCloseTo(probe(b, index, (changed) => sumLeakyConv(x, w, changed)), 2);
    }
  });

  it('eltwiseChain applies leaky ReLU between the products', () => {
    const y = eltwiseChain(Float32Array.of(1, -1), Float32Array.of(2, 2), Float32Array.of(0.5, 0.5), Float32Array.of(3, 3), 0.2);
    expect(y[0]).toBeCloseTo(7.5, 6);
    expect(y[1]).toBeCloseTo(-0.9, 6);
  });
});

describe('mlpTrainStep', () => {
  const inputs = WORKLOADS.W4.makeInputs(3);
  const initial = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'].map((name) => inputs[name].data);
  const lossAt = (params: Float32Array[]): number => mlpTrainStep(params.map((p) => p.slice()), inputs.x.data, inputs.labels.data);

  it('starts near the loss of a uniform guess', () => {
    // Glorot-scaled weights keep the logits small, so the loss is close to ln(10).
    expect(lossAt(initial)).toBeGreaterThan(1.5);
    expect(lossAt(initial)).toBeLessThan(3.5);
  });

  it('updates parameters by -lr times the gradient', () => {
    const updated = initial.map((p) => p.slice());
    mlpTrainStep(updated, inputs.x.data, inputs.labels.data);
    const epsilon = 1e-2;
    // (parameter, element) pairs: one entry of every weight and bias.
    for (const [tensor, index] of [[0, 1000], [1, 5], [2, 300], [3, 7], [4, 55], [5, 3]] as const) {
      const plus = initial.map((p) => p.slice());
      const minus = initial.map((p) => p.slice());
      plus[tensor][index] += epsilon;
      minus[tensor][index] -= epsilon;
      const numeric = (lossAt(plus) - lossAt(minus)) / (plus[tensor][index] - minus[tensor][index]);
      const analytic = (initial[tensor][index] - updated[tensor][index]) / MLP.learningRate;
      expect(analytic, `parameter ${tensor}, index ${index}`).toBeCloseTo(numeric, 2);
    }
  });
});
