// Prometheus's Histogram.Validate and FloatHistogram.Validate, with their error texts, so that
// remote-write and ingestion errors read as Prometheus's do.
import { ThanosError } from '../errors.js';
import { formatGoFloat } from '../goformat/float.js';
import {
  CUSTOM_BUCKETS_SCHEMA,
  EXPONENTIAL_SCHEMA_MAX,
  EXPONENTIAL_SCHEMA_MAX_RESERVED,
  EXPONENTIAL_SCHEMA_MIN,
  EXPONENTIAL_SCHEMA_MIN_RESERVED,
  type FloatHistogram,
  type Histogram,
  isCustomBucketsSchema,
  isExponentialSchema,
  type Span,
} from './types.js';

/** The sentinel texts of Prometheus's histogram errors (model/histogram/generic.go). */
export const HISTOGRAM_ERRORS = {
  countNotBigEnough: "histogram's observation count should be at least the number of observations found in the buckets",
  countMismatch:
    "histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
  negativeCount: "histogram's observation count is negative",
  negativeBucketCount: 'histogram has a bucket whose observation count is negative',
  spanNegativeOffset: 'histogram has a span whose offset is negative',
  spansBucketsMismatch: 'histogram spans specify different number of buckets than provided',
  customBucketsMismatch: 'histogram custom bounds are too few',
  customBucketsInvalid: 'histogram custom bounds must be in strictly increasing order',
  customBucketsInfinite: 'histogram custom bounds must be finite',
  customBucketsNaN: 'histogram custom bounds must not be NaN',
  customBucketsZeroCount: 'custom buckets: must have zero count of 0',
  customBucketsZeroThresh: 'custom buckets: must have zero threshold of 0',
  customBucketsNegSpans: 'custom buckets: must not have negative spans',
  customBucketsNegBuckets: 'custom buckets: must not have negative buckets',
  expSchemaCustomBounds: 'histogram with exponential schema must not have custom bounds',
  invalidSchema: `histogram has an invalid schema, which must be between ${EXPONENTIAL_SCHEMA_MIN} and ${EXPONENTIAL_SCHEMA_MAX} for exponential buckets, or ${CUSTOM_BUCKETS_SCHEMA} for custom buckets`,
  unknownSchema: `histogram has an unknown schema, which must be between ${EXPONENTIAL_SCHEMA_MIN_RESERVED} and ${EXPONENTIAL_SCHEMA_MAX_RESERVED} for exponential buckets, or ${CUSTOM_BUCKETS_SCHEMA} for custom buckets`,
} as const;

/** Which Prometheus sentinel a HistogramError wraps. */
export type HistogramErrorKind = keyof typeof HISTOGRAM_ERRORS;

/**
 * A histogram breaks the model's rules (code `TSDB_INVALID_HISTOGRAM`). The message is
 * Prometheus's, wrapping included; `kind` names the sentinel error it ends with, for callers
 * that branch like Go's errors.Is.
 */
export class HistogramError extends ThanosError {
  constructor(
    readonly kind: HistogramErrorKind,
    message: string = HISTOGRAM_ERRORS[kind],
  ) {
    super('TSDB_INVALID_HISTOGRAM', message);
  }
}

function wrap(prefix: string, err: HistogramError): HistogramError {
  return new HistogramError(err.kind, `${prefix}: ${err.message}`);
}

/** Prometheus's InvalidSchemaError text for `schema`. */
export function invalidSchemaError(schema: number): HistogramError {
  return new HistogramError('invalidSchema', `${HISTOGRAM_ERRORS.invalidSchema}, got schema ${schema}`);
}

/** Prometheus's UnknownSchemaError text for `schema` (a chunk with a schema outside -9..52). */
export function unknownSchemaError(schema: number): HistogramError {
  return new HistogramError('unknownSchema', `${HISTOGRAM_ERRORS.unknownSchema}, got schema ${schema}`);
}

function checkSpans(spans: readonly Span[], numBuckets: number): HistogramError | undefined {
  let n = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    if (i > 0 && s.offset < 0) {
      return new HistogramError(
        'spanNegativeOffset',
        `span number ${i + 1} with offset ${s.offset}: ${HISTOGRAM_ERRORS.spanNegativeOffset}`,
      );
    }
    n += s.length;
  }
  if (n !== numBuckets) {
    return new HistogramError(
      'spansBucketsMismatch',
      `spans need ${n} buckets, have ${numBuckets} buckets: ${HISTOGRAM_ERRORS.spansBucketsMismatch}`,
    );
  }
  return undefined;
}

// Returns the sum of the absolute bucket counts, or the error.
function checkBuckets(buckets: readonly number[], deltas: boolean): number | HistogramError {
  let last = 0;
  let total = 0;
  for (let i = 0; i < buckets.length; i++) {
    const c = deltas ? last + (buckets[i] as number) : (buckets[i] as number);
    if (c < 0) {
      const shown = deltas ? String(c) : formatGoFloat(c);
      return new HistogramError(
        'negativeBucketCount',
        `bucket number ${i + 1} has observation count of ${shown}: ${HISTOGRAM_ERRORS.negativeBucketCount}`,
      );
    }
    last = c;
    total += c;
  }
  return total;
}

// Go's %f: six decimals, "+Inf"/"-Inf"/"NaN".
function goFixed6(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toFixed(6);
}

function checkCustomBounds(
  bounds: readonly number[] | undefined,
  spans: readonly Span[],
  numBuckets: number,
): HistogramError | undefined {
  let prev = Number.NEGATIVE_INFINITY;
  const b = bounds ?? [];
  for (let i = 0; i < b.length; i++) {
    const cur = b[i] as number;
    if (Number.isNaN(cur)) return new HistogramError('customBucketsNaN');
    if (i > 0 && cur <= prev) {
      return new HistogramError(
        'customBucketsInvalid',
        `previous bound is ${goFixed6(prev)} and current is ${goFixed6(cur)}: ${HISTOGRAM_ERRORS.customBucketsInvalid}`,
      );
    }
    prev = cur;
  }
  if (prev === Number.POSITIVE_INFINITY) {
    return new HistogramError(
      'customBucketsInfinite',
      `last +Inf bound must not be explicitly defined: ${HISTOGRAM_ERRORS.customBucketsInfinite}`,
    );
  }
  let n = 0;
  let total = 0;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i] as Span;
    if (s.offset < 0) {
      return new HistogramError(
        'spanNegativeOffset',
        `span number ${i + 1} with offset ${s.offset}: ${HISTOGRAM_ERRORS.spanNegativeOffset}`,
      );
    }
    n += s.length;
    total += s.length + s.offset;
  }
  if (n !== numBuckets) {
    return new HistogramError(
      'spansBucketsMismatch',
      `spans need ${n} buckets, have ${numBuckets} buckets: ${HISTOGRAM_ERRORS.spansBucketsMismatch}`,
    );
  }
  if (b.length + 1 < total) {
    return new HistogramError(
      'customBucketsMismatch',
      `only ${b.length} custom bounds defined which is insufficient to cover total span length of ${total}: ${HISTOGRAM_ERRORS.customBucketsMismatch}`,
    );
  }
  return undefined;
}

// The schema-dependent checks shared by both kinds; returns the negative side's count.
function checkLayout(h: Histogram | FloatHistogram, deltas: boolean): number | HistogramError {
  if (isCustomBucketsSchema(h.schema)) {
    const err = checkCustomBounds(h.customValues, h.positiveSpans, h.positiveBuckets.length);
    if (err) return wrap('custom buckets', err);
    if (h.zeroCount !== 0) return new HistogramError('customBucketsZeroCount');
    if (h.zeroThreshold !== 0) return new HistogramError('customBucketsZeroThresh');
    if (h.negativeSpans.length > 0) return new HistogramError('customBucketsNegSpans');
    if (h.negativeBuckets.length > 0) return new HistogramError('customBucketsNegBuckets');
    return 0;
  }
  if (!isExponentialSchema(h.schema)) return invalidSchemaError(h.schema);
  let err = checkSpans(h.positiveSpans, h.positiveBuckets.length);
  if (err) return wrap('positive side', err);
  err = checkSpans(h.negativeSpans, h.negativeBuckets.length);
  if (err) return wrap('negative side', err);
  const n = checkBuckets(h.negativeBuckets, deltas);
  if (n instanceof HistogramError) return wrap('negative side', n);
  if (!deltas && h.zeroCount < 0) {
    return new HistogramError(
      'negativeBucketCount',
      `zero bucket has observation count of ${formatGoFloat(h.zeroCount)}: ${HISTOGRAM_ERRORS.negativeBucketCount}`,
    );
  }
  if (h.customValues !== undefined) return new HistogramError('expSchemaCustomBounds');
  return n;
}

/**
 * Checks an integer histogram as Prometheus's Histogram.Validate does: spans against bucket
 * counts, no negative bucket counts, schema-specific fields, and Count equal to the buckets' total
 * (at least that total when Sum is NaN). Returns the error instead of throwing.
 */
export function validateHistogram(h: Histogram): HistogramError | undefined {
  const n = checkLayout(h, true);
  if (n instanceof HistogramError) return n;
  const p = checkBuckets(h.positiveBuckets, true);
  if (p instanceof HistogramError) return wrap('positive side', p);
  const total = n + p + h.zeroCount;
  if (Number.isNaN(h.sum)) {
    if (total > h.count) {
      return new HistogramError(
        'countNotBigEnough',
        `${total} observations found in buckets, but the Count field is ${h.count}: ${HISTOGRAM_ERRORS.countNotBigEnough}`,
      );
    }
  } else if (total !== h.count) {
    return new HistogramError(
      'countMismatch',
      `${total} observations found in buckets, but the Count field is ${h.count}: ${HISTOGRAM_ERRORS.countMismatch}`,
    );
  }
  return undefined;
}

/**
 * Checks a float histogram as FloatHistogram.Validate does (no Count-versus-buckets check: float
 * arithmetic makes them drift). Returns the error instead of throwing.
 */
export function validateFloatHistogram(h: FloatHistogram): HistogramError | undefined {
  const n = checkLayout(h, false);
  if (n instanceof HistogramError) return n;
  if (h.count < 0) {
    // Two spaces after "is": Prometheus's text.
    return new HistogramError(
      'negativeCount',
      `observation count is  ${formatGoFloat(h.count)}: ${HISTOGRAM_ERRORS.negativeCount}`,
    );
  }
  const p = checkBuckets(h.positiveBuckets, false);
  if (p instanceof HistogramError) return wrap('positive side', p);
  return undefined;
}
