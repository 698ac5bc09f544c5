// Seeded float32 data for the benchmark, so every system gets the same inputs
// and a run can be repeated exactly.

/**
 * A 32-bit generator: a Weyl sequence (step 0x9e3779b9) passed through the
 * MurmurHash3 finalizer. Fast, stateless apart from one counter, and good
 * enough for benchmark data; not for statistics or cryptography.
 */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns a uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Returns a uniform number in [0, 1). */
  nextUnit(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Returns an array of `size` float32 values, uniform in [-scale, scale). */
  uniform(size: number, scale = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = (this.nextUnit() * 2 - 1) * scale;
    return out;
  }

  /** Returns an integer uniform in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.nextUnit() * bound);
  }
}
