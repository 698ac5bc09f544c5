// Seeded randomness for the data module. Splits and shuffles take a seed so
// that a training run with a fixed seed gets the same examples in the same
// order every time, in Node and in the browser alike.

import { Rng } from '../graph/init.ts';

/**
 * Creates a mulberry32 generator returning floats in [0, 1): the same
 * generator as the initializers' Rng, so one seed means one stream across
 * slope. Its period of 2^32 is plenty for shuffling datasets.
 */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** Returns a permutation of 0..count-1 drawn by a Fisher–Yates shuffle seeded with `seed`. */
export function shuffledIndices(count: number, seed: number): Int32Array {
  const indices = new Int32Array(count);
  for (let i = 0; i < count; i++) indices[i] = i;

  const random = mulberry32(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = indices[i]!;
    indices[i] = indices[j]!;
    indices[j] = swap;
  }
  return indices;
}
