// A two-layer perceptron with a LeakyReLU hidden layer and its loss
// gradients; a small graph to print, compile and inspect.

import { grad, graph } from '../src/index.ts';
import type { Node } from '../src/index.ts';

export default function build(): Node[] {
  const g = graph();
  const x = g.input('x', [4, 3]);
  const labels = g.input('labels', [4], 'int32');
  const w1 = g.param('w1', [3, 5], { init: 'heNormal', seed: 1 });
  const b1 = g.param('b1', [5], { init: 'zeros' });
  const w2 = g.param('w2', [5, 2], { init: 'glorotUniform', seed: 2 });
  const hidden = x.matmul(w1, { bias: b1, activation: 'leaky_relu' }).named('hidden');
  const loss = g.softmaxCrossEntropy(hidden.matmul(w2), labels).mean().named('loss');
  return [loss, ...grad(loss, [w1, b1, w2])];
}
