// Parameter initializers: reproducible bit for bit from a seed, with the
// spread each scheme promises, and the fan-in and fan-out rules behind it.

import { describe, expect, test } from 'vitest';
import { AttributeError } from '../../src/errors.ts';
import { graph } from '../../src/graph/graph.ts';
import type { InitSpec } from '../../src/graph/init.ts';
import { fans, initialize, Rng } from '../../src/graph/init.ts';
import { evaluate } from '../../src/interp/interpreter.ts';

function bytesOf(values: Float64Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function mean(values: Float64Array): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function std(values: Float64Array): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

function maxAbs(values: Float64Array): number {
  return values.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
}

const RANDOM_SPECS: readonly InitSpec[] = [
  { kind: 'heNormal', seed: 42 },
  { kind: 'heUniform', seed: 42 },
  { kind: 'glorotUniform', seed: 42 },
  { kind: 'normal', seed: 42, mean: 1, std: 2 },
  { kind: 'uniform', seed: 42, low: -1, high: 3 },
];

describe('seeded initializers', () => {
  test.each(RANDOM_SPECS.map((spec) => ({ spec, kind: spec.kind })))('$kind repeats bit for bit', ({ spec }) => {
    const first = initialize(spec, [64, 32]);
    const second = initialize(spec, [64, 32]);
    expect(bytesOf(first).equals(bytesOf(second))).toBe(true);
  });

  test.each(RANDOM_SPECS.map((spec) => ({ spec, kind: spec.kind })))('$kind changes with the seed', ({ spec }) => {
    const first = initialize(spec, [64, 32]);
    const other = initialize({ ...spec, seed: 43 } as InitSpec, [64, 32]);
    expect(bytesOf(first).equals(bytesOf(other))).toBe(false);
  });

  test('Rng sequence is pinned', () => {
    const rng = new Rng(1);
    const values = [rng.next(), rng.next(), rng.next(), rng.next()];
    expect(values).toMatchInlineSnapshot(`
      [
        0.6270739405881613,
        0.002735721180215478,
        0.5274470399599522,
        0.9810509674716741,
      ]
    `);
  });

  test('Rng draws stay in [0, 1)', () => {
    const rng = new Rng(7);
    const draws = Array.from({ length: 10000 }, () => rng.next());
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });
});

describe('initializer spread', () => {
  test('heNormal std is close to sqrt(2 / fanIn) for a dense weight', () => {
    const values = initialize({ kind: 'heNormal', seed: 3 }, [512, 256]);
    const expected = Math.sqrt(2 / 512);
    // The sample std of 131072 normal draws has a relative standard error of about 0.2%.
    expect(Math.abs(std(values) / expected - 1)).toBeLessThan(0.015);
    expect(Math.abs(mean(values))).toBeLessThan((4 * expected) / Math.sqrt(values.length));
  });

  test('heNormal std is close to sqrt(2 / fanIn) for an HWIO filter', () => {
    const values = initialize({ kind: 'heNormal', seed: 4 }, [3, 3, 16, 512]);
    const expected = Math.sqrt(2 / (3 * 3 * 16));
    expect(Math.abs(std(values) / expected - 1)).toBeLessThan(0.015);
  });

  test('glorotUniform stays within its limit and nearly reaches it', () => {
    const values = initialize({ kind: 'glorotUniform', seed: 5 }, [300, 200]);
    const limit = Math.sqrt(6 / (300 + 200));
    expect(maxAbs(values)).toBeLessThanOrEqual(limit);
    expect(maxAbs(values)).toBeGreaterThan(0.999 * limit);
    // A uniform draw on [-limit, limit) has std limit / sqrt(3).
    expect(Math.abs(std(values) / (limit / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
  });

  test('heUniform stays within sqrt(6 / fanIn)', () => {
    const values = initialize({ kind: 'heUniform', seed: 6 }, [100, 50]);
    expect(maxAbs(values)).toBeLessThanOrEqual(Math.sqrt(6 / 100));
  });

  test('normal has the requested mean and std', () => {
    const values = initialize({ kind: 'normal', seed: 8, mean: 3, std: 0.5 }, [100000]);
    expect(Math.abs(mean(values) - 3)).toBeLessThan(0.01);
    expect(Math.abs(std(values) / 0.5 - 1)).toBeLessThan(0.02);
  });

  test('uniform stays in [low, high)', () => {
    const values = initialize({ kind: 'uniform', seed: 9, low: -2, high: 5 }, [10000]);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...values)).toBeLessThan(5);
  });
});

describe('deterministic initializers', () => {
  test('zeros', () => {
    expect(Array.from(initialize({ kind: 'zeros' }, [2, 2]))).toEqual([0, 0, 0, 0]);
  });

  test('ones', () => {
    expect(Array.from(initialize({ kind: 'ones' }, [3]))).toEqual([1, 1, 1]);
  });

  test('constant', () => {
    expect(Array.from(initialize({ kind: 'constant', value: -2.5 }, [2]))).toEqual([-2.5, -2.5]);
  });

  test('values are copied', () => {
    const source = Float64Array.of(1, 2, 3);
    const values = initialize({ kind: 'values', values: source }, [3]);
    expect(Array.from(values)).toEqual([1, 2, 3]);
    expect(values).not.toBe(source);
  });

  test('values of the wrong length are rejected', () => {
    expect(() => initialize({ kind: 'values', values: Float64Array.of(1, 2) }, [3])).toThrowError(
      new AttributeError('Error in param: init values have 2 elements, expected 3 for shape [3]'),
    );
  });

  test('scalar shape gives one value', () => {
    expect(initialize({ kind: 'heNormal', seed: 1 }, []).length).toBe(1);
  });
});

describe('fans', () => {
  test.each([
    { shape: [], fanIn: 1, fanOut: 1 },
    { shape: [5], fanIn: 5, fanOut: 5 },
    { shape: [3, 4], fanIn: 3, fanOut: 4 },
    { shape: [3, 3, 2, 8], fanIn: 18, fanOut: 72 },
  ])('$shape has fanIn $fanIn and fanOut $fanOut', ({ shape, fanIn, fanOut }) => {
    expect(fans(shape)).toEqual({ fanIn, fanOut });
  });
});

describe('params in a graph', () => {
  test('param evaluates to its initializer values', () => {
    const g = graph();
    const w = g.param('w', [4, 3], { init: 'heNormal', seed: 11 });
    const [value] = evaluate([w]);
    expect(bytesOf(value!.data).equals(bytesOf(initialize({ kind: 'heNormal', seed: 11 }, [4, 3])))).toBe(true);
  });

  test('default seed is the graph seed plus the node id', () => {
    const g = graph(100);
    g.input('x', [1]);
    const w = g.param('w', [2, 2]);
    expect(w.attrs.init).toMatchObject({ kind: 'glorotUniform', seed: 101 });
  });

  test('same graph seed gives the same params', () => {
    const build = () => {
      const g = graph(5);
      return evaluate([g.param('w', [8, 8], { init: 'heUniform' })])[0]!.data;
    };
    expect(bytesOf(build()).equals(bytesOf(build()))).toBe(true);
  });

  test('override replaces the initializer', () => {
    const g = graph();
    const w = g.param('w', [2], { init: 'ones' });
    expect(Array.from(evaluate([w], {}, { params: { w: [7, 8] } })[0]!.data)).toEqual([7, 8]);
  });

  test('init spec object is kept as given', () => {
    const g = graph();
    const w = g.param('w', [2], { init: { kind: 'constant', value: 0.25 } });
    expect(w.attrs.init).toEqual({ kind: 'constant', value: 0.25 });
    expect(Array.from(evaluate([w])[0]!.data)).toEqual([0.25, 0.25]);
  });

  test('non-finite init number is rejected', () => {
    const g = graph();
    expect(() => g.param('w', [2], { init: { kind: 'constant', value: NaN } })).toThrowError(
      new AttributeError('Error in param (node "w", %0): init value must be a finite number, got NaN'),
    );
  });
});
