// Seeded randomness for the data module. Splits and shuffles take a seed so
// that a training run with a fixed seed gets the same examples in the same
// order every time, in Node and in the browser alike.

/**
 * Creates a mulberry32 generator: a 32-bit state, advanced by a Weyl step and
 * mixed, returning floats in [0, 1). Fast and small, with a period of 2^32,
 * which is plenty for shuffling datasets but not for cryptographic use.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
