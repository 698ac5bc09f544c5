// Losses and the accuracy metric, as graph builders over a batch.

import type { DType } from '../graph/dtype.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import { LayerError } from './errors.ts';

export type LossName = 'softmaxCrossEntropy' | 'meanSquaredError';

export const LOSS_NAMES: readonly LossName[] = ['softmaxCrossEntropy', 'meanSquaredError'];

/** A loss: what labels it takes and how it builds the per-example loss. */
export interface Loss {
  name: LossName;
  /** int32 class indices or float32 targets. */
  labelDType: DType;
  /** Shape of one example's label, given the model's per-example output shape. */
  labelShape(outputShape: Shape): Shape;
  /** Returns the loss of each example of the batch, of shape [batch]. */
  perExample(output: Node, labels: Node): Node;
  /** Returns the mean loss over the batch, a scalar: what training minimises. */
  batchMean(output: Node, labels: Node): Node;
}

const softmaxCrossEntropy: Loss = {
  name: 'softmaxCrossEntropy',
  labelDType: 'int32',
  labelShape: (outputShape) => {
    if (outputShape.length !== 1) {
      throw new LayerError(`Error in compile: softmaxCrossEntropy needs a model output of shape [classes] per example, got [${outputShape.join(',')}]; add a Flatten and a Dense layer`);
    }
    return [];
  },
  // Cross-entropy of softmax(logits) against int32 class indices; the model's last layer must output logits, not probabilities.
  perExample: (output, labels) => output.graph.softmaxCrossEntropy(output, labels),
  batchMean: (output, labels) => output.graph.softmaxCrossEntropy(output, labels).mean(),
};

const meanSquaredError: Loss = {
  name: 'meanSquaredError',
  labelDType: 'float32',
  labelShape: (outputShape) => outputShape,
  perExample: (output, labels) => {
    const axes = output.shape.map((_, i) => i).slice(1);
    const squared = output.sub(labels).square();
    return axes.length === 0 ? squared : squared.mean(axes);
  },
  batchMean: (output, labels) => output.graph.meanSquaredError(output, labels),
};

/** Returns the loss of a name; raises LayerError for an unknown one. */
export function lossByName(name: string): Loss {
  if (name === 'softmaxCrossEntropy') return softmaxCrossEntropy;
  if (name === 'meanSquaredError') return meanSquaredError;
  throw new LayerError(`Error in compile: unknown loss ${JSON.stringify(name)}; known losses: ${LOSS_NAMES.join(', ')}`);
}

/** Returns a bool of shape [batch]: whether the largest output is the labelled class. Ties pick the first class. */
export function correctPredictions(output: Node, labels: Node): Node {
  return output.argmax(-1).equal(labels);
}
