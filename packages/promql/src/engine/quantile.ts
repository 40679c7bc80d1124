/**
 * Quantile helpers shared by `quantile`, `quantile_over_time`, `mad_over_time` and
 * `histogram_quantile` (Prometheus's promql/quantile.go semantics).
 */
import { almostEqual } from './almost.js';

/**
 * The φ-quantile of `values` (sorted in place) by linear interpolation between closest ranks,
 * NaN for an empty input or NaN φ, ±Inf for φ out of [0, 1].
 */
export function quantile(q: number, values: Float64Array | number[], n = values.length): number {
  if (n === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = values instanceof Float64Array ? values.subarray(0, n) : values.slice(0, n);
  // Prometheus sorts NaN first (its Less says NaN < everything).
  sortNaNFirst(sorted);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] as number) * (1 - weight) + (sorted[upper] as number) * weight;
}

function sortNaNFirst(a: Float64Array | number[]): void {
  if (a instanceof Float64Array) {
    // TypedArray sort puts NaN last; move the NaNs to the front afterwards.
    a.sort();
    let nan = 0;
    for (let i = a.length - 1; i >= 0 && Number.isNaN(a[i] as number); i--) nan++;
    if (nan > 0) {
      a.copyWithin(nan, 0, a.length - nan);
      a.fill(Number.NaN, 0, nan);
    }
  } else {
    a.sort((x, y) => (Number.isNaN(x) ? (Number.isNaN(y) ? 0 : -1) : Number.isNaN(y) ? 1 : x - y));
  }
}

/** One classic histogram bucket: upper bound (`le`) and cumulative count. */
export interface Bucket {
  upperBound: number;
  count: number;
}

const smallDeltaTolerance = 1e-12;

/** Result of `bucketQuantile`: the value and whether the buckets had to be made monotonic. */
export interface BucketQuantileResult {
  value: number;
  forcedMonotonicity: boolean;
}

function sortAndCoalesce(buckets: Bucket[]): Bucket[] {
  buckets.sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  const out: Bucket[] = [];
  for (const b of buckets) {
    const last = out[out.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else out.push({ upperBound: b.upperBound, count: b.count });
  }
  return out;
}

/**
 * The φ-quantile of a classic histogram, as Prometheus's `BucketQuantile`: buckets are sorted,
 * equal bounds merged, counts forced monotonic (small float noise ignored), and the value
 * interpolated linearly inside the bucket holding the rank.
 */
export function bucketQuantile(q: number, input: Bucket[]): BucketQuantileResult {
  if (Number.isNaN(q)) return { value: Number.NaN, forcedMonotonicity: false };
  if (q < 0) return { value: Number.NEGATIVE_INFINITY, forcedMonotonicity: false };
  if (q > 1) return { value: Number.POSITIVE_INFINITY, forcedMonotonicity: false };
  let buckets = input.slice();
  buckets.sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if ((buckets[buckets.length - 1] as Bucket).upperBound !== Number.POSITIVE_INFINITY) {
    return { value: Number.NaN, forcedMonotonicity: false };
  }
  buckets = sortAndCoalesce(buckets);
  let forced = false;
  let prev = (buckets[0] as Bucket).count;
  for (let i = 1; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    const curr = b.count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, smallDeltaTolerance)) {
      b.count = prev;
      continue;
    }
    if (curr < prev) {
      b.count = prev;
      forced = true;
      continue;
    }
    prev = curr;
  }
  if (buckets.length < 2) return { value: Number.NaN, forcedMonotonicity: false };
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return { value: Number.NaN, forcedMonotonicity: false };
  let rank = q * observations;
  // First bucket (excluding +Inf) whose count reaches the rank.
  let b = 0;
  const limit = buckets.length - 1;
  {
    let lo = 0;
    let hi = limit;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((buckets[mid] as Bucket).count >= rank) hi = mid;
      else lo = mid + 1;
    }
    b = lo;
  }
  if (b === buckets.length - 1)
    return { value: (buckets[buckets.length - 2] as Bucket).upperBound, forcedMonotonicity: forced };
  if (b === 0 && (buckets[0] as Bucket).upperBound <= 0)
    return { value: (buckets[0] as Bucket).upperBound, forcedMonotonicity: forced };
  let bucketStart = 0;
  const bucketEnd = (buckets[b] as Bucket).upperBound;
  let count = (buckets[b] as Bucket).count;
  if (b > 0) {
    bucketStart = (buckets[b - 1] as Bucket).upperBound;
    count -= (buckets[b - 1] as Bucket).count;
    rank -= (buckets[b - 1] as Bucket).count;
  }
  return { value: bucketStart + (bucketEnd - bucketStart) * (rank / count), forcedMonotonicity: forced };
}

/** The fraction of observations between `lower` and `upper` in a classic histogram (`BucketFraction`). */
export function bucketFraction(lower: number, upper: number, input: Bucket[]): number {
  let buckets = input.slice();
  buckets.sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if ((buckets[buckets.length - 1] as Bucket).upperBound !== Number.POSITIVE_INFINITY) return Number.NaN;
  buckets = sortAndCoalesce(buckets);
  const count = (buckets[buckets.length - 1] as Bucket).count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return Number.NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = (buckets[0] as Bucket).upperBound <= 0 ? Number.NEGATIVE_INFINITY : 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i] as Bucket;
    if (i > 0) lowerBound = (buckets[i - 1] as Bucket).upperBound;
    const upperBound = b.upperBound;
    const interpolate = (v: number): number => {
      if (lowerBound === Number.NEGATIVE_INFINITY) return b.count;
      return rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound);
    };
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = interpolate(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = interpolate(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
