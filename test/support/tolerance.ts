// Element-wise comparison of numeric arrays with a relative and an absolute
// tolerance, in the numpy.allclose sense: |actual - expected| <= atol +
// rtol * |expected|. NaN and signed zeros are handled explicitly because the
// relu family's conventions depend on them.

export interface Tolerance {
  rtol: number;
  atol: number;
  /** Whether NaN equals NaN. When false, any NaN is a mismatch. */
  nanEqual?: boolean;
  /** Whether +0 and -0 differ. */
  signedZeroMatters?: boolean;
}

export interface Mismatch {
  index: number;
  actual: number;
  expected: number;
}

/** Reports whether one element meets the tolerance. */
export function isClose(actual: number, expected: number, tolerance: Tolerance): boolean {
  if (Number.isNaN(actual) || Number.isNaN(expected)) {
    return (tolerance.nanEqual ?? false) && Number.isNaN(actual) && Number.isNaN(expected);
  }
  if (!Number.isFinite(actual) || !Number.isFinite(expected)) return actual === expected;
  if (actual === 0 && expected === 0 && (tolerance.signedZeroMatters ?? false)) return Object.is(actual, expected);
  return Math.abs(actual - expected) <= tolerance.atol + tolerance.rtol * Math.abs(expected);
}

/** Lists the elements that miss the tolerance. Throws when the lengths differ. */
export function findMismatches(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance): Mismatch[] {
  if (actual.length !== expected.length) {
    throw new Error(`cannot compare ${actual.length} values with ${expected.length} expected values`);
  }
  const mismatches: Mismatch[] = [];
  for (let i = 0; i < expected.length; i++) {
    if (!isClose(actual[i]!, expected[i]!, tolerance)) mismatches.push({ index: i, actual: actual[i]!, expected: expected[i]! });
  }
  return mismatches;
}

/** Reports whether every element meets the tolerance; false when the lengths differ. */
export function allClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance): boolean {
  return actual.length === expected.length && findMismatches(actual, expected, tolerance).length === 0;
}

/**
 * Throws an Error listing the first mismatching elements (index, actual,
 * expected) unless every element meets the tolerance. `label` names the
 * compared quantity in the message.
 */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: Tolerance, label: string): void {
  const mismatches = findMismatches(actual, expected, tolerance);
  if (mismatches.length === 0) return;
  const listed = mismatches
    .slice(0, 8)
    .map((m) => `  [${m.index}] actual ${m.actual}, expected ${m.expected}, difference ${m.actual - m.expected}`)
    .join('\n');
  const more = mismatches.length > 8 ? `\n  ... and ${mismatches.length - 8} more` : '';
  throw new Error(
    `${label}: ${mismatches.length} of ${expected.length} elements differ beyond rtol ${tolerance.rtol}, atol ${tolerance.atol}\n${listed}${more}`,
  );
}
