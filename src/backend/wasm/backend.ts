// The WebAssembly backend: lowers every kernel of an executable to one
// function of a single module, which imports one memory. The arena of the
// memory plan starts at address 0 of that memory, so buffer addresses are
// constants in the code. Scratch space for packed matrix panels follows it.
//
// NOTE: compile() is synchronous, so the module is compiled with
// `new WebAssembly.Module`. Browsers may reject synchronous compilation of
// large modules on the main thread; there, compile in a worker.

import { BackendError } from '../../errors.ts';
import type { DType } from '../../graph/dtype.ts';
import type { Kernel } from '../../kernel/ir.ts';
import type { Backend, BackendInput, KernelText, Runner } from '../backend.ts';
import type { DefinedFunction, ImportedFunction, ModuleDescription } from './encoder.ts';
import { encodeModule } from './encoder.ts';
import { wasmFeatures } from './features.ts';
import { FunctionBuilder } from './function.ts';
import { webAssembly } from './host.ts';
import type { BufferAccess, ElementType, LoweringContext, MathImport } from './scalar.ts';
import { MATH_IMPORTS, ScalarEmitter } from './scalar.ts';
import type { ModuleMathOp } from './math.ts';
import { mathFunction } from './math.ts';
import { emitContraction } from './contraction.ts';
import { vectorizeLoop } from './vector.ts';
import { printFunction, printModule } from './wat.ts';

export interface WasmOptions {
  /** false emits scalar code even where the engine supports SIMD128. Default: use SIMD when the probe finds it. */
  simd?: boolean;
  /** false computes float32 exp, log, tanh and their kin through the host's float64 Math functions. Default true. */
  moduleMath?: boolean;
}

const PAGE_BYTES = 65536;
const ELEMENT: Record<DType, ElementType> = { float32: 'f32', float64: 'f64', int32: 'i32', bool: 'u8' };

/** Everything a kernel's lowering needs besides the kernel. */
export interface KernelLowering {
  context: LoweringContext;
  simd: boolean;
  /** Byte address of the scratch space; a kernel may use it freely during its run. */
  scratchAddress: number;
  /** Records how many scratch bytes the kernel uses. */
  useScratch(bytes: number): void;
}

/** Lowers one kernel to a function with no params; the hooks for SIMD come from `lowering`. */
export function lowerKernel(kernel: Kernel, lowering: KernelLowering): DefinedFunction {
  const fb = new FunctionBuilder(kernel.name, { params: [], results: [] });
  const emitter = new ScalarEmitter(fb, lowering.context);
  if (lowering.simd) emitter.loopHook = vectorizeLoop;
  const tiled = lowering.simd && kernel.contraction !== undefined && emitContraction(kernel.contraction, { emitter, scratchAddress: lowering.scratchAddress, useScratch: lowering.useScratch });
  if (!tiled) emitter.statements(kernel.body);
  return fb.finish(kernel.name);
}

function bufferAccesses(kernel: Kernel, input: BackendInput, base: number): BufferAccess[] {
  return kernel.params.map((p) => {
    const placement = input.memory.placements.get(p.buffer);
    if (placement === undefined) throw new Error(`internal: buffer %${p.buffer} of ${kernel.name} has no placement`);
    return { address: base + placement.byteOffset, element: ELEMENT[input.dtypeOf(p.buffer)] };
  });
}

/** The module of an executable, its text, and the memory size it needs. */
export interface BuiltModule {
  description: ModuleDescription;
  bytes: Uint8Array;
  pages: number;
}

/** Builds the module for a set of kernels whose arena starts at `base`. */
export function buildModule(input: BackendInput, options: WasmOptions, base = 0): BuiltModule {
  const features = wasmFeatures();
  const simd = (options.simd ?? true) && features.simd;
  const used = new Set<MathImport>();
  const mathFunctions = new Set<string>();
  const scratchAddress = Math.ceil((base + input.memory.peakBytes) / 64) * 64;
  let scratchBytes = 0;
  const functions = input.kernels.map((kernel) =>
    lowerKernel(kernel, {
      context: {
        buffers: bufferAccesses(kernel, input, base),
        useImport: (name) => used.add(name),
        useMathFunction: (op, vector) => mathFunctions.add(`${op}:${vector}`),
        moduleMath: options.moduleMath ?? true,
      },
      simd,
      scratchAddress,
      useScratch: (bytes) => {
        scratchBytes = Math.max(scratchBytes, bytes);
      },
    }));
  const imports: ImportedFunction[] = [...used].sort().map((name) => {
    const { field, arity } = MATH_IMPORTS[name];
    return { name, module: 'Math', field, type: { params: new Array(arity).fill('f64'), results: ['f64'] } };
  });
  const helpers = [...mathFunctions].sort().map((key) => {
    const [op, vector] = key.split(':');
    return mathFunction(op as ModuleMathOp, vector === 'true');
  });
  functions.push(...helpers);
  const pages = Math.max(1, Math.ceil((scratchAddress + scratchBytes) / PAGE_BYTES));
  const description: ModuleDescription = { memory: { module: 'env', field: 'memory', minPages: pages, maxPages: pages }, imports, functions };
  return { description, bytes: encodeModule(description), pages };
}

export function wasmBackend(options: WasmOptions = {}): Backend {
  return {
    name: 'wasm',
    prepare(input: BackendInput): Runner {
      const api = webAssembly();
      if (api === undefined) throw new BackendError('Error in compile: WebAssembly is not available in this JavaScript engine; use backend "js"');
      const built = buildModule(input, options);
      let module: object;
      try {
        module = new api.Module(built.bytes);
      } catch (error) {
        throw new Error(`internal: the WebAssembly module that slope emitted does not compile: ${(error as Error).message}`);
      }
      const memory = new api.Memory({ initial: built.pages, maximum: built.pages });
      const mathImports: Record<string, unknown> = {};
      for (const f of built.description.imports) mathImports[f.field] = Math[f.field as keyof Math];
      const instance = new api.Instance(module, { env: { memory }, Math: mathImports });
      const calls = input.kernels.map((k) => instance.exports[k.name] as () => void);
      // WAT is printed on first read, since most runs never look at it.
      const texts: KernelText[] = input.kernels.map((k, i) => {
        let wat: string | undefined;
        const print = () => (wat ??= printFunction(built.description.functions[i]!, input.describe(k)));
        return {
          get source() {
            return print();
          },
          get wat() {
            return print();
          },
        };
      });
      const byName = new Map(input.kernels.map((k) => [k.name, k]));
      let moduleText: string | undefined;
      return {
        buffer: memory.buffer,
        base: 0,
        kernels: texts,
        moduleBytes: built.bytes,
        get moduleText() {
          return (moduleText ??= printModule(built.description, (f) => {
            const kernel = byName.get(f.name);
            return kernel === undefined ? [] : input.describe(kernel);
          }));
        },
        run: () => {
          for (const call of calls) call();
        },
      };
    },
  };
}
