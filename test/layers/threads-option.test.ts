// A model's `threads` compile option reaches the executables of its steps.

import { describe, expect, it } from 'vitest';
import { BackendError, Dense, sequential } from '../../src/index.ts';

function examples(count: number) {
  const images = Float32Array.from({ length: count * 4 }, (_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
  return { images, labels, count };
}

describe('model threads option', () => {
  it('passes an invalid thread count on to compile, which rejects it', async () => {
    const model = sequential([new Dense({ units: 3, activation: 'relu' }), new Dense({ units: 2 })]);
    model.build([4]);
    model.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy', backend: 'wasm', threads: 0 });
    await expect(model.fit(examples(8), { epochs: 1, batchSize: 4, progress: false })).rejects.toThrow(BackendError);
    await expect(model.fit(examples(8), { epochs: 1, batchSize: 4, progress: false })).rejects.toThrow(/threads must be an integer from 1 to/);
  });

  it('trains the same params on one thread and on two', async () => {
    const trained = async (threads: number) => {
      const model = sequential([new Dense({ units: 3, activation: 'relu' }), new Dense({ units: 2 })]);
      model.build([4]);
      model.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy', backend: 'wasm', threads });
      await model.fit(examples(16), { epochs: 2, batchSize: 8, progress: false, seed: 3 });
      return [...model.getWeights()];
    };
    const [one, two] = [await trained(1), await trained(2)];
    expect(two.map(([name]) => name)).toEqual(one.map(([name]) => name));
    two.forEach(([, values], i) => expect(Array.from(values)).toEqual(Array.from(one[i]![1])));
  });
});
