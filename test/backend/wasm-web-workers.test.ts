// The wasm backend's Web Worker path, run in Node.js: process.getBuiltinModule
// finds no worker_threads, and the globals of a cross-origin isolated page
// (Worker, crossOriginIsolated) are stubbed, with FakeWebWorker standing in
// for Worker. The calling thread's Atomics.wait throws, as on a browser's
// main thread. Split kernels must equal one thread bit for bit, and without
// isolation or without Worker the backend must fall back to one thread.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BackendError, compile, graph, Rng } from '../../src/index.ts';
import type { Feeds, Node } from '../../src/index.ts';
import { encodeModule } from '../../src/backend/wasm/encoder.ts';
import { wasmFeatures } from '../../src/backend/wasm/features.ts';
import { webAssembly } from '../../src/backend/wasm/host.ts';
import type { ThreadHost } from '../../src/backend/wasm/thread-hosts.ts';
import { browserHost, threadHost } from '../../src/backend/wasm/thread-hosts.ts';
import { ThreadPool } from '../../src/backend/wasm/threads.ts';
import { expectIdentical } from './compare.ts';
import { FakeWebWorker } from './fake-web-worker.ts';

const getBuiltinModule = process.getBuiltinModule.bind(process);

/** Stubs a browser page: no Node.js builtins but os (unless `withOs` is false), and the given globals. */
function stubBrowser(globals: Record<string, unknown>, withOs = true): void {
  vi.spyOn(process, 'getBuiltinModule').mockImplementation(((name: string) => (withOs && name === 'node:os' ? getBuiltinModule(name) : undefined)) as typeof process.getBuiltinModule);
  for (const [name, value] of Object.entries(globals)) vi.stubGlobal(name, value);
}

/** Makes the calling thread's Atomics.wait throw, as it does on a browser's main thread. */
function forbidAtomicsWait() {
  return vi.spyOn(Atomics, 'wait').mockImplementation(() => {
    throw new TypeError('Atomics.wait cannot be called in this context');
  });
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  FakeWebWorker.reset();
});

describe.runIf(wasmFeatures().threads)('wasm backend on Web Workers', () => {
  beforeEach(() => {
    stubBrowser({ Worker: FakeWebWorker, crossOriginIsolated: true });
  });

  it('picks the Web Worker host in an isolated page', () => {
    const host = threadHost();
    expect(host?.kind).toBe('browser');
    expect(host?.callerCanWait).toBe(false);
  });

  it('lets a dedicated worker park in Atomics.wait', () => {
    // A dedicated worker's global object is a WorkerGlobalScope, and Atomics.wait works there.
    class WorkerGlobalScope {}
    const globals = Object.assign(new WorkerGlobalScope(), { Worker: FakeWebWorker, crossOriginIsolated: true, Blob, URL, WorkerGlobalScope });
    expect(browserHost(globals)?.callerCanWait).toBe(true);
    expect(browserHost({ ...globals, crossOriginIsolated: false })).toBeUndefined();
  });

  const rng = new Rng(11);
  const uniform = (n: number, dtype: 'float32' | 'float64') => {
    const values = Array.from({ length: n }, () => rng.uniform(-1, 1));
    return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  };

  /** A matmul and a conv2d whose sizes are not multiples of 4 or of the register tiles. */
  function contractions(dtype: 'float32' | 'float64'): { name: string; output: Node; feeds: Feeds }[] {
    const g = graph();
    const a = g.input('a', [37, 29], dtype);
    const b = g.input('b', [29, 23], dtype);
    const bias = g.input('bias', [23], dtype);
    const x = g.input('x', [5, 7, 9, 5], dtype);
    const w = g.input('w', [3, 3, 5, 6], dtype);
    const cb = g.input('cb', [6], dtype);
    return [
      { name: 'matmul + bias + leakyRelu', output: a.matmul(b, { bias, activation: (h) => h.leakyRelu(0.2) }), feeds: { a: uniform(37 * 29, dtype), b: uniform(29 * 23, dtype), bias: uniform(23, dtype) } },
      { name: 'conv2d + bias + leakyRelu', output: x.conv2d(w, { padding: 'same' }).add(cb).leakyRelu(0.2), feeds: { x: uniform(5 * 7 * 9 * 5, dtype), w: uniform(3 * 3 * 5 * 6, dtype), cb: uniform(6, dtype) } },
    ];
  }

  for (const dtype of ['float32', 'float64'] as const) {
    it(`splits ${dtype} contractions equal to one thread`, async () => {
      const wait = forbidAtomicsWait();
      for (const { name, output, feeds } of contractions(dtype)) {
        const expected = compile(output, { backend: 'wasm', threads: 1 }).run(feeds);
        const exe = compile(output, { backend: 'wasm', threads: 2, threadThreshold: 0 });
        try {
          expect(exe.threads, name).toBe(2);
          expect(await exe.ready(), name).toBe(2);
          expect(exe.activeThreads, name).toBe(2);
          expect(exe.kernels[0]!.parallelLoop?.name, name).toBe('i0');
          expectIdentical(exe.run(feeds)[0]!, expected[0]!, `${name} on 2 Web Workers`);
        } finally {
          exe.dispose();
        }
      }
      expect(FakeWebWorker.started.length).toBe(2);
      for (const { url } of FakeWebWorker.started) expect(url).toMatch(/^blob:/);
      expect(wait).not.toHaveBeenCalled();
    }, 30_000);
  }

  it('takes the default thread count from navigator.hardwareConcurrency', async () => {
    stubBrowser({ navigator: { hardwareConcurrency: 3 } }, false);
    const [{ output, feeds }] = contractions('float32');
    const exe = compile(output!, { backend: 'wasm', threadThreshold: 0 });
    try {
      expect(exe.threads).toBe(3);
      expect(await exe.ready()).toBe(3);
      expect(FakeWebWorker.started.length).toBe(2);
      expectIdentical(exe.run(feeds!)[0]!, compile(output!, { backend: 'wasm', threads: 1 }).run(feeds!)[0]!, 'default threads');
    } finally {
      exe.dispose();
    }
  }, 30_000);
});

describe.runIf(wasmFeatures().threads)('calling thread waiting for a slow worker', () => {
  // k0 sets word 0 of the memory and counts to 3 * 10^7 when its scratch offset is not 0, which only a worker's is.
  // The calling thread's chunk returns once the worker has started its slow chunk, so the calling thread must wait.
  function slowWorkerPool(host: ThreadHost): { pool: ThreadPool; waitForWorker: () => void } {
    const bytes = encodeModule({
      memory: { module: 'env', field: 'memory', minPages: 1, maxPages: 1, shared: true },
      imports: [],
      functions: [{
        name: 'k0',
        exportAs: 'k0',
        type: { params: ['i32', 'i32', 'i32'], results: [] },
        localNames: ['from', 'to', 'scratch', 'count'],
        locals: ['i32'],
        body: [
          ['local.get', 2], ['if'],
          ['i32.const', 0], ['i32.const', 1], ['i32.store', 2, 0],
          ['loop'],
          ['local.get', 3], ['i32.const', 1], ['i32.add'], ['local.tee', 3], ['i32.const', 30_000_000], ['i32.lt_u'], ['br_if', 0],
          ['end'],
          ['end'],
        ],
      }],
    });
    const api = webAssembly()!;
    const memory = new api.Memory({ initial: 1, maximum: 1, shared: true });
    const flag = new Int32Array(memory.buffer, 0, 1);
    const pool = new ThreadPool({ module: new api.Module(bytes), memory, kernels: ['k0'], mathFields: [], workers: 1, scratchStride: 1 }, host);
    const waitForWorker = () => {
      const deadline = Date.now() + 10_000;
      while (Atomics.load(flag, 0) === 0 && Date.now() < deadline);
    };
    return { pool, waitForWorker };
  }

  it('spins instead of Atomics.wait on the Web Worker host', async () => {
    stubBrowser({ Worker: FakeWebWorker, crossOriginIsolated: true });
    const wait = forbidAtomicsWait();
    const { pool, waitForWorker } = slowWorkerPool(threadHost()!);
    try {
      expect(await pool.ready()).toBe(2);
      let calls = 0;
      pool.run(0, () => {
        calls++;
        waitForWorker();
      }, 2, 1);
      expect(calls).toBe(1);
      expect(wait).not.toHaveBeenCalled();
    } finally {
      pool.dispose();
    }
  });

  it('parks in Atomics.wait on the Node.js host', async () => {
    // The same schedule on worker_threads shows that the run above would have waited.
    const wait = vi.spyOn(Atomics, 'wait');
    const { pool, waitForWorker } = slowWorkerPool(threadHost()!);
    try {
      expect(await pool.ready()).toBe(2);
      pool.run(0, waitForWorker, 2, 1);
      expect(wait).toHaveBeenCalled();
    } finally {
      pool.dispose();
    }
  });
});

describe.runIf(wasmFeatures().threads)('Web Workers that fail to start', () => {
  class ThrowingWorker {
    constructor() {
      throw new DOMException('blob: workers are blocked', 'SecurityError');
    }
  }

  // Fires onerror as a browser does for a worker script that fails to load.
  class FailingWorker {
    onmessage: unknown = null;
    onerror: ((event: { message: string }) => void) | null = null;
    postMessage(): void {
      setTimeout(() => this.onerror?.({ message: 'script failed to load' }), 0);
    }
    terminate(): void {}
  }

  it.each([
    ['a throwing constructor', ThrowingWorker, /worker thread 1 failed to start: blob: workers are blocked/],
    ['an error event', FailingWorker, /worker thread 1 failed: script failed to load/],
  ])('rejects ready() after %s', async (_, Worker, message) => {
    stubBrowser({ Worker, crossOriginIsolated: true });
    const g = graph();
    const a = g.input('a', [6, 6]);
    const node = a.matmul(a);
    const exe = compile(node, { backend: 'wasm', threads: 2, threadThreshold: 0 });
    await expect(exe.ready()).rejects.toThrow(BackendError);
    await expect(exe.ready()).rejects.toThrow(message);
    expect(exe.activeThreads).toBe(1);
    const input = Float32Array.from({ length: 36 }, (_, i) => i / 7);
    expectIdentical(exe.run({ a: input })[0]!, compile(node, { backend: 'wasm', threads: 1 }).run({ a: input })[0]!, 'after a failed start');
    exe.dispose();
  });
});

describe('wasm backend without Web Workers', () => {
  function matmul(): Node {
    const g = graph();
    const a = g.input('a', [6, 6]);
    return a.matmul(a);
  }

  it.each([
    ['a page that is not cross-origin isolated', { Worker: FakeWebWorker, crossOriginIsolated: false }],
    ['no Worker', { crossOriginIsolated: true }],
  ])('runs on one thread in %s', async (_, globals) => {
    stubBrowser(globals);
    expect(threadHost()).toBeUndefined();
    const node = matmul();
    const exe = compile(node, { backend: 'wasm', threads: 2, threadThreshold: 0 });
    expect(exe.threads).toBe(1);
    expect(exe.activeThreads).toBe(1);
    expect(await exe.ready()).toBe(1);
    expect(exe.moduleText).not.toContain('shared');
    expect(FakeWebWorker.started.length).toBe(0);
    const a = Float32Array.from({ length: 36 }, (_, i) => i / 7);
    expectIdentical(exe.run({ a })[0]!, compile(node, { backend: 'wasm', threads: 1 }).run({ a })[0]!, 'fallback');
  });
});
