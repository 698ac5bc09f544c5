// Hosts that start the wasm backend's worker threads. The worker's code
// (threads.ts) is one JavaScript source for every host. It defines
// runWorker(data, post), and a host prepends a few lines that receive the
// worker's data and call it:
//
//   Node.js   worker_threads, started from the source with `eval: true`;
//             the data arrives as workerData.
//   browser   Web Workers, started from a Blob URL of the source; the data
//             arrives as the first message. Needs a cross-origin isolated
//             page, because only those may share a SharedArrayBuffer or a
//             shared WebAssembly.Memory with a worker.
//
// The core does not import Node modules: worker_threads and os are looked up
// through process.getBuiltinModule. Without either host the backend builds
// the single-threaded module.

/** The data that a worker receives: the module to instantiate, the shared memory and the control block. */
export interface WorkerData {
  module: object;
  memory: object;
  control: SharedArrayBuffer;
  message: SharedArrayBuffer;
  index: number;
  kernels: readonly string[];
  mathFields: readonly string[];
  scratchOffset: number;
}

/** A worker's first and only message: it instantiated the module, or why it could not. */
export interface WorkerReport {
  ready?: boolean;
  error?: string;
}

export interface WorkerEvents {
  report(value: WorkerReport): void;
  /** The worker's script failed: an uncaught exception, or a source the host rejected. */
  error(message: string): void;
  /** The worker ended; Node.js only, since a browser reports no exit. */
  exit(): void;
}

export interface HostWorker {
  /** Lets the process exit while this worker idles; a no-op in browsers. */
  release(): void;
  terminate(): void;
}

export interface ThreadHost {
  readonly kind: 'node' | 'browser';
  /**
   * False on a browser's main thread, where Atomics.wait throws, so the
   * calling thread spins on Atomics.load while it waits for the workers.
   */
  readonly callerCanWait: boolean;
  /** Starts a worker that runs `source`, a script that defines runWorker(data, post). */
  startWorker(source: string, data: WorkerData, events: WorkerEvents): HostWorker;
}

interface NodeWorker {
  on(event: 'message', listener: (value: WorkerReport) => void): void;
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

/** The part of the Web Worker API that the browser host uses. */
export interface WebWorker {
  onmessage: ((event: { data: WorkerReport }) => void) | null;
  onerror: ((event: { message?: string }) => void) | null;
  postMessage(value: unknown): void;
  terminate(): void;
}

export type WebWorkerConstructor = new (url: string) => WebWorker;

interface BrowserGlobals {
  Worker?: unknown;
  crossOriginIsolated?: unknown;
  Blob?: new (parts: string[], options: { type: string }) => object;
  URL?: { createObjectURL?(blob: object): string };
  WorkerGlobalScope?: unknown;
  navigator?: { hardwareConcurrency?: number };
}

function builtinModule<T>(name: string): T | undefined {
  const process = (globalThis as { process?: NodeProcess }).process;
  try {
    return process?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

const NODE_PRELUDE = `
const { workerData, parentPort } = process.getBuiltinModule('node:worker_threads');
runWorker(workerData, (value) => parentPort.postMessage(value));
`;

function nodeHost(threads: WorkerThreadsModule): ThreadHost {
  return {
    kind: 'node',
    callerCanWait: true,
    startWorker(source, data, events) {
      // execArgv is empty so that the worker does not load the process's --import hooks, such as a TypeScript loader.
      const worker = new threads.Worker(NODE_PRELUDE + source, { eval: true, execArgv: [], workerData: data });
      worker.on('message', events.report);
      worker.on('error', (error) => events.error(error.message));
      worker.on('exit', () => events.exit());
      return {
        release: () => worker.unref(),
        terminate: () => void worker.terminate(),
      };
    },
  };
}

// The worker blocks in runWorker for good, so it takes the first message only.
const BROWSER_PRELUDE = `
self.onmessage = (event) => {
  self.onmessage = null;
  runWorker(event.data, (value) => self.postMessage(value));
};
`;

/** Blob URLs of worker sources. Each lives as long as the page, because a worker may fetch it after its constructor returns. */
const sourceUrls = new Map<string, string>();

function sourceUrl(source: string, globals: BrowserGlobals): string {
  let url = sourceUrls.get(source);
  if (url === undefined) {
    url = globals.URL!.createObjectURL!(new globals.Blob!([BROWSER_PRELUDE + source], { type: 'text/javascript' }));
    sourceUrls.set(source, url);
  }
  return url;
}

/**
 * Returns the Web Worker host, or undefined when this context cannot share
 * memory with Web Workers: no Worker, no Blob URLs, or a page that is not
 * cross-origin isolated.
 */
export function browserHost(globals: BrowserGlobals = globalThis as BrowserGlobals): ThreadHost | undefined {
  if (typeof globals.Worker !== 'function' || globals.crossOriginIsolated !== true) return undefined;
  if (typeof globals.Blob !== 'function' || typeof globals.URL?.createObjectURL !== 'function') return undefined;
  const Worker = globals.Worker as WebWorkerConstructor;
  // A dedicated worker may block in Atomics.wait; a window's main thread may not.
  const scope = globals.WorkerGlobalScope;
  const inWorker = typeof scope === 'function' && globals instanceof scope;
  return {
    kind: 'browser',
    callerCanWait: inWorker,
    startWorker(source, data, events) {
      const worker = new Worker(sourceUrl(source, globals));
      worker.onmessage = (event) => events.report(event.data);
      worker.onerror = (event) => events.error(event.message ?? 'the worker script failed');
      worker.postMessage(data);
      return {
        release: () => {},
        terminate: () => worker.terminate(),
      };
    },
  };
}

/** Returns the host to start worker threads on: Node.js worker_threads, else Web Workers, else undefined. */
export function threadHost(): ThreadHost | undefined {
  const threads = builtinModule<WorkerThreadsModule>('node:worker_threads');
  return threads === undefined ? browserHost() : nodeHost(threads);
}

/** Returns the default thread count: os.availableParallelism() in Node.js, navigator.hardwareConcurrency elsewhere, else 1. */
export function defaultThreadCount(): number {
  const os = builtinModule<{ availableParallelism?(): number }>('node:os');
  const cores = os?.availableParallelism?.() ?? (globalThis as BrowserGlobals).navigator?.hardwareConcurrency;
  return typeof cores === 'number' && Number.isInteger(cores) && cores >= 1 ? cores : 1;
}
