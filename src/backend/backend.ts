// The interface between backends and the runtime: `prepare` turns the lowered
// kernels and the memory plan into a runner, which owns the memory that
// contains the arena and runs every kernel in order. The runtime reads and
// writes buffers through typed-array views of that memory.

import type { DType } from '../graph/dtype.ts';
import type { Kernel } from '../kernel/ir.ts';
import type { MemoryPlan } from '../../passes/plan-memory.ts';

export type BackendName = 'js' | 'wasm';

export const BACKEND_NAMES: readonly BackendName[] = ['js', 'wasm'];

export type OutputArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface BackendInput {
  kernels: readonly Kernel[];
  memory: MemoryPlan;
  /** The dtype of a buffer by its id; bool buffers hold one byte per element. */
  dtypeOf(buffer: number): DType;
  /** Lines naming the graph nodes of a kernel, printed as comments above its text (the backend escapes them). */
  describe(kernel: Kernel): readonly string[];
}

/** The text of one compiled kernel. */
export interface KernelText {
  /** JavaScript source for the js backend, WAT for the wasm backend. */
  source: string;
  /** The kernel's function in the WebAssembly text format (wasm backend only). */
  wat?: string;
}

export interface Runner {
  /** The memory that contains the arena. */
  readonly buffer: ArrayBuffer;
  /** Byte offset of the arena in `buffer`: a placement's elements start at base + byteOffset. */
  readonly base: number;
  /** Per kernel, in execution order. */
  readonly kernels: readonly KernelText[];
  /** The whole module in the WebAssembly text format (wasm backend only). */
  readonly moduleText?: string;
  /** The binary module (wasm backend only). */
  readonly moduleBytes?: Uint8Array;
  /** Runs every kernel once, in order. */
  run(): void;
  /** Runs one kernel, by its index in execution order; used to time kernels one by one. */
  runKernel(index: number): void;
  /** Threads that the kernels are compiled for: 1 unless the wasm backend built a threaded module. */
  readonly threads?: number;
  /** Per kernel, the loop whose iterations threads share, or undefined for a kernel that one thread runs. */
  readonly parallelLoops?: readonly ({ name: string; size: number } | undefined)[];
  /** Resolves once the worker threads have started, to the number of threads that split kernels run on. */
  ready?(): Promise<number>;
  /** Returns the number of threads that split kernels run on now: 1 plus the workers that have started. */
  activeThreads?(): number;
  /** Stops the runner's worker threads; later runs use the calling thread alone. */
  dispose?(): void;
}

export interface Backend {
  readonly name: BackendName;
  prepare(input: BackendInput): Runner;
}

/** Creates a typed-array view of `length` elements of a buffer of the given dtype. */
export function typedView(dtype: DType, buffer: ArrayBuffer, byteOffset: number, length: number): OutputArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
    case 'float64':
      return new Float64Array(buffer, byteOffset, length);
    case 'int32':
      return new Int32Array(buffer, byteOffset, length);
    case 'bool':
      return new Uint8Array(buffer, byteOffset, length);
  }
}
