// The op registry: every op's definition, typed over OpName so that a missing
// op fails to compile.

import type { Registry } from './def.ts';
import { convOps } from './conv.ts';
import { elementwiseOps } from './elementwise.ts';
import { movementOps } from './movement.ts';
import { nnOps } from './nn.ts';
import { reduceOps } from './reduce.ts';
import { sourceOps } from './sources.ts';

export const registry: Registry = {
  ...sourceOps,
  ...elementwiseOps,
  ...reduceOps,
  ...movementOps,
  ...convOps,
  ...nnOps,
};

export type { OpAttrs, OpName } from './attrs.ts';
export type { OpDef, Registry, TypeInfo } from './def.ts';
