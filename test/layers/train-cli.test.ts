import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainOptions } from '../../src/cli/train.ts';
import { checkModelSize } from '../../src/cli/train-limits.ts';
import { rebuildError, serializeError, TrainRunError } from '../../src/cli/worker-errors.ts';
import { LayerError } from '../../src/layers/errors.ts';
import { lineChart, niceTicks } from '../../src/cli/svg-chart.ts';
import { encodeIdx } from '../data/idx-writer.ts';

const run = promisify(execFile);
const launcher = fileURLToPath(new URL('../../bin/slope.js', import.meta.url));

describe('slope train', () => {
  let directory: string;
  let stdout: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'slope-train-'));
    const args = [launcher, 'train', '--epochs', '1', '--limit', '256', '--validation-limit', '128', '--batch-size', '32', '--out', directory, '--json'];
    ({ stdout } = await run(process.execPath, args, { timeout: 60_000 }));
  }, 90_000);

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  // The keys of a row of `slope dead-units --json`.
  const ROW_KEYS = ['alwaysActive', 'channels', 'dead', 'deadLabel', 'dying', 'gradNorm', 'name', 'neverPositive', 'op', 'sparsity', 'units', 'unstable'];

  it('prints one JSON summary on stdout', () => {
    const summary = JSON.parse(stdout);
    expect(summary.runs.map((r: { activation: string }) => r.activation)).toEqual(['relu', 'leaky_relu']);
    expect(summary.runs.map((r: { alpha: number }) => r.alpha)).toEqual([0, 0.2]);
    for (const runSummary of summary.runs) {
      expect(runSummary.epochs).toHaveLength(1);
      const epoch = runSummary.epochs[0];
      expect(Object.keys(epoch).sort()).toEqual(['deadUnitReport', 'deadUnits', 'epoch', 'gradNorms', 'imagesPerSecond', 'loss', 'trainAccuracy', 'units', 'valAccuracy']);
      expect(epoch.trainAccuracy).toBeGreaterThanOrEqual(0);
      expect(epoch.trainAccuracy).toBeLessThanOrEqual(1);
      expect(epoch.valAccuracy).toBeGreaterThanOrEqual(0);
      expect(epoch.valAccuracy).toBeLessThanOrEqual(1);
      expect(epoch.imagesPerSecond).toBeGreaterThan(0);
      expect(epoch.units).toEqual({ conv2d_1: 16, conv2d_2: 32, dense_1: 64 });
      expect(Object.keys(epoch.deadUnits)).toEqual(['conv2d_1', 'conv2d_2', 'dense_1']);
      expect(Object.keys(epoch.gradNorms)).toEqual(['conv2d_1', 'conv2d_2', 'dense_1', 'dense_2']);
      for (const norm of Object.values(epoch.gradNorms)) expect(norm).toBeGreaterThan(0);
      const rows = epoch.deadUnitReport.layers;
      expect(rows.map((r: { name: string }) => r.name)).toEqual(['conv2d_1', 'conv2d_2', 'dense_1']);
      expect(rows.map((r: { units: number }) => r.units)).toEqual([26 * 26 * 16, 11 * 11 * 32, 64]);
      for (const row of rows) {
        expect(Object.keys(row).sort()).toEqual(ROW_KEYS);
        expect(epoch.deadUnits[row.name]).toBe(row.channels?.dead ?? row.dead);
        expect(row.gradNorm).toBeGreaterThan(0);
        expect(row.sparsity).toBeGreaterThan(0);
      }
      const proven = runSummary.deadUnitReport;
      expect(proven.box).toEqual({ lower: 0, upper: 1 });
      for (const row of proven.layers) {
        expect(Object.keys(row).sort()).toEqual(ROW_KEYS);
        expect(row.dead + row.alwaysActive + row.unstable).toBe(row.units);
        expect(row.neverPositive).toBe(rows.find((r: { name: string }) => r.name === row.name).dead);
      }
    }
  });

  it('writes a valid report.json', async () => {
    const report = JSON.parse(await readFile(join(directory, 'report.json'), 'utf8'));
    expect(report.data).toEqual({ source: 'bundled', train: 256, validation: 128 });
    expect(report.config.epochs).toBe(1);
    expect(report.runs).toHaveLength(2);
    for (const runReport of report.runs) {
      expect(runReport.kernels.length).toBeGreaterThan(0);
      expect(runReport.kernels.some((k: { summary: string }) => /^conv2d \+ add \+ (relu|leakyRelu)/.test(k.summary))).toBe(true);
      expect(runReport.compileReport).toContain('kernels:');
    }
  });

  it('writes a self-contained report.html', async () => {
    const html = await readFile(join(directory, 'report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)!.length).toBeGreaterThanOrEqual(2 + 3 + 4);
    expect(html).not.toMatch(/<script|src="http|href="http/);
  });
});

describe('slope train --data', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'slope-train-idx-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('trains on MNIST IDX files', async () => {
    // Random 28x28 images: the run only has to read them and finish.
    const files = { train: 48, t10k: 16 };
    for (const [prefix, count] of Object.entries(files)) {
      const pixels = Uint8Array.from({ length: count * 784 }, (_, i) => (i * 37) % 256);
      const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
      await writeFile(join(directory, `${prefix}-images-idx3-ubyte`), encodeIdx('uint8', [count, 28, 28], pixels));
      await writeFile(join(directory, `${prefix}-labels-idx1-ubyte`), encodeIdx('uint8', [count], labels));
    }
    const out = join(directory, 'out');
    // A batch size above the 48 training examples trains with batches of 48, and the report records 48.
    const args = [launcher, 'train', '--data', directory, '--epochs', '1', '--batch-size', '64', '--activation', 'leaky_relu', '--jobs', '1', '--out', out, '--json'];
    const { stdout, stderr } = await run(process.execPath, args, { timeout: 60_000 });

    const summary = JSON.parse(stdout);
    expect(summary.runs.map((r: { activation: string }) => r.activation)).toEqual(['leaky_relu']);
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.data).toEqual({ source: 'idx', train: 48, validation: 16 });
    expect(report.config.batchSize).toBe(48);
    expect(stderr).toContain('--batch-size 64 is more than the 48 training examples');
  }, 90_000);

  it('prints a bad label from a worker as a slope error', async () => {
    const data = join(directory, 'bad-label');
    await mkdir(data);
    for (const [prefix, count] of Object.entries({ train: 32, t10k: 16 })) {
      const labels = Uint8Array.from({ length: count }, (_, i) => (i === 3 ? 200 : i % 10));
      await writeFile(join(data, `${prefix}-images-idx3-ubyte`), encodeIdx('uint8', [count, 28, 28], new Uint8Array(count * 784)));
      await writeFile(join(data, `${prefix}-labels-idx1-ubyte`), encodeIdx('uint8', [count], labels));
    }
    const out = join(data, 'out');
    const args = [launcher, 'train', '--data', data, '--epochs', '1', '--jobs', '2', '--out', out];
    const failure = await run(process.execPath, args, { timeout: 60_000 }).then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toBe('slope: Error in fit: label 200 of example 3 is not a class index in [0, 10) of the model\'s 10 outputs\n');
    expect(existsSync(out)).toBe(false);
  }, 90_000);
});

/** Starts `slope train ARGS`, sends `signal` once the first epoch is logged and resolves with the exit code and stderr. */
function interruptAfterFirstEpoch(args: readonly string[], signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [launcher, 'train', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr === '' && /epoch 1\//.test(text)) child.kill(signal);
      stderr += text;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('slope train interrupted', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'slope-train-signal-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  // Many short epochs, so the signal arrives while the runs still train.
  const args = ['--epochs', '200', '--limit', '32', '--validation-limit', '32', '--batch-size', '32'];

  it('exits with 130 on SIGINT and removes the output directory it created', async () => {
    const out = join(directory, 'new', 'out');
    const { code, stderr } = await interruptAfterFirstEpoch([...args, '--out', out], 'SIGINT');
    expect(code).toBe(130);
    expect(stderr).toContain('slope: train interrupted by SIGINT');
    expect(existsSync(join(directory, 'new'))).toBe(false);
  }, 90_000);

  it('exits with 143 on SIGTERM and keeps a directory that existed', async () => {
    const { code } = await interruptAfterFirstEpoch([...args, '--jobs', '1', '--out', directory], 'SIGTERM');
    expect(code).toBe(143);
    expect(existsSync(directory)).toBe(true);
  }, 90_000);
});

describe('train options', () => {
  it('have documented defaults', () => {
    const options = parseTrainOptions([])!;
    expect(options.activations).toEqual(['relu', 'leaky_relu']);
    expect(options.config.alpha).toBe(0.2);
    expect(options.out).toBe('out');
    expect(options.json).toBe(false);
  });

  it('reject an unknown activation', () => {
    expect(() => parseTrainOptions(['--activation', 'LeakyReLU'])).toThrow(/relu, leaky_relu or both/);
  });

  it('reject an unknown backend', () => {
    expect(() => parseTrainOptions(['--backend', 'cuda'])).toThrow(/--backend must be wasm or js, got "cuda"/);
  });

  it('default to the wasm backend', () => {
    expect(parseTrainOptions([])?.config.backend).toBe('wasm');
    expect(parseTrainOptions(['--backend', 'js'])?.config.backend).toBe('js');
  });

  it('reject a non-integer epoch count', () => {
    expect(() => parseTrainOptions(['--epochs', '2.5'])).toThrow(/--epochs must be an integer/);
  });

  it('reject an unknown option', () => {
    expect(() => parseTrainOptions(['--epoch', '2'])).toThrow(/--help/);
  });

  it('reject a negative epoch count', () => {
    expect(() => parseTrainOptions(['--epochs', '-1'])).toThrow(`Error in train: --epochs needs a value, and "-1" is read as an option; write --epochs=-1. Run 'slope train --help' for the options.`);
    expect(() => parseTrainOptions(['--epochs', '--json'])).toThrow(`Error in train: --epochs needs a value, but the option --json follows it. Run 'slope train --help' for the options.`);
    expect(() => parseTrainOptions(['--epochs=-1'])).toThrow('Error in train: --epochs must be an integer of at least 1, got "-1"');
  });

  it('reject an empty data directory', () => {
    expect(() => parseTrainOptions(['--data', ''])).toThrow('Error in train: --data must name a directory of MNIST IDX files, got an empty string');
  });

  it('return undefined for help', () => {
    expect(parseTrainOptions(['--help'])).toBeUndefined();
  });
});

describe('train model size', () => {
  const mnist = { height: 28, width: 28, channels: 1 };

  it('accepts the default model', () => {
    expect(() => checkModelSize({ filters: [16, 32], denseUnits: 64 }, mnist, 256, '--validation-limit')).not.toThrow();
  });

  it('names --filters for a huge kernel', () => {
    expect(() => checkModelSize({ filters: [1e9, 1e9], denseUnits: 64 }, mnist, 32, '--batch-size')).toThrow(
      'Error in train: with --filters 1000000000,1000000000 and --dense-units 64, the kernel of conv2d_1 would have 9000000000 elements, more than the limit of 268435456 (2^28) per tensor; lower --filters',
    );
  });

  it('names --dense-units for a huge dense layer', () => {
    expect(() => checkModelSize({ filters: [16, 32], denseUnits: 1e8 }, mnist, 32, '--batch-size')).toThrow(/the kernel of dense_1 would have 80000000000 elements.*lower --filters or --dense-units$/);
  });

  it('names the batch option for a huge activation', () => {
    expect(() => checkModelSize({ filters: [2000, 16], denseUnits: 64 }, mnist, 256, '--validation-limit')).toThrow(/the output of conv2d_1 for a batch of 256 would have 346112000 elements.*lower --filters or --validation-limit$/);
  });
});

describe('worker errors', () => {
  it('keep the class of a slope error', () => {
    const rebuilt = rebuildError(serializeError(new LayerError('Error in fit: bad label')), 'relu');
    expect(rebuilt).toBeInstanceOf(LayerError);
    expect(rebuilt.message).toBe('Error in fit: bad label');
  });

  it('name the run and class of any other error', () => {
    const rebuilt = rebuildError(serializeError(new RangeError('Invalid typed array length: -1')), 'relu');
    expect(rebuilt).toBeInstanceOf(TrainRunError);
    expect((rebuilt as TrainRunError).causeName).toBe('RangeError');
    expect(rebuilt.message).toBe('Error in train: the relu run failed with RangeError: Invalid typed array length: -1');
  });
});

describe('svg charts', () => {
  it('escape labels', () => {
    const svg = lineChart({ title: '<b>&', xLabel: 'x', yLabel: 'y', series: [{ name: '"a"<', color: 'red', points: [[1, 2], [2, 3]] }] });
    expect(svg).toContain('&lt;b&gt;&amp;');
    expect(svg).toContain('&quot;a&quot;&lt;');
    expect(svg).not.toContain('<b>');
  });

  it('pick round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.93, 0.99)).toEqual([0.94, 0.96, 0.98]);
  });
});

describe('slope train number options', () => {
  it('reject a zero learning rate and a non-finite alpha', () => {
    expect(() => parseTrainOptions(['--lr', '0'])).toThrow(/--lr must be a finite number greater than 0, got "0"/);
    expect(() => parseTrainOptions(['--alpha=NaN'])).toThrow(/--alpha must be a finite number, got "NaN"/);
  });
});
