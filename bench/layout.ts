// Layout conversions between the benchmark's reference layouts (NHWC
// activations, HWIO filters) and the NCHW / OIHW layouts that jax-js and
// ONNX convolutions take. Used outside the timed runs only.

/** Returns `data` of shape [d0, d1, d2, d3] permuted to the axis order `perm`. */
export function permute4(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  if (shape.length !== 4 || perm.length !== 4) {
    throw new RangeError(`permute4: expected a rank-4 shape and permutation, got [${shape}] and [${perm}]`);
  }
  const strides = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const outShape = perm.map((axis) => shape[axis]);
  const s = perm.map((axis) => strides[axis]);
  const out = new Float32Array(data.length);
  let o = 0;
  for (let i = 0; i < outShape[0]; i++) {
    for (let j = 0; j < outShape[1]; j++) {
      for (let k = 0; k < outShape[2]; k++) {
        const base = i * s[0] + j * s[1] + k * s[2];
        for (let l = 0; l < outShape[3]; l++) out[o++] = data[base + l * s[3]];
      }
    }
  }
  return out;
}

/** Converts [N, H, W, C] to [N, C, H, W]. */
export function nhwcToNchw(data: Float32Array, shape: readonly number[]): Float32Array {
  return permute4(data, shape, [0, 3, 1, 2]);
}

/** Converts [N, C, H, W] (given as its NCHW shape) to [N, H, W, C]. */
export function nchwToNhwc(data: Float32Array, nchwShape: readonly number[]): Float32Array {
  return permute4(data, nchwShape, [0, 2, 3, 1]);
}

/** Converts a filter [KH, KW, Cin, Cout] to [Cout, Cin, KH, KW]. */
export function hwioToOihw(data: Float32Array, shape: readonly number[]): Float32Array {
  return permute4(data, shape, [3, 2, 0, 1]);
}

/** Converts a filter [Cout, Cin, KH, KW] (given as its OIHW shape) to [KH, KW, Cin, Cout]. */
export function oihwToHwio(data: Float32Array, oihwShape: readonly number[]): Float32Array {
  return permute4(data, oihwShape, [2, 3, 1, 0]);
}
