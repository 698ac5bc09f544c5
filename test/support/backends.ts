// The evaluators that value and gradient tests run on: the float64 reference
// interpreter and every compiled backend. A compiled run returns the backend's
// arrays, widened to float64, in the interpreter's Tensor form.

import { compile } from '../../src/runtime/executable.ts';
import type { BackendName } from '../../src/runtime/executable.ts';
import { evaluate } from '../../src/interp/interpreter.ts';
import type { Feeds } from '../../src/graph/feeds.ts';
import type { Node } from '../../src/graph/node.ts';
import type { Tensor } from '../../src/interp/tensor.ts';

export type Evaluator = (outputs: readonly Node[], feeds?: Feeds) => Tensor[];

/** Compiles the outputs for a backend (verifying every pass) and runs them once. */
export function compiled(backend: BackendName, options: { fuse?: boolean } = {}): Evaluator {
  return (outputs, feeds = {}) => {
    const exe = compile(outputs, { backend, verify: true, ...(options.fuse === false ? { skip: ['fuse'] } : {}) });
    return exe.run(feeds).map((data, i) => ({ shape: outputs[i]!.shape, dtype: outputs[i]!.dtype, data: Float64Array.from(data) }));
  };
}

export const EVALUATORS: readonly { name: string; evaluate: Evaluator }[] = [
  { name: 'the interpreter', evaluate },
  { name: 'the js backend', evaluate: compiled('js') },
  { name: 'the wasm backend', evaluate: compiled('wasm') },
];
