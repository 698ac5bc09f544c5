// Window geometry of 2-D convolution and pooling: the output size and the
// padding of each spatial axis. The reference ops and the backends share
// these functions, so a kernel and the interpreter agree on every padded edge.
//
// 'same' follows the notes on padding in TensorFlow's tf.nn documentation:
// the output has ceil(in / stride) positions, and when the padding needed for
// that is odd, the extra element goes after the input (bottom or right).

import type { Padding2D } from './attrs.ts';

/** Padding of one spatial axis: 'same', 'valid' or explicit [before, after]. */
export type AxisPadding = 'same' | 'valid' | readonly [number, number];

export interface WindowAxis {
  /** Number of output positions; 0 when no window fits. */
  outSize: number;
  /** Zero elements virtually placed before the first input element. */
  padBefore: number;
  /**
   * Zero elements virtually placed after the last input element. For
   * 'valid' this is 0 even when the last (in - effective) % stride input
   * elements lie in no window.
   */
  padAfter: number;
}

export interface Window2D {
  outHeight: number;
  outWidth: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

/** Returns the extent of a dilated kernel: (size - 1) * dilation + 1 input elements. */
export function effectiveKernelSize(kernelSize: number, dilation: number): number {
  return (kernelSize - 1) * dilation + 1;
}

/**
 * Computes the output size and padding of one spatial axis, where
 * effective = (kernel - 1) * dilation + 1:
 *
 *   same      out = ceil(in / stride)
 *             total = max((out - 1) * stride + effective - in, 0)
 *             before = floor(total / 2), after = total - before
 *   valid     out = floor((in - effective) / stride) + 1, no padding
 *   explicit  out = floor((in + before + after - effective) / stride) + 1
 *
 * The output size is clamped at 0; callers reject an empty output.
 */
export function windowAxis(inSize: number, kernelSize: number, stride: number, dilation: number, padding: AxisPadding): WindowAxis {
  const effective = effectiveKernelSize(kernelSize, dilation);
  if (padding === 'same') {
    const outSize = Math.ceil(inSize / stride);
    const total = Math.max((outSize - 1) * stride + effective - inSize, 0);
    const padBefore = Math.floor(total / 2);
    return { outSize, padBefore, padAfter: total - padBefore };
  }
  const [padBefore, padAfter] = padding === 'valid' ? [0, 0] : padding;
  const span = inSize + padBefore + padAfter - effective;
  const outSize = span < 0 ? 0 : Math.floor(span / stride) + 1;
  return { outSize, padBefore, padAfter };
}

/** Computes the output size and padding of both spatial axes of an NHWC window op. */
export function window2D(
  inHeight: number,
  inWidth: number,
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  padding: Padding2D,
): Window2D {
  const rows = windowAxis(inHeight, kernel[0], strides[0], dilations[0], axisPadding(padding, 0));
  const columns = windowAxis(inWidth, kernel[1], strides[1], dilations[1], axisPadding(padding, 1));
  return {
    outHeight: rows.outSize,
    outWidth: columns.outSize,
    padTop: rows.padBefore,
    padBottom: rows.padAfter,
    padLeft: columns.padBefore,
    padRight: columns.padAfter,
  };
}

/** Returns the padding of axis 0 (height) or 1 (width) of a 2-D padding attribute. */
export function axisPadding(padding: Padding2D, axis: 0 | 1): AxisPadding {
  return typeof padding === 'string' ? padding : padding[axis];
}

/** Formats a padding attribute as it appears in error messages: 'same', 'valid' or [[1,0],[1,0]]. */
export function formatPadding(padding: Padding2D): string {
  return typeof padding === 'string' ? `'${padding}'` : JSON.stringify(padding);
}
