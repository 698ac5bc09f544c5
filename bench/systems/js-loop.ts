// The floor: each workload as straightforward loops over Float32Array, the
// code a JavaScript programmer writes without a library. Accumulators are JS
// numbers (float64) and results are stored as float32, so these outputs are
// also the reference of the agreement check. 'js-copy' times a plain
// typed-array copy of W5's input bytes, the memory bandwidth a fused
// elementwise kernel can at best reach.

import type { Inputs, Prepared, System } from '../system.ts';
import { CONV, ELTWISE, MATMUL, MLP, MLP_PARAMS } from '../workloads.ts';
import type { WorkloadId } from '../workloads.ts';

/** C[m,n] = A[m,k]·B[k,n] in i-k-j order, so the inner loop walks rows of B and C. */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let p = 0; p < k; p++) {
      const scale = a[i * k + p];
      const bRow = p * n;
      for (let j = 0; j < n; j++) c[row + j] += scale * b[bRow + j];
    }
  }
  return c;
}

/** C[m,n] = Aᵀ·B for A[k,m] and B[k,n]. */
export function matmulTransposeA(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let p = 0; p < k; p++) {
    const bRow = p * n;
    for (let i = 0; i < m; i++) {
      const scale = a[p * m + i];
      const row = i * n;
      for (let j = 0; j < n; j++) c[row + j] += scale * b[bRow + j];
    }
  }
  return c;
}

/** C[m,n] = A·Bᵀ for A[m,k] and B[n,k]. */
export function matmulTransposeB(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * b[j * k + p];
      c[i * n + j] = sum;
    }
  }
  return c;
}

/** Shape of a stride-1 'same'-padded convolution with an odd square kernel. */
export interface ConvShape {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
}

/** y = leakyRelu(conv2d(x, w) + b, alpha) for x NHWC and w HWIO. */
export function convLeakyForward(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array,
  shape: ConvShape,
  alpha: number,
): Float32Array {
  const { batch, height, width, inChannels: cin, outChannels: cout, kernel } = shape;
  const pad = (kernel - 1) >> 1;
  const y = new Float32Array(batch * height * width * cout);
  const accumulator = new Float64Array(cout);
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < height; oh++) {
      for (let ow = 0; ow < width; ow++) {
        accumulator.set(bias);
        for (let kh = 0; kh < kernel; kh++) {
          const ih = oh + kh - pad;
          if (ih < 0 || ih >= height) continue;
          for (let kw = 0; kw < kernel; kw++) {
            const iw = ow + kw - pad;
            if (iw < 0 || iw >= width) continue;
            const xBase = ((n * height + ih) * width + iw) * cin;
            const wBase = (kh * kernel + kw) * cin * cout;
            for (let ci = 0; ci < cin; ci++) {
              const value = x[xBase + ci];
              const wRow = wBase + ci * cout;
              for (let co = 0; co < cout; co++) accumulator[co] += value * w[wRow + co];
            }
          }
        }
        const yBase = ((n * height + oh) * width + ow) * cout;
        for (let co = 0; co < cout; co++) {
          const z = accumulator[co];
          y[yBase + co] = z > 0 ? z : alpha * z;
        }
      }
    }
  }
  return y;
}

/**
 * Computes the gradients of sum(y) for y = convLeakyForward(x, w, b). With
 * dy = 1 the gradient at the pre-activation z is 1 where z > 0 and alpha
 * elsewhere. Because alpha > 0, y > 0 exactly where z > 0, so y replaces z.
 */
export function convLeakyBackward(
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  shape: ConvShape,
  alpha: number,
): { dx: Float32Array; dw: Float32Array; db: Float32Array } {
  const { batch, height, width, inChannels: cin, outChannels: cout, kernel } = shape;
  const pad = (kernel - 1) >> 1;
  const dx = new Float32Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(cout);
  const dz = new Float64Array(cout);
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < height; oh++) {
      for (let ow = 0; ow < width; ow++) {
        const yBase = ((n * height + oh) * width + ow) * cout;
        for (let co = 0; co < cout; co++) {
          dz[co] = y[yBase + co] > 0 ? 1 : alpha;
          db[co] += dz[co];
        }
        for (let kh = 0; kh < kernel; kh++) {
          const ih = oh + kh - pad;
          if (ih < 0 || ih >= height) continue;
          for (let kw = 0; kw < kernel; kw++) {
            const iw = ow + kw - pad;
            if (iw < 0 || iw >= width) continue;
            const xBase = ((n * height + ih) * width + iw) * cin;
            const wBase = (kh * kernel + kw) * cin * cout;
            for (let ci = 0; ci < cin; ci++) {
              const value = x[xBase + ci];
              const wRow = wBase + ci * cout;
              let sum = 0;
              for (let co = 0; co < cout; co++) {
                dw[wRow + co] += value * dz[co];
                sum += w[wRow + co] * dz[co];
              }
              dx[xBase + ci] += sum;
            }
          }
        }
      }
    }
  }
  return { dx, dw: Float32Array.from(dw), db: Float32Array.from(db) };
}

/** y = leakyRelu(x*a + b, alpha) * c, elementwise. */
export function eltwiseChain(x: Float32Array, a: Float32Array, b: Float32Array, c: Float32Array, alpha: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const t = x[i] * a[i] + b[i];
    y[i] = (t > 0 ? t : alpha * t) * c[i];
  }
  return y;
}

function addBiasLeaky(z: Float32Array, bias: Float32Array, alpha: number): Float32Array {
  const columns = bias.length;
  const h = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const value = z[i] + bias[i % columns];
    z[i] = value;
    h[i] = value > 0 ? value : alpha * value;
  }
  return h;
}

function columnSums(m: Float32Array, rows: number, columns: number): Float32Array {
  const sums = new Float32Array(columns);
  for (let i = 0; i < rows; i++) for (let j = 0; j < columns; j++) sums[j] += m[i * columns + j];
  return sums;
}

/** dz = dh * leakyRelu'(z), in place on dh. */
function leakyBackward(dh: Float32Array, z: Float32Array, alpha: number): Float32Array {
  for (let i = 0; i < dh.length; i++) if (!(z[i] > 0)) dh[i] *= alpha;
  return dh;
}

/** MLP parameters in W4's order: w1, b1, w2, b2, w3, b3. */
export type MlpParams = Float32Array[];

/**
 * Runs one SGD step of W4's MLP: forward, mean softmax cross-entropy over the
 * batch, backward, and `params[i] -= learningRate * grad[i]` in place.
 * Returns the loss before the update.
 */
export function mlpTrainStep(params: MlpParams, x: Float32Array, labels: Float32Array): number {
  const [d0, d1, d2, d3] = MLP.sizes;
  const batch = MLP.batch;
  const alpha = MLP.alpha;
  const [w1, b1, w2, b2, w3, b3] = params;

  // Forward. z1 and z2 keep the pre-activations for the backward pass.
  const z1 = matmul(x, w1, batch, d0, d1);
  const h1 = addBiasLeaky(z1, b1, alpha);
  const z2 = matmul(h1, w2, batch, d1, d2);
  const h2 = addBiasLeaky(z2, b2, alpha);
  const logits = matmul(h2, w3, batch, d2, d3);

  // Softmax cross-entropy: loss = -mean_row sum_j labels * logSoftmax(logits),
  // and dloss/dlogits = (softmax - labels) / batch.
  let loss = 0;
  const dLogits = new Float32Array(batch * d3);
  for (let row = 0; row < batch; row++) {
    const base = row * d3;
    let max = -Infinity;
    for (let j = 0; j < d3; j++) {
      logits[base + j] += b3[j];
      max = Math.max(max, logits[base + j]);
    }
    let sum = 0;
    for (let j = 0; j < d3; j++) sum += Math.exp(logits[base + j] - max);
    const logSum = max + Math.log(sum);
    for (let j = 0; j < d3; j++) {
      const logProbability = logits[base + j] - logSum;
      loss -= labels[base + j] * logProbability;
      dLogits[base + j] = (Math.exp(logProbability) - labels[base + j]) / batch;
    }
  }
  loss /= batch;

  // Backward.
  const dw3 = matmulTransposeA(h2, dLogits, d2, batch, d3);
  const db3 = columnSums(dLogits, batch, d3);
  const dz2 = leakyBackward(matmulTransposeB(dLogits, w3, batch, d3, d2), z2, alpha);
  const dw2 = matmulTransposeA(h1, dz2, d1, batch, d2);
  const db2 = columnSums(dz2, batch, d2);
  const dz1 = leakyBackward(matmulTransposeB(dz2, w2, batch, d2, d1), z1, alpha);
  const dw1 = matmulTransposeA(x, dz1, d0, batch, d1);
  const db1 = columnSums(dz1, batch, d1);

  const grads = [dw1, db1, dw2, db2, dw3, db3];
  for (let i = 0; i < params.length; i++) {
    const param = params[i];
    const grad = grads[i];
    for (let j = 0; j < param.length; j++) param[j] -= MLP.learningRate * grad[j];
  }
  return loss;
}

const LOOP_WORKLOADS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4', 'W5'];

function setupLoop(id: WorkloadId, inputs: Inputs): Prepared {
  switch (id) {
    case 'W1': {
      const { a, b } = inputs;
      return { run: () => [matmul(a.data, b.data, MATMUL.size, MATMUL.size, MATMUL.size)] };
    }
    case 'W2': {
      const { x, w, b } = inputs;
      return { run: () => [convLeakyForward(x.data, w.data, b.data, CONV, CONV.alpha)] };
    }
    case 'W3': {
      const { x, w, b } = inputs;
      return {
        run: () => {
          const y = convLeakyForward(x.data, w.data, b.data, CONV, CONV.alpha);
          let sumY = 0;
          for (let i = 0; i < y.length; i++) sumY += y[i];
          const { dx, dw, db } = convLeakyBackward(x.data, w.data, y, CONV, CONV.alpha);
          return [Float32Array.of(sumY), dx, dw, db];
        },
      };
    }
    case 'W4': {
      const params = MLP_PARAMS.map((name) => inputs[name].data.slice());
      const { x, labels } = inputs;
      return {
        run: () => {
          const loss = mlpTrainStep(params, x.data, labels.data);
          return [Float32Array.of(loss), ...params];
        },
      };
    }
    case 'W5': {
      const { x, a, b, c } = inputs;
      return { run: () => [eltwiseChain(x.data, a.data, b.data, c.data, ELTWISE.alpha)] };
    }
    default:
      throw new RangeError(`js-loop: workload ${id} is not implemented`);
  }
}

function setupCopy(inputs: Inputs): Prepared {
  const sources = ['x', 'a', 'b', 'c'].map((name) => inputs[name].data);
  const size = sources[0].length;
  const target = new Float32Array(size * sources.length);
  return {
    run: () => {
      sources.forEach((source, i) => target.set(source, i * size));
      return [target];
    },
    skipCheck: 'copies the four inputs; computes nothing',
    // Each of the 16 MiB is read once and written once.
    bytesPerRun: 2 * target.byteLength,
  };
}

export function createSystems(): System[] {
  const loop: System = {
    name: 'js-loop',
    group: 'js-loop',
    supports: (id) => LOOP_WORKLOADS.includes(id),
    init: async () => {},
    setup: async (id, inputs) => setupLoop(id, inputs),
    dispose: async () => {},
  };
  const copy: System = {
    name: 'js-copy',
    group: 'js-copy',
    supports: (id) => id === 'W5',
    init: async () => {},
    setup: async (_id, inputs) => setupCopy(inputs),
    dispose: async () => {},
  };
  return [loop, copy];
}
