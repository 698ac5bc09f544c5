// Parser for the IDX format, the container of the MNIST files.
//
// An IDX file is a 4-byte magic number, one 4-byte size per dimension, then
// the elements in row-major order. The magic number is two zero bytes, a type
// code for the element type, and the number of dimensions. Sizes and
// multi-byte elements are big-endian. The parser works on a Uint8Array, so the
// browser can use it on fetched bytes. Decompressing gzipped files is up to
// the caller.

import { DataError } from './errors.ts';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** The contents of one IDX file. */
export interface IdxArray {
  dtype: IdxDType;
  /** Size of each dimension, outermost first, as the header lists them. */
  shape: number[];
  /** Elements in row-major order, in the platform's byte order. */
  data: IdxData;
}

interface IdxType {
  code: number;
  dtype: IdxDType;
  bytes: number;
}

/** The element types that the IDX format defines, with their type codes and sizes in bytes. */
export const IDX_TYPES: readonly IdxType[] = [
  { code: 0x08, dtype: 'uint8', bytes: 1 },
  { code: 0x09, dtype: 'int8', bytes: 1 },
  { code: 0x0b, dtype: 'int16', bytes: 2 },
  { code: 0x0c, dtype: 'int32', bytes: 4 },
  { code: 0x0d, dtype: 'float32', bytes: 4 },
  { code: 0x0e, dtype: 'float64', bytes: 8 },
];

const TYPE_CODE_LIST = IDX_TYPES.map((t) => `${hexByte(t.code)} ${t.dtype}`).join(', ');

/** Formats an IDX magic number as 8 hex digits, for example `0x00000803`. */
export function formatMagic(magic: number): string {
  return `0x${(magic >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Returns the magic number that an IDX file of this dtype and rank starts with. */
export function idxMagic(dtype: IdxDType, rank: number): number {
  const type = IDX_TYPES.find((t) => t.dtype === dtype);
  if (type === undefined) throw new DataError(`idxMagic: unknown IDX dtype ${String(dtype)}.`);
  return (type.code << 8) | rank;
}

/**
 * Parses one IDX file. `fileName` only labels error messages. Raises
 * DataError when the magic number is invalid, when the header or the data is
 * shorter than the header declares, or when bytes follow the data. The
 * returned data is a copy that shares no memory with `bytes`.
 */
export function parseIdx(bytes: Uint8Array, fileName = 'IDX data'): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(
      `parseIdx: ${fileName} is truncated: an IDX file starts with a 4-byte magic number, ` +
        `but the file has only ${bytes.length} bytes. Download the file again.`,
      fileName,
    );
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = IDX_TYPES.find((t) => t.code === bytes[2]);
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined) {
    throw new DataError(invalidMagicMessage(fileName, bytes, magic), fileName);
  }

  const rank = bytes[3]!;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DataError(
      `parseIdx: ${fileName} is truncated: its magic number ${formatMagic(magic)} declares ` +
        `${rank} dimensions, so the header needs ${headerBytes} bytes, but the file has only ` +
        `${bytes.length}. Download the file again.`,
      fileName,
    );
  }

  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));

  const elementCount = shape.reduce((product, size) => product * size, 1);
  const dataBytes = elementCount * type.bytes;
  const available = bytes.length - headerBytes;
  if (available < dataBytes) {
    throw new DataError(
      `parseIdx: ${fileName} is truncated: its header declares shape [${shape.join(', ')}] of ` +
        `${type.dtype}, which needs ${dataBytes} bytes after the ${headerBytes}-byte header, ` +
        `but only ${available} bytes follow. Download the file again.`,
      fileName,
    );
  }
  if (available > dataBytes) {
    throw new DataError(
      `parseIdx: ${fileName} has ${available - dataBytes} bytes after the ${dataBytes} bytes of ` +
        `data that its header declares (shape [${shape.join(', ')}] of ${type.dtype}). ` +
        `The file is damaged or is not an IDX file: download it again.`,
      fileName,
    );
  }

  const data = readElements(bytes, view, headerBytes, elementCount, type.dtype);
  return { dtype: type.dtype, shape, data };
}

function invalidMagicMessage(fileName: string, bytes: Uint8Array, magic: number): string {
  const parts = [
    `parseIdx: ${fileName} is not an IDX file: its magic number is ${formatMagic(magic)}, ` +
      `but an IDX magic number is 0x0000TTNN: two zero bytes, a type code TT ` +
      `(${TYPE_CODE_LIST}) and the number of dimensions NN.`,
  ];
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    parts.push('The bytes start like gzip data: decompress them before parsing.');
  } else {
    parts.push('Check that the path names an IDX file and that it downloaded completely.');
  }
  return parts.join(' ');
}

// Copies `count` big-endian elements starting at `offset` into a typed array
// in the platform's byte order. `view` covers the same bytes as `bytes`.
function readElements(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  count: number,
  dtype: IdxDType,
): IdxData {
  switch (dtype) {
    case 'uint8':
      return bytes.slice(offset, offset + count);
    case 'int8':
      return new Int8Array(bytes.slice(offset, offset + count).buffer);
    case 'int16': {
      const data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(offset + 2 * i, false);
      return data;
    }
    case 'int32': {
      const data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(offset + 4 * i, false);
      return data;
    }
    case 'float32': {
      const data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(offset + 4 * i, false);
      return data;
    }
    case 'float64': {
      const data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(offset + 8 * i, false);
      return data;
    }
  }
}

function hexByte(value: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(2, '0')}`;
}
