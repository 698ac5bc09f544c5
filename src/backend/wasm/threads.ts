// Worker threads for the wasm backend. N - 1 Node.js worker_threads each
// instantiate the executable's compiled module over the same shared memory
// and wait for work. The calling thread runs one share of every split
// kernel itself, so run() stays synchronous.
//
// The threads meet in a control block of Int32 words in a
// SharedArrayBuffer. To run a kernel, the calling thread writes each
// worker's range into the worker's slot together with the new generation
// number, sets PENDING to the number of workers taking part, bumps GENERATION
// and wakes them (Atomics.notify). Each worker runs its range, and the last
// one to finish wakes the calling thread, which has run its own range
// meanwhile and waits for PENDING to reach 0.
//
// A worker takes part only once it has set its state to READY, which it
// does after instantiating the module; until then the calling thread runs
// the whole kernel, so a run never waits for a worker that is still
// starting. The core does not import Node modules: worker_threads and os are
// looked up through process.getBuiltinModule, and without them (a browser)
// the backend builds the single-threaded module instead.

import { BackendError } from '../../errors.ts';

/** Control block words. */
const GENERATION = 0;
const PENDING = 1;
const KERNEL = 2;
const STOP = 3;
/** 1 + the index of the worker whose kernel threw, or 0. */
const FAILED_WORKER = 4;
const MESSAGE_LENGTH = 5;
/** Per worker: state, the generation it is assigned, range start, range end. */
const SLOTS = 8;
const SLOT_WORDS = 4;
const READY = 1;
const STOPPED = 2;
const MESSAGE_BYTES = 1024;

/** Calls of Atomics.load before a waiting thread parks in Atomics.wait. */
const SPIN = 1000;

// Runs in each worker. It is plain JavaScript that reads like a script or a
// module, so the worker needs no TypeScript loader and works whichever
// --input-type the process was started with.
// It reports a kernel's exception through the control block, because the
// calling thread blocks in Atomics.wait and cannot receive messages then.
const WORKER_SOURCE = `
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
const { module, memory, control, message, index, kernels, mathFields, scratchOffset } = workerData;
const c = new Int32Array(control);
const slot = ${SLOTS} + index * ${SLOT_WORDS};
let calls;
try {
  const math = {};
  for (const field of mathFields) math[field] = Math[field];
  const instance = new WebAssembly.Instance(module, { env: { memory }, Math: math });
  calls = kernels.map((name) => instance.exports[name]);
} catch (error) {
  Atomics.store(c, slot, ${STOPPED});
  parentPort.postMessage({ error: String(error && error.message || error) });
  calls = undefined;
}
if (calls !== undefined) {
  let seen = Atomics.load(c, ${GENERATION});
  Atomics.store(c, slot, ${READY});
  parentPort.postMessage({ ready: true });
  for (;;) {
    for (let i = 0; i < ${SPIN} && Atomics.load(c, ${GENERATION}) === seen; i++);
    Atomics.wait(c, ${GENERATION}, seen);
    const generation = Atomics.load(c, ${GENERATION});
    if (generation === seen) continue;
    seen = generation;
    if (Atomics.load(c, ${STOP}) !== 0) break;
    if (Atomics.load(c, slot + 1) !== generation) continue;
    try {
      calls[Atomics.load(c, ${KERNEL})](Atomics.load(c, slot + 2), Atomics.load(c, slot + 3), scratchOffset);
    } catch (error) {
      if (Atomics.compareExchange(c, ${FAILED_WORKER}, 0, index + 1) === 0) {
        const bytes = new TextEncoder().encode(String(error && error.message || error)).subarray(0, ${MESSAGE_BYTES});
        new Uint8Array(message).set(bytes);
        Atomics.store(c, ${MESSAGE_LENGTH}, bytes.length);
      }
    }
    if (Atomics.sub(c, ${PENDING}, 1) === 1) Atomics.notify(c, ${PENDING});
  }
  Atomics.store(c, slot, ${STOPPED});
}
`;

interface NodeWorker {
  on(event: 'message', listener: (value: { ready?: boolean; error?: string }) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  on(event: 'exit', listener: (code: number) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

interface WorkerThreadsModule {
  Worker: new (source: string, options: { eval: true; execArgv: string[]; workerData: unknown }) => NodeWorker;
}

interface NodeProcess {
  getBuiltinModule?(name: string): unknown;
}

function builtinModule<T>(name: string): T | undefined {
  const process = (globalThis as { process?: NodeProcess }).process;
  try {
    return process?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** True when worker threads can be started: Node.js 20.16 or later. */
export function workerThreadsAvailable(): boolean {
  return builtinModule<WorkerThreadsModule>('node:worker_threads') !== undefined;
}

/** Returns the default thread count: os.availableParallelism() in Node.js, navigator.hardwareConcurrency elsewhere, else 1. */
export function defaultThreadCount(): number {
  const os = builtinModule<{ availableParallelism?(): number }>('node:os');
  const cores = os?.availableParallelism?.() ?? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof cores === 'number' && Number.isInteger(cores) && cores >= 1 ? cores : 1;
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
  private readonly workers: NodeWorker[] = [];
  private readonly readyPromise: Promise<number>;
  private disposed = false;

  constructor(private readonly setup: PoolSetup) {
    const { Worker } = builtinModule<WorkerThreadsModule>('node:worker_threads')!;
    this.control = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + SLOT_WORDS * setup.workers)));
    this.message = new Uint8Array(new SharedArrayBuffer(MESSAGE_BYTES));
    const started: Promise<void>[] = [];
    for (let index = 0; index < setup.workers; index++) {
      // execArgv is empty so that the worker does not load the process's --import hooks, such as a TypeScript loader.
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        execArgv: [],
        workerData: {
          module: setup.module,
          memory: setup.memory,
          control: this.control.buffer,
          message: this.message.buffer,
          index,
          kernels: setup.kernels,
          mathFields: setup.mathFields,
          scratchOffset: (index + 1) * setup.scratchStride,
        },
      });
      // A starting worker keeps the process alive, so that awaiting ready() does not end it; a started one does not.
      started.push(new Promise((resolve, reject) => {
        worker.on('message', (value) => {
          worker.unref();
          if (value.ready === true) resolve();
          else reject(new BackendError(`Error in compile: worker thread ${index + 1} failed to instantiate the module: ${value.error}`));
        });
        worker.on('error', (error) => {
          worker.unref();
          Atomics.store(this.control, SLOTS + index * SLOT_WORDS, STOPPED);
          reject(new BackendError(`Error in compile: worker thread ${index + 1} failed: ${error.message}`));
        });
        worker.on('exit', () => {
          Atomics.store(this.control, SLOTS + index * SLOT_WORDS, STOPPED);
          resolve();
        });
      }));
      this.workers.push(worker);
    }
    this.readyPromise = Promise.all(started).then(() => 1 + this.readyWorkers().length);
    // A rejection is reported through ready(); an unobserved one must not end the process.
    this.readyPromise.catch(() => {});
  }

  /** Resolves when every worker has started (or stopped), to the number of threads that split kernels run on. */
  ready(): Promise<number> {
    return this.readyPromise;
  }

  private readyWorkers(): number[] {
    const ready: number[] = [];
    if (this.disposed) return ready;
    for (let index = 0; index < this.setup.workers; index++) {
      if (Atomics.load(this.control, SLOTS + index * SLOT_WORDS) === READY) ready.push(index);
    }
    return ready;
  }

  /**
   * Runs kernel `kernel` over [0, size) of its split loop, split into
   * ranges that start at multiples of `align`. The calling thread runs the
   * first range through `call` and returns once every worker has finished.
   */
  run(kernel: number, call: KernelCall, size: number, align: number): void {
    const workers = this.readyWorkers();
    const units = Math.ceil(size / align);
    const threads = Math.min(1 + workers.length, units);
    if (threads <= 1) {
      call(0, size, 0);
      return;
    }
    const bound = (t: number) => Math.min(size, Math.floor((units * t) / threads) * align);
    const c = this.control;
    const generation = (Atomics.load(c, GENERATION) + 1) | 0;
    Atomics.store(c, KERNEL, kernel);
    Atomics.store(c, PENDING, threads - 1);
    for (let t = 1; t < threads; t++) {
      const slot = SLOTS + workers[t - 1]! * SLOT_WORDS;
      Atomics.store(c, slot + 2, bound(t));
      Atomics.store(c, slot + 3, bound(t + 1));
      Atomics.store(c, slot + 1, generation);
    }
    Atomics.store(c, GENERATION, generation);
    Atomics.notify(c, GENERATION);

    let failure: unknown;
    try {
      call(0, bound(1), 0);
    } catch (error) {
      failure = error;
    }
    this.waitForWorkers();
    if (failure !== undefined) throw failure;
    this.raiseWorkerFailure(kernel);
  }

  // NOTE: a worker that dies without reaching its Atomics.sub (killed by a
  // resource limit) is not detected here, and the wait does not end.
  private waitForWorkers(): void {
    const c = this.control;
    for (let i = 0; i < SPIN && Atomics.load(c, PENDING) !== 0; i++);
    for (;;) {
      const pending = Atomics.load(c, PENDING);
      if (pending === 0) return;
      Atomics.wait(c, PENDING, pending);
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
