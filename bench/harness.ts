// Runs the workloads on every system and collects one row per pair. For each
// workload the reference system (the plain JavaScript loop) runs first. Every
// other system's first outputs are compared with the reference before its
// runs are timed, so a wrong result never passes as a fast one.

import type { Cell } from './cells.ts';
import { openChildCell, openLocalCell } from './cells.ts';
import type { Protocol } from './measure.ts';
import { TOLERANCE, maxRelativeDifference, median } from './measure.ts';
import type { SystemEntry } from './registry.ts';
import type { MemoryReport, System } from './system.ts';
import { SystemUnavailableError } from './system.ts';
import type { Workload, WorkloadId } from './workloads.ts';
import { WORKLOADS } from './workloads.ts';

/** System whose outputs the others are compared with, when it runs. */
export const REFERENCE_SYSTEM = 'js-loop';

export type RowStatus = 'ok' | 'mismatch' | 'failed' | 'unavailable';

export interface Row {
  readonly system: string;
  readonly group: string;
  readonly status: RowStatus;
  /** Median of the timed runs (W6: of the compile samples), or null when none ran. */
  readonly medianMs: number | null;
  readonly timesMs: readonly number[];
  /** Work per second in the workload's throughput unit, or null. */
  readonly throughput: number | null;
  /** Largest relative difference from the reference, or null when not compared. */
  readonly maxRelDiff: number | null;
  readonly memory: MemoryReport | null;
  readonly note: string;
}

export interface WorkloadResult {
  readonly workload: Workload;
  readonly rows: readonly Row[];
  /** Slope's time over each peer group's, fastest variant of each; null when either is missing. */
  readonly ratios: Readonly<Record<string, number | null>>;
}

export interface HarnessOptions {
  readonly workloads: readonly WorkloadId[];
  readonly protocol: Protocol;
  readonly seed: number;
  /** Progress lines; the caller sends them to stderr. */
  readonly log: (line: string) => void;
}

/** Group name of slope's own systems; every other group is a peer. */
export const SLOPE_GROUP = 'slope';

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}

function failedRow(system: System, error: unknown): Row {
  const unavailable = error instanceof SystemUnavailableError;
  return {
    system: system.name,
    group: system.group,
    status: unavailable ? 'unavailable' : 'failed',
    medianMs: null,
    timesMs: [],
    throughput: null,
    maxRelDiff: null,
    memory: null,
    note: unavailable ? describe(error) : `failed: ${describe(error)}`,
  };
}

function throughputOf(workload: Workload, medianMs: number, bytesPerRun: number | null): number | null {
  const throughput = workload.throughput;
  if (throughput === undefined || medianMs <= 0) return null;
  const seconds = medianMs / 1000;
  switch (throughput.unit) {
    case 'GFLOP/s':
      return throughput.perRun / seconds / 1e9;
    case 'GB/s':
      return (bytesPerRun ?? throughput.perRun) / seconds / 1e9;
    case 'images/s':
      return throughput.perRun / seconds;
  }
}

/** Returns slope's fastest time over each peer group's fastest, from rows that ran and agreed. */
export function computeRatios(rows: readonly Row[]): Record<string, number | null> {
  const best = new Map<string, number | null>();
  for (const row of rows) {
    const previous = best.get(row.group) ?? null;
    const usable = row.status === 'ok' && row.medianMs !== null;
    best.set(row.group, usable && (previous === null || row.medianMs! < previous) ? row.medianMs : previous);
  }
  const slope = best.get(SLOPE_GROUP) ?? null;
  const ratios: Record<string, number | null> = {};
  for (const [group, ms] of best) {
    if (group === SLOPE_GROUP) continue;
    ratios[group] = slope === null || ms === null ? null : slope / ms;
  }
  return ratios;
}

/** Runs every workload in `options.workloads` on every system that supports it. */
export async function runBenchmark(entries: readonly SystemEntry[], options: HarnessOptions): Promise<WorkloadResult[]> {
  const initialized = new Map<System, Promise<void>>();
  // Loads a system in this process once; isolated systems load in their children.
  const ensureInit = (system: System): Promise<void> => {
    let promise = initialized.get(system);
    if (promise === undefined) {
      promise = system.init();
      initialized.set(system, promise);
    }
    return promise;
  };

  const results: WorkloadResult[] = [];
  for (const id of options.workloads) {
    const workload = WORKLOADS[id];
    const supporting = entries.filter((entry) => entry.system.supports(id));
    options.log(`${id} ${workload.name}: ${supporting.length} system${supporting.length === 1 ? '' : 's'}`);
    const rows =
      workload.kind === 'compile'
        ? await runCompileWorkload(workload, supporting, options, ensureInit)
        : await runStepWorkload(workload, supporting, options, ensureInit);
    results.push({ workload, rows, ratios: computeRatios(rows) });
  }

  for (const [system, promise] of initialized) {
    const loaded = await promise.then(
      () => true,
      () => false,
    );
    if (loaded) await system.dispose();
  }
  return results;
}

async function runStepWorkload(
  workload: Workload,
  entries: readonly SystemEntry[],
  options: HarnessOptions,
  ensureInit: (system: System) => Promise<void>,
): Promise<Row[]> {
  const inputs = workload.makeInputs(options.seed);
  const view = (outputs: Float32Array[]): Float32Array[] => workload.checkView?.(outputs, inputs) ?? outputs;
  let reference: { system: string; outputs: Float32Array[] } | undefined;

  // The reference runs first; rows keep their registry order in the result.
  const order = [...entries].sort(
    (a, b) => Number(b.system.name === REFERENCE_SYSTEM) - Number(a.system.name === REFERENCE_SYSTEM),
  );
  const rows = new Map<SystemEntry, Row>();
  for (const entry of order) {
    const { system } = entry;
    const label = `${workload.id} ${system.name}`;
    let cell: Cell;
    try {
      if (system.isolated) {
        cell = await openChildCell(entry.module, system.name, workload.id, options.seed);
      } else {
        await ensureInit(system);
        cell = await openLocalCell(system, workload.id, inputs);
      }
    } catch (error) {
      const row = failedRow(system, error);
      options.log(`${label}: ${row.note}`);
      rows.set(entry, row);
      continue;
    }

    try {
      let status: RowStatus = 'ok';
      let maxRelDiff: number | null = null;
      let note: string;
      if (cell.skipCheck !== null) {
        note = `not compared: ${cell.skipCheck}`;
      } else if (reference === undefined) {
        reference = { system: system.name, outputs: view(cell.outputs) };
        note = 'reference';
      } else {
        maxRelDiff = maxRelativeDifference(view(cell.outputs), reference.outputs);
        if (maxRelDiff <= TOLERANCE) {
          note = `agrees with ${reference.system} (max rel diff ${maxRelDiff.toExponential(1)})`;
        } else {
          status = 'mismatch';
          note = `MISMATCH: max relative difference ${maxRelDiff.toExponential(2)} from ${reference.system} exceeds ${TOLERANCE}`;
          options.log(`${label}: ${note}`);
        }
      }

      const timesMs = await cell.time(options.protocol);
      const medianMs = median(timesMs);
      const row: Row = {
        system: system.name,
        group: system.group,
        status,
        medianMs,
        timesMs,
        throughput: throughputOf(workload, medianMs, cell.bytesPerRun),
        maxRelDiff,
        memory: cell.memory,
        note,
      };
      options.log(`${label}: ${medianMs.toFixed(2)} ms median of ${timesMs.length} (${note})`);
      rows.set(entry, row);
    } catch (error) {
      const row = failedRow(system, error);
      options.log(`${label}: ${row.note}`);
      rows.set(entry, row);
    } finally {
      await cell.close();
    }
  }
  return entries.map((entry) => rows.get(entry)!);
}

/**
 * Measures `Prepared.compile` of the compiled workload (W4 for W6) once per
 * fresh child process, so no sample reuses a cache that an earlier
 * compilation filled. Warm-up runs do not apply.
 */
async function runCompileWorkload(
  workload: Workload,
  entries: readonly SystemEntry[],
  options: HarnessOptions,
  ensureInit: (system: System) => Promise<void>,
): Promise<Row[]> {
  const compiled = workload.compiles;
  if (compiled === undefined) throw new Error(`internal: ${workload.id} has no workload to compile`);
  const rows: Row[] = [];
  for (const { module, system } of entries) {
    const label = `${workload.id} ${system.name}`;
    try {
      // Learn here, without starting a child per sample, that a system cannot run.
      if (!system.isolated) await ensureInit(system);
      const samples: number[] = [];
      for (let i = 0; i < options.protocol.runs; i++) {
        const cell = await openChildCell(module, system.name, compiled, options.seed);
        await cell.close();
        if (cell.compileMs === null) throw new Error(`${system.name} has no compile step for ${compiled}`);
        samples.push(cell.compileMs);
      }
      const medianMs = median(samples);
      const note = `${samples.length} fresh processes`;
      options.log(`${label}: ${medianMs.toFixed(2)} ms median compile time (${note})`);
      rows.push({
        system: system.name,
        group: system.group,
        status: 'ok',
        medianMs,
        timesMs: samples,
        throughput: null,
        maxRelDiff: null,
        memory: null,
        note,
      });
    } catch (error) {
      const row = failedRow(system, error);
      options.log(`${label}: ${row.note}`);
      rows.push(row);
    }
  }
  return rows;
}

