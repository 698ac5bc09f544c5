// The analyses read graphs built by the layers API like any other graph.

import { describe, expect, it } from 'vitest';
import { analyzeDynamic, analyzeStatic, Dense, graph, LeakyReLU, sequential } from '../../src/index.ts';
import { buildForward } from '../../src/layers/model-graph.ts';

describe('dead units of a layers model', () => {
  it('are found statically and dynamically', async () => {
    const model = sequential([new Dense({ units: 4, activation: 'relu' }), new Dense({ units: 3, activation: new LeakyReLU({ alpha: 0.1 }) }), new Dense({ units: 2 })], { inputShape: [3], seed: 4 });
    const weights = model.getWeights();
    // Make units 1 and 3 of the first layer dead on [0, 1]^3.
    const biasName = [...weights.keys()].find((n) => n.endsWith('bias'))!;
    const bias = Float32Array.from(weights.get(biasName)!);
    bias[1] = -100;
    bias[3] = -100;
    const params = Object.fromEntries([...weights].map(([name, values]) => [name, name === biasName ? bias : values]));

    const g = graph();
    const forward = buildForward(g, model.layers, [3], 1, { training: false, seed: 4 });
    const fixed = analyzeStatic(forward.output, { region: { x: { lower: 0, upper: 1 } }, params });
    expect(fixed.layers).toHaveLength(2);
    expect(fixed.layers[0]!.status[1]).toBe('dead');
    expect(fixed.layers[0]!.status[3]).toBe('dead');
    expect(fixed.layers[1]!.label).toBe('negativeRegime');

    const data = [{ x: [0.1, 0.5, 0.9] }, { x: [1, 0, 0.3] }];
    const measured = await analyzeDynamic(forward.output, { data, params });
    expect(measured.layers[0]!.positiveFraction[1]).toBe(0);
    expect(measured.layers[0]!.positiveFraction[3]).toBe(0);
  });
});
