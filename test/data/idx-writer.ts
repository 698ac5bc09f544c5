// Test helpers: an IDX encoder written from the format description, and a
// temporary directory that tests remove when they finish.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IDX_TYPES, type IdxDType } from '../../src/data/idx.ts';

/** Encodes elements as an IDX file: magic number, big-endian sizes, big-endian data. */
export function encodeIdx(dtype: IdxDType, shape: readonly number[], data: ArrayLike<number>): Uint8Array {
  const type = IDX_TYPES.find((t) => t.dtype === dtype)!;
  const headerBytes = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerBytes + data.length * type.bytes);
  const view = new DataView(bytes.buffer);

  bytes[2] = type.code;
  bytes[3] = shape.length;
  shape.forEach((size, i) => view.setUint32(4 + 4 * i, size, false));

  for (let i = 0; i < data.length; i++) {
    const offset = headerBytes + i * type.bytes;
    const value = data[i]!;
    switch (dtype) {
      case 'uint8':
        view.setUint8(offset, value);
        break;
      case 'int8':
        view.setInt8(offset, value);
        break;
      case 'int16':
        view.setInt16(offset, value, false);
        break;
      case 'int32':
        view.setInt32(offset, value, false);
        break;
      case 'float32':
        view.setFloat32(offset, value, false);
        break;
      case 'float64':
        view.setFloat64(offset, value, false);
        break;
    }
  }
  return bytes;
}

/** Creates an empty directory under the system's temporary folder. */
export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'slope-data-test-'));
}

export function removeTempDir(directory: string): Promise<void> {
  return rm(directory, { recursive: true, force: true });
}
