// Errors of the layers API. All are SlopeErrors, so a caller can catch them
// with the rest of slope's errors or one class at a time.

import { SlopeError } from '../errors.ts';

/** A layer or model configuration that is invalid: a size that is not a positive integer, a duplicate name, a missing input shape. */
export class LayerError extends SlopeError {}

/** A model that cannot be written to or read from its saved form, such as an activation given as an unregistered callable. */
export class SerializationError extends SlopeError {}

/** The kind of fault found in a model file. */
export type ModelFileProblem = 'missing' | 'invalid-json' | 'invalid-topology' | 'truncated' | 'corrupt' | 'mismatch';

/** A saved model file that is missing, truncated, corrupt or does not match its topology; the message names the file. */
export class ModelFileError extends SlopeError {
  constructor(
    message: string,
    readonly path: string,
    readonly problem: ModelFileProblem,
  ) {
    super(message);
  }
}
