// Lowering of convolution and pooling to loop nests.

import { InternalError } from '../errors.ts';
import type { AnchorLowering } from './anchors.ts';

type WindowName = 'conv2d' | 'conv2dBackpropInput' | 'conv2dBackpropFilter' | 'maxPool2d' | 'maxPool2dGrad' | 'avgPool2d' | 'avgPool2dGrad';

function pending(op: string): AnchorLowering<WindowName> {
  return () => {
    throw new InternalError(`${op} has no kernel lowering yet`);
  };
}

export const convAnchors: { [K in WindowName]: AnchorLowering<K> } = {
  conv2d: pending('conv2d'),
  conv2dBackpropInput: pending('conv2dBackpropInput'),
  conv2dBackpropFilter: pending('conv2dBackpropFilter'),
  maxPool2d: pending('maxPool2d'),
  maxPool2dGrad: pending('maxPool2dGrad'),
  avgPool2d: pending('avgPool2d'),
  avgPool2dGrad: pending('avgPool2dGrad'),
};
