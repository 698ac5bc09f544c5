// Times the data loaders: `npx tsx bench/load-mnist.ts [DIR]`. Loads the
// bundled digits a few times, and the IDX files in DIR when given, and
// prints the wall time of each load in milliseconds.

import { loadBundledMnist, loadMnistIdx } from '../src/data/node-fs.ts';

const REPEATS = 5;

for (let run = 1; run <= REPEATS; run++) {
  const start = performance.now();
  const digits = await loadBundledMnist();
  const elapsed = performance.now() - start;
  console.log(`bundled run ${run}: ${digits.count} digits in ${elapsed.toFixed(0)} ms`);
}

const directory = process.argv[2];
if (directory !== undefined) {
  const start = performance.now();
  const { train, test } = await loadMnistIdx(directory);
  const elapsed = performance.now() - start;
  console.log(`idx: ${train.count} train and ${test.count} test images in ${elapsed.toFixed(0)} ms`);
}
