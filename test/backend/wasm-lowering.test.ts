// Hand-written kernel IR on both backends. Block scoping of lets (also in
// the inner loops of a nest) and the integer index operations are reached
// by graphs only in some shapes. Loop bounds read at run time and, on the
// wasm backend, accumulator loops with sub and mul updates or a running sum
// are reached by no graph yet.

import { describe, expect, it } from 'vitest';
import type { Expr, Kernel, KernelParam, Stmt } from '../../src/kernel/ir.ts';
import { bin, fvar, int, ivar, load, loop, num } from '../../src/kernel/ir.ts';
import { planMemory } from '../../passes/plan-memory.ts';
import { jsBackend } from '../../src/backend/js/backend.ts';
import { wasmBackend } from '../../src/backend/wasm/backend.ts';
import type { Backend } from '../../src/backend/backend.ts';
import type { DType } from '../../src/index.ts';

/** Runs a one-kernel program whose buffers are float32 (`f32`) or int32 (`i32`); returns every buffer after the run. */
function run(backend: Backend, params: KernelParam[], body: Stmt[], inputs: Record<number, number[]>): number[][] {
  const kernel: Kernel = { name: 'k0_test', nodes: [], summary: 'test', params, body, flops: 0, bytes: 0, inPlaceSafe: false };
  const dtypeOf = (id: number): DType => (params.find((p) => p.buffer === id)!.t === 'i32' ? 'int32' : 'float32');
  const memory = planMemory([kernel], params.map((p) => ({ id: p.buffer, t: p.t, dtype: dtypeOf(p.buffer), size: p.size, persistent: true })), () => false);
  const runner = backend.prepare({ kernels: [kernel], memory, dtypeOf, describe: () => [] });
  const views = params.map((p) => {
    const offset = runner.base + memory.placements.get(p.buffer)!.byteOffset;
    return p.t === 'i32' ? new Int32Array(runner.buffer, offset, p.size) : new Float32Array(runner.buffer, offset, p.size);
  });
  params.forEach((p, i) => views[i]!.set(inputs[p.buffer] ?? []));
  runner.run();
  return views.map((v) => Array.from(v));
}

const backends: [string, Backend][] = [['js', jsBackend], ['wasm', wasmBackend()], ['wasm without SIMD', wasmBackend({ simd: false })]];

describe('hand-written kernels', () => {
  it.each(backends)('shadowing let of another type on %s', (_label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'f32', size: 8, access: 'read' },
      { buffer: 1, t: 'f32', size: 8, access: 'write' },
      { buffer: 2, t: 'i32', size: 1, access: 'write' },
    ];
    const body: Stmt[] = [
      { k: 'let', name: 'v4', t: 'i32', init: int(7) },
      loop('i0', 0, 8, [
        { k: 'let', name: 'v4', t: 'f32', init: load(0, ivar('i0'), 'f32') },
        { k: 'store', buf: 1, index: ivar('i0'), value: bin('mul', fvar('v4', 'f32'), num(2, 'f32')) },
      ]),
      { k: 'store', buf: 2, index: int(0), value: ivar('v4') },
    ];
    const [, doubled, outer] = run(backend, params, body, { 0: [1, 2, 3, 4, 5, 6, 7, 8] });
    expect(doubled).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(outer).toEqual([7]);
  });

  it.each(backends)('idiv and imod by constants on %s', (_label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'i32', size: 12, access: 'write' },
      { buffer: 1, t: 'i32', size: 12, access: 'write' },
      { buffer: 2, t: 'i32', size: 12, access: 'write' },
    ];
    const i = ivar('i0');
    const value: Expr = bin('mul', i, int(37));
    const body: Stmt[] = [
      loop('i0', 0, 12, [
        { k: 'store', buf: 0, index: i, value: bin('idiv', value, int(8)) },
        { k: 'store', buf: 1, index: i, value: bin('idiv', value, int(7)) },
        { k: 'store', buf: 2, index: i, value: bin('imod', value, int(6)) },
      ]),
    ];
    const [byEight, bySeven, modSix] = run(backend, params, body, {});
    const values = Array.from({ length: 12 }, (_, k) => k * 37);
    expect(byEight).toEqual(values.map((v) => Math.floor(v / 8)));
    expect(bySeven).toEqual(values.map((v) => Math.floor(v / 7)));
    expect(modSix).toEqual(values.map((v) => v % 6));
  });
});

describe('accumulator loops', () => {
  const wasmBackends: [string, Backend][] = [['SIMD', wasmBackend()], ['scalar code', wasmBackend({ simd: false })]];
  /** 19 terms of mixed magnitude, so that adding them in another order rounds differently in float32. */
  const X = Array.from({ length: 19 }, (_, i) => Math.fround((i % 3 === 0 ? 4097.3 : 0.37) * (1 + i / 7) * (i % 2 === 0 ? 1 : -1)));

  /** Folds the terms one at a time in float32, as the scalar loop does. */
  const fold = (init: number, step: (acc: number, x: number) => number) => X.reduce((acc, x) => Math.fround(step(acc, x)), Math.fround(init));

  it('test data rounds differently in four partial sums', () => {
    const partials = [0, 1, 2, 3].map((lane) => X.filter((_, i) => i % 4 === lane).reduce((a, x) => Math.fround(a + x), 0));
    const reordered = partials.reduce((a, p) => Math.fround(a + p), 0);
    expect(reordered).not.toBe(fold(0, (a, x) => a + x));
  });

  it.each(wasmBackends)('sub, mul and add with the accumulator second on %s', (_label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'f32', size: X.length, access: 'read' },
      { buffer: 1, t: 'f32', size: 3, access: 'write' },
    ];
    const x = load(0, ivar('i0'), 'f32');
    const body: Stmt[] = [
      { k: 'let', name: 'difference', t: 'f32', init: num(100, 'f32') },
      { k: 'let', name: 'product', t: 'f32', init: num(1, 'f32') },
      { k: 'let', name: 'total', t: 'f32', init: num(0, 'f32') },
      loop('i0', 0, X.length, [
        { k: 'assign', name: 'difference', value: bin('sub', fvar('difference', 'f32'), x) },
        { k: 'assign', name: 'product', value: bin('mul', fvar('product', 'f32'), bin('mul', x, num(0.01, 'f32'))) },
        { k: 'assign', name: 'total', value: bin('add', x, fvar('total', 'f32')) },
      ]),
      { k: 'store', buf: 1, index: int(0), value: fvar('difference', 'f32') },
      { k: 'store', buf: 1, index: int(1), value: fvar('product', 'f32') },
      { k: 'store', buf: 1, index: int(2), value: fvar('total', 'f32') },
    ];
    const [, [difference, product, total]] = run(backend, params, body, { 0: X }) as [number[], number[]];
    expect(difference).toBe(fold(100, (a, v) => a - v));
    expect(product).toBe(fold(1, (a, v) => a * Math.fround(v * Math.fround(0.01))));
    expect(total).toBe(fold(0, (a, v) => v + a));
  });

  it.each(wasmBackends)('running sum stored every iteration on %s', (_label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'f32', size: X.length, access: 'read' },
      { buffer: 1, t: 'f32', size: X.length, access: 'write' },
    ];
    const body: Stmt[] = [
      { k: 'let', name: 'total', t: 'f32', init: num(0, 'f32') },
      loop('i0', 0, X.length, [
        { k: 'assign', name: 'total', value: bin('add', fvar('total', 'f32'), load(0, ivar('i0'), 'f32')) },
        { k: 'store', buf: 1, index: ivar('i0'), value: fvar('total', 'f32') },
      ]),
    ];
    const [, prefix] = run(backend, params, body, { 0: X });
    expect(prefix).toEqual(X.map((_, i) => X.slice(0, i + 1).reduce((a, v) => Math.fround(a + v), 0)));
  });
});

describe('loop nests', () => {
  it.each(backends)('one name declared in two inner loops on %s', (_label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'f32', size: 24, access: 'read' },
      { buffer: 1, t: 'f32', size: 3, access: 'read' },
      { buffer: 2, t: 'f32', size: 8, access: 'write' },
    ];
    const j = ivar('j');
    const body: Stmt[] = [
      loop('j', 0, 8, [
        { k: 'let', name: 'acc', t: 'f32', init: num(0, 'f32') },
        loop('r', 0, 3, [
          { k: 'let', name: 't', t: 'f32', init: load(0, bin('add', bin('mul', ivar('r'), int(8)), j), 'f32') },
          { k: 'assign', name: 'acc', value: bin('add', fvar('acc', 'f32'), fvar('t', 'f32')) },
        ]),
        loop('s', 0, 3, [
          { k: 'let', name: 't', t: 'f32', init: load(1, ivar('s'), 'f32') },
          { k: 'assign', name: 'acc', value: bin('mul', fvar('acc', 'f32'), fvar('t', 'f32')) },
        ]),
        { k: 'store', buf: 2, index: j, value: fvar('acc', 'f32') },
      ]),
    ];
    const x = Array.from({ length: 24 }, (_, i) => i + 1);
    const [, , out] = run(backend, params, body, { 0: x, 1: [2, 3, 0.5] });
    expect(out).toEqual(Array.from({ length: 8 }, (_, c) => (x[c]! + x[8 + c]! + x[16 + c]!) * 3));
  });
});

describe('loops with bounds computed at run time', () => {
  const X = Array.from({ length: 40 }, (_, i) => Math.fround(Math.sin(i * 1.7) * (i + 1)));
  const bounds: Stmt[] = [
    { k: 'let', name: 'start', t: 'i32', init: load(1, int(0), 'i32') },
    { k: 'let', name: 'end', t: 'i32', init: load(1, int(1), 'i32') },
  ];

  it.each(backends)('max over a range on %s', (_label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'f32', size: 40, access: 'read' },
      { buffer: 1, t: 'i32', size: 2, access: 'read' },
      { buffer: 2, t: 'f32', size: 1, access: 'write' },
    ];
    const body: Stmt[] = [
      ...bounds,
      { k: 'let', name: 'acc', t: 'f32', init: num(-Infinity, 'f32') },
      loop('k', ivar('start'), ivar('end'), [{ k: 'assign', name: 'acc', value: bin('max', fvar('acc', 'f32'), load(0, ivar('k'), 'f32')) }]),
      { k: 'store', buf: 2, index: int(0), value: fvar('acc', 'f32') },
    ];
    for (const [start, end] of [[3, 38], [5, 9], [7, 7], [9, 4]] as const) {
      const [, , [max]] = run(backend, params, body, { 0: X, 1: [start, end] });
      expect(max, `range [${start}, ${end})`).toBe(Math.max(-Infinity, ...X.slice(start, end)));
    }
  });

  it.each(backends)('column sums over a range of columns on %s', (label, backend) => {
    const params: KernelParam[] = [
      { buffer: 0, t: 'f32', size: 40, access: 'read' },
      { buffer: 1, t: 'i32', size: 2, access: 'read' },
      { buffer: 2, t: 'f32', size: 10, access: 'write' },
    ];
    const j = ivar('j');
    const body: Stmt[] = [
      ...bounds,
      loop('j', ivar('start'), ivar('end'), [
        { k: 'let', name: 'acc', t: 'f32', init: num(0, 'f32') },
        loop('r', 0, 4, [{ k: 'assign', name: 'acc', value: bin('add', fvar('acc', 'f32'), load(0, bin('add', bin('mul', ivar('r'), int(10)), j), 'f32')) }]),
        { k: 'store', buf: 2, index: j, value: fvar('acc', 'f32') },
      ]),
    ];
    // The JS backend adds in float64 and rounds at the store; wasm adds in float32.
    const round = label === 'js' ? (v: number) => v : Math.fround;
    const column = (c: number) => Math.fround([0, 1, 2, 3].reduce((a, r) => round(a + X[r * 10 + c]!), 0));
    for (const [start, end] of [[1, 8], [3, 5], [6, 6]] as const) {
      const [, , sums] = run(backend, params, body, { 0: X, 1: [start, end] });
      expect(sums, `columns [${start}, ${end})`).toEqual(Array.from({ length: 10 }, (_, c) => (c >= start && c < end ? column(c) : 0)));
    }
  });
});
