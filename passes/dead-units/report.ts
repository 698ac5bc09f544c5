// Reports of the dead-unit analyses: one summary row per activation layer, a
// text table, a JSON object for scripts, and the `annotate` and `color`
// callbacks that mark dead units in the graph printer and the DOT export.
//
// A row merges the static report (dead, always active, unstable over an input
// box) and the dynamic one (dead, dying, sparsity and gradient norm over a
// dataset) of the same activation. When both are given, `dead` is the static
// count, proven for the whole box, and `neverPositive` the dynamic one.

import type { Node } from '../../src/graph/node.ts';
import type { StaticReport } from '../dead-units.ts';
import type { DynamicReport } from './dynamic.ts';
import type { NonPositiveLabel } from './units.ts';

export type DeadUnitReport = StaticReport | DynamicReport;

/** Counts of one layer; null where the analysis that gives a field was not run. */
export interface LayerCounts {
  units: number;
  dead: number | null;
  dying: number | null;
  alwaysActive: number | null;
  unstable: number | null;
}

export interface LayerSummary extends LayerCounts {
  name: string;
  /** The activation node's id. */
  id: number;
  op: string;
  /** The label of a never-positive unit: 'dead' for relu, 'negativeRegime' when the gradient is scaled by alpha instead. */
  deadLabel: NonPositiveLabel;
  /** Never-positive units on the data, when a static report gives `dead`. */
  neverPositive: number | null;
  sparsity: number | null;
  gradNorm: number | null;
  /** The same counts per channel, for conv layers (pre-activations of rank 3 or more). */
  channels: LayerCounts | null;
}

function emptyRow(id: number, name: string, op: string, deadLabel: NonPositiveLabel, units: number): LayerSummary {
  return { name, id, op, deadLabel, units, dead: null, dying: null, alwaysActive: null, unstable: null, neverPositive: null, sparsity: null, gradNorm: null, channels: null };
}

/** Summarizes each activation layer in one row, merging static and dynamic reports of the same graph. */
export function summarizeLayers(...reports: readonly DeadUnitReport[]): LayerSummary[] {
  const rows = new Map<number, LayerSummary>();
  const rowOf = (node: Node, name: string, deadLabel: NonPositiveLabel, units: number) => {
    let row = rows.get(node.id);
    if (row === undefined) {
      row = emptyRow(node.id, name, node.op, deadLabel, units);
      rows.set(node.id, row);
    }
    return row;
  };
  const hasStatic = reports.some((r) => r.kind === 'static');
  for (const report of reports) {
    if (report.kind === 'static') {
      for (const layer of report.layers) {
        const row = rowOf(layer.node, layer.name, layer.label, layer.units);
        Object.assign(row, { dead: layer.counts.dead, alwaysActive: layer.counts.alwaysActive, unstable: layer.counts.unstable });
        if (layer.channelSummary !== undefined) {
          const counts = layer.channelSummary.counts;
          row.channels = { ...(row.channels ?? { units: layer.channels!, dying: null }), units: layer.channels!, dead: counts.dead, alwaysActive: counts.alwaysActive, unstable: counts.unstable };
        }
      }
      continue;
    }
    for (const layer of report.layers) {
      const row = rowOf(layer.node, layer.name, layer.label, layer.units);
      if (hasStatic) row.neverPositive = layer.dead;
      else row.dead = layer.dead;
      row.dying = layer.dying;
      row.sparsity = layer.sparsity;
      row.gradNorm = layer.gradient?.l2Norm ?? null;
      if (layer.channelSummary !== undefined) {
        const channels = row.channels ?? { units: layer.channels!, dead: null, dying: null, alwaysActive: null, unstable: null };
        if (!hasStatic) channels.dead = layer.channelSummary.dead;
        channels.dying = layer.channelSummary.dying;
        row.channels = channels;
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.id - b.id);
}

/** Returns the JSON form: `{ layers: [{ name, units, dead, dying, alwaysActive, unstable, sparsity, gradNorm, ... }] }`. */
export function deadUnitsJson(...reports: readonly DeadUnitReport[]): { layers: Omit<LayerSummary, 'id'>[] } {
  return { layers: summarizeLayers(...reports).map(({ id: _id, ...row }) => row) };
}

function cell(value: number | null, digits?: number): string {
  if (value === null) return '-';
  return digits === undefined ? String(value) : value.toFixed(digits);
}

function deadCell(value: number | null, label: NonPositiveLabel): string {
  if (value === null) return '-';
  return label === 'negativeRegime' ? `${value} (neg)` : String(value);
}

/**
 * Formats a text table, one line per layer (and one per conv layer's channels):
 * units, dead, dying, always active, unstable, sparsity and gradient norm.
 * A count marked (neg) is of negative-regime units, whose gradient is scaled
 * by alpha rather than zeroed.
 */
export function formatDeadUnitsTable(...reports: readonly DeadUnitReport[]): string {
  const rows = summarizeLayers(...reports);
  const hasStatic = reports.some((r) => r.kind === 'static');
  const header = ['layer', 'op', 'units', 'dead', 'dying', 'always active', 'unstable', 'sparsity', 'grad norm'];
  if (hasStatic && reports.some((r) => r.kind === 'dynamic')) header.splice(4, 0, 'never positive');
  const lines: string[][] = [header];
  for (const row of rows) {
    const line = [row.name, row.op, String(row.units), deadCell(row.dead, row.deadLabel), cell(row.dying), cell(row.alwaysActive), cell(row.unstable), cell(row.sparsity, 3), cell(row.gradNorm, 4)];
    if (header.length > 9) line.splice(4, 0, deadCell(row.neverPositive, row.deadLabel));
    lines.push(line);
    if (row.channels !== null) {
      const c = row.channels;
      const channelLine = [`  ${row.name} channels`, '', String(c.units), deadCell(c.dead, row.deadLabel), cell(c.dying), cell(c.alwaysActive), cell(c.unstable), '', ''];
      if (header.length > 9) channelLine.splice(4, 0, '');
      lines.push(channelLine);
    }
  }
  const widths = header.map((_, k) => Math.max(...lines.map((l) => l[k]!.length)));
  const text = lines.map((l) => l.map((v, k) => (k < 2 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!))).join('  ').trimEnd());
  if (rows.some((r) => r.deadLabel === 'negativeRegime')) text.push('(neg): never positive in the negative regime; the gradient is scaled by alpha, not zeroed');
  return text.join('\n');
}

/** A printer and DOT `annotate` callback: the unit counts of each activation node, such as "dead 3/5 unstable 2". */
export function deadUnitAnnotations(...reports: readonly DeadUnitReport[]): (node: Node) => string | undefined {
  const rows = new Map(summarizeLayers(...reports).map((r) => [r.id, r]));
  return (node) => {
    const row = rows.get(node.id);
    if (row === undefined) return undefined;
    const word = row.deadLabel === 'negativeRegime' ? 'negative-regime' : 'dead';
    const parts: string[] = [];
    if (row.dead !== null) parts.push(`${word} ${row.dead}/${row.units}`);
    if (row.neverPositive !== null) parts.push(`never positive ${row.neverPositive}/${row.units}`);
    if (row.dying !== null) parts.push(`dying ${row.dying}`);
    if (row.alwaysActive !== null) parts.push(`always active ${row.alwaysActive}`);
    if (row.unstable !== null) parts.push(`unstable ${row.unstable}`);
    if (row.sparsity !== null) parts.push(`sparsity ${row.sparsity.toFixed(3)}`);
    return parts.join(' ');
  };
}

export interface DeadUnitColors {
  /** Fill of an activation with dead units (relu). */
  dead: string;
  /** Fill of an activation with negative-regime units (leakyRelu, prelu, elu). */
  negativeRegime: string;
}

/** A DOT `color` callback: activation nodes with dead or negative-regime units are filled; other nodes keep their style. */
export function deadUnitColors(reports: DeadUnitReport | readonly DeadUnitReport[], colors: DeadUnitColors = { dead: '#f4a6a6', negativeRegime: '#f7d59c' }): (node: Node) => string | undefined {
  const list = Array.isArray(reports) ? reports : [reports as DeadUnitReport];
  const rows = new Map(summarizeLayers(...list).map((r) => [r.id, r]));
  return (node) => {
    const row = rows.get(node.id);
    if (row === undefined || ((row.dead ?? 0) === 0 && (row.neverPositive ?? 0) === 0)) return undefined;
    return row.deadLabel === 'negativeRegime' ? colors.negativeRegime : colors.dead;
  };
}
