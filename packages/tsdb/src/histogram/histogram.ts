// Operations on the histogram sample model that storage needs: copies, conversion to float,
// equality, bucket bounds and the text form. PromQL arithmetic lives with the engine.
import { formatGoFloat } from '../goformat/float.js';
import { EXPONENTIAL_BOUNDS } from './exponential-bounds.js';
import {
  CounterResetHint,
  customBucketBoundsMatch,
  EXPONENTIAL_SCHEMA_MAX,
  type FloatHistogram,
  type Histogram,
  isCustomBucketsSchema,
  type Span,
} from './types.js';

const f64 = new Float64Array(2);
const u32 = new Uint32Array(f64.buffer);

// Bit equality of two doubles, as Prometheus's Equals compares sums (NaN equals the same NaN).
function sameBits(a: number, b: number): boolean {
  f64[0] = a;
  f64[1] = b;
  return u32[0] === u32[2] && u32[1] === u32[3];
}

function copySpans(s: readonly Span[]): Span[] {
  return s.map((x) => ({ offset: x.offset, length: x.length }));
}

/** A deep copy (custom values are shared: Prometheus treats them as immutable). Fields unused by the schema are reset. */
export function copyHistogram(h: Histogram): Histogram {
  const custom = isCustomBucketsSchema(h.schema);
  const c: Histogram = {
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: custom ? 0 : h.zeroThreshold,
    zeroCount: custom ? 0 : h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: copySpans(h.positiveSpans),
    negativeSpans: custom ? [] : copySpans(h.negativeSpans),
    positiveBuckets: h.positiveBuckets.slice(),
    negativeBuckets: custom ? [] : h.negativeBuckets.slice(),
  };
  if (custom && h.customValues) c.customValues = h.customValues;
  return c;
}

/** A deep copy of a float histogram; see copyHistogram. */
export function copyFloatHistogram(h: FloatHistogram): FloatHistogram {
  return copyHistogram(h);
}

/**
 * The float histogram equal to `h` (Prometheus's Histogram.ToFloat): delta buckets become
 * absolute counts, spans are copied.
 */
export function histogramToFloat(h: Histogram): FloatHistogram {
  const custom = isCustomBucketsSchema(h.schema);
  const fh: FloatHistogram = {
    counterResetHint: h.counterResetHint,
    schema: h.schema,
    zeroThreshold: custom ? 0 : h.zeroThreshold,
    zeroCount: custom ? 0 : h.zeroCount,
    count: h.count,
    sum: h.sum,
    positiveSpans: copySpans(h.positiveSpans),
    negativeSpans: custom ? [] : copySpans(h.negativeSpans),
    positiveBuckets: deltasToAbsolute(h.positiveBuckets),
    negativeBuckets: custom ? [] : deltasToAbsolute(h.negativeBuckets),
  };
  if (custom && h.customValues) fh.customValues = h.customValues;
  return fh;
}

/** Running sums of delta-encoded bucket counts. */
export function deltasToAbsolute(deltas: readonly number[]): number[] {
  const out = new Array<number>(deltas.length);
  let cur = 0;
  for (let i = 0; i < deltas.length; i++) {
    cur += deltas[i] as number;
    out[i] = cur;
  }
  return out;
}

/**
 * Whether two spans describe the same buckets once zero-length spans are folded into the next
 * one (Prometheus's spansMatch).
 */
export function spansMatch(s1: readonly Span[], s2: readonly Span[]): boolean {
  if (s1.length === 0 && s2.length === 0) return true;
  let i1 = 0;
  let i2 = 0;
  for (;;) {
    if (i1 >= s1.length) return allEmpty(s2, i2);
    if (i2 >= s2.length) return allEmpty(s1, i1);
    let a = s1[i1++] as Span;
    let b = s2[i2++] as Span;
    if (a.length === 0) {
      let offset = a.offset;
      for (; i1 < s1.length && (s1[i1] as Span).length === 0; i1++) offset += (s1[i1] as Span).offset;
      if (i1 < s1.length) {
        a = { offset: offset + (s1[i1] as Span).offset, length: (s1[i1] as Span).length };
        i1++;
      } else a = { offset, length: 0 };
    }
    if (b.length === 0) {
      let offset = b.offset;
      for (; i2 < s2.length && (s2[i2] as Span).length === 0; i2++) offset += (s2[i2] as Span).offset;
      if (i2 < s2.length) {
        b = { offset: offset + (s2[i2] as Span).offset, length: (s2[i2] as Span).length };
        i2++;
      } else b = { offset, length: 0 };
    }
    if (a.length === 0 && b.length === 0) return true;
    if (a.offset !== b.offset || a.length !== b.length) return false;
  }
}

function allEmpty(s: readonly Span[], from: number): boolean {
  for (let i = from; i < s.length; i++) if ((s[i] as Span).length > 0) return false;
  return true;
}

function equalNumbers(a: readonly number[], b: readonly number[], bits: boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (bits ? !sameBits(a[i] as number, b[i] as number) : a[i] !== b[i]) return false;
  }
  return true;
}

/**
 * Exact data equality (Prometheus's Histogram.Equals): same schema, counts, sum bits, zero
 * bucket, bucket layout (zero-length spans aside) and bucket values. The hint is not compared.
 */
export function histogramEquals(a: Histogram, b: Histogram): boolean {
  return equalsCommon(a, b, false);
}

/** Exact data equality of float histograms (FloatHistogram.Equals): counts compared by bits. */
export function floatHistogramEquals(a: FloatHistogram, b: FloatHistogram): boolean {
  return equalsCommon(a, b, true);
}

function equalsCommon(a: Histogram | FloatHistogram, b: Histogram | FloatHistogram, bits: boolean): boolean {
  if (a.schema !== b.schema || !sameBits(a.sum, b.sum)) return false;
  if (bits ? !sameBits(a.count, b.count) : a.count !== b.count) return false;
  if (isCustomBucketsSchema(a.schema) && !customBucketBoundsMatch(a.customValues, b.customValues)) return false;
  if (a.zeroThreshold !== b.zeroThreshold) return false;
  if (bits ? !sameBits(a.zeroCount, b.zeroCount) : a.zeroCount !== b.zeroCount) return false;
  if (!spansMatch(a.negativeSpans, b.negativeSpans)) return false;
  if (!equalNumbers(a.negativeBuckets, b.negativeBuckets, bits)) return false;
  if (!spansMatch(a.positiveSpans, b.positiveSpans)) return false;
  return equalNumbers(a.positiveBuckets, b.positiveBuckets, bits);
}

// Go's math.Ldexp(frac, exp) for frac in [0.5, 1): one rounding, also for subnormal results, and
// no spurious overflow of the 2^exp factor alone.
function ldexp(frac: number, exp: number): number {
  if (exp < -1022) return frac * 2 ** (exp + 53) * 2 ** -53;
  if (exp > 1023) return frac * 2 * 2 ** (exp - 1);
  return frac * 2 ** exp;
}

/**
 * Upper bound of bucket `idx` (Prometheus's getBound): for custom buckets customValues[idx]
 * (-Inf at -1, +Inf at the end); for exponential schemas (-4..8) 2^(idx·2^-schema), with the
 * last finite bucket ending at Number.MAX_VALUE as in Prometheus. Throws for other schemas.
 */
export function bucketUpperBound(idx: number, schema: number, customValues?: readonly number[]): number {
  if (isCustomBucketsSchema(schema)) {
    const n = customValues?.length ?? 0;
    if (idx > n || idx < -1) throw new RangeError(`index ${idx} out of bounds for custom bounds of length ${n}`);
    if (idx === n) return Number.POSITIVE_INFINITY;
    if (idx === -1) return Number.NEGATIVE_INFINITY;
    return (customValues as readonly number[])[idx] as number;
  }
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    // The bucket below the ±Inf bucket ends at the largest float, not at 2^1024 = +Inf.
    if (exp === 1024) return Number.MAX_VALUE;
    // Exact powers of two: 2 ** exp overflows to +Inf and underflows to 0 as Go's Ldexp does.
    return 2 ** exp;
  }
  if (schema > EXPONENTIAL_SCHEMA_MAX) throw new RangeError(`no bucket bounds for schema ${schema}`);
  const row = EXPONENTIAL_BOUNDS[schema] as readonly number[];
  const frac = row[idx & ((1 << schema) - 1)] as number;
  const exp = (idx >> schema) + 1;
  if (frac === 0.5 && exp === 1025) return Number.MAX_VALUE;
  return ldexp(frac, exp);
}

/** One bucket with its bounds and absolute count (Prometheus's histogram.Bucket). */
export interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
  /** Bucket index within the schema (irrelevant for the zero bucket). */
  index: number;
}

/**
 * The buckets of one side in index order with absolute counts: positive buckets going up from
 * the zero bucket, negative ones going down from it (Prometheus's Positive/NegativeBucketIterator).
 * `deltas` says whether `buckets` are delta-encoded (integer histograms) or absolute.
 */
export function* iterateBuckets(
  spans: readonly Span[],
  buckets: readonly number[],
  deltas: boolean,
  schema: number,
  positive: boolean,
  customValues?: readonly number[],
): Generator<Bucket> {
  let bi = 0;
  let idx = 0;
  let count = 0;
  for (let s = 0; s < spans.length; s++) {
    const span = spans[s] as Span;
    idx += span.offset;
    for (let k = 0; k < span.length; k++) {
      // An invalid histogram with fewer buckets than its spans promise ends here, as in Prometheus.
      if (bi >= buckets.length) return;
      count = deltas ? count + (buckets[bi] as number) : (buckets[bi] as number);
      bi++;
      yield makeBucket(idx, count, schema, positive, positive ? customValues : undefined);
      idx++;
    }
  }
}

function makeBucket(idx: number, count: number, schema: number, positive: boolean, cv?: readonly number[]): Bucket {
  let lower: number;
  let upper: number;
  if (positive) {
    upper = bucketUpperBound(idx, schema, cv);
    lower = bucketUpperBound(idx - 1, schema, cv);
  } else {
    lower = -bucketUpperBound(idx, schema, cv);
    upper = -bucketUpperBound(idx - 1, schema, cv);
  }
  const custom = isCustomBucketsSchema(schema);
  return {
    lower,
    upper,
    lowerInclusive: custom ? idx === 0 : lower < 0,
    upperInclusive: custom ? true : upper > 0,
    count,
    index: idx,
  };
}

/**
 * Prometheus's Bucket.String: `[lower,upper]:count` with '(' / ')' for exclusive bounds. Counts
 * print as integers for integer histograms (`integer`, Go's %v of a uint64) and with %g otherwise.
 */
export function formatBucket(b: Bucket, integer = false): string {
  const count = integer ? String(b.count) : formatGoFloat(b.count);
  return `${b.lowerInclusive ? '[' : '('}${formatGoFloat(b.lower)},${formatGoFloat(b.upper)}${b.upperInclusive ? ']' : ')'}:${count}`;
}

/**
 * The text form of an integer histogram, byte for byte Prometheus's Histogram.String (as
 * `promtool tsdb dump` prints samples since Prometheus 2.44): `{count:N, sum:S` then the non-empty
 * buckets from the most negative up — negative buckets, the zero bucket when its count is not 0,
 * positive buckets — each as `, [lower,upper):count`, then `}`.
 */
export function formatHistogram(h: Histogram): string {
  return formatCommon(h, true, String(h.count));
}

/** The text form of a float histogram (FloatHistogram.String); counts use %g. */
export function formatFloatHistogram(h: FloatHistogram): string {
  return formatCommon(h, false, formatGoFloat(h.count));
}

function formatCommon(h: Histogram | FloatHistogram, deltas: boolean, count: string): string {
  let s = `{count:${count}, sum:${formatGoFloat(h.sum)}`;
  const neg: Bucket[] = [];
  for (const b of iterateBuckets(h.negativeSpans, h.negativeBuckets, deltas, h.schema, false)) {
    if (b.count !== 0) neg.push(b);
  }
  for (let i = neg.length - 1; i >= 0; i--) s += `, ${formatBucket(neg[i] as Bucket, deltas)}`;
  if (h.zeroCount !== 0) {
    if (isCustomBucketsSchema(h.schema)) throw new RangeError('histograms with custom buckets have no zero bucket');
    s += `, ${formatBucket(
      {
        lower: -h.zeroThreshold,
        upper: h.zeroThreshold,
        lowerInclusive: true,
        upperInclusive: true,
        count: h.zeroCount,
        index: 0,
      },
      deltas,
    )}`;
  }
  for (const b of iterateBuckets(h.positiveSpans, h.positiveBuckets, deltas, h.schema, true, h.customValues)) {
    if (b.count !== 0) s += `, ${formatBucket(b, deltas)}`;
  }
  return `${s}}`;
}

/** Whether the sample's counter reset hint says it is a gauge histogram. */
export function isGaugeHistogram(h: Histogram | FloatHistogram): boolean {
  return h.counterResetHint === CounterResetHint.Gauge;
}
