// Measures what splitting a kernel across threads costs on the wasm
// backend: the median time of one elementwise kernel, leakyRelu(x * a + x),
// at sizes from 2^10 to 2^20 elements, on 1 thread and on 2 with every
// kernel split (threadThreshold 0). At small sizes the 2-thread time is the
// synchronization cost per kernel that THREAD_THRESHOLD in
// src/backend/wasm/backend.ts is sized from. A second table compares W1
// and W2 on 1 and 2 threads.
//
//   npx tsx bench/threads.ts

import { compile, graph, Rng } from '../src/index.ts';

const rng = new Rng(1);
const uniform = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));

/** Returns the kernel's flops + bytes and the median of 7 means over 200 runs, in microseconds. */
async function measure(threads: number, n: number, feeds: { x: Float32Array; a: Float32Array }): Promise<{ work: number; us: number }> {
  const g = graph();
  const x = g.input('x', [n]);
  const a = g.input('a', [n]);
  const exe = compile([x.mul(a).add(x).leakyRelu(0.2)], { backend: 'wasm', threads, threadThreshold: 0 });
  await exe.ready();
  const means: number[] = [];
  for (let r = 0; r < 7; r++) means.push(exe.profile(feeds, 200)[0]!.ms * 1000);
  exe.dispose();
  means.sort((p, q) => p - q);
  return { work: exe.kernels[0]!.flops + exe.kernels[0]!.bytes, us: means[3]! };
}

process.stdout.write(`${'elements'.padEnd(9)} ${'flops+bytes'.padStart(12)} ${'1 thread us'.padStart(12)} ${'2 threads us'.padStart(13)}\n`);
for (let log = 10; log <= 20; log += 2) {
  const n = 2 ** log;
  const feeds = { x: uniform(n), a: uniform(n) };
  const one = await measure(1, n, feeds);
  const two = await measure(2, n, feeds);
  process.stdout.write(`${`2^${log}`.padEnd(9)} ${String(one.work).padStart(12)} ${one.us.toFixed(1).padStart(12)} ${two.us.toFixed(1).padStart(13)}\n`);
}

// W1 and W2 of the benchmark on 1 thread and on 2, with the two executables'
// runs interleaved so that load from other processes hits both alike. Feeds
// are written into each executable's memory once, as the benchmark does.
// "run" times exe.run(), which also copies the output out; "kernel" times
// the kernels alone.
function matmul512() {
  const g = graph();
  const a = g.input('a', [512, 512]);
  const b = g.input('b', [512, 512]);
  return { outputs: [a.matmul(b)], feeds: { a: uniform(512 * 512), b: uniform(512 * 512) } };
}

function convLeaky() {
  const g = graph();
  const x = g.input('x', [16, 28, 28, 16]);
  const w = g.input('w', [3, 3, 16, 32]);
  const b = g.input('b', [32]);
  const y = x.conv2d(w, { padding: 'same' }).add(b).leakyRelu(0.2);
  return { outputs: [y], feeds: { x: uniform(16 * 28 * 28 * 16), w: uniform(3 * 3 * 16 * 32), b: uniform(32) } };
}

const median = (values: number[]) => [...values].sort((p, q) => p - q)[values.length >> 1]!;

process.stdout.write(`\n${'workload'.padEnd(9)} ${'run 1t ms'.padStart(10)} ${'run 2t ms'.padStart(10)} ${'speedup'.padStart(8)} ${'kernel 1t'.padStart(10)} ${'kernel 2t'.padStart(10)} ${'speedup'.padStart(8)}\n`);
for (const [name, build] of [['W1', matmul512], ['W2', convLeaky]] as const) {
  const { outputs, feeds } = build();
  const executables = [1, 2].map((threads) => compile(outputs, { backend: 'wasm', threads }));
  await Promise.all(executables.map((exe) => exe.ready()));
  const views = executables.map((exe) => Object.fromEntries(Object.entries(feeds).map(([input, data]) => {
    const view = exe.inputView(input);
    view.set(data);
    return [input, view];
  })));
  const runs: number[][] = [[], []];
  const kernels: number[][] = [[], []];
  for (let r = 0; r < 40; r++) {
    executables.forEach((exe, i) => {
      const start = performance.now();
      exe.run(views[i]);
      runs[i]!.push(performance.now() - start);
      kernels[i]!.push(exe.profile(views[i], 1).reduce((sum, k) => sum + k.ms, 0));
    });
  }
  executables.forEach((exe) => exe.dispose());
  const [run1, run2] = runs.map(median) as [number, number];
  const [kernel1, kernel2] = kernels.map(median) as [number, number];
  const cells = [run1.toFixed(2), run2.toFixed(2), (run1 / run2).toFixed(2), kernel1.toFixed(2), kernel2.toFixed(2), (kernel1 / kernel2).toFixed(2)];
  process.stdout.write(`${name.padEnd(9)} ${cells.map((cell, i) => cell.padStart(i % 3 === 2 ? 8 : 10)).join(' ')}\n`);
}
