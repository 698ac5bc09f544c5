// Typed errors. Every user-facing message starts with the op or API that
// failed, names the node when it has one, and states what was expected, so a
// caller can catch a class and a person can act on the text.

/** Base class of every error slope raises on purpose. */
export class SlopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit an op's rule (broadcasting, matmul, conv, reshape). */
export class ShapeError extends SlopeError {}

/** An attribute that is missing, of the wrong type or out of range. */
export class AttributeError extends SlopeError {}

/** A dtype that an op does not accept (for example `exp` of an int32 node). */
export class DTypeError extends SlopeError {}

/** An op name that is not in the registry. */
export class UnknownOpError extends SlopeError {}

/** An activation given by a name that is not known. */
export class UnknownActivationError extends SlopeError {
  constructor(
    message: string,
    readonly requested: string,
    readonly known: readonly string[],
    readonly suggestion: string | undefined,
  ) {
    super(message);
  }
}

/** A graph that breaks an invariant: found by the verifier or by mixing graphs. */
export class GraphError extends SlopeError {}

/** A feed that is missing, unexpected, of the wrong length or of the wrong dtype. */
export class FeedError extends SlopeError {}

/** A gradient requested through an op that has none (argmax, comparisons). */
export class GradientError extends SlopeError {}

/** A backend that is unknown or cannot run in this JavaScript engine. */
export class BackendError extends SlopeError {}

/** A broken internal invariant: a bug in slope, never a user mistake. */
export class InternalError extends SlopeError {
  constructor(message: string) {
    super(`internal: ${message}`);
  }
}

/** Formats the subject of an op error: `conv2d (node 'conv1', %7)`. */
export function describeNode(op: string, id?: number, name?: string): string {
  const parts: string[] = [];
  if (name !== undefined) parts.push(`node ${JSON.stringify(name)}`);
  if (id !== undefined) parts.push(`%${id}`);
  return parts.length === 0 ? op : `${op} (${parts.join(', ')})`;
}
