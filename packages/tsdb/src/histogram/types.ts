// The native histogram sample model, with the fields and meanings of Prometheus's
// model/histogram (Histogram, FloatHistogram, Span, CounterResetHint).

/**
 * What is known about a counter reset at a histogram sample (Prometheus's CounterResetHint), or
 * that the histogram is a gauge, where counter resets do not apply. The numbers are Prometheus's
 * (and remote write's `ResetHint` 0..3).
 */
export const CounterResetHint = {
  /** Unknown: a reader must compare with the previous sample to tell. */
  Unknown: 0,
  /** There was a counter reset right before this sample. */
  CounterReset: 1,
  /** There was definitely no counter reset before this sample. */
  NotCounterReset: 2,
  /** A gauge histogram: counts may go down without meaning a reset. */
  Gauge: 3,
} as const;

/** One of the CounterResetHint values. */
export type CounterResetHint = (typeof CounterResetHint)[keyof typeof CounterResetHint];

/**
 * A run of consecutive buckets. `offset` is the gap (in bucket indices) to the end of the previous
 * span, or the index of the first bucket for the first span (which may be negative); `length` is
 * the number of buckets. Zero-length spans are allowed and carry only their offset.
 */
export interface Span {
  offset: number;
  length: number;
}

/** Highest exponential schema Prometheus stores (2^8 buckets per power of two). */
export const EXPONENTIAL_SCHEMA_MAX = 8;
/** Lowest exponential schema (a bucket spans 2^16). */
export const EXPONENTIAL_SCHEMA_MIN = -4;
/** Highest schema a chunk may carry from a newer Prometheus (read, then reduced to 8). */
export const EXPONENTIAL_SCHEMA_MAX_RESERVED = 52;
/** Lowest reserved exponential schema. */
export const EXPONENTIAL_SCHEMA_MIN_RESERVED = -9;
/** The schema of histograms with custom bucket bounds (NHCB), given in `customValues`. */
export const CUSTOM_BUCKETS_SCHEMA = -53;

/**
 * A histogram with integer counts (Prometheus's histogram.Histogram). Counts are JS numbers, so
 * they are exact up to 2^53 (Go's are uint64).
 *
 * Bucket indices: for exponential schemas, positive bucket `i` covers (b(i-1), b(i)] with
 * b(i) = 2^(i·2^-schema); negative bucket `i` mirrors it below zero; values within
 * [-zeroThreshold, zeroThreshold] fall into the zero bucket. For the custom-bucket schema (-53),
 * positive bucket `i` covers (customValues[i-1], customValues[i]] (first from -Inf, last to +Inf)
 * and the zero and negative fields are unused.
 */
export interface Histogram {
  counterResetHint: CounterResetHint;
  /** -4..8 for exponential buckets, -53 for custom buckets. */
  schema: number;
  /** Half-width of the zero bucket (≥ 0). */
  zeroThreshold: number;
  /** Observations in the zero bucket. */
  zeroCount: number;
  /** Total observations (≥ the bucket counts' sum; larger only for NaN observations). */
  count: number;
  /** Sum of observations; Prometheus's stale marker NaN here marks a stale sample. */
  sum: number;
  positiveSpans: Span[];
  negativeSpans: Span[];
  /** Bucket counts as deltas: the first is absolute, each next is the difference to the previous. */
  positiveBuckets: number[];
  negativeBuckets: number[];
  /** Strictly increasing upper bounds for schema -53 (not +Inf), otherwise undefined. */
  customValues?: number[];
}

/**
 * A histogram with float counts (Prometheus's histogram.FloatHistogram): the result of PromQL
 * operations, and what float histogram chunks hold. Bucket counts are absolute, not deltas.
 */
export interface FloatHistogram {
  counterResetHint: CounterResetHint;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: Span[];
  negativeSpans: Span[];
  /** Absolute bucket counts. */
  positiveBuckets: number[];
  negativeBuckets: number[];
  customValues?: number[];
}

/** Whether `schema` is the custom-buckets schema (-53). */
export function isCustomBucketsSchema(schema: number): boolean {
  return schema === CUSTOM_BUCKETS_SCHEMA;
}

/** Whether `schema` is a supported exponential schema (-4..8). */
export function isExponentialSchema(schema: number): boolean {
  return schema >= EXPONENTIAL_SCHEMA_MIN && schema <= EXPONENTIAL_SCHEMA_MAX;
}

/** Whether `schema` is in the reserved exponential range (-9..52) a chunk may carry. */
export function isExponentialSchemaReserved(schema: number): boolean {
  return schema >= EXPONENTIAL_SCHEMA_MIN_RESERVED && schema <= EXPONENTIAL_SCHEMA_MAX_RESERVED;
}

/** Whether `schema` may be ingested (custom buckets or -4..8). */
export function isValidSchema(schema: number): boolean {
  return isCustomBucketsSchema(schema) || isExponentialSchema(schema);
}

/** Whether a chunk may carry `schema` (custom buckets or the reserved range -9..52). */
export function isKnownSchema(schema: number): boolean {
  return isCustomBucketsSchema(schema) || isExponentialSchemaReserved(schema);
}

/** Whether two custom bound lists are equal element by element (Prometheus's CustomBucketBoundsMatch). */
export function customBucketBoundsMatch(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  const la = a?.length ?? 0;
  const lb = b?.length ?? 0;
  if (la !== lb) return false;
  for (let i = 0; i < la; i++) if ((a as readonly number[])[i] !== (b as readonly number[])[i]) return false;
  return true;
}

/** Total number of buckets the spans describe. */
export function countSpans(spans: readonly Span[]): number {
  let n = 0;
  for (const s of spans) n += s.length;
  return n;
}

/** A histogram with no observations (schema 0, no buckets) and the given hint. */
export function emptyHistogram(hint: CounterResetHint = CounterResetHint.Unknown): Histogram {
  return {
    counterResetHint: hint,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: [],
    negativeBuckets: [],
  };
}

/** A float histogram with no observations (schema 0, no buckets) and the given hint. */
export function emptyFloatHistogram(hint: CounterResetHint = CounterResetHint.Unknown): FloatHistogram {
  return emptyHistogram(hint);
}
