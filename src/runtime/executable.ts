// compile() and the Executable it returns: the compiled kernels, the buffers
// laid out by the memory plan, and run(feeds).

import { FeedError, SlopeError } from '../errors.ts';
import type { DType } from '../graph/dtype.ts';
import type { Feeds } from '../graph/feeds.ts';
import { validateFeeds } from '../graph/feeds.ts';
import { initialize } from '../graph/init.ts';
import type { Graph } from '../graph/graph.ts';
import type { Node } from '../graph/node.ts';
import { formatShape } from '../graph/shape.ts';
import type { Kernel, ScalarType } from '../kernel/ir.ts';
import type { PassRecord, PipelineOptions, PipelineResult } from '../../passes/manager.ts';
import { runPipeline } from '../../passes/manager.ts';
import type { MemoryPlan } from '../../passes/plan-memory.ts';
import { compileKernel, printKernel } from '../backend/js/codegen.ts';
import type { CompiledKernel } from '../backend/js/codegen.ts';

export type BackendName = 'js';

export type OutputArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/** A param and the node holding its next value, written back after each run. */
export interface ParamUpdate {
  param: Node;
  value: Node;
}

export interface CompileOptions extends PipelineOptions {
  backend?: BackendName;
  /**
   * Param updates run with every call: after the outputs are computed, each
   * param takes its new value. This is how an optimizer step is compiled into
   * a training executable.
   */
  updates?: readonly ParamUpdate[];
  /** Initial param values by name; others come from their initializers. */
  params?: Readonly<Record<string, ArrayLike<number>>>;
}

/** The readable description of one compiled kernel. */
export interface KernelInfo {
  name: string;
  backend: BackendName;
  /** Graph node ids (after passes) computed by the kernel. */
  nodes: number[];
  summary: string;
  source: string;
  flops: number;
  bytes: number;
  ir: Kernel;
}

export class BackendError extends SlopeError {}

/** The dtype of a scratch buffer's view, by its scalar type. */
const SCRATCH_DTYPES: Record<ScalarType, DType> = { f32: 'float32', f64: 'float64', i32: 'int32' };

function arrayFor(dtype: DType, buffer: ArrayBuffer, byteOffset: number, length: number): OutputArray {
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

function describeNodes(kernel: Kernel, graph: Graph): string[] {
  const lines = [`${kernel.name}: ${kernel.summary}`];
  for (const id of kernel.nodes) {
    const node = graph.nodes[id]!;
    lines.push(`  %${id} ${node.op}${node.name === undefined ? '' : ` ${JSON.stringify(node.name)}`} ${node.dtype}${formatShape(node.shape)}`);
  }
  return lines;
}

export class Executable {
  readonly backend: BackendName;
  /** The graph after passes; kernel node ids refer to it. */
  readonly graph: Graph;
  readonly outputs: readonly Node[];
  readonly kernels: readonly KernelInfo[];
  readonly memory: MemoryPlan;
  readonly passes: readonly PassRecord[];
  readonly dumps: readonly { pass: string; text: string }[];
  /** Kernel count with fusion turned off, for the report. */
  readonly unfusedKernelCount: number;

  private readonly arena: ArrayBuffer;
  private readonly views = new Map<number, OutputArray>();
  private readonly compiled: { fn: CompiledKernel; args: OutputArray[] }[];
  private readonly result: PipelineResult;
  private readonly updateTargets: readonly { name: string; value: Node }[];

  constructor(outputs: readonly Node[], options: CompileOptions = {}) {
    if (outputs.length === 0) throw new SlopeError('Error in compile: no outputs given; pass the nodes to compute');
    const graph = outputs[0]!.graph;
    for (const o of outputs) {
      if (o.graph !== graph) throw new SlopeError(`Error in compile: output ${o.label} belongs to another graph than ${outputs[0]!.label}`);
    }
    this.backend = options.backend ?? 'js';
    if (this.backend !== 'js') throw new BackendError(`Error in compile: unknown backend ${JSON.stringify(this.backend)}; available: js`);

    const updates = options.updates ?? [];
    for (const u of updates) {
      if (!u.param.is('param')) throw new SlopeError(`Error in compile: update target ${u.param.label} is a ${u.param.op}, not a param`);
      if (u.value.graph !== graph || u.param.graph !== graph) throw new SlopeError(`Error in compile: update of ${u.param.label} uses a node of another graph`);
      if (u.value.size !== u.param.size || u.value.dtype !== u.param.dtype) {
        throw new SlopeError(`Error in compile: update of ${u.param.label} (${u.param.dtype}${formatShape(u.param.shape)}) has value ${u.value.label} of ${u.value.dtype}${formatShape(u.value.shape)}`);
      }
    }

    this.result = runPipeline([...outputs, ...updates.map((u) => u.value)], options);
    const { program, kernels, memory, plan } = this.result;
    this.graph = program.graph;
    this.outputs = program.outputs.slice(0, outputs.length);
    this.updateTargets = updates.map((u, i) => ({ name: u.param.name!, value: program.outputs[outputs.length + i]! }));
    this.memory = memory;
    this.passes = this.result.passes;
    this.dumps = this.result.dumps;
    this.unfusedKernelCount = plan.nodes.filter((n) => !['input', 'param', 'constant', 'reshape'].includes(n.op)).length;

    this.arena = new ArrayBuffer(Math.max(memory.peakBytes, 16));
    for (const placement of memory.placements.values()) {
      const dtype = placement.id >= 0 ? this.graph.nodes[placement.id]!.dtype : SCRATCH_DTYPES[placement.t];
      this.views.set(placement.id, arrayFor(dtype, this.arena, placement.byteOffset, placement.size));
    }
    this.initializeSources(options.params ?? {});

    this.kernels = kernels.map((k) => ({
      name: k.name,
      backend: this.backend,
      nodes: k.nodes,
      summary: k.summary,
      source: printKernel(k, describeNodes(k, this.graph)),
      flops: k.flops,
      bytes: k.bytes,
      ir: k,
    }));
    this.compiled = this.kernels.map((k) => ({ fn: compileKernel(k.name, k.source), args: k.ir.params.map((p) => this.views.get(p.buffer)!) }));
  }

  private initializeSources(params: Readonly<Record<string, ArrayLike<number>>>): void {
    const names = new Set(this.graph.params.map((p) => p.name));
    for (const name of Object.keys(params)) {
      if (!names.has(name)) throw new FeedError(`Error in compile: unknown param ${JSON.stringify(name)}; the graph's params are ${[...names].map((n) => JSON.stringify(n)).join(', ') || '(none)'}`);
    }
    for (const node of this.graph.nodes) {
      const view = this.views.get(node.id);
      if (view === undefined) continue;
      if (node.is('param')) this.setParam(node.name!, params[node.name!] ?? initialize(node.attrs.init, node.shape));
      else if (node.is('constant')) view.set(node.attrs.value);
    }
  }

  /** Returns a copy of a param's current values. */
  getParam(name: string): OutputArray {
    return this.paramView(name).slice();
  }

  setParam(name: string, values: ArrayLike<number>): void {
    const view = this.paramView(name);
    if (values.length !== view.length) throw new FeedError(`Error in setParam: param ${JSON.stringify(name)} needs ${view.length} elements, got ${values.length}`);
    view.set(values);
  }

  private paramView(name: string): OutputArray {
    const node = this.graph.params.find((p) => p.name === name);
    const view = node === undefined ? undefined : this.views.get(node.id);
    if (node === undefined || view === undefined) {
      throw new FeedError(`Error in getParam: unknown param ${JSON.stringify(name)}; the compiled graph's params are ${this.graph.params.map((p) => JSON.stringify(p.name)).join(', ') || '(none)'}`);
    }
    return view;
  }

  /** Runs every kernel and returns fresh arrays of the outputs. Feeds are checked before any kernel runs. */
  run(feeds: Feeds = {}): OutputArray[] {
    const needed = this.graph.inputs.filter((n) => this.views.has(n.id));
    validateFeeds(feeds, needed, this.graph.inputs, 'run');
    for (const node of needed) this.views.get(node.id)!.set(feeds[node.name!] as ArrayLike<number>);
    for (const { fn, args } of this.compiled) fn(...args);
    const results = this.outputs.map((o) => this.outputValue(o));
    // New param values are read only after every kernel ran, so no kernel sees a half-updated param.
    const next = this.updateTargets.map((u) => this.outputValue(u.value));
    this.updateTargets.forEach((u, i) => this.paramView(u.name).set(next[i]!));
    return results;
  }

  private outputValue(node: Node): OutputArray {
    const source = this.result.plan.aliases.get(node.id) ?? node;
    const view = this.views.get(source.id);
    if (view !== undefined) return view.slice();
    if (source.is('constant')) return arrayFor(node.dtype, new ArrayBuffer(16), 0, 1).map(() => source.attrs.value[0]!) as OutputArray;
    throw new SlopeError(`internal: output ${node.label} has no buffer`);
  }

  /** Formats a text report: passes with times, kernels before and after fusion, memory against its bound. */
  report(): string {
    const lines = ['passes:'];
    for (const p of this.passes) lines.push(`  ${p.name.padEnd(12)} ${p.skipped ? 'skipped' : `${p.ms.toFixed(2)} ms`.padStart(10)}  ${p.summary}`);
    lines.push(`kernels: ${this.kernels.length} (${this.unfusedKernelCount} without fusion)`);
    for (const k of this.kernels) lines.push(`  ${k.name.padEnd(24)} ${k.summary}`);
    const ratio = this.memory.boundBytes === 0 ? 1 : this.memory.peakBytes / this.memory.boundBytes;
    lines.push(`memory: peak ${this.memory.peakBytes} B, bound ${this.memory.boundBytes} B (${ratio.toFixed(2)}x), ${this.memory.inPlace} in-place outputs`);
    return lines.join('\n');
  }
}

/** Compiles the outputs' computation into an executable. */
export function compile(outputs: Node | readonly Node[], options: CompileOptions = {}): Executable {
  return new Executable(Array.isArray(outputs) ? outputs : [outputs as Node], options);
}
