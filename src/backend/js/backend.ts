// The JS backend behind the runtime's Backend interface: the arena is a
// plain ArrayBuffer and each kernel is a compiled JavaScript function over
// views of it.

import type { Backend, BackendInput, Runner } from '../backend.ts';
import { typedView } from '../backend.ts';
import { compileKernel, printKernel } from './codegen.ts';

export const jsBackend: Backend = {
  name: 'js',
  prepare(input: BackendInput): Runner {
    const { kernels, memory } = input;
    const buffer = new ArrayBuffer(Math.max(memory.peakBytes, 16));
    const view = (id: number) => {
      const placement = memory.placements.get(id);
      if (placement === undefined) throw new Error(`internal: kernel buffer %${id} has no placement`);
      return typedView(input.dtypeOf(id), buffer, placement.byteOffset, placement.size);
    };
    const texts = kernels.map((k) => ({ source: printKernel(k, input.describe(k)) }));
    const compiled = kernels.map((k, i) => ({ fn: compileKernel(k.name, texts[i]!.source), args: k.params.map((p) => view(p.buffer)) }));
    return {
      buffer,
      base: 0,
      kernels: texts,
      run: () => {
        for (const { fn, args } of compiled) fn(...args);
      },
    };
  },
};
