// Activations given by name, by callable or by object. Keras accepts only the
// names in its table and fails later, at load time, for the rest; slope
// resolves every form when the graph is built and fails there, with the known
// names and the nearest one.

import { UnknownActivationError } from '../errors.ts';
import type { Node } from './node.ts';

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
  for (const known of ACTIVATION_NAMES) {
    const d = distance(name, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Turns any activation form into a function from node to node, or throws UnknownActivationError. */
export function resolveActivation(spec: ActivationSpec, where = 'activation'): ActivationFn {
  if (typeof spec === 'function') return spec;
  if (typeof spec === 'object' && spec !== null && typeof spec.apply === 'function') return (x) => spec.apply(x);
  if (typeof spec === 'string' && Object.hasOwn(BY_NAME, spec)) return BY_NAME[spec]!;

  const requested = typeof spec === 'string' ? spec : String(spec);
  let suggestion = typeof spec === 'string' ? nearestActivationName(spec) : undefined;
  let hint = suggestion === undefined ? '' : ` Did you mean '${suggestion}'?`;
  if (suggestion === 'leaky_relu' || suggestion === 'leakyRelu') {
    // Both spellings are equally near a name such as 'LeakyReLU'; the error
    // reports the Keras spelling in its message and its suggestion field alike.
    suggestion = 'leaky_relu';
    hint = ` Did you mean 'leaky_relu' (alpha ${LEAKY_RELU_DEFAULT_ALPHA}), or an object such as new LeakyReLU({ alpha }) to choose alpha?`;
  }
  throw new UnknownActivationError(
    `Error in ${where}: unknown activation ${JSON.stringify(requested)}. Known names: ${ACTIVATION_NAMES.join(', ')}; a callable (node) => node or an object with apply(node) is accepted too.${hint}`,
    requested,
    ACTIVATION_NAMES,
    suggestion,
  );
}
