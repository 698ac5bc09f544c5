// loadBundledMnist on the digits that the mnist package (1.1.0) ships, the
// 8,000 / 2,000 split made from them, and the errors for damaged files.

import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { batches, splitDataset, type Dataset } from '../../src/data/dataset.ts';
import { DataError } from '../../src/data/errors.ts';
import { parseBundledDigits } from '../../src/data/mnist.ts';
import { bundledDigitsDirectory, loadBundledMnist, loadTrainingData } from '../../src/data/node-fs.ts';
import { makeTempDir, removeTempDir } from './idx-writer.ts';

const IMAGE_SIZE = 28 * 28;

// Digits per class in mnist 1.1.0, counted from its files.
const CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

const LOAD_TIMEOUT_MS = 60_000;

let digits: Dataset;
let secondLoad: Dataset;

beforeAll(async () => {
  digits = await loadBundledMnist();
  secondLoad = await loadBundledMnist();
}, LOAD_TIMEOUT_MS);

/** Returns the index of the first element where the arrays differ, or -1. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Returns one string key per image, to compare images across datasets. */
function imageKeys(ds: Dataset): string[] {
  const keys: string[] = [];
  for (let i = 0; i < ds.count; i++) {
    const image = ds.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
    keys.push(Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('base64'));
  }
  return keys;
}

function classCounts(labels: Int32Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels) counts[label]! += 1;
  return counts;
}

describe('loadBundledMnist', () => {
  it('returns 10,000 digits of 28×28', () => {
    expect(digits.count).toBe(10000);
    expect(digits.height).toBe(28);
    expect(digits.width).toBe(28);
    expect(digits.channels).toBe(1);
    expect(digits.images).toBeInstanceOf(Float32Array);
    expect(digits.images.length).toBe(10000 * IMAGE_SIZE);
    expect(digits.labels).toBeInstanceOf(Int32Array);
    expect(digits.labels.length).toBe(10000);
  });

  it('scales pixels to byte / 255', () => {
    let min = Infinity;
    let max = -Infinity;
    let offGrid = 0;
    for (const value of digits.images) {
      min = Math.min(min, value);
      max = Math.max(max, value);
      if (Math.fround(Math.round(value * 255) / 255) !== value) offGrid += 1;
    }

    expect(min).toBe(0);
    expect(max).toBe(1);
    expect(offGrid).toBe(0);
  });

  it('has no blank images', () => {
    for (let i = 0; i < digits.count; i++) {
      const image = digits.images.subarray(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE);
      if (!image.some((value) => value > 0)) expect.fail(`image ${i} is blank`);
    }
  });

  it('lists every class in label order', () => {
    expect(classCounts(digits.labels)).toEqual(CLASS_COUNTS);
    for (let i = 1; i < digits.count; i++) {
      if (digits.labels[i]! < digits.labels[i - 1]!) expect.fail(`labels decrease at index ${i}`);
    }
    expect(digits.labels[0]).toBe(0);
    expect(digits.labels[9999]).toBe(9);
  });

  it('gives the same data on every load', () => {
    expect(firstDifference(digits.images, secondLoad.images)).toBe(-1);
    expect(firstDifference(digits.labels, secondLoad.labels)).toBe(-1);
  });

  it('matches the stored pixel values', async () => {
    // Class 3 starts after the 1001 + 1127 + 991 digits of classes 0 to 2.
    const text = await readFile(join(bundledDigitsDirectory(), '3.json'), 'utf8');
    const stored = (JSON.parse(text) as { data: number[] }).data;
    const offset = (1001 + 1127 + 991) * IMAGE_SIZE;

    expect(stored.length).toBe(1032 * IMAGE_SIZE);
    let maxError = 0;
    for (let i = 0; i < stored.length; i++) {
      maxError = Math.max(maxError, Math.abs(digits.images[offset + i]! - stored[i]!));
    }
    expect(maxError).toBeLessThanOrEqual(0.0005 + 1e-7);
  });

  it('keeps the first digits of each class with maxPerClass', async () => {
    const few = await loadBundledMnist({ maxPerClass: 5 });

    expect(few.count).toBe(50);
    expect(classCounts(few.labels)).toEqual(new Array(10).fill(5));
    let start = 0;
    for (let digit = 0; digit < 10; digit++) {
      const expected = digits.images.subarray(start * IMAGE_SIZE, (start + 5) * IMAGE_SIZE);
      const actual = few.images.subarray(digit * 5 * IMAGE_SIZE, (digit + 1) * 5 * IMAGE_SIZE);
      expect(firstDifference(actual, expected), `class ${digit}`).toBe(-1);
      start += CLASS_COUNTS[digit]!;
    }
  });
});

describe('bundled digits split', () => {
  it('splits 8,000 / 2,000 disjointly', () => {
    const allKeys = imageKeys(digits);
    expect(new Set(allKeys).size).toBe(10000);

    const { train, validation } = splitDataset(digits, 8000, 1);

    expect(train.count).toBe(8000);
    expect(validation.count).toBe(2000);
    const trainKeys = new Set(imageKeys(train));
    const validationKeys = imageKeys(validation);
    expect(trainKeys.size).toBe(8000);
    expect(validationKeys.filter((key) => trainKeys.has(key))).toEqual([]);
    expect(new Set([...trainKeys, ...validationKeys])).toEqual(new Set(allKeys));
  });

  it('keeps labels with their images', () => {
    const labelByKey = new Map(imageKeys(digits).map((key, i) => [key, digits.labels[i]]));

    const { validation } = splitDataset(digits, 8000, 2);

    const keys = imageKeys(validation);
    keys.forEach((key, i) => {
      if (labelByKey.get(key) !== validation.labels[i]) expect.fail(`validation example ${i} has the wrong label`);
    });
  });

  it('is reproducible for a seed', () => {
    const first = splitDataset(digits, 8000, 3);
    const second = splitDataset(secondLoad, 8000, 3);
    const other = splitDataset(digits, 8000, 4);

    expect(firstDifference(first.train.images, second.train.images)).toBe(-1);
    expect(firstDifference(first.validation.labels, second.validation.labels)).toBe(-1);
    expect(firstDifference(first.train.images, other.train.images)).not.toBe(-1);
  });

  it('keeps every class on both sides', () => {
    const { train, validation } = splitDataset(digits, 8000, 0);

    for (const count of classCounts(train.labels)) expect(count).toBeGreaterThan(600);
    for (const count of classCounts(validation.labels)) expect(count).toBeGreaterThan(100);
  });

  it('batches cover the train set', () => {
    const { train } = splitDataset(digits, 8000, 0);

    let seen = 0;
    const labelCounts = new Array<number>(10).fill(0);
    for (const batch of batches(train, 64, { shuffle: true, seed: 9 })) {
      seen += batch.count;
      classCounts(batch.labels).forEach((n, digit) => (labelCounts[digit]! += n));
    }

    expect(seen).toBe(8000);
    expect(labelCounts).toEqual(classCounts(train.labels));
  });
});

describe('loadTrainingData without a data directory', () => {
  it('splits the bundled digits', async () => {
    const data = await loadTrainingData({ seed: 3 });

    expect(data.source).toBe('bundled');
    expect(data.train.count).toBe(8000);
    expect(data.validation.count).toBe(2000);
    expect(firstDifference(data.train.images, splitDataset(digits, 8000, 3).train.images)).toBe(-1);
  }, LOAD_TIMEOUT_MS);
});

describe('bundled digit errors', () => {
  const tempDirs: string[] = [];

  afterEach(async () => {
    await Promise.all(tempDirs.splice(0).map(removeTempDir));
  });

  /** Writes 0.json to 9.json with one image each, and returns the directory. */
  async function writeDigitFiles(): Promise<string> {
    const directory = await makeTempDir();
    tempDirs.push(directory);
    const image = new Array(IMAGE_SIZE).fill(0);
    for (let digit = 0; digit < 10; digit++) {
      await writeFile(join(directory, `${digit}.json`), JSON.stringify({ data: image }));
    }
    return directory;
  }

  async function loadError(directory: string): Promise<DataError> {
    const error = await loadBundledMnist({ directory }).then(
      () => expect.fail('expected loadBundledMnist to reject'),
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }

  it('loads a directory of valid files', async () => {
    const directory = await writeDigitFiles();

    const ds = await loadBundledMnist({ directory });

    expect(ds.count).toBe(10);
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('names a missing digit file', async () => {
    const directory = await writeDigitFiles();
    await rm(join(directory, '7.json'));

    const error = await loadError(directory);

    expect(error.file).toBe(join(directory, '7.json'));
    expect(error.message).toContain(`digit file ${join(directory, '7.json')} not found`);
    expect(error.message).toContain('npm ci');
  });

  it('rejects invalid JSON', async () => {
    const directory = await writeDigitFiles();
    await writeFile(join(directory, '2.json'), '{"data": [0, 0');

    const error = await loadError(directory);

    expect(error.message).toContain(`${join(directory, '2.json')} is not valid JSON`);
  });

  it('rejects a partial image', async () => {
    const directory = await writeDigitFiles();
    await writeFile(join(directory, '4.json'), JSON.stringify({ data: new Array(IMAGE_SIZE + 3).fill(0) }));

    const error = await loadError(directory);

    expect(error.message).toContain('has 787 pixel values, which is not a multiple of 784');
  });

  it('rejects a value outside the byte grid', async () => {
    const directory = await writeDigitFiles();
    const image = new Array(IMAGE_SIZE).fill(0);
    image[10] = 0.5;
    await writeFile(join(directory, '0.json'), JSON.stringify({ data: image }));

    const error = await loadError(directory);

    expect(error.message).toContain('has value 0.5 at index 10');
  });

  it('rejects a file without a data array', async () => {
    const directory = await writeDigitFiles();
    await writeFile(join(directory, '9.json'), JSON.stringify({ pixels: [] }));

    const error = await loadError(directory);

    expect(error.message).toContain('has no "data" array');
  });

  it('rejects an invalid maxPerClass', async () => {
    const directory = await writeDigitFiles();

    await expect(loadBundledMnist({ directory, maxPerClass: -1 })).rejects.toThrow(DataError);
    await expect(loadBundledMnist({ directory, maxPerClass: 2.5 })).rejects.toThrow(
      /invalid maxPerClass 2.5: it must be a non-negative integer/,
    );
  });

  it('rejects the wrong number of files', () => {
    expect(() => parseBundledDigits([new Uint8Array(0)])).toThrow(DataError);
    expect(() => parseBundledDigits([new Uint8Array(0)])).toThrow(/expected 10 digit files, one per class, got 1/);
  });
});
