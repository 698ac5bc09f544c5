// The contract between the benchmark harness and each system it measures:
// slope's backends and the peers (tfjs, jax-js, onnxruntime-web, plain
// JavaScript). The harness owns inputs, timing and the agreement check. A
// system only turns a workload's inputs into a closure that computes the
// workload's outputs on the host.

import type { HostTensor, WorkloadId } from './workloads.ts';

/** A workload's inputs by name (`a`, `b` for W1; `x`, `w`, `b` for W2). */
export type Inputs = Readonly<Record<string, HostTensor>>;

/** One system, such as 'tfjs-wasm' or 'jax-js-jit'. */
export interface System {
  /** Row label, unique within a run. */
  readonly name: string;
  /**
   * The library this system is a variant of ('jax-js' for both 'jax-js-jit'
   * and 'jax-js-eager', 'slope' for every slope backend). Ratios compare the
   * fastest successful variant of slope against that of each group.
   */
  readonly group: string;
  /**
   * Run each workload of this system in a fresh child process. Needed when
   * a library fixes a setting at initialization (onnxruntime-web's thread
   * count) so two variants cannot share one process.
   */
  readonly isolated?: boolean;
  /** Whether `setup` implements the workload; the others get no row. */
  supports(id: WorkloadId): boolean;
  /**
   * Loads the library once per process. Throws SystemUnavailableError when
   * the system cannot run here, so its rows show the reason instead of failing.
   */
  init(): Promise<void>;
  /**
   * Builds the workload on the given inputs: uploads tensors, builds graphs
   * or sessions. Not timed. It must copy any input it later mutates, because
   * every system receives the same arrays.
   */
  setup(id: WorkloadId, inputs: Inputs): Promise<Prepared>;
  /** Frees what `init` loaded; called once when the run ends. */
  dispose(): Promise<void>;
}

/** A workload built by a system, ready to run repeatedly. */
export interface Prepared {
  /**
   * Computes the workload once and returns its outputs as host arrays,
   * so the time includes reading the results back (dataSync / await data).
   * A training step updates the system's own parameters, so successive
   * calls do the same work on new values.
   */
  run(): Float32Array[] | Promise<Float32Array[]>;
  /**
   * Reorders `run` outputs into the workload's layout (NHWC, HWIO) when the
   * system computes in another (NCHW, OIHW). Only used by the agreement
   * check, so it is not timed.
   */
  toReference?(outputs: Float32Array[]): Float32Array[];
  /**
   * Turns the built workload into an executable and returns the time that
   * took in milliseconds. The system measures it itself because only the
   * system can tell which part of a first call is compilation. The harness calls it
   * once before the first `run`, and W6 reports it, taken in a fresh process.
   */
  compile?(): Promise<number>;
  /** Set when `run` computes something else on purpose (a memory copy). */
  readonly skipCheck?: string;
  /**
   * Bytes that one run moves, when it differs from the workload's figure;
   * used for the GB/s column of memory-bound workloads.
   */
  readonly bytesPerRun?: number;
  /**
   * The executable's working memory, reported for W3 and W4 by systems that
   * can measure it (slope's planner). Read once after the first run.
   */
  memory?(): MemoryReport;
  /** Frees the tensors, sessions or worker state of this workload. */
  dispose?(): void | Promise<void>;
}

/** Working memory of an executable at its busiest point. */
export interface MemoryReport {
  /** Bytes of the executable's buffers at that point. */
  readonly peakBytes: number;
  /** Bytes of the tensors that must be live at that point: the lower bound for `peakBytes`. */
  readonly requiredBytes: number;
}

/** Raised by `System.init` when the system cannot run in this checkout or on this machine. */
export class SystemUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SystemUnavailableError';
  }
}
