// The interpreter's value: flat row-major float64 data with its shape and
// dtype. int32 and bool values are stored as exact float64 numbers.

import type { DType } from '../graph/dtype.ts';
import type { Shape } from '../graph/shape.ts';

export interface Tensor {
  shape: Shape;
  dtype: DType;
  data: Float64Array;
}
