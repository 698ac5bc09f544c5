// onnxruntime-web peers for the forward workloads W1 and W2, with one and
// two threads. ONNX Runtime has no autodiff, so it has no training rows. Its
// Wasm runtime reads `env.wasm.numThreads` once, when the first session is
// created, so each variant runs in its own child process (`isolated`).
// Models are built in code as small ONNX graphs (see onnx-model.ts). W2's is
// Conv followed by LeakyRelu, and graph optimization level 'all' lets ONNX
// Runtime fuse the two where it can.

import * as ort from 'onnxruntime-web';

import { hwioToOihw, nchwToNhwc, nhwcToNchw } from '../layout.ts';
import type { Inputs, Prepared, System } from '../system.ts';
import { CONV, MATMUL } from '../workloads.ts';
import type { WorkloadId } from '../workloads.ts';
import { encodeOnnxModel } from './onnx-model.ts';

/** Opset the models declare; onnxruntime-web 1.31.1 loads W1's and W2's models with it. */
const OPSET = 17;

const NCHW_INPUT = [CONV.batch, CONV.inChannels, CONV.height, CONV.width];
const NCHW_OUTPUT = [CONV.batch, CONV.outChannels, CONV.height, CONV.width];
const OIHW_FILTER = [CONV.outChannels, CONV.inChannels, CONV.kernel, CONV.kernel];

const MATMUL_SHAPE = [MATMUL.size, MATMUL.size];

function matmulModel(): Uint8Array {
  return encodeOnnxModel({
    name: 'matmul',
    opset: OPSET,
    nodes: [{ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
    inputs: [
      { name: 'a', shape: MATMUL_SHAPE },
      { name: 'b', shape: MATMUL_SHAPE },
    ],
    outputs: [{ name: 'c', shape: MATMUL_SHAPE }],
  });
}

function convLeakyModel(): Uint8Array {
  return encodeOnnxModel({
    name: 'conv_leaky',
    opset: OPSET,
    nodes: [
      {
        opType: 'Conv',
        inputs: ['x', 'w', 'b'],
        outputs: ['z'],
        attributes: [
          { name: 'kernel_shape', ints: [CONV.kernel, CONV.kernel] },
          { name: 'auto_pad', string: 'SAME_UPPER' },
        ],
      },
      { opType: 'LeakyRelu', inputs: ['z'], outputs: ['y'], attributes: [{ name: 'alpha', float: CONV.alpha }] },
    ],
    inputs: [
      { name: 'x', shape: NCHW_INPUT },
      { name: 'w', shape: OIHW_FILTER },
      { name: 'b', shape: [CONV.outChannels] },
    ],
    outputs: [{ name: 'y', shape: NCHW_OUTPUT }],
  });
}

function floatTensor(data: Float32Array, shape: readonly number[]): ort.Tensor {
  return new ort.Tensor('float32', data, [...shape]);
}

async function openSession(model: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

async function setup(id: WorkloadId, inputs: Inputs): Promise<Prepared> {
  switch (id) {
    case 'W1': {
      const session = await openSession(matmulModel());
      const feeds = { a: floatTensor(inputs.a.data, MATMUL_SHAPE), b: floatTensor(inputs.b.data, MATMUL_SHAPE) };
      return {
        run: async () => [(await session.run(feeds)).c.data as Float32Array],
        dispose: () => session.release(),
      };
    }
    case 'W2': {
      const session = await openSession(convLeakyModel());
      const { x, w, b } = inputs;
      const feeds = {
        x: floatTensor(nhwcToNchw(x.data, x.shape), NCHW_INPUT),
        w: floatTensor(hwioToOihw(w.data, w.shape), OIHW_FILTER),
        b: floatTensor(b.data, [CONV.outChannels]),
      };
      return {
        run: async () => [(await session.run(feeds)).y.data as Float32Array],
        toReference: ([y]) => [nchwToNhwc(y, NCHW_OUTPUT)],
        dispose: () => session.release(),
      };
    }
    default:
      throw new RangeError(`onnxruntime-web: workload ${id} is not implemented`);
  }
}

function createSystem(threads: number): System {
  const name = `onnxruntime-web-${threads}t`;
  return {
    name,
    group: name,
    isolated: true,
    supports: (id) => id === 'W1' || id === 'W2',
    init: async () => {
      ort.env.wasm.numThreads = threads;
      ort.env.logLevel = 'error';
    },
    setup,
    dispose: async () => {},
  };
}

export function createSystems(): System[] {
  return [createSystem(1), createSystem(2)];
}
