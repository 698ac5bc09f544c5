// Builders of the benchmark workloads as slope graphs, shared by the
// benchmark and the memory tests. Shapes follow the benchmark's definitions:
// W1 matmul-512, W2/W3 conv + bias + leakyRelu forward and training step,
// W4 one SGD step of a 784-256-128-10 MLP, W5 a 1M-element elementwise chain.

import { grad, graph } from '../src/index.ts';
import type { Node, ParamUpdate } from '../src/index.ts';

export interface Workload {
  outputs: Node[];
  updates?: ParamUpdate[];
}

export function matmul512(size = 512): Workload {
  const g = graph();
  const a = g.input('a', [size, size]);
  const b = g.input('b', [size, size]);
  return { outputs: [a.matmul(b)] };
}

function convLeaky(batch: number) {
  const g = graph();
  const x = g.input('x', [batch, 28, 28, 16]);
  const w = g.input('w', [3, 3, 16, 32]);
  const b = g.input('b', [32]);
  const y = x.conv2d(w, { padding: 'same', bias: b, activation: (z) => z.leakyRelu(0.2) });
  return { x, w, b, y };
}

export function convLeakyForward(batch = 16): Workload {
  return { outputs: [convLeaky(batch).y] };
}

/** sum(y) of W2's forward and its gradients with respect to x, w and b. */
export function convLeakyTrain(batch = 16): Workload {
  const { x, w, b, y } = convLeaky(batch);
  const total = y.sum();
  return { outputs: [total, ...grad(total, [x, w, b])] };
}

/**
 * One SGD step of an MLP 784-256-128-10 with LeakyReLU(0.01), softmax
 * cross-entropy on one-hot labels. Params are w1, b1, w2, b2, w3, b3.
 */
export function mlpTrain(batch = 64, learningRate = 0.01): Workload {
  const g = graph();
  const x = g.input('x', [batch, 784]);
  const labels = g.input('labels', [batch, 10]);
  const sizes = [784, 256, 128, 10];
  const params: Node[] = [];
  let h: Node = x;
  for (let layer = 0; layer < 3; layer++) {
    const w = g.param(`w${layer + 1}`, [sizes[layer]!, sizes[layer + 1]!], { init: 'heNormal', seed: layer + 1 });
    const b = g.param(`b${layer + 1}`, [sizes[layer + 1]!], { init: 'zeros' });
    params.push(w, b);
    h = h.matmul(w, { bias: b, ...(layer < 2 ? { activation: (z: Node) => z.leakyRelu(0.01) } : {}) });
  }
  const loss = g.softmaxCrossEntropy(h, labels).mean();
  const grads = grad(loss, params);
  return { outputs: [loss], updates: params.map((p, i) => ({ param: p, value: p.sub(grads[i]!.mul(learningRate)) })) };
}

/** y = leakyRelu(x * a + b, 0.2) * c over `size` elements. */
export function eltwiseChain(size = 1 << 20): Workload {
  const g = graph();
  const [x, a, b, c] = ['x', 'a', 'b', 'c'].map((name) => g.input(name, [size]));
  return { outputs: [x!.mul(a!).add(b!).leakyRelu(0.2).mul(c!)] };
}
