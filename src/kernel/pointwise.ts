// Lowering of elementwise ops to kernel IR expressions. The table is typed
// over the elementwise op names, so an elementwise op without a lowering
// fails to compile. Each entry follows its op's reference semantics in
// src/ops/elementwise.ts, NaN handling included.

import type { DType } from '../graph/dtype.ts';
import type { OpAttrs } from '../ops/attrs.ts';
import type { Expr, ScalarType } from './ir.ts';
import { bin, cast, num, select, un } from './ir.ts';

export function scalarType(dtype: DType): ScalarType {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'float64':
      return 'f64';
    default:
      return 'i32';
  }
}

export type PointwiseName =
  | 'neg' | 'abs' | 'sign' | 'exp' | 'log' | 'sqrt' | 'square' | 'reciprocal' | 'tanh' | 'sigmoid'
  | 'relu' | 'leakyRelu' | 'elu' | 'softplus' | 'stopGradient' | 'cast'
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'greater' | 'greaterEqual' | 'less' | 'equal' | 'where' | 'prelu' | 'leakyReluGrad';

type Lowering<K extends PointwiseName> = (args: readonly Expr[], attrs: OpAttrs[K], out: ScalarType) => Expr;

const c = (v: number, like: Expr) => num(v, like.t);

/** `x > 0 ? x : alpha * x`, NaN kept, and 0 rather than NaN for alpha 0 at -Infinity. */
function leaky(x: Expr, alpha: number): Expr {
  return alpha === 0 ? select(bin('le', x, 0), c(0, x), x) : select(bin('gt', x, 0), x, bin('mul', x, alpha));
}

export const pointwise: { [K in PointwiseName]: Lowering<K> } = {
  neg: ([x]) => un('neg', x!),
  abs: ([x]) => un('abs', x!),
  sign: ([x]) => un('sign', x!),
  exp: ([x]) => un('exp', x!),
  log: ([x]) => un('log', x!),
  sqrt: ([x]) => un('sqrt', x!),
  square: ([x]) => bin('mul', x!, x!),
  reciprocal: ([x]) => bin('div', c(1, x!), x!),
  tanh: ([x]) => un('tanh', x!),
  // 1 / (1 + exp(-x)) is 0 for large negative x (exp overflows to Infinity) and 1 for large positive x.
  sigmoid: ([x]) => bin('div', c(1, x!), bin('add', c(1, x!), un('exp', un('neg', x!)))),
  relu: ([x]) => leaky(x!, 0),
  leakyRelu: ([x], { alpha }) => leaky(x!, alpha),
  elu: ([x], { alpha }) => select(bin('gt', x!, 0), x!, bin('mul', un('expm1', x!), alpha)),
  softplus: ([x]) => bin('add', bin('max', x!, 0), un('log1p', un('exp', un('neg', un('abs', x!))))),
  stopGradient: ([x]) => x!,
  cast: ([x], { dtype }, out) => (dtype === 'bool' ? bin('ne', x!, 0) : x!.t !== 'i32' && out === 'i32' ? castToInteger(x!) : cast(x!, out)),
  add: ([a, b]) => bin('add', a!, b!),
  sub: ([a, b]) => bin('sub', a!, b!),
  mul: ([a, b]) => bin('mul', a!, b!),
  div: ([a, b]) => bin('div', a!, b!),
  pow: ([a, b]) => bin('pow', a!, b!),
  maximum: ([a, b]) => bin('max', a!, b!),
  minimum: ([a, b]) => bin('min', a!, b!),
  greater: ([a, b]) => bin('gt', a!, b!),
  greaterEqual: ([a, b]) => bin('ge', a!, b!),
  less: ([a, b]) => bin('lt', a!, b!),
  equal: ([a, b]) => bin('eq', a!, b!),
  where: ([cond, a, b]) => select(cond!, a!, b!),
  // As leakyRelu, per element: a channel with alpha 0 gives +0 (not -0 or NaN at -Infinity), and NaN stays NaN.
  prelu: ([x, alpha]) =>
    select(bin('gt', x!, 0), x!, select(bin('eq', alpha!, 0), select(bin('eq', x!, x!), c(0, x!), x!), bin('mul', alpha!, x!))),
  // dy where x > 0, alpha * dy where x <= 0, NaN where x is NaN (neither comparison holds).
  leakyReluGrad: ([x, dy], { alpha }) =>
    select(bin('gt', x!, 0), dy!, select(bin('le', x!, 0), alpha === 0 ? c(0, dy!) : bin('mul', dy!, alpha), c(NaN, dy!))),
};

/** float to int32 truncates toward zero; NaN and values outside the int32 range give 0. */
function castToInteger(x: Expr): Expr {
  const finite = bin('and', bin('eq', x, x), bin('lt', un('abs', x), 2147483648));
  const truncated = select(bin('lt', x, 0), un('neg', un('floor', un('neg', x))), un('floor', x));
  return select(finite, cast(truncated, 'i32'), num(0, 'i32'));
}

export function isPointwise(op: string): op is PointwiseName {
  return Object.hasOwn(pointwise, op);
}
