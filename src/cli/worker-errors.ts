// Errors that cross the worker-thread boundary of `slope train`. A thrown
// value loses its class when it is cloned to another thread (a LayerError
// arrives as a plain Error), so the worker sends the class name and message
// and the main thread rebuilds a typed error from them.

import { DataError } from '../data/errors.ts';
import { AttributeError, BackendError, DTypeError, FeedError, GradientError, GraphError, ShapeError, SlopeError } from '../errors.ts';
import { LayerError, SerializationError } from '../layers/errors.ts';

/** An error as a worker posts it to the main thread. */
export interface SerializedError {
  name: string;
  message: string;
}

/** A failure inside a training run whose class the main thread cannot rebuild, such as a RangeError. */
export class TrainRunError extends SlopeError {
  constructor(
    message: string,
    /** The class name of the error the worker caught, such as 'RangeError'. */
    readonly causeName: string,
  ) {
    super(message);
  }
}

/** SlopeError classes that take only a message, so a copy keeps its class and text. */
const REBUILDABLE: Record<string, new (message: string) => SlopeError> = {
  AttributeError,
  BackendError,
  DataError,
  DTypeError,
  FeedError,
  GradientError,
  GraphError,
  LayerError,
  SerializationError,
  ShapeError,
};

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: typeof error, message: String(error) };
}

/** Rebuilds the error a worker sent; `run` names the run in messages of errors that are not slope's. */
export function rebuildError(error: SerializedError, run: string): SlopeError {
  const Class = Object.hasOwn(REBUILDABLE, error.name) ? REBUILDABLE[error.name] : undefined;
  if (Class !== undefined) return new Class(error.message);
  if (error.message.startsWith('Error in ')) return new TrainRunError(error.message, error.name);
  return new TrainRunError(`Error in train: the ${run} run failed with ${error.name}: ${error.message}`, error.name);
}
