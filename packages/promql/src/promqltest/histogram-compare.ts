/**
 * How promqltest compares native histograms (test.go's compareNativeHistogram): both sides
 * compacted, floats within a relative 1e-6, the counter reset hint only when the expectation
 * names it.
 */
import {
  compactFloatHistogram,
  copyFloatHistogram,
  customBucketBoundsMatch,
  type FloatHistogram,
  isCustomBucketsSchema,
  type Span,
} from '@thanos-ts/tsdb/histogram';
import { almostEqual } from '../engine/almost.js';

const EPSILON = 0.000001;

function allEmpty(s: readonly Span[]): boolean {
  return s.every((x) => x.length === 0);
}

/** Spans describe the same layout, ignoring empty spans (test.go's spansMatch). */
function spansMatch(s1: readonly Span[], s2: readonly Span[]): boolean {
  if (s1.length === 0 && s2.length === 0) return true;
  let i = 0;
  let j = 0;
  for (;;) {
    if (i >= s1.length) return allEmpty(s2.slice(j));
    if (j >= s2.length) return allEmpty(s1.slice(i));
    const a = { ...(s1[i++] as Span) };
    const b = { ...(s2[j++] as Span) };
    if (a.length === 0) {
      for (; i < s1.length && (s1[i] as Span).length === 0; i++) a.offset += (s1[i] as Span).offset;
      if (i < s1.length) {
        a.offset += (s1[i] as Span).offset;
        a.length = (s1[i] as Span).length;
        i++;
      }
    }
    if (b.length === 0) {
      for (; j < s2.length && (s2[j] as Span).length === 0; j++) b.offset += (s2[j] as Span).offset;
      if (j < s2.length) {
        b.offset += (s2[j] as Span).offset;
        b.length = (s2[j] as Span).length;
        j++;
      }
    }
    if (a.length === 0 && b.length === 0) return true;
    if (a.offset !== b.offset || a.length !== b.length) return false;
  }
}

function bucketsMatch(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!almostEqual(a[i] as number, b[i] as number, EPSILON)) return false;
  return true;
}

/** Whether `cur` equals the expectation `exp` as promqltest judges it. */
export function compareNativeHistogram(expIn: FloatHistogram, curIn: FloatHistogram, hintSet: boolean): boolean {
  const exp = compactFloatHistogram(copyFloatHistogram(expIn));
  const cur = compactFloatHistogram(copyFloatHistogram(curIn));
  if (
    exp.schema !== cur.schema ||
    !almostEqual(exp.count, cur.count, EPSILON) ||
    !almostEqual(exp.sum, cur.sum, EPSILON)
  ) {
    return false;
  }
  if (isCustomBucketsSchema(exp.schema) && !customBucketBoundsMatch(exp.customValues, cur.customValues)) return false;
  if (exp.zeroThreshold !== cur.zeroThreshold || !almostEqual(exp.zeroCount, cur.zeroCount, EPSILON)) return false;
  if (!spansMatch(exp.negativeSpans, cur.negativeSpans) || !bucketsMatch(exp.negativeBuckets, cur.negativeBuckets)) {
    return false;
  }
  if (!spansMatch(exp.positiveSpans, cur.positiveSpans) || !bucketsMatch(exp.positiveBuckets, cur.positiveBuckets)) {
    return false;
  }
  return !hintSet || exp.counterResetHint === cur.counterResetHint;
}

const HINT_NAMES = ['unknown', 'reset', 'not_reset', 'gauge'];

/** A histogram in the test notation (Prometheus's TestExpression), for failure messages. */
export function formatTestHistogram(h: FloatHistogram): string {
  const parts: string[] = [];
  if (h.schema !== 0) parts.push(`schema:${h.schema}`);
  if (h.count !== 0) parts.push(`count:${h.count}`);
  if (h.sum !== 0) parts.push(`sum:${h.sum}`);
  if (h.zeroCount !== 0) parts.push(`z_bucket:${h.zeroCount}`);
  if (h.zeroThreshold !== 0) parts.push(`z_bucket_w:${h.zeroThreshold}`);
  if (h.customValues !== undefined && h.customValues.length > 0)
    parts.push(`custom_values:[${h.customValues.join(' ')}]`);
  if (h.counterResetHint !== 0) parts.push(`counter_reset_hint:${HINT_NAMES[h.counterResetHint]}`);
  const side = (name: string, spans: readonly Span[], buckets: readonly number[]): void => {
    if (buckets.length === 0) return;
    parts.push(`${name}spans:${JSON.stringify(spans.map((s) => [s.offset, s.length]))}`);
    parts.push(`${name}buckets:[${buckets.join(' ')}]`);
  };
  side('', h.positiveSpans, h.positiveBuckets);
  side('n_', h.negativeSpans, h.negativeBuckets);
  return `{{${parts.join(' ')}}}`;
}
