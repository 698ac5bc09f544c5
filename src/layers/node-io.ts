// Saving and loading models as files, for Node only. A model is two files:
// NAME.json (the topology) and NAME.weights.bin (the params). Each is
// written to a temporary file in the same directory and then renamed over
// the target, so a crash or a full disk never leaves a half-written file
// under the target's name.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ModelFileError } from './errors.ts';
import type { Sequential } from './sequential.ts';
import { deserializeModel, serializeModel } from './serialize.ts';

/** Returns the weights file name that goes with a topology path: model.json -> model.weights.bin. */
export function weightsFileFor(topologyPath: string): string {
  const name = basename(topologyPath);
  return `${name.endsWith('.json') ? name.slice(0, -'.json'.length) : name}.weights.bin`;
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, data, { flush: true });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Saves a built model to `path` (the topology, conventionally NAME.json) and
 * NAME.weights.bin beside it; returns both paths. The model is serialized
 * before any file is touched, so a SerializationError (an activation given
 * as an unregistered callable) leaves the directory as it was. The weights
 * are renamed into place first: if saving stops between the two renames, an
 * older topology file is left with newer weights, which loadModel rejects
 * through the CRC-32.
 */
export async function saveModel(model: Sequential, path: string): Promise<{ topology: string; weights: string }> {
  const weightsName = weightsFileFor(path);
  const { topology, weights } = serializeModel(model, weightsName);
  const weightsPath = join(dirname(path), weightsName);
  await mkdir(dirname(path), { recursive: true });
  await writeAtomically(weightsPath, weights);
  await writeAtomically(path, `${JSON.stringify(topology, null, 2)}\n`);
  return { topology: path, weights: weightsPath };
}

async function readOrFail(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ModelFileError(`Error in loadModel: ${what} ${path} not found`, path, 'missing');
    }
    throw error;
  }
}

/**
 * Loads a model saved by saveModel. Raises ModelFileError, whose message
 * names the file, when a file is missing, when the topology is not valid
 * JSON or not a slope model, or when the weights are truncated, corrupt or
 * do not match the topology.
 */
export async function loadModel(path: string): Promise<Sequential> {
  const text = (await readOrFail(path, 'model file')).toString('utf8');
  let topology: unknown;
  try {
    topology = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(`Error in loadModel: ${path} is not valid JSON, so it is truncated or corrupt (${(error as Error).message}). Save the model again.`, path, 'invalid-json');
  }

  const file = (topology as { weights?: { file?: unknown } } | null)?.weights?.file;
  if (typeof file !== 'string' || file.length === 0 || file !== basename(file) || file === '..' || file === '.') {
    throw new ModelFileError(`Error in loadModel: ${path} names its weights file as ${JSON.stringify(file)}; it must be a plain file name in the same directory`, path, 'invalid-topology');
  }
  const weightsPath = join(dirname(path), file);
  const weights = await readOrFail(weightsPath, 'weights file');
  return deserializeModel(topology, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), { topology: path, weights: weightsPath });
}
