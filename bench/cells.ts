// A cell is one system set up for one workload: its first outputs for the
// agreement check, then its timed runs. A cell lives either in this process
// or in a child process (systems marked `isolated`, and every W6 sample).
// Both kinds run the same code, so the timing loop never crosses a process
// boundary and message passing stays out of the measured times.

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

import type { Protocol } from './measure.ts';
import { timeRuns } from './measure.ts';
import type { SystemModule } from './registry.ts';
import type { Inputs, MemoryReport, System } from './system.ts';
import { SystemUnavailableError } from './system.ts';
import type { WorkloadId } from './workloads.ts';

/** Results of opening a cell, known before any run is timed. */
export interface CellInfo {
  /** Outputs of the first run, copied and in the workload's reference layout. */
  readonly outputs: Float32Array[];
  /** Milliseconds `Prepared.compile` reported, or null when the system has no compile step. */
  readonly compileMs: number | null;
  readonly skipCheck: string | null;
  readonly bytesPerRun: number | null;
  readonly memory: MemoryReport | null;
}

export interface Cell extends CellInfo {
  /**
   * Runs the rest of the warm-up and the timed runs; returns the timed
   * runs' milliseconds. The first run, made when the cell opened, counts as
   * the first warm-up run.
   */
  time(protocol: Protocol): Promise<number[]>;
  close(): Promise<void>;
}

/** Sets up `system` for workload `id` in this process and runs it once. */
export async function openLocalCell(system: System, id: WorkloadId, inputs: Inputs): Promise<Cell> {
  const prepared = await system.setup(id, inputs);
  try {
    const compileMs = prepared.compile === undefined ? null : await prepared.compile();
    // Copy: a system may return buffers that its next run overwrites.
    const first = (await prepared.run()).map((output) => output.slice());
    const outputs = prepared.toReference === undefined ? first : prepared.toReference(first);
    return {
      outputs,
      compileMs,
      skipCheck: prepared.skipCheck ?? null,
      bytesPerRun: prepared.bytesPerRun ?? null,
      memory: prepared.memory?.() ?? null,
      time: (protocol) => timeRuns(prepared, protocol, 1),
      close: async () => {
        await prepared.dispose?.();
      },
    };
  } catch (error) {
    await prepared.dispose?.();
    throw error;
  }
}

/** Messages from the parent to a child process (bench/child.ts). */
export type ChildRequest =
  | { type: 'open'; module: SystemModule; system: string; workload: WorkloadId; seed: number }
  | { type: 'time'; protocol: Protocol }
  | { type: 'close' };

/** Messages from a child process back to the parent. */
export type ChildReply =
  | { type: 'opened'; info: CellInfo }
  | { type: 'timed'; times: number[] }
  | { type: 'closed' }
  | { type: 'error'; message: string; unavailable: boolean };

const CHILD_ENTRY = new URL('./child.ts', import.meta.url);

/** A child process that serves one request at a time. */
class ChildConnection {
  private readonly child: ChildProcess;
  private pending: { resolve: (reply: ChildReply) => void; reject: (error: Error) => void } | undefined;
  private exitError: Error | undefined;

  constructor() {
    // The child inherits this process's loader flags (tsx), and its stdout
    // goes to our stderr so that results on stdout stay clean.
    this.child = fork(CHILD_ENTRY, [], {
      execArgv: process.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 2, 2, 'ipc'],
    });
    this.child.on('message', (reply: ChildReply) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(reply);
    });
    this.child.on('exit', (code, signal) => {
      this.exitError = new Error(`child process exited before replying (code ${code}, signal ${signal}); its stderr above shows why`);
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(this.exitError);
    });
    this.child.on('error', (error) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error);
    });
  }

  /** Sends `request` and resolves with the reply, raising the child's error as an exception. */
  async request(request: ChildRequest): Promise<ChildReply> {
    if (this.exitError !== undefined) throw this.exitError;
    const reply = await new Promise<ChildReply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.send(request);
    });
    if (reply.type === 'error') {
      throw reply.unavailable ? new SystemUnavailableError(reply.message) : new Error(reply.message);
    }
    return reply;
  }

  async close(): Promise<void> {
    if (this.exitError === undefined) {
      try {
        await this.request({ type: 'close' });
      } catch {
        // The child is going away either way; kill it below.
      }
    }
    this.child.kill();
  }
}

/**
 * Opens a cell in a fresh child process, which creates system `name` from
 * `module` and regenerates the workload's inputs from `seed`.
 */
export async function openChildCell(module: SystemModule, name: string, id: WorkloadId, seed: number): Promise<Cell> {
  const connection = new ChildConnection();
  try {
    const reply = await connection.request({ type: 'open', module, system: name, workload: id, seed });
    if (reply.type !== 'opened') throw new Error(`internal: expected 'opened' from the child, got '${reply.type}'`);
    return {
      ...reply.info,
      time: async (protocol) => {
        const timed = await connection.request({ type: 'time', protocol });
        if (timed.type !== 'timed') throw new Error(`internal: expected 'timed' from the child, got '${timed.type}'`);
        return timed.times;
      },
      close: () => connection.close(),
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}
