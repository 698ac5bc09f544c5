// The training job's CNN (the defaults of `slope train`, ReLU, at its seeded
// initialization) as a graph for `slope dead-units`:
//
//   npx slope dead-units examples/train-cnn.ts --data mnist --limit 2000
//   npx slope dead-units examples/train-cnn.ts --box=0,1
//
// The first counts units never positive over the bundled digits; the second
// proves units dead (or always active) for every image with pixels in [0, 1].

import { graph } from '../src/index.ts';
import type { Node } from '../src/index.ts';
import { buildCnn } from '../src/cli/train-run.ts';
import { TRAIN_DEFAULTS } from '../src/cli/train.ts';
import { buildForward } from '../src/layers/model-graph.ts';

export default function build({ batchSize }: { batchSize: number }): { outputs: Node[]; params: Record<string, Float32Array> } {
  const inputShape = [28, 28, 1];
  const model = buildCnn('relu', TRAIN_DEFAULTS, inputShape);
  model.build(inputShape);
  const g = graph();
  const forward = buildForward(g, model.layers, inputShape, batchSize, { training: false, seed: TRAIN_DEFAULTS.seed });
  return { outputs: [forward.output], params: Object.fromEntries(model.getWeights()) };
}
