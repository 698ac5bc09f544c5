// Loading the model module that `slope inspect` and `slope dead-units` take:
// a file whose default export receives { batchSize } and returns a node, an
// array of nodes, or { outputs, loss?, params? }. Both commands load it here,
// so they accept the same modules and report the same errors.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Node, SlopeError } from '../index.ts';

/** A model module that is missing, fails to load or exports the wrong thing. */
export class ModelModuleError extends SlopeError {}

/** The graph a model module built. */
export interface LoadedModel {
  outputs: Node[];
  loss: Node | undefined;
  params: Readonly<Record<string, ArrayLike<number>>> | undefined;
}

/**
 * Returns the nearest package.json above `path` and whether it declares
 * "type": "module", or undefined when there is none up to the root.
 */
export function nearestPackageType(path: string): { packageJson: string; isModule: boolean } | undefined {
  for (let directory = dirname(path); ; directory = dirname(directory)) {
    const packageJson = join(directory, 'package.json');
    if (existsSync(packageJson)) {
      let type: unknown;
      try {
        type = (JSON.parse(readFileSync(packageJson, 'utf8')) as { type?: unknown }).type;
      } catch {
        // Node rejects an invalid package.json itself, with a clearer message.
        type = undefined;
      }
      return { packageJson, isModule: type === 'module' };
    }
    if (dirname(directory) === directory) return undefined;
  }
}

/**
 * Returns how to make Node load `path` as an ES module, or undefined when it
 * already does. .mts and .mjs files always load as ES modules and .cts and
 * .cjs files never do. .ts and .js files do when the nearest package.json
 * has "type": "module".
 */
export function esmLoadingHint(path: string): string | undefined {
  const extension = extname(path);
  if (extension === '.cts' || extension === '.cjs') {
    return `${path} is a CommonJS file (${extension}), but slope loads model files only as ES modules. Rename it to ${extension === '.cts' ? '.mts' : '.mjs'} and use import and export`;
  }
  if (!['.ts', '.tsx', '.js', '.jsx'].includes(extension)) return undefined;
  const found = nearestPackageType(path);
  if (found?.isModule) return undefined;
  const where = found === undefined ? `there is no package.json in ${dirname(path)} or above it` : `${found.packageJson} has no "type": "module"`;
  const module = extension.startsWith('.t') ? '.mts' : '.mjs';
  return `Node loads ${path} as CommonJS because ${where}, but slope loads model files only as ES modules. Rename the file to ${module}, or add "type": "module" to the nearest package.json`;
}

/** Imports `file` for `slope COMMAND`, raising ModelModuleError when it is missing or fails to load. */
export async function importModule(command: string, file: string): Promise<{ default?: unknown }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ModelModuleError(`Error in ${command}: file not found: ${path}`);
  try {
    return (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    const firstLine = (error as Error).message.split('\n')[0];
    const hint = esmLoadingHint(path);
    throw new ModelModuleError(`Error in ${command}: loading ${file} failed: ${firstLine}${hint === undefined ? '' : `\n${hint}`}`);
  }
}

function asNodes(value: unknown): Node[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  return list.length > 0 && list.every((o) => o instanceof Node) ? (list as Node[]) : undefined;
}

/**
 * Imports `file`, calls its default export with { batchSize } and awaits the
 * result. Raises ModelModuleError, with messages that start with `Error in
 * COMMAND`, when the file is missing, fails to load or returns something else.
 * An error that the default export raises keeps its own class and message.
 */
export async function loadModel(command: string, file: string, batchSize: number): Promise<LoadedModel> {
  const module = await importModule(command, file);
  const fail = (message: string): never => {
    throw new ModelModuleError(`Error in ${command}: ${message}`);
  };
  if (typeof module.default !== 'function') fail(`${file} must export a default function that builds the graph and returns its output nodes`);
  const built: unknown = await (module.default as (options: { batchSize: number }) => unknown)({ batchSize });

  const direct = asNodes(built);
  if (direct !== undefined) return { outputs: direct, loss: undefined, params: undefined };
  const spec = built as { outputs?: unknown; loss?: unknown; params?: unknown } | null;
  const outputs = asNodes(spec?.outputs);
  if (spec === null || typeof spec !== 'object' || outputs === undefined) {
    return fail(`the default export of ${file} must return a Node, an array of Nodes, or { outputs, loss?, params? }`);
  }
  if (spec.loss !== undefined && !(spec.loss instanceof Node)) fail(`the loss returned by ${file} must be a Node`);
  return { outputs, loss: spec.loss as Node | undefined, params: spec.params as LoadedModel['params'] };
}
