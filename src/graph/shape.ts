// Shape arithmetic shared by the op rules, the interpreter and the backends.
// Shapes are row-major; a scalar has shape [].

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/**
 * Returns the numpy broadcast of two shapes, or undefined when they do not
 * broadcast: dimensions are aligned from the right and each pair must be
 * equal or contain a 1.
 */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else return undefined;
  }
  return out;
}

/**
 * Lists the axes of `outShape` along which `inShape` was broadcast, after
 * aligning from the right. Summing a gradient over these axes and reshaping
 * to `inShape` undoes the broadcast.
 */
export function broadcastAxes(inShape: Shape, outShape: Shape): number[] {
  const offset = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < offset || (inShape[i - offset] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}

/** Resolves negative axes and checks range; returns undefined if any is out of range. */
export function normalizeAxis(axis: number, rank: number): number | undefined {
  if (!Number.isInteger(axis)) return undefined;
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
}

/** Maps a flat index of `outShape` to the flat index of a broadcast operand. */
export function broadcastIndexer(inShape: Shape, outShape: Shape): (flat: number) => number {
  const offset = outShape.length - inShape.length;
  const inStrides = stridesOf(inShape);
  const outStrides = stridesOf(outShape);
  const steps: { outStride: number; outDim: number; inStride: number }[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const inDim = i < offset ? 1 : inShape[i - offset]!;
    steps.push({ outStride: outStrides[i]!, outDim: outShape[i]!, inStride: inDim === 1 ? 0 : inStrides[i - offset]! });
  }
  return (flat: number) => {
    let index = 0;
    for (const s of steps) index += (Math.floor(flat / s.outStride) % s.outDim) * s.inStride;
    return index;
  };
}
