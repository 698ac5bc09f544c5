// Lowering of convolution to direct loop nests, NHWC and HWIO. Pooling
// (pool.ts) shares the window helpers exported here.
//
// Every op here is written as a gather: one loop nest over the elements of
// its output, each element summed in a register and finished by
// ctx.emit, so a fused epilogue (bias, activation, residual) runs before the
// single store and an inlined producer (the activation's gradient on dy)
// is applied where dy is loaded. Window geometry comes from the same
// window2D that the reference ops use.
//
// For conv2d, input row ih = oh * stride - padTop + kh * dilation. The
// backward ops invert that map: an output row oh reaches input row ih
// through tap kh when t = ih + padTop - kh * dilation is a non-negative
// multiple of the stride, with oh = t / stride < OH.
//
// The three convolutions also describe themselves as contractions (see
// Contraction in ir.ts), so a backend can tile them as matrix products:
//
//   conv2d               outer (n, oh)   i = ow   j = o   reduce (kh, kw, c)
//   conv2dBackpropInput  outer (n, ih)   i = iw   j = c   reduce (kh, kw, o)
//   conv2dBackpropFilter outer (kh, kw)  i = c    j = o   reduce (n, oh, ow)
//
// The factor that reads through the window is 0 at taps the loops skip
// (padding, or rows between strides), so the sums agree with the bodies
// except where the other factor is infinite or NaN at such a tap: 0 times
// it is NaN, where the body adds nothing.

import type { Node } from '../graph/node.ts';
import { window2D } from '../ops/window.ts';
import type { Padding2D } from '../ops/attrs.ts';
import type { AnchorContext } from './context.ts';
import type { Expr, LoopRange, Stmt } from './ir.ts';
import { bin, fvar, iadd, idiv, imod, imul, int, ivar, loop, num, select } from './ir.ts';
import { Point } from './point.ts';
import type { AnchorLowering } from './anchors.ts';

type ConvName = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter';

export interface Geometry {
  strides: readonly [number, number];
  dilations: readonly [number, number];
  kernel: readonly [number, number];
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
  inHeight: number;
  inWidth: number;
}

export function geometry(inShape: readonly number[], kernel: readonly [number, number], strides: readonly [number, number], dilations: readonly [number, number], padding: Padding2D): Geometry {
  const w = window2D(inShape[1]!, inShape[2]!, kernel, strides, dilations, padding);
  return { strides, dilations, kernel, padTop: w.padTop, padLeft: w.padLeft, outHeight: w.outHeight, outWidth: w.outWidth, inHeight: inShape[1]!, inWidth: inShape[2]! };
}

/** Loops over a shape with named variables; the body receives them. */
export function loops(ctx: AnchorContext, extents: readonly number[], prefix: string, body: (vars: Expr[]) => Stmt[]): Stmt[] {
  const names = extents.map(() => ctx.fresh(prefix));
  let stmts = body(names.map(ivar));
  for (let d = extents.length - 1; d >= 0; d--) stmts = [loop(names[d]!, 0, extents[d]!, stmts)];
  return stmts;
}

export const inRange = (e: Expr, size: number): Expr => bin('and', bin('ge', e, int(0)), bin('lt', e, int(size)));

/** Forward map: input coordinate of output position `o` at tap `k` along one axis. */
export function forward(o: Expr, k: Expr, stride: number, dilation: number, pad: number): Expr {
  return iadd(imul(o, stride), imul(k, dilation), int(-pad));
}

/**
 * Backward map along one axis: the statements run `body(o)` for the output
 * position o that reaches input position `i` through tap `k`, if there is one.
 */
export function reaching(ctx: AnchorContext, i: Expr, k: Expr, stride: number, dilation: number, pad: number, outSize: number, body: (o: Expr) => Stmt[]): Stmt[] {
  const t = ctx.fresh('t');
  const o = ctx.fresh('o');
  const tVar = ivar(t);
  const offset = iadd(i, int(pad), imul(k, -dilation));
  const aligned = stride === 1 ? bin('ge', tVar, int(0)) : bin('and', bin('ge', tVar, int(0)), bin('eq', imod(tVar, stride), int(0)));
  return [
    { k: 'let', name: t, t: 'i32', init: offset },
    {
      k: 'if',
      cond: aligned,
      then: [{ k: 'let', name: o, t: 'i32', init: idiv(tVar, stride) }, { k: 'if', cond: bin('lt', ivar(o), int(outSize)), then: body(ivar(o)), else: [] }],
      else: [],
    },
  ];
}

/** acc = 0; body adds to it; then emit(acc). */
export function accumulate(ctx: AnchorContext, point: Point, body: (add: (e: Expr) => Stmt) => Stmt[], finish: (acc: Expr) => Expr = (a) => a): Stmt[] {
  return accumulation(ctx, point, body, finish).stmts;
}

/** Builds accumulate's statements, and returns the accumulator's name and the epilogue apart too. */
function accumulation(ctx: AnchorContext, point: Point, body: (add: (e: Expr) => Stmt) => Stmt[], finish: (acc: Expr) => Expr = (a) => a): { stmts: Stmt[]; acc: string; epilogue: Stmt[] } {
  const acc = ctx.fresh('acc');
  const add = (e: Expr): Stmt => ({ k: 'assign', name: acc, value: bin('add', fvar(acc, ctx.t), e) });
  const inner = body(add);
  const epilogue = ctx.emit(point, finish(fvar(acc, ctx.t)));
  return { stmts: [{ k: 'let', name: acc, t: ctx.t, init: num(0, ctx.t) }, ...inner, ...epilogue], acc, epilogue };
}

/** Returns the name of a loop variable made by `loops`. */
function nameOf(e: Expr): string {
  if (e.k !== 'var') throw new Error(`internal: expected a loop variable, got a ${e.k} expression`);
  return e.name;
}

function ranges(vars: readonly Expr[], sizes: readonly number[]): LoopRange[] {
  return vars.map((v, d) => ({ name: nameOf(v), size: sizes[d]! }));
}

/**
 * Input `index` at (n, h, w, c) where `valid` holds, else 0. The coordinates
 * are clamped into the input, so the load stays in bounds where it is not used.
 */
function windowed(ctx: AnchorContext, index: number, n: Expr, h: Expr, w: Expr, c: Expr, valid: Expr): Expr {
  const shape = ctx.inputShape(index);
  const clamp = (e: Expr, size: number) => bin('min', bin('max', e, int(0)), int(size - 1));
  return select(valid, ctx.input(index, Point.of(shape, [n, clamp(h, shape[1]!), clamp(w, shape[2]!), c])), num(0, ctx.inputType(index)));
}

/**
 * Returns the output position reached from input position i through tap k,
 * as `reaching` finds it, with the condition that it exists. idiv and imod see the
 * offset clamped to 0, as their operands must not be negative.
 */
function reached(i: Expr, k: Expr, stride: number, dilation: number, pad: number, outSize: number): { position: Expr; valid: Expr } {
  const offset = iadd(i, int(pad), imul(k, -dilation));
  const nonNegative = bin('max', offset, int(0));
  const position = idiv(nonNegative, stride);
  let valid = bin('and', bin('ge', offset, int(0)), bin('lt', position, int(outSize)));
  if (stride !== 1) valid = bin('and', valid, bin('eq', imod(nonNegative, stride), int(0)));
  return { position, valid };
}

function conv2d(ctx: AnchorContext<Node<'conv2d'>>): Stmt[] {
  const x = ctx.inputShape(0);
  const w = ctx.inputShape(1);
  const { strides, dilations, padding } = ctx.node.attrs;
  const g = geometry(x, [w[0]!, w[1]!], strides, dilations, padding);
  const [kh, kw, channels] = [w[0]!, w[1]!, w[2]!];
  return loops(ctx, ctx.node.shape, 'i', ([n, oh, ow, o]) => {
    let taps: Expr[] = [];
    const built = accumulation(ctx, Point.of(ctx.node.shape, [n!, oh!, ow!, o!]), (add) =>
      loops(ctx, [kh], 'kh', ([a]) => {
        const ih = ctx.fresh('ih');
        return [
          { k: 'let', name: ih, t: 'i32', init: forward(oh!, a!, g.strides[0], g.dilations[0], g.padTop) },
          {
            k: 'if', cond: inRange(ivar(ih), g.inHeight), else: [], then: loops(ctx, [kw], 'kw', ([b]) => {
              const iw = ctx.fresh('iw');
              return [
                { k: 'let', name: iw, t: 'i32', init: forward(ow!, b!, g.strides[1], g.dilations[1], g.padLeft) },
                {
                  k: 'if', cond: inRange(ivar(iw), g.inWidth), else: [], then: loops(ctx, [channels], 'c', ([c]) => {
                    taps = [a!, b!, c!];
                    return [add(bin('mul', ctx.input(0, Point.of(x, [n!, ivar(ih), ivar(iw), c!])), ctx.input(1, Point.of(w, [a!, b!, c!, o!]))))];
                  }),
                },
              ];
            }),
          },
        ];
      }));
    if (taps.length === 0) return built.stmts;
    const [a, b, c] = taps as [Expr, Expr, Expr];
    const ih = forward(oh!, a, g.strides[0], g.dilations[0], g.padTop);
    const iw = forward(ow!, b, g.strides[1], g.dilations[1], g.padLeft);
    const [outN, outH, outW, outC] = ctx.node.shape as [number, number, number, number];
    ctx.contraction({
      outer: ranges([n!, oh!], [outN, outH]),
      i: { name: nameOf(ow!), size: outW },
      j: { name: nameOf(o!), size: outC },
      reduce: ranges(taps, [kh, kw, channels]),
      a: windowed(ctx, 0, n!, ih, iw, c, bin('and', inRange(ih, g.inHeight), inRange(iw, g.inWidth))),
      b: ctx.input(1, Point.of(w, [a, b, c, o!])),
      acc: built.acc,
      t: ctx.t,
      epilogue: built.epilogue,
    });
    return built.stmts;
  });
}

function conv2dBackpropInput(ctx: AnchorContext<Node<'conv2dBackpropInput'>>): Stmt[] {
  const dy = ctx.inputShape(0);
  const w = ctx.inputShape(1);
  const { strides, dilations, padding, inputShape } = ctx.node.attrs;
  const g = geometry(inputShape, [w[0]!, w[1]!], strides, dilations, padding);
  const outChannels = w[3]!;
  return loops(ctx, ctx.node.shape, 'i', ([n, ih, iw, c]) => {
    let taps: Expr[] = [];
    const built = accumulation(ctx, Point.of(ctx.node.shape, [n!, ih!, iw!, c!]), (add) =>
      loops(ctx, [w[0]!], 'kh', ([a]) =>
        reaching(ctx, ih!, a!, g.strides[0], g.dilations[0], g.padTop, g.outHeight, (oh) =>
          loops(ctx, [w[1]!], 'kw', ([b]) =>
            reaching(ctx, iw!, b!, g.strides[1], g.dilations[1], g.padLeft, g.outWidth, (ow) =>
              loops(ctx, [outChannels], 'o', ([o]) => {
                taps = [a!, b!, o!];
                return [add(bin('mul', ctx.input(0, Point.of(dy, [n!, oh, ow, o!])), ctx.input(1, Point.of(w, [a!, b!, c!, o!]))))];
              }))))));
    if (taps.length === 0) return built.stmts;
    const [a, b, o] = taps as [Expr, Expr, Expr];
    const rows = reached(ih!, a, g.strides[0], g.dilations[0], g.padTop, g.outHeight);
    const columns = reached(iw!, b, g.strides[1], g.dilations[1], g.padLeft, g.outWidth);
    const [inN, inH, inW, inC] = ctx.node.shape as [number, number, number, number];
    ctx.contraction({
      outer: ranges([n!, ih!], [inN, inH]),
      i: { name: nameOf(iw!), size: inW },
      j: { name: nameOf(c!), size: inC },
      reduce: ranges(taps, [w[0]!, w[1]!, outChannels]),
      a: windowed(ctx, 0, n!, rows.position, columns.position, o, bin('and', rows.valid, columns.valid)),
      b: ctx.input(1, Point.of(w, [a, b, c!, o])),
      acc: built.acc,
      t: ctx.t,
      epilogue: built.epilogue,
    });
    return built.stmts;
  });
}

function conv2dBackpropFilter(ctx: AnchorContext<Node<'conv2dBackpropFilter'>>): Stmt[] {
  const x = ctx.inputShape(0);
  const dy = ctx.inputShape(1);
  const { strides, dilations, padding, filterShape } = ctx.node.attrs;
  const g = geometry(x, [filterShape[0]!, filterShape[1]!], strides, dilations, padding);
  return loops(ctx, ctx.node.shape, 'f', ([a, b, c, o]) => {
    let positions: Expr[] = [];
    const built = accumulation(ctx, Point.of(ctx.node.shape, [a!, b!, c!, o!]), (add) =>
      loops(ctx, [dy[0]!, dy[1]!], 'j', ([n, oh]) => {
        const ih = ctx.fresh('ih');
        return [
          { k: 'let', name: ih, t: 'i32', init: forward(oh!, a!, g.strides[0], g.dilations[0], g.padTop) },
          {
            k: 'if', cond: inRange(ivar(ih), g.inHeight), else: [], then: loops(ctx, [dy[2]!], 'ow', ([ow]) => {
              const iw = ctx.fresh('iw');
              positions = [n!, oh!, ow!];
              return [
                { k: 'let', name: iw, t: 'i32', init: forward(ow!, b!, g.strides[1], g.dilations[1], g.padLeft) },
                {
                  k: 'if', cond: inRange(ivar(iw), g.inWidth), else: [], then: [
                    add(bin('mul', ctx.input(0, Point.of(x, [n!, ivar(ih), ivar(iw), c!])), ctx.input(1, Point.of(dy, [n!, oh!, ow!, o!])))),
                  ],
                },
              ];
            }),
          },
        ];
      }));
    if (positions.length === 0) return built.stmts;
    const [n, oh, ow] = positions as [Expr, Expr, Expr];
    const ih = forward(oh, a!, g.strides[0], g.dilations[0], g.padTop);
    const iw = forward(ow, b!, g.strides[1], g.dilations[1], g.padLeft);
    const [fh, fw, fc, fo] = ctx.node.shape as [number, number, number, number];
    ctx.contraction({
      outer: ranges([a!, b!], [fh, fw]),
      i: { name: nameOf(c!), size: fc },
      j: { name: nameOf(o!), size: fo },
      reduce: ranges(positions, [dy[0]!, dy[1]!, dy[2]!]),
      a: windowed(ctx, 0, n, ih, iw, c!, bin('and', inRange(ih, g.inHeight), inRange(iw, g.inWidth))),
      b: ctx.input(1, Point.of(dy, [n, oh, ow, o!])),
      acc: built.acc,
      t: ctx.t,
      epilogue: built.epilogue,
    });
    return built.stmts;
  });
}

export const convAnchors: { [K in ConvName]: AnchorLowering<K> } = {
  conv2d,
  conv2dBackpropInput,
  conv2dBackpropFilter,
};
