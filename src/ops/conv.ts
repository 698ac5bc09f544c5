// Convolution and pooling, NHWC activations and HWIO filters.

import { InternalError } from '../errors.ts';
import type { OpDef } from './def.ts';

type WindowName = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad';

function pending<K extends WindowName>(op: K): OpDef<K> {
  const fail = (): never => {
    throw new InternalError(`${op} is not implemented yet`);
  };
  return { arity: 2, attrs: fail, infer: fail, evaluate: fail, grad: fail };
}

export const convOps: { [K in WindowName]: OpDef<K> } = {
  conv2d: pending('conv2d'),
  conv2dBackpropInput: pending('conv2dBackpropInput'),
  conv2dBackpropFilter: pending('conv2dBackpropFilter'),
  maxPool2d: pending('maxPool2d'),
  maxPool2dGrad: pending('maxPool2dGrad'),
  avgPool2d: pending('avgPool2d'),
  avgPool2dGrad: pending('avgPool2dGrad'),
};
