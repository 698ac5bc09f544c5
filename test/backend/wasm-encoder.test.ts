// The WebAssembly encoder, the WAT printer and the feature probes.

import { describe, expect, it } from 'vitest';
import { ByteWriter, encodeModule } from '../../src/backend/wasm/encoder.ts';
import { wasmFeatures } from '../../src/backend/wasm/features.ts';
import { webAssembly } from '../../src/backend/wasm/host.ts';
import { unsignedLeb } from '../../src/backend/wasm/opcodes.ts';
import { floatLiteral } from '../../src/backend/wasm/wat.ts';
import { compile, graph } from '../../src/index.ts';

function signedLeb(value: number): number[] {
  const w = new ByteWriter();
  w.s32(value);
  return Array.from(w.finish());
}

describe('LEB128', () => {
  it.each([
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [624485, [0xe5, 0x8e, 0x26]],
    [0xffffffff, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('encodes unsigned %d', (value, bytes) => {
    expect(unsignedLeb(value)).toEqual(bytes);
  });

  it.each([
    [0, [0x00]],
    [63, [0x3f]],
    [64, [0xc0, 0x00]],
    [-1, [0x7f]],
    [-64, [0x40]],
    [-65, [0xbf, 0x7f]],
    [-128, [0x80, 0x7f]],
    [-2147483648, [0x80, 0x80, 0x80, 0x80, 0x78]],
  ])('encodes signed %d', (value, bytes) => {
    expect(signedLeb(value)).toEqual(bytes);
  });
});

describe('module encoding', () => {
  it('encodes a module that validates and runs', () => {
    const bytes = encodeModule({
      memory: { module: 'env', field: 'memory', minPages: 1, maxPages: 1 },
      imports: [{ name: 'Math.exp', module: 'Math', field: 'exp', type: { params: ['f64'], results: ['f64'] } }],
      functions: [{
        name: 'twiceExp',
        type: { params: ['f64'], results: ['f64'] },
        localNames: ['x'],
        locals: [],
        body: [['local.get', 0], ['call', 'Math.exp'], ['f64.const', 2], ['f64.mul']],
        exportAs: 'twiceExp',
      }],
    });
    const api = webAssembly()!;
    expect(api.validate(bytes)).toBe(true);
    const instance = new api.Instance(new api.Module(bytes), { env: { memory: new api.Memory({ initial: 1, maximum: 1 }) }, Math: { exp: Math.exp } });
    expect((instance.exports.twiceExp as (x: number) => number)(1)).toBe(2 * Math.E);
  });

  it('rejects a call to an unknown function', () => {
    expect(() => encodeModule({
      memory: { module: 'env', field: 'memory', minPages: 1 },
      imports: [],
      functions: [{ name: 'f', type: { params: [], results: [] }, localNames: [], locals: [], body: [['call', 'missing']] }],
    })).toThrow(/undefined WebAssembly function missing/);
  });
});

describe('WAT printer', () => {
  it.each([
    [0.2, true, '0.2'],
    [0.1, false, '0.1'],
    [NaN, true, 'nan'],
    [-Infinity, false, '-inf'],
    [-0, true, '-0'],
    [1e-45, true, '1e-45'],
  ])('prints %d (float32 %s) as %s', (value, single, text) => {
    expect(floatLiteral(value, single)).toBe(text);
  });

  it('prints a scalar kernel', () => {
    const g = graph();
    const x = g.input('x', [3]);
    const exe = compile(x.mul(2).add(1), { backend: 'wasm', simd: false });
    expect(exe.kernels[0]!.wat).toMatchInlineSnapshot(`
      ";; k0_add: mul + add
      ;;   %2 mul float32[3]
      ;;   %4 add float32[3]
      (func $k0_add (export "k0_add")
        (local $i0 i32)
        (local $v2 f32)
        (local $v4 f32)
        i32.const 0
        local.set $i0
        loop
          local.get $i0
          i32.const 2
          i32.shl
          f32.load
          f32.const 2
          f32.mul
          local.set $v2
          local.get $v2
          f32.const 1
          f32.add
          local.set $v4
          local.get $i0
          i32.const 2
          i32.shl
          local.get $v4
          f32.store offset=16
          local.get $i0
          i32.const 1
          i32.add
          local.tee $i0
          i32.const 3
          i32.lt_s
          br_if 0
        end
      )"
    `);
  });

  it('keeps node names inside comments', () => {
    const hostile = ['*/ (; ;) \n (func)', 'a\u2028b', 'line\nbreak', ';; )', '\u2029'];
    for (const name of hostile) {
      const g = graph();
      const x = g.input(name, [5]);
      const exe = compile(x.mul(2).named(name), { backend: 'wasm' });
      expect(exe.run({ [name]: [1, 2, 3, 4, 5] })[0]).toEqual(Float32Array.of(2, 4, 6, 8, 10));
      for (const line of exe.moduleText!.split(/\r\n|[\n\r\u2028\u2029]/)) {
        const trimmed = line.trim();
        if (trimmed.startsWith(';;')) continue;
        expect(trimmed, `line ${JSON.stringify(line)}`).toMatch(/^[\w.$()"=\s-]*$/);
      }
    }
  });
});

describe('feature probes', () => {
  it('find SIMD in this engine', () => {
    expect(wasmFeatures().available).toBe(true);
    expect(wasmFeatures().simd).toBe(true);
  });

  it('leave SIMD out when it is forced off', () => {
    const g = graph();
    const x = g.input('x', [64, 64]);
    const y = x.matmul(x).add(x).exp();
    expect(compile(y, { backend: 'wasm' }).moduleText).toContain('v128');
    expect(compile(y, { backend: 'wasm', simd: false }).moduleText).not.toContain('v128');
  });
});
