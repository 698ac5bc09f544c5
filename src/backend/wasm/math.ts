// float32 transcendental functions written in WebAssembly, since the
// instruction set has none. Each algorithm is written once against `Lanes`,
// which emits either scalar f32 instructions or their f32x4 counterparts, so
// the scalar and SIMD kernels compute bit-identical results per element.
//
// Design: the classic range reductions, with polynomial cores whose
// coefficients are computed here, at load time, by interpolating the exact
// function at Chebyshev nodes in float64 (close to the minimax polynomial).
//   exp(x)   = 2^n e^r,  n = round(x / ln 2), |r| <= ln2 / 2,
//              e^r = 1 + r + r^2 g(r); 2^n is applied as two factors so that
//              results near overflow and in the subnormal range stay exact.
//   expm1(x) = 2^n (e^r - 1) + (2^n - 1), and e^r - 1 = r + r^2 g(r) for n = 0.
//   log(x)   = e ln 2 + log m,  m in [sqrt(1/2), sqrt(2)),
//              log m = 2 atanh(s) = 2s + s^3 q(s^2),  s = (m - 1) / (m + 1).
//   log1p(x) = log(u) x / (u - 1) with u = 1 + x, which cancels the rounding of u.
//   tanh(x)  = t / (t + 2) with t = expm1(2x), x clamped to [-9, 9].
// The accuracy tests compare each against Math.* over random inputs and
// check every special value (NaN, +-Infinity, +-0, subnormals).

import type { DefinedFunction } from './encoder.ts';
import { FunctionBuilder } from './function.ts';

/** Evaluates a power series sum_k c(k) x^k until its terms stop mattering in float64. */
function series(x: number, term: (k: number) => number): number {
  let sum = 0;
  let power = 1;
  for (let k = 0; k < 40; k++) {
    const t = term(k) * power;
    sum += t;
    if (Math.abs(t) < 1e-20 * Math.abs(sum)) break;
    power *= x;
  }
  return sum;
}

/** Solves a small dense linear system by Gaussian elimination with partial pivoting. */
function solve(matrix: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const a = matrix.map((row, i) => [...row, rhs[i]!]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    for (let r = col + 1; r < n; r++) {
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= n; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!;
    for (let c = r + 1; c < n; c++) s -= a[r]![c]! * x[c]!;
    x[r] = s / a[r]![r]!;
  }
  return x;
}

/** Returns the monomial coefficients (lowest first) of the polynomial interpolating f at the Chebyshev nodes of [lo, hi]. */
export function chebyshevFit(f: (x: number) => number, lo: number, hi: number, degree: number): number[] {
  const n = degree + 1;
  const nodes = Array.from({ length: n }, (_, k) => (lo + hi) / 2 + ((hi - lo) / 2) * Math.cos(((2 * k + 1) * Math.PI) / (2 * n)));
  return solve(nodes.map((x) => Array.from({ length: n }, (_, j) => x ** j)), nodes.map(f));
}

const LN2 = Math.LN2;
/** ln 2 split so that n * LN2_HI is exact in float32 for |n| < 2^8: LN2_HI has 15 significant bits. */
const LN2_HI = Math.floor(LN2 * 2 ** 15) / 2 ** 15;
const LN2_LO = LN2 - LN2_HI;

/** g(r) = (e^r - 1 - r) / r^2 on |r| <= ln2 / 2, degree 4. */
const EXP_G = chebyshevFit((r) => series(r, (k) => 1 / factorial(k + 2)), -LN2 / 2, LN2 / 2, 4);
/** q(z) = (2 atanh(s) - 2s) / s^3 with z = s^2, for |s| <= 3 - 2 sqrt(2), degree 3. */
const LOG_Q = chebyshevFit((z) => series(z, (k) => 2 / (2 * k + 3)), 0, (3 - 2 * Math.SQRT2) ** 2, 3);

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** A value in a local: f32 or i32 in scalar code, v128 in SIMD code. */
export type Value = number;

/**
 * Emits lane-wise float32 arithmetic into a function, as scalar f32 and i32
 * instructions or as f32x4 and i32x4 ones. Every operation reads its
 * operands from locals and writes its result to a new temporary, so an
 * algorithm reads as straight-line code. `finish` releases the temporaries.
 * A mask is an i32 0 or 1 in scalar code and all-ones lanes in SIMD code.
 */
export class Lanes {
  private readonly owned: number[] = [];

  constructor(
    readonly fb: FunctionBuilder,
    readonly vector: boolean,
  ) {}

  private result(op: string, args: readonly Value[], t: 'float' | 'int', extra: (number | string)[] = []): Value {
    for (const a of args) this.fb.emit(['local.get', a]);
    for (const e of extra) this.fb.emit(typeof e === 'number' ? ['i32.const', e] : [e]);
    this.fb.emit([op]);
    const scalarType = t === 'float' ? 'f32' : 'i32';
    const r = this.fb.temp(this.vector ? 'v128' : scalarType);
    this.fb.emit(['local.set', r]);
    this.owned.push(r);
    return r;
  }

  private float(op: string, ...args: Value[]): Value {
    return this.result(this.vector ? `f32x4.${op}` : `f32.${op}`, args, 'float');
  }

  private int(op: string, ...args: Value[]): Value {
    return this.result(this.vector ? `i32x4.${op}` : `i32.${op}`, args, 'int');
  }

  f(v: number): Value {
    const r = this.fb.temp(this.vector ? 'v128' : 'f32');
    this.fb.emit(this.vector ? ['v128.const', 'f32x4', v, v, v, v] : ['f32.const', v], ['local.set', r]);
    this.owned.push(r);
    return r;
  }

  i(v: number): Value {
    const r = this.fb.temp(this.vector ? 'v128' : 'i32');
    this.fb.emit(this.vector ? ['v128.const', 'i32x4', v, v, v, v] : ['i32.const', v], ['local.set', r]);
    this.owned.push(r);
    return r;
  }

  add(a: Value, b: Value): Value { return this.float('add', a, b); }
  sub(a: Value, b: Value): Value { return this.float('sub', a, b); }
  mul(a: Value, b: Value): Value { return this.float('mul', a, b); }
  div(a: Value, b: Value): Value { return this.float('div', a, b); }
  min(a: Value, b: Value): Value { return this.float('min', a, b); }
  max(a: Value, b: Value): Value { return this.float('max', a, b); }
  nearest(a: Value): Value { return this.float('nearest', a); }
  lt(a: Value, b: Value): Value { return this.result(this.vector ? 'f32x4.lt' : 'f32.lt', [a, b], 'int'); }
  gt(a: Value, b: Value): Value { return this.result(this.vector ? 'f32x4.gt' : 'f32.gt', [a, b], 'int'); }
  ge(a: Value, b: Value): Value { return this.result(this.vector ? 'f32x4.ge' : 'f32.ge', [a, b], 'int'); }
  eq(a: Value, b: Value): Value { return this.result(this.vector ? 'f32x4.eq' : 'f32.eq', [a, b], 'int'); }

  /** `a` where the mask holds, else `b`; both are computed. */
  select(mask: Value, a: Value, b: Value): Value {
    const t = this.vector ? 'v128' : this.fb.typeOf(a);
    this.fb.emit(['local.get', a], ['local.get', b], ['local.get', mask], [this.vector ? 'v128.bitselect' : 'select']);
    const r = this.fb.temp(t);
    this.fb.emit(['local.set', r]);
    this.owned.push(r);
    return r;
  }

  /** Float to int32, toward zero; callers keep the value in range. */
  toInt(a: Value): Value { return this.result(this.vector ? 'i32x4.trunc_sat_f32x4_s' : 'i32.trunc_sat_f32_s', [a], 'int'); }
  toFloat(a: Value): Value { return this.result(this.vector ? 'f32x4.convert_i32x4_s' : 'f32.convert_i32_s', [a], 'float'); }
  /** The bits of a float as an int32; a no-op in SIMD code, where both are v128. */
  bits(a: Value): Value { return this.vector ? a : this.result('i32.reinterpret_f32', [a], 'int'); }
  fromBits(a: Value): Value { return this.vector ? a : this.result('f32.reinterpret_i32', [a], 'float'); }
  iadd(a: Value, b: Value): Value { return this.int('add', a, b); }
  isub(a: Value, b: Value): Value { return this.int('sub', a, b); }
  iand(a: Value, b: Value): Value { return this.vector ? this.result('v128.and', [a, b], 'int') : this.int('and', a, b); }
  ior(a: Value, b: Value): Value { return this.vector ? this.result('v128.or', [a, b], 'int') : this.int('or', a, b); }
  shl(a: Value, k: number): Value { return this.result(this.vector ? 'i32x4.shl' : 'i32.shl', [a], 'int', [k]); }
  shr(a: Value, k: number): Value { return this.result(this.vector ? 'i32x4.shr_s' : 'i32.shr_s', [a], 'int', [k]); }

  /** Horner evaluation of sum_k c[k] x^k. */
  poly(x: Value, coefficients: readonly number[]): Value {
    let acc = this.f(coefficients[coefficients.length - 1]!);
    for (let k = coefficients.length - 2; k >= 0; k--) acc = this.add(this.mul(acc, x), this.f(coefficients[k]!));
    return acc;
  }

  /** Releases every temporary but `keep`. */
  finish(keep: Value): void {
    this.fb.release(...this.owned.filter((v) => v !== keep));
    this.owned.length = 0;
  }
}

/** 2^n for an integer float n in [-159, 128], as two float factors that are each normal. */
function powerOfTwo(l: Lanes, n: Value): [Value, Value] {
  const ni = l.toInt(n);
  const half = l.shr(ni, 1);
  const rest = l.isub(ni, half);
  const bias = l.i(127);
  return [l.fromBits(l.shl(l.iadd(half, bias), 23)), l.fromBits(l.shl(l.iadd(rest, bias), 23))];
}

/** Splits x into n and r with x = n ln 2 + r. */
function reduce(l: Lanes, x: Value): { n: Value; r: Value } {
  const n = l.nearest(l.mul(x, l.f(Math.LOG2E)));
  const r = l.sub(l.sub(x, l.mul(n, l.f(LN2_HI))), l.mul(n, l.f(LN2_LO)));
  return { n, r };
}

/** Returns r + r^2 g(r) = e^r - 1. */
function expm1Core(l: Lanes, r: Value): Value {
  return l.add(r, l.mul(r, l.mul(r, l.poly(r, EXP_G))));
}

export function emitExp(l: Lanes, x: Value): Value {
  // exp(-110) is below half the smallest subnormal and exp(89) overflows, so clamping changes no result; NaN stays NaN.
  const clamped = l.min(l.max(x, l.f(-110)), l.f(89));
  const { n, r } = reduce(l, clamped);
  const p = l.add(expm1Core(l, r), l.f(1));
  const [s1, s2] = powerOfTwo(l, n);
  return l.mul(l.mul(p, s1), s2);
}

export function emitExpm1(l: Lanes, x: Value): Value {
  // Below -20, expm1 rounds to -1 in float32.
  const clamped = l.min(l.max(x, l.f(-20)), l.f(89));
  const { n, r } = reduce(l, clamped);
  const em1 = expm1Core(l, r);
  const [s1, s2] = powerOfTwo(l, n);
  const scale = l.mul(s1, s2);
  const small = l.add(l.mul(em1, scale), l.sub(scale, l.f(1)));
  // For n > 24, 2^n - 1 is not exact and e^x - 1 rounds like e^x; 2^n may also overflow alone.
  const large = l.mul(l.mul(l.add(em1, l.f(1)), s1), s2);
  const general = l.select(l.gt(n, l.f(24)), large, small);
  const result = l.select(l.eq(n, l.f(0)), em1, general);
  // x - n ln 2 turns x = -0 into r = +0, so zeros return x itself.
  return l.select(l.eq(x, l.f(0)), x, result);
}

export function emitLog(l: Lanes, x: Value): Value {
  // Subnormals are scaled by 2^23 into the normal range first.
  const tiny = l.lt(x, l.f(2 ** -126));
  const scaled = l.select(tiny, l.mul(x, l.f(2 ** 23)), x);
  const bits = l.bits(scaled);
  const exponent = l.isub(l.shr(bits, 23), l.i(127));
  const mantissa = l.fromBits(l.ior(l.iand(bits, l.i(0x007fffff)), l.i(0x3f800000)));
  const high = l.gt(mantissa, l.f(Math.SQRT2));
  const m = l.select(high, l.mul(mantissa, l.f(0.5)), mantissa);
  const e = l.iadd(l.iadd(exponent, l.select(tiny, l.i(-23), l.i(0))), l.select(high, l.i(1), l.i(0)));
  const ef = l.toFloat(e);
  const s = l.div(l.sub(m, l.f(1)), l.add(m, l.f(1)));
  const z = l.mul(s, s);
  const logM = l.add(l.add(s, s), l.mul(s, l.mul(z, l.poly(z, LOG_Q))));
  let result = l.add(l.mul(ef, l.f(LN2_HI)), l.add(logM, l.mul(ef, l.f(LN2_LO))));
  result = l.select(l.eq(x, l.f(Infinity)), l.f(Infinity), result);
  result = l.select(l.eq(x, l.f(0)), l.f(-Infinity), result);
  return l.select(l.ge(x, l.f(0)), result, l.f(NaN));
}

export function emitLog1p(l: Lanes, x: Value): Value {
  const u = l.add(x, l.f(1));
  const corrected = l.mul(emitLog(l, u), l.div(x, l.sub(u, l.f(1))));
  const general = l.select(l.eq(u, l.f(1)), x, corrected);
  return l.select(l.eq(x, l.f(Infinity)), x, general);
}

export function emitTanh(l: Lanes, x: Value): Value {
  // |tanh(x)| rounds to 1 in float32 beyond 9.
  const clamped = l.min(l.max(x, l.f(-9)), l.f(9));
  const t = emitExpm1(l, l.add(clamped, clamped));
  return l.div(t, l.add(t, l.f(2)));
}

export type ModuleMathOp = 'exp' | 'expm1' | 'log' | 'log1p' | 'tanh';

export const MODULE_MATH_OPS: readonly ModuleMathOp[] = ['exp', 'expm1', 'log', 'log1p', 'tanh'];

const ALGORITHMS: Record<ModuleMathOp, (l: Lanes, x: Value) => Value> = {
  exp: emitExp,
  expm1: emitExpm1,
  log: emitLog,
  log1p: emitLog1p,
  tanh: emitTanh,
};

/** The name of the module function computing `op` on f32 (scalar) or f32x4 (vector) values. */
export function mathFunctionName(op: ModuleMathOp, vector: boolean): string {
  return `${op}_${vector ? 'f32x4' : 'f32'}`;
}

/** Builds the module function computing `op`: one param, one result, f32 or v128. */
export function mathFunction(op: ModuleMathOp, vector: boolean): DefinedFunction {
  const t = vector ? 'v128' : 'f32';
  const fb = new FunctionBuilder(mathFunctionName(op, vector), { params: [t], results: [t] }, ['x']);
  const l = new Lanes(fb, vector);
  const result = ALGORITHMS[op](l, 0);
  fb.emit(['local.get', result]);
  return fb.finish();
}
