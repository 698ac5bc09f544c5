// leakyRelu(conv2d(x, w) + b, 0.2) and the gradients of its sum with respect
// to x, w and b: the pattern that fusion turns into one forward kernel and
// three backward kernels. Used by `slope inspect examples/conv-leaky.ts`.

import { grad, graph } from '../src/index.ts';
import type { Node } from '../src/index.ts';

export default function build(): Node[] {
  const g = graph();
  const x = g.input('x', [2, 8, 8, 3]);
  const w = g.param('w', [3, 3, 3, 4], { init: 'heNormal', seed: 1 });
  const b = g.param('b', [4], { init: 'zeros' });
  const y = x.conv2d(w, { padding: 'same', bias: b, activation: (z) => z.leakyRelu(0.2) }).named('y');
  const loss = y.sum().named('loss');
  const [dx, dw, db] = grad(loss, [x, w, b]);
  return [y, dx!.named('dx'), dw!.named('dw'), db!.named('db')];
}
