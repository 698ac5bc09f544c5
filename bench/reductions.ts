// Times large reductions and softmax rows on slope's wasm backend with SIMD
// and with `simd: false`, and on the JS backend, in one process. Inputs are
// float32, uniform in [-3, 3] from a seeded PRNG. Each variant gets 3
// warm-up runs, then the median of 15 timed runs of exe.run(), which
// includes copying the feed in and the outputs out.
//
//   npx tsx bench/reductions.ts [--json]
//
// Progress goes to stderr, the table (or JSON) to stdout.

import { compile, graph, Rng } from '../src/index.ts';
import type { Executable, Feeds, Node } from '../src/index.ts';
import { median } from './measure.ts';

interface Case {
  name: string;
  shape: number[];
  build(x: Node): Node;
}

const cases: Case[] = [
  { name: 'sum over rows', shape: [1024, 1000], build: (x) => x.sum(1) },
  { name: 'max over rows', shape: [1024, 1000], build: (x) => x.max(1) },
  { name: 'sum over columns', shape: [1000, 1024], build: (x) => x.sum(0) },
  { name: 'softmax rows', shape: [1024, 1000], build: (x) => x.softmax(1) },
  { name: 'logSoftmax rows', shape: [1024, 1000], build: (x) => x.logSoftmax(1) },
  { name: 'softmax rows of 10', shape: [64, 10], build: (x) => x.softmax(1) },
];

const variants = [
  { label: 'js', options: { backend: 'js' as const } },
  { label: 'wasm-simd', options: { backend: 'wasm' as const } },
  { label: 'wasm-scalar', options: { backend: 'wasm' as const, simd: false } },
];

/** Returns the median milliseconds of one run; a run repeats exe.run enough times to last about a millisecond. */
function time(exe: Executable, feeds: Feeds): number {
  for (let i = 0; i < 3; i++) exe.run(feeds);
  const probe = performance.now();
  exe.run(feeds);
  const repeats = Math.max(1, Math.ceil(1 / Math.max(performance.now() - probe, 1e-3)));
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const start = performance.now();
    for (let r = 0; r < repeats; r++) exe.run(feeds);
    times.push((performance.now() - start) / repeats);
  }
  return median(times);
}

interface Row {
  case: string;
  variant: string;
  ms: number;
  ratioToScalar: number;
}

const rows: Row[] = [];
for (const c of cases) {
  const rng = new Rng(1);
  const data = Float32Array.from({ length: c.shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-3, 3));
  const timings = new Map<string, number>();
  for (const v of variants) {
    process.stderr.write(`${c.name} [${c.shape}] ${v.label}...\n`);
    const g = graph();
    const exe = compile([c.build(g.input('x', c.shape))], v.options);
    timings.set(v.label, time(exe, { x: data }));
  }
  const scalarMs = timings.get('wasm-scalar')!;
  for (const [variant, ms] of timings) rows.push({ case: `${c.name} [${c.shape}]`, variant, ms, ratioToScalar: ms / scalarMs });
}

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  process.stdout.write(`${'case'.padEnd(32)} ${'variant'.padEnd(12)} ${'ms'.padStart(9)} ${'vs wasm-scalar'.padStart(14)}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.case.padEnd(32)} ${r.variant.padEnd(12)} ${r.ms.toFixed(3).padStart(9)} ${r.ratioToScalar.toFixed(3).padStart(14)}\n`);
  }
}
