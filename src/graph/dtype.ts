// Element types. float32 is the compute type; float64 is supported end to end
// so that gradients can be checked against finite differences.

export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** Short form used by the printer: f32, f64, i32, bool. */
export function shortDType(dtype: DType): string {
  switch (dtype) {
    case 'float32':
      return 'f32';
    case 'float64':
      return 'f64';
    case 'int32':
      return 'i32';
    case 'bool':
      return 'bool';
  }
}
