// The evaluators that value and gradient tests run on: the float64 reference
// interpreter and every compiled backend. A compiled run returns the backend's
// arrays, widened to float64, in the interpreter's Tensor form.

import { compile } from '../../src/runtime/executable.ts';
import type { BackendName, Executable } from '../../src/runtime/executable.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { Feeds } from '../../src/graph/feeds.ts';
import type { Node } from '../../src/graph/node.ts';
import type { Tensor } from '../../src/interp/tensor.ts';

export type Evaluator = (outputs: readonly Node[], feeds?: Feeds) => Tensor[];

/** Blocks the calling thread until the executable's worker threads have started, for at most 10 s. */
function waitForThreads(exe: Executable): void {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = performance.now() + 10_000;
  while (exe.activeThreads < exe.threads) {
    if (performance.now() > deadline) throw new Error(`${exe.threads - exe.activeThreads} worker threads did not start within 10 s`);
    Atomics.wait(sleeper, 0, 0, 1);
  }
}

/**
 * Compiles the outputs for a backend (verifying every pass) and runs them
 * once. With `threads`, every kernel that can be split is, and the run
 * waits for the worker threads so that they take part.
 */
export function compiled(backend: BackendName, options: { fuse?: boolean; threads?: number } = {}): Evaluator {
  return (outputs, feeds = {}) => {
    const threaded = options.threads === undefined ? {} : { threads: options.threads, threadThreshold: 0 };
    const exe = compile(outputs, { backend, verify: true, ...threaded, ...(options.fuse === false ? { skip: ['fuse'] } : {}) });
    try {
      waitForThreads(exe);
      return exe.run(feeds).map((data, i) => ({ shape: outputs[i]!.shape, dtype: outputs[i]!.dtype, data: Float64Array.from(data) }));
    } finally {
      exe.dispose();
    }
  };
}

/** The evaluators; `startsThreads` marks one that starts a worker thread on every call, about 20 to 40 ms each. */
export const EVALUATORS: readonly { name: string; evaluate: Evaluator; startsThreads?: boolean }[] = [
  { name: 'the interpreter', evaluate },
  { name: 'the js backend', evaluate: compiled('js') },
  { name: 'the wasm backend', evaluate: compiled('wasm') },
  { name: 'the wasm backend on 2 threads', evaluate: compiled('wasm', { threads: 2 }), startsThreads: true },
];
