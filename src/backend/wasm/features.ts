// Feature probes: each validates a tiny module that uses the feature, once,
// on first use. The backend emits SIMD code only where the probe passed and
// falls back to scalar code otherwise.

import type { ModuleDescription } from './encoder.ts';
import { encodeModule } from './encoder.ts';
import { webAssembly } from './host.ts';
import type { Instr } from './opcodes.ts';

export interface WasmFeatures {
  /** The engine can run WebAssembly at all. */
  available: boolean;
  /** Fixed-width SIMD (v128, f32x4). */
  simd: boolean;
  /** Relaxed SIMD (f32x4.relaxed_madd); Node 20 needs --experimental-wasm-relaxed-simd. */
  relaxedSimd: boolean;
  /** Shared memory, and SharedArrayBuffer in this context, as worker threads would need. */
  threads: boolean;
}

function probe(body: readonly Instr[], shared = false): boolean {
  const module: ModuleDescription = {
    memory: { module: 'env', field: 'memory', minPages: 1, maxPages: 1, shared },
    imports: [],
    functions: [{ name: 'probe', type: { params: [], results: [] }, localNames: [], locals: [], body }],
  };
  try {
    return webAssembly()?.validate(encodeModule(module)) ?? false;
  } catch {
    return false;
  }
}

let cached: WasmFeatures | undefined;

export function wasmFeatures(): WasmFeatures {
  if (cached !== undefined) return cached;
  const available = webAssembly() !== undefined;
  const zero: Instr = ['v128.const', 'i32x4', 0, 0, 0, 0];
  cached = {
    available,
    simd: available && probe([zero, zero, ['f32x4.add'], ['drop']]),
    relaxedSimd: available && probe([zero, zero, zero, ['f32x4.relaxed_madd'], ['drop']]),
    threads: available && typeof SharedArrayBuffer === 'function' && probe([], true),
  };
  return cached;
}
