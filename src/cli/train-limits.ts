// Size checks of the CNN that `slope train` builds, made before any worker
// starts: a huge --filters or --dense-units would otherwise fail deep inside
// a worker (a RangeError from a typed array) or run out of memory there.

import type { TrainConfig } from './train-run.ts';
import { CliError } from './args.ts';

/**
 * Maximum elements of one tensor: 2^28 float32 values are 1 GiB, a quarter of
 * the 4 GiB that a wasm32 memory and the compiler's buffer plan can address.
 * NOTE: a model under this limit can still need more than 4 GiB in all; the
 * compiler then raises BackendError naming the bytes it needs.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

interface TensorSize {
  what: string;
  elements: number;
  options: string;
}

/**
 * Raises CliError naming the options at fault when a weight or an activation
 * of the CNN would have more than MAX_TENSOR_ELEMENTS elements. `batch` is the
 * largest batch the run compiles and `batchOption` the option that sets it
 * (--batch-size for training, --validation-limit for validation).
 */
export function checkModelSize(config: Pick<TrainConfig, 'filters' | 'denseUnits'>, image: { height: number; width: number; channels: number }, batch: number, batchOption: string): void {
  const [filters1, filters2] = config.filters;
  // 3x3 'valid' convolutions and 2x2 max pooling, as buildCnn lays them out.
  const conv1 = [image.height - 2, image.width - 2];
  const pool1 = conv1.map((n) => Math.floor(n / 2));
  const conv2 = pool1.map((n) => n - 2);
  const pool2 = conv2.map((n) => Math.floor(n / 2));
  const flat = pool2[0]! * pool2[1]! * filters2;
  const sizes: TensorSize[] = [
    { what: 'the kernel of conv2d_1', elements: 9 * image.channels * filters1, options: '--filters' },
    { what: `the output of conv2d_1 for a batch of ${batch}`, elements: batch * conv1[0]! * conv1[1]! * filters1, options: `--filters or ${batchOption}` },
    { what: 'the kernel of conv2d_2', elements: 9 * filters1 * filters2, options: '--filters' },
    { what: `the output of conv2d_2 for a batch of ${batch}`, elements: batch * conv2[0]! * conv2[1]! * filters2, options: `--filters or ${batchOption}` },
    { what: 'the kernel of dense_1', elements: flat * config.denseUnits, options: '--filters or --dense-units' },
    { what: `the output of dense_1 for a batch of ${batch}`, elements: batch * config.denseUnits, options: `--dense-units or ${batchOption}` },
    { what: 'the kernel of dense_2', elements: config.denseUnits * 10, options: '--dense-units' },
  ];
  for (const size of sizes) {
    if (size.elements > MAX_TENSOR_ELEMENTS) {
      const given = `--filters ${filters1},${filters2} and --dense-units ${config.denseUnits}`;
      throw new CliError(`Error in train: with ${given}, ${size.what} would have ${size.elements} elements, more than the limit of ${MAX_TENSOR_ELEMENTS} (2^28) per tensor; lower ${size.options}`);
    }
  }
}
