// The benchmark's workloads W1..W7: their shapes, inputs, outputs and the
// work one run does. Every system computes the same outputs from the same
// seeded inputs. The layouts here (NHWC activations, HWIO filters, row-major
// matrices) are the reference layouts that the agreement check compares.

import { Random } from './random.ts';

export type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4' | 'W5' | 'W6' | 'W7';

export const WORKLOAD_IDS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7'];

/** A float32 tensor in host memory, row-major. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Work per run, turned into a rate column (GFLOP/s, GB/s, images/s). */
export interface Throughput {
  readonly unit: 'GFLOP/s' | 'GB/s' | 'images/s';
  /** Floating-point operations, bytes or images in one run. */
  readonly perRun: number;
}

export interface Workload {
  readonly id: WorkloadId;
  readonly name: string;
  readonly summary: string;
  /**
   * 'step': `Prepared.run` is timed. 'compile': `Prepared.compile` of the
   * workload named by `compiles` is timed, each sample in a fresh process.
   */
  readonly kind: 'step' | 'compile';
  /** For 'compile' workloads: the workload whose executable is compiled. */
  readonly compiles?: WorkloadId;
  readonly throughput?: Throughput;
  /** Output names, in the order `Prepared.run` returns them. */
  readonly outputs: readonly string[];
  makeInputs(seed: number): Record<string, HostTensor>;
  /**
   * Maps outputs to the values that the agreement check compares. W4 compares
   * parameter updates rather than updated parameters, so an error in a
   * gradient is not hidden by the much larger parameter values.
   */
  checkView?(outputs: Float32Array[], inputs: Record<string, HostTensor>): Float32Array[];
}

/** W1: square matrix product. */
export const MATMUL = { size: 512 } as const;

/** W2 and W3: 3x3 convolution, stride 1, 'same' padding, bias, leaky ReLU. */
export const CONV = { batch: 16, height: 28, width: 28, inChannels: 16, outChannels: 32, kernel: 3, alpha: 0.2 } as const;

/** W4: multilayer perceptron trained with one SGD step per run. */
export const MLP = { batch: 64, sizes: [784, 256, 128, 10], alpha: 0.01, learningRate: 0.01 } as const;

/** W5: elementwise chain length. */
export const ELTWISE = { size: 1 << 20, alpha: 0.2 } as const;

/** W7: images in the bundled MNIST subset and the batch size of its epoch. */
export const EPOCH = { images: 10_000, batch: 64 } as const;

/** Names of W4's parameters, in output order after the loss. */
export const MLP_PARAMS = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'] as const;

function tensor(shape: readonly number[], data: Float32Array): HostTensor {
  return { shape, data };
}

function uniformTensor(random: Random, shape: readonly number[], scale = 1): HostTensor {
  return tensor(shape, random.uniform(shape.reduce((a, b) => a * b, 1), scale));
}

/** 2·N·H·W·Cout·KH·KW·Cin: one dense pass of W2's convolution, padding counted as work. */
const CONV_FLOPS =
  2 * CONV.batch * CONV.height * CONV.width * CONV.outChannels * CONV.kernel * CONV.kernel * CONV.inChannels;

/** W4's matrix products: 3 forward, 5 backward (no input gradient for layer 1). Elementwise work is left out. */
function mlpMatmulFlops(): number {
  const [d0, d1, d2, d3] = MLP.sizes;
  const f1 = 2 * MLP.batch * d0 * d1;
  const f2 = 2 * MLP.batch * d1 * d2;
  const f3 = 2 * MLP.batch * d2 * d3;
  return 2 * f1 + 3 * f2 + 3 * f3;
}

function convInputs(seed: number): Record<string, HostTensor> {
  const random = new Random(seed);
  return {
    x: uniformTensor(random, [CONV.batch, CONV.height, CONV.width, CONV.inChannels]),
    w: uniformTensor(random, [CONV.kernel, CONV.kernel, CONV.inChannels, CONV.outChannels]),
    b: uniformTensor(random, [CONV.outChannels]),
  };
}

/**
 * W4's inputs: x uniform in [-1, 1], one-hot labels of uniform classes, and
 * parameters uniform in [-1, 1] scaled as Glorot-uniform initialization
 * (weights) or by 0.1 (biases), so the logits stay in a trainable range.
 */
function mlpInputs(seed: number): Record<string, HostTensor> {
  const random = new Random(seed);
  const [d0, , , classes] = MLP.sizes;
  const inputs: Record<string, HostTensor> = {
    x: uniformTensor(random, [MLP.batch, d0]),
  };
  const labels = new Float32Array(MLP.batch * classes);
  for (let row = 0; row < MLP.batch; row++) labels[row * classes + random.nextInt(classes)] = 1;
  inputs.labels = tensor([MLP.batch, classes], labels);

  for (let layer = 0; layer < 3; layer++) {
    const fanIn = MLP.sizes[layer];
    const fanOut = MLP.sizes[layer + 1];
    inputs[`w${layer + 1}`] = uniformTensor(random, [fanIn, fanOut], Math.sqrt(6 / (fanIn + fanOut)));
    inputs[`b${layer + 1}`] = uniformTensor(random, [fanOut], 0.1);
  }
  return inputs;
}

export const WORKLOADS: Readonly<Record<WorkloadId, Workload>> = {
  W1: {
    id: 'W1',
    name: 'matmul-512',
    summary: 'C = A·B, A and B 512x512',
    kind: 'step',
    throughput: { unit: 'GFLOP/s', perRun: 2 * MATMUL.size ** 3 },
    outputs: ['c'],
    makeInputs(seed) {
      const random = new Random(seed);
      return { a: uniformTensor(random, [MATMUL.size, MATMUL.size]), b: uniformTensor(random, [MATMUL.size, MATMUL.size]) };
    },
  },
  W2: {
    id: 'W2',
    name: 'conv-leaky-fwd',
    summary: 'y = leakyRelu(conv2d(x, w) + b, 0.2); x NHWC [16,28,28,16], w HWIO [3,3,16,32], same padding',
    kind: 'step',
    throughput: { unit: 'GFLOP/s', perRun: CONV_FLOPS },
    outputs: ['y'],
    makeInputs: convInputs,
  },
  W3: {
    id: 'W3',
    name: 'conv-leaky-train',
    summary: "W2's forward plus d sum(y) / d(x, w, b)",
    kind: 'step',
    throughput: { unit: 'GFLOP/s', perRun: 3 * CONV_FLOPS },
    outputs: ['sumY', 'dx', 'dw', 'db'],
    makeInputs: convInputs,
  },
  W4: {
    id: 'W4',
    name: 'mlp-train',
    summary: 'MLP 784-256-128-10, leakyRelu(0.01), softmax cross-entropy, batch 64, one SGD step (lr 0.01)',
    kind: 'step',
    throughput: { unit: 'GFLOP/s', perRun: mlpMatmulFlops() },
    outputs: ['loss', ...MLP_PARAMS],
    makeInputs: mlpInputs,
    checkView(outputs, inputs) {
      const [loss, ...params] = outputs;
      const updates = params.map((updated, i) => {
        const initial = inputs[MLP_PARAMS[i]].data;
        const update = new Float32Array(updated.length);
        for (let j = 0; j < updated.length; j++) update[j] = updated[j] - initial[j];
        return update;
      });
      return [loss, ...updates];
    },
  },
  W5: {
    id: 'W5',
    name: 'eltwise-chain-1M',
    summary: 'y = leakyRelu(x*a + b, 0.2) * c over 1,048,576 elements',
    kind: 'step',
    // Four float32 arrays read and one written.
    throughput: { unit: 'GB/s', perRun: 5 * 4 * ELTWISE.size },
    outputs: ['y'],
    makeInputs(seed) {
      const random = new Random(seed);
      const shape = [ELTWISE.size];
      return {
        x: uniformTensor(random, shape),
        a: uniformTensor(random, shape),
        b: uniformTensor(random, shape),
        c: uniformTensor(random, shape),
      };
    },
  },
  W6: {
    id: 'W6',
    name: 'compile',
    summary: "time from a built graph to a runnable executable for W4's training step, in a fresh process",
    kind: 'compile',
    compiles: 'W4',
    outputs: [],
    makeInputs: mlpInputs,
  },
  W7: {
    id: 'W7',
    name: 'cnn-train-epoch',
    summary: 'the CNN on the 10,000 bundled MNIST digits, one epoch, batch 64',
    kind: 'step',
    throughput: { unit: 'images/s', perRun: EPOCH.images },
    outputs: ['loss'],
    // The system loads the bundled digits itself.
    makeInputs: () => ({}),
  },
};
