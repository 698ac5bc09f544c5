// Matrix products and data movement: matmul, transpose, reshape,
// broadcastTo, slice, concat, pad and oneHot.

import { AttributeError, ShapeError } from '../errors.ts';
import type { Node } from '../graph/node.ts';
import { broadcastIndexer, broadcastShapes, formatShape, shapesEqual, sizeOf, stridesOf } from '../graph/shape.ts';
import type { OpDef } from './def.ts';
import { axis, boolean, describeValue, finiteNumber, integer, integerList, representable, requireDType, sameDType } from './check.ts';

type MovementName = 'matmul' | 'transpose' | 'reshape' | 'broadcastTo' | 'slice' | 'concat' | 'pad' | 'oneHot';

/** Calls `visit(outFlat, inFlat)` for every element of a strided view. */
function forEachIndex(shape: readonly number[], inStrides: readonly number[], inOffset: number, visit: (out: number, input: number) => void): void {
  const rank = shape.length;
  const size = sizeOf(shape);
  const index = new Array<number>(rank).fill(0);
  let input = inOffset;
  for (let out = 0; out < size; out++) {
    visit(out, input);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      input += inStrides[d]!;
      if (index[d]! < shape[d]!) break;
      input -= inStrides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
}

function inversePermutation(perm: readonly number[]): number[] {
  const inverse = new Array<number>(perm.length);
  perm.forEach((p, i) => (inverse[p] = i));
  return inverse;
}

export const movementOps: { [K in MovementName]: OpDef<K> } = {
  // y = op(A) op(B) over the last two axes, batch axes broadcast; op transposes when asked.
  // Without transposes: dA = dy B^T and dB = A^T dy; the other three cases follow by
  // transposing both sides. Broadcast batch axes are summed back by the grad pass.
  matmul: {
    arity: 2,
    attrs: (raw, site) => ({ transposeA: boolean(site, 'transposeA', raw.transposeA, false), transposeB: boolean(site, 'transposeB', raw.transposeB, false) }),
    infer: (inputs, attrs, site) => {
      const [a, b] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
      const dtype = sameDType(site, inputs);
      requireDType(site, a, ['float32', 'float64'], 'inputs');
      if (a.shape.length < 2 || b.shape.length < 2) {
        throw site.error(ShapeError, `inputs must have rank 2 or more, got ${formatShape(a.shape)} and ${formatShape(b.shape)}; reshape a vector to [1, n] or [n, 1]`);
      }
      const [m, ka] = matrixDims(a.shape, attrs.transposeA);
      const [kb, n] = matrixDims(b.shape, attrs.transposeB);
      if (ka !== kb) {
        throw site.error(ShapeError, `inner dimensions differ: ${formatShape(a.shape)}${attrs.transposeA ? '^T' : ''} times ${formatShape(b.shape)}${attrs.transposeB ? '^T' : ''} has ${ka} against ${kb}`);
      }
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
      if (batch === undefined) throw site.error(ShapeError, `batch dimensions of ${formatShape(a.shape)} and ${formatShape(b.shape)} do not broadcast`);
      return { shape: [...batch, m, n], dtype };
    },
    evaluate: (inputs, attrs, out) => {
      const [a, b] = inputs as [(typeof inputs)[0], (typeof inputs)[0]];
      const [m, k] = matrixDims(a.shape, attrs.transposeA);
      const n = out.shape[out.shape.length - 1]!;
      const batchShape = out.shape.slice(0, -2);
      const batches = sizeOf(batchShape);
      const aBatch = broadcastIndexer(a.shape.slice(0, -2), batchShape);
      const bBatch = broadcastIndexer(b.shape.slice(0, -2), batchShape);
      const result = new Float64Array(sizeOf(out.shape));
      const [sam, sak] = attrs.transposeA ? [1, m] : [k, 1];
      const [sbk, sbn] = attrs.transposeB ? [1, k] : [n, 1];
      for (let t = 0; t < batches; t++) {
        const aBase = aBatch(t) * m * k;
        const bBase = bBatch(t) * k * n;
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            let acc = 0;
            for (let p = 0; p < k; p++) acc += a.data[aBase + i * sam + p * sak]! * b.data[bBase + p * sbk + j * sbn]!;
            result[t * m * n + i * n + j] = acc;
          }
        }
      }
      return result;
    },
    grad: ({ graph, inputs, attrs, dy }) => {
      const [a, b] = inputs as [Node, Node];
      const { transposeA: ta, transposeB: tb } = attrs;
      if (!ta && !tb) return [graph.matmul(dy, b, { transposeB: true }), graph.matmul(a, dy, { transposeA: true })];
      if (ta && !tb) return [graph.matmul(b, dy, { transposeB: true }), graph.matmul(a, dy)];
      if (!ta && tb) return [graph.matmul(dy, b), graph.matmul(dy, a, { transposeA: true })];
      return [graph.matmul(b, dy, { transposeA: true, transposeB: true }), graph.matmul(dy, a, { transposeA: true, transposeB: true })];
    },
  },

  // d transpose(x, perm) = transpose(dy, perm^-1)
  transpose: {
    arity: 1,
    attrs: (raw, site, inputs) => {
      const rank = inputs[0]!.shape.length;
      const perm = integerList(site, 'perm', raw.perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i));
      const sorted = [...perm].sort((x, y) => x - y);
      if (perm.length !== rank || !sorted.every((p, i) => p === i)) {
        throw site.error(AttributeError, `perm ${JSON.stringify(perm)} is not a permutation of 0..${rank - 1} for shape ${formatShape(inputs[0]!.shape)}`);
      }
      return { perm };
    },
    infer: (inputs, { perm }) => ({ shape: perm.map((p) => inputs[0]!.shape[p]!), dtype: inputs[0]!.dtype }),
    evaluate: (inputs, { perm }, out) => {
      const x = inputs[0]!;
      const strides = stridesOf(x.shape);
      const result = new Float64Array(x.data.length);
      forEachIndex(out.shape, perm.map((p) => strides[p]!), 0, (o, i) => (result[o] = x.data[i]!));
      return result;
    },
    grad: ({ graph, attrs, dy }) => [graph.transpose(dy, inversePermutation(attrs.perm))],
  },

  // d reshape(x) = reshape(dy, shape of x)
  reshape: {
    arity: 1,
    attrs: (raw, site, inputs) => {
      const x = inputs[0]!;
      const shape = integerList(site, 'shape', raw.shape, -1);
      const unknown = shape.filter((d) => d === -1).length;
      if (unknown > 1) throw site.error(AttributeError, `shape ${JSON.stringify(shape)} has more than one -1`);
      const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
      const total = sizeOf(x.shape);
      const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
      if (sizeOf(resolved) !== total || !resolved.every(Number.isInteger)) {
        throw site.error(ShapeError, `cannot reshape ${formatShape(x.shape)} (${total} elements) to ${JSON.stringify(shape)}`);
      }
      return { shape: resolved };
    },
    infer: (inputs, { shape }) => ({ shape, dtype: inputs[0]!.dtype }),
    evaluate: (inputs) => Float64Array.from(inputs[0]!.data),
    grad: ({ graph, inputs, dy }) => [graph.reshape(dy, inputs[0]!.shape)],
  },

  // The gradient of a broadcast is dy summed over the broadcast axes; the grad
  // pass does that summing for every op, so the rule passes dy through.
  broadcastTo: {
    arity: 1,
    attrs: (raw, site) => ({ shape: integerList(site, 'shape', raw.shape, 0) }),
    infer: (inputs, { shape }, site) => {
      const x = inputs[0]!;
      const b = broadcastShapes(x.shape, shape);
      if (b === undefined || !shapesEqual(b, shape)) {
        throw site.error(ShapeError, `cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}; each trailing dimension must be equal or 1`);
      }
      return { shape, dtype: x.dtype };
    },
    evaluate: (inputs, _attrs, out) => {
      const x = inputs[0]!;
      const index = broadcastIndexer(x.shape, out.shape);
      const result = new Float64Array(sizeOf(out.shape));
      for (let i = 0; i < result.length; i++) result[i] = x.data[index(i)]!;
      return result;
    },
    grad: ({ dy }) => [dy],
  },

  // d slice(x) = dy padded with zeros back to the shape of x.
  slice: {
    arity: 1,
    attrs: (raw, site, inputs) => {
      const shape = inputs[0]!.shape;
      const begin = integerList(site, 'begin', raw.begin, 0);
      const size = integerList(site, 'size', raw.size, -1);
      if (begin.length !== shape.length || size.length !== shape.length) {
        throw site.error(AttributeError, `begin and size need ${shape.length} entries for shape ${formatShape(shape)}, got ${begin.length} and ${size.length}`);
      }
      const resolved = size.map((s, i) => (s === -1 ? shape[i]! - begin[i]! : s));
      resolved.forEach((s, i) => {
        if (s < 0 || begin[i]! + s > shape[i]!) {
          throw site.error(ShapeError, `slice begin ${JSON.stringify(begin)} size ${JSON.stringify(size)} is outside shape ${formatShape(shape)} on axis ${i}`);
        }
      });
      return { begin, size: resolved };
    },
    infer: (inputs, { size }) => ({ shape: size, dtype: inputs[0]!.dtype }),
    evaluate: (inputs, { begin, size }) => {
      const x = inputs[0]!;
      const strides = stridesOf(x.shape);
      const offset = begin.reduce((o, b, i) => o + b * strides[i]!, 0);
      const result = new Float64Array(sizeOf(size));
      forEachIndex(size, strides, offset, (o, i) => (result[o] = x.data[i]!));
      return result;
    },
    grad: ({ graph, inputs, attrs, dy }) => {
      const shape = inputs[0]!.shape;
      return [graph.pad(dy, attrs.begin.map((b, i) => [b, shape[i]! - b - attrs.size[i]!] as [number, number]))];
    },
  },

  // d concat(x1..xn) = the slices of dy that each input filled.
  concat: {
    arity: 'variadic',
    attrs: (raw, site, inputs) => ({ axis: axis(site, 'axis', raw.axis ?? 0, inputs[0]!.shape.length) }),
    infer: (inputs, { axis: a }, site) => {
      const dtype = sameDType(site, inputs);
      const first = inputs[0]!.shape;
      let total = 0;
      for (const input of inputs) {
        const ok = input.shape.length === first.length && input.shape.every((d, i) => i === a || d === first[i]);
        if (!ok) throw site.error(ShapeError, `shapes ${inputs.map((i) => formatShape(i.shape)).join(', ')} differ outside axis ${a}`);
        total += input.shape[a]!;
      }
      return { shape: first.map((d, i) => (i === a ? total : d)), dtype };
    },
    evaluate: (inputs, { axis: a }, out) => {
      const result = new Float64Array(sizeOf(out.shape));
      const outer = sizeOf(out.shape.slice(0, a));
      const rowOut = sizeOf(out.shape.slice(a));
      let offset = 0;
      for (const x of inputs) {
        const row = sizeOf(x.shape.slice(a));
        for (let o = 0; o < outer; o++) result.set(x.data.subarray(o * row, (o + 1) * row), o * rowOut + offset);
        offset += row;
      }
      return result;
    },
    grad: ({ graph, inputs, attrs, dy }) => {
      let start = 0;
      return inputs.map((x) => {
        const begin = x.shape.map((_, i) => (i === attrs.axis ? start : 0));
        start += x.shape[attrs.axis]!;
        return graph.slice(dy, begin, x.shape);
      });
    },
  },

  // d pad(x) = the slice of dy where x was placed.
  pad: {
    arity: 1,
    attrs: (raw, site, inputs) => {
      const rank = inputs[0]!.shape.length;
      if (!Array.isArray(raw.paddings) || raw.paddings.length !== rank) {
        throw site.error(AttributeError, `paddings must be ${rank} pairs [before, after] for shape ${formatShape(inputs[0]!.shape)}`);
      }
      const paddings = raw.paddings.map((p, i) => {
        const pair = integerList(site, `paddings[${i}]`, p, 0);
        if (pair.length !== 2) throw site.error(AttributeError, `paddings[${i}] must be a pair [before, after], got ${JSON.stringify(p)}`);
        return [pair[0]!, pair[1]!] as const;
      });
      const value = finiteNumber(site, 'value', raw.value, 0);
      const dtype = inputs[0]!.dtype;
      if (!representable(dtype, value)) {
        throw site.error(AttributeError, `value ${describeValue(value)} cannot be stored in the ${dtype} input; use ${dtype === 'bool' ? '0 or 1' : 'an int32 integer'}`);
      }
      return { paddings, value };
    },
    infer: (inputs, { paddings }) => ({ shape: inputs[0]!.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]), dtype: inputs[0]!.dtype }),
    evaluate: (inputs, { paddings, value }, out) => {
      const x = inputs[0]!;
      const result = new Float64Array(sizeOf(out.shape)).fill(value);
      const outStrides = stridesOf(out.shape);
      const offset = paddings.reduce((o, p, i) => o + p[0] * outStrides[i]!, 0);
      forEachIndex(x.shape, outStrides, offset, (i, o) => (result[o] = x.data[i]!));
      return result;
    },
    grad: ({ graph, inputs, attrs, dy }) => [graph.slice(dy, attrs.paddings.map((p) => p[0]), inputs[0]!.shape)],
  },

  oneHot: {
    arity: 1,
    attrs: (raw, site) => ({ depth: integer(site, 'depth', raw.depth, 1) }),
    infer: (inputs, { depth }, site) => {
      requireDType(site, inputs[0]!, ['int32'], 'indices');
      return { shape: [...inputs[0]!.shape, depth], dtype: 'float32' };
    },
    evaluate: (inputs, { depth }, out) => {
      const result = new Float64Array(sizeOf(out.shape));
      inputs[0]!.data.forEach((c, i) => {
        if (c >= 0 && c < depth) result[i * depth + c] = 1;
      });
      return result;
    },
    grad: () => [undefined],
  },
};

/** Rows and columns of the matrix in the last two axes, after an optional transpose. */
function matrixDims(shape: readonly number[], transpose: boolean): [number, number] {
  const r = shape[shape.length - 2]!;
  const c = shape[shape.length - 1]!;
  return transpose ? [c, r] : [r, c];
}
