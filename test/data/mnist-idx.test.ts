// loadMnistIdx on small MNIST-layout IDX files written to a temporary
// directory: plain and gzipped files, and each error a damaged or incomplete
// download produces.

import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';

import type { Dataset } from '../../src/data/dataset.ts';
import { DataError } from '../../src/data/errors.ts';
import { MNIST_IDX_FILES } from '../../src/data/mnist.ts';
import { loadMnistIdx, loadTrainingData } from '../../src/data/node-fs.ts';
import { encodeIdx, makeTempDir, removeTempDir } from './idx-writer.ts';

const TRAIN = MNIST_IDX_FILES.train;
const TEST = MNIST_IDX_FILES.test;

/** Returns the pixel byte of image `image` at flat position `position`. */
function pixelByte(image: number, position: number): number {
  return (image * 31 + position * 7) % 256;
}

function imagesFile(count: number, height = 28, width = 28): Uint8Array {
  const size = height * width;
  const pixels = Array.from({ length: count * size }, (_, i) => pixelByte(Math.floor(i / size), i % size));
  return encodeIdx('uint8', [count, height, width], pixels);
}

function labelsFile(count: number): Uint8Array {
  return encodeIdx('uint8', [count], Array.from({ length: count }, (_, i) => (i * 3) % 10));
}

function expectDataset(ds: Dataset, count: number, height = 28, width = 28): void {
  expect(ds.count).toBe(count);
  expect(ds.height).toBe(height);
  expect(ds.width).toBe(width);
  expect(ds.channels).toBe(1);
  expect(ds.images.length).toBe(count * height * width);
  expect(Array.from(ds.labels)).toEqual(Array.from({ length: count }, (_, i) => (i * 3) % 10));

  const size = height * width;
  for (let i = 0; i < ds.images.length; i++) {
    const expected = Math.fround(pixelByte(Math.floor(i / size), i % size) / 255);
    if (ds.images[i] !== expected) expect.fail(`pixel ${i}: ${ds.images[i]}, expected ${expected}`);
  }
}

const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map(removeTempDir));
});

/** Writes the four files with 5 train and 3 test images, gzipping those named in `gzipped`. */
async function writeMnist(gzipped: readonly string[] = []): Promise<string> {
  const directory = await makeTempDir();
  tempDirs.push(directory);
  const files: [string, Uint8Array][] = [
    [TRAIN.images, imagesFile(5)],
    [TRAIN.labels, labelsFile(5)],
    [TEST.images, imagesFile(3)],
    [TEST.labels, labelsFile(3)],
  ];
  for (const [name, bytes] of files) {
    if (gzipped.includes(name)) await writeFile(join(directory, `${name}.gz`), gzipSync(bytes));
    else await writeFile(join(directory, name), bytes);
  }
  return directory;
}

async function loadError(directory: string): Promise<DataError> {
  const error = await loadMnistIdx(directory).then(
    () => expect.fail('expected loadMnistIdx to reject'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('loadMnistIdx', () => {
  it('reads plain files', async () => {
    const { train, test } = await loadMnistIdx(await writeMnist());

    expectDataset(train, 5);
    expectDataset(test, 3);
  });

  it('reads gzipped files', async () => {
    const all = [TRAIN.images, TRAIN.labels, TEST.images, TEST.labels];

    const { train, test } = await loadMnistIdx(await writeMnist(all));

    expectDataset(train, 5);
    expectDataset(test, 3);
  });

  it('reads a mix of plain and gzipped files', async () => {
    const { train, test } = await loadMnistIdx(await writeMnist([TRAIN.images, TEST.labels]));

    expectDataset(train, 5);
    expectDataset(test, 3);
  });

  it('prefers the plain file over the gzipped one', async () => {
    const directory = await writeMnist();
    await writeFile(join(directory, `${TRAIN.labels}.gz`), gzipSync(labelsFile(4)));

    const { train } = await loadMnistIdx(directory);

    expectDataset(train, 5);
  });

  it('decompresses gzip data under a plain name', async () => {
    const directory = await writeMnist();
    await writeFile(join(directory, TEST.images), gzipSync(imagesFile(3)));

    const { test } = await loadMnistIdx(directory);

    expectDataset(test, 3);
  });

  it('reads images of any size', async () => {
    const directory = await writeMnist();
    await writeFile(join(directory, TEST.images), imagesFile(3, 4, 5));

    const { test } = await loadMnistIdx(directory);

    expectDataset(test, 3, 4, 5);
  });

  it('feeds loadTrainingData with dataDir', async () => {
    const data = await loadTrainingData({ dataDir: await writeMnist() });

    expect(data.source).toBe('idx');
    expectDataset(data.train, 5);
    expectDataset(data.validation, 3);
  });
});

describe('loadMnistIdx errors', () => {
  it('lists the names looked for when a file is missing', async () => {
    const directory = await writeMnist([TEST.labels]);
    await removeTempDir(join(directory, `${TEST.labels}.gz`));

    const error = await loadError(directory);

    expect(error.file).toBe(join(directory, TEST.labels));
    expect(error.message).toContain(`found neither ${TEST.labels} nor ${TEST.labels}.gz in ${directory}`);
    for (const name of [TRAIN.images, TRAIN.labels, TEST.images, TEST.labels]) {
      expect(error.message).toContain(name);
    }
  });

  it('names a missing directory', async () => {
    const directory = join(await writeMnist(), 'absent');

    const error = await loadError(directory);

    expect(error.message).toContain(`data directory ${JSON.stringify(directory)} not found`);
  });

  it('rejects a file given as directory', async () => {
    const file = join(await writeMnist(), TRAIN.labels);

    const error = await loadError(file);

    expect(error.message).toContain(`${file} is a file, not a directory`);
  });

  it('reports swapped images and labels', async () => {
    const directory = await writeMnist();
    await rename(join(directory, TRAIN.images), join(directory, 'images'));
    await rename(join(directory, TRAIN.labels), join(directory, TRAIN.images));
    await rename(join(directory, 'images'), join(directory, TRAIN.labels));

    const error = await loadError(directory);

    expect(error.file).toBe(join(directory, TRAIN.images));
    expect(error.message).toContain('has magic number 0x00000801 (uint8, 1 dimension)');
    expect(error.message).toContain('MNIST images need 0x00000803');
    expect(error.message).toContain('swapped');
  });

  it('reports an invalid magic number', async () => {
    const directory = await writeMnist();
    const bytes = labelsFile(3);
    bytes[0] = 0x50;
    await writeFile(join(directory, TEST.labels), bytes);

    const error = await loadError(directory);

    expect(error.file).toBe(join(directory, TEST.labels));
    expect(error.message).toContain(`${join(directory, TEST.labels)} is not an IDX file`);
    expect(error.message).toContain('magic number is 0x50000801');
  });

  it('reports truncated data with byte counts', async () => {
    const directory = await writeMnist();
    const bytes = imagesFile(5);
    await writeFile(join(directory, TRAIN.images), bytes.subarray(0, bytes.length - 100));

    const error = await loadError(directory);

    expect(error.file).toBe(join(directory, TRAIN.images));
    expect(error.message).toContain('is truncated');
    expect(error.message).toContain('shape [5, 28, 28] of uint8');
    expect(error.message).toContain('needs 3920 bytes after the 16-byte header');
    expect(error.message).toContain('only 3820 bytes follow');
  });

  it('reports a truncated gzip file', async () => {
    const directory = await writeMnist([TRAIN.labels]);
    const compressed = gzipSync(labelsFile(5));
    await writeFile(join(directory, `${TRAIN.labels}.gz`), compressed.subarray(0, compressed.length - 8));

    const error = await loadError(directory);

    expect(error.file).toBe(join(directory, `${TRAIN.labels}.gz`));
    expect(error.message).toContain(`failed to decompress ${join(directory, `${TRAIN.labels}.gz`)}`);
    expect(error.message).toContain('download it again');
  });

  it('reports an image and label count mismatch', async () => {
    const directory = await writeMnist();
    await writeFile(join(directory, TEST.labels), labelsFile(2));

    const error = await loadError(directory);

    expect(error.message).toContain(
      `${join(directory, TEST.images)} contains 3 images but ${join(directory, TEST.labels)} contains 2 labels`,
    );
    expect(error.message).toContain('same set');
  });
});
