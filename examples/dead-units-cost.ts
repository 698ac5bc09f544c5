// Measures the cost of the dynamic dead-unit analysis against one plain
// forward pass over the same data: an MLP (784-256-256-10) and a small CNN
// (two 3x3 conv layers) on 4,000 bundled MNIST digits in batches of 100.
// Each repetition times the instrumented executable over the data, then the
// plain one, and the script prints the median ratio. The analysis compiles
// its executables before timing. With --loss, the analysis also computes the
// gradient statistics of a cross-entropy loss, which costs a backward pass.
//
// Run: npx tsx examples/dead-units-cost.ts [--repeats 5] [--loss]

import { parseArgs } from 'node:util';
import type { Node } from '../src/index.ts';
import { analyzeDynamic, graph } from '../src/index.ts';
import { loadBundledMnist } from '../src/data/node-fs.ts';

const BATCH = 100;

function mlp(): { logits: Node; loss: Node } {
  const g = graph();
  const x = g.input('x', [BATCH, 784]);
  const labels = g.input('labels', [BATCH], 'int32');
  const h1 = x.matmul(g.param('w1', [784, 256], { init: 'heNormal', seed: 1 }), { bias: g.param('b1', [256], { init: 'zeros' }) }).relu().named('dense1');
  const h2 = h1.matmul(g.param('w2', [256, 256], { init: 'heNormal', seed: 2 }), { bias: g.param('b2', [256], { init: 'zeros' }) }).relu().named('dense2');
  const logits = h2.matmul(g.param('w3', [256, 10], { init: 'heNormal', seed: 3 }));
  return { logits, loss: g.softmaxCrossEntropy(logits, labels).mean() };
}

function cnn(): { logits: Node; loss: Node } {
  const g = graph();
  const x = g.input('x', [BATCH, 784]);
  const labels = g.input('labels', [BATCH], 'int32');
  const image = x.reshape([BATCH, 28, 28, 1]);
  const c1 = image.conv2d(g.param('k1', [3, 3, 1, 8], { init: 'heNormal', seed: 1 }), { padding: 'same', bias: g.param('c1', [8], { init: 'zeros' }) }).relu().named('conv1');
  const pooled = c1.maxPool2d({ poolSize: 2 });
  const c2 = pooled.conv2d(g.param('k2', [3, 3, 8, 16], { init: 'heNormal', seed: 2 }), { padding: 'same', bias: g.param('c2', [16], { init: 'zeros' }) }).relu().named('conv2');
  const logits = c2.reshape([BATCH, 14 * 14 * 16]).matmul(g.param('w', [14 * 14 * 16, 10], { init: 'heNormal', seed: 3 }));
  return { logits, loss: g.softmaxCrossEntropy(logits, labels).mean() };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeats: { type: 'string', default: '5' }, loss: { type: 'boolean', default: false } } });
  const repeats = Number(values.repeats);
  const digits = await loadBundledMnist();
  // The bundled digits are sorted by class; a stride takes every class into the 4,000 examples.
  const order = Array.from({ length: 4000 }, (_, i) => (i * 2503) % digits.count);
  const data = Array.from({ length: order.length / BATCH }, (_, k) => {
    const x = new Float32Array(BATCH * 784);
    const labels = new Int32Array(BATCH);
    for (let r = 0; r < BATCH; r++) {
      const index = order[k * BATCH + r]!;
      x.set(digits.images.subarray(index * 784, (index + 1) * 784), r * 784);
      labels[r] = digits.labels[index]!;
    }
    return { x, labels };
  });

  for (const [name, build] of [['mlp', mlp], ['cnn', cnn]] as const) {
    const { logits, loss } = build();
    const ratios: number[] = [];
    let last;
    for (let k = 0; k < repeats; k++) {
      last = await analyzeDynamic(logits, { data, measureCost: true, ...(values.loss ? { loss } : {}) });
      ratios.push(last.cost!.ratio);
    }
    const layers = last!.layers.map((l) => `${l.name} never positive ${l.dead}/${l.units}${l.channelSummary === undefined ? '' : ` (channels ${l.channelSummary.dead}/${l.channels})`}`).join(', ');
    process.stdout.write(`${name}${values.loss ? ' with gradients' : ''}: median ratio ${median(ratios).toFixed(2)} (runs ${ratios.map((r) => r.toFixed(2)).join(', ')}); forward ${last!.cost!.forwardMs.toFixed(0)} ms; ${layers}\n`);
  }
}

await main();
