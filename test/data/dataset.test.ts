// splitDataset, batches and subsetDataset on small synthetic datasets whose
// pixels record the index of their example, so every copy can be traced back.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { batches, checkDataset, splitDataset, subsetDataset, type Dataset } from '../../src/data/dataset.ts';
import { DataError } from '../../src/data/errors.ts';
import { mulberry32, shuffledIndices } from '../../src/data/random.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 100);

const HEIGHT = 2;
const WIDTH = 3;
const IMAGE_SIZE = HEIGHT * WIDTH;

/** Builds a dataset whose example i has every pixel equal to i and label i % 10. */
function indexedDataset(count: number): Dataset {
  const images = new Float32Array(count * IMAGE_SIZE);
  for (let i = 0; i < count; i++) images.fill(i, i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
  return { images, labels, count, height: HEIGHT, width: WIDTH, channels: 1 };
}

/** Reads back the source index of each example of a dataset made by indexedDataset. */
function sourceIndices(ds: Dataset): number[] {
  const indices: number[] = [];
  for (let i = 0; i < ds.count; i++) {
    const image = ds.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
    expect(new Set(image).size).toBe(1);
    expect(ds.labels[i]).toBe(image[0]! % 10);
    indices.push(image[0]!);
  }
  return indices;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

describe('mulberry32', () => {
  it('repeats for the same seed', () => {
    const first = mulberry32(42);
    const second = mulberry32(42);
    for (let i = 0; i < 100; i++) expect(first()).toBe(second());
  });

  it('returns floats in [0, 1)', () => {
    const random = mulberry32(7);
    for (let i = 0; i < 10000; i++) {
      const value = random();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
    }
  });

  it('differs between seeds', () => {
    expect(mulberry32(1)()).not.toBe(mulberry32(2)());
  });
});

describe('shuffledIndices', () => {
  it('returns a permutation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (count, seed) => {
        const indices = Array.from(shuffledIndices(count, seed));
        expect(indices.sort((a, b) => a - b)).toEqual(range(count));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('depends only on the seed', () => {
    expect(shuffledIndices(50, 3)).toEqual(shuffledIndices(50, 3));
    expect(shuffledIndices(50, 3)).not.toEqual(shuffledIndices(50, 4));
  });
});

describe('subsetDataset', () => {
  it('copies examples in index order', () => {
    const ds = indexedDataset(10);

    const subset = subsetDataset(ds, [7, 2, 2, 9]);

    expect(subset.count).toBe(4);
    expect(subset.images.length).toBe(4 * IMAGE_SIZE);
    expect(sourceIndices(subset)).toEqual([7, 2, 2, 9]);
  });

  it('rejects an index out of range', () => {
    const ds = indexedDataset(5);

    expect(() => subsetDataset(ds, [0, 5])).toThrow(DataError);
    expect(() => subsetDataset(ds, [0, 5])).toThrow(/invalid example index 5 at position 1/);
    expect(() => subsetDataset(ds, [1.5])).toThrow(/invalid example index 1.5/);
  });
});

describe('checkDataset', () => {
  it('rejects mismatched array lengths', () => {
    const ds = indexedDataset(4);

    expect(() => checkDataset({ ...ds, count: 5 })).toThrow(/5 images of 2×3×1 need 30 pixel values, but images has 24/);
    expect(() => checkDataset({ ...ds, labels: new Int32Array(3) })).toThrow(/4 images need 4 labels, but labels has 3/);
    expect(() => checkDataset({ ...ds, height: -1 })).toThrow(DataError);
  });
});

describe('splitDataset', () => {
  it('gives disjoint sets covering everything', () => {
    const ds = indexedDataset(100);

    const { train, validation } = splitDataset(ds, 80, 5);

    expect(train.count).toBe(80);
    expect(validation.count).toBe(20);
    const trainIndices = sourceIndices(train);
    const validationIndices = sourceIndices(validation);
    const overlap = trainIndices.filter((i) => validationIndices.includes(i));
    expect(overlap).toEqual([]);
    expect([...trainIndices, ...validationIndices].sort((a, b) => a - b)).toEqual(range(100));
  });

  it('is deterministic for a seed', () => {
    const ds = indexedDataset(100);

    const first = splitDataset(ds, 80, 11);
    const second = splitDataset(ds, 80, 11);
    const other = splitDataset(ds, 80, 12);

    expect(sourceIndices(first.train)).toEqual(sourceIndices(second.train));
    expect(sourceIndices(first.validation)).toEqual(sourceIndices(second.validation));
    expect(sourceIndices(first.train)).not.toEqual(sourceIndices(other.train));
  });

  it('shuffles rather than slicing', () => {
    const { train } = splitDataset(indexedDataset(100), 80, 0);

    expect(sourceIndices(train)).not.toEqual(range(80));
  });

  it('accepts empty sides', () => {
    const ds = indexedDataset(10);

    expect(splitDataset(ds, 0).train.count).toBe(0);
    expect(splitDataset(ds, 10).validation.count).toBe(0);
  });

  it('rejects invalid train counts and seeds', () => {
    const ds = indexedDataset(10);

    expect(() => splitDataset(ds, 11)).toThrow(DataError);
    expect(() => splitDataset(ds, 11)).toThrow(/invalid train count 11: it must be an integer from 0 to 10/);
    expect(() => splitDataset(ds, -1)).toThrow(/invalid train count -1/);
    expect(() => splitDataset(ds, 2.5)).toThrow(/invalid train count 2.5/);
    expect(() => splitDataset(ds, 5, 0.5)).toThrow(/invalid seed 0.5/);
  });
});

describe('batches', () => {
  it('covers the data once in order', () => {
    const ds = indexedDataset(10);

    const all = [...batches(ds, 4)];

    expect(all.map((b) => b.count)).toEqual([4, 4, 2]);
    expect(all.map((b) => Array.from(b.indices))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(all.flatMap(sourceIndices)).toEqual(range(10));
  });

  it('drops the remainder on request', () => {
    const all = [...batches(indexedDataset(10), 4, { dropRemainder: true })];

    expect(all.map((b) => b.count)).toEqual([4, 4]);
  });

  it('covers the data for any settings', () => {
    const settings = fc.record({
      count: fc.integer({ min: 0, max: 60 }),
      batchSize: fc.integer({ min: 1, max: 70 }),
      shuffle: fc.boolean(),
      seed: fc.integer(),
      dropRemainder: fc.boolean(),
    });

    fc.assert(
      fc.property(settings, ({ count, batchSize, shuffle, seed, dropRemainder }) => {
        const ds = indexedDataset(count);
        const options = shuffle ? { shuffle, seed, dropRemainder } : { dropRemainder };

        const all = [...batches(ds, batchSize, options)];

        const expectedCount = dropRemainder ? count - (count % batchSize) : count;
        const seen = all.flatMap(sourceIndices);
        expect(seen.length).toBe(expectedCount);
        expect(new Set(seen).size).toBe(expectedCount);
        for (const batch of all.slice(0, -1)) expect(batch.count).toBe(batchSize);
        for (const batch of all) expect(sourceIndices(batch)).toEqual(Array.from(batch.indices));
        if (!dropRemainder) expect([...seen].sort((a, b) => a - b)).toEqual(range(count));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('shuffles deterministically by seed', () => {
    const ds = indexedDataset(50);
    const order = (seed: number) => [...batches(ds, 8, { shuffle: true, seed })].flatMap((b) => Array.from(b.indices));

    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
    expect(order(1)).not.toEqual(range(50));
  });

  it('returns copies', () => {
    const ds = indexedDataset(4);

    for (const batch of batches(ds, 2)) batch.images.fill(-1);

    expect(sourceIndices(ds)).toEqual(range(4));
  });

  it('rejects invalid arguments before iterating', () => {
    const ds = indexedDataset(4);

    expect(() => batches(ds, 0)).toThrow(DataError);
    expect(() => batches(ds, 0)).toThrow(/invalid batch size 0: it must be a positive integer/);
    expect(() => batches(ds, 1.5)).toThrow(/invalid batch size 1.5/);
    const noSeed = { shuffle: true } as unknown as { shuffle: true; seed: number };
    expect(() => batches(ds, 2, noSeed)).toThrow(/invalid seed undefined: it must be an integer/);
    expect(() => batches({ ...ds, count: 3 }, 2)).toThrow(/batches: invalid dataset/);
  });
});
