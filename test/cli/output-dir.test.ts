import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputDirectoryError, prepareOutputDirectory, removeEmptyDirectories, writeFileAtomic, writeFilesAtomic } from '../../src/cli/output-dir.ts';

const roots: string[] = [];
function scratch(): string {
  const root = mkdtempSync(join(tmpdir(), 'slope-out-'));
  roots.push(root);
  return root;
}
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

describe('prepareOutputDirectory', () => {
  it('creates missing parents', async () => {
    const root = scratch();
    const target = await prepareOutputDirectory(join(root, 'a', 'b'), 'train --out');
    expect(readdirSync(join(root, 'a'))).toEqual(['b']);
    expect(readdirSync(target.path)).toEqual([]);
    expect(target.created).toEqual([join(root, 'a'), join(root, 'a', 'b')]);
  });

  it('records created directories in the given array', async () => {
    const root = scratch();
    const created: string[] = [];
    const target = await prepareOutputDirectory(join(root, 'a', 'b'), 'train --out', [], created);
    expect(target.created).toBe(created);
    expect(created).toEqual([join(root, 'a'), join(root, 'a', 'b')]);
  });

  it('removes the directories it created while empty', async () => {
    const root = scratch();
    const target = await prepareOutputDirectory(join(root, 'a', 'b', 'c'), 'train --out');
    writeFileSync(join(root, 'a', 'keep'), 'x');
    removeEmptyDirectories(target.created);
    expect(readdirSync(root)).toEqual(['a']);
    expect(readdirSync(join(root, 'a'))).toEqual(['keep']);
  });

  it('removes a directory it created when a report path is invalid', async () => {
    const root = scratch();
    mkdirSync(join(root, 'a'));
    await expect(prepareOutputDirectory(join(root, 'a', 'b'), 'train --out', ['.'])).rejects.toThrow(OutputDirectoryError);
    expect(readdirSync(join(root, 'a'))).toEqual([]);
  });

  it('rejects a file, a path under a file and an empty path', async () => {
    const root = scratch();
    writeFileSync(join(root, 'file'), 'x');
    await expect(prepareOutputDirectory(join(root, 'file'), 'train --out')).rejects.toThrow(OutputDirectoryError);
    await expect(prepareOutputDirectory(join(root, 'file'), 'train --out')).rejects.toThrow(/exists and is not a directory/);
    await expect(prepareOutputDirectory(join(root, 'file', 'sub'), 'train --out')).rejects.toThrow(/a parent of .*sub is a file, not a directory/);
    await expect(prepareOutputDirectory('', 'train --out')).rejects.toThrow(/the output directory is empty/);
  });

  it('rejects a report path that is a directory', async () => {
    const root = scratch();
    mkdirSync(join(root, 'report.html'));
    await expect(prepareOutputDirectory(root, 'train --out', ['report.json', 'report.html'])).rejects.toThrow(/report.html is a directory/);
  });

  it('rejects a directory under /proc without hanging', async () => {
    await expect(prepareOutputDirectory('/proc/slope-output-test', 'train --out')).rejects.toThrow(/cannot write to \/proc\/slope-output-test/);
  });
});

describe('writeFileAtomic', () => {
  it('writes the whole file and leaves no temporary file', async () => {
    const root = scratch();
    await writeFileAtomic(join(root, 'r.json'), '{"a":1}\n');
    expect(readFileSync(join(root, 'r.json'), 'utf8')).toBe('{"a":1}\n');
    expect(readdirSync(root)).toEqual(['r.json']);
  });

  it('replaces no file when one write fails', async () => {
    const root = scratch();
    writeFileSync(join(root, 'a.json'), 'old');
    const files = [
      { path: join(root, 'a.json'), contents: 'new' },
      { path: join(root, 'missing', 'b.html'), contents: 'new' },
    ];
    await expect(writeFilesAtomic(files)).rejects.toThrow(/ENOENT/);
    expect(readFileSync(join(root, 'a.json'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['a.json']);
  });
});
