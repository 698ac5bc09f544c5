// compile() and the Executable it returns: the compiled kernels, the buffers
// laid out by the memory plan, and run(feeds).

import { BackendError, FeedError, GraphError, SlopeError } from '../errors.ts';
import type { Feeds } from '../graph/feeds.ts';
import { validateFeeds } from '../graph/feeds.ts';
import { initialize } from '../graph/init.ts';
import type { Graph } from '../graph/graph.ts';
import { Node } from '../graph/node.ts';
import { formatShape } from '../graph/shape.ts';
import type { Kernel } from '../kernel/ir.ts';
import type { PassRecord, PipelineOptions, PipelineResult } from '../../passes/manager.ts';
import { runPipeline, SCRATCH_DTYPES } from '../../passes/manager.ts';
import type { MemoryPlan } from '../../passes/plan-memory.ts';
import type { Backend, BackendName, OutputArray, Runner } from '../backend/backend.ts';
import { BACKEND_NAMES, typedView } from '../backend/backend.ts';
import { jsBackend } from '../backend/js/backend.ts';
import { wasmBackend } from '../backend/wasm/backend.ts';

export type { BackendName, OutputArray } from '../backend/backend.ts';

/** A param and the node holding its next value, written back after each run. */
export interface ParamUpdate {
  param: Node;
  value: Node;
}

export interface CompileOptions extends PipelineOptions {
  /** 'js' (the default) or 'wasm'. */
  backend?: BackendName;
  /**
   * wasm backend only: false emits scalar code even where the engine
   * supports SIMD128. By default SIMD is used when the start-up probe finds it.
   */
  simd?: boolean;
  /**
   * wasm backend only: threads that share the work of large kernels, the
   * calling thread included, as a positive integer; 1 runs every kernel on
   * the calling thread. Default: the number of cores. Threads need
   * WebAssembly shared memory and Node.js worker_threads, or Web Workers in
   * a cross-origin isolated page; without them kernels run on the calling
   * thread.
   */
  threads?: number;
  /**
   * wasm backend only: the minimum work (flops + bytes of one run) of a
   * kernel that threads share. Smaller kernels run on the calling thread
   * alone. Default 2^22, about 100 microseconds of work on one thread.
   */
  threadThreshold?: number;
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
  /** JavaScript source (js backend) or the function's WAT text (wasm backend). */
  source: string;
  /** The function in the WebAssembly text format; wasm backend only. */
  wat?: string;
  /** The loop whose iterations the threads share; unset when one thread runs the kernel. */
  parallelLoop?: { name: string; size: number };
  flops: number;
  bytes: number;
  ir: Kernel;
}

/** Bytes that one executable's buffers may take: wasm32 addresses 4 GiB, less room for scratch space. */
const MEMORY_LIMIT_BYTES = 2 ** 32 - 2 ** 24;

/** Runs a backend's prepare, turning a too-large memory plan or a failed allocation into a BackendError. */
function prepareWithinLimits(backend: Backend, peakBytes: number, prepare: () => Runner): Runner {
  const describe = `${peakBytes} bytes (${(peakBytes / 2 ** 30).toFixed(2)} GiB) of buffers`;
  if (peakBytes > MEMORY_LIMIT_BYTES) {
    throw new BackendError(`Error in compile: the executable needs ${describe} at its busiest, more than the ${backend.name} backend can address (4 GiB); use smaller shapes or batches`);
  }
  try {
    return prepare();
  } catch (error) {
    if (error instanceof RangeError) throw new BackendError(`Error in compile: allocating ${describe} failed on the ${backend.name} backend (${error.message}); use smaller shapes or batches`);
    throw error;
  }
}

/** The largest `threads` value accepted; a worker thread costs a few megabytes even when idle. */
const MAX_THREADS = 256;

function validateThreadOptions(options: CompileOptions): void {
  const { threads, threadThreshold } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new BackendError(`Error in compile: threads must be an integer from 1 to ${MAX_THREADS} (1 runs every kernel on the calling thread), got ${typeof threads === 'number' ? threads : JSON.stringify(threads)}`);
  }
  if (threadThreshold !== undefined && !(typeof threadThreshold === 'number' && threadThreshold >= 0 && !Number.isNaN(threadThreshold))) {
    throw new BackendError(`Error in compile: threadThreshold must be a number >= 0 (the minimum flops + bytes of a kernel that threads share), got ${typeof threadThreshold === 'number' ? threadThreshold : JSON.stringify(threadThreshold)}`);
  }
}

function selectBackend(options: CompileOptions): Backend {
  const name = options.backend ?? 'js';
  validateThreadOptions(options);
  switch (name) {
    case 'js':
      return jsBackend;
    case 'wasm':
      return wasmBackend({
        ...(options.simd === undefined ? {} : { simd: options.simd }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.threadThreshold === undefined ? {} : { threadThreshold: options.threadThreshold }),
      });
    default:
      throw new BackendError(`Error in compile: unknown backend ${JSON.stringify(name)}; available: ${BACKEND_NAMES.join(', ')}`);
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

/** Stops the worker threads of executables that were garbage collected without dispose(). */
const RUNNER_FINALIZER = new FinalizationRegistry<() => void>((dispose) => dispose());

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

  /** The WebAssembly module's bytes, the content of a .wasm file; wasm backend only. */
  readonly moduleBytes: Uint8Array | undefined;

  private readonly runner: Runner;
  private readonly views = new Map<number, OutputArray>();
  private readonly result: PipelineResult;
  private readonly updateTargets: readonly { name: string; value: Node }[];

  constructor(outputs: readonly Node[], options: CompileOptions = {}) {
    if (outputs.length === 0) throw new SlopeError('Error in compile: no outputs given; pass the nodes to compute');
    outputs.forEach((o, i) => {
      if (!(o instanceof Node)) throw new GraphError(`Error in compile: output ${i} is ${typeof o === 'object' ? String(o) : typeof o}, not a Node; pass the nodes to compute`);
    });
    const graph = outputs[0]!.graph;
    for (const o of outputs) {
      if (o.graph !== graph) {
        throw new GraphError(`Error in compile: output ${outputs.indexOf(o)} (${o.label}) belongs to another graph than output 0 (${outputs[0]!.label}); build all outputs in one graph`);
      }
    }
    const backend = selectBackend(options);
    this.backend = backend.name;

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

    // Buffers address one linear memory: wasm32 and typed arrays both stop at 4 GiB.
    this.runner = prepareWithinLimits(backend, memory.peakBytes, () => backend.prepare({
      kernels,
      memory,
      dtypeOf: (id) => (id >= 0 ? this.graph.nodes[id]!.dtype : SCRATCH_DTYPES[memory.placements.get(id)!.t]),
      describe: (k) => describeNodes(k, this.graph),
    }));
    this.moduleBytes = this.runner.moduleBytes;
    if (this.runner.dispose !== undefined) RUNNER_FINALIZER.register(this, this.runner.dispose);
    for (const placement of memory.placements.values()) {
      const dtype = placement.id >= 0 ? this.graph.nodes[placement.id]!.dtype : SCRATCH_DTYPES[placement.t];
      this.views.set(placement.id, typedView(dtype, this.runner.buffer, this.runner.base + placement.byteOffset, placement.size));
    }
    this.initializeSources(options.params ?? {});

    // Texts are read through getters: the wasm backend prints its WAT only when someone reads it.
    this.kernels = kernels.map((k, i) => {
      const text = this.runner.kernels[i]!;
      const parallelLoop = this.runner.parallelLoops?.[i];
      return {
        ...(parallelLoop === undefined ? {} : { parallelLoop }),
        name: k.name,
        backend: this.backend,
        nodes: k.nodes,
        summary: k.summary,
        get source() {
          return text.source;
        },
        get wat() {
          return text.wat;
        },
        flops: k.flops,
        bytes: k.bytes,
        ir: k,
      };
    });
  }

  /**
   * Threads the kernels are compiled for: more than 1 only on the wasm
   * backend when workers can be started (Node.js worker_threads, or Web
   * Workers in a cross-origin isolated page) and some kernel is large
   * enough to split (see `threadThreshold`).
   */
  get threads(): number {
    return this.runner.threads ?? 1;
  }

  /**
   * Resolves once the worker threads have started, to the number of
   * threads that split kernels run on. Runs before then are correct but
   * use the calling thread alone. The result is 1 when no threads were
   * started or after dispose(). It rejects with a BackendError when a worker failed to start.
   */
  ready(): Promise<number> {
    if (this.disposed) return Promise.resolve(1);
    return this.runner.ready?.() ?? Promise.resolve(1);
  }

  /**
   * The number of threads that split kernels run on now: 1 plus the worker
   * threads that have started and not been disposed. It reaches `threads`
   * once ready() resolves.
   */
  get activeThreads(): number {
    return this.runner.activeThreads?.() ?? 1;
  }

  /**
   * Stops the executable's worker threads. The executable stays usable:
   * later runs compute the same results on the calling thread. Idle workers
   * do not keep the process alive, and an executable that is garbage
   * collected stops its workers too, so call this to free them early.
   */
  dispose(): void {
    this.disposed = true;
    this.runner.dispose?.();
  }

  /** Set by dispose(); ready() then resolves to 1, the calling thread alone. */
  private disposed = false;

  /** The whole WebAssembly module as text; wasm backend only. */
  get moduleText(): string | undefined {
    return this.runner.moduleText;
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
    return copyOut(this.paramView(name));
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
    this.copyFeeds(needed, feeds);
    this.runner.run();
    const results = this.outputs.map((o) => this.outputValue(o));
    // New param values are read only after every kernel ran, so no kernel reads a half-updated param.
    const next = this.updateTargets.map((u) => this.outputValue(u.value));
    this.updateTargets.forEach((u, i) => this.paramView(u.name).set(next[i]!));
    return results;
  }

  /**
   * Returns the live array behind an input, in the executable's own memory.
   * Writing into it and passing it back as that input's feed skips the copy
   * that run() otherwise makes; it stays valid for the executable's lifetime.
   */
  inputView(name: string): OutputArray {
    const node = this.graph.inputs.find((n) => n.name === name);
    const view = node === undefined ? undefined : this.views.get(node.id);
    if (view === undefined) {
      throw new FeedError(`Error in inputView: no input ${JSON.stringify(name)} that the outputs read; the inputs they read are ${this.graph.inputs.filter((n) => this.views.has(n.id)).map((n) => JSON.stringify(n.name)).join(', ') || '(none)'}`);
    }
    return view;
  }

  /** Copies each feed into its input's buffer, unless the feed is that buffer's own view. */
  private copyFeeds(needed: readonly Node[], feeds: Feeds): void {
    for (const node of needed) {
      const view = this.views.get(node.id)!;
      const feed = feeds[node.name!];
      if (feed !== view) view.set(feed as ArrayLike<number>);
    }
  }

  /**
   * Times each kernel over `runs` runs on the feeds and returns its mean
   * milliseconds per run, in kernel order. Param updates are not written
   * back, so profiling leaves the params as they were.
   */
  profile(feeds: Feeds = {}, runs = 1): { name: string; summary: string; ms: number }[] {
    if (!Number.isInteger(runs) || runs < 1) throw new SlopeError(`Error in profile: runs must be a positive integer, got ${JSON.stringify(runs)}`);
    const needed = this.graph.inputs.filter((n) => this.views.has(n.id));
    validateFeeds(feeds, needed, this.graph.inputs, 'profile');
    this.copyFeeds(needed, feeds);
    const totals = new Float64Array(this.kernels.length);
    for (let run = 0; run < runs; run++) {
      for (let i = 0; i < this.kernels.length; i++) {
        const start = performance.now();
        this.runner.runKernel(i);
        totals[i] += performance.now() - start;
      }
    }
    return this.kernels.map((k, i) => ({ name: k.name, summary: k.summary, ms: totals[i]! / runs }));
  }

  private outputValue(node: Node): OutputArray {
    const source = this.result.plan.aliases.get(node.id) ?? node;
    const view = this.views.get(source.id);
    if (view !== undefined) return copyOut(view);
    if (source.is('constant')) return typedView(node.dtype, new ArrayBuffer(16), 0, 1).map(() => source.attrs.value[0]!) as OutputArray;
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

/** Elements per set() when copying out of shared memory. */
const SHARED_COPY_CHUNK = 65536;

/**
 * Copies a buffer's view into a new array the caller owns. Under worker
 * threads the memory is a SharedArrayBuffer. V8 (Node 20) copied a large
 * view of it into a new array several times slower than a view of ordinary
 * memory, by slice() or by one set(): 4 MiB took about 2.3 ms against
 * 0.35 ms on a 2-core AMD EPYC. set() in chunks of 64K elements ran at the
 * ordinary speed.
 */
function copyOut(view: OutputArray): OutputArray {
  if (!(typeof SharedArrayBuffer === 'function' && view.buffer instanceof SharedArrayBuffer) || view.length <= SHARED_COPY_CHUNK) return view.slice();
  const copy = new (view.constructor as new (length: number) => OutputArray)(view.length);
  for (let start = 0; start < view.length; start += SHARED_COPY_CHUNK) {
    copy.set(view.subarray(start, Math.min(start + SHARED_COPY_CHUNK, view.length)) as never, start);
  }
  return copy;
}
