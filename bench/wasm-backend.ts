// Times slope's wasm backend (SIMD on 1 thread and on the default thread
// count, scalar on the default) against its JS backend on the benchmark's
// workloads W1 to W5, with its protocol. Inputs are float32,
// uniform in [-1, 1] from a seeded PRNG. Each variant gets 3 warm-up runs,
// then the median of 10 timed runs of exe.run(), which includes copying
// feeds in and outputs out. Workloads
// whose graph fails to build (conv ops not yet available) are skipped.
//
//   npx tsx bench/wasm-backend.ts [--json]
//
// Progress goes to stderr, the table (or JSON) to stdout.

import { availableParallelism } from 'node:os';
import { compile, grad, graph, Rng } from '../src/index.ts';
import type { Executable, Feeds, Node, ParamUpdate } from '../src/index.ts';

interface Workload {
  id: string;
  name: string;
  build(): { outputs: Node[]; feeds: Feeds; updates?: ParamUpdate[] };
  /** Floating-point operations of one run, for GFLOP/s; left out where a count would be a guess. */
  flops?: number;
}

function uniform(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
}

const workloads: Workload[] = [
  {
    id: 'W1',
    name: 'matmul-512',
    flops: 2 * 512 ** 3,
    build() {
      const g = graph();
      const a = g.input('a', [512, 512]);
      const b = g.input('b', [512, 512]);
      return { outputs: [a.matmul(b)], feeds: { a: uniform(1, 512 * 512), b: uniform(2, 512 * 512) } };
    },
  },
  {
    id: 'W2',
    name: 'conv-leaky-fwd',
    flops: 2 * 16 * 28 * 28 * 32 * 3 * 3 * 16,
    build() {
      const g = graph();
      const x = g.input('x', [16, 28, 28, 16]);
      const w = g.input('w', [3, 3, 16, 32]);
      const b = g.input('b', [32]);
      const y = x.conv2d(w, { padding: 'same' }).add(b).leakyRelu(0.2);
      return { outputs: [y], feeds: { x: uniform(1, 16 * 28 * 28 * 16), w: uniform(2, 3 * 3 * 16 * 32), b: uniform(3, 32) } };
    },
  },
  {
    id: 'W3',
    name: 'conv-leaky-train',
    build() {
      const g = graph();
      const x = g.input('x', [16, 28, 28, 16]);
      const w = g.param('w', [3, 3, 16, 32], { init: 'heNormal', seed: 2 });
      const b = g.param('b', [32], { init: 'zeros' });
      const y = x.conv2d(w, { padding: 'same' }).add(b).leakyRelu(0.2);
      return { outputs: [y, ...grad(y.sum(), [x, w, b])], feeds: { x: uniform(1, 16 * 28 * 28 * 16) } };
    },
  },
  {
    id: 'W4',
    name: 'mlp-train',
    build() {
      const g = graph();
      const x = g.input('x', [64, 784]);
      const labels = g.input('labels', [64, 10]);
      const sizes = [784, 256, 128, 10];
      const params: Node[] = [];
      let h: Node = x;
      for (let l = 0; l < 3; l++) {
        const w = g.param(`w${l}`, [sizes[l]!, sizes[l + 1]!], { init: 'heNormal', seed: l + 1 });
        const b = g.param(`b${l}`, [sizes[l + 1]!], { init: 'zeros' });
        params.push(w, b);
        h = h.matmul(w, { bias: b, ...(l < 2 ? { activation: (n: Node) => n.leakyRelu(0.01) } : {}) });
      }
      const loss = g.softmaxCrossEntropy(h, labels).mean();
      const grads = grad(loss, params);
      const oneHot = new Float32Array(64 * 10);
      for (let i = 0; i < 64; i++) oneHot[i * 10 + (i % 10)] = 1;
      return {
        outputs: [loss],
        feeds: { x: uniform(1, 64 * 784), labels: oneHot },
        updates: params.map((p, i) => ({ param: p, value: p.sub(grads[i]!.mul(0.01)) })),
      };
    },
  },
  {
    id: 'W5',
    name: 'eltwise-chain-1M',
    // mul, add, leakyRelu's multiply and mul per element; the compare is not counted.
    flops: 4 * 2 ** 20,
    build() {
      const g = graph();
      const n = 2 ** 20;
      const [x, a, b, c] = ['x', 'a', 'b', 'c'].map((name) => g.input(name, [n]));
      const y = x!.mul(a!).add(b!).leakyRelu(0.2).mul(c!);
      return { outputs: [y], feeds: { x: uniform(1, n), a: uniform(2, n), b: uniform(3, n), c: uniform(4, n) } };
    },
  },
];

// The default thread count is one per core; the labels name it, so that wasm-simd-1t and wasm-simd-2t compare on a 2-core machine.
const cores = availableParallelism();
const variants = [
  { label: 'js', options: { backend: 'js' as const } },
  { label: 'wasm-simd-1t', options: { backend: 'wasm' as const, threads: 1 } },
  { label: `wasm-simd-${cores}t`, options: { backend: 'wasm' as const } },
  { label: `wasm-scalar-${cores}t`, options: { backend: 'wasm' as const, simd: false } },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function time(exe: Executable, feeds: Feeds): number {
  for (let i = 0; i < 3; i++) exe.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const start = performance.now();
    exe.run(feeds);
    times.push(performance.now() - start);
  }
  return median(times);
}

interface Row {
  workload: string;
  variant: string;
  ms: number;
  gflops: number | undefined;
  ratioToJs: number;
}

const rows: Row[] = [];
for (const w of workloads) {
  let built: ReturnType<Workload['build']>;
  try {
    built = w.build();
  } catch (error) {
    process.stderr.write(`${w.id} ${w.name}: skipped, the graph failed to build: ${(error as Error).message}\n`);
    continue;
  }
  let jsMs = NaN;
  for (const v of variants) {
    process.stderr.write(`${w.id} ${v.label}...\n`);
    const exe = compile(built.outputs, { ...v.options, ...(built.updates === undefined ? {} : { updates: built.updates }) });
    // Worker threads start asynchronously; runs before then use the calling thread alone.
    await exe.ready();
    const ms = time(exe, built.feeds);
    exe.dispose();
    if (v.label === 'js') jsMs = ms;
    rows.push({ workload: `${w.id} ${w.name}`, variant: v.label, ms, gflops: w.flops === undefined ? undefined : w.flops / ms / 1e6, ratioToJs: ms / jsMs });
  }
}

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  process.stdout.write(`${'workload'.padEnd(22)} ${'variant'.padEnd(15)} ${'ms'.padStart(9)} ${'GFLOP/s'.padStart(8)} ${'vs js'.padStart(6)}\n`);
  for (const r of rows) {
    const gflops = r.gflops === undefined ? '' : r.gflops.toFixed(2);
    process.stdout.write(`${r.workload.padEnd(22)} ${r.variant.padEnd(15)} ${r.ms.toFixed(2).padStart(9)} ${gflops.padStart(8)} ${r.ratioToJs.toFixed(3).padStart(6)}\n`);
  }
}
