/**
 * histogram_quantile, histogram_fraction and histogram_stddev/stdvar over native histograms
 * (Prometheus's promql/quantile.go HistogramQuantile/HistogramFraction and functions.go's
 * histogramVariance): exponential interpolation inside exponential buckets, linear inside the
 * zero bucket and custom buckets, and the NaN-observation annotations.
 */
import { type Bucket, type FloatHistogram, isCustomBucketsSchema, iterateBuckets } from '@thanos-ts/tsdb/histogram';

/**
 * Every bucket of `h` from the lowest up (Prometheus's AllBucketIterator): negative buckets
 * (highest index first), the zero bucket when populated, positive buckets; a bucket overlapping
 * the zero bucket is clipped to the zero threshold.
 */
export function allBuckets(h: FloatHistogram): Bucket[] {
  const out: Bucket[] = [];
  const neg = [...iterateBuckets(h.negativeSpans, h.negativeBuckets, false, h.schema, false)];
  const zt = h.zeroThreshold;
  for (let i = neg.length - 1; i >= 0; i--) out.push(clip(neg[i] as Bucket, zt));
  if (h.zeroCount > 0) {
    out.push({ lower: -zt, upper: zt, lowerInclusive: true, upperInclusive: true, count: h.zeroCount, index: 0 });
  }
  for (const b of iterateBuckets(h.positiveSpans, h.positiveBuckets, false, h.schema, true, h.customValues)) {
    out.push(clip(b, zt));
  }
  return out;
}

function clip(b: Bucket, zt: number): Bucket {
  if (b.upper < 0 && b.upper > -zt) return { ...b, upper: -zt };
  if (b.lower > 0 && b.lower < zt) return { ...b, lower: zt };
  return b;
}

/** The annotation a native quantile or fraction asks for, if any. */
export type NativeHistogramNote = 'nan-result' | 'nan-skew' | 'fraction-nans' | undefined;

/** Result of {@link nativeHistogramQuantile}. */
export interface NativeQuantileResult {
  value: number;
  note: NativeHistogramNote;
}

/** The φ-quantile of a native histogram (Prometheus's HistogramQuantile). */
export function nativeHistogramQuantile(q: number, h: FloatHistogram): NativeQuantileResult {
  if (q < 0) return { value: Number.NEGATIVE_INFINITY, note: undefined };
  if (q > 1) return { value: Number.POSITIVE_INFINITY, note: undefined };
  if (h.count === 0 || Number.isNaN(q)) return { value: Number.NaN, note: undefined };
  const custom = isCustomBucketsSchema(h.schema);
  const all = allBuckets(h);
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const order = forward ? all : all.slice().reverse();
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0;
  let k = 0;
  let bucket: Bucket = { lower: 0, upper: 0, lowerInclusive: false, upperInclusive: false, count: 0, index: 0 };
  for (; k < order.length; k++) {
    const b = order[k] as Bucket;
    bucket = b;
    if (b.count === 0) continue;
    count += b.count;
    if (count >= rank) break;
  }
  bucket = { ...bucket };
  if (!custom && bucket.lower < 0 && bucket.upper > 0) {
    if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) bucket.lower = 0;
    else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) bucket.upper = 0;
  } else if (custom) {
    if (bucket.lower === Number.NEGATIVE_INFINITY) {
      if (bucket.upper <= 0) return { value: bucket.upper, note: undefined };
      bucket.lower = 0;
    } else if (bucket.upper === Number.POSITIVE_INFINITY) {
      return { value: bucket.lower, note: undefined };
    }
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) return { value: Number.NaN, note: 'nan-result' };
    return { value: bucket.upper, note: undefined };
  }
  if (forward) rank -= count - bucket.count;
  else rank = count - rank;
  let note: NativeHistogramNote;
  if (Number.isNaN(h.sum)) {
    for (let j = k + 1; j < order.length; j++) count += (order[j] as Bucket).count;
    if (count < h.count) note = 'nan-skew';
  }
  const fraction = rank / bucket.count;
  if (custom || (bucket.lower <= 0 && bucket.upper >= 0)) {
    return { value: bucket.lower + (bucket.upper - bucket.lower) * fraction, note };
  }
  const logLower = Math.log2(Math.abs(bucket.lower));
  const logUpper = Math.log2(Math.abs(bucket.upper));
  if (bucket.lower > 0) return { value: 2 ** (logLower + (logUpper - logLower) * fraction), note };
  return { value: -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction))), note };
}

/** Prometheus's Bucket.FractionBelow: the share of the bucket's width at or below `v`. */
function fractionBelow(b: Bucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower));
  const logUpper = Math.log2(Math.abs(b.upper));
  const logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** The fraction of observations in [lower, upper] of a native histogram (Prometheus's HistogramFraction). */
export function nativeHistogramFraction(lower: number, upper: number, h: FloatHistogram): NativeQuantileResult {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return { value: Number.NaN, note: undefined };
  if (lower >= upper) return { value: 0, note: undefined };
  const custom = isCustomBucketsSchema(h.schema);
  const all = allBuckets(h);
  let count = 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let k = 0;
  for (; k < all.length; k++) {
    const b = { ...(all[k] as Bucket) };
    count += b.count;
    let zeroBucket = false;
    const linear = (v: number): number => {
      if (b.lower === Number.NEGATIVE_INFINITY) return b.count;
      return rank + b.count * fractionBelow(b, v, true);
    };
    const exponential = (v: number): number => rank + b.count * fractionBelow(b, v, false);
    if (b.lower <= 0 && b.upper >= 0) {
      zeroBucket = true;
      if (h.negativeBuckets.length === 0 && h.positiveBuckets.length > 0) b.lower = 0;
      else if (h.positiveBuckets.length === 0 && h.negativeBuckets.length > 0) b.upper = 0;
    }
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = custom || zeroBucket ? linear(lower) : exponential(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = custom || zeroBucket ? linear(upper) : exponential(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  let note: NativeHistogramNote;
  if (Number.isNaN(h.sum)) {
    for (let j = k + 1; j < all.length; j++) count += (all[j] as Bucket).count;
    if (count < h.count) note = 'fraction-nans';
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return { value: (upperRank - lowerRank) / h.count, note };
}

/** The estimated variance of the observations of `h` (functions.go's histogramVariance). */
export function nativeHistogramVariance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  const custom = isCustomBucketsSchema(h.schema);
  let variance = 0;
  let c = 0;
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const delta = val - mean;
    const inc = b.count * delta * delta;
    // Kahan summation, as Prometheus's kahansum.Inc.
    const t = variance + inc;
    if (t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) c = 0;
    else if (Math.abs(variance) >= Math.abs(inc)) c += variance - t + inc;
    else c += inc - t + variance;
    variance = t;
  }
  return (variance + c) / h.count;
}
