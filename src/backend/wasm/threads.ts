// Worker threads for the wasm backend. N - 1 Node.js worker_threads each
// instantiate the executable's compiled module over the same shared memory
// and wait for work. The calling thread runs its part of every split kernel
// itself, so run() stays synchronous.
//
// The threads meet in a control block of Int32 words in a
// SharedArrayBuffer. A split kernel's loop is cut into CHUNKS_PER_THREAD
// chunks per thread. To run it, the calling thread writes the kernel, the
// loop's size and the chunk count, bumps GENERATION and wakes the workers
// (Atomics.notify). Then every thread, the calling one included, claims the
// next chunk with a compare-and-swap on NEXT and runs it, until none is
// left. The calling thread waits until DONE counts every chunk, and the
// thread that finishes the last chunk wakes it. A worker that wakes late,
// or that another process keeps off the CPU, finds its work already taken
// by the others, so an unlucky schedule costs at most a chunk or two of
// waiting rather than a whole share. The chunks cover the same elements
// whichever thread runs them, so results do not depend on the schedule.
//
// NEXT holds the low 15 bits of the generation above the next chunk's
// index, so a worker that read an earlier generation cannot claim a chunk
// of a later one. The calling thread writes NEXT before the kernel's
// parameters, so a successful claim also proves that the parameters the
// worker read belong to its generation.
//
// A worker's state turns READY once it has instantiated the module. Before
// any worker is ready, the calling thread runs whole kernels alone, so a
// run never waits for a worker that is still starting. The workers are
// Node.js worker_threads or, in a cross-origin isolated page, Web Workers
// (thread-hosts.ts). A browser's main thread may not call Atomics.wait, so
// there the calling thread spins until the chunks are done.

import { BackendError } from '../../errors.ts';
import type { HostWorker, ThreadHost, WorkerData, WorkerEvents } from './thread-hosts.ts';
import { threadHost } from './thread-hosts.ts';

/** Control block words. */
const GENERATION = 0;
const NEXT = 1;
const DONE = 2;
const KERNEL = 3;
const SIZE = 4;
const ALIGN = 5;
const CHUNKS = 6;
const STOP = 7;
/** 1 + the index of the worker whose kernel threw, or 0. */
const FAILED_WORKER = 8;
const MESSAGE_LENGTH = 9;
/** Per worker: its state. */
const STATES = 16;
const READY = 1;
const STOPPED = 2;
const MESSAGE_BYTES = 1024;

/**
 * Chunks per thread: more balance the load when a thread runs late, but
 * each call of a contraction repeats the packing that it does once per
 * call.
 */
const CHUNKS_PER_THREAD = 4;
const MAX_CHUNKS = 0xffff;

/** Calls of Atomics.load before a waiting thread parks in Atomics.wait. */
const SPIN = 1000;

// Runs in each worker, after a host's prelude that calls runWorker. It is
// plain JavaScript that reads like a script or a module, so the worker needs
// no TypeScript loader and works whichever --input-type the process was
// started with. It reports a kernel's exception through the control block,
// because the calling thread is inside run() and cannot receive messages
// then.
export const WORKER_SOURCE = `
function runWorker(data, post) {
  const { module, memory, control, message, index, kernels, mathFields, scratchOffset } = data;
  const c = new Int32Array(control);
  let calls;
  try {
    const math = {};
    for (const field of mathFields) math[field] = Math[field];
    const instance = new WebAssembly.Instance(module, { env: { memory }, Math: math });
    calls = kernels.map((name) => instance.exports[name]);
  } catch (error) {
    Atomics.store(c, ${STATES} + index, ${STOPPED});
    post({ error: String(error && error.message || error) });
    calls = undefined;
  }
  if (calls !== undefined) {
    let seen = Atomics.load(c, ${GENERATION});
    Atomics.store(c, ${STATES} + index, ${READY});
    post({ ready: true });
    for (;;) {
      for (let i = 0; i < ${SPIN} && Atomics.load(c, ${GENERATION}) === seen; i++);
      Atomics.wait(c, ${GENERATION}, seen);
      const generation = Atomics.load(c, ${GENERATION});
      if (generation === seen) continue;
      seen = generation;
      if (Atomics.load(c, ${STOP}) !== 0) break;
      const call = calls[Atomics.load(c, ${KERNEL})];
      const size = Atomics.load(c, ${SIZE});
      const align = Atomics.load(c, ${ALIGN});
      const chunks = Atomics.load(c, ${CHUNKS});
      const units = Math.ceil(size / align);
      const bound = (chunk) => Math.min(size, Math.floor((units * chunk) / chunks) * align);
      const tag = (generation & 0x7fff) << 16;
      for (;;) {
        const next = Atomics.load(c, ${NEXT});
        if ((next & ~0xffff) !== tag || (next & 0xffff) >= chunks) break;
        if (Atomics.compareExchange(c, ${NEXT}, next, next + 1) !== next) continue;
        const chunk = next & 0xffff;
        try {
          call(bound(chunk), bound(chunk + 1), scratchOffset);
        } catch (error) {
          if (Atomics.compareExchange(c, ${FAILED_WORKER}, 0, index + 1) === 0) {
            const bytes = new TextEncoder().encode(String(error && error.message || error)).subarray(0, ${MESSAGE_BYTES});
            new Uint8Array(message).set(bytes);
            Atomics.store(c, ${MESSAGE_LENGTH}, bytes.length);
          }
        }
        if (Atomics.add(c, ${DONE}, 1) + 1 === chunks) Atomics.notify(c, ${DONE});
      }
    }
    Atomics.store(c, ${STATES} + index, ${STOPPED});
  }
}
`;

/** True when worker threads can be started: Node.js worker_threads (20.16 or later), or Web Workers in a cross-origin isolated page. */
export function workerThreadsAvailable(): boolean {
  return threadHost() !== undefined;
}

/** The compiled module, its memory and the names that each worker instantiates and calls. */
export interface PoolSetup {
  module: object;
  memory: object;
  /** Exported kernel functions, in execution order. */
  kernels: readonly string[];
  /** Fields of the host's Math object that the module imports. */
  mathFields: readonly string[];
  /** Workers to start: the thread count less the calling thread. */
  workers: number;
  /** Element offset (4-byte units) between the scratch regions of consecutive threads. */
  scratchStride: number;
}

/** A range of a kernel's split loop, and the scratch offset of the thread that runs it. */
export type KernelCall = (from: number, to: number, scratchOffset: number) => void;

export class ThreadPool {
  private readonly control: Int32Array;
  private readonly message: Uint8Array;
  private readonly workers: HostWorker[] = [];
  private readonly readyPromise: Promise<number>;
  private readonly callerCanWait: boolean;
  private disposed = false;

  /** Starts the workers on `host`, by default the one that threadHost() finds; throws when there is none. */
  constructor(private readonly setup: PoolSetup, host: ThreadHost | undefined = threadHost()) {
    if (host === undefined) throw new Error('internal: a thread pool was requested where no worker threads can be started');
    this.callerCanWait = host.callerCanWait;
    this.control = new Int32Array(new SharedArrayBuffer(4 * (STATES + setup.workers)));
    this.message = new Uint8Array(new SharedArrayBuffer(MESSAGE_BYTES));
    const started: Promise<void>[] = [];
    for (let index = 0; index < setup.workers; index++) {
      const data: WorkerData = {
        module: setup.module,
        memory: setup.memory,
        control: this.control.buffer as SharedArrayBuffer,
        message: this.message.buffer as SharedArrayBuffer,
        index,
        kernels: setup.kernels,
        mathFields: setup.mathFields,
        scratchOffset: (index + 1) * setup.scratchStride,
      };
      // A starting worker keeps the process alive, so that awaiting ready() does not end it; a started one does not.
      started.push(new Promise((resolve, reject) => {
        const events: WorkerEvents = {
          report: (value) => {
            worker?.release();
            if (value.ready === true) resolve();
            else reject(new BackendError(`Error in compile: worker thread ${index + 1} failed to instantiate the module: ${value.error}`));
          },
          error: (message) => {
            worker?.release();
            Atomics.store(this.control, STATES + index, STOPPED);
            reject(new BackendError(`Error in compile: worker thread ${index + 1} failed: ${message}`));
          },
          exit: () => {
            Atomics.store(this.control, STATES + index, STOPPED);
            resolve();
          },
        };
        let worker: HostWorker | undefined;
        try {
          worker = host.startWorker(WORKER_SOURCE, data, events);
        } catch (error) {
          // A browser's Worker constructor may throw: a SecurityError, for one.
          reject(new BackendError(`Error in compile: worker thread ${index + 1} failed to start: ${(error as Error).message}`));
          return;
        }
        this.workers.push(worker);
      }));
    }
    this.readyPromise = Promise.all(started).then(() => 1 + this.readyWorkers().length);
    // A rejection is reported through ready(); an unobserved one must not end the process.
    this.readyPromise.catch(() => {});
  }

  /** Resolves when every worker has started (or stopped), to the number of threads that split kernels run on. */
  ready(): Promise<number> {
    return this.readyPromise;
  }

  /** Returns the number of threads that can take work now: the calling thread and the ready workers. */
  activeThreads(): number {
    return 1 + this.readyWorkers().length;
  }

  private readyWorkers(): number[] {
    const ready: number[] = [];
    if (this.disposed) return ready;
    for (let index = 0; index < this.setup.workers; index++) {
      if (Atomics.load(this.control, STATES + index) === READY) ready.push(index);
    }
    return ready;
  }

  /**
   * Runs kernel `kernel` over [0, size) of its split loop, cut into chunks
   * that start at multiples of `align`. The calling thread runs chunks
   * through `call` too and returns once every chunk has finished.
   */
  run(kernel: number, call: KernelCall, size: number, align: number): void {
    const workers = this.readyWorkers().length;
    const units = Math.ceil(size / align);
    const chunks = Math.min(units, (1 + workers) * CHUNKS_PER_THREAD, MAX_CHUNKS);
    if (workers === 0 || chunks <= 1) {
      call(0, size, 0);
      return;
    }
    const c = this.control;
    const generation = (Atomics.load(c, GENERATION) + 1) | 0;
    const tag = (generation & 0x7fff) << 16;
    // NEXT first: a worker still in an earlier generation fails its claim from here on.
    Atomics.store(c, NEXT, tag);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, KERNEL, kernel);
    Atomics.store(c, SIZE, size);
    Atomics.store(c, ALIGN, align);
    Atomics.store(c, CHUNKS, chunks);
    Atomics.store(c, GENERATION, generation);
    Atomics.notify(c, GENERATION);

    // The bounds are computed as the workers compute them.
    const bound = (chunk: number) => Math.min(size, Math.floor((units * chunk) / chunks) * align);
    let failure: unknown;
    for (;;) {
      const next = Atomics.load(c, NEXT);
      if ((next & 0xffff) >= chunks) break;
      if (Atomics.compareExchange(c, NEXT, next, next + 1) !== next) continue;
      const chunk = next & 0xffff;
      try {
        call(bound(chunk), bound(chunk + 1), 0);
      } catch (error) {
        failure ??= error;
      }
      Atomics.add(c, DONE, 1);
    }
    this.waitForChunks(chunks);
    if (failure !== undefined) throw failure;
    this.raiseWorkerFailure(kernel);
  }

  // NOTE: a worker that dies while it runs a chunk (killed by a resource
  // limit) is not detected here, and the wait does not end.
  private waitForChunks(chunks: number): void {
    const c = this.control;
    if (!this.callerCanWait) {
      // A browser's main thread: Atomics.wait throws there.
      while (Atomics.load(c, DONE) !== chunks);
      return;
    }
    for (let i = 0; i < SPIN && Atomics.load(c, DONE) !== chunks; i++);
    for (;;) {
      const done = Atomics.load(c, DONE);
      if (done === chunks) return;
      Atomics.wait(c, DONE, done);
    }
  }

  private raiseWorkerFailure(kernel: number): void {
    const worker = Atomics.load(this.control, FAILED_WORKER);
    if (worker === 0) return;
    const text = new TextDecoder().decode(this.message.slice(0, Atomics.load(this.control, MESSAGE_LENGTH)));
    Atomics.store(this.control, FAILED_WORKER, 0);
    throw new BackendError(`Error in run: kernel ${this.setup.kernels[kernel]} failed in worker thread ${worker}: ${text}`);
  }

  /** Stops the workers; later runs use the calling thread alone. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    for (const worker of this.workers) void worker.terminate();
  }
}
