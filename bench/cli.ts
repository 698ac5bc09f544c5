// Command-line options of `npm run bench`.

import type { WorkloadId } from './workloads.ts';
import { WORKLOAD_IDS } from './workloads.ts';

export interface Options {
  json: boolean;
  workloads: WorkloadId[];
  runs: number;
  warmup: number;
  seed: number;
  /** System names or groups to run; empty runs all. */
  systems: string[];
  help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

Runs workloads W1..W7 on slope and its peers and prints a table per workload.

Options:
  --only W1,W2      run only these workloads (default: all)
  --systems A,B     run only these systems, by name or group (default: all)
  --runs N          timed runs per median, and W6 compile samples (default: 10)
  --warmup N        untimed runs before timing (default: 3)
  --seed N          seed of the input data (default: 1)
  --json            print one JSON object instead of the tables
  --help            print this text
`;

export class UsageError extends Error {}

function parseCount(option: string, value: string | undefined, minimum: number): number {
  const count = Number(value);
  if (value === undefined || !Number.isInteger(count) || count < minimum) {
    throw new UsageError(`${option} expects an integer of at least ${minimum}, got ${JSON.stringify(value ?? '')}`);
  }
  return count;
}

function parseList(option: string, value: string | undefined): string[] {
  const items = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new UsageError(`${option} expects a comma-separated list`);
  return items;
}

export function parseArgs(args: readonly string[]): Options {
  const options: Options = { json: false, workloads: [...WORKLOAD_IDS], runs: 10, warmup: 3, seed: 1, systems: [], help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    // Accept both `--runs 5` and `--runs=5`.
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    switch (name) {
      case '--json':
        options.json = true;
        break;
      case '--help':
      case '-h':
        options.help = true;
        break;
      case '--only': {
        const ids = parseList(name, value()).map((id) => id.toUpperCase());
        const unknown = ids.filter((id) => !(WORKLOAD_IDS as readonly string[]).includes(id));
        if (unknown.length > 0) throw new UsageError(`--only: unknown workload ${unknown.join(', ')}; known: ${WORKLOAD_IDS.join(', ')}`);
        options.workloads = WORKLOAD_IDS.filter((id) => ids.includes(id));
        break;
      }
      case '--systems':
        options.systems = parseList(name, value());
        break;
      case '--runs':
        options.runs = parseCount(name, value(), 1);
        break;
      case '--warmup':
        options.warmup = parseCount(name, value(), 0);
        break;
      case '--seed':
        options.seed = parseCount(name, value(), 0);
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  return options;
}
