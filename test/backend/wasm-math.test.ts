// The float32 exp, expm1, log, log1p and tanh that wasm kernels compute in
// the module, scalar and 4 lanes at a time, against Math.* rounded to
// float32. Inputs are random float32 values (NaN, infinities, zeros and
// subnormals included) and a table of special values. With module math off,
// kernels call the host's Math and match the JS backend exactly.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DefinedFunction } from '../../src/backend/wasm/encoder.ts';
import { encodeModule } from '../../src/backend/wasm/encoder.ts';
import type { ModuleMathOp } from '../../src/backend/wasm/math.ts';
import { mathFunction, mathFunctionName, MODULE_MATH_OPS } from '../../src/backend/wasm/math.ts';
import { webAssembly } from '../../src/backend/wasm/host.ts';
import { wasmBackend } from '../../src/backend/wasm/backend.ts';
import { jsBackend } from '../../src/backend/js/backend.ts';
import { runPipeline } from '../../passes/manager.ts';
import { graph } from '../../src/index.ts';
import type { Node } from '../../src/index.ts';

const FUZZ_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 2000);

const REFERENCE: Record<ModuleMathOp, (x: number) => number> = { exp: Math.exp, expm1: Math.expm1, log: Math.log, log1p: Math.log1p, tanh: Math.tanh };

/** Largest error allowed, in float32 units in the last place; a strided scan of all float32 inputs found one less at most. */
const MAX_ULPS: Record<ModuleMathOp, number> = { exp: 2, expm1: 3, log: 3, log1p: 5, tanh: 3 };

/** A function taking four f32 lanes, running the f32x4 version and storing the four results at address 0. */
function lanesFunction(op: ModuleMathOp): DefinedFunction {
  const body: [string, ...(number | string)[]][] = [['i32.const', 0], ['local.get', 0], ['f32x4.splat']];
  for (let lane = 1; lane < 4; lane++) body.push(['local.get', lane], ['f32x4.replace_lane', lane]);
  body.push(['call', mathFunctionName(op, true)], ['v128.store', 4, 0]);
  return { name: `${op}_lanes`, type: { params: ['f32', 'f32', 'f32', 'f32'], results: [] }, localNames: ['a', 'b', 'c', 'd'], locals: [], body, exportAs: `${op}_lanes` };
}

function instantiate() {
  const api = webAssembly()!;
  const functions = MODULE_MATH_OPS.flatMap((op) => [{ ...mathFunction(op, false), exportAs: op }, mathFunction(op, true), lanesFunction(op)]);
  const bytes = encodeModule({ memory: { module: 'env', field: 'memory', minPages: 1 }, imports: [], functions });
  expect(api.validate(bytes)).toBe(true);
  const memory = new api.Memory({ initial: 1 });
  const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
  const lanes = new Float32Array(memory.buffer, 0, 4);
  return {
    scalar: (op: ModuleMathOp) => instance.exports[op] as (x: number) => number,
    vector: (op: ModuleMathOp) => (xs: readonly number[]) => {
      (instance.exports[`${op}_lanes`] as (...x: number[]) => void)(...xs);
      return Array.from(lanes);
    },
  };
}

const bits = new Float32Array(1);
const words = new Int32Array(bits.buffer);

/** Distance between two float32 values in units in the last place; 0 for two NaNs. */
function ulps(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  const order = (x: number) => {
    bits[0] = x;
    const w = words[0]!;
    return w < 0 ? -(w & 0x7fffffff) : w;
  };
  return Math.abs(order(a) - order(b));
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2 ** -149, -(2 ** -149), 2 ** -126, 1e-7, -1e-7, 0.5, 9, -9, 20, -20, 88.72, 88.73, -87.3, -103.9, -104, 1e30, -1e30];

describe('wasm float32 math', () => {
  const wasm = instantiate();

  describe.each(MODULE_MATH_OPS)('%s', (op) => {
    const expected = (x: number) => Math.fround(REFERENCE[op](x));

    it('stays within its ulp bound on random inputs', () => {
      fc.assert(fc.property(fc.float(), (x) => {
        expect(ulps(wasm.scalar(op)(x), expected(x))).toBeLessThanOrEqual(MAX_ULPS[op]);
      }), { numRuns: FUZZ_RUNS });
    });

    it('matches special values, signed zeros included', () => {
      for (const value of SPECIAL) {
        const x = Math.fround(value);
        const got = wasm.scalar(op)(x);
        expect(ulps(got, expected(x)), `${op}(${x}) = ${got}`).toBeLessThanOrEqual(MAX_ULPS[op]);
        if (expected(x) === 0) expect(Object.is(got, expected(x)), `${op}(${x}) = ${got}`).toBe(true);
      }
    });

    it('gives each SIMD lane the scalar result', () => {
      fc.assert(fc.property(fc.tuple(fc.float(), fc.float(), fc.float(), fc.float()), (xs) => {
        const lanes = wasm.vector(op)(xs);
        xs.forEach((x, i) => expect(Object.is(lanes[i], wasm.scalar(op)(x)) || (Number.isNaN(lanes[i]) && Number.isNaN(wasm.scalar(op)(x)))).toBe(true));
      }), { numRuns: FUZZ_RUNS / 4 });
    });
  });
});

describe('wasm host math', () => {
  it.each(['exp', 'log', 'tanh', 'pow'] as const)('%s through Math matches the JS backend bit for bit', (op) => {
    const g = graph();
    const x = g.input('x', [9]);
    const built: Record<typeof op, () => Node> = { exp: () => x.exp(), log: () => x.log(), tanh: () => x.tanh(), pow: () => x.abs().pow(x) };
    const y = built[op]();
    const program = runPipeline([y]);
    const input = { kernels: program.kernels, memory: program.memory, dtypeOf: (id: number) => program.program.graph.nodes[id]!.dtype, describe: () => [] };
    const wasm = wasmBackend({ moduleMath: false }).prepare(input);
    expect(wasm.moduleText).toContain(`(import "Math" "${op}"`);
    const js = jsBackend.prepare(input);
    const values = [NaN, -Infinity, -3.5, -1, -0, 0, 0.75, 2, 90];
    const outputs = [wasm, js].map((runner) => {
      const views = new Map([...program.memory.placements.values()].map((p) => [p.id, new Float32Array(runner.buffer, runner.base + p.byteOffset, p.size)]));
      views.get(x.id)?.set(values);
      runner.run();
      const source = program.plan.aliases.get(program.program.outputs[0]!.id) ?? program.program.outputs[0]!;
      return Array.from(views.get(source.id)!);
    });
    outputs[0]!.forEach((v, i) => expect(Object.is(v, outputs[1]![i]) || (Number.isNaN(v) && Number.isNaN(outputs[1]![i])), `element ${i}: ${v} against ${outputs[1]![i]}`).toBe(true));
  });
});
