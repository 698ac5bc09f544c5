import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { deadUnitsCommand } from '../../src/cli/dead-units.ts';

const slope = pathToFileURL(join(import.meta.dirname, '../../src/index.ts')).href;
const directory = mkdtempSync(join(tmpdir(), 'slope-dead-units-'));

/** Writes a model module: one hidden layer of 4 relu units, units 1 and 3 with bias -100, and a loss. */
function writeModel(name: string): string {
  const path = join(directory, name);
  writeFileSync(
    path,
    `import { graph } from ${JSON.stringify(slope)};
export default function build({ batchSize }) {
  const g = graph();
  const x = g.input('x', [batchSize, 2]);
  const labels = g.input('labels', [batchSize], 'int32');
  const w = g.param('w', [2, 4], { init: { kind: 'values', values: Float64Array.of(1, 1, -1, 1, 1, 1, 1, 1) } });
  const b = g.param('b', [4], { init: { kind: 'values', values: Float64Array.of(0.5, -100, 0.5, -100) } });
  const hidden = x.matmul(w, { bias: b }).relu().named('hidden');
  const logits = hidden.matmul(g.param('v', [4, 2], { init: 'glorotUniform', seed: 1 }));
  return { outputs: [logits], loss: g.softmaxCrossEntropy(logits, labels).mean() };
}
`,
  );
  return path;
}

async function run(argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await deadUnitsCommand(argv, (t) => (out += t), (t) => (err += t));
  return { status, out, err };
}

describe('slope dead-units', () => {
  const model = writeModel('model.mjs');

  it('prints a static table for --box', async () => {
    const { status, out } = await run([model, '--box', '0,1']);
    expect(status).toBe(0);
    expect(out).toMatchInlineSnapshot(`
      "layer   op    units  dead  dying  always active  unstable  sparsity  grad norm
      hidden  relu      4     2      -              1         1         -          -
      "
    `);
  });

  it('prints JSON for --data', async () => {
    const data = join(directory, 'data.json');
    writeFileSync(data, JSON.stringify({ x: [[0.25, 0.5], [0.75, 1], [0, 0.25], [1, 0], [0.5, 0.5]], labels: [0, 1, 0, 1, 1] }));
    const { status, out, err } = await run([model, '--data', data, '--batch-size', '2', '--json']);
    expect(status).toBe(0);
    expect(err).toBe('dead-units: dropped 1 examples that do not fill a batch of 2\n');
    const json = JSON.parse(out);
    expect(json.layers).toHaveLength(1);
    expect(json.layers[0]).toMatchObject({ name: 'hidden', units: 4, dead: 2, dying: 0, alwaysActive: null, unstable: null });
    // Units 1 and 3 are never positive; unit 2 is not positive on the fourth example: 9 of 16.
    expect(json.layers[0].sparsity).toBeCloseTo(9 / 16, 12);
    expect(json.layers[0].gradNorm).toBeGreaterThan(0);
  });

  it('reads batches from a module', async () => {
    const batches = join(directory, 'batches.mjs');
    writeFileSync(batches, `export default function* batches() {\n  yield { x: [0.25, 0.5, 0.75, 1], labels: [0, 1] };\n  yield { x: [0, 0.25, 1, 0], labels: [1, 0] };\n}\n`);
    const { status, out } = await run([model, '--data', batches, '--batch-size', '2', '--json']);
    expect(status).toBe(0);
    expect(JSON.parse(out).layers[0]).toMatchObject({ name: 'hidden', dead: 2 });
  });

  it('reads the bundled MNIST digits', async () => {
    const mnist = join(directory, 'mnist.mjs');
    writeFileSync(
      mnist,
      `import { graph } from ${JSON.stringify(slope)};
export default function build({ batchSize }) {
  const g = graph();
  const x = g.input('images', [batchSize, 784]);
  const b = g.param('b', [16], { init: { kind: 'values', values: Float64Array.from({ length: 16 }, (_, i) => (i < 4 ? -1000 : 0)) } });
  return x.matmul(g.param('w', [784, 16], { init: 'heNormal', seed: 3 }), { bias: b }).relu().named('hidden');
}
`,
    );
    const { status, out } = await run([mnist, '--data', 'mnist', '--limit', '300', '--json']);
    expect(status).toBe(0);
    const layer = JSON.parse(out).layers[0];
    expect(layer.units).toBe(16);
    expect(layer.dead).toBeGreaterThanOrEqual(4);
  });

  it('rejects a missing region and dataset', async () => {
    await expect(run([model])).rejects.toThrow(/give --box LO,HI, --data SOURCE or both/);
  });

  it('rejects an invalid box', async () => {
    await expect(run([model, '--box', '1,0'])).rejects.toThrow(/invalid --box "1,0"/);
  });

  it('rejects a box for an unknown input', async () => {
    await expect(run([model, '--box', 'y=0,1'])).rejects.toThrow(/"y", which is not a float input/);
  });

  it('awaits an async model', async () => {
    const file = join(directory, 'async-model.mjs');
    writeFileSync(file, `import build from ${JSON.stringify(pathToFileURL(model).href)};\nexport default async (options) => build(options);\n`);
    const { status, out } = await run([file, '--box=-1,1', '--json']);
    expect(status).toBe(0);
    expect(JSON.parse(out).layers.map((row: { name: string }) => row.name)).toEqual(['hidden']);
  });

  it('rejects a negative box without =', async () => {
    await expect(run([model, '--box', '-1,1'])).rejects.toThrow('Error in dead-units: --box needs a value, and "-1,1" is read as an option; write --box=-1,1.');
  });

  it('rejects a missing model file', async () => {
    await expect(run([join(directory, 'absent.mjs'), '--box', '0,1'])).rejects.toThrow(/file not found/);
  });

  it('prints help', async () => {
    const { status, out } = await run(['--help']);
    expect(status).toBe(0);
    expect(out).toContain('Usage: slope dead-units MODEL');
  });
});

describe('slope dead-units on the training job CNN', () => {
  const example = join(import.meta.dirname, '../../examples/train-cnn.ts');

  it('counts units over the bundled digits', async () => {
    let out = '';
    const status = await deadUnitsCommand([example, '--data', 'mnist', '--limit', '200', '--json'], (t) => (out += t), () => {});
    expect(status).toBe(0);
    const result = JSON.parse(out) as { layers: { name: string; units: number; dead: number }[] };
    expect(result.layers.map((l) => l.units)).toEqual([10816, 3872, 64]);
    // Layers carry the model's names, as in slope train's report.
    expect(result.layers.map((l) => l.name)).toEqual(['conv2d_1', 'conv2d_2', 'dense_1']);
    for (const layer of result.layers) expect(layer.dead).toBeLessThanOrEqual(layer.units);
  });

  it('analyses the box of all images statically', async () => {
    let out = '';
    const status = await deadUnitsCommand([example, '--box=0,1', '--json'], (t) => (out += t), () => {});
    expect(status).toBe(0);
    const result = JSON.parse(out) as { layers: { units: number; unstable: number }[] };
    expect(result.layers.map((l) => l.units)).toEqual([10816, 3872, 64]);
  });
});
