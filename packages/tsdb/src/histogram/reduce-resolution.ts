// Lowering the resolution of an exponential native histogram (Prometheus's
// Histogram.ReduceResolution and FloatHistogram.ReduceResolution, model/histogram/generic.go
// reduceResolution): used where a histogram arrives with a schema above 8 — OTLP exponential
// histograms of scale > 8 and remote-write samples with schemas 9..52 — so it can be stored.

import { type FloatHistogram, type Histogram, isCustomBucketsSchema, type Span } from './types.js';
import { HISTOGRAM_ERRORS, HistogramError } from './validate.js';

/**
 * The index in `targetSchema` of the bucket that holds bucket `idx` of `originSchema`
 * (Prometheus's targetIdx). Each step down in schema merges pairs of buckets: bucket (i-1, i]
 * of schema s lies in bucket ⌈i/2⌉ of schema s-1, so with k steps `((idx - 1) >> k) + 1`.
 * Worked example, schema 1 → 0: buckets 1, 2 → 1; 3, 4 → 2; 0, -1 → 0; -2, -3 → -1.
 */
export function targetBucketIndex(idx: number, originSchema: number, targetSchema: number): number {
  return ((idx - 1) >> (originSchema - targetSchema)) + 1;
}

/**
 * Merges the buckets of one side (`spans` with their `buckets`, deltas when `deltas` is true,
 * absolute counts otherwise) into the buckets of `targetSchema`. Adjacent target buckets share a
 * span; a gap starts a new one (no empty buckets are added). Throws HistogramError with
 * Prometheus's texts when the spans do not match the buckets or a span after the first has a
 * negative offset.
 */
export function reduceBucketsResolution(
  spans: readonly Span[],
  buckets: readonly number[],
  originSchema: number,
  targetSchema: number,
  deltas: boolean,
): { spans: Span[]; buckets: number[] } {
  const outSpans: Span[] = [];
  const outBuckets: number[] = [];
  let idx = 0; // Bucket index in the origin schema.
  let at = 0; // Position in `buckets`.
  let lastTarget = 0; // Index of the last target bucket written.
  let absolute = 0; // Absolute count of the origin bucket just read (deltas only).
  let lastTargetAbsolute = 0; // Absolute count of the last target bucket (deltas only).
  for (let n = 0; n < spans.length; n++) {
    const span = spans[n] as Span;
    if (n > 0 && span.offset < 0)
      throw new HistogramError(
        'spanNegativeOffset',
        `span number ${n + 1} with offset ${span.offset}: ${HISTOGRAM_ERRORS.spanNegativeOffset}`,
      );
    idx += span.offset;
    for (let j = 0; j < span.length; j++, idx++, at++) {
      if (at >= buckets.length)
        throw new HistogramError(
          'spansBucketsMismatch',
          `have ${buckets.length} buckets but spans need more: ${HISTOGRAM_ERRORS.spansBucketsMismatch}`,
        );
      const b = buckets[at] as number;
      const target = targetBucketIndex(idx, originSchema, targetSchema);
      if (outSpans.length === 0) {
        outSpans.push({ offset: target, length: 1 });
        outBuckets.push(b);
        lastTarget = target;
        absolute = b;
        lastTargetAbsolute = b;
        continue;
      }
      if (target === lastTarget) {
        // Same target bucket as the previous origin bucket: add this bucket's count to it.
        if (deltas) {
          absolute += b;
          outBuckets[outBuckets.length - 1] = (outBuckets[outBuckets.length - 1] as number) + absolute;
          lastTargetAbsolute += absolute;
        } else outBuckets[outBuckets.length - 1] = (outBuckets[outBuckets.length - 1] as number) + b;
        continue;
      }
      if (target === lastTarget + 1) (outSpans[outSpans.length - 1] as Span).length++;
      else outSpans.push({ offset: target - lastTarget - 1, length: 1 });
      lastTarget = target;
      if (deltas) {
        // The new target bucket's delta is against the previous target bucket's total.
        absolute += b;
        outBuckets.push(absolute - lastTargetAbsolute);
        lastTargetAbsolute = absolute;
      } else outBuckets.push(b);
    }
  }
  if (at !== buckets.length)
    throw new HistogramError(
      'spansBucketsMismatch',
      `spans need ${at} buckets, have ${buckets.length} buckets: ${HISTOGRAM_ERRORS.spansBucketsMismatch}`,
    );
  return { spans: outSpans, buckets: outBuckets };
}

function checkTarget(schema: number, targetSchema: number): void {
  // Programming errors, as in Prometheus (not histogram.Error there either).
  if (isCustomBucketsSchema(schema)) throw new RangeError('cannot reduce resolution when there are custom buckets');
  if (isCustomBucketsSchema(targetSchema)) throw new RangeError('cannot reduce resolution to custom buckets schema');
  if (targetSchema >= schema) throw new RangeError(`cannot reduce resolution from schema ${schema} to ${targetSchema}`);
}

/**
 * `h` with its buckets merged down to `targetSchema` (Prometheus's Histogram.ReduceResolution):
 * count, sum, zero bucket and hint are unchanged. `h` is not modified. Throws RangeError when
 * `targetSchema` is not below `h.schema` or either is the custom-buckets schema, and
 * HistogramError when `h`'s spans and buckets disagree.
 */
export function reduceHistogramResolution(h: Histogram, targetSchema: number): Histogram {
  checkTarget(h.schema, targetSchema);
  const p = reduceBucketsResolution(h.positiveSpans, h.positiveBuckets, h.schema, targetSchema, true);
  const n = reduceBucketsResolution(h.negativeSpans, h.negativeBuckets, h.schema, targetSchema, true);
  return {
    ...h,
    schema: targetSchema,
    positiveSpans: p.spans,
    positiveBuckets: p.buckets,
    negativeSpans: n.spans,
    negativeBuckets: n.buckets,
  };
}

/** Like reduceHistogramResolution for a float histogram (FloatHistogram.ReduceResolution). */
export function reduceFloatHistogramResolution(h: FloatHistogram, targetSchema: number): FloatHistogram {
  checkTarget(h.schema, targetSchema);
  const p = reduceBucketsResolution(h.positiveSpans, h.positiveBuckets, h.schema, targetSchema, false);
  const n = reduceBucketsResolution(h.negativeSpans, h.negativeBuckets, h.schema, targetSchema, false);
  return {
    ...h,
    schema: targetSchema,
    positiveSpans: p.spans,
    positiveBuckets: p.buckets,
    negativeSpans: n.spans,
    negativeBuckets: n.buckets,
  };
}
