// TensorFlow.js 4.22 peers: 'tfjs-wasm' (XNNPACK kernels, which report SIMD
// but no thread support in Node 20) and 'tfjs-cpu' (plain JavaScript
// kernels). The union package @tensorflow/tfjs is used because tfjs-core
// alone registers no gradients. Forward convolutions and dense layers use the
// fused ops with bias and leaky ReLU. Under a gradient tape tfjs-core runs
// fused ops with a non-linear activation unfused (`shouldFuse` in
// ops/fused_util), so W3 and W4 compute them op by op.

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import type { Inputs, Prepared, System } from '../system.ts';
import { SystemUnavailableError } from '../system.ts';
import { CONV, ELTWISE, MLP, MLP_PARAMS } from '../workloads.ts';
import type { WorkloadId } from '../workloads.ts';

type Backend = 'wasm' | 'cpu';

const WORKLOADS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4', 'W5'];

/** Makes variable names unique: tfjs rejects a second variable with a name in use. */
let variableCount = 0;

function upload(inputs: Inputs, name: string): tf.Tensor {
  const { data, shape } = inputs[name];
  return tf.tensor(data, [...shape], 'float32');
}

function read(tensor: tf.Tensor): Float32Array {
  return tensor.dataSync() as Float32Array;
}

function convLeaky(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: w,
    strides: 1,
    pad: 'same',
    bias: b,
    activation: 'leakyrelu',
    leakyreluAlpha: CONV.alpha,
  });
}

function setupMatmul(inputs: Inputs): Prepared {
  const a = upload(inputs, 'a') as tf.Tensor2D;
  const b = upload(inputs, 'b') as tf.Tensor2D;
  return {
    run: () => {
      const c = tf.matMul(a, b);
      const out = read(c);
      c.dispose();
      return [out];
    },
    dispose: () => tf.dispose([a, b]),
  };
}

function setupConvForward(inputs: Inputs): Prepared {
  const x = upload(inputs, 'x') as tf.Tensor4D;
  const w = upload(inputs, 'w') as tf.Tensor4D;
  const b = upload(inputs, 'b') as tf.Tensor1D;
  return {
    run: () => {
      const y = convLeaky(x, w, b);
      const out = read(y);
      y.dispose();
      return [out];
    },
    dispose: () => tf.dispose([x, w, b]),
  };
}

function setupConvTrain(inputs: Inputs): Prepared {
  const x = upload(inputs, 'x') as tf.Tensor4D;
  const w = upload(inputs, 'w') as tf.Tensor4D;
  const b = upload(inputs, 'b') as tf.Tensor1D;
  const valueAndGrads = tf.valueAndGrads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
    convLeaky(xs as tf.Tensor4D, ws as tf.Tensor4D, bs as tf.Tensor1D).sum(),
  );
  return {
    run: () => {
      const { value, grads } = valueAndGrads([x, w, b]);
      const outputs = [value, ...grads].map(read);
      tf.dispose([value, ...grads]);
      return outputs;
    },
    dispose: () => tf.dispose([x, w, b]),
  };
}

function setupMlpTrain(inputs: Inputs): Prepared {
  const x = upload(inputs, 'x') as tf.Tensor2D;
  const labels = upload(inputs, 'labels') as tf.Tensor2D;
  const params = MLP_PARAMS.map((name) => tf.variable(upload(inputs, name), true, `mlp-${name}-${variableCount++}`));
  const [w1, b1, w2, b2, w3, b3] = params;
  const optimizer = tf.train.sgd(MLP.learningRate);

  const dense = (input: tf.Tensor2D, weights: tf.Variable, bias: tf.Variable, leaky: boolean): tf.Tensor2D =>
    tf.fused.matMul({
      a: input,
      b: weights as tf.Tensor2D,
      bias,
      activation: leaky ? 'leakyrelu' : 'linear',
      leakyreluAlpha: MLP.alpha,
    }) as tf.Tensor2D;
  // Mean over the batch of -sum(labels * logSoftmax(logits)): tfjs's default
  // reduction divides the summed losses by the number of rows.
  const loss = (): tf.Scalar => {
    const h1 = dense(x, w1, b1, true);
    const h2 = dense(h1, w2, b2, true);
    return tf.losses.softmaxCrossEntropy(labels, dense(h2, w3, b3, false)) as tf.Scalar;
  };

  return {
    run: () => {
      const cost = optimizer.minimize(loss, true);
      if (cost === null) throw new Error('tfjs: optimizer.minimize returned no loss');
      const outputs = [read(cost), ...params.map(read)];
      cost.dispose();
      return outputs;
    },
    dispose: () => {
      tf.dispose([x, labels, ...params]);
      optimizer.dispose();
    },
  };
}

function setupEltwise(inputs: Inputs): Prepared {
  const [x, a, b, c] = ['x', 'a', 'b', 'c'].map((name) => upload(inputs, name));
  return {
    run: () => {
      const y = tf.tidy(() => tf.leakyRelu(x.mul(a).add(b), ELTWISE.alpha).mul(c));
      const out = read(y);
      y.dispose();
      return [out];
    },
    dispose: () => tf.dispose([x, a, b, c]),
  };
}

function setup(id: WorkloadId, inputs: Inputs): Prepared {
  switch (id) {
    case 'W1':
      return setupMatmul(inputs);
    case 'W2':
      return setupConvForward(inputs);
    case 'W3':
      return setupConvTrain(inputs);
    case 'W4':
      return setupMlpTrain(inputs);
    case 'W5':
      return setupEltwise(inputs);
    default:
      throw new RangeError(`tfjs: workload ${id} is not implemented`);
  }
}

function createSystem(backend: Backend): System {
  const activate = async (): Promise<void> => {
    if (tf.getBackend() === backend) return;
    if (!(await tf.setBackend(backend))) {
      throw new SystemUnavailableError(`tfjs: backend '${backend}' failed to initialize`);
    }
    await tf.ready();
  };
  return {
    name: `tfjs-${backend}`,
    group: `tfjs-${backend}`,
    supports: (id) => WORKLOADS.includes(id),
    init: async () => {
      // Production mode drops tfjs's debug checks, as a deployed app would,
      // and silences the Node.js banner that suggests tfjs-node.
      tf.enableProdMode();
      await activate();
    },
    // Both systems share one tf module, so each workload selects its backend again.
    setup: async (id, inputs) => {
      await activate();
      return setup(id, inputs);
    },
    dispose: async () => {},
  };
}

export function createSystems(): System[] {
  return [createSystem('wasm'), createSystem('cpu')];
}
