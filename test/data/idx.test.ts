// parseIdx on IDX bytes built in memory: every type code, a round-trip
// property over random shapes and values, and each kind of invalid input.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DataError } from '../../src/data/errors.ts';
import { IDX_TYPES, formatMagic, idxMagic, parseIdx, type IdxDType } from '../../src/data/idx.ts';
import { encodeIdx } from './idx-writer.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 200);

const SAMPLE_VALUES: Record<IdxDType, number[]> = {
  uint8: [0, 1, 127, 128, 255, 42],
  int8: [-128, -1, 0, 1, 127, 42],
  int16: [-32768, -1, 0, 1, 32767, 258],
  int32: [-2147483648, -1, 0, 1, 2147483647, 16909060],
  float32: [-0, 1.5, -2.25, Infinity, -Infinity, 3.4028234663852886e38],
  float64: [-0, 0.1, -1e-300, Infinity, 1.7976931348623157e308, Math.PI],
};

const VALUE_ARBITRARIES: Record<IdxDType, fc.Arbitrary<number>> = {
  uint8: fc.integer({ min: 0, max: 255 }),
  int8: fc.integer({ min: -128, max: 127 }),
  int16: fc.integer({ min: -32768, max: 32767 }),
  int32: fc.integer(),
  float32: fc.float(),
  float64: fc.double(),
};

function expectSameNumbers(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      expect.fail(`element ${i}: parsed ${actual[i]}, written ${expected[i]}`);
    }
  }
}

function catchDataError(run: () => unknown): DataError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  return expect.fail('expected a DataError, but nothing was thrown');
}

describe('parseIdx', () => {
  it.each(IDX_TYPES.map((t) => [t.dtype, t.code] as const))(
    'reads dtype %s (type code %i)',
    (dtype, code) => {
      const values = SAMPLE_VALUES[dtype];
      const bytes = encodeIdx(dtype, [2, 3], values);
      expect(bytes[2]).toBe(code);

      const parsed = parseIdx(bytes);

      expect(parsed.dtype).toBe(dtype);
      expect(parsed.shape).toEqual([2, 3]);
      expectSameNumbers(parsed.data, values);
    },
  );

  it('returns typed arrays matching the dtype', () => {
    const expected: Record<IdxDType, string> = {
      uint8: 'Uint8Array',
      int8: 'Int8Array',
      int16: 'Int16Array',
      int32: 'Int32Array',
      float32: 'Float32Array',
      float64: 'Float64Array',
    };
    for (const { dtype } of IDX_TYPES) {
      const parsed = parseIdx(encodeIdx(dtype, [1], [1]));
      expect(parsed.data.constructor.name, dtype).toBe(expected[dtype]);
    }
  });

  it('reads a scalar and an empty array', () => {
    const scalar = parseIdx(encodeIdx('int32', [], [-7]));
    expect(scalar.shape).toEqual([]);
    expectSameNumbers(scalar.data, [-7]);

    const empty = parseIdx(encodeIdx('float32', [3, 0, 5], []));
    expect(empty.shape).toEqual([3, 0, 5]);
    expect(empty.data.length).toBe(0);
  });

  it('copies data out of the input bytes', () => {
    const bytes = encodeIdx('uint8', [2], [10, 20]);
    const parsed = parseIdx(bytes);
    bytes[bytes.length - 1] = 99;
    expectSameNumbers(parsed.data, [10, 20]);
  });

  it('round-trips random shapes and values', () => {
    const dtypes = IDX_TYPES.map((t) => t.dtype);
    const example = fc
      .record({
        dtype: fc.constantFrom(...dtypes),
        shape: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 }),
        prefix: fc.integer({ min: 0, max: 7 }),
      })
      .chain(({ dtype, shape, prefix }) => {
        const count = shape.reduce((product, size) => product * size, 1);
        const values = fc.array(VALUE_ARBITRARIES[dtype], { minLength: count, maxLength: count });
        return values.map((data) => ({ dtype, shape, prefix, data }));
      });

    fc.assert(
      fc.property(example, ({ dtype, shape, prefix, data }) => {
        // Place the file at an unaligned offset inside a larger buffer, as a
        // view into a network or file read would be.
        const file = encodeIdx(dtype, shape, data);
        const buffer = new Uint8Array(prefix + file.length + 3);
        buffer.set(file, prefix);

        const parsed = parseIdx(buffer.subarray(prefix, prefix + file.length));

        expect(parsed.dtype).toBe(dtype);
        expect(parsed.shape).toEqual(shape);
        expectSameNumbers(parsed.data, data);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('parseIdx errors', () => {
  it('rejects nonzero leading magic bytes', () => {
    const bytes = encodeIdx('uint8', [1], [5]);
    bytes[0] = 0x12;
    bytes[1] = 0x34;

    const error = catchDataError(() => parseIdx(bytes, 'digits.idx'));

    expect(error.file).toBe('digits.idx');
    expect(error.message).toContain('digits.idx is not an IDX file');
    expect(error.message).toContain('magic number is 0x12340801');
    expect(error.message).toContain('0x0000TTNN');
  });

  it('rejects an unknown type code', () => {
    const bytes = encodeIdx('uint8', [1], [5]);
    bytes[2] = 0x0a;

    const error = catchDataError(() => parseIdx(bytes, 'odd.idx'));

    expect(error.message).toContain('magic number is 0x00000A01');
    for (const code of ['0x08 uint8', '0x09 int8', '0x0B int16', '0x0C int32', '0x0D float32', '0x0E float64']) {
      expect(error.message).toContain(code);
    }
  });

  it('suggests decompressing gzip bytes', () => {
    const gzipHeader = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]);

    const error = catchDataError(() => parseIdx(gzipHeader, 'labels.gz'));

    expect(error.message).toContain('0x1F8B0800');
    expect(error.message).toContain('decompress');
  });

  it('rejects a file shorter than the magic number', () => {
    const error = catchDataError(() => parseIdx(new Uint8Array([0, 0, 8]), 'short.idx'));

    expect(error.message).toContain('short.idx is truncated');
    expect(error.message).toContain('only 3 bytes');
  });

  it('rejects a truncated header', () => {
    const bytes = encodeIdx('uint8', [2, 2, 2], new Array(8).fill(1)).subarray(0, 10);

    const error = catchDataError(() => parseIdx(bytes, 'header.idx'));

    expect(error.message).toContain('header.idx is truncated');
    expect(error.message).toContain('3 dimensions');
    expect(error.message).toContain('needs 16 bytes');
    expect(error.message).toContain('has only 10');
  });

  it('rejects truncated data with byte counts', () => {
    const bytes = encodeIdx('int16', [3, 4], new Array(12).fill(-3));
    const cut = bytes.subarray(0, bytes.length - 5);

    const error = catchDataError(() => parseIdx(cut, 'cut.idx'));

    expect(error.message).toContain('cut.idx is truncated');
    expect(error.message).toContain('shape [3, 4] of int16');
    expect(error.message).toContain('needs 24 bytes after the 12-byte header');
    expect(error.message).toContain('only 19 bytes follow');
    expect(error.message).toContain('Download the file again');
  });

  it('rejects bytes after the data', () => {
    const file = encodeIdx('uint8', [2], [1, 2]);
    const padded = new Uint8Array(file.length + 4);
    padded.set(file);

    const error = catchDataError(() => parseIdx(padded, 'padded.idx'));

    expect(error.message).toContain('padded.idx has 4 bytes after the 2 bytes of data');
  });
});

describe('idxMagic', () => {
  it('formats MNIST magic numbers', () => {
    expect(formatMagic(idxMagic('uint8', 3))).toBe('0x00000803');
    expect(formatMagic(idxMagic('uint8', 1))).toBe('0x00000801');
    expect(formatMagic(idxMagic('float64', 2))).toBe('0x00000E02');
  });
});
