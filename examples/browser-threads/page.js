// The page of the manual browser check (see serve.ts): compiles a matmul and
// a conv2d with threads 2 and threads 1, checks that they agree bit for
// bit, times both, and posts what it saw to the server.

import { graph } from '../../src/graph/graph.ts';
import { Rng } from '../../src/graph/init.ts';
import { compile } from '../../src/runtime/executable.ts';

const rng = new Rng(3);
const uniform = (n) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
const identical = (x, y) => x.length === y.length && x.every((v, i) => Object.is(v, y[i]));

/** Returns the mean milliseconds of `runs` runs, after 3 runs of warm-up. */
function time(exe, feeds, runs) {
  for (let i = 0; i < 3; i++) exe.run(feeds);
  const start = performance.now();
  for (let i = 0; i < runs; i++) exe.run(feeds);
  return (performance.now() - start) / runs;
}

async function check(name, build, feeds) {
  const one = compile(build(), { backend: 'wasm', threads: 1 });
  const exe = compile(build(), { backend: 'wasm', threads: 2, threadThreshold: 0 });
  // Workers that start while this task still runs would show up here.
  const start = performance.now();
  while (exe.activeThreads < 2 && performance.now() - start < 1000);
  const activeBeforeYield = exe.activeThreads;
  let ready;
  try {
    ready = await exe.ready();
  } catch (error) {
    ready = `rejected: ${error.message}`;
  }
  const result = {
    name,
    threads: exe.threads,
    ready,
    activeBeforeYield,
    activeThreads: exe.activeThreads,
    splitLoops: exe.kernels.map((k) => k.parallelLoop?.name ?? null),
    identical: identical(exe.run(feeds)[0], one.run(feeds)[0]),
    msOneThread: time(one, feeds, 20).toFixed(2),
    msTwoThreads: time(exe, feeds, 20).toFixed(2),
  };
  exe.dispose();
  result.identicalAfterDispose = identical(exe.run(feeds)[0], one.run(feeds)[0]);
  return result;
}

const report = {
  page: location.pathname,
  crossOriginIsolated: globalThis.crossOriginIsolated,
  hardwareConcurrency: navigator.hardwareConcurrency,
  cases: [],
};
try {
  const matmul = () => {
    const g = graph();
    return g.input('a', [512, 512]).matmul(g.input('b', [512, 512]), { activation: 'tanh' });
  };
  report.cases.push(await check('matmul 512x512x512 + tanh', matmul, { a: uniform(512 * 512), b: uniform(512 * 512) }));
  const conv = () => {
    const g = graph();
    return g.input('x', [8, 31, 29, 7]).conv2d(g.input('w', [3, 3, 7, 16]), { padding: 'same' }).leakyRelu(0.2);
  };
  report.cases.push(await check('conv2d 8x31x29x7 by 3x3x7x16', conv, { x: uniform(8 * 31 * 29 * 7), w: uniform(3 * 3 * 7 * 16) }));
} catch (error) {
  report.error = String(error?.stack ?? error);
}
await fetch('/result', { method: 'POST', body: JSON.stringify(report) });
document.title = 'done';
