// Preparing an output directory before long work starts, and writing files
// into it without leaving half-written ones behind.

import { renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
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

/** An output directory ready for writing. */
export interface PreparedDirectory {
  /** The absolute path of the directory. */
  path: string;
  /** The directories this call created, outermost first. */
  created: readonly string[];
}

/**
 * Creates `directory` and its missing parents, one level at a time, and checks
 * that files can be written there. Each level is created without
 * `recursive: true`, whose promise never settles for some paths under /proc
 * on Node 20. Throws OutputDirectoryError naming the option and the cause.
 * Each directory created is pushed onto `created` at once, so a caller's
 * signal handler can remove it while this call is still running.
 */
export async function prepareOutputDirectory(directory: string, option: string, files: readonly string[] = [], created: string[] = []): Promise<PreparedDirectory> {
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
    for (const path of missing) {
      await mkdir(path);
      created.push(path);
    }
    // The probe is a pending temporary while it exists, so a signal handler removes it too.
    const probe = join(target, `.slope-write-test-${process.pid}`);
    pendingTemporaries.add(probe);
    await writeFile(probe, '');
    await rm(probe);
    pendingTemporaries.delete(probe);
  } catch (error) {
    removeEmptyDirectories(created);
    throw new OutputDirectoryError(`Error in ${option}: cannot write to ${target} (${(error as Error).message}); pass a writable directory`);
  }
  for (const file of files) {
    if ((await kindOf(join(target, file))) === 'directory') {
      removeEmptyDirectories(created);
      throw new OutputDirectoryError(`Error in ${option}: ${join(target, file)} is a directory, so the report cannot be written there; remove it or pass another directory`);
    }
  }
  return { path: target, created };
}

/**
 * Removes `directories` (as PreparedDirectory.created lists them), innermost
 * first, as long as they are empty. Synchronous, so a signal handler can call it.
 */
export function removeEmptyDirectories(directories: readonly string[]): void {
  for (const directory of [...directories].reverse()) {
    try {
      rmdirSync(directory);
    } catch {
      // Not empty, or already gone: the directories around it stay too.
      return;
    }
  }
}

/** Temporary files that writeFilesAtomic has created and not yet renamed. */
const pendingTemporaries = new Set<string>();

/**
 * Writes several files through temporary names, and renames them only once
 * every temporary file is written, so a failed write replaces none of the old
 * files and removes the temporary ones. Writes and renames are synchronous,
 * so a signal handler runs before or after them, never in between.
 * NOTE: a rename that fails (rare on one file system) leaves the files
 * renamed before it in place.
 */
export async function writeFilesAtomic(files: readonly { path: string; contents: string }[]): Promise<void> {
  const temporaries = files.map(({ path }) => `${path}.tmp-${process.pid}`);
  try {
    for (const [i, { contents }] of files.entries()) {
      pendingTemporaries.add(temporaries[i]!);
      writeFileSync(temporaries[i]!, contents);
    }
    for (const [i, { path }] of files.entries()) {
      renameSync(temporaries[i]!, path);
      pendingTemporaries.delete(temporaries[i]!);
    }
  } catch (error) {
    removePendingTemporaries();
    throw error;
  }
}

/** Writes a file through a temporary name and a rename, so a failure never leaves a partial file. */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  await writeFilesAtomic([{ path, contents }]);
}

/** Removes the temporary files of writes still in progress; for a signal handler, so synchronous. */
export function removePendingTemporaries(): void {
  for (const temporary of pendingTemporaries) rmSync(temporary, { force: true });
  pendingTemporaries.clear();
}
