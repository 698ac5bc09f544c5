// `slope train`: trains the same small CNN on MNIST digits once per
// activation (ReLU, then LeakyReLU) from one seed, and writes a report of
// loss, accuracy, speed, dead units and gradient norms per epoch. Runs train
// in parallel worker threads when there are cores for them; each run is
// deterministic, so the results do not depend on that.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { prepareOutputDirectory, removeEmptyDirectories, removePendingTemporaries, writeFilesAtomic } from './output-dir.ts';
import { Worker } from 'node:worker_threads';
import { subsetDataset } from '../data/dataset.ts';
import type { Dataset } from '../data/dataset.ts';
import { loadTrainingData } from '../data/node-fs.ts';
import type { EpochLog, ProgressReporter } from '../layers/progress.ts';
import { CliError, parseCommandLine } from './args.ts';
import { checkModelSize } from './train-limits.ts';
import { runProgress } from './train-progress.ts';
import type { RunProgress } from './train-progress.ts';
import { jsonSummary, renderReportHtml, runLabel } from './train-report.ts';
import type { TrainReport } from './train-report.ts';
import type { ActivationChoice, RunResult, TrainConfig } from './train-run.ts';
import type { WorkerInput } from './train-worker.ts';
import { rebuildError, serializeError } from './worker-errors.ts';
import type { SerializedError } from './worker-errors.ts';

/** Defaults of `slope train`, chosen so that both runs finish in about 3 minutes on 2 cores; see docs/train.md for the measurements. */
export const TRAIN_DEFAULTS = {
  epochs: 10,
  batchSize: 32,
  learningRate: 0.002,
  decay: 0.001,
  alpha: 0.2,
  seed: 0,
  out: 'out',
  filters: [16, 32] as const,
  denseUnits: 64,
  dropout: 0,
};

export const TRAIN_HELP = `Usage: slope train [options]

Trains a small CNN (Conv2D 3x3 ${TRAIN_DEFAULTS.filters[0]} filters, max pool 2, Conv2D 3x3 ${TRAIN_DEFAULTS.filters[1]} filters,
max pool 2, Dense ${TRAIN_DEFAULTS.denseUnits}, Dense 10) on MNIST digits with ReLU and with LeakyReLU from the
same seed, and writes OUT/report.html and OUT/report.json: loss, accuracy,
images per second, dead units and gradient norms per layer and epoch.
Progress goes to stderr, results to stdout.

Options:
  --epochs N           epochs per run (default ${TRAIN_DEFAULTS.epochs})
  --batch-size N       examples per training step (default ${TRAIN_DEFAULTS.batchSize})
  --lr X               Adam learning rate (default ${TRAIN_DEFAULTS.learningRate})
  --decay X            inverse-time decay of the learning rate per step (default ${TRAIN_DEFAULTS.decay})
  --activation NAME    relu, leaky_relu or both (default both)
  --alpha X            LeakyReLU slope for x < 0 (default ${TRAIN_DEFAULTS.alpha})
  --filters A,B        filters of the two conv layers (default ${TRAIN_DEFAULTS.filters.join(',')})
  --dense-units N      units of the hidden dense layer (default ${TRAIN_DEFAULTS.denseUnits})
  --dropout X          dropout rate after Flatten and after the hidden dense
                       layer, in [0, 1) (default ${TRAIN_DEFAULTS.dropout})
  --backend NAME       compiler backend: wasm (default, SIMD kernels) or js
                       (readable kernels, slower)
  --seed N             seed of initialisation, split, shuffles (default ${TRAIN_DEFAULTS.seed})
  --data DIR           train on the MNIST IDX files in DIR (60,000 train and
                       10,000 test images) instead of the 10,000 bundled
                       digits split 8,000 / 2,000
  --limit N            train on the first N training images only
  --validation-limit N validate on the first N validation images only
  --jobs N             runs trained at the same time, each in a worker thread
                       (default: the number of runs, at most the cores)
  --out DIR            directory of report.html and report.json (default ${TRAIN_DEFAULTS.out})
  --json               print the summary as one JSON object on stdout
  -h, --help           show this help
`;

function integerOption(value: string | undefined, option: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`Error in train: ${option} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses a finite number option; `min` bounds it from below, exclusively when `exclusive` is set. */
function numberOption(value: string | undefined, option: string, fallback: number, min: number, exclusive = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  let bound = '';
  if (min !== -Infinity) bound = exclusive ? ` greater than ${min}` : ` of at least ${min}`;
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (exclusive && n === min)) {
    throw new CliError(`Error in train: ${option} must be a finite number${bound}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function filtersOption(value: string | undefined): readonly [number, number] {
  if (value === undefined) return TRAIN_DEFAULTS.filters;
  const parts = value.split(',').map((part) => integerOption(part.trim(), '--filters', 0));
  if (parts.length !== 2) throw new CliError(`Error in train: --filters must be two integers separated by a comma, such as 8,16, got ${JSON.stringify(value)}`);
  return [parts[0]!, parts[1]!];
}

interface TrainOptions {
  config: TrainConfig;
  activations: ActivationChoice[];
  dataDir?: string;
  limit?: number;
  validationLimit?: number;
  jobs: number;
  out: string;
  json: boolean;
}

/** Parses the command line of `slope train`; returns undefined for --help. */
export function parseTrainOptions(argv: readonly string[]): TrainOptions | undefined {
  const { values } = parseCommandLine('train', argv, {
    options: {
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      decay: { type: 'string' },
      activation: { type: 'string' },
      alpha: { type: 'string' },
      filters: { type: 'string' },
      'dense-units': { type: 'string' },
      dropout: { type: 'string' },
      backend: { type: 'string' },
      seed: { type: 'string' },
      data: { type: 'string' },
      limit: { type: 'string' },
      'validation-limit': { type: 'string' },
      jobs: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;

  const activation = values.activation ?? 'both';
  const activations: ActivationChoice[] | undefined = { relu: ['relu'], leaky_relu: ['leaky_relu'], both: ['relu', 'leaky_relu'] }[activation] as ActivationChoice[] | undefined;
  if (activations === undefined) throw new CliError(`Error in train: --activation must be relu, leaky_relu or both, got ${JSON.stringify(activation)}`);
  const backend = values.backend ?? 'wasm';
  if (backend !== 'js' && backend !== 'wasm') throw new CliError(`Error in train: --backend must be wasm or js, got ${JSON.stringify(backend)}`);

  const config: TrainConfig = {
    epochs: integerOption(values.epochs, '--epochs', TRAIN_DEFAULTS.epochs),
    batchSize: integerOption(values['batch-size'], '--batch-size', TRAIN_DEFAULTS.batchSize),
    learningRate: numberOption(values.lr, '--lr', TRAIN_DEFAULTS.learningRate, 0, true),
    decay: numberOption(values.decay, '--decay', TRAIN_DEFAULTS.decay, 0),
    alpha: numberOption(values.alpha, '--alpha', TRAIN_DEFAULTS.alpha, -Infinity),
    seed: integerOption(values.seed, '--seed', TRAIN_DEFAULTS.seed, 0),
    backend,
    filters: filtersOption(values.filters),
    denseUnits: integerOption(values['dense-units'], '--dense-units', TRAIN_DEFAULTS.denseUnits),
    dropout: numberOption(values.dropout, '--dropout', TRAIN_DEFAULTS.dropout, 0),
  };
  if (config.dropout >= 1) throw new CliError(`Error in train: --dropout must be less than 1, got ${config.dropout}`);
  const options: TrainOptions = {
    config,
    activations,
    jobs: Math.min(activations.length, integerOption(values.jobs, '--jobs', Math.max(1, availableParallelism()))),
    out: values.out ?? TRAIN_DEFAULTS.out,
    json: values.json,
  };
  if (values.data !== undefined) {
    if (values.data.trim() === '') throw new CliError('Error in train: --data must name a directory of MNIST IDX files, got an empty string');
    options.dataDir = values.data;
  }
  if (values.limit !== undefined) options.limit = integerOption(values.limit, '--limit', 0);
  if (values['validation-limit'] !== undefined) options.validationLimit = integerOption(values['validation-limit'], '--validation-limit', 0);
  return options;
}

function firstExamples(ds: Dataset, limit: number | undefined): Dataset {
  if (limit === undefined || limit >= ds.count) return ds;
  return subsetDataset(ds, Int32Array.from({ length: limit }, (_, i) => i));
}

/**
 * Trains one run in a worker thread, forwarding its progress to `reporter`.
 * The worker is in `workers` while it runs, so a failure of another run can
 * terminate it. An error inside the run rejects with a typed error rebuilt
 * on this thread.
 */
function trainInWorker(input: WorkerInput, reporter: ProgressReporter, workers: Set<Worker>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: input });
    workers.add(worker);
    let result: RunResult | undefined;
    let failure: Error | undefined;
    worker.on('message', (message: { type: string; info?: never; log?: EpochLog; result?: RunResult; error?: SerializedError }) => {
      if (message.type === 'epochStart') reporter.epochStart?.(message.info!);
      else if (message.type === 'batchEnd') reporter.batchEnd?.(message.info!);
      else if (message.type === 'epochEnd') reporter.epochEnd?.(message.log!, message.info!);
      else if (message.type === 'result') result = message.result;
      else if (message.type === 'error') failure = rebuildError(message.error!, input.activation);
    });
    // An error thrown outside trainRun, such as running out of memory, arrives here.
    worker.on('error', (error) => {
      failure = rebuildError(serializeError(error), input.activation);
    });
    worker.on('exit', (code) => {
      workers.delete(worker);
      if (result !== undefined) resolve(result);
      else reject(failure ?? new CliError(`Error in train: the worker of the ${input.activation} run exited with code ${code} before it sent a result`));
    });
  });
}

/** Runs `tasks` with at most `limit` running at once; resolves with their results in order, and starts no task after one fails. */
async function inPool<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < tasks.length && !failed) {
      const index = next++;
      try {
        results[index] = await tasks[index]!();
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  return results;
}

function formatTable(report: TrainReport): string {
  const header = ['run', 'epochs', 'loss', 'train acc', 'val acc', 'images/s', 'seconds', 'dead units (last epoch)'];
  const rows = report.runs.map((run) => {
    const last = run.epochs[run.epochs.length - 1]!;
    const speed = run.epochs.reduce((s, e) => s + e.imagesPerSecond, 0) / run.epochs.length;
    const dead = Object.entries(last.deadUnits).map(([layer, n]) => `${layer} ${n}/${last.units[layer]}`).join(', ');
    return [runLabel(run), String(run.epochs.length), last.loss.toFixed(4), `${(100 * last.trainAccuracy).toFixed(2)}%`, `${(100 * last.valAccuracy).toFixed(2)}%`, String(Math.round(speed)), run.seconds.toFixed(1), dead];
  });
  const widths = header.map((_, c) => Math.max(...[header, ...rows].map((r) => r[c]!.length)));
  return [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** Exit statuses of a process ended by a signal: 128 plus the signal's number. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/** The state that a signal handler of `slope train` cleans up; `progress` is set once the bars exist. */
interface RunState {
  progress?: RunProgress;
  createdDirectories: readonly string[];
}

/**
 * Makes SIGINT and SIGTERM stop the progress bars (which shows the cursor
 * again), remove the temporary report files and the output directories this
 * run created while they are still empty, then exit with 130 or 143.
 * Returns a function that removes the handlers.
 */
function exitCleanlyOnSignals(state: RunState): () => void {
  const handler = (signal: keyof typeof SIGNAL_EXIT_CODES): void => {
    state.progress?.stop();
    removePendingTemporaries();
    removeEmptyDirectories(state.createdDirectories);
    process.stderr.write(`slope: train interrupted by ${signal}; no report was written\n`);
    process.exit(SIGNAL_EXIT_CODES[signal]);
  };
  for (const signal of Object.keys(SIGNAL_EXIT_CODES)) process.on(signal, handler);
  return () => {
    for (const signal of Object.keys(SIGNAL_EXIT_CODES)) process.off(signal, handler);
  };
}

export async function trainCommand(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const options = parseTrainOptions(argv);
  if (options === undefined) {
    out(TRAIN_HELP);
    return 0;
  }
  // The handlers are installed first and see each directory as it is created, so a signal during the check cleans up too.
  const created: string[] = [];
  const state: RunState = { createdDirectories: created };
  const removeSignalHandlers = exitCleanlyOnSignals(state);
  try {
    // The output directory is checked before training, so a bad --out fails in seconds, not after the runs.
    await prepareOutputDirectory(options.out, 'train --out', ['report.json', 'report.html'], created);
    return await trainAndReport(argv, options, state, out);
  } catch (error) {
    removeEmptyDirectories(created);
    throw error;
  } finally {
    removeSignalHandlers();
  }
}

async function trainAndReport(argv: readonly string[], options: TrainOptions, state: RunState, out: (text: string) => void): Promise<number> {
  const started = performance.now();
  const loaded = await loadTrainingData({ ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }), seed: options.config.seed });
  const data = { train: firstExamples(loaded.train, options.limit), validation: firstExamples(loaded.validation, options.validationLimit) };
  // fit takes batches of at most the training set's size, so the report states the batch size that ran.
  if (options.config.batchSize > data.train.count && data.train.count > 0) {
    process.stderr.write(`note: --batch-size ${options.config.batchSize} is more than the ${data.train.count} training examples; training with batches of ${data.train.count}\n`);
    options.config.batchSize = data.train.count;
  }
  // fit validates in batches of up to 256 examples, so those batches can be the larger ones.
  const validationBatch = Math.min(256, data.validation.count);
  if (validationBatch > options.config.batchSize) checkModelSize(options.config, data.train, validationBatch, '--validation-limit');
  else checkModelSize(options.config, data.train, options.config.batchSize, '--batch-size');

  // Every run trains in a worker thread, even with --jobs 1, so the main
  // thread stays free to handle a signal at once.
  const labels = options.activations.map((activation) => runLabel({ activation, alpha: activation === 'relu' ? 0 : options.config.alpha }));
  const progress = runProgress(labels);
  state.progress = progress;
  const workers = new Set<Worker>();
  // Runs that train at once share the cores, so each executable gets its share of threads instead of one per core.
  const threads = Math.max(1, Math.floor(availableParallelism() / Math.min(options.jobs, options.activations.length)));
  const tasks = options.activations.map((activation, i) => () => trainInWorker({ activation, config: options.config, data, threads }, progress.reporter(labels[i]!), workers));
  let runs: RunResult[];
  try {
    runs = await inPool(tasks, options.jobs);
  } catch (error) {
    // The other runs would keep the process alive for minutes after the error is printed.
    await Promise.all([...workers].map((worker) => worker.terminate()));
    throw error;
  } finally {
    progress.stop();
  }

  const report: TrainReport = {
    command: ['slope', 'train', ...argv].join(' '),
    config: options.config,
    data: { source: loaded.source, train: data.train.count, validation: data.validation.count },
    jobs: options.jobs,
    totalSeconds: (performance.now() - started) / 1000,
    runs,
  };
  const jsonPath = join(options.out, 'report.json');
  const htmlPath = join(options.out, 'report.html');
  await writeFilesAtomic([
    { path: jsonPath, contents: `${JSON.stringify(report, null, 2)}\n` },
    { path: htmlPath, contents: renderReportHtml(report) },
  ]);

  if (options.json) out(`${JSON.stringify({ ...jsonSummary(report), report: { json: jsonPath, html: htmlPath } })}\n`);
  else out(`${formatTable(report)}\n\nwrote ${htmlPath} and ${jsonPath} in ${report.totalSeconds.toFixed(1)} s\n`);
  return 0;
}
