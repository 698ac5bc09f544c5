import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, graph } from '../../src/index.ts';
import type { Executable, Node } from '../../src/index.ts';
import { convLeakyTrain, mlpTrain } from '../../examples/workloads.ts';

const RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 40);

/** Asserts that no two buffers that are live at one kernel share bytes, except an exact in-place handover. */
function expectNoOverlap(exe: Executable): void {
  expect(exe.memory.peakBytes, 'the bound is a lower bound of the peak').toBeGreaterThanOrEqual(exe.memory.boundBytes);
  const placements = [...exe.memory.placements.values()];
  for (let i = 0; i < placements.length; i++) {
    for (let j = i + 1; j < placements.length; j++) {
      const a = placements[i]!;
      const b = placements[j]!;
      const timeOverlap = a.firstKernel <= b.lastKernel && b.firstKernel <= a.lastKernel;
      const byteOverlap = a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
      if (!timeOverlap || !byteOverlap) continue;
      const handover = (a.lastKernel === b.firstKernel || b.lastKernel === a.firstKernel) && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength;
      const kernel = exe.kernels[a.lastKernel === b.firstKernel ? a.lastKernel : b.lastKernel]!;
      expect(handover && kernel.ir.inPlaceSafe, `%${a.id} and %${b.id} overlap`).toBe(true);
    }
  }
}

describe('memory plan', () => {
  it('keeps live buffers apart on random elementwise chains', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('relu', 'exp', 'add', 'mul', 'sum'), { minLength: 2, maxLength: 12 }), fc.integer({ min: 1, max: 40 }), (ops, size) => {
        const g = graph();
        const x = g.input('x', [size]);
        const y = g.input('y', [size]);
        const values: Node[] = [x, y];
        for (const op of ops) {
          const a = values[values.length - 1]!;
          const b = values[Math.max(0, values.length - 3)]!;
          if (op === 'relu') values.push(a.relu());
          else if (op === 'exp') values.push(a.mul(0.01).exp());
          else if (op === 'add') values.push(a.add(b.rank === a.rank ? b : a));
          else if (op === 'mul') values.push(a.mul(b.rank === a.rank ? b : a));
          else values.push(a.sum().add(x));
        }
        const outputs = [values[values.length - 1]!, values[Math.floor(values.length / 2)]!];
        expectNoOverlap(compile(outputs, { skip: ['fuse'] }));
        expectNoOverlap(compile(outputs));
      }),
      { numRuns: RUNS },
    );
  });

  it('stays within 1.25x of the live-tensor bound on the conv training step', () => {
    const w = convLeakyTrain(4);
    const exe = compile(w.outputs);
    expectNoOverlap(exe);
    expect(exe.memory.peakBytes).toBeLessThanOrEqual(1.25 * exe.memory.boundBytes);
  });

  it('stays within 1.25x of the live-tensor bound on the MLP step', () => {
    const w = mlpTrain(64);
    const exe = compile(w.outputs, { updates: w.updates });
    expectNoOverlap(exe);
    expect(exe.memory.peakBytes).toBeLessThanOrEqual(1.25 * exe.memory.boundBytes);
  });
});
