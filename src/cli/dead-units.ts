// `slope dead-units MODEL`: loads a module whose default export builds a
// graph and runs the static analysis over an input box (--box), the dynamic
// analysis over a dataset (--data), or both. It prints one row per
// activation layer, as a table or as JSON.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { DataSource, DeadUnitReport, Feeds, InputRegion } from '../index.ts';
import type { GradientTarget } from '../../passes/dead-units.ts';
import { analyzeDynamic, analyzeStatic, DEFAULT_GRADIENT_EVERY, deadUnitsJson, formatDeadUnitsTable, Node, SlopeError } from '../index.ts';
import { loadBundledMnist } from '../data/node-fs.ts';
import { ancestors } from '../interp/interpreter.ts';
import { parseCommandLine } from './args.ts';
import { importModule, loadModel } from './load-model.ts';

export class DeadUnitsCliError extends SlopeError {}

export const DEAD_UNITS_HELP = `Usage: slope dead-units MODEL (--box LO,HI | --data SOURCE) [options]

Finds dead relu-family units in the graph built by MODEL's default export:
a function that receives { batchSize } and returns a node, an array of
nodes, or { outputs, loss?, params? }; it may be async. MODEL must load as
an ES module: a .mts file, or a .ts file under a package.json with
"type": "module".

Options:
  --box LO,HI          analyse statically over the box LO <= x <= HI of every
                       input; NAME=LO,HI sets one input's box (repeatable);
                       write --box=-1,1 when LO is negative
  --splits N           bisect the box up to depth N (default 0)
  --data SOURCE        analyse over a dataset: 'mnist' (the 10,000 digits of
                       the mnist package, images to the first float input and
                       labels to an int32 input), a .json file mapping input
                       names to arrays of examples, or a .js/.ts module whose
                       default export is the batches of feeds
  --batch-size N       batch size passed to MODEL (default 1 with --box only,
                       else 100)
  --limit N            use at most N examples of the data
  --threshold F        call a unit dying below this fraction of positive
                       examples (default 0.01)
  --tau F              call a unit dormant when its mean |activation| is at
                       most F times its layer's mean (default 0)
  --gradients TARGET   gradient statistics of MODEL's loss with respect to
                       activations (default), preActivations or params
  --gradient-every K   take gradient statistics on every K-th batch only, so
                       they are estimates from those batches; counts stay
                       exact (default ${DEFAULT_GRADIENT_EVERY}; 1 for exact statistics)
  --json               print {layers: [{name, units, dead, dying, alwaysActive,
                       unstable, sparsity, gradNorm, ...}]}
  -h, --help           show this help
`;

function fail(message: string): never {
  throw new DeadUnitsCliError(`Error in dead-units: ${message}`);
}

function parseRange(text: string, what: string): [number, number] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p)) || parts[0]! > parts[1]!) {
    fail(`invalid ${what} ${JSON.stringify(text)}; expected LO,HI with finite numbers and LO <= HI, such as --box 0,1`);
  }
  return [parts[0]!, parts[1]!];
}

/** Builds the region from --box values: LO,HI for every input, NAME=LO,HI for one. */
function regionOf(boxes: readonly string[], outputs: Node[]): InputRegion {
  const inputs = outputs[0]!.graph.inputs.filter((n) => n.dtype === 'float32' || n.dtype === 'float64');
  const region: Record<string, { lower: number; upper: number }> = {};
  for (const box of boxes) {
    const named = /^([^=]+)=(.*)$/.exec(box);
    if (named === null) {
      const [lower, upper] = parseRange(box, '--box');
      for (const input of inputs) region[input.name!] = { lower, upper };
      continue;
    }
    const name = named[1]!;
    if (!inputs.some((n) => n.name === name)) fail(`--box names ${JSON.stringify(name)}, which is not a float input; the inputs are ${inputs.map((n) => JSON.stringify(n.name)).join(', ')}`);
    const [lower, upper] = parseRange(named[2]!, `--box for ${name}`);
    region[name] = { lower, upper };
  }
  return region;
}

function positiveInteger(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) fail(`invalid ${what} ${JSON.stringify(text)}; expected an integer >= 1`);
  return value;
}

function finiteNumber(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) fail(`invalid ${what} ${JSON.stringify(text)}; expected a number`);
  return value;
}

/** Splits per-input example arrays into feeds of each input's batch size, dropping a last partial batch. */
function batchesFromColumns(columns: Record<string, Float64Array | Int32Array>, outputs: Node[], limit: number | undefined, warn: (text: string) => void): Feeds[] {
  const graphInputs = outputs[0]!.graph.inputs;
  const names = Object.keys(columns);
  let examples = Infinity;
  for (const name of names) {
    const input = graphInputs.find((n) => n.name === name);
    if (input === undefined) fail(`the data has ${JSON.stringify(name)}, which is not an input; the inputs are ${graphInputs.map((n) => JSON.stringify(n.name)).join(', ')}`);
    const rowSize = input.size / input.shape[0]!;
    if (columns[name]!.length % rowSize !== 0) fail(`the data for ${JSON.stringify(name)} has ${columns[name]!.length} values, not a multiple of one example's ${rowSize}`);
    examples = Math.min(examples, columns[name]!.length / rowSize);
  }
  if (limit !== undefined) examples = Math.min(examples, limit);
  const batch = graphInputs.find((n) => n.name === names[0])!.shape[0]!;
  const count = Math.floor(examples / batch);
  if (count === 0) fail(`the data has ${examples} examples, fewer than one batch of ${batch}; lower --batch-size`);
  if (count * batch < examples) warn(`dead-units: dropped ${examples - count * batch} examples that do not fill a batch of ${batch}\n`);
  return Array.from({ length: count }, (_, k) => {
    const feeds: Record<string, Float64Array | Int32Array> = {};
    for (const name of names) {
      const input = graphInputs.find((n) => n.name === name)!;
      feeds[name] = columns[name]!.subarray(k * input.size, (k + 1) * input.size);
    }
    return feeds;
  });
}

async function loadData(source: string, outputs: Node[], limit: number | undefined, warn: (text: string) => void): Promise<DataSource> {
  const graphInputs = outputs[0]!.graph.inputs;
  if (source === 'mnist') {
    const images = graphInputs.find((n) => n.dtype === 'float32' || n.dtype === 'float64');
    if (images === undefined) fail('--data mnist needs a float input for the images');
    const dataset = await loadBundledMnist();
    const columns: Record<string, Float64Array | Int32Array> = { [images.name!]: Float64Array.from(dataset.images) };
    const labels = graphInputs.find((n) => n.dtype === 'int32');
    if (labels !== undefined) columns[labels.name!] = dataset.labels;
    return batchesFromColumns(columns, outputs, limit, warn);
  }
  const path = resolve(source);
  if (!existsSync(path)) fail(`data file not found: ${path}`);
  if (extname(path) === '.json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      fail(`invalid JSON in ${path}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(`${path} must contain an object mapping input names to arrays of examples`);
    const columns: Record<string, Float64Array | Int32Array> = {};
    for (const [name, values] of Object.entries(parsed)) {
      const flat = (Array.isArray(values) ? values : [values]).flat(Infinity) as unknown[];
      if (!flat.every((v) => typeof v === 'number')) fail(`the data for ${JSON.stringify(name)} in ${path} must contain only numbers`);
      const input = graphInputs.find((n) => n.name === name);
      columns[name] = input?.dtype === 'int32' ? Int32Array.from(flat as number[]) : Float64Array.from(flat as number[]);
    }
    return batchesFromColumns(columns, outputs, limit, warn);
  }
  const module = await importModule('dead-units', source);
  if (module.default === undefined) fail(`${path} must have a default export: an array or iterable of feeds, or a function returning one`);
  return module.default as DataSource;
}

/** Runs `slope dead-units`; returns the exit status. */
export async function deadUnitsCommand(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t), err: (text: string) => void = (t) => process.stderr.write(t)): Promise<number> {
  const { values, positionals } = parseCommandLine('dead-units', argv, {
    allowPositionals: true,
    options: {
      box: { type: 'string', multiple: true },
      splits: { type: 'string' },
      data: { type: 'string' },
      'batch-size': { type: 'string' },
      limit: { type: 'string' },
      threshold: { type: 'string' },
      tau: { type: 'string' },
      gradients: { type: 'string' },
      'gradient-every': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(DEAD_UNITS_HELP);
    return 0;
  }
  if (positionals.length !== 1) fail(`expected one MODEL file, got ${positionals.length}\n\n${DEAD_UNITS_HELP}`);
  const boxes = values.box ?? [];
  if (boxes.length === 0 && values.data === undefined) fail(`give --box LO,HI, --data SOURCE or both\n\n${DEAD_UNITS_HELP}`);
  const gradients = (values.gradients ?? 'activations') as GradientTarget;
  if (!['activations', 'preActivations', 'params'].includes(gradients)) fail(`invalid --gradients ${JSON.stringify(gradients)}; expected activations, preActivations or params`);

  const batchSize = positiveInteger(values['batch-size'], '--batch-size', values.data === undefined ? 1 : 100);
  const model = await loadModel('dead-units', positionals[0]!, batchSize);
  const reports: DeadUnitReport[] = [];
  if (boxes.length > 0) {
    const splits = values.splits === undefined ? 0 : Number(values.splits);
    if (!Number.isInteger(splits) || splits < 0) fail(`invalid --splits ${JSON.stringify(values.splits)}; expected an integer >= 0`);
    // Only the activations need a box, so a loss that also reads labels does not.
    const activations = ancestors(model.outputs).filter((n) => ['relu', 'leakyRelu', 'prelu', 'elu'].includes(n.op));
    if (activations.length === 0) fail(`the graph built by ${positionals[0]} has no relu, leakyRelu, prelu or elu node`);
    reports.push(analyzeStatic(activations, { region: regionOf(boxes, model.outputs), splits, ...(model.params === undefined ? {} : { params: model.params }) }));
  }
  if (values.data !== undefined) {
    const limit = values.limit === undefined ? undefined : positiveInteger(values.limit, '--limit', 1);
    const data = await loadData(values.data, model.outputs, limit, err);
    const threshold = finiteNumber(values.threshold, '--threshold');
    const tau = finiteNumber(values.tau, '--tau');
    const gradientEvery = positiveInteger(values['gradient-every'], '--gradient-every', DEFAULT_GRADIENT_EVERY);
    reports.push(
      await analyzeDynamic(model.outputs, {
        data,
        ...(threshold === undefined ? {} : { threshold }),
        ...(tau === undefined ? {} : { tau }),
        ...(model.loss === undefined ? {} : { loss: model.loss, gradientsOf: gradients, gradientEvery }),
        ...(model.params === undefined ? {} : { params: model.params }),
      }),
    );
  }
  out(values.json ? `${JSON.stringify(deadUnitsJson(...reports), null, 2)}\n` : `${formatDeadUnitsTable(...reports)}\n`);
  return 0;
}
