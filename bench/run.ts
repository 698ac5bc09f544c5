// Entry point of `npm run bench`: installs the peers on first use, runs the
// workloads on every system and prints the tables (or `--json`) on stdout.
// Progress goes to stderr.

import { USAGE, UsageError, parseArgs } from './cli.ts';
import type { Options } from './cli.ts';
import { runBenchmark } from './harness.ts';
import { ensureBenchDependencies } from './install.ts';
import { describeMachine, formatReport, toJson } from './report.ts';

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function parseOptions(): Options {
  try {
    return parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  ensureBenchDependencies(log);

  // Imported only now: the peers' modules need bench/node_modules.
  const { loadAllSystems } = await import('./registry.ts');
  const all = await loadAllSystems();
  const entries =
    options.systems.length === 0
      ? all
      : all.filter(({ system }) => options.systems.includes(system.name) || options.systems.includes(system.group));
  if (entries.length === 0) {
    const known = all.map(({ system }) => system.name).join(', ');
    throw new UsageError(`--systems matched no system; known: ${known}`);
  }

  const started = performance.now();
  const protocol = { warmup: options.warmup, runs: options.runs };
  const results = await runBenchmark(entries, { workloads: options.workloads, protocol, seed: options.seed, log });
  log(`finished in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const machine = describeMachine();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(toJson(results, machine), null, 2)}\n`);
  } else {
    process.stdout.write(formatReport(results, machine, protocol));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
