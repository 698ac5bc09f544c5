// Image classification datasets as flat typed arrays, and the seeded
// operations that training needs on them: subsets, train/validation splits
// and minibatches. Nothing here touches the file system, so the browser
// build can use it.

import { DataError } from './errors.ts';
import { shuffledIndices } from './random.ts';

/** Images with one integer class label each. */
export interface Dataset {
  /** Pixel values in [0, 1], row-major NHWC: count × height × width × channels. */
  images: Float32Array;
  /** Class index of each image, `count` entries. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** A minibatch: a dataset of `count` examples plus where each came from. */
export interface Batch extends Dataset {
  /** Position of each example in the dataset the batch was drawn from. */
  indices: Int32Array;
}

/** Options for `batches`: the dataset's order or a seeded shuffle, and whether to drop a short last batch. */
export type BatchOptions = {
  /** Drop the last batch when it has fewer than `batchSize` examples. Default false. */
  dropRemainder?: boolean;
} & ({ shuffle?: false; seed?: undefined } | { shuffle: true; seed: number });

/**
 * Raises DataError unless the array lengths of `ds` match its count and image
 * size. `api` names the caller at the start of the message.
 */
export function checkDataset(ds: Dataset, api = 'checkDataset'): void {
  const dims = [ds.count, ds.height, ds.width, ds.channels];
  if (!dims.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new DataError(
      `${api}: invalid dataset: count, height, width and channels must be non-negative integers, ` +
        `got ${dims.join(', ')}.`,
    );
  }

  const pixels = ds.count * ds.height * ds.width * ds.channels;
  if (ds.images.length !== pixels) {
    throw new DataError(
      `${api}: invalid dataset: ${ds.count} images of ${ds.height}×${ds.width}×${ds.channels} ` +
        `need ${pixels} pixel values, but images has ${ds.images.length}.`,
    );
  }
  if (ds.labels.length !== ds.count) {
    throw new DataError(
      `${api}: invalid dataset: ${ds.count} images need ${ds.count} labels, but labels has ${ds.labels.length}.`,
    );
  }
}

/** Copies the examples at `indices`, in that order, into a new dataset. */
export function subsetDataset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  checkDataset(ds, 'subsetDataset');
  return copyExamples(ds, indices, 'subsetDataset');
}

function copyExamples(ds: Dataset, indices: ArrayLike<number>, api: string): Dataset {
  const imageSize = ds.height * ds.width * ds.channels;
  const images = new Float32Array(indices.length * imageSize);
  const labels = new Int32Array(indices.length);

  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= ds.count) {
      throw new DataError(
        `${api}: invalid example index ${index} at position ${i}: ` +
          `indices must be integers in [0, ${ds.count}) for a dataset of ${ds.count} examples.`,
      );
    }
    images.set(ds.images.subarray(index * imageSize, (index + 1) * imageSize), i * imageSize);
    labels[i] = ds.labels[index]!;
  }

  return {
    images,
    labels,
    count: indices.length,
    height: ds.height,
    width: ds.width,
    channels: ds.channels,
  };
}

/**
 * Splits `ds` into disjoint train and validation sets. A seeded shuffle of
 * all examples puts the first `trainCount` into train and the rest into
 * validation, so the same seed always gives the same split. Seeds are
 * integers, and only their low 32 bits select the shuffle. Classes are not
 * stratified, so each side's class balance varies a little with the seed.
 */
export function splitDataset(
  ds: Dataset,
  trainCount: number,
  seed = 0,
): { train: Dataset; validation: Dataset } {
  checkDataset(ds, 'splitDataset');
  checkSeed(seed, 'splitDataset');
  if (!Number.isInteger(trainCount) || trainCount < 0 || trainCount > ds.count) {
    throw new DataError(
      `splitDataset: invalid train count ${trainCount}: it must be an integer from 0 to ${ds.count}, ` +
        `the number of examples in the dataset.`,
    );
  }

  const order = shuffledIndices(ds.count, seed);
  return {
    train: copyExamples(ds, order.subarray(0, trainCount), 'splitDataset'),
    validation: copyExamples(ds, order.subarray(trainCount), 'splitDataset'),
  };
}

/**
 * Returns an iterator over minibatches of `batchSize` examples that together
 * cover `ds` once. Without `shuffle` they follow the dataset's order. With
 * `shuffle`, the order is a permutation seeded by `seed`, so pass a different
 * seed each epoch (for example `baseSeed + epoch`). The last batch is smaller
 * when `batchSize` does not divide the count, unless `dropRemainder` is set.
 * Each batch is a copy, so changing it leaves `ds` unchanged. Invalid
 * arguments raise DataError here, before the first batch is requested.
 */
export function batches(
  ds: Dataset,
  batchSize: number,
  options: BatchOptions = {},
): Generator<Batch, void, undefined> {
  checkDataset(ds, 'batches');
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DataError(`batches: invalid batch size ${batchSize}: it must be a positive integer.`);
  }

  let order: Int32Array | null = null;
  if (options.shuffle === true) {
    checkSeed(options.seed, 'batches');
    order = shuffledIndices(ds.count, options.seed);
  }
  const end = options.dropRemainder === true ? ds.count - (ds.count % batchSize) : ds.count;
  return generateBatches(ds, batchSize, order, end);
}

function* generateBatches(
  ds: Dataset,
  batchSize: number,
  order: Int32Array | null,
  end: number,
): Generator<Batch, void, undefined> {
  for (let start = 0; start < end; start += batchSize) {
    const stop = Math.min(start + batchSize, end);
    const indices = new Int32Array(stop - start);
    for (let i = 0; i < indices.length; i++) {
      indices[i] = order === null ? start + i : order[start + i]!;
    }
    yield { ...copyExamples(ds, indices, 'batches'), indices };
  }
}

function checkSeed(seed: unknown, api: string): void {
  if (!Number.isSafeInteger(seed)) {
    throw new DataError(`${api}: invalid seed ${String(seed)}: it must be an integer.`);
  }
}
