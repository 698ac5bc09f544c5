// Reverse-mode automatic differentiation as a graph-to-graph pass.
//
// grad(y, wrt) appends gradient nodes, built from ordinary ops, to y's graph,
// so gradients are compiled, fused and printed like any other node and can be
// differentiated again. The walk is the textbook one:
//
//   1. keep the nodes that lie on a path from some wrt node to y;
//   2. seed y's cotangent (1 for a scalar, or the caller's seed);
//   3. visit those nodes from y backwards (ids are a topological order), sum
//      the cotangents each one received, and apply its op's gradient rule;
//   4. sum every contribution back to its input's shape, undoing broadcasts.
//
// Conventions: a wrt node that y does not depend on gets an explicit zero
// gradient of its own shape. Integer and bool nodes carry no gradient. Asking
// for the gradient of y with respect to a node that y depends on only through
// ops without a gradient (argmax, comparisons) is a GradientError naming the
// op, because the result would be a silent zero. A path cut by stopGradient
// is a requested zero and raises nothing.

import { GradientError } from '../src/errors.ts';
import { isFloat } from '../src/graph/dtype.ts';
import type { Graph } from '../src/graph/graph.ts';
import type { Node } from '../src/graph/node.ts';
import { broadcastAxes, formatShape, shapesEqual } from '../src/graph/shape.ts';
import { registry } from '../src/ops/index.ts';
import type { OpName } from '../src/ops/attrs.ts';
import type { GradRule, NoGradient, OpDef } from '../src/ops/def.ts';
import { ancestors } from '../src/interp/interpreter.ts';

export interface GradOptions {
  /** Cotangent of y; required when y is not a scalar. Defaults to 1. */
  seed?: Node;
}

function ruleOf(node: Node): GradRule<OpName> | NoGradient {
  return (registry[node.op] as OpDef<OpName>).grad;
}

function hasNoGradient(rule: GradRule<OpName> | NoGradient): rule is NoGradient {
  return typeof rule === 'object';
}

/** Sums a gradient over the axes its input was broadcast along, back to the input's shape. */
export function sumToShape(graph: Graph, gradient: Node, shape: readonly number[]): Node {
  if (shapesEqual(gradient.shape, shape)) return gradient;
  const axes = broadcastAxes(shape, gradient.shape);
  const summed = axes.length === 0 ? gradient : graph.sum(gradient, axes);
  return shapesEqual(summed.shape, shape) ? summed : graph.reshape(summed, shape);
}

/**
 * Finds, for a wrt node that y depends on, whether every path to y crosses an
 * op without a gradient; returns that op's node, or undefined if some path
 * carries a gradient.
 */
function blockingNode(y: Node, w: Node, onPath: ReadonlySet<number>): Node | undefined {
  const carries = new Set<number>([w.id]);
  let blocker: Node | undefined;
  for (const node of y.graph.nodes.slice(w.id + 1, y.id + 1)) {
    if (!onPath.has(node.id) || !node.inputs.some((i) => carries.has(i.id))) continue;
    // stopGradient cuts a path on request: the zero past it is intended, so
    // a comparison behind it is neither a carrier nor a blocker.
    if (node.is('stopGradient')) continue;
    if (hasNoGradient(ruleOf(node))) blocker ??= node;
    else if (isFloat(node.dtype)) carries.add(node.id);
  }
  return carries.has(y.id) ? undefined : blocker;
}

function checkArguments(y: Node, wrt: readonly Node[], seed: Node | undefined): void {
  if (!isFloat(y.dtype)) throw new GradientError(`Error in grad: y ${y.label} is ${y.dtype}; only float outputs have gradients`);
  for (const w of wrt) {
    if (w.graph !== y.graph) throw new GradientError(`Error in grad: wrt node ${w.label} belongs to another graph than y ${y.label}`);
    if (!isFloat(w.dtype)) throw new GradientError(`Error in grad: wrt node ${w.label} is ${w.dtype}; integer and bool nodes carry no gradient`);
  }
  if (seed === undefined) {
    if (y.size !== 1) {
      throw new GradientError(`Error in grad: y ${y.label} has shape ${formatShape(y.shape)}; pass a scalar (for example y.sum()) or a seed cotangent of that shape`);
    }
    return;
  }
  if (seed.graph !== y.graph || !shapesEqual(seed.shape, y.shape) || seed.dtype !== y.dtype) {
    throw new GradientError(`Error in grad: the seed must be a ${y.dtype} node of y's shape ${formatShape(y.shape)} in y's graph, got ${seed.dtype}${formatShape(seed.shape)}`);
  }
}

/** Returns the gradient of y with respect to each wrt node, as new nodes of y's graph. */
export function grad(y: Node, wrt: readonly Node[], options: GradOptions = {}): Node[] {
  if (!Array.isArray(wrt)) throw new GradientError('Error in grad: wrt must be an array of nodes, such as grad(y, [w, b])');
  checkArguments(y, wrt, options.seed);
  const graph = y.graph;

  // 1. Nodes on a path from a wrt node to y.
  const wrtIds = new Set(wrt.map((w) => w.id));
  const dependsOnWrt = new Set<number>();
  const upstream = ancestors([y]);
  for (const node of upstream) {
    if (wrtIds.has(node.id) || node.inputs.some((i) => dependsOnWrt.has(i.id))) dependsOnWrt.add(node.id);
  }
  for (const w of wrt) {
    if (!dependsOnWrt.has(w.id) || !upstream.some((n) => n.id === w.id)) continue;
    const blocker = blockingNode(y, w, dependsOnWrt);
    if (blocker !== undefined) {
      const reason = (ruleOf(blocker) as NoGradient).nondifferentiable;
      throw new GradientError(`Error in grad: y ${y.label} depends on ${w.label} only through ${blocker.op} ${blocker.label}, which has no gradient (${reason})`);
    }
  }

  // 2. Seed.
  const contributions = new Map<number, Node[]>();
  contributions.set(y.id, [options.seed ?? graph.fill(1, y.shape, y.dtype)]);
  const cotangents = new Map<number, Node>();

  // 3. Walk back from y.
  for (let k = upstream.length - 1; k >= 0; k--) {
    const node = upstream[k]!;
    const parts = contributions.get(node.id);
    if (parts === undefined || !dependsOnWrt.has(node.id) || !isFloat(node.dtype)) continue;
    const dy = parts.reduce((sum, part) => graph.add(sum, part));
    cotangents.set(node.id, dy);
    if (node.inputs.length === 0) continue;

    const rule = ruleOf(node);
    if (hasNoGradient(rule)) continue; // only reached when another path carries the gradient
    const gradients = rule({ graph, node, inputs: node.inputs, attrs: node.attrs, dy });

    // 4. Sum each contribution back to its input's shape.
    node.inputs.forEach((input, i) => {
      const g = gradients[i];
      if (g === undefined || !dependsOnWrt.has(input.id) || !isFloat(input.dtype)) return;
      let contribution = sumToShape(graph, g, input.shape);
      if (contribution.dtype !== input.dtype) contribution = graph.cast(contribution, input.dtype);
      const list = contributions.get(input.id);
      if (list === undefined) contributions.set(input.id, [contribution]);
      else list.push(contribution);
    });
  }

  return wrt.map((w) => cotangents.get(w.id) ?? graph.fill(0, w.shape, w.dtype));
}

/** Returns y itself beside its gradients; compiling both shares the forward nodes. */
export function valueAndGrad(y: Node, wrt: readonly Node[], options: GradOptions = {}): { value: Node; grads: Node[] } {
  return { value: y, grads: grad(y, wrt, options) };
}

/**
 * Hessian-vector product: H v, where H is the Hessian of the scalar y with
 * respect to x, computed as the gradient of <grad(y, x), v> with respect to x.
 */
export function hvp(y: Node, x: Node, v: Node): Node {
  const graph = y.graph;
  if (!shapesEqual(v.shape, x.shape)) throw new GradientError(`Error in hvp: v has shape ${formatShape(v.shape)}, expected x's shape ${formatShape(x.shape)}`);
  const [g] = grad(y, [x]) as [Node];
  return grad(graph.sum(graph.mul(g, v)), [x])[0]!;
}

/**
 * Jacobian-vector products (forward mode), derived from reverse mode by the
 * transpose trick: u -> J^T u is linear in u, and the gradient of <J^T u, v>
 * with respect to u is J v. The dummy cotangent u is a zero constant, so the
 * result does not depend on its value.
 */
export function jvp(y: Node, xs: readonly Node[], vs: readonly Node[]): Node {
  const graph = y.graph;
  if (xs.length !== vs.length) throw new GradientError(`Error in jvp: ${xs.length} primal node(s) but ${vs.length} tangent(s)`);
  xs.forEach((x, i) => {
    if (!shapesEqual(vs[i]!.shape, x.shape)) throw new GradientError(`Error in jvp: tangent ${i} has shape ${formatShape(vs[i]!.shape)}, expected ${formatShape(x.shape)}`);
  });
  const u = graph.constant(new Float64Array(y.size), y.shape, y.dtype);
  const pullbacks = grad(y, xs, { seed: u });
  const pairing = pullbacks.map((p, i) => graph.sum(graph.mul(p, vs[i]!))).reduce((a, b) => graph.add(a, b));
  return grad(pairing, [u])[0]!;
}
