// Times float64 contractions on the wasm backend: the f64x2 register tiles
// on 1 and 2 threads against the scalar code (`simd: false`) and the JS
// backend. Workloads are float64 versions of the benchmark's W1
// (matmul-512), W2 (conv2d + bias + leakyRelu) and the gradients of W2 with
// respect to x, w and b. Each variant gets 3 warm-up runs, then 10 rounds in
// which every variant runs once, so that load from other processes hits all
// of them alike. The table gives the median and the fastest run of
// exe.run(), and the median against the scalar code's.
//
//   npx tsx bench/float64.ts

import { compile, grad, graph, Rng } from '../src/index.ts';
import type { CompileOptions, Executable, Feeds, Node } from '../src/index.ts';

function uniform(seed: number, n: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
}

const workloads: { name: string; build(): { outputs: Node[]; feeds: Feeds } }[] = [
  {
    name: 'matmul-512',
    build() {
      const g = graph();
      const a = g.input('a', [512, 512], 'float64');
      const b = g.input('b', [512, 512], 'float64');
      return { outputs: [a.matmul(b)], feeds: { a: uniform(1, 512 * 512), b: uniform(2, 512 * 512) } };
    },
  },
  {
    name: 'conv-leaky-fwd',
    build() {
      const g = graph();
      const x = g.input('x', [16, 28, 28, 16], 'float64');
      const w = g.input('w', [3, 3, 16, 32], 'float64');
      const b = g.input('b', [32], 'float64');
      const y = x.conv2d(w, { padding: 'same' }).add(b).leakyRelu(0.2);
      return { outputs: [y], feeds: { x: uniform(1, 16 * 28 * 28 * 16), w: uniform(2, 3 * 3 * 16 * 32), b: uniform(3, 32) } };
    },
  },
  {
    name: 'conv-leaky-grads',
    build() {
      const g = graph();
      const x = g.input('x', [16, 28, 28, 16], 'float64');
      const w = g.input('w', [3, 3, 16, 32], 'float64');
      const b = g.input('b', [32], 'float64');
      const r = g.input('r', [16, 28, 28, 32], 'float64');
      const y = x.conv2d(w, { padding: 'same' }).add(b).leakyRelu(0.2);
      const feeds = { x: uniform(1, 16 * 28 * 28 * 16), w: uniform(2, 3 * 3 * 16 * 32), b: uniform(3, 32), r: uniform(4, 16 * 28 * 28 * 32) };
      return { outputs: grad(y.mul(r).sum(), [x, w, b]), feeds };
    },
  },
];

const variants: { name: string; options: CompileOptions }[] = [
  { name: 'wasm scalar, 1 thread', options: { backend: 'wasm', simd: false, threads: 1 } },
  { name: 'wasm f64x2 tiles, 1 thread', options: { backend: 'wasm', threads: 1 } },
  { name: 'wasm f64x2 tiles, 2 threads', options: { backend: 'wasm', threads: 2 } },
  { name: 'js', options: { backend: 'js' } },
];

const median = (times: readonly number[]) => [...times].sort((p, q) => p - q)[Math.floor(times.length / 2)]!;

process.stdout.write('| workload | variant | median ms | fastest ms | median / scalar |\n|---|---|---:|---:|---:|\n');
for (const workload of workloads) {
  process.stderr.write(`${workload.name}\n`);
  const runs: { name: string; exe: Executable; feeds: Feeds; times: number[] }[] = [];
  for (const variant of variants) {
    const { outputs, feeds } = workload.build();
    const exe = compile(outputs, variant.options);
    await exe.ready();
    for (let i = 0; i < 3; i++) exe.run(feeds);
    runs.push({ name: variant.name, exe, feeds, times: [] });
  }
  for (let round = 0; round < 10; round++) {
    for (const run of runs) {
      const start = performance.now();
      run.exe.run(run.feeds);
      run.times.push(performance.now() - start);
    }
  }
  const scalar = median(runs[0]!.times);
  for (const run of runs) {
    const ms = median(run.times);
    process.stdout.write(`| ${workload.name} | ${run.name} | ${ms.toFixed(1)} | ${Math.min(...run.times).toFixed(1)} | ${(ms / scalar).toFixed(2)} |\n`);
    run.exe.dispose();
  }
}
