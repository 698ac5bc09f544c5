// Lowering of a fusion plan to kernels: one kernel per fusion group.
//
// Inside a kernel every computed node is a local `v<id>`; a value from
// outside is a load from a buffer, or, for an inlined node, its expression
// rebuilt at the load's point. Scalar constants become literals.

import { InternalError } from '../errors.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import { shapesEqual, sizeOf } from '../graph/shape.ts';
import type { OpName } from '../ops/attrs.ts';
import type { FusionGroup, FusionPlan } from '../../passes/fuse.ts';
import type { AnchorContext } from './context.ts';
import type { Contraction, Expr, Kernel, KernelParam, ScalarType, Stmt } from './ir.ts';
import { fvar, ivar, loop, num } from './ir.ts';
import type { AnchorLowering, AnchorName } from './anchors.ts';
import { anchors } from './anchors.ts';
import type { PointwiseName } from './pointwise.ts';
import { pointwise, scalarType } from './pointwise.ts';
import { Point } from './point.ts';
import { eliminateCommonSubexpressions } from './cse.ts';

const BYTES: Record<ScalarType, number> = { f32: 4, f64: 8, i32: 4 };

/** Per-element flop estimate of an elementwise op; transcendental functions count as several. */
const ELEMENT_FLOPS: Partial<Record<OpName, number>> = { exp: 4, log: 4, tanh: 6, sigmoid: 6, softplus: 8, elu: 5, pow: 8, sqrt: 2 };

/** Scratch buffer ids count down from -1, unique within one lowering. */
let nextScratchId = 1;

class KernelBuilder {
  readonly params: KernelParam[] = [];
  contraction: Contraction | undefined;
  private readonly paramIndex = new Map<number, number>();
  private counter = 0;

  constructor(readonly plan: FusionPlan, readonly group: FusionGroup) {}

  /** Index of a buffer among the kernel's params, adding it on first use. */
  param(node: Node, access: 'read' | 'write'): number {
    const known = this.paramIndex.get(node.id);
    if (known !== undefined) {
      const p = this.params[known]!;
      if (p.access !== access) p.access = 'readwrite';
      return known;
    }
    this.params.push({ buffer: node.id, t: scalarType(node.dtype), size: sizeOf(node.shape), access });
    this.paramIndex.set(node.id, this.params.length - 1);
    return this.params.length - 1;
  }

  fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  scratch(t: ScalarType, size: number): number {
    this.params.push({ buffer: -(nextScratchId++), t, size, access: 'readwrite' });
    return this.params.length - 1;
  }

  /** Returns the node whose buffer contains a node's value, following reshape aliases. */
  bufferOf(node: Node): Node {
    return this.plan.aliases.get(node.id) ?? node;
  }

  /** Returns the value of `node` at a point of its shape, as this kernel reads it. */
  value(node: Node, point: Point): Expr {
    const t = scalarType(node.dtype);
    const source = this.bufferOf(node);
    if (source.is('constant') && source.size === 1) return num(source.attrs.value[0]!, t);
    if (this.group.nodes.includes(node)) {
      if (!shapesEqual(point.shape, this.group.shape)) throw new InternalError(`${node.label} is read at a point of another shape inside its own kernel`);
      return fvar(`v${node.id}`, t);
    }
    if (this.plan.inline.has(node.id)) return this.expression(node, point);
    return { k: 'load', t, buf: this.param(source, 'read'), index: point.flat() };
  }

  /** Builds the elementwise expression of a node from its inputs' values at the point. */
  expression(node: Node, point: Point): Expr {
    if (node.is('broadcastTo')) return this.value(node.inputs[0]!, point.broadcastTo(node.inputs[0]!.shape));
    const args = node.inputs.map((input) => this.value(input, point.broadcastTo(input.shape)));
    const lowering = pointwise[node.op as PointwiseName] as (args: readonly Expr[], attrs: unknown, t: ScalarType) => Expr;
    if (lowering === undefined) throw new InternalError(`${node.op} ${node.label} has no elementwise lowering`);
    return lowering(args, node.attrs, scalarType(node.dtype));
  }

  /**
   * Computes the group's elementwise nodes at a point and stores those that
   * are read elsewhere. Every store comes after every load, so an output
   * placed in place of an input (plan-memory) never overwrites an element
   * that a later node of the group still reads.
   */
  finish(point: Point, from: number): Stmt[] {
    const lets: Stmt[] = [];
    const stores: Stmt[] = [];
    for (const node of this.group.nodes.slice(from)) {
      lets.push({ k: 'let', name: `v${node.id}`, t: scalarType(node.dtype), init: this.expression(node, point) });
      stores.push(...this.store(node, point));
    }
    return [...lets, ...stores];
  }

  store(node: Node, point: Point): Stmt[] {
    if (!this.plan.stored.has(node.id)) return [];
    return [{ k: 'store', buf: this.param(node, 'write'), index: point.flat(), value: fvar(`v${node.id}`, scalarType(node.dtype)) }];
  }
}

/** True when every load of the group reads the element at the output's own flat index or a scalar. */
function isFlat(group: FusionGroup, plan: FusionPlan): boolean {
  const aligned = (node: Node, shape: Shape): boolean => {
    for (const input of node.inputs) {
      if (input.size === 1) continue;
      if (!shapesEqual(input.shape, shape)) return false;
      if (plan.inline.has(input.id) && !aligned(input, shape)) return false;
    }
    return true;
  };
  return group.nodes.every((n) => aligned(n, group.shape));
}

function lowerElementwise(builder: KernelBuilder): Stmt[] {
  const group = builder.group;
  if (isFlat(group, builder.plan)) {
    const i = builder.fresh('i');
    const size = sizeOf(group.shape);
    return [loop(i, 0, size, builder.finish(Point.flat(group.shape, ivar(i)), 0))];
  }
  const names = group.shape.map(() => builder.fresh('i'));
  let body = builder.finish(Point.of(group.shape, names.map(ivar)), 0);
  for (let d = group.shape.length - 1; d >= 0; d--) body = [loop(names[d]!, 0, group.shape[d]!, body)];
  return body;
}

function lowerAnchor(builder: KernelBuilder, anchor: Node): Stmt[] {
  const ctx: AnchorContext = {
    node: anchor,
    t: scalarType(anchor.dtype),
    input: (i, point) => builder.value(anchor.inputs[i]!, point),
    inputShape: (i) => anchor.inputs[i]!.shape,
    inputType: (i) => scalarType(anchor.inputs[i]!.dtype),
    emit: (point, value) => [
      { k: 'let', name: `v${anchor.id}`, t: scalarType(anchor.dtype), init: value },
      ...builder.store(anchor, point),
      ...builder.finish(point, 1),
    ],
    fresh: (prefix) => builder.fresh(prefix),
    scratch: (size) => builder.scratch(scalarType(anchor.dtype), size),
    contraction: (structure) => {
      builder.contraction = structure;
    },
  };
  const rule = anchors[anchor.op as AnchorName] as AnchorLowering<OpName> | undefined;
  if (rule === undefined) throw new InternalError(`${anchor.op} ${anchor.label} has no kernel lowering`);
  return rule(ctx as AnchorContext<Node<OpName>>);
}

function estimateFlops(group: FusionGroup): number {
  let flops = 0;
  for (const node of group.nodes) {
    if (node.is('matmul')) {
      const a = node.inputs[0]!.shape;
      const k = node.attrs.transposeA ? a[a.length - 2]! : a[a.length - 1]!;
      flops += 2 * node.size * k;
    } else if (node.is('conv2d') || node.is('conv2dBackpropInput') || node.is('conv2dBackpropFilter')) {
      const filter = node.is('conv2d') ? node.inputs[1]!.shape : node.is('conv2dBackpropInput') ? node.inputs[1]!.shape : node.attrs.filterShape;
      const outSize = node.is('conv2dBackpropFilter') ? node.inputs[1]!.size : node.is('conv2d') ? node.size : node.inputs[0]!.size;
      flops += 2 * outSize * filter[0]! * filter[1]! * filter[2]!;
    } else if (group.anchor === node) {
      flops += node.inputs.reduce((n, i) => n + i.size, 0);
    } else {
      flops += node.size * (ELEMENT_FLOPS[node.op] ?? 1);
    }
  }
  return flops;
}

function kernelName(index: number, group: FusionGroup): string {
  return `k${index}_${(group.anchor ?? group.nodes[group.nodes.length - 1]!).op}`;
}

/** Lowers every group of a fusion plan to a kernel, in execution order. */
export function lowerPlan(plan: FusionPlan): Kernel[] {
  nextScratchId = 1;
  return plan.groups.map((group, index) => {
    const builder = new KernelBuilder(plan, group);
    const flat = group.anchor === undefined && isFlat(group, plan);
    const raw = group.anchor === undefined ? lowerElementwise(builder) : lowerAnchor(builder, group.anchor);
    const fresh = () => builder.fresh('t');
    const body = eliminateCommonSubexpressions(raw, fresh);
    const summary = group.nodes.map((n) => n.op).join(' + ');
    const bytes = builder.params.reduce((n, p) => n + p.size * BYTES[p.t], 0);
    const kernel: Kernel = { name: kernelName(index, group), nodes: group.nodes.map((n) => n.id), summary, params: builder.params, body, flops: estimateFlops(group), bytes, inPlaceSafe: flat && builder.params.every((p) => p.size === sizeOf(group.shape) || p.size === 1) };
    if (builder.contraction !== undefined) kernel.contraction = { ...builder.contraction, epilogue: eliminateCommonSubexpressions(builder.contraction.epilogue, fresh) };
    return kernel;
  });
}

