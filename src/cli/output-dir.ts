// Preparing an output directory before long work starts, and writing files
// into it without leaving half-written ones behind.

import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { SlopeError } from '../errors.ts';

export class OutputDirectoryError extends SlopeError {}

async function kindOf(path: string): Promise<'directory' | 'other' | 'missing' | 'under-file'> {
  try {
    return (await stat(path)).isDirectory() ? 'directory' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'under-file';
    throw error;
  }
}

/**
 * Creates `directory` and its missing parents, one level at a time, and checks
 * that files can be written there. Each level is created without
 * `recursive: true`, whose promise never settles for some paths under /proc
 * on Node 20. Throws OutputDirectoryError naming the option and the cause.
 */
export async function prepareOutputDirectory(directory: string, option: string, files: readonly string[] = []): Promise<string> {
  if (directory.trim() === '') throw new OutputDirectoryError(`Error in ${option}: the output directory is empty; pass a path such as out`);
  const target = resolve(directory);
  const missing: string[] = [];
  let current = target;
  for (;;) {
    const kind = await kindOf(current);
    if (kind === 'directory') break;
    if (kind === 'other') throw new OutputDirectoryError(`Error in ${option}: ${current} exists and is not a directory; pass another path`);
    if (kind === 'under-file') throw new OutputDirectoryError(`Error in ${option}: a parent of ${current} is a file, not a directory; pass another path`);
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  try {
    for (const path of missing) await mkdir(path);
    const probe = join(target, `.slope-write-test-${process.pid}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    throw new OutputDirectoryError(`Error in ${option}: cannot write to ${target} (${(error as Error).message}); pass a writable directory`);
  }
  for (const file of files) {
    if ((await kindOf(join(target, file))) === 'directory') {
      throw new OutputDirectoryError(`Error in ${option}: ${join(target, file)} is a directory, so the report cannot be written there; remove it or pass another directory`);
    }
  }
  return target;
}

/** Writes a file through a temporary name and a rename, so a failure never leaves a partial file. */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}
