import { describe, expect, it } from 'vitest';
import { checkAgreement, drawWeights, monteCarlo, Sampler, singleNetwork, staticVerdict, theoryBounds } from '../../examples/born-dead.ts';

describe('born-dead experiment', () => {
  it('matches the exact probability at depth 2', () => {
    // Layer 1 kills one point with probability 2 * 2^-N, and layer 2 then kills the other with 2^-N;
    // otherwise the points reach layer 2 through disjoint units and die there independently, each with 2^-N.
    for (const width of [2, 3]) {
      const networks = 40_000;
      const exact = 2 ** (-2 * width) * (3 - 2 ** (1 - width));
      const estimate = monteCarlo(width, networks, { activations: ['relu'], init: 'heNormal', seed: 11, keep: 0 }).probability[0]![1]!;
      const standardError = Math.sqrt((exact * (1 - exact)) / networks);
      expect(Math.abs(estimate - exact), `N=${width}: ${estimate} vs ${exact}`).toBeLessThan(4 * standardError);
    }
  });

  it('stays within the derived bounds', () => {
    const result = monteCarlo(2, 20_000, { activations: ['relu'], init: 'heNormal', seed: 5, keep: 0 });
    for (const depth of [3, 5, 10, 20]) {
      const [lower, upper] = theoryBounds(2, depth);
      const estimate = result.probability[0]![depth - 1]!;
      expect(estimate, `H=${depth}`).toBeGreaterThanOrEqual(lower - 0.015);
      expect(estimate, `H=${depth}`).toBeLessThanOrEqual(upper + 0.015);
    }
  });

  it('agrees with the static analysis on every network', () => {
    for (const width of [2, 3, 4]) {
      const result = monteCarlo(width, 500, { activations: ['relu'], init: 'heNormal', seed: 3, keep: 15 });
      const agreement = checkAgreement(result, 15);
      expect(agreement.checked).toBe(300);
      expect(agreement.disagreements).toEqual([]);
    }
  });

  it('never calls leakyRelu units dead', () => {
    const network = singleNetwork(2, 8, 'leakyRelu');
    const sampler = new Sampler(9);
    let negativeRegime = 0;
    for (let k = 0; k < 50; k++) {
      const verdict = staticVerdict(network, drawWeights(2, 8, 1, 'heNormal', sampler));
      expect(verdict.bornDead).toBe(false);
      expect(verdict.deadUnits).toBe(0);
      negativeRegime += verdict.negativeRegimeUnits;
    }
    expect(negativeRegime).toBeGreaterThan(0);
  });
});
