// Lowering of 2-D max and average pooling to loop nests, NHWC.
//
// Max pooling keeps the channel loop innermost. The window's coordinates
// are computed once per window, outside that loop, and the loop body is
// straight-line code over one channel, so the wasm backend's vectorizer runs
// it on 4 float32 (or 2 float64) contiguous channels at a time:
//
//   for n, oh, ow               tap coordinates as i32 lets, clamped into
//                               the input where a tap may be padding
//     for c                     the window's taps unrolled, row-major:
//       best = x at the first tap inside the input; at = its tap number
//       for each tap t:  take = best == best && !(x_t <= best) && t is inside
//                        best = take ? x_t : best;  at = take ? t : at
//
// `take` is the reference's rule written as a select, so no channel
// branches: a NaN is taken and then keeps its place, and at a tie (-0 and
// +0 included) the earlier tap stays. Tap numbers (kh * poolWidth + kw) are
// kept as floats, because the vectorizer has float vectors and masks but no
// integer vectors, and small integers are exact in both float types.
// NOTE: unrolling the taps makes a kernel grow with the pool area.
//
// maxPool2dGrad sends each window's dy to its tap `at`:
// - When the windows tile the input (stride equal to the pool size), each
//   window emits its own elements of dx, dy at `at` and 0 elsewhere.
// - Otherwise windows overlap or leave gaps. Each window adds its dy into a
//   scratch copy of dx, in the reference's window order, and one loop then
//   emits dx.
// Either way every element of dx is emitted once, so a fused epilogue (the
// activation's gradient) applies to it.

import type { Node } from '../graph/node.ts';
import { sizeOf } from '../graph/shape.ts';
import type { AnchorContext } from './context.ts';
import type { Expr, ScalarType, Stmt } from './ir.ts';
import { bin, cast, fvar, iadd, imul, int, ivar, load, loop, num, select, un } from './ir.ts';
import { Point } from './point.ts';
import type { AnchorLowering } from './anchors.ts';
import type { Geometry } from './conv.ts';
import { accumulate, forward, geometry, inRange, loops, reaching } from './conv.ts';

type PoolName = 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad';

/** A window tap along one axis, for the output position of the enclosing loops. */
interface AxisTap {
  /** Position in the window: kh or kw. */
  offset: number;
  /** Input coordinate, clamped into the input where the tap may be padding. */
  coord: Expr;
  /** The condition that the tap is inside the input; undefined where it always is. */
  inside: Expr | undefined;
}

/**
 * Returns the taps of one window axis at output position `o`, leaving out
 * those that are padding at every output position, and pushes the lets of
 * their coordinates onto `stmts`.
 */
function axisTaps(ctx: AnchorContext, stmts: Stmt[], prefix: string, o: Expr, kernel: number, stride: number, pad: number, size: number, outSize: number): AxisTap[] {
  const taps: AxisTap[] = [];
  for (let k = 0; k < kernel; k++) {
    const lowest = k - pad;
    const highest = (outSize - 1) * stride + k - pad;
    if (highest < 0 || lowest >= size) continue;
    const coord = ctx.fresh(prefix);
    stmts.push({ k: 'let', name: coord, t: 'i32', init: forward(o, int(k), stride, 1, pad) });
    if (lowest >= 0 && highest < size) {
      taps.push({ offset: k, coord: ivar(coord), inside: undefined });
      continue;
    }
    const inside = ctx.fresh('inside');
    const clamped = ctx.fresh(prefix);
    stmts.push(
      { k: 'let', name: inside, t: 'i32', init: inRange(ivar(coord), size) },
      { k: 'let', name: clamped, t: 'i32', init: bin('min', bin('max', ivar(coord), int(0)), int(size - 1)) },
    );
    taps.push({ offset: k, coord: ivar(clamped), inside: ivar(inside) });
  }
  return taps;
}

/** A tap of a pooling window. */
interface Tap {
  /** kh * poolWidth + kw. */
  id: number;
  /** Flat input index of the tap's channel 0, at clamped coordinates. */
  base: Expr;
  /** The condition that the tap is inside the input; undefined where it always is. */
  inside: Expr | undefined;
  /** Number of the tap at the clamped coordinates, an i32: `id` where the tap is inside the input. */
  clampedId: Expr;
}

interface Window {
  /** The i32 lets of the taps' coordinates, bases and clamped numbers, run once per window. */
  stmts: Stmt[];
  /** Taps that are inside the input at some output position, row-major. */
  taps: Tap[];
}

/** Builds the window of output position (n, oh, ow). Every window contains an input element (pool attributes ensure it). */
function windowAt(ctx: AnchorContext, g: Geometry, xShape: readonly number[], n: Expr, oh: Expr, ow: Expr): Window {
  const stmts: Stmt[] = [];
  const rows = axisTaps(ctx, stmts, 'ih', oh, g.kernel[0], g.strides[0], g.padTop, g.inHeight, g.outHeight);
  const columns = axisTaps(ctx, stmts, 'iw', ow, g.kernel[1], g.strides[1], g.padLeft, g.inWidth, g.outWidth);
  const rowStart = forward(oh, int(0), g.strides[0], 1, g.padTop);
  const columnStart = forward(ow, int(0), g.strides[1], 1, g.padLeft);
  const taps: Tap[] = [];
  for (const row of rows) {
    for (const column of columns) {
      const id = row.offset * g.kernel[1] + column.offset;
      const base = ctx.fresh('base');
      stmts.push({ k: 'let', name: base, t: 'i32', init: Point.of(xShape, [n, row.coord, column.coord, int(0)]).flat() });
      let inside = row.inside ?? column.inside;
      if (row.inside !== undefined && column.inside !== undefined) inside = bin('and', row.inside, column.inside);
      if (inside === undefined) {
        taps.push({ id, base: ivar(base), inside, clampedId: int(id) });
        continue;
      }
      const clampedId = ctx.fresh('tap');
      const offsets = [bin('sub', row.coord, rowStart), bin('sub', column.coord, columnStart)] as const;
      stmts.push({ k: 'let', name: clampedId, t: 'i32', init: iadd(imul(offsets[0], g.kernel[1]), offsets[1]) });
      taps.push({ id, base: ivar(base), inside, clampedId: ivar(clampedId) });
    }
  }
  return { stmts, taps };
}

/**
 * Returns the statements of the channel loop's body that find the window's
 * first maximal tap at channel c, with its value and, given `tapType`, its
 * tap number as a value of that type.
 */
function firstMax(ctx: AnchorContext, window: Window, xShape: readonly number[], c: Expr, tapType?: ScalarType): { stmts: Stmt[]; value: Expr; tap: Expr | undefined } {
  const t = ctx.inputType(0);
  const stmts: Stmt[] = [];
  const bind = (prefix: string, type: ScalarType, init: Expr): Expr => {
    const name = ctx.fresh(prefix);
    stmts.push({ k: 'let', name, t: type, init });
    return type === 'i32' ? ivar(name) : fvar(name, type);
  };
  const valueAt = (tap: Tap) => ctx.input(0, Point.flat(xShape, iadd(tap.base, c)));

  // The first tap inside the input starts the search: the first row and
  // column, clamped. Where that tap is not known in advance, it is compared
  // again, with itself, which takes nothing.
  const [first, ...rest] = window.taps as [Tap, ...Tap[]];
  let best = bind('best', t, valueAt(first));
  let tap: Expr | undefined;
  if (tapType !== undefined) tap = first.inside === undefined ? num(first.id, tapType) : cast(first.clampedId, tapType);
  const candidates = first.inside === undefined ? rest : window.taps;
  for (const candidate of candidates) {
    const value = bind('v', t, valueAt(candidate));
    let take = bin('and', bin('eq', best, best), un('not', bin('le', value, best)));
    if (candidate.inside !== undefined) take = bin('and', candidate.inside, take);
    const taken = bind('take', 'i32', take);
    best = bind('best', t, select(taken, value, best));
    if (tapType !== undefined) tap = bind('at', tapType, select(taken, num(candidate.id, tapType), tap!));
  }
  return { stmts, value: best, tap };
}

/**
 * Loops over the windows of a pool's output shape: the window's lets, the
 * flat output index of its channel 0, then a channel loop whose body
 * `body` returns.
 */
function forEachWindow(ctx: AnchorContext, g: Geometry, xShape: readonly number[], outShape: readonly number[], body: (window: Window, outBase: Expr, c: Expr) => Stmt[]): Stmt[] {
  return loops(ctx, outShape.slice(0, 3), 'i', ([n, oh, ow]) => {
    const window = windowAt(ctx, g, xShape, n!, oh!, ow!);
    const outBase = ctx.fresh('out');
    const c = ctx.fresh('c');
    return [
      ...window.stmts,
      { k: 'let', name: outBase, t: 'i32', init: Point.of(outShape, [n!, oh!, ow!, int(0)]).flat() },
      loop(c, 0, outShape[3]!, body(window, ivar(outBase), ivar(c))),
    ];
  });
}

function renameVars(e: Expr, names: ReadonlyMap<string, string>): Expr {
  switch (e.k) {
    case 'num':
      return e;
    case 'var':
      return { ...e, name: names.get(e.name) ?? e.name };
    case 'load':
      return { ...e, index: renameVars(e.index, names) };
    case 'un':
    case 'cast':
      return { ...e, a: renameVars(e.a, names) };
    case 'bin':
      return { ...e, a: renameVars(e.a, names), b: renameVars(e.b, names) };
    case 'select':
      return { ...e, cond: renameVars(e.cond, names), a: renameVars(e.a, names), b: renameVars(e.b, names) };
  }
}

/**
 * Gives the lets of emitted statements fresh names, so that one loop body
 * can emit several elements: JavaScript rejects a second `let` of a name in
 * one block.
 */
function withFreshLets(ctx: AnchorContext, stmts: readonly Stmt[]): Stmt[] {
  const names = new Map<string, string>();
  return stmts.map((s): Stmt => {
    switch (s.k) {
      case 'let': {
        const init = renameVars(s.init, names);
        const name = ctx.fresh(`${s.name}_`);
        names.set(s.name, name);
        return { ...s, name, init };
      }
      case 'store':
        return { ...s, index: renameVars(s.index, names), value: renameVars(s.value, names) };
      default:
        throw new Error(`internal: an emitted element contains a ${s.k} statement`);
    }
  });
}

function maxPool2d(ctx: AnchorContext<Node<'maxPool2d'>>): Stmt[] {
  const x = ctx.inputShape(0);
  const { poolSize, strides, padding } = ctx.node.attrs;
  const g = geometry(x, poolSize, strides, [1, 1], padding);
  const out = ctx.node.shape;
  return forEachWindow(ctx, g, x, out, (window, outBase, c) => {
    const found = firstMax(ctx, window, x, c);
    return [...found.stmts, ...ctx.emit(Point.flat(out, iadd(outBase, c)), found.value)];
  });
}

/**
 * maxPool2dGrad when the windows tile the input: each window emits every one
 * of its elements, dy at its first maximum and 0 elsewhere. A window cut by
 * padding emits again, for each tap in the padding, the element at its
 * clamped coordinates, which lies in the same window, with the same value.
 * Rows and columns past the last window ('valid' padding of a size the pool
 * does not divide) get 0.
 */
function maxPoolGradTiled(ctx: AnchorContext<Node<'maxPool2dGrad'>>, g: Geometry, x: readonly number[], dy: readonly number[]): Stmt[] {
  const [kh, kw] = g.kernel;
  const out = ctx.node.shape;
  const zero = num(0, ctx.t);
  const windows = forEachWindow(ctx, g, x, dy, (window, outBase, c) => {
    const found = firstMax(ctx, window, x, c, ctx.t);
    const maxTap = found.tap!;
    const gradient = ctx.fresh('g');
    const stmts: Stmt[] = [...found.stmts, { k: 'let', name: gradient, t: ctx.t, init: ctx.input(1, Point.flat(dy, iadd(outBase, c))) }];
    for (const tap of window.taps) {
      // Adding 0 turns a dy of -0 into +0, as the reference's 0 + dy does.
      const id = tap.inside === undefined ? num(tap.id, ctx.t) : cast(tap.clampedId, ctx.t);
      const value = bin('add', select(bin('eq', maxTap, id), fvar(gradient, ctx.t), zero), zero);
      stmts.push(...withFreshLets(ctx, ctx.emit(Point.flat(out, iadd(tap.base, c)), value)));
    }
    return stmts;
  });

  // Elements no window reaches: rows below the last window, then columns right of it.
  const coveredRows = Math.min(g.outHeight * kh - g.padTop, g.inHeight);
  const coveredColumns = Math.min(g.outWidth * kw - g.padLeft, g.inWidth);
  const rest: Stmt[] = [];
  if (coveredRows < g.inHeight) {
    rest.push(...loops(ctx, [out[0]!, g.inHeight - coveredRows, out[2]!, out[3]!], 'r', ([n, r, iw, c]) =>
      ctx.emit(Point.of(out, [n!, iadd(r!, int(coveredRows)), iw!, c!]), zero)));
  }
  if (coveredColumns < g.inWidth) {
    rest.push(...loops(ctx, [out[0]!, coveredRows, g.inWidth - coveredColumns, out[3]!], 'r', ([n, ih, r, c]) =>
      ctx.emit(Point.of(out, [n!, ih!, iadd(r!, int(coveredColumns)), c!]), zero)));
  }
  return [...windows, ...rest];
}

/**
 * maxPool2dGrad when windows overlap or leave gaps: a scratch copy
 * of dx starts at 0 and each window, in row-major order, adds its dy at its
 * first maximum, so every element sums its windows in the reference's
 * order. A tap in the padding is never the maximum, so the element at its
 * clamped coordinates gets 0 added.
 */
function maxPoolGradScattered(ctx: AnchorContext<Node<'maxPool2dGrad'>>, g: Geometry, x: readonly number[], dy: readonly number[]): Stmt[] {
  const t = ctx.t;
  const size = sizeOf(x);
  const sums = ctx.scratch(size);
  const windows = forEachWindow(ctx, g, x, dy, (window, outBase, c) => {
    const found = firstMax(ctx, window, x, c, t);
    const maxTap = found.tap!;
    const gradient = ctx.fresh('g');
    const stmts: Stmt[] = [...found.stmts, { k: 'let', name: gradient, t, init: ctx.input(1, Point.flat(dy, iadd(outBase, c))) }];
    for (const tap of window.taps) {
      const index = iadd(tap.base, c);
      const routed = select(bin('eq', maxTap, num(tap.id, t)), fvar(gradient, t), num(0, t));
      stmts.push({ k: 'store', buf: sums, index, value: bin('add', load(sums, index, t), routed) });
    }
    return stmts;
  });
  const [cleared, emitted] = [ctx.fresh('i'), ctx.fresh('i')];
  return [
    loop(cleared, 0, size, [{ k: 'store', buf: sums, index: ivar(cleared), value: num(0, t) }]),
    ...windows,
    loop(emitted, 0, size, ctx.emit(Point.flat(ctx.node.shape, ivar(emitted)), load(sums, ivar(emitted), t))),
  ];
}

// dx[ih, iw] sums dy over the windows whose first maximal tap is (ih, iw).
function maxPool2dGrad(ctx: AnchorContext<Node<'maxPool2dGrad'>>): Stmt[] {
  const x = ctx.inputShape(0);
  const dy = ctx.inputShape(1);
  const { poolSize, strides, padding } = ctx.node.attrs;
  const g = geometry(x, poolSize, strides, [1, 1], padding);
  const tiles = strides[0] === poolSize[0] && strides[1] === poolSize[1];
  return tiles ? maxPoolGradTiled(ctx, g, x, dy) : maxPoolGradScattered(ctx, g, x, dy);
}

/** Visits the valid taps of the pooling window at (oh, ow), in row-major order. */
function windowTaps(ctx: AnchorContext, g: Geometry, oh: Expr, ow: Expr, visit: (ih: Expr, iw: Expr) => Stmt[]): Stmt[] {
  return loops(ctx, [g.kernel[0]], 'kh', ([a]) => {
    const ih = ctx.fresh('ih');
    return [
      { k: 'let', name: ih, t: 'i32', init: forward(oh, a!, g.strides[0], 1, g.padTop) },
      {
        k: 'if', cond: inRange(ivar(ih), g.inHeight), else: [], then: loops(ctx, [g.kernel[1]], 'kw', ([b]) => {
          const iw = ctx.fresh('iw');
          return [
            { k: 'let', name: iw, t: 'i32', init: forward(ow, b!, g.strides[1], 1, g.padLeft) },
            { k: 'if', cond: inRange(ivar(iw), g.inWidth), else: [], then: visit(ivar(ih), ivar(iw)) },
          ];
        }),
      },
    ];
  });
}

/** Number of valid (unpadded) taps of the window at (oh, ow). */
function validTaps(g: Geometry, oh: Expr, ow: Expr): Expr {
  const axis = (o: Expr, k: number, stride: number, pad: number, size: number) => {
    const start = iadd(imul(o, stride), int(-pad));
    const end = iadd(start, int(k));
    return bin('sub', bin('min', end, int(size)), bin('max', start, int(0)));
  };
  return bin('mul', axis(oh, g.kernel[0], g.strides[0], g.padTop, g.inHeight), axis(ow, g.kernel[1], g.strides[1], g.padLeft, g.inWidth));
}

export const poolAnchors: { [K in PoolName]: AnchorLowering<K> } = {
  maxPool2d,
  maxPool2dGrad,

  // The average over the window's valid taps: padding cells are not counted.
  avgPool2d: (ctx) => {
    const x = ctx.inputShape(0);
    const { poolSize, strides, padding } = ctx.node.attrs;
    const g = geometry(x, poolSize, strides, [1, 1], padding);
    return loops(ctx, ctx.node.shape, 'i', ([n, oh, ow, c]) =>
      accumulate(ctx, Point.of(ctx.node.shape, [n!, oh!, ow!, c!]), (add) =>
        windowTaps(ctx, g, oh!, ow!, (ih, iw) => [add(ctx.input(0, Point.of(x, [n!, ih, iw, c!])))]),
      (acc) => bin('div', acc, select(bin('gt', validTaps(g, oh!, ow!), int(0)), { k: 'cast', t: ctx.t, a: validTaps(g, oh!, ow!) }, num(1, ctx.t)))));
  },

  // dx[ih, iw] sums dy[oh, ow] / taps(oh, ow) over the windows containing (ih, iw).
  avgPool2dGrad: (ctx) => {
    const dy = ctx.inputShape(0);
    const { poolSize, strides, padding, inputShape } = ctx.node.attrs;
    const g = geometry(inputShape, poolSize, strides, [1, 1], padding);
    return loops(ctx, ctx.node.shape, 'i', ([n, ih, iw, c]) =>
      accumulate(ctx, Point.of(ctx.node.shape, [n!, ih!, iw!, c!]), (add) =>
        loops(ctx, [poolSize[0]], 'kh', ([a]) =>
          reaching(ctx, ih!, a!, strides[0], 1, g.padTop, g.outHeight, (oh) =>
            loops(ctx, [poolSize[1]], 'kw', ([b]) =>
              reaching(ctx, iw!, b!, strides[1], 1, g.padLeft, g.outWidth, (ow) => [
                add(bin('div', ctx.input(0, Point.of(dy, [n!, oh, ow, c!])), { k: 'cast', t: ctx.t, a: validTaps(g, oh, ow) })),
              ]))))));
  },
};
