// The report of `slope train`: the JSON object written to report.json and
// printed by --json, and the self-contained HTML page (inline SVG charts,
// no scripts, no external files) written to report.html.

import { escapeXml, lineChart } from './svg-chart.ts';
import type { Series } from './svg-chart.ts';
import type { RunResult, TrainConfig } from './train-run.ts';

export interface TrainReport {
  /** The command line that produced the report. */
  command: string;
  config: TrainConfig;
  data: { source: 'bundled' | 'idx'; train: number; validation: number };
  /** Runs trained at the same time, each in its own worker thread when more than 1. */
  jobs: number;
  /** Wall time of the whole command, data loading included, in seconds. */
  totalSeconds: number;
  runs: RunResult[];
}

/** Returns the summary that --json prints: per run, per epoch, the headline numbers. */
export function jsonSummary(report: TrainReport): object {
  return {
    runs: report.runs.map((run) => ({
      activation: run.activation,
      alpha: run.alpha,
      seconds: run.seconds,
      epochs: run.epochs.map((e) => ({
        epoch: e.epoch,
        loss: e.loss,
        trainAccuracy: e.trainAccuracy,
        valAccuracy: e.valAccuracy,
        imagesPerSecond: e.imagesPerSecond,
        deadUnits: e.deadUnits,
        units: e.units,
        gradNorms: e.gradNorms,
        deadUnitReport: e.deadUnitReport,
      })),
      deadUnitReport: run.deadUnitReport,
    })),
    config: report.config,
    totalSeconds: report.totalSeconds,
  };
}

const COLORS: Record<string, string> = { relu: '#c0392b', leaky_relu: '#2471a3' };

/** Returns a run's name as the report shows it: `relu` or `leaky_relu(0.2)`. */
export function runLabel(run: Pick<RunResult, 'activation' | 'alpha'>): string {
  return run.activation === 'relu' ? 'relu' : `leaky_relu(${run.alpha})`;
}

function series(runs: readonly RunResult[], name: string, value: (e: RunResult['epochs'][number]) => number | undefined, dashed = false): Series[] {
  return runs.map((run) => ({
    name: `${runLabel(run)} ${name}`.trim(),
    color: COLORS[run.activation] ?? '#555',
    dashed,
    points: run.epochs.map((e) => [e.epoch, value(e) ?? NaN] as const),
  }));
}

const percent = (value: number): string => `${(100 * value).toFixed(2)}%`;
const percentTick = (value: number): string => `${Number((100 * value).toPrecision(4))}%`;

function resultsTable(report: TrainReport): string {
  const rows = report.runs.map((run) => {
    const last = run.epochs[run.epochs.length - 1]!;
    const best = Math.max(...run.epochs.map((e) => e.valAccuracy));
    const dead = Object.entries(last.deadUnits).map(([layer, n]) => `${layer} ${n}/${last.units[layer]}`).join(', ');
    const speed = run.epochs.reduce((s, e) => s + e.imagesPerSecond, 0) / run.epochs.length;
    return `<tr><td>${escapeXml(runLabel(run))}</td><td>${last.loss.toFixed(4)}</td><td>${percent(last.trainAccuracy)}</td><td>${percent(last.valAccuracy)}</td><td>${percent(best)}</td><td>${Math.round(speed)}</td><td>${run.seconds.toFixed(1)}</td><td>${escapeXml(dead)}</td></tr>`;
  });
  return `<table><tr><th>run</th><th>loss</th><th>train acc.</th><th>val. acc.</th><th>best val. acc.</th><th>images/s</th><th>seconds</th><th>dead units (last epoch)</th></tr>\n${rows.join('\n')}</table>`;
}

const countCell = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : String(value));

/** Formats one row per run and activation layer: the static analysis over the box merged with the last epoch's validation analysis. */
function analysisTable(report: TrainReport): string {
  const rows = report.runs.flatMap((run) =>
    (run.deadUnitReport?.layers ?? []).map((row) => {
      const channels = row.channels === null ? '' : ` (${row.channels.units} channels: ${countCell(row.channels.dead)} dead, ${countCell(row.channels.alwaysActive)} always active, ${countCell(row.channels.unstable)} unstable)`;
      const cells = [runLabel(run), row.name, String(row.units), countCell(row.dead), countCell(row.alwaysActive), countCell(row.unstable), countCell(row.neverPositive), countCell(row.dying), row.sparsity === null ? '-' : row.sparsity.toFixed(3), row.gradNorm === null ? '-' : row.gradNorm.toPrecision(3)];
      return `<tr>${cells.map((c) => `<td>${escapeXml(c)}</td>`).join('')}<td>${escapeXml(channels.trim())}</td></tr>`;
    }),
  );
  const header = ['run', 'layer', 'units', 'dead on the box', 'always active', 'unstable', 'never positive', 'dying', 'sparsity', 'grad norm', 'conv channels'];
  return `<table><tr>${header.map((h) => `<th>${h}</th>`).join('')}</tr>\n${rows.join('\n')}</table>`;
}

function kernelTable(run: RunResult): string {
  const total = run.kernels.reduce((s, k) => s + k.msPerStep, 0);
  const rows = [...run.kernels]
    .sort((a, b) => b.msPerStep - a.msPerStep)
    .map((k) => `<tr><td>${escapeXml(k.name)}</td><td>${escapeXml(k.summary)}</td><td>${(k.flops / 1e6).toFixed(2)}</td><td>${k.msPerStep.toFixed(2)}</td><td>${total === 0 ? '-' : `${((100 * k.msPerStep) / total).toFixed(1)}%`}</td></tr>`);
  return `<table><tr><th>kernel</th><th>ops</th><th>MFLOP</th><th>ms per step</th><th>share</th></tr>\n${rows.join('\n')}</table>`;
}

/** Returns the report as one self-contained HTML page. */
export function renderReportHtml(report: TrainReport): string {
  const runs = report.runs;
  const layersOf = (key: 'deadUnits' | 'gradNorms'): string[] => [...new Set(runs.flatMap((r) => r.epochs.flatMap((e) => Object.keys(e[key]))))];
  const charts: string[] = [
    lineChart({ title: 'Loss', xLabel: 'epoch', yLabel: 'cross-entropy', series: [...series(runs, 'train', (e) => e.loss, true), ...series(runs, 'validation', (e) => e.valLoss)], yInclude: [0] }),
    lineChart({ title: 'Accuracy', xLabel: 'epoch', yLabel: 'accuracy', series: [...series(runs, 'train', (e) => e.trainAccuracy, true), ...series(runs, 'validation', (e) => e.valAccuracy)], formatY: percentTick }),
  ];
  const deadCharts = layersOf('deadUnits').map((layer) => {
    const units = runs.find((r) => r.epochs[0]?.units[layer] !== undefined)?.epochs[0]?.units[layer];
    return lineChart({ title: `Dead units: ${layer} (of ${units ?? '?'})`, xLabel: 'epoch', yLabel: 'units never positive', series: series(runs, '', (e) => e.deadUnits[layer]), yInclude: [0] });
  });
  const gradientCharts = layersOf('gradNorms').map((layer) =>
    lineChart({ title: `Gradient L2 norm: ${layer}`, xLabel: 'epoch', yLabel: 'mean norm per step', series: series(runs, '', (e) => e.gradNorms[layer]), yInclude: [0] }),
  );
  const analysisRow = (e: RunResult['epochs'][number], layer: string) => e.deadUnitReport?.layers.find((row) => row.name === layer);
  const analysisLayers = [...new Set(runs.flatMap((r) => r.epochs.flatMap((e) => e.deadUnitReport?.layers.map((row) => row.name) ?? [])))];
  const dyingCharts = analysisLayers.map((layer) =>
    lineChart({ title: `Dying units: ${layer}`, xLabel: 'epoch', yLabel: 'units positive on < 1% of images', series: series(runs, '', (e) => analysisRow(e, layer)?.dying ?? undefined), yInclude: [0] }),
  );
  const sparsityCharts = analysisLayers.map((layer) =>
    lineChart({ title: `Sparsity: ${layer}`, xLabel: 'epoch', yLabel: 'fraction not positive', series: series(runs, '', (e) => analysisRow(e, layer)?.sparsity ?? undefined), yInclude: [0], formatY: percentTick }),
  );
  const activationGradientCharts = analysisLayers.map((layer) =>
    lineChart({ title: `Activation gradient L2 norm: ${layer}`, xLabel: 'epoch', yLabel: 'validation loss gradient', series: series(runs, '', (e) => analysisRow(e, layer)?.gradNorm ?? undefined), yInclude: [0] }),
  );
  const kernels = runs.map((run) => `<h3>${escapeXml(runLabel(run))}</h3>\n${kernelTable(run)}\n<pre>${escapeXml(run.compileReport)}</pre>`);
  const config = report.config;
  const box = runs[0]?.deadUnitReport?.box;
  const boxText = box === undefined ? '0,1' : `${box.lower},${box.upper}`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>slope train: ReLU against LeakyReLU</title>
<style>
body { font-family: sans-serif; margin: 2em; max-width: 1400px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; font-size: 13px; }
th:first-child, td:first-child, td:nth-child(2) { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
pre { background: #f6f6f6; padding: 8px; font-size: 12px; overflow-x: auto; }
</style>
</head>
<body>
<h1>slope train: ReLU against LeakyReLU</h1>
<p>${escapeXml(`${report.data.train} training and ${report.data.validation} validation images (${report.data.source === 'bundled' ? 'the digits bundled with the mnist package' : 'MNIST IDX files'}), ${config.epochs} epoch(s) of batch ${config.batchSize}, Adam with learning rate ${config.learningRate} and decay ${config.decay}, seed ${config.seed}, backend ${config.backend}, ${report.jobs} run(s) at a time; ${report.totalSeconds.toFixed(1)} s in total.`)}</p>
<p><code>${escapeXml(report.command)}</code></p>
<h2>Results</h2>
${resultsTable(report)}
<p>Dead units: per hidden layer, the units (Dense neurons, conv channels) whose input to the activation was never positive on any validation image after the epoch, counted by the dynamic dead-unit analysis. A dead ReLU unit passes no gradient; a LeakyReLU unit still passes alpha times its gradient.</p>
<div class="charts">
${charts.join('\n')}
</div>
<h2>Dead units per layer</h2>
<div class="charts">
${deadCharts.join('\n')}
</div>
<h2>Dying units and sparsity per layer</h2>
<p>From the same analysis of the validation set: dying units are positive on some validation images but on fewer than 1% of them (counted per unit, a conv unit being one position of one channel); sparsity is the fraction of image-unit pairs whose pre-activation is not positive.</p>
<div class="charts">
${dyingCharts.join('\n')}
${sparsityCharts.join('\n')}
</div>
<h2>Gradient norms per layer</h2>
<p>Parameter gradients: L2 norm of each layer's gradient (kernel and bias together) on the training batches, averaged over the epoch's steps. Activation gradients: L2 norm of the gradient of the validation loss (mean over a batch) with respect to each activation's output, root mean square over the validation batches that the analysis samples.</p>
<div class="charts">
${gradientCharts.join('\n')}
${activationGradientCharts.join('\n')}
</div>
<h2>Dead-unit analysis after training</h2>
<p>Per activation layer of each trained model, the row of <code>slope dead-units --box=${escapeXml(boxText)} --data ... --json</code>: units dead, always active or unstable for every image with pixel values in [${escapeXml(boxText)}], proven by the static analysis, beside the last epoch's validation counts. A conv unit is one position of one channel.</p>
${analysisTable(report)}
<h2>Model</h2>
<pre>${escapeXml(runs[0]?.layers ?? '')}</pre>
<h2>Compiled training step</h2>
<p>One executable per run does the forward pass, the backward pass and the Adam update. Kernel times are the mean of 3 steps measured after training.</p>
${kernels.join('\n')}
</body>
</html>
`;
}
