// Installs the peers on first use, so the library's own `npm ci` stays small.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

/**
 * Runs `npm ci` in bench/ when bench/node_modules is missing or incomplete.
 * npm writes node_modules/.package-lock.json last, so its absence also
 * catches an install that was cut short. npm's output goes to stderr so
 * stdout carries only results. Throws when npm fails.
 */
export function ensureBenchDependencies(log: (line: string) => void): void {
  if (existsSync(new URL('./node_modules/.package-lock.json', import.meta.url))) return;
  log(`bench/node_modules is missing: installing the peers with npm ci --prefix ${BENCH_DIR} (once, about 460 MB)`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['ci', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2] });
  if (result.error !== undefined) throw new Error(`npm ci in bench/ failed to start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`npm ci in bench/ failed with exit code ${result.status}; see npm's output above`);
}
