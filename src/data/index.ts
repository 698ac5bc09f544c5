// The browser-safe part of the data module. The Node loaders that read files
// from disk (loadBundledMnist, loadMnistIdx, loadTrainingData) live in
// node-fs.ts and are imported from there.

export { DataError } from './errors.ts';
export { mulberry32, shuffledIndices } from './random.ts';
export {
  batches,
  checkDataset,
  splitDataset,
  subsetDataset,
  type Batch,
  type BatchOptions,
  type Dataset,
} from './dataset.ts';
export {
  IDX_TYPES,
  formatMagic,
  idxMagic,
  parseIdx,
  type IdxArray,
  type IdxData,
  type IdxDType,
} from './idx.ts';
export {
  BUNDLED_DIGIT_FILES,
  MNIST_CLASSES,
  MNIST_HEIGHT,
  MNIST_IDX_FILES,
  MNIST_WIDTH,
  mnistFromIdx,
  parseBundledDigits,
  type BundledMnistOptions,
} from './mnist.ts';
