import { describe, expect, it } from 'vitest';
import { AttributeError, graph, initialize } from '../../src/index.ts';

describe('randomizedAsymmetric init', () => {
  it('is deterministic for a seed', () => {
    const a = initialize({ kind: 'randomizedAsymmetric', seed: 7 }, [5, 4]);
    const b = initialize({ kind: 'randomizedAsymmetric', seed: 7 }, [5, 4]);
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('has column means near the Beta(2, 1) mean', () => {
    // Each column sums one Beta(2, 1) draw (mean 2/3) and rows - 1 zero-mean normals.
    const rows = 4;
    const units = 20000;
    const values = initialize({ kind: 'randomizedAsymmetric', seed: 3 }, [rows, units]);
    let total = 0;
    for (const v of values) total += v;
    const meanColumnSum = total / units;
    // Standard error: sqrt((1/18 + 3 * 0.5) / 20000) is about 0.009.
    expect(Math.abs(meanColumnSum - 2 / 3)).toBeLessThan(0.04);
  });

  it('keeps the heNormal second moment of a pre-activation', () => {
    // E[(sum_i v_i)^2] with unit inputs is E[p^2] + (rows - 1) sigma^2 = 1/2 + 1.5 = 2.
    const rows = 6;
    const units = 20000;
    const values = initialize({ kind: 'randomizedAsymmetric', seed: 11 }, [rows, units]);
    let secondMoment = 0;
    for (let unit = 0; unit < units; unit++) {
      let z = 0;
      for (let row = 0; row < rows; row++) z += values[row * units + unit]!;
      secondMoment += z * z;
    }
    expect(Math.abs(secondMoment / units - 2)).toBeLessThan(0.1);
  });

  it('rejects a rank-1 param', () => {
    const g = graph();
    expect(() => g.param('b', [3], { init: 'randomizedAsymmetric' })).toThrow(AttributeError);
    expect(() => g.param('b', [3], { init: 'randomizedAsymmetric' })).toThrow(/rank 2 or more/);
  });

  it('is accepted by name on a weight', () => {
    const g = graph();
    const w = g.param('w', [3, 2], { init: 'randomizedAsymmetric', seed: 5 });
    expect(w.attrs.init).toEqual({ kind: 'randomizedAsymmetric', seed: 5 });
  });
});
