// Lowering of convolution and pooling to direct loop nests, NHWC and HWIO.
//
// Every op here is written as a gather: one loop nest over the elements of
// its output, each element summed (or maxed) in a register and finished by
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

type WindowName = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad';

interface Geometry {
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

function geometry(inShape: readonly number[], kernel: readonly [number, number], strides: readonly [number, number], dilations: readonly [number, number], padding: Padding2D): Geometry {
  const w = window2D(inShape[1]!, inShape[2]!, kernel, strides, dilations, padding);
  return { strides, dilations, kernel, padTop: w.padTop, padLeft: w.padLeft, outHeight: w.outHeight, outWidth: w.outWidth, inHeight: inShape[1]!, inWidth: inShape[2]! };
}

/** Loops over a shape with named variables; the body receives them. */
function loops(ctx: AnchorContext, extents: readonly number[], prefix: string, body: (vars: Expr[]) => Stmt[]): Stmt[] {
  const names = extents.map(() => ctx.fresh(prefix));
  let stmts = body(names.map(ivar));
  for (let d = extents.length - 1; d >= 0; d--) stmts = [loop(names[d]!, 0, extents[d]!, stmts)];
  return stmts;
}

const inRange = (e: Expr, size: number): Expr => bin('and', bin('ge', e, int(0)), bin('lt', e, int(size)));

/** Forward map: input coordinate of output position `o` at tap `k` along one axis. */
function forward(o: Expr, k: Expr, stride: number, dilation: number, pad: number): Expr {
  return iadd(imul(o, stride), imul(k, dilation), int(-pad));
}

/**
 * Backward map along one axis: the statements run `body(o)` for the output
 * position o that reaches input position `i` through tap `k`, if there is one.
 */
function reaching(ctx: AnchorContext, i: Expr, k: Expr, stride: number, dilation: number, pad: number, outSize: number, body: (o: Expr) => Stmt[]): Stmt[] {
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
function accumulate(ctx: AnchorContext, point: Point, body: (add: (e: Expr) => Stmt) => Stmt[], finish: (acc: Expr) => Expr = (a) => a): Stmt[] {
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

/**
 * Statements that find the first maximal tap of a window (a NaN counts as
 * the maximum, as in the reference), leaving its value and flat input
 * position in the returned variables.
 */
function firstMax(ctx: AnchorContext, g: Geometry, x: readonly number[], n: Expr, oh: Expr, ow: Expr, c: Expr): { stmts: Stmt[]; value: string; position: string } {
  const t = ctx.inputType(0);
  const value = ctx.fresh('best');
  const position = ctx.fresh('at');
  const v = ctx.fresh('v');
  const best = fvar(value, t);
  const stmts: Stmt[] = [
    { k: 'let', name: value, t, init: num(NaN, t) },
    { k: 'let', name: position, t: 'i32', init: int(-1) },
    ...windowTaps(ctx, g, oh, ow, (ih, iw) => {
      const take = bin('or', bin('lt', ivar(position), int(0)), bin('and', bin('eq', best, best), bin('or', bin('gt', fvar(v, t), best), bin('ne', fvar(v, t), fvar(v, t)))));
      return [
        { k: 'let', name: v, t, init: ctx.input(0, Point.of(x, [n, ih, iw, c])) },
        { k: 'if', cond: take, then: [{ k: 'assign', name: value, value: fvar(v, t) }, { k: 'assign', name: position, value: iadd(imul(ih, g.inWidth), iw) }], else: [] },
      ];
    }),
  ];
  return { stmts, value, position };
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

/**
 * maxPool2dGrad when windows tile the input without overlap (stride equal to
 * the pool size, no padding before): each window finds its first maximum
 * once and writes every one of its elements, dy at the maximum and 0
 * elsewhere. Rows and columns past the last whole window ('valid' padding of
 * a size the pool does not divide) get 0. Every element of dx is emitted
 * exactly once, as the gather form does, so the same epilogue applies.
 */
function maxPoolGradTiled(ctx: AnchorContext<Node<'maxPool2dGrad'>>, g: Geometry, x: readonly number[], dy: readonly number[]): Stmt[] {
  const [kh, kw] = g.kernel;
  const out = ctx.node.shape;
  const zero = num(0, ctx.t);
  const windows = loops(ctx, dy, 'i', ([n, oh, ow, c]) => {
    const found = firstMax(ctx, g, x, n!, oh!, ow!, c!);
    const gradient = ctx.fresh('g');
    const taps = loops(ctx, [kh], 'kh', ([a]) => {
      const ih = ctx.fresh('ih');
      return [
        { k: 'let', name: ih, t: 'i32', init: iadd(imul(oh!, kh), a!) },
        {
          k: 'if', cond: bin('lt', ivar(ih), int(g.inHeight)), else: [], then: loops(ctx, [kw], 'kw', ([b]) => {
            const iw = ctx.fresh('iw');
            const self = iadd(imul(ivar(ih), g.inWidth), ivar(iw));
            const value = select(bin('eq', ivar(found.position), self), fvar(gradient, ctx.t), zero);
            return [
              { k: 'let', name: iw, t: 'i32', init: iadd(imul(ow!, kw), b!) },
              { k: 'if', cond: bin('lt', ivar(iw), int(g.inWidth)), else: [], then: ctx.emit(Point.of(out, [n!, ivar(ih), ivar(iw), c!]), value) },
            ];
          }),
        },
      ];
    });
    return [...found.stmts, { k: 'let', name: gradient, t: ctx.t, init: ctx.input(1, Point.of(dy, [n!, oh!, ow!, c!])) }, ...taps];
  });

  // Elements no window reaches: rows below the last window, then columns right of it.
  const coveredRows = Math.min(g.outHeight * kh, g.inHeight);
  const coveredColumns = Math.min(g.outWidth * kw, g.inWidth);
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

export const convAnchors: { [K in WindowName]: AnchorLowering<K> } = {
  conv2d,
  conv2dBackpropInput,
  conv2dBackpropFilter,

  maxPool2d: (ctx) => {
    const x = ctx.inputShape(0);
    const { poolSize, strides, padding } = ctx.node.attrs;
    const g = geometry(x, poolSize, strides, [1, 1], padding);
    return loops(ctx, ctx.node.shape, 'i', ([n, oh, ow, c]) => {
      const found = firstMax(ctx, g, x, n!, oh!, ow!, c!);
      return [...found.stmts, ...ctx.emit(Point.of(ctx.node.shape, [n!, oh!, ow!, c!]), fvar(found.value, ctx.t))];
    });
  },

  // dx[ih, iw] sums dy over the windows whose first maximal tap is (ih, iw).
  maxPool2dGrad: (ctx) => {
    const x = ctx.inputShape(0);
    const dy = ctx.inputShape(1);
    const { poolSize, strides, padding } = ctx.node.attrs;
    const g = geometry(x, poolSize, strides, [1, 1], padding);
    if (strides[0] === poolSize[0] && strides[1] === poolSize[1] && g.padTop === 0 && g.padLeft === 0) return maxPoolGradTiled(ctx, g, x, dy);
    return loops(ctx, ctx.node.shape, 'i', ([n, ih, iw, c]) =>
      accumulate(ctx, Point.of(ctx.node.shape, [n!, ih!, iw!, c!]), (add) =>
        loops(ctx, [poolSize[0]], 'kh', ([a]) =>
          reaching(ctx, ih!, a!, strides[0], 1, g.padTop, g.outHeight, (oh) =>
            loops(ctx, [poolSize[1]], 'kw', ([b]) =>
              reaching(ctx, iw!, b!, strides[1], 1, g.padLeft, g.outWidth, (ow) => {
                const found = firstMax(ctx, g, x, n!, oh, ow, c!);
                const self = iadd(imul(ih!, g.inWidth), iw!);
                return [...found.stmts, { k: 'if', cond: bin('eq', ivar(found.position), self), then: [add(ctx.input(1, Point.of(dy, [n!, oh, ow, c!])))], else: [] }];
              }))))));
  },

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
