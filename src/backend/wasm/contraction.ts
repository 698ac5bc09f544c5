// SIMD register tiles for contractions (matmul and the three convolutions):
// the kernel IR's `contraction` annotation states that the kernel computes
// acc = sum_p a(i, p) b(p, j) for every output element, then an epilogue. Here each tile of
// ROWS x (L * VECTORS) elements is accumulated in v128 registers, with L = 4
// float32 or 2 float64 lanes:
//
//   for p in 0 .. k:                        acc[r][v] += splat(A[i0 + r, p]) * B[p, j0 + Lv .. + L - 1]
//   then, per row r and vector v:            the epilogue on L lanes, stored once
//
// so each B vector loaded is used ROWS times and each A element L * VECTORS
// times. Every output element still adds its products one at a time in the
// order of p, so results equal the scalar code's bit for bit.
//
// B is packed into scratch memory as column panels, one per tile width:
// panel j0 contains k rows of B[p, j0 .. j0 + L * VECTORS - 1], so a tile reads
// its panel at consecutive addresses. Read in place, the rows of a
// row-major float32 B are n * 4 bytes apart: for n = 512 that is 2 KiB, so the
// rows of one panel map to 2 of the 64 sets of a 32 KiB 8-way L1 cache and
// evict each other. A B that only one row of tiles reads (m <= ROWS) is
// read in place when it can be. Rows are taken in blocks of BLOCK_ROWS, so
// each panel is reused by a block of A rows that stays in L2.
//
// A is read in place when its element addresses are affine in the loop
// variables (a row-major or transposed matrix, batch offsets). Otherwise it
// is packed into scratch memory first as [m][k] rows or [k][m] columns,
// evaluating the operand's expression. That covers an inlined producer such
// as leakyReluGrad(z, dy) and a convolution's window, which packs like
// im2col, one outer iteration at a time; B's panels are packed from its
// expression in the same way when B is not affine. Columns past the last
// multiple of L and the whole contraction when the epilogue cannot be
// vectorized use the scalar body.
//
// When threads split the kernel, each call computes a range of the first
// outer loop, or of i in multiples of ROWS. A factor that no outer loop
// changes is then packed by a prologue, a separate function that the
// calling thread runs once before the chunks, into scratch that all
// threads read. Other packing goes to the running thread's own region.

import type { Contraction, Expr, LoopRange, Stmt } from '../../kernel/ir.ts';
import { iadd, idiv, imul, int, ivar, loop } from '../../kernel/ir.ts';
import type { FunctionBuilder } from './function.ts';
import type { BufferAccess } from './scalar.ts';
import { ScalarEmitter } from './scalar.ts';
import type { Shape } from './vector.ts';
import { F32X4, F64X2, vectorizeLoop, VectorBody } from './vector.ts';

/**
 * Rows of a register tile. Of the shapes measured on a 512 x 512 matmul
 * (docs/wasm-benchmarks.md), 2 x 16 ran fastest in float32: it keeps 8
 * accumulators, 4 B vectors and a splat in v128 locals, and larger tiles
 * made V8 spill. In float64 the same 8 registers hold a 2 x 8 tile. It
 * ran faster than 4 x 4, 3 x 4, 1 x 8, 2 x 4, 3 x 8, 2 x 12, 3 x 6 and 4 x 6.
 */
export const ROWS = 2;
/** v128 columns of a register tile: lanes * VECTORS output columns. */
const VECTORS = 4;

/** The element type of a register tile, as its code uses it. */
interface TileElement {
  type: 'f32' | 'f64';
  shape: Shape;
  /** Bytes of an element, and their log2: the shift from an element index to a byte offset. */
  bytes: number;
  shift: number;
  /** The load of one A element into every lane. */
  splat: 'v128.load32_splat' | 'v128.load64_splat';
}

const TILE_ELEMENTS: Record<'f32' | 'f64', TileElement> = {
  f32: { type: 'f32', shape: F32X4, bytes: 4, shift: 2, splat: 'v128.load32_splat' },
  f64: { type: 'f64', shape: F64X2, bytes: 8, shift: 3, splat: 'v128.load64_splat' },
};
/**
 * Rows of A that pass over one B panel before the next panel is read, so
 * that BLOCK_ROWS * k * 4 bytes of float32 A (128 KiB for k = 512, twice
 * that in float64) stay in L2.
 */
const BLOCK_ROWS = 64;

/** Returns true when `e` reads any of the named variables. */
function mentions(e: Expr, names: ReadonlySet<string>): boolean {
  switch (e.k) {
    case 'num':
      return false;
    case 'var':
      return names.has(e.name);
    case 'load':
      return mentions(e.index, names);
    case 'un':
    case 'cast':
      return mentions(e.a, names);
    case 'bin':
      return mentions(e.a, names) || mentions(e.b, names);
    case 'select':
      return mentions(e.cond, names) || mentions(e.a, names) || mentions(e.b, names);
  }
}

/** Returns the constant coefficients of the named variables in an i32 expression, or undefined when it is not affine in them. */
function coefficients(e: Expr, names: ReadonlySet<string>): Map<string, number> | undefined {
  if (!mentions(e, names)) return new Map();
  if (e.k === 'var') return new Map([[e.name, 1]]);
  if (e.k !== 'bin') return undefined;
  const a = coefficients(e.a, names);
  const b = coefficients(e.b, names);
  if (a === undefined || b === undefined) return undefined;
  if (e.op === 'add' || e.op === 'sub') {
    const sum = new Map(a);
    for (const [name, c] of b) sum.set(name, (sum.get(name) ?? 0) + (e.op === 'add' ? c : -c));
    return sum;
  }
  if (e.op !== 'mul') return undefined;
  const scale = (map: Map<string, number>, factor: number) => new Map([...map].map(([name, c]) => [name, c * factor] as const));
  if (b.size === 0 && e.b.k === 'num') return scale(a, e.b.v);
  if (a.size === 0 && e.a.k === 'num') return scale(b, e.a.v);
  return undefined;
}

/** Returns the coefficient of a variable in the index of the first float load in `e`, if that index is affine in it. */
function sourceCoefficient(e: Expr, name: string): number | undefined {
  switch (e.k) {
    case 'load':
      return e.t === 'i32' ? undefined : coefficients(e.index, new Set([name]))?.get(name) ?? 0;
    case 'un':
    case 'cast':
      return sourceCoefficient(e.a, name);
    case 'bin':
      return sourceCoefficient(e.a, name) ?? sourceCoefficient(e.b, name);
    case 'select':
      return sourceCoefficient(e.a, name) ?? sourceCoefficient(e.b, name);
    default:
      return undefined;
  }
}

/** Replaces variables by expressions. */
function substitute(e: Expr, values: ReadonlyMap<string, Expr>): Expr {
  switch (e.k) {
    case 'num':
      return e;
    case 'var':
      return values.get(e.name) ?? e;
    case 'load':
      return { ...e, index: substitute(e.index, values) };
    case 'un':
    case 'cast':
      return { ...e, a: substitute(e.a, values) };
    case 'bin':
      return { ...e, a: substitute(e.a, values), b: substitute(e.b, values) };
    case 'select':
      return { ...e, cond: substitute(e.cond, values), a: substitute(e.a, values), b: substitute(e.b, values) };
  }
}

/** Builds the flat reduction index: row-major over the reduce loops. */
function flatReduceIndex(reduce: readonly LoopRange[]): Expr {
  let stride = 1;
  const terms: Expr[] = [];
  for (let d = reduce.length - 1; d >= 0; d--) {
    terms.push(imul(ivar(reduce[d]!.name), stride));
    stride *= reduce[d]!.size;
  }
  return iadd(...terms);
}

/**
 * An operand read in place: element (row, p) of A, or (p, column) of B,
 * is at buffer element offset + row * rowStride + p * reduceStride.
 */
interface Operand {
  buf: number;
  /** The element offset of (0, 0): an expression of the outer variables. */
  offset: Expr;
  rowStride: number;
  reduceStride: number;
  /** Packed into panels (panelStatements): the panel of column j0 is at j0 * rowStride, with rows as wide as the tile. */
  panels?: boolean;
}

/**
 * Returns how to read a factor in place, or undefined when it must be
 * packed. `row` is i for A and j for B; `other` is the loop the factor must
 * not depend on.
 */
function inPlace(factor: Expr, row: LoopRange, other: LoopRange, reduce: readonly LoopRange[], buffers: readonly BufferAccess[], t: 'f32' | 'f64'): Operand | undefined {
  if (factor.k !== 'load' || buffers[factor.buf]?.element !== t) return undefined;
  const names = new Set([row.name, other.name, ...reduce.map((r) => r.name)]);
  const coefficient = coefficients(factor.index, names);
  if (coefficient === undefined || (coefficient.get(other.name) ?? 0) !== 0) return undefined;
  const rowStride = coefficient.get(row.name) ?? 0;
  const reduceStride = coefficient.get(reduce[reduce.length - 1]!.name) ?? 0;
  let expected = reduceStride;
  for (let d = reduce.length - 1; d >= 0; d--) {
    if ((coefficient.get(reduce[d]!.name) ?? 0) !== expected) return undefined;
    expected *= reduce[d]!.size;
  }
  if (rowStride < 0 || reduceStride < 0) return undefined;
  const zero = new Map([...names].map((n) => [n, int(0)] as const));
  return { buf: factor.buf, offset: substitute(factor.index, zero), rowStride, reduceStride };
}

export interface ContractionTarget {
  emitter: ScalarEmitter;
  /** Byte address of scratch memory that the kernel may use. */
  scratchAddress: number;
  /**
   * Records the scratch bytes the kernel uses: `shared` bytes from
   * `scratchAddress` that all threads read, then `perThread` bytes in each
   * thread's own region.
   */
  useScratch(perThread: number, shared: number): void;
  /**
   * Set when threads share the kernel: the range of the first outer loop
   * (of i when there is none) that this call computes, and the element
   * offset of this thread's own scratch region from the end of the shared
   * bytes.
   */
  split?: {
    from: Expr;
    to: Expr;
    scratchOffset: Expr;
    /** Returns the builder of the function that the calling thread runs once before the chunks: the packing shared by all threads. */
    prologue(): FunctionBuilder;
  };
}

/** Emits a contraction as SIMD register tiles; returns false, having emitted nothing, when it does not apply. */
export function emitContraction(c: Contraction, target: ContractionTarget): boolean {
  const { emitter } = target;
  const m = c.i.size;
  const n = c.j.size;
  const k = c.reduce.reduce((p, r) => p * r.size, 1);
  if ((c.t !== 'f32' && c.t !== 'f64') || m === 0) return false;
  const tile = TILE_ELEMENTS[c.t];
  const lanes = tile.shape.lanes;
  if (n < lanes) return false;

  const epilogue = new VectorBody(emitter, tile.shape, c.j.name);
  epilogue.hostCallsPerLane = true;
  epilogue.bindings.set(c.acc, { kind: 'vector', local: -1 });
  if (!epilogue.tryPlan(c.epilogue)) return false;

  // Operands that cannot be read in place get a scratch buffer, numbered after the kernel's own.
  const buffers = [...emitter.ctx.buffers];
  const { a, b, pack } = placeOperands(c, target, buffers, k, tile);
  const split = target.split;

  // The prologue packs what all threads share. The kernel packs the rest, before its loops or per outer iteration.
  const shared = pack.filter((p) => p.shared);
  if (shared.length > 0) {
    const prologue = new ScalarEmitter(split!.prologue(), { ...emitter.ctx, buffers });
    prologue.loopHook = vectorizeLoop;
    for (const p of shared) p.emit(prologue);
  }
  const inner = new ScalarEmitter(emitter.fb, { ...emitter.ctx, buffers });
  inner.loopHook = vectorizeLoop;
  for (const p of pack.filter((q) => q.once && !q.shared)) p.emit(inner);
  const tiles = new Tiles(inner, c, tile, a, b, epilogue, k);
  nest(inner, c.outer, c.outer.length > 0 ? split : undefined, () => {
    for (const p of pack.filter((q) => !q.once)) p.emit(inner);
    tiles.emit(m, n, c.outer.length === 0 ? split : undefined);
  });
  return true;
}

/** Packing of one factor into scratch: where it runs, and its emission. */
interface Pack {
  emit: (emitter: ScalarEmitter) => void;
  /** True when no outer loop changes the factor, so one packing serves every outer iteration. */
  once: boolean;
  /** True when the split kernel's prologue packs it into scratch that all threads read. */
  shared: boolean;
}

/**
 * Decides how the tiles read each factor, in place or from scratch, and
 * lays out the scratch buffers, which are appended to `buffers`.
 */
function placeOperands(c: Contraction, target: ContractionTarget, buffers: BufferAccess[], k: number, tile: TileElement): { a: Operand; b: Operand; pack: Pack[] } {
  const m = c.i.size;
  const n = c.j.size;
  const element = tile.type;
  let a = inPlace(c.a, c.i, c.j, c.reduce, buffers, element);
  let b = inPlace(c.b, c.j, c.i, c.reduce, buffers, element);
  if (b !== undefined && b.rowStride !== 1) b = undefined;
  const packA = a === undefined;
  // B is packed into panels unless one row of tiles reads it only once.
  const packB = b === undefined || (m > ROWS && k > 0);
  const split = target.split;

  // Scratch layout. A factor that does not depend on the outer loops is
  // packed once, before them. In a split kernel that packing runs in the
  // prologue, before the threads take their chunks, into scratch that all
  // threads read. Any other packing goes to the running thread's own region.
  const outerNames = new Set(c.outer.map((o) => o.name));
  const packOnce = (factor: Expr) => !mentions(factor, outerNames);
  const aBytes = packA ? Math.ceil((m * k * tile.bytes) / 16) * 16 : 0;
  const bBytes = packB ? Math.ceil((k * n * tile.bytes) / 16) * 16 : 0;
  const sharedA = packA && split !== undefined && packOnce(c.a);
  const sharedB = packB && split !== undefined && packOnce(c.b);
  // 64-byte aligned, so that threads share no cache line with each other's regions.
  const sharedBytes = Math.ceil(((sharedA ? aBytes : 0) + (sharedB ? bBytes : 0)) / 64) * 64;
  let sharedNext = target.scratchAddress;
  let threadNext = target.scratchAddress + sharedBytes;
  // The thread's scratch offset counts 4-byte elements. Regions are 64-byte aligned, so it divides evenly for float64.
  let threadOffset: Expr = int(0);
  if (split !== undefined) threadOffset = tile.bytes === 4 ? split.scratchOffset : idiv(split.scratchOffset, tile.bytes / 4);
  /** Adds a scratch buffer of `bytes`; returns its number and the element offset of its (0, 0). */
  const place = (bytes: number, shared: boolean): { buf: number; offset: Expr } => {
    const buf = buffers.length;
    buffers.push({ address: shared ? sharedNext : threadNext, element });
    if (shared) sharedNext += bytes;
    else threadNext += bytes;
    return { buf, offset: shared ? int(0) : threadOffset };
  };
  const pack: Pack[] = [];
  if (packA) {
    const { buf, offset: scratchOffset } = place(aBytes, sharedA);
    // Packing runs along whichever of i and the last reduce loop reads consecutive source elements, so it vectorizes.
    const iMajor = sourceCoefficient(c.a, c.i.name) !== 1;
    const flat = flatReduceIndex(c.reduce);
    const i = ivar(c.i.name);
    a = iMajor ? { buf, offset: scratchOffset, rowStride: k, reduceStride: 1 } : { buf, offset: scratchOffset, rowStride: 1, reduceStride: m };
    const store: Stmt = { k: 'store', buf, index: iadd(scratchOffset, iMajor ? iadd(imul(i, k), flat) : iadd(imul(flat, m), i)), value: c.a };
    const order = iMajor ? [c.i, ...c.reduce] : [...c.reduce, c.i];
    pack.push({ emit: (e) => e.statement(nestLoops(order, [store])), once: packOnce(c.a), shared: sharedA });
  }
  if (packB) {
    const { buf, offset: scratchOffset } = place(bBytes, sharedB);
    const source = b;
    b = { buf, offset: scratchOffset, rowStride: k, reduceStride: 0, panels: true };
    const emitPack = source === undefined
      ? (e: ScalarEmitter) => e.statements(panelStatements(c, tile, buf, k, n, scratchOffset))
      : (e: ScalarEmitter) => copyPanels(e, tile, source, buf, k, n, scratchOffset);
    pack.push({ emit: emitPack, once: packOnce(c.b), shared: sharedB });
  }
  target.useScratch(threadNext - target.scratchAddress - sharedBytes, sharedBytes);
  return { a: a!, b: b!, pack };
}

/**
 * Builds the loops that pack B into column panels, one per tile width:
 * lanes * vectors columns, then one panel of the remaining whole vectors. Each panel
 * is stored as k rows of its width, and the panel of column j0 starts at
 * element j0 * k. Columns past the last multiple of the lane count are not packed.
 */
function panelStatements(c: Contraction, tile: TileElement, buf: number, k: number, n: number, offset: Expr): Stmt[] {
  const lanes = tile.shape.lanes;
  const width = lanes * VECTORS;
  const wide = n - (n % width);
  const vectorEnd = n - (n % lanes);
  const flat = flatReduceIndex(c.reduce);
  const panel = `${c.j.name}.panel`;
  const lane = `${c.j.name}.lane`;
  const stmts: Stmt[] = [];
  const packRange = (start: Expr, panelWidth: number, panelLoops: LoopRange[]) => {
    const value = substitute(c.b, new Map([[c.j.name, iadd(start, ivar(lane))]]));
    const store: Stmt = { k: 'store', buf, index: iadd(offset, imul(start, k), imul(flat, panelWidth), ivar(lane)), value };
    stmts.push(nestLoops([...panelLoops, ...c.reduce, { name: lane, size: panelWidth }], [store]));
  };
  if (wide > 0) packRange(imul(ivar(panel), width), width, [{ name: panel, size: wide / width }]);
  if (vectorEnd > wide) packRange(int(wide), vectorEnd - wide, []);
  return stmts;
}

/** Emits the packing of panelStatements for a B read in place, as v128 copies of each panel row. */
function copyPanels(emitter: ScalarEmitter, tile: TileElement, source: Operand, buf: number, k: number, n: number, offset: Expr): void {
  const fb = emitter.fb;
  const from = emitter.buffer(source.buf).address;
  const to = emitter.buffer(buf).address;
  const lanes = tile.shape.lanes;
  const width = lanes * VECTORS;
  const wide = n - (n % width);
  const vectorEnd = n - (n % lanes);
  const sourceOffset = emitter.toTemp(source.offset);
  const sourcePointer = fb.temp('i32');
  const pointer = fb.temp('i32');
  const end = fb.temp('i32');
  const column = fb.temp('i32');
  // Copies the panel of columns [column, column + lanes * vectors). `pointer` continues from one panel to the next.
  const copyPanel = (vectors: number) => {
    fb.emit(['local.get', sourceOffset], ['local.get', column], ['i32.add'], ['i32.const', tile.shift], ['i32.shl'], ['local.set', sourcePointer]);
    fb.emit(['local.get', pointer], ['i32.const', k * vectors * 16], ['i32.add'], ['local.set', end], ['loop']);
    for (let v = 0; v < vectors; v++) fb.emit(['local.get', pointer], ['local.get', sourcePointer], ['v128.load', 2, from + 16 * v], ['v128.store', 2, to + 16 * v]);
    fb.emit(['local.get', sourcePointer], ['i32.const', tile.bytes * source.reduceStride], ['i32.add'], ['local.set', sourcePointer]);
    fb.emit(['local.get', pointer], ['i32.const', 16 * vectors], ['i32.add'], ['local.tee', pointer], ['local.get', end], ['i32.ne'], ['br_if', 0], ['end']);
  };
  // The panels start at element `offset` of the scratch buffer.
  emitter.expr(offset);
  fb.emit(['i32.const', tile.shift], ['i32.shl'], ['local.set', pointer]);
  if (wide > 0) {
    fb.emit(['i32.const', 0], ['local.set', column], ['loop']);
    copyPanel(VECTORS);
    fb.emit(['local.get', column], ['i32.const', width], ['i32.add'], ['local.tee', column], ['i32.const', wide], ['i32.lt_s'], ['br_if', 0], ['end']);
  }
  if (vectorEnd > wide) {
    fb.emit(['i32.const', wide], ['local.set', column]);
    copyPanel((vectorEnd - wide) / lanes);
  }
  fb.release(sourceOffset, sourcePointer, pointer, end, column);
}

function nestLoops(ranges: readonly LoopRange[], body: Stmt[]): Stmt {
  let stmts = body;
  for (let d = ranges.length - 1; d >= 0; d--) stmts = [loop(ranges[d]!.name, 0, ranges[d]!.size, stmts)];
  return stmts[0]!;
}

/** Emits the loops around `body`; `range`, when set, bounds the first loop. */
function nest(emitter: ScalarEmitter, ranges: readonly LoopRange[], range: { from: Expr; to: Expr } | undefined, body: () => void): void {
  if (ranges.length === 0) {
    body();
    return;
  }
  const [first, ...rest] = ranges;
  emitter.loop(first!.name, range?.from ?? int(0), range?.to ?? int(first!.size), () => nest(emitter, rest, undefined, body));
}

/** Emission of the tiles of one outer iteration. */
class Tiles {
  private readonly fb;

  constructor(
    private readonly emitter: ScalarEmitter,
    private readonly c: Contraction,
    private readonly element: TileElement,
    private readonly a: Operand,
    private readonly b: Operand,
    private readonly epilogue: VectorBody,
    private readonly k: number,
  ) {
    this.fb = emitter.fb;
  }

  /**
   * Emits the tiles of rows [0, m), or of rows `range` when threads split i.
   * A range starts at a multiple of ROWS and ends at one or at m.
   */
  emit(m: number, n: number, range?: { from: Expr; to: Expr }): void {
    const fullRows = m - (m % ROWS);
    const lanes = this.element.shape.lanes;
    const width = lanes * VECTORS;
    const wide = n - (n % width);
    const vectorEnd = n - (n % lanes);
    const i0 = this.fb.local(`${this.c.i.name}.tile`, 'i32');
    const j0 = this.fb.local(`${this.c.j.name}.tile`, 'i32');
    const aOffset = this.offset(this.a);
    const bOffset = this.offset(this.b);
    const columns = (body: (vectors: number) => void) => {
      this.stepped(j0, 0, wide, width, () => body(VECTORS));
      if (vectorEnd > wide) {
        this.fb.emit(['i32.const', wide], ['local.set', j0]);
        body((vectorEnd - wide) / lanes);
      }
    };

    // Blocks of rows outermost, then column panels, then the row tiles of the block.
    // The rows of the block reuse a B panel while it is in L1 or L2, and the block's rows of A stay in L2.
    const bounds = this.rowBounds(range, fullRows);
    if (fullRows > 0) {
      const blockRows = Math.min(fullRows, BLOCK_ROWS - (BLOCK_ROWS % ROWS));
      const block = this.fb.local(`${this.c.i.name}.block`, 'i32');
      const blockEnd = this.fb.local(`${this.c.i.name}.blockEnd`, 'i32');
      this.steppedFrom(block, bounds.from, bounds.fullEnd, blockRows, () => {
        // blockEnd = min(block + blockRows, fullEnd), so that a block stays inside the range.
        this.fb.emit(['local.get', block], ['i32.const', blockRows], ['i32.add'], ['local.tee', blockEnd], ['local.get', bounds.fullEnd], ['local.get', blockEnd], ['local.get', bounds.fullEnd], ['i32.lt_s'], ['select'], ['local.set', blockEnd]);
        columns((vectors) => {
          this.fb.emit(['local.get', block], ['local.set', i0], ['loop']);
          this.tile(ROWS, vectors, i0, j0, aOffset, bOffset);
          this.fb.emit(['local.get', i0], ['i32.const', ROWS], ['i32.add'], ['local.tee', i0], ['local.get', blockEnd], ['i32.lt_s'], ['br_if', 0], ['end']);
        });
      });
    }
    if (m % ROWS !== 0) {
      // Only the range that ends at m has the partial tile.
      if (range !== undefined) this.fb.emit(['local.get', bounds.to], ['i32.const', fullRows], ['i32.gt_s'], ['if']);
      columns((vectors) => {
        this.fb.emit(['i32.const', fullRows], ['local.set', i0]);
        this.tile(m % ROWS, vectors, i0, j0, aOffset, bOffset);
      });
      if (range !== undefined) this.fb.emit(['end']);
    }
    if (n > vectorEnd) this.scalarColumns(vectorEnd, n, range);
    this.fb.release(aOffset, bOffset, bounds.from, bounds.to, bounds.fullEnd);
  }

  /** Evaluates the row range into temporaries: its start, its end, and its end clipped to the last whole tile. */
  private rowBounds(range: { from: Expr; to: Expr } | undefined, fullRows: number): { from: number; to: number; fullEnd: number } {
    const from = this.emitter.toTemp(range?.from ?? int(0));
    const to = this.emitter.toTemp(range?.to ?? int(this.c.i.size));
    const fullEnd = this.fb.temp('i32');
    this.fb.emit(['local.get', to], ['i32.const', fullRows], ['local.get', to], ['i32.const', fullRows], ['i32.lt_s'], ['select'], ['local.set', fullEnd]);
    return { from, to, fullEnd };
  }

  /** `for (local = from; local < to; local += step) body()`, with bounds in locals. */
  private steppedFrom(local: number, from: number, to: number, step: number, body: () => void): void {
    this.fb.emit(['local.get', from], ['local.set', local], ['block'], ['local.get', local], ['local.get', to], ['i32.ge_s'], ['br_if', 0], ['loop']);
    body();
    this.fb.emit(['local.get', local], ['i32.const', step], ['i32.add'], ['local.tee', local], ['local.get', to], ['i32.lt_s'], ['br_if', 0], ['end'], ['end']);
  }

  /** Evaluates an operand's element offset for this outer iteration into a temporary. */
  private offset(operand: Operand): number {
    return this.emitter.toTemp(operand.offset);
  }

  /** `for (local = from; local < to; local += step) body()`, with constant bounds. */
  private stepped(local: number, from: number, to: number, step: number, body: () => void): void {
    if (from >= to) return;
    this.fb.emit(['i32.const', from], ['local.set', local], ['loop']);
    body();
    this.fb.emit(['local.get', local], ['i32.const', step], ['i32.add'], ['local.tee', local], ['i32.const', to], ['i32.lt_s'], ['br_if', 0], ['end']);
  }

  /** Emits one register tile of `rows` x lanes * `vectors` elements at (i0, j0). */
  private tile(rows: number, vectors: number, i0: number, j0: number, aOffset: number, bOffset: number): void {
    const fb = this.fb;
    const acc = Array.from({ length: rows }, (_, r) => Array.from({ length: vectors }, (_, v) => fb.local(`${this.c.acc}.${r}.${v}`, 'v128')));
    for (const row of acc) for (const local of row) fb.emit(['v128.const', 'i32x4', 0, 0, 0, 0], ['local.set', local]);
    if (this.k > 0) this.accumulate(acc, i0, j0, aOffset, bOffset);

    const i = this.emitter.variable(this.c.i.name, 'i32');
    const j = this.emitter.variable(this.c.j.name, 'i32');
    for (let r = 0; r < rows; r++) {
      for (let v = 0; v < vectors; v++) {
        fb.emit(['local.get', i0], ['i32.const', r], ['i32.add'], ['local.set', i]);
        fb.emit(['local.get', j0], ['i32.const', this.element.shape.lanes * v], ['i32.add'], ['local.set', j]);
        this.epilogue.bindings.set(this.c.acc, { kind: 'vector', local: acc[r]![v]! });
        this.epilogue.emit(this.c.epilogue);
      }
    }
  }

  /** Emits the p loop of a tile: acc[r][v] += splat(A[i0 + r, p]) * B[p, j0 + lanes * v .. + lanes - 1]. */
  private accumulate(acc: number[][], i0: number, j0: number, aOffset: number, bOffset: number): void {
    const fb = this.fb;
    const vectors = acc[0]!.length;
    const aAccess = this.emitter.buffer(this.a.buf);
    const bAccess = this.emitter.buffer(this.b.buf);
    const { bytes, shift, splat: load, shape } = this.element;
    const aStep = bytes * this.a.reduceStride;
    const bStep = this.b.panels ? 16 * vectors : bytes * this.b.reduceStride;
    const aPointer = fb.temp('i32');
    const bPointer = fb.temp('i32');
    const end = fb.temp('i32');
    // Byte offsets from each buffer's address; the constant parts go in the memarg offsets.
    fb.emit(['local.get', aOffset], ['local.get', i0], ['i32.const', this.a.rowStride], ['i32.mul'], ['i32.add'], ['i32.const', shift], ['i32.shl'], ['local.set', aPointer]);
    fb.emit(['local.get', bOffset], ['local.get', j0], ['i32.const', this.b.rowStride], ['i32.mul'], ['i32.add'], ['i32.const', shift], ['i32.shl'], ['local.set', bPointer]);
    // The loop ends when a pointer that moves reaches its end, so no counter is needed unless neither moves.
    const counter = aStep === 0 && bStep === 0 ? fb.temp('i32') : undefined;
    const [lead, leadStep] = counter !== undefined ? [counter, 1] : bStep !== 0 ? [bPointer, bStep] : [aPointer, aStep];
    if (counter !== undefined) fb.emit(['i32.const', 0], ['local.set', counter]);
    fb.emit(['local.get', lead], ['i32.const', this.k * leadStep], ['i32.add'], ['local.set', end], ['loop']);
    const bVectors = Array.from({ length: vectors }, () => fb.temp('v128'));
    bVectors.forEach((local, v) => fb.emit(['local.get', bPointer], ['v128.load', 4, bAccess.address + 16 * v], ['local.set', local]));
    const splat = fb.temp('v128');
    acc.forEach((row, r) => {
      fb.emit(['local.get', aPointer], [load, shift, aAccess.address + bytes * r * this.a.rowStride], ['local.set', splat]);
      row.forEach((local, v) => fb.emit(['local.get', local], ['local.get', splat], ['local.get', bVectors[v]!], [`${shape.prefix}.mul`], [`${shape.prefix}.add`], ['local.set', local]));
    });
    if (aStep !== 0) fb.emit(['local.get', aPointer], ['i32.const', aStep], ['i32.add'], ['local.set', aPointer]);
    if (bStep !== 0) fb.emit(['local.get', bPointer], ['i32.const', bStep], ['i32.add'], ['local.set', bPointer]);
    if (counter !== undefined) fb.emit(['local.get', counter], ['i32.const', 1], ['i32.add'], ['local.set', counter]);
    fb.emit(['local.get', lead], ['local.get', end], ['i32.ne'], ['br_if', 0], ['end']);
    fb.release(aPointer, bPointer, end, splat, ...bVectors, ...(counter === undefined ? [] : [counter]));
  }

  /** Emits the last n % lanes columns one element at a time, as the kernel body computes them. */
  private scalarColumns(from: number, to: number, rows?: { from: Expr; to: Expr }): void {
    const c = this.c;
    const sum: Stmt = { k: 'assign', name: c.acc, value: { k: 'bin', t: c.t, op: 'add', a: { k: 'var', t: c.t, name: c.acc }, b: { k: 'bin', t: c.t, op: 'mul', a: c.a, b: c.b } } };
    const element: Stmt[] = [{ k: 'let', name: c.acc, t: c.t, init: { k: 'num', t: c.t, v: 0 } }, nestLoops(c.reduce, [sum]), ...c.epilogue];
    this.emitter.statement(loop(c.i.name, rows?.from ?? 0, rows?.to ?? c.i.size, [loop(c.j.name, from, to, element)]));
  }
}
