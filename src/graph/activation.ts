// Activations given by name, by callable or by object. Keras accepts only the
// names in its table and fails later, at load time, for the rest; slope
// resolves every form when the graph is built and fails there, with the known
// names and the nearest one.

import { GraphError, SlopeError, UnknownActivationError } from '../errors.ts';
import { Node } from './node.ts';

/** An object that applies an activation, such as the LeakyReLU layer. */
export interface ActivationObject {
  apply(x: Node): Node;
}

export type ActivationFn = (x: Node) => Node;

export type ActivationSpec = string | ActivationFn | ActivationObject;

/** Default alpha of the `leakyRelu` op, as in tf.nn.leaky_relu and tfjs. */
export const LEAKY_RELU_DEFAULT_ALPHA = 0.2;

const BY_NAME: Record<string, ActivationFn> = {
  linear: (x) => x,
  relu: (x) => x.relu(),
  leakyRelu: (x) => x.leakyRelu(LEAKY_RELU_DEFAULT_ALPHA),
  leaky_relu: (x) => x.leakyRelu(LEAKY_RELU_DEFAULT_ALPHA),
  sigmoid: (x) => x.sigmoid(),
  tanh: (x) => x.tanh(),
  elu: (x) => x.elu(1),
  softplus: (x) => x.softplus(),
  softmax: (x) => x.softmax(-1),
};

export const ACTIVATION_NAMES: readonly string[] = Object.keys(BY_NAME);

// Callables registered under a name, and the reverse map that lets a saved
// model write the name of a registered callable.
const REGISTERED = new Map<string, ActivationFn>();
const NAME_OF = new Map<ActivationFn, string>();

/**
 * Registers a callable activation under a name, so that the name can be used
 * wherever a built-in name can, and a model that uses the callable can be
 * saved and loaded again. Built-in names cannot be replaced, and a name keeps
 * the callable it was first registered with.
 */
export function registerActivation(name: string, fn: ActivationFn): void {
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
    throw new TypeError(`Error in registerActivation: invalid name ${JSON.stringify(name)}; use letters, digits, '_', '.' or '-', starting with a letter or '_'`);
  }
  if (typeof fn !== 'function') throw new TypeError(`Error in registerActivation: the activation ${JSON.stringify(name)} must be a function (node) => node, got ${typeof fn}`);
  if (Object.hasOwn(BY_NAME, name)) throw new SlopeError(`Error in registerActivation: ${JSON.stringify(name)} is a built-in activation and cannot be replaced`);
  const existing = REGISTERED.get(name);
  if (existing === fn) return;
  if (existing !== undefined) {
    throw new SlopeError(`Error in registerActivation: ${JSON.stringify(name)} is already registered with another function; call unregisterActivation first to replace it`);
  }
  REGISTERED.set(name, fn);
  if (!NAME_OF.has(fn)) NAME_OF.set(fn, name);
}

/** Removes a registered activation; returns whether the name was registered. */
export function unregisterActivation(name: string): boolean {
  const fn = REGISTERED.get(name);
  if (fn === undefined) return false;
  REGISTERED.delete(name);
  if (NAME_OF.get(fn) === name) NAME_OF.delete(fn);
  for (const [other, otherFn] of REGISTERED) if (otherFn === fn && !NAME_OF.has(fn)) NAME_OF.set(fn, other);
  return true;
}

/** Returns the name a callable was registered under, if it was. */
export function registeredActivationName(fn: ActivationFn): string | undefined {
  return NAME_OF.get(fn);
}

/** Returns the built-in activation names followed by the registered ones. */
export function activationNames(): string[] {
  return [...ACTIVATION_NAMES, ...REGISTERED.keys()];
}

/** Levenshtein distance, case-insensitive and ignoring '_' so 'LeakyReLU' is near 'leaky_relu'. */
function distance(a: string, b: string): number {
  const s = a.toLowerCase().replace(/_/g, '');
  const t = b.toLowerCase().replace(/_/g, '');
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length]!;
}

/** Returns the known name nearest to `name`, if any is reasonably close. */
export function nearestActivationName(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of activationNames()) {
    const d = distance(name, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Wraps a user-supplied activation so that its result is checked: an
 * activation maps a node to a node of the same graph, shape and dtype.
 */
function checked(fn: ActivationFn, where: string, form: string): ActivationFn {
  return (x) => {
    const y: unknown = fn(x);
    const problem =
      !(y instanceof Node) ? `returned ${typeof y === 'object' ? String(y) : typeof y}, not a Node`
      : y.graph !== x.graph ? `returned ${y.label}, a node of another graph`
      : y.shape.length !== x.shape.length || y.shape.some((d, i) => d !== x.shape[i]) ? `returned shape [${y.shape.join(',')}] for input shape [${x.shape.join(',')}]`
      : y.dtype !== x.dtype ? `returned ${y.dtype} for a ${x.dtype} input`
      : undefined;
    if (problem !== undefined) {
      throw new GraphError(`Error in ${where}: the ${form} ${problem}; an activation must return a node of its input's graph, shape and dtype`);
    }
    return y as Node;
  };
}

/** Turns any activation form into a function from node to node, or throws UnknownActivationError. */
export function resolveActivation(spec: ActivationSpec, where = 'activation'): ActivationFn {
  if (typeof spec === 'function') return checked(spec, where, 'callable');
  if (typeof spec === 'object' && spec !== null && typeof spec.apply === 'function') return checked((x) => spec.apply(x), where, 'apply()');
  if (typeof spec === 'string' && Object.hasOwn(BY_NAME, spec)) return BY_NAME[spec]!;
  if (typeof spec === 'string' && REGISTERED.has(spec)) return checked(REGISTERED.get(spec)!, where, `registered activation '${spec}'`);

  const requested = typeof spec === 'string' ? spec : String(spec);
  let suggestion = typeof spec === 'string' ? nearestActivationName(spec) : undefined;
  let hint = suggestion === undefined ? '' : ` Did you mean '${suggestion}'?`;
  if (suggestion === 'leaky_relu' || suggestion === 'leakyRelu') {
    // Both spellings are equally near a name such as 'LeakyReLU'; the error
    // reports the Keras spelling in its message and its suggestion field alike.
    suggestion = 'leaky_relu';
    hint = ` Did you mean 'leaky_relu' (alpha ${LEAKY_RELU_DEFAULT_ALPHA}), or an object such as new LeakyReLU({ alpha }) to choose alpha?`;
  }
  const known = activationNames();
  throw new UnknownActivationError(
    `Error in ${where}: unknown activation ${JSON.stringify(requested)}. Known names: ${known.join(', ')}; a callable (node) => node or an object with apply(node) is accepted too.${hint}`,
    requested,
    known,
    suggestion,
  );
}
