// The wasm backend with worker threads. Results on 2 and 3 threads must
// equal those on 1 bit for bit, on random graphs and on contractions whose
// sizes are not multiples of 4 or of the register tile. Also tested: the
// single-threaded fallback, and the errors of the threads options and of a
// failing worker.

import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendError, compile, graph, Rng } from '../../src/index.ts';
import type { CompileOptions, Feeds, Node, OutputArray } from '../../src/index.ts';
import { encodeModule } from '../../src/backend/wasm/encoder.ts';
import { wasmFeatures } from '../../src/backend/wasm/features.ts';
import { webAssembly } from '../../src/backend/wasm/host.ts';
import { ThreadPool } from '../../src/backend/wasm/threads.ts';
import { parallelLoop } from '../../src/backend/wasm/parallel.ts';
import type { Kernel, Stmt } from '../../src/kernel/ir.ts';
import { bin, fvar, iadd, imul, int, ivar, load, loop, num } from '../../src/kernel/ir.ts';
import { expectIdentical } from './compare.ts';
import { buildCase, graphCaseArbitrary } from './random-graphs.ts';

const THREAD_RUNS = Number(process.env.SLOPE_FUZZ_RUNS ?? 60) > 60 ? 200 : 8;

const threadsAvailable = wasmFeatures().threads;

function inputsOf(outputs: readonly Node[], feeds: Feeds): Feeds {
  const names = new Set(outputs[0]!.graph.inputs.map((n) => n.name));
  return Object.fromEntries(Object.entries(feeds).filter(([name]) => names.has(name)));
}

/** Compiles with every kernel eligible for splitting, waits for the workers, runs, and stops them. */
async function runThreaded(outputs: readonly Node[], feeds: Feeds, options: CompileOptions): Promise<{ results: OutputArray[]; threads: number; split: number }> {
  const exe = compile(outputs, { backend: 'wasm', threadThreshold: 0, ...options });
  try {
    const threads = await exe.ready();
    const results = exe.run(inputsOf(outputs, feeds));
    return { results, threads, split: exe.kernels.filter((k) => k.parallelLoop !== undefined).length };
  } finally {
    exe.dispose();
  }
}

function runOneThread(outputs: readonly Node[], feeds: Feeds, simd: boolean): OutputArray[] {
  return compile(outputs, { backend: 'wasm', threads: 1, simd }).run(inputsOf(outputs, feeds));
}

describe.runIf(threadsAvailable)('wasm backend on worker threads', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`random ${dtype} graphs equal one thread bit for bit`, async () => {
      let splitKernels = 0;
      await fc.assert(fc.asyncProperty(graphCaseArbitrary(dtype), async (c) => {
        const built = buildCase(c);
        for (const simd of [true, false]) {
          const expected = runOneThread(built.outputs, built.feeds, simd);
          for (const threads of [2, 3]) {
            const run = await runThreaded(built.outputs, built.feeds, { threads, simd });
            splitKernels += run.split;
            if (run.split > 0) expect(run.threads).toBe(threads);
            expected.forEach((out, k) => expectIdentical(run.results[k]!, out, `output ${k}, ${threads} threads, simd ${simd}`));
          }
        }
      }), { numRuns: THREAD_RUNS });
      expect(splitKernels).toBeGreaterThan(0);
    }, 120_000);
  }

  const rng = new Rng(7);
  const uniform = (n: number, dtype: 'float32' | 'float64') => {
    const values = Array.from({ length: n }, () => rng.uniform(-1, 1));
    return dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values);
  };

  /** Graphs with sizes that are not multiples of 4 or of the register tiles. */
  function oddGraphs(dtype: 'float32' | 'float64'): { name: string; outputs: Node[]; feeds: Feeds; splitLoop: string | undefined }[] {
    const g = graph();
    const a = g.input('a', [37, 29], dtype);
    const b = g.input('b', [29, 23], dtype);
    const bias = g.input('bias', [23], dtype);
    const bt = g.input('bt', [23, 29], dtype);
    const x = g.input('x', [5, 7, 9, 5], dtype);
    const w = g.input('w', [3, 3, 5, 6], dtype);
    const cb = g.input('cb', [6], dtype);
    const feeds = { a: uniform(37 * 29, dtype), b: uniform(29 * 23, dtype), bt: uniform(23 * 29, dtype), bias: uniform(23, dtype), x: uniform(5 * 7 * 9 * 5, dtype), w: uniform(3 * 3 * 5 * 6, dtype), cb: uniform(6, dtype) };
    return [
      { name: 'matmul + bias + leakyRelu', outputs: [a.matmul(b, { bias, activation: (h) => h.leakyRelu(0.2) })], feeds, splitLoop: 'i0' },
      // Each chunk packs the transposed B into the scratch region of the thread that runs it.
      // The scalar code of a transposed B keeps no row accumulator, so it splits too.
      { name: 'transposed B matmul + tanh', outputs: [a.matmul(bt, { transposeB: true, activation: 'tanh' })], feeds, splitLoop: 'i0' },
      { name: 'conv2d + bias + leakyRelu', outputs: [x.conv2d(w, { padding: 'same' }).add(cb).leakyRelu(0.2)], feeds, splitLoop: 'i0' },
      { name: 'elementwise', outputs: [a.mul(a).add(a).tanh()], feeds, splitLoop: 'i0' },
      { name: 'row sums', outputs: [a.exp().sum(1)], feeds, splitLoop: 'i0' },
      { name: 'total sum', outputs: [a.sum()], feeds, splitLoop: undefined },
    ];
  }

  for (const dtype of ['float32', 'float64'] as const) {
    for (const simd of [true, false]) {
      it(`odd sizes in ${dtype}${simd ? '' : ' without SIMD'} equal one thread`, async () => {
        for (const { name, outputs, feeds, splitLoop } of oddGraphs(dtype)) {
          const expected = runOneThread(outputs, feeds, simd);
          for (const threads of [2, 3]) {
            const exe = compile(outputs, { backend: 'wasm', threads, simd, threadThreshold: 0 });
            const ready = await exe.ready();
            const results = exe.run(inputsOf(outputs, feeds));
            const loops = exe.kernels.map((k) => k.parallelLoop?.name);
            exe.dispose();
            // Scalar matmul keeps a row accumulator that all rows share, so it runs on one thread; the register tiles of either dtype split.
            const expectedLoop = name.startsWith('matmul') && !simd ? undefined : splitLoop;
            expect(loops[0], name).toBe(expectedLoop);
            if (expectedLoop !== undefined) expect(ready, name).toBe(threads);
            expectIdentical(results[0]!, expected[0]!, `${name} on ${threads} threads`);
          }
        }
      }, 60_000);
    }
  }

  // Register tiles read B from column panels in scratch memory. A B that no outer loop changes is packed once per run,
  // by a prologue on the calling thread, into scratch that every thread reads. A B per batch is packed by the chunk
  // that computes the batch. The 67 rows (34 units of the 2-row tile) and the batches of 5 give each thread several chunks.
  function packedContractions(): { name: string; outputs: Node[]; feeds: Feeds; prologue: boolean }[] {
    const g = graph();
    const a = g.input('a', [67, 29]);
    const b = g.input('b', [29, 37]);
    const bt = g.input('bt', [37, 29]);
    const batchA = g.input('batchA', [5, 19, 29]);
    const batchB = g.input('batchB', [5, 29, 37]);
    const x = g.input('x', [5, 7, 9, 5]);
    const w = g.input('w', [3, 3, 5, 6]);
    const tall = g.input('tall', [1101, 9]);
    const narrow = g.input('narrow', [9, 20]);
    const feeds = {
      a: uniform(67 * 29, 'float32'),
      b: uniform(29 * 37, 'float32'),
      bt: uniform(37 * 29, 'float32'),
      batchA: uniform(5 * 19 * 29, 'float32'),
      batchB: uniform(5 * 29 * 37, 'float32'),
      x: uniform(5 * 7 * 9 * 5, 'float32'),
      w: uniform(3 * 3 * 5 * 6, 'float32'),
      tall: uniform(1101 * 9, 'float32'),
      narrow: uniform(9 * 20, 'float32'),
    };
    return [
      // On 2 threads each chunk has about 138 rows: two whole 64-row blocks and a partial one, and the last chunk a partial tile.
      { name: 'matmul with chunks of several row blocks', outputs: [tall.matmul(narrow)], feeds, prologue: true },
      { name: 'matmul', outputs: [a.matmul(b)], feeds, prologue: true },
      { name: 'matmul with transposed B', outputs: [a.matmul(bt, { transposeB: true })], feeds, prologue: true },
      { name: 'batched A, one B', outputs: [batchA.matmul(b)], feeds, prologue: true },
      { name: 'batched A and B', outputs: [batchA.matmul(batchB)], feeds, prologue: false },
      { name: 'conv2d', outputs: [x.conv2d(w, { padding: 'same' })], feeds, prologue: true },
    ];
  }

  it('packs a B shared by all chunks once per run', async () => {
    for (const { name, outputs, feeds, prologue } of packedContractions()) {
      const expected = runOneThread(outputs, feeds, true);
      for (const threads of [2, 3]) {
        const exe = compile(outputs, { backend: 'wasm', threads, threadThreshold: 0 });
        expect(await exe.ready(), name).toBe(threads);
        const results = exe.run(inputsOf(outputs, feeds));
        const kernels = exe.kernels.filter((k) => k.parallelLoop !== undefined);
        exe.dispose();
        // The contraction is the only kernel, and the only split one.
        expect(kernels.length, name).toBe(1);
        expect(kernels[0]!.wat?.includes('.prologue'), name).toBe(prologue);
        expectIdentical(results[0]!, expected[0]!, `${name} on ${threads} threads`);
      }
    }
  }, 60_000);

  it('keeps no copy of a shared B per thread', async () => {
    // B takes 1 MiB packed and A is read in place, so the memory grows with threads only if each thread packs B.
    const g = graph();
    const a = g.input('a', [512, 512]);
    const b = g.input('b', [512, 512]);
    const memoryBytes = async (threads: number) => {
      const exe = compile([a.matmul(b)], { backend: 'wasm', threads, threadThreshold: 0 });
      await exe.ready();
      const bytes = exe.inputView('a').buffer.byteLength;
      exe.dispose();
      return bytes;
    };
    const one = await memoryBytes(1);
    expect(one).toBeGreaterThanOrEqual(4 * 2 ** 20);
    expect(await memoryBytes(3)).toBe(one);
  });

  it('runs on the calling thread before the workers start and after dispose', async () => {
    const { outputs, feeds } = oddGraphs('float32')[0]!;
    const expected = runOneThread(outputs, feeds, true);
    const exe = compile(outputs, { backend: 'wasm', threads: 2, threadThreshold: 0 });
    expect(exe.threads).toBe(2);
    expectIdentical(exe.run(inputsOf(outputs, feeds))[0]!, expected[0]!, 'before ready');
    expect(await exe.ready()).toBe(2);
    expectIdentical(exe.run(inputsOf(outputs, feeds))[0]!, expected[0]!, 'threaded');
    exe.dispose();
    exe.dispose();
    expect(exe.activeThreads).toBe(1);
    expect(await exe.ready()).toBe(1);
    expectIdentical(exe.run(inputsOf(outputs, feeds))[0]!, expected[0]!, 'after dispose');
  });

  it('surfaces a trap in a worker as a BackendError', async () => {
    // k0 sets word 0 of the memory and traps when its scratch offset is not 0, which only a worker's is.
    const bytes = encodeModule({
      memory: { module: 'env', field: 'memory', minPages: 1, maxPages: 1, shared: true },
      imports: [],
      functions: [{
        name: 'k0',
        exportAs: 'k0',
        type: { params: ['i32', 'i32', 'i32'], results: [] },
        localNames: ['from', 'to', 'scratch'],
        locals: [],
        body: [['local.get', 2], ['if'], ['i32.const', 0], ['i32.const', 1], ['i32.store', 2, 0], ['unreachable'], ['end']],
      }],
    });
    const api = webAssembly()!;
    const module = new api.Module(bytes);
    const memory = new api.Memory({ initial: 1, maximum: 1, shared: true });
    const flag = new Int32Array(memory.buffer, 0, 1);
    const pool = new ThreadPool({ module, memory, kernels: ['k0'], mathFields: [], workers: 1, scratchStride: 1 });
    // The calling thread's chunk waits until the worker has run one, so that the worker surely claims a chunk.
    const waitForWorker = () => {
      const deadline = Date.now() + 10_000;
      while (Atomics.load(flag, 0) === 0 && Date.now() < deadline);
    };
    try {
      expect(await pool.ready()).toBe(2);
      expect(() => pool.run(0, waitForWorker, 2, 1)).toThrow(BackendError);
      Atomics.store(flag, 0, 0);
      expect(() => pool.run(0, waitForWorker, 2, 1)).toThrow(/kernel k0 failed in worker thread 1: .*unreachable/);
      // A loop of one unit runs on the calling thread alone.
      Atomics.store(flag, 0, 0);
      let calls = 0;
      pool.run(0, () => calls++, 1, 1);
      expect(calls).toBe(1);
    } finally {
      pool.dispose();
    }
  });

  it('lets the process exit while workers idle', () => {
    const source = `
      import { compile, graph } from './src/index.ts';
      const g = graph();
      const a = g.input('a', [64, 64]);
      const exe = compile([a.matmul(a)], { backend: 'wasm', threads: 2, threadThreshold: 0 });
      const threads = await exe.ready();
      exe.run({ a: new Float32Array(64 * 64).fill(1) });
      console.log(exe.threads, threads);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { cwd: new URL('../..', import.meta.url), encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('2 2');
    expect(child.status).toBe(0);
  }, 40_000);
});

describe('wasm backend threads option', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function smallMatmul(): Node {
    const g = graph();
    const a = g.input('a', [6, 6]);
    return a.matmul(a);
  }

  it.each([0, -1, 1.5, Number.NaN, Infinity, 257, '2'])('rejects threads %s', (threads) => {
    expect(() => compile(smallMatmul(), { backend: 'wasm', threads: threads as number })).toThrow(BackendError);
    expect(() => compile(smallMatmul(), { backend: 'wasm', threads: threads as number })).toThrow(/threads must be an integer from 1 to 256/);
  });

  it.each([-1, Number.NaN, '0'])('rejects threadThreshold %s', (threshold) => {
    expect(() => compile(smallMatmul(), { backend: 'wasm', threadThreshold: threshold as number })).toThrow(/threadThreshold must be a number >= 0/);
  });

  it('builds the single-threaded module for threads 1', () => {
    const exe = compile(smallMatmul(), { backend: 'wasm', threads: 1, threadThreshold: 0 });
    expect(exe.threads).toBe(1);
    expect(exe.kernels[0]!.parallelLoop).toBeUndefined();
    expect(exe.kernels[0]!.wat).not.toContain('(param');
    expect(exe.moduleText).not.toContain('shared');
  });

  it('keeps kernels below the threshold on one thread', () => {
    const exe = compile(smallMatmul(), { backend: 'wasm', threads: 2 });
    expect(exe.threads).toBe(1);
    expect(exe.kernels[0]!.parallelLoop).toBeUndefined();
  });

  it('falls back to one thread without worker_threads', async () => {
    vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never);
    const node = smallMatmul();
    const exe = compile(node, { backend: 'wasm', threads: 2, threadThreshold: 0 });
    expect(exe.threads).toBe(1);
    expect(await exe.ready()).toBe(1);
    const a = Float32Array.from({ length: 36 }, (_, i) => i / 7);
    expectIdentical(exe.run({ a })[0]!, compile(node, { backend: 'wasm', threads: 1 }).run({ a })[0]!, 'fallback');
  });
});

describe('parallel loop analysis', () => {
  const f32 = (address: number) => ({ address, element: 'f32' as const });

  function kernelOf(body: Stmt[], sizes: number[]): Kernel {
    return {
      name: 'k0',
      nodes: [],
      summary: '',
      params: sizes.map((size, i) => ({ buffer: i, t: 'f32', size, access: i === sizes.length - 1 ? 'write' : 'read' })),
      body,
      flops: 0,
      bytes: 0,
      inPlaceSafe: false,
    };
  }

  const i = ivar('i');
  const j = ivar('j');

  it('splits an elementwise loop', () => {
    const body = [loop('i', 0, 10, [{ k: 'store', buf: 1, index: i, value: bin('mul', load(0, i, 'f32'), 2) } as Stmt])];
    expect(parallelLoop(kernelOf(body, [10, 10]), [f32(0), f32(64)])).toEqual({ name: 'i', size: 10 });
  });

  it('splits rows that write disjoint blocks', () => {
    const body = [loop('i', 0, 6, [loop('j', 0, 3, [{ k: 'store', buf: 1, index: iadd(imul(i, 3), j), value: load(0, j, 'f32') } as Stmt])])];
    expect(parallelLoop(kernelOf(body, [3, 18]), [f32(0), f32(64)])).toEqual({ name: 'i', size: 6 });
  });

  it('rejects rows whose blocks overlap', () => {
    const body = [loop('i', 0, 6, [loop('j', 0, 3, [{ k: 'store', buf: 1, index: iadd(imul(i, 2), j), value: load(0, j, 'f32') } as Stmt])])];
    expect(parallelLoop(kernelOf(body, [3, 18]), [f32(0), f32(64)])).toBeUndefined();
  });

  it('rejects a reduction along the loop', () => {
    const body: Stmt[] = [
      { k: 'let', name: 'acc', t: 'f32', init: num(0, 'f32') },
      loop('i', 0, 10, [{ k: 'assign', name: 'acc', value: bin('add', fvar('acc', 'f32'), load(0, i, 'f32')) }]),
      { k: 'store', buf: 1, index: int(0), value: fvar('acc', 'f32') },
    ];
    expect(parallelLoop(kernelOf(body, [10, 1]), [f32(0), f32(64)])).toBeUndefined();
  });

  it('rejects a scratch row that every iteration reuses', () => {
    const body = [loop('i', 0, 4, [
      loop('j', 0, 3, [{ k: 'store', buf: 1, index: j, value: load(0, iadd(imul(i, 3), j), 'f32') } as Stmt]),
      loop('j', 0, 3, [{ k: 'store', buf: 2, index: iadd(imul(i, 3), j), value: load(1, j, 'f32') } as Stmt]),
    ])];
    const kernel = kernelOf(body, [12, 3, 12]);
    kernel.params[1]!.access = 'readwrite';
    expect(parallelLoop(kernel, [f32(0), f32(64), f32(128)])).toBeUndefined();
  });

  it('rejects reading a neighbour of an aliased output', () => {
    // out[i] = in[min(i + 1, 9)] with out and in at the same address.
    const body = [loop('i', 0, 10, [{ k: 'store', buf: 1, index: i, value: load(0, bin('min', iadd(i, int(1)), int(9)), 'f32') } as Stmt])];
    expect(parallelLoop(kernelOf(body, [10, 10]), [f32(0), f32(0)])).toBeUndefined();
  });

  it('accepts an in-place update at the same index', () => {
    const body = [loop('i', 0, 10, [{ k: 'store', buf: 1, index: i, value: bin('mul', load(0, i, 'f32'), 2) } as Stmt])];
    expect(parallelLoop(kernelOf(body, [10, 10]), [f32(0), f32(0)])).toEqual({ name: 'i', size: 10 });
  });
});
