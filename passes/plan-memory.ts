// Memory planning: places every buffer of an executable in one arena.
//
// Inputs, params, constants and outputs are persistent and sit first. Every
// other buffer lives from the kernel that writes it to the last kernel that
// reads it, and is placed by a linear scan over the kernel order: a buffer
// takes the first free block that fits, and its block is freed after its last
// reader. An elementwise kernel whose loads and stores all use the same flat
// index may write its output in place of an input that dies there, when both
// have the same dtype and element count, since each element is read before it
// is written.

import type { DType } from '../src/graph/dtype.ts';
import type { Kernel, ScalarType } from '../src/kernel/ir.ts';

export const ALIGNMENT = 16;

const BYTES: Record<ScalarType, number> = { f32: 4, f64: 8, i32: 4 };

export interface BufferInfo {
  /** The buffer id: a graph node id, or a negative id for a kernel's scratch buffer. */
  id: number;
  t: ScalarType;
  /** The storage dtype; bool is stored in one byte per element although it computes as i32. */
  dtype: DType;
  size: number;
  persistent: boolean;
}

export interface Placement {
  id: number;
  t: ScalarType;
  size: number;
  byteOffset: number;
  byteLength: number;
  /** Kernel indices between which the buffer is live; persistent buffers span the whole run. */
  firstKernel: number;
  lastKernel: number;
  /** The buffer whose bytes this one took over in place at its first kernel, if any. */
  inPlaceOf?: number;
}

export interface MemoryPlan {
  placements: Map<number, Placement>;
  /** Bytes of the arena: the peak of all buffers, persistent ones included. */
  peakBytes: number;
  /** The largest sum of the buffers live at one kernel: no placement can use less. */
  boundBytes: number;
  /** Index of the kernel where the bound is reached. */
  busiestKernel: number;
  /** Output buffers that were written in place of a dying input. */
  inPlace: number;
}

function align(bytes: number): number {
  return Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
}

interface Block {
  offset: number;
  length: number;
}

/** First-fit allocator over a growing arena. */
class Arena {
  private free: Block[] = [];
  end = 0;

  allocate(length: number): number {
    const index = this.free.findIndex((b) => b.length >= length);
    if (index < 0) {
      const offset = this.end;
      this.end += length;
      return offset;
    }
    const block = this.free[index]!;
    const offset = block.offset;
    if (block.length === length) this.free.splice(index, 1);
    else this.free[index] = { offset: offset + length, length: block.length - length };
    return offset;
  }

  release(offset: number, length: number): void {
    this.free.push({ offset, length });
    this.free.sort((a, b) => a.offset - b.offset);
    const merged: Block[] = [];
    for (const b of this.free) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.offset + last.length === b.offset) last.length += b.length;
      else merged.push({ ...b });
    }
    this.free = merged;
  }
}

/**
 * Places every buffer in one arena. `inPlaceSafe(k)` is true when kernel k
 * reads and writes every buffer at one flat index, so in-place writes are safe there.
 */
export function planMemory(kernels: readonly Kernel[], buffers: readonly BufferInfo[], inPlaceSafe: (k: number) => boolean): MemoryPlan {
  const info = new Map(buffers.map((b) => [b.id, b]));
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  kernels.forEach((kernel, k) => {
    for (const p of kernel.params) {
      if (!first.has(p.buffer)) first.set(p.buffer, k);
      last.set(p.buffer, k);
    }
  });

  const arena = new Arena();
  const placements = new Map<number, Placement>();
  const place = (b: BufferInfo, offset: number, firstKernel: number, lastKernel: number) => {
    const byteLength = align(b.size * BYTES[b.t]);
    placements.set(b.id, { id: b.id, t: b.t, size: b.size, byteOffset: offset, byteLength, firstKernel, lastKernel });
  };

  for (const b of buffers) if (b.persistent) place(b, arena.allocate(align(b.size * BYTES[b.t])), 0, kernels.length - 1);

  let inPlace = 0;
  kernels.forEach((kernel, k) => {
    const dying = kernel.params.filter((p) => p.access === 'read' && last.get(p.buffer) === k && !info.get(p.buffer)?.persistent);
    const taken = new Set<number>();
    for (const p of kernel.params) {
      const b = info.get(p.buffer);
      if (p.access === 'read' || b === undefined || b.persistent || placements.has(b.id)) continue;
      const length = align(b.size * BYTES[b.t]);
      // The donor must have as many elements: a broadcast input of one element is read at every index.
      // The donor must match element for element: a broadcast input of one element is read at every index,
      // and an element of another width would be overwritten before it is read.
      const fits = (d: { buffer: number }) => info.get(d.buffer)?.dtype === b.dtype && info.get(d.buffer)?.size === b.size;
      const donor = inPlaceSafe(k) ? dying.find((d) => !taken.has(d.buffer) && fits(d)) : undefined;
      if (donor !== undefined) {
        taken.add(donor.buffer);
        inPlace++;
        place(b, placements.get(donor.buffer)!.byteOffset, k, last.get(b.id) ?? k);
        placements.get(b.id)!.inPlaceOf = donor.buffer;
      } else {
        place(b, arena.allocate(length), k, last.get(b.id) ?? k);
      }
    }
    for (const d of dying) {
      if (taken.has(d.buffer)) continue;
      const p = placements.get(d.buffer);
      if (p !== undefined) arena.release(p.byteOffset, p.byteLength);
    }
    // A buffer written here and never read again (an unread temporary) is freed at once.
    for (const p of kernel.params) {
      const b = info.get(p.buffer);
      if (b !== undefined && !b.persistent && p.access !== 'read' && last.get(p.buffer) === k && !kernel.params.some((q) => q.buffer === p.buffer && q.access === 'read')) {
        const placed = placements.get(p.buffer)!;
        if (!taken.has(p.buffer)) arena.release(placed.byteOffset, placed.byteLength);
      }
    }
  });

  // The bound: at each kernel, the bytes of every buffer live there. A buffer
  // handed over in place counts once at the kernel that hands it over.
  let boundBytes = 0;
  let busiestKernel = 0;
  const handedOver = new Map<number, number>();
  for (const p of placements.values()) if (p.inPlaceOf !== undefined) handedOver.set(p.inPlaceOf, p.firstKernel);
  kernels.forEach((_, k) => {
    let live = 0;
    for (const p of placements.values()) {
      if (p.firstKernel <= k && k <= p.lastKernel && handedOver.get(p.id) !== k) live += p.byteLength;
    }
    if (live > boundBytes) {
      boundBytes = live;
      busiestKernel = k;
    }
  });
  if (kernels.length === 0) boundBytes = arena.end;
  return { placements, peakBytes: arena.end, boundBytes, busiestKernel, inPlace };
}
