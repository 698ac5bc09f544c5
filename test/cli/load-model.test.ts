import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { esmLoadingHint, loadModel, ModelModuleError } from '../../src/cli/load-model.ts';
import { Node } from '../../src/index.ts';

const run = promisify(execFile);
const launcher = fileURLToPath(new URL('../../bin/slope.js', import.meta.url));
const slope = pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href;
const directory = mkdtempSync(join(tmpdir(), 'slope-load-model-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A model module with an async default export whose input has the batch size it receives. */
const MODEL = `import { graph } from ${JSON.stringify(slope)};
export default async function build({ batchSize }) {
  const g = graph();
  return { outputs: [g.input('x', [batchSize, 3]).relu().named('y')] };
}
`;

describe('esmLoadingHint', () => {
  it('names a missing package.json', () => {
    // tmpdir() normally has no package.json above it.
    const hint = esmLoadingHint(join(directory, 'model.ts'));
    expect(hint).toContain(`there is no package.json in ${directory} or above it`);
    expect(hint).toContain('Rename the file to .mts, or add "type": "module" to the nearest package.json');
  });

  it('names a package.json without type module', () => {
    const packageDirectory = join(directory, 'commonjs');
    mkdirSync(packageDirectory);
    writeFileSync(join(packageDirectory, 'package.json'), '{"type": "commonjs"}');
    const hint = esmLoadingHint(join(packageDirectory, 'model.js'));
    expect(hint).toContain(`${join(packageDirectory, 'package.json')} has no "type": "module"`);
    expect(hint).toContain('Rename the file to .mjs');
  });

  it('names CommonJS extensions', () => {
    expect(esmLoadingHint(join(directory, 'model.cts'))).toContain('is a CommonJS file (.cts), but slope loads model files only as ES modules. Rename it to .mts');
    expect(esmLoadingHint(join(directory, 'model.cjs'))).toContain('Rename it to .mjs');
  });

  it('returns nothing for ES modules', () => {
    const packageDirectory = join(directory, 'esm');
    mkdirSync(packageDirectory);
    writeFileSync(join(packageDirectory, 'package.json'), '{"type": "module"}');
    expect(esmLoadingHint(join(packageDirectory, 'model.ts'))).toBeUndefined();
    expect(esmLoadingHint(join(directory, 'model.mts'))).toBeUndefined();
  });
});

describe('loadModel', () => {
  it('awaits an async default export', async () => {
    const file = join(directory, 'async.mjs');
    writeFileSync(file, MODEL);
    const model = await loadModel('inspect', file, 5);
    expect(model.outputs).toHaveLength(1);
    expect(model.outputs[0]).toBeInstanceOf(Node);
    expect(model.outputs[0]!.shape).toEqual([5, 3]);
    expect(model.loss).toBeUndefined();
  });

  it('rejects a default export that returns no node', async () => {
    const file = join(directory, 'number.mjs');
    writeFileSync(file, 'export default () => 42;\n');
    await expect(loadModel('dead-units', file, 1)).rejects.toThrow(ModelModuleError);
    await expect(loadModel('dead-units', file, 1)).rejects.toThrow(/^Error in dead-units: the default export of .*number\.mjs must return a Node, an array of Nodes, or \{ outputs, loss\?, params\? \}$/);
  });
});

describe('model files outside an ES module package', () => {
  // Node's own loader decides the module format here, so these run the launcher rather than vitest's loader.
  const file = join(directory, 'plain.ts');
  writeFileSync(file, MODEL);

  for (const command of ['inspect', 'dead-units']) {
    it(`${command} says to rename a .ts file`, async () => {
      const args = command === 'inspect' ? [file] : [file, '--box=0,1'];
      const failure = await run(process.execPath, [launcher, command, ...args], { timeout: 30_000 }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toMatch(new RegExp(`^slope: Error in ${command}: loading .*plain\\.ts failed: `));
      expect(failure?.stderr).toContain('Rename the file to .mts, or add "type": "module" to the nearest package.json');
      expect(failure?.stderr).not.toMatch(/^\s+at /m);
    }, 40_000);
  }

  it('inspect loads the same model as .mts', async () => {
    const renamed = join(directory, 'plain.mts');
    writeFileSync(renamed, MODEL);
    const { stdout } = await run(process.execPath, [launcher, 'inspect', renamed, '--batch-size', '4', '--after', 'simplify'], { timeout: 30_000 });
    expect(stdout).toContain('== kernels (js)');
    expect(stdout).toMatch(/^%0:f32\[4,3\] = input "x"$/m);
  }, 40_000);
});
