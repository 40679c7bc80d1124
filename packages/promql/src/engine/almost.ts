import { isStaleNaN } from '@thanos-ts/tsdb';

const minNormal = 2.2250738585072014e-308;

/**
 * Whether two floats are equal within a relative `epsilon` (Prometheus's `util/almost.Equal`):
 * both NaN counts as equal, the staleness marker equals only itself, and values near zero are
 * compared against epsilon times the smallest normal float.
 */
export function almostEqual(a: number, b: number, epsilon: number): boolean {
  const sa = isStaleNaN(a);
  const sb = isStaleNaN(b);
  if (sa || sb) return sa && sb;
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < epsilon * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}
