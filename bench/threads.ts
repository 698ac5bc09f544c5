// Measures what splitting a kernel across threads costs on the wasm
// backend: the median time of one elementwise kernel, leakyRelu(x * a + x),
// at sizes from 2^10 to 2^20 elements, on 1 thread and on 2 with every
// kernel split (threadThreshold 0). At small sizes the 2-thread time is the
// synchronization cost per kernel that THREAD_THRESHOLD in
// src/backend/wasm/backend.ts is sized from.
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
