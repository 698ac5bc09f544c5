// Lowering of the non-elementwise ops ("anchors") to loop nests. Each
// rule reads inputs through ctx.input, so inlined producers are recomputed in
// place, and finishes each output element through ctx.emit, so a fused
// epilogue runs before the one store. The table is typed over the op names:
// an op with neither an elementwise nor an anchor lowering fails to compile.

import type { Node } from '../graph/node.ts';
import { sizeOf } from '../graph/shape.ts';
import type { OpName } from '../ops/attrs.ts';
import type { AnchorContext } from './context.ts';
import type { Expr, Stmt } from './ir.ts';
import { bin, fvar, iadd, imul, int, ivar, loop, num, select, un } from './ir.ts';
import type { PointwiseName } from './pointwise.ts';
import { Point } from './point.ts';
import { convAnchors } from './conv.ts';
import { poolAnchors } from './pool.ts';

export type AnchorName = Exclude<OpName, PointwiseName | 'input' | 'param' | 'constant' | 'reshape' | 'broadcastTo'>;

export type AnchorLowering<K extends OpName> = (ctx: AnchorContext<Node<K>>) => Stmt[];

/** Nested loops over a shape; `body` receives the loop variables. */
export function nest(ctx: AnchorContext, shape: readonly number[], body: (vars: Expr[]) => Stmt[], prefix = 'i'): Stmt[] {
  const names = shape.map(() => ctx.fresh(prefix));
  let stmts = body(names.map(ivar));
  for (let d = shape.length - 1; d >= 0; d--) stmts = [loop(names[d]!, 0, shape[d]!, stmts)];
  return stmts;
}

/** Kept elements from which a reduction over leading axes runs row by row; below it, one output at a time. */
const ROW_BY_ROW_MIN_KEPT = 8;

function reduction(ctx: AnchorContext<Node<'sum' | 'mean' | 'max' | 'min'>>, init: number, combine: (acc: Expr, x: Expr) => Expr, finish: (acc: Expr, count: number) => Expr): Stmt[] {
  const { node } = ctx;
  const inShape = ctx.inputShape(0);
  const axes = node.attrs.axes;
  const kept = inShape.map((_, d) => d).filter((d) => !axes.includes(d));
  const count = sizeOf(axes.map((a) => inShape[a]!));
  const keptSize = sizeOf(kept.map((d) => inShape[d]!));
  // Kept axes of size 1 before the reduced ones do not change the row-major layout.
  const lastReduced = Math.max(...axes);
  const leading = kept.every((d) => d > lastReduced || inShape[d] === 1);
  if (leading && count > 1 && keptSize >= ROW_BY_ROW_MIN_KEPT) return reduceRowByRow(ctx, count, keptSize, init, combine, finish);
  return nest(ctx, kept.map((d) => inShape[d]!), (outer) => {
    const acc = ctx.fresh('acc');
    const inner = nest(ctx, axes.map((a) => inShape[a]!), (reduced) => {
      const coords = inShape.map((_, d) => (axes.includes(d) ? reduced[axes.indexOf(d)]! : outer[kept.indexOf(d)]!));
      return [{ k: 'assign', name: acc, value: combine(fvar(acc, ctx.t), ctx.input(0, Point.of(inShape, coords))) }];
    }, 'r');
    const outCoords = node.shape.map((_, d) => {
      if (!node.attrs.keepDims) return outer[d]!;
      return axes.includes(d) ? int(0) : outer[kept.indexOf(d)]!;
    });
    return [{ k: 'let', name: acc, t: ctx.t, init: num(init, ctx.t) }, ...inner, ...ctx.emit(Point.of(node.shape, outCoords), finish(fvar(acc, ctx.t), count))];
  });
}

/**
 * Reduces over the leading axes of a row-major input, such as a sum over
 * the batch: the input is `count` rows of `keptSize` elements, and the
 * accumulators live in a scratch row that each input row updates in turn.
 * Every output still combines its terms in row order from `init`, as the
 * one-output-at-a-time loop does, but the inner loop reads consecutive
 * elements, so it streams through memory and runs as a SIMD loop.
 */
function reduceRowByRow(ctx: AnchorContext<Node<'sum' | 'mean' | 'max' | 'min'>>, count: number, keptSize: number, init: number, combine: (acc: Expr, x: Expr) => Expr, finish: (acc: Expr, count: number) => Expr): Stmt[] {
  const t = ctx.t;
  const inShape = ctx.inputShape(0);
  const accumulators = ctx.scratch(keptSize);
  const [cleared, row, column, emitted] = [ctx.fresh('i'), ctx.fresh('r'), ctx.fresh('i'), ctx.fresh('i')];
  const at = (index: Expr): Expr => ({ k: 'load', t, buf: accumulators, index });
  const element = iadd(imul(ivar(row), keptSize), ivar(column));
  return [
    loop(cleared, 0, keptSize, [{ k: 'store', buf: accumulators, index: ivar(cleared), value: num(init, t) }]),
    loop(row, 0, count, [
      loop(column, 0, keptSize, [{ k: 'store', buf: accumulators, index: ivar(column), value: combine(at(ivar(column)), ctx.input(0, Point.flat(inShape, element))) }]),
    ]),
    loop(emitted, 0, keptSize, ctx.emit(Point.flat(ctx.node.shape, ivar(emitted)), finish(at(ivar(emitted)), count))),
  ];
}

/** Rows along an axis: loops over every other axis, giving the lane's base coordinates. */
function lanes(ctx: AnchorContext, shape: readonly number[], axis: number, body: (at: (k: Expr) => Point) => Stmt[]): Stmt[] {
  const others = shape.map((_, d) => d).filter((d) => d !== axis);
  return nest(ctx, others.map((d) => shape[d]!), (vars) =>
    body((k) => Point.of(shape, shape.map((_, d) => (d === axis ? k : vars[others.indexOf(d)]!)))));
}

/** Statements computing the max-shifted log-sum-exp of a lane into a new variable. */
function logSumExp(ctx: AnchorContext, n: number, value: (k: Expr) => Expr): { name: string; stmts: Stmt[] } {
  const t = ctx.t;
  const max = ctx.fresh('max');
  const total = ctx.fresh('sum');
  const lse = ctx.fresh('lse');
  const k1 = ctx.fresh('k');
  const k2 = ctx.fresh('k');
  const stmts: Stmt[] = [
    { k: 'let', name: max, t, init: num(-Infinity, t) },
    loop(k1, 0, n, [{ k: 'assign', name: max, value: bin('max', fvar(max, t), value(ivar(k1))) }]),
    { k: 'let', name: total, t, init: num(0, t) },
    loop(k2, 0, n, [{ k: 'assign', name: total, value: bin('add', fvar(total, t), un('exp', bin('sub', value(ivar(k2)), fvar(max, t)))) }]),
    // A lane whose maximum is infinite (or NaN) keeps that value, as the reference does.
    { k: 'let', name: lse, t, init: select(bin('eq', un('abs', fvar(max, t)), Infinity), fvar(max, t), bin('add', fvar(max, t), un('log', fvar(total, t)))) },
  ];
  return { name: lse, stmts };
}

export const anchors: { [K in AnchorName]: AnchorLowering<K> } = {
  sum: (ctx) => reduction(ctx, 0, (a, x) => bin('add', a, x), (a) => a),
  mean: (ctx) => reduction(ctx, 0, (a, x) => bin('add', a, x), (a, n) => bin('div', a, n)),
  // NaN propagates: max and min of NaN are NaN in both backends.
  // int32 has no infinities: its max starts at -2^31 and its min at 2^31 - 1, as in the interpreter.
  max: (ctx) => reduction(ctx, ctx.t === 'i32' ? -2147483648 : -Infinity, (a, x) => bin('max', a, x), (a) => a),
  min: (ctx) => reduction(ctx, ctx.t === 'i32' ? 2147483647 : Infinity, (a, x) => bin('min', a, x), (a) => a),

  // The first maximal index; the first NaN counts as the maximum, as in the reference.
  argmax: (ctx) => {
    const inShape = ctx.inputShape(0);
    const axis = ctx.node.attrs.axis;
    const t = ctx.inputType(0);
    return nest(ctx, ctx.node.shape, (outer) => {
      const coordsAt = (k: Expr) => inShape.map((_, d) => (d === axis ? k : outer[d < axis ? d : d - 1]!));
      const best = ctx.fresh('best');
      const bestValue = ctx.fresh('bestValue');
      const k = ctx.fresh('k');
      const v = ctx.fresh('v');
      const current = fvar(bestValue, t);
      const better = bin('and', bin('eq', current, current), bin('or', bin('gt', fvar(v, t), current), bin('ne', fvar(v, t), fvar(v, t))));
      return [
        { k: 'let', name: best, t: 'i32', init: int(0) },
        { k: 'let', name: bestValue, t, init: ctx.input(0, Point.of(inShape, coordsAt(int(0)))) },
        loop(k, 1, inShape[axis]!, [
          { k: 'let', name: v, t, init: ctx.input(0, Point.of(inShape, coordsAt(ivar(k)))) },
          { k: 'if', cond: better, then: [{ k: 'assign', name: best, value: ivar(k) }, { k: 'assign', name: bestValue, value: fvar(v, t) }], else: [] },
        ]),
        ...ctx.emit(Point.of(ctx.node.shape, outer), ivar(best)),
      ];
    });
  },

  // C[i, j] = sum_p A[i, p] B[p, j] over broadcast batch axes. Unless B is
  // transposed, a row of C accumulates in a scratch row in i-p-j order, so the
  // inner loop reads B and writes the row contiguously. With B transposed,
  // each element is a dot product of two contiguous rows, kept in a register.
  matmul: (ctx) => {
    const { transposeA, transposeB } = ctx.node.attrs;
    const aShape = ctx.inputShape(0);
    const bShape = ctx.inputShape(1);
    const outShape = ctx.node.shape;
    const k = transposeA ? aShape[aShape.length - 2]! : aShape[aShape.length - 1]!;
    const n = outShape[outShape.length - 1]!;
    const rank = outShape.length;
    const batchOf = (batch: Expr[], shape: readonly number[]) => {
      const offset = batch.length - (shape.length - 2);
      return shape.slice(0, -2).map((d, b) => (d === 1 ? int(0) : batch[b + offset]!));
    };
    const aAt = (batch: Expr[], i: Expr, p: Expr) => ctx.input(0, Point.of(aShape, [...batchOf(batch, aShape), ...(transposeA ? [p, i] : [i, p])]));
    const range = (v: Expr, size: number) => ({ name: (v as { name: string }).name, size });
    const ranges = (batch: Expr[], shape: readonly number[]) => batch.map((v, d) => range(v, shape[d]!));
    const bAt = (batch: Expr[], p: Expr, j: Expr) => ctx.input(1, Point.of(bShape, [...batchOf(batch, bShape), ...(transposeB ? [j, p] : [p, j])]));

    if (transposeB) {
      return nest(ctx, outShape, (vars) => {
        const batch = vars.slice(0, rank - 2);
        const [i, j] = [vars[rank - 2]!, vars[rank - 1]!];
        const acc = ctx.fresh('acc');
        const p = ctx.fresh('p');
        const a = aAt(batch, i, ivar(p));
        const b = bAt(batch, ivar(p), j);
        const epilogue = ctx.emit(Point.of(outShape, vars), fvar(acc, ctx.t));
        ctx.contraction({ outer: ranges(batch, outShape), i: range(i, outShape[rank - 2]!), j: range(j, n), reduce: [{ name: p, size: k }], a, b, acc, t: ctx.t, epilogue });
        return [
          { k: 'let', name: acc, t: ctx.t, init: num(0, ctx.t) },
          loop(p, 0, k, [{ k: 'assign', name: acc, value: bin('add', fvar(acc, ctx.t), bin('mul', a, b)) }]),
          ...epilogue,
        ];
      });
    }

    const row = ctx.scratch(n);
    return nest(ctx, outShape.slice(0, -1), (vars) => {
      const batch = vars.slice(0, rank - 2);
      const i = vars[rank - 2]!;
      const [j0, p, a, j1, j2] = ['j', 'p', 'a', 'j', 'j'].map((prefix) => ctx.fresh(prefix)) as [string, string, string, string, string];
      const rowAt = (j: string) => ({ k: 'load', t: ctx.t, buf: row, index: ivar(j) }) as Expr;

      // The same product stated element by element, for backends that tile it instead of running this body.
      const [jc, pc, accC] = [ctx.fresh('j'), ctx.fresh('p'), ctx.fresh('acc')];
      ctx.contraction({
        outer: ranges(batch, outShape),
        i: range(i, outShape[rank - 2]!),
        j: { name: jc, size: n },
        reduce: [{ name: pc, size: k }],
        a: aAt(batch, i, ivar(pc)),
        b: bAt(batch, ivar(pc), ivar(jc)),
        acc: accC,
        t: ctx.t,
        epilogue: ctx.emit(Point.of(outShape, [...vars, ivar(jc)]), fvar(accC, ctx.t)),
      });
      return [
        loop(j0, 0, n, [{ k: 'store', buf: row, index: ivar(j0), value: num(0, ctx.t) }]),
        loop(p, 0, k, [
          { k: 'let', name: a, t: ctx.t, init: aAt(batch, i, ivar(p)) },
          loop(j1, 0, n, [{ k: 'store', buf: row, index: ivar(j1), value: bin('add', rowAt(j1), bin('mul', fvar(a, ctx.t), bAt(batch, ivar(p), ivar(j1)))) }]),
        ]),
        loop(j2, 0, n, ctx.emit(Point.of(outShape, [...vars, ivar(j2)]), rowAt(j2))),
      ];
    });
  },

  transpose: (ctx) => {
    const perm = ctx.node.attrs.perm;
    const inShape = ctx.inputShape(0);
    return nest(ctx, ctx.node.shape, (vars) => {
      const coords = inShape.map((_, d) => vars[perm.indexOf(d)]!);
      return ctx.emit(Point.of(ctx.node.shape, vars), ctx.input(0, Point.of(inShape, coords)));
    });
  },

  slice: (ctx) => {
    const begin = ctx.node.attrs.begin;
    return nest(ctx, ctx.node.shape, (vars) =>
      ctx.emit(Point.of(ctx.node.shape, vars), ctx.input(0, Point.of(ctx.inputShape(0), vars.map((v, d) => iadd(v, int(begin[d]!)))))));
  },

  concat: (ctx) => {
    const axis = ctx.node.attrs.axis;
    let offset = 0;
    const stmts: Stmt[] = [];
    ctx.node.inputs.forEach((input, i) => {
      const start = offset;
      stmts.push(...nest(ctx, input.shape, (vars) =>
        ctx.emit(Point.of(ctx.node.shape, vars.map((v, d) => (d === axis ? iadd(v, int(start)) : v))), ctx.input(i, Point.of(input.shape, vars)))));
      offset += input.shape[axis]!;
    });
    return stmts;
  },

  // Coordinates are clamped into the input before the load, so no backend reads out of bounds.
  pad: (ctx) => {
    const { paddings, value } = ctx.node.attrs;
    const inShape = ctx.inputShape(0);
    return nest(ctx, ctx.node.shape, (vars) => {
      let inside: Expr | undefined;
      const coords = vars.map((v, d) => {
        const [before] = paddings[d]!;
        if (before === 0 && paddings[d]![1] === 0) return v;
        const shifted = iadd(v, int(-before));
        const test = bin('and', bin('ge', shifted, int(0)), bin('lt', shifted, int(inShape[d]!)));
        inside = inside === undefined ? test : bin('and', inside, test);
        return bin('min', bin('max', shifted, int(0)), int(inShape[d]! - 1));
      });
      const loaded = ctx.input(0, Point.of(inShape, coords));
      return ctx.emit(Point.of(ctx.node.shape, vars), inside === undefined ? loaded : select(inside, loaded, num(value, ctx.t)));
    });
  },

  // Labels outside [0, depth) match no column and give a zero row.
  oneHot: (ctx) => {
    const rank = ctx.node.shape.length;
    return nest(ctx, ctx.node.shape, (vars) => {
      const label = ctx.input(0, Point.of(ctx.inputShape(0), vars.slice(0, rank - 1)));
      const hit = bin('eq', label, vars[rank - 1]!);
      return ctx.emit(Point.of(ctx.node.shape, vars), select(hit, num(1, ctx.t), num(0, ctx.t)));
    });
  },

  softmax: (ctx) => {
    const shape = ctx.node.shape;
    const axis = ctx.node.attrs.axis;
    return lanes(ctx, shape, axis, (at) => {
      const lse = logSumExp(ctx, shape[axis]!, (k) => ctx.input(0, at(k)));
      const k = ctx.fresh('k');
      return [...lse.stmts, loop(k, 0, shape[axis]!, ctx.emit(at(ivar(k)), un('exp', bin('sub', ctx.input(0, at(ivar(k))), fvar(lse.name, ctx.t)))))];
    });
  },

  logSoftmax: (ctx) => {
    const shape = ctx.node.shape;
    const axis = ctx.node.attrs.axis;
    return lanes(ctx, shape, axis, (at) => {
      const lse = logSumExp(ctx, shape[axis]!, (k) => ctx.input(0, at(k)));
      const k = ctx.fresh('k');
      return [...lse.stmts, loop(k, 0, shape[axis]!, ctx.emit(at(ivar(k)), bin('sub', ctx.input(0, at(ivar(k))), fvar(lse.name, ctx.t))))];
    });
  },

  // loss = lse(z) - z[label] for class indices (NaN outside [0, classes)),
  // sum_c l_c (lse(z) - z_c) for one-hot or probability labels.
  softmaxCrossEntropy: (ctx) => {
    const zShape = ctx.inputShape(0);
    const classes = zShape[zShape.length - 1]!;
    const indexLabels = ctx.inputType(1) === 'i32' && ctx.node.inputs[1]!.dtype === 'int32';
    return nest(ctx, ctx.node.shape, (row) => {
      const at = (k: Expr) => Point.of(zShape, [...row, k]);
      const lse = logSumExp(ctx, classes, (k) => ctx.input(0, at(k)));
      const lseVar = fvar(lse.name, ctx.t);
      if (indexLabels) {
        const label = ctx.fresh('label');
        const l = ivar(label);
        const valid = bin('and', bin('ge', l, int(0)), bin('lt', l, int(classes)));
        const clamped = bin('min', bin('max', l, int(0)), int(classes - 1));
        const loss = select(valid, bin('sub', lseVar, ctx.input(0, at(clamped))), num(NaN, ctx.t));
        return [...lse.stmts, { k: 'let', name: label, t: 'i32', init: ctx.input(1, Point.of(ctx.inputShape(1), row)) }, ...ctx.emit(Point.of(ctx.node.shape, row), loss)];
      }
      const loss = ctx.fresh('loss');
      const k = ctx.fresh('k');
      const label = ctx.input(1, at(ivar(k)));
      const term = select(bin('ne', label, num(0, ctx.t)), bin('mul', label, bin('sub', lseVar, ctx.input(0, at(ivar(k))))), num(0, ctx.t));
      return [
        ...lse.stmts,
        { k: 'let', name: loss, t: ctx.t, init: num(0, ctx.t) },
        loop(k, 0, classes, [{ k: 'assign', name: loss, value: bin('add', fvar(loss, ctx.t), term) }]),
        ...ctx.emit(Point.of(ctx.node.shape, row), fvar(loss, ctx.t)),
      ];
    });
  },

  meanSquaredError: (ctx) => {
    const shape = ctx.inputShape(0);
    const acc = ctx.fresh('acc');
    const inner = nest(ctx, shape, (vars) => {
      const p = Point.of(shape, vars);
      const diff = bin('sub', ctx.input(0, p), ctx.input(1, p));
      return [{ k: 'assign', name: acc, value: bin('add', fvar(acc, ctx.t), bin('mul', diff, diff)) }];
    });
    return [{ k: 'let', name: acc, t: ctx.t, init: num(0, ctx.t) }, ...inner, ...ctx.emit(Point.flat([], int(0)), bin('div', fvar(acc, ctx.t), sizeOf(shape)))];
  },

  ...convAnchors,
  ...poolAnchors,
};

