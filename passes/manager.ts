// The pass manager: runs the compiler's passes in order, times each, dumps
// the graph after any pass on request and verifies graphs between passes.
//
//   simplify     Program -> Program   (graph rewrite)
//   fuse         Program -> FusionPlan
//   lower        FusionPlan -> Kernel[]
//   plan-memory  Kernel[] -> MemoryPlan

import { SlopeError } from '../src/errors.ts';
import type { Node } from '../src/graph/node.ts';
import { printGraph } from '../src/graph/printer.ts';
import { verify } from '../src/graph/verify.ts';
import type { Kernel, ScalarType } from '../src/kernel/ir.ts';
import type { DType } from '../src/graph/dtype.ts';

/** The dtype of a scratch buffer, by its scalar type. */
export const SCRATCH_DTYPES: Record<ScalarType, DType> = { f32: 'float32', f64: 'float64', i32: 'int32' };
import { lowerPlan } from '../src/kernel/lower.ts';
import { scalarType } from '../src/kernel/pointwise.ts';
import type { FusionPlan } from './fuse.ts';
import { fuse } from './fuse.ts';
import type { BufferInfo, MemoryPlan } from './plan-memory.ts';
import { planMemory } from './plan-memory.ts';
import type { Program } from './program.ts';
import { simplify } from './simplify.ts';

export const PASS_NAMES = ['simplify', 'fuse', 'lower', 'plan-memory'] as const;
export type PassName = (typeof PASS_NAMES)[number];

/** Passes that may be skipped; lower and plan-memory always run. */
export type SkippablePass = 'simplify' | 'fuse';

export interface PipelineOptions {
  /** Passes to skip: without fuse, every op is its own kernel. */
  skip?: readonly SkippablePass[];
  /** Passes after which to keep a text dump of the graph or plan. */
  dumpAfter?: readonly PassName[];
  /** Run the verifier on every graph a pass produces. */
  verify?: boolean;
}

export interface PassRecord {
  name: PassName;
  skipped: boolean;
  ms: number;
  /** A one-line summary: node or kernel counts. */
  summary: string;
}

export interface PipelineResult {
  program: Program;
  plan: FusionPlan;
  kernels: Kernel[];
  memory: MemoryPlan;
  passes: PassRecord[];
  dumps: { pass: PassName; text: string }[];
}

export class PassOptionError extends SlopeError {}

function timed<T>(run: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = run();
  return { value, ms: performance.now() - start };
}

/** Lists the buffers of a lowered program: sources and stored nodes, persistent or not. */
export function buffersOf(plan: FusionPlan): BufferInfo[] {
  const outputs = new Set(plan.outputs.map((o) => (plan.aliases.get(o.id) ?? o).id));
  const buffers: BufferInfo[] = [];
  for (const node of plan.nodes) {
    const source = node.op === 'input' || node.op === 'param' || (node.op === 'constant' && node.size > 1);
    if (!source && !plan.stored.has(node.id)) continue;
    buffers.push({ id: node.id, t: scalarType(node.dtype), dtype: node.dtype, size: node.size, persistent: source || outputs.has(node.id) });
  }
  return buffers;
}

function describePlan(plan: FusionPlan): string {
  const lines = plan.groups.map((g) => `group ${g.index}: ${g.nodes.map((n) => `%${n.id} ${n.op}`).join(' + ')}`);
  if (plan.inline.size > 0) lines.push(`inlined: ${[...plan.inline].map((id) => `%${id}`).join(', ')}`);
  return lines.join('\n');
}

export function runPipeline(outputs: readonly Node[], options: PipelineOptions = {}): PipelineResult {
  const skip = new Set(options.skip ?? []);
  for (const name of skip) {
    if (name !== 'simplify' && name !== 'fuse') throw new PassOptionError(`Error in compile: cannot skip pass ${JSON.stringify(name)}; skippable passes are simplify, fuse`);
  }
  for (const name of options.dumpAfter ?? []) {
    if (!(PASS_NAMES as readonly string[]).includes(name)) throw new PassOptionError(`Error in compile: unknown pass ${JSON.stringify(name)} in dumpAfter; passes are ${PASS_NAMES.join(', ')}`);
  }
  const dumpAfter = new Set(options.dumpAfter ?? []);
  const passes: PassRecord[] = [];
  const dumps: { pass: PassName; text: string }[] = [];
  let program: Program = { graph: outputs[0]!.graph, outputs: [...outputs] };
  if (options.verify) verify(program.graph);

  const simplified = timed(() => (skip.has('simplify') ? program : simplify(program)));
  program = simplified.value;
  if (options.verify) verify(program.graph);
  passes.push({ name: 'simplify', skipped: skip.has('simplify'), ms: simplified.ms, summary: `${program.graph.nodes.length} nodes` });
  if (dumpAfter.has('simplify')) dumps.push({ pass: 'simplify', text: printGraph(program.graph, { outputs: program.outputs }) });

  const fused = timed(() => fuse(program.outputs, { enabled: !skip.has('fuse') }));
  const plan = fused.value;
  passes.push({ name: 'fuse', skipped: skip.has('fuse'), ms: fused.ms, summary: `${plan.groups.length} groups, ${plan.inline.size} inlined` });
  if (dumpAfter.has('fuse')) dumps.push({ pass: 'fuse', text: describePlan(plan) });

  const lowered = timed(() => lowerPlan(plan));
  const kernels = lowered.value;
  passes.push({ name: 'lower', skipped: false, ms: lowered.ms, summary: `${kernels.length} kernels` });
  if (dumpAfter.has('lower')) dumps.push({ pass: 'lower', text: kernels.map((k) => `${k.name}: ${k.summary}`).join('\n') });

  const scratch = kernels.flatMap((k) => k.params.filter((p) => p.buffer < 0).map((p) => ({ id: p.buffer, t: p.t, dtype: SCRATCH_DTYPES[p.t], size: p.size, persistent: false })));
  const planned = timed(() => planMemory(kernels, [...buffersOf(plan), ...scratch], (k) => kernels[k]!.inPlaceSafe));
  const memory = planned.value;
  passes.push({ name: 'plan-memory', skipped: false, ms: planned.ms, summary: `peak ${memory.peakBytes} B, bound ${memory.boundBytes} B` });
  if (dumpAfter.has('plan-memory')) {
    dumps.push({ pass: 'plan-memory', text: [...memory.placements.values()].map((p) => `%${p.id}: ${p.byteOffset}+${p.byteLength} live ${p.firstKernel}..${p.lastKernel}`).join('\n') });
  }
  return { program, plan, kernels, memory, passes, dumps };
}
