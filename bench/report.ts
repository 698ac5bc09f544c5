// Output of the benchmark: a Markdown table per workload, a table of
// slope/peer ratios, and the `--json` object whose shape scripts rely on.

import { cpus, availableParallelism } from 'node:os';

import type { Row, WorkloadResult } from './harness.ts';
import type { Protocol } from './measure.ts';
import type { MemoryReport } from './system.ts';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
}

export function describeMachine(): Machine {
  return { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: availableParallelism(), node: process.version };
}

/** Formats a duration with three or four significant digits. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 10) return ms.toFixed(2);
  return ms.toFixed(3);
}

function formatRate(value: number): string {
  if (value >= 1000) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? '-' : ratio.toFixed(2);
}

/** Renders rows of cells as a Markdown table. `align` has one letter per column, 'l' or 'r'. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], align: string): string {
  const widths = header.map((title, column) => Math.max(3, title.length, ...rows.map((row) => row[column].length)));
  const pad = (text: string, column: number): string =>
    align[column] === 'r' ? text.padStart(widths[column]) : text.padEnd(widths[column]);
  const line = (cells: readonly string[]): string => `| ${cells.map(pad).join(' | ')} |`;
  // A rule cell spans the column and its two padding spaces; ':' at the end aligns right.
  const rule = widths.map((width, column) => (align[column] === 'r' ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2)));
  return [line(header), `|${rule.join('|')}|`, ...rows.map(line)].join('\n');
}

function formatMemory(memory: MemoryReport): string {
  const mebibytes = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);
  return `${mebibytes(memory.peakBytes)} / ${mebibytes(memory.requiredBytes)}`;
}

function ratioCell(row: Row, result: WorkloadResult): string {
  if (row.group === 'slope') return '';
  return formatRatio(result.ratios[row.group] ?? null);
}

/** Formats one workload's table: a row per system with its median, rate, ratio and check. */
export function formatWorkload(result: WorkloadResult): string {
  const { workload } = result;
  const unit = workload.kind === 'compile' ? 'compile ms' : 'median ms';
  const hasRate = workload.throughput !== undefined;
  const hasMemory = result.rows.some((row) => row.memory !== null);
  const header = ['system', unit];
  if (hasRate) header.push(workload.throughput!.unit);
  if (hasMemory) header.push('peak / live MiB');
  header.push('slope/peer', 'check');

  const rows = result.rows.map((row) => {
    const cells = [row.system, row.medianMs === null ? '-' : formatMs(row.medianMs)];
    if (hasRate) cells.push(row.throughput === null ? '-' : formatRate(row.throughput));
    if (hasMemory) cells.push(row.memory === null ? '-' : formatMemory(row.memory));
    cells.push(ratioCell(row, result), row.note);
    return cells;
  });
  const align = `lr${hasRate ? 'r' : ''}${hasMemory ? 'r' : ''}rl`;
  const title = `### ${workload.id} ${workload.name}: ${workload.summary}`;
  return `${title}\n\n${markdownTable(header, rows, align)}`;
}

/**
 * Formats the summary: a row per workload, a column per peer group, each cell
 * slope's fastest median over that peer's fastest. Below 1 means slope is faster.
 */
export function formatRatioTable(results: readonly WorkloadResult[]): string {
  const groups: string[] = [];
  for (const result of results) {
    for (const group of Object.keys(result.ratios)) if (!groups.includes(group)) groups.push(group);
  }
  const rows = results.map((result) => [
    `${result.workload.id} ${result.workload.name}`,
    ...groups.map((group) => (group in result.ratios ? formatRatio(result.ratios[group]) : '')),
  ]);
  return markdownTable(['slope/peer', ...groups], rows, `l${'r'.repeat(groups.length)}`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Formats the whole text report for stdout. */
export function formatReport(results: readonly WorkloadResult[], machine: Machine, protocol: Protocol): string {
  const parts = [
    `## slope benchmark`,
    '',
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}. ` +
      `Each median is of ${plural(protocol.runs, 'timed run')} after ${plural(protocol.warmup, 'warm-up run')}; ` +
      `W6 takes one compile per fresh process. slope/peer below 1 means slope is faster.`,
  ];
  for (const result of results) parts.push('', formatWorkload(result));
  parts.push('', '### Ratios slope/peer (fastest variant of each)', '', formatRatioTable(results));
  return `${parts.join('\n')}\n`;
}

/** Shape of `--json` output. Fields are only ever added, never renamed. */
export interface JsonReport {
  machine: Machine;
  workloads: {
    id: string;
    name: string;
    results: {
      system: string;
      group: string;
      status: Row['status'];
      medianMs: number | null;
      /** Only set for GFLOP/s workloads; other rates are in `throughput`. */
      gflops: number | null;
      throughput: { value: number; unit: string } | null;
      maxRelDiff: number | null;
      memory: MemoryReport | null;
      note: string;
    }[];
    ratios: Record<string, number | null>;
  }[];
}

export function toJson(results: readonly WorkloadResult[], machine: Machine): JsonReport {
  return {
    machine,
    workloads: results.map(({ workload, rows, ratios }) => ({
      id: workload.id,
      name: workload.name,
      results: rows.map((row) => ({
        system: row.system,
        group: row.group,
        status: row.status,
        medianMs: row.medianMs,
        gflops: workload.throughput?.unit === 'GFLOP/s' ? row.throughput : null,
        throughput:
          row.throughput === null || workload.throughput === undefined
            ? null
            : { value: row.throughput, unit: workload.throughput.unit },
        maxRelDiff: row.maxRelDiff,
        memory: row.memory,
        note: row.note,
      })),
      ratios,
    })),
  };
}
