// The WebAssembly backend: lowers every kernel of an executable to one
// function of a single module, which imports one memory. The arena of the
// memory plan starts at address 0 of that memory, so buffer addresses are
// constants in the code. Scratch space for packed matrix panels follows it.
//
// With threads, kernels take the range of their split loop and a scratch
// offset as params, and the memory is shared. Worker threads (threads.ts)
// run part of each split kernel, and parallel.ts decides which loop a kernel
// splits along.
//
// NOTE: compile() is synchronous, so the module is compiled with
// `new WebAssembly.Module`. Browsers may reject synchronous compilation of
// large modules on the main thread; there, compile in a worker.

import { BackendError } from '../../errors.ts';
import type { DType } from '../../graph/dtype.ts';
import type { Kernel, Stmt } from '../../kernel/ir.ts';
import { ivar } from '../../kernel/ir.ts';
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
import { emitContraction, ROWS } from './contraction.ts';
import type { ParallelLoop } from './parallel.ts';
import { contractionParallelLoop, outermostLoop, parallelLoop } from './parallel.ts';
import type { KernelCall } from './threads.ts';
import { defaultThreadCount } from './thread-hosts.ts';
import { ThreadPool, workerThreadsAvailable } from './threads.ts';
import { vectorizeLoop } from './vector.ts';
import { printFunction, printModule } from './wat.ts';

export interface WasmOptions {
  /** false emits scalar code even where the engine supports SIMD128. Default: use SIMD when the probe finds it. */
  simd?: boolean;
  /** false computes float32 exp, log, tanh and their kin through the host's float64 Math functions. Default true. */
  moduleMath?: boolean;
  /**
   * Threads that share the work of large kernels, the calling thread
   * included; 1 runs every kernel on the calling thread. Default: the
   * number of cores (os.availableParallelism() in Node.js).
   */
  threads?: number;
  /** The minimum work (flops + bytes) of a kernel that threads share; smaller kernels run on the calling thread. */
  threadThreshold?: number;
}

/**
 * Default of `threadThreshold`, from bench/threads.ts on a 2-core AMD EPYC
 * under load from other processes. An elementwise kernel of 2^16 elements
 * (about 10^6 flops + bytes) took 13 to 27 microseconds on one thread and
 * 30 to 50 on two, since a parked worker takes tens of microseconds to
 * wake. At 2^18 elements (4 * 10^6) it took 90 to 135 on one thread and 67
 * to 69 on two. So a kernel pays for a split from about 2^22 flops + bytes.
 */
export const THREAD_THRESHOLD = 1 << 22;

/** The multiple of iterations at which chunks of a split loop start when its body is an innermost (SIMD) loop, so chunks share no cache line. */
const INNERMOST_ALIGN = 16;

const PAGE_BYTES = 65536;
const ELEMENT: Record<DType, ElementType> = { float32: 'f32', float64: 'f64', int32: 'i32', bool: 'u8' };

/** Everything a kernel's lowering needs besides the kernel. */
export interface KernelLowering {
  context: LoweringContext;
  simd: boolean;
  /** Byte address of the scratch space; a kernel may use it freely during its run. */
  scratchAddress: number;
  /** Records how many scratch bytes the kernel uses: in each thread's region, and shared by all threads before those regions. */
  useScratch(perThread: number, shared: number): void;
  /** True in a threaded module: the function takes (range.from, range.to, scratch.offset). */
  threaded?: boolean;
  /** Loops that threads may share when the kernel runs as register tiles, or as its body. */
  splits?: { tiled: ParallelLoop | undefined; body: ParallelLoop | undefined };
  /** Records the loop that the emitted function's range params bound; not called when the function ignores them. */
  useSplit?(split: ParallelLoop): void;
}

const THREAD_PARAMS = ['range.from', 'range.to', 'scratch.offset'];

/** Bounds the kernel body's outermost loop by the range params. */
function splitBody(body: readonly Stmt[], split: ParallelLoop): Stmt[] {
  return body.map((s) => (s.k === 'for' && s.v === split.name ? { ...s, from: ivar(THREAD_PARAMS[0]!), to: ivar(THREAD_PARAMS[1]!) } : s));
}

/** A kernel's function, and the function that the calling thread runs before the chunks of a split kernel, if it has one. */
export interface LoweredKernel {
  kernel: DefinedFunction;
  prologue?: DefinedFunction;
}

/** Returns the export name of a kernel's prologue. Kernel names (`k3_matmul`) contain no dot, so it cannot clash with one. */
export function prologueName(kernel: string): string {
  return `${kernel}.prologue`;
}

/**
 * Lowers one kernel to a function with no params, or with the range params
 * in a threaded module. The hooks for SIMD come from `lowering`.
 */
export function lowerKernel(kernel: Kernel, lowering: KernelLowering): LoweredKernel {
  const fb = lowering.threaded === true
    ? new FunctionBuilder(kernel.name, { params: ['i32', 'i32', 'i32'], results: [] }, THREAD_PARAMS)
    : new FunctionBuilder(kernel.name, { params: [], results: [] });
  const emitter = new ScalarEmitter(fb, lowering.context);
  if (lowering.simd) emitter.loopHook = vectorizeLoop;
  let prologue: FunctionBuilder | undefined;
  const range = {
    from: ivar(THREAD_PARAMS[0]!),
    to: ivar(THREAD_PARAMS[1]!),
    scratchOffset: ivar(THREAD_PARAMS[2]!),
    prologue: () => (prologue ??= new FunctionBuilder(prologueName(kernel.name), { params: [], results: [] })),
  };
  const tiledSplit = lowering.splits?.tiled;
  const tiled = lowering.simd && kernel.contraction !== undefined && emitContraction(kernel.contraction, {
    emitter,
    scratchAddress: lowering.scratchAddress,
    useScratch: lowering.useScratch,
    ...(tiledSplit === undefined ? {} : { split: range }),
  });
  const split = tiled ? tiledSplit : lowering.splits?.body;
  if (!tiled) emitter.statements(split === undefined ? kernel.body : splitBody(kernel.body, split));
  if (split !== undefined) lowering.useSplit?.(split);
  const name = kernel.name;
  return { kernel: fb.finish(name), ...(prologue === undefined ? {} : { prologue: prologue.finish(prologueName(name)) }) };
}

/** Returns the loops that threads may share in a kernel, as register tiles and as its body. */
function kernelSplits(kernel: Kernel, buffers: readonly BufferAccess[]): { tiled: ParallelLoop | undefined; body: ParallelLoop | undefined } {
  return { tiled: contractionParallelLoop(kernel, buffers), body: parallelLoop(kernel, buffers) };
}

/** Returns the multiple of iterations at which chunks of a kernel's split loop start. */
function splitAlign(kernel: Kernel, split: ParallelLoop): number {
  const c = kernel.contraction;
  if (c !== undefined && c.outer.length === 0 && split.name === c.i.name) return ROWS;
  const loop = outermostLoop(kernel.body);
  if (loop === undefined || loop.v !== split.name) return 1;
  const nested = loop.body.some((s) => s.k === 'for' || s.k === 'if');
  return nested ? 1 : INNERMOST_ALIGN;
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
  /** Per kernel, the loop that threads split; all undefined in a single-threaded module. */
  splits: (ParallelLoop | undefined)[];
  /** Threads the module is built for: 1, or the requested count when some kernel splits. */
  threads: number;
  /** Element offset (4-byte units) between the scratch regions of consecutive threads. */
  scratchStride: number;
  /** Per kernel, the export name of its prologue, which the calling thread runs before the chunks. */
  prologues: (string | undefined)[];
}

/** Returns the kernel's work as the thread threshold counts it. */
function kernelWork(kernel: Kernel): number {
  return kernel.flops + kernel.bytes;
}

/**
 * Builds the module for a set of kernels whose arena starts at `base`. It
 * is threaded when threads > 1, the engine has shared memory, workers can
 * be started (Node.js worker_threads, or Web Workers in a cross-origin
 * isolated page) and at least one kernel is split. Otherwise it is the
 * single-threaded module, with kernels that take no params.
 */
export function buildModule(input: BackendInput, options: WasmOptions, base = 0): BuiltModule {
  const features = wasmFeatures();
  const simd = (options.simd ?? true) && features.simd;
  const requested = options.threads ?? defaultThreadCount();
  const threshold = options.threadThreshold ?? THREAD_THRESHOLD;
  const accesses = input.kernels.map((kernel) => bufferAccesses(kernel, input, base));
  const candidates = input.kernels.map((kernel, k) => (kernelWork(kernel) >= threshold ? kernelSplits(kernel, accesses[k]!) : undefined));
  const threaded = requested > 1 && features.threads && workerThreadsAvailable() && candidates.some((s) => s?.tiled !== undefined || s?.body !== undefined);
  const splits: (ParallelLoop | undefined)[] = input.kernels.map(() => undefined);

  const used = new Set<MathImport>();
  const mathFunctions = new Set<string>();
  const scratchAddress = Math.ceil((base + input.memory.peakBytes) / 64) * 64;
  let scratchBytes = 0;
  let sharedScratchBytes = 0;
  const lowered = input.kernels.map((kernel, k) =>
    lowerKernel(kernel, {
      context: {
        buffers: accesses[k]!,
        useImport: (name) => used.add(name),
        useMathFunction: (op, vector) => mathFunctions.add(`${op}:${vector}`),
        moduleMath: options.moduleMath ?? true,
      },
      simd,
      scratchAddress,
      useScratch: (perThread, shared) => {
        scratchBytes = Math.max(scratchBytes, perThread);
        sharedScratchBytes = Math.max(sharedScratchBytes, shared);
      },
      threaded,
      ...(threaded && candidates[k] !== undefined ? { splits: candidates[k] } : {}),
      useSplit: (split) => {
        splits[k] = split;
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
  const functions = lowered.map((l) => l.kernel);
  functions.push(...helpers);
  const prologues = lowered.map((l) => l.prologue);
  for (const prologue of prologues) if (prologue !== undefined) functions.push(prologue);
  // Each thread packs into its own scratch region, 64-byte aligned so that threads share no cache line.
  // A kernel's regions follow the scratch its prologue packs for all threads.
  const threads = threaded ? requested : 1;
  const scratchStride = Math.ceil(scratchBytes / 64) * 64;
  // A module whose kernels all ended up unsplit (register tiles that no analysis could split) needs no threads.
  if (threaded && splits.every((s) => s === undefined)) return buildModule(input, { ...options, threads: 1 }, base);
  const pages = Math.max(1, Math.ceil((scratchAddress + sharedScratchBytes + threads * scratchStride) / PAGE_BYTES));
  const memory = { module: 'env', field: 'memory', minPages: pages, maxPages: pages, ...(threaded ? { shared: true } : {}) };
  const description: ModuleDescription = { memory, imports, functions };
  return { description, bytes: encodeModule(description), pages, splits, threads, scratchStride: scratchStride / 4, prologues: prologues.map((p) => p?.exportAs) };
}

/** Runs the kernels of a threaded module: split ones through the pool, the others on the calling thread. */
function threadedRun(built: BuiltModule, input: BackendInput, calls: readonly KernelCall[], prologues: readonly ((() => void) | undefined)[], pool: ThreadPool): (index: number) => void {
  const aligns = input.kernels.map((kernel, k) => (built.splits[k] === undefined ? 1 : splitAlign(kernel, built.splits[k]!)));
  return (index) => {
    const split = built.splits[index];
    if (split === undefined) {
      calls[index]!(0, 0, 0);
      return;
    }
    // The prologue's stores reach the workers before their chunks: pool.run publishes the kernel with Atomics.
    prologues[index]?.();
    pool.run(index, calls[index]!, split.size, aligns[index]!);
  };
}

/** Returns a function that stops the pool and captures nothing else, so that a finalizer may keep it without keeping the executable alive. */
function disposer(pool: ThreadPool | undefined): () => void {
  return () => pool?.dispose();
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
      const threaded = built.threads > 1;
      const memory = new api.Memory({ initial: built.pages, maximum: built.pages, ...(threaded ? { shared: true } : {}) });
      const mathImports: Record<string, unknown> = {};
      for (const f of built.description.imports) mathImports[f.field] = Math[f.field as keyof Math];
      const instance = new api.Instance(module, { env: { memory }, Math: mathImports });
      const calls = input.kernels.map((k) => instance.exports[k.name] as KernelCall);
      const prologues = built.prologues.map((name) => (name === undefined ? undefined : instance.exports[name] as () => void));
      const pool = threaded
        ? new ThreadPool({
          module,
          memory,
          kernels: input.kernels.map((k) => k.name),
          mathFields: built.description.imports.map((f) => f.field),
          workers: built.threads - 1,
          scratchStride: built.scratchStride,
        })
        : undefined;
      const runKernel = pool === undefined ? (index: number) => (calls[index] as () => void)() : threadedRun(built, input, calls, prologues, pool);
      // WAT is printed on first read, since most runs never look at it.
      const texts: KernelText[] = input.kernels.map((k, i) => {
        let wat: string | undefined;
        const prologue = built.description.functions.find((f) => f.exportAs !== undefined && f.exportAs === built.prologues[i]);
        // A split kernel's prologue is printed after it, since it is part of every run of the kernel.
        const print = () => (wat ??= [built.description.functions[i]!, ...(prologue === undefined ? [] : [prologue])].map((f, n) => printFunction(f, n === 0 ? input.describe(k) : [])).join('\n'));
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
        run: pool === undefined
          ? () => {
            for (const call of calls) (call as () => void)();
          }
          : () => {
            for (let index = 0; index < calls.length; index++) runKernel(index);
          },
        runKernel,
        threads: built.threads,
        parallelLoops: built.splits,
        ready: () => pool?.ready() ?? Promise.resolve(1),
        activeThreads: () => pool?.activeThreads() ?? 1,
        dispose: disposer(pool),
      };
    },
  };
}
