// Errors raised while reading or preparing datasets.

import { SlopeError } from '../errors.ts';

/**
 * A dataset file or array that cannot be used: a missing file, an invalid IDX
 * header, truncated data, or image and label counts that disagree. The message
 * names the file, what was wrong and what to do.
 */
export class DataError extends SlopeError {
  constructor(
    message: string,
    /** Path or name of the file at fault, when one file is at fault. */
    readonly file?: string,
  ) {
    super(message);
  }
}
