// Measures the cost of the dynamic dead-unit analysis against one plain
// forward pass over the same data: the training job's CNN (examples/
// train-cnn.ts: the defaults of `slope train`, filters 16 and 32, at its
// seeded initialization) and an MLP (784-256-256-10), on the 10,000 bundled
// MNIST digits in batches of 100. Each repetition runs every batch through
// the instrumented executable and then through the plain one, timing each.
// The script prints the median over repetitions of the ratio of the summed
// times. A first repetition warms up and is not counted. With
// --loss, the analysis also computes the gradient statistics of a
// cross-entropy loss, which costs a backward pass; --gradient-every k takes
// them on every k-th batch only.
//
// Run: npx tsx examples/dead-units-cost.ts [--repeats 5] [--loss] [--gradient-every K] [--backend wasm|js] [--model cnn|mlp|both]

import { parseArgs } from 'node:util';
import type { Node } from '../src/index.ts';
import { compile, DynamicAnalyzer, graph } from '../src/index.ts';
import { buildCnn } from '../src/cli/train-run.ts';
import { TRAIN_DEFAULTS } from '../src/cli/train.ts';
import { loadBundledMnist } from '../src/data/node-fs.ts';
import { buildForward } from '../src/layers/model-graph.ts';

const BATCH = 100;

interface Model {
  logits: Node;
  loss: Node;
  params?: Record<string, Float32Array>;
}

function mlp(): Model {
  const g = graph();
  const x = g.input('x', [BATCH, 784]);
  const labels = g.input('labels', [BATCH], 'int32');
  const h1 = x.matmul(g.param('w1', [784, 256], { init: 'heNormal', seed: 1 }), { bias: g.param('b1', [256], { init: 'zeros' }) }).relu().named('dense1');
  const h2 = h1.matmul(g.param('w2', [256, 256], { init: 'heNormal', seed: 2 }), { bias: g.param('b2', [256], { init: 'zeros' }) }).relu().named('dense2');
  const logits = h2.matmul(g.param('w3', [256, 10], { init: 'heNormal', seed: 3 }));
  return { logits, loss: g.softmaxCrossEntropy(logits, labels).mean() };
}

/** Builds the CNN of `slope train` with ReLU, as examples/train-cnn.ts does. */
function cnn(): Model {
  const inputShape = [28, 28, 1];
  const model = buildCnn('relu', TRAIN_DEFAULTS, inputShape);
  model.build(inputShape);
  const g = graph();
  const forward = buildForward(g, model.layers, inputShape, BATCH, { training: false, seed: TRAIN_DEFAULTS.seed });
  const labels = g.input('labels', [BATCH], 'int32');
  return { logits: forward.output, loss: g.softmaxCrossEntropy(forward.output, labels).mean(), params: Object.fromEntries(model.getWeights()) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      repeats: { type: 'string', default: '5' },
      loss: { type: 'boolean', default: false },
      'gradient-every': { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      model: { type: 'string', default: 'both' },
    },
  });
  const repeats = Number(values.repeats);
  const gradientEvery = Number(values['gradient-every']);
  const backend = values.backend as 'wasm' | 'js';
  const digits = await loadBundledMnist();
  const data = Array.from({ length: digits.count / BATCH }, (_, k) => ({
    x: digits.images.subarray(k * BATCH * 784, (k + 1) * BATCH * 784),
    labels: digits.labels.subarray(k * BATCH, (k + 1) * BATCH),
  }));

  const models = ([['cnn', cnn], ['mlp', mlp]] as const).filter(([name]) => values.model === 'both' || values.model === name);
  for (const [name, build] of models) {
    const { logits, loss, params } = build();
    const options = { compile: { backend }, ...(params === undefined ? {} : { params }) };
    const analyzer = new DynamicAnalyzer(logits, { ...options, ...(values.loss ? { loss, gradientEvery } : {}) });
    const forward = compile(logits, { backend, ...(params === undefined ? {} : { params }) });
    const ratios: number[] = [];
    let report;
    let forwardMs = 0;
    for (let k = 0; k < repeats + 1; k++) {
      // Batches alternate between the two executables, so load from other processes slows both alike.
      const totals = analyzer.start();
      let analysisMs = 0;
      forwardMs = 0;
      for (const feeds of data) {
        const start = performance.now();
        analyzer.add(totals, feeds);
        const middle = performance.now();
        forward.run({ x: feeds.x });
        forwardMs += performance.now() - middle;
        analysisMs += middle - start;
      }
      report = analyzer.finish(totals);
      // The first pass warms up both executables and is not counted.
      if (k > 0) ratios.push(analysisMs / forwardMs);
    }
    const layers = report!.layers.map((l) => `${l.name} never positive ${l.dead}/${l.units}${l.channelSummary === undefined ? '' : ` (channels ${l.channelSummary.dead}/${l.channels})`}`).join(', ');
    const what = values.loss ? ` with gradients${gradientEvery > 1 ? ` every ${gradientEvery} batches` : ''}` : '';
    process.stdout.write(`${name}${what} (${backend}, ${report!.examples} digits): median ratio ${median(ratios).toFixed(2)} (runs ${ratios.map((r) => r.toFixed(2)).join(', ')}); forward ${forwardMs.toFixed(0)} ms; ${layers}\n`);
  }
}

await main();
