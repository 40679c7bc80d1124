import type { Labels } from '@thanos-ts/tsdb';
import { formatGoFloat } from '@thanos-ts/tsdb/goformat';
import { type FloatHistogram, isCustomBucketsSchema, iterateBuckets } from '@thanos-ts/tsdb/histogram';
import type { TimeSlice } from '../concurrency/time-slice.js';
import type { EngineValue } from '../query/engine.js';
import { JSONBytes } from './json-bytes.js';

/**
 * A float as Prometheus's API writes sample values: Go's strconv.FormatFloat(v, 'f', -1, 64)
 * (shortest exact digits, never an exponent), with +Inf, -Inf and NaN spelled that way.
 */
export function formatSampleValue(v: number): string {
  return formatGoFloat(v, 'f');
}

/**
 * A float of a vector or matrix sample as Prometheus's jsonutil.MarshalFloat writes it: like
 * {@link formatSampleValue}, but in exponent form when |v| < 1e-6 or ≥ 1e21 (e.g. `1e-07`).
 */
export function formatJSONFloat(v: number): string {
  const a = Math.abs(v);
  // In [1e-6, 1e21) JavaScript writes the same shortest digits without an exponent as Go's 'f'
  // does: the per-sample fast path of large answers.
  if (a >= 1e-6 && a < 1e21) return String(v);
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  return formatGoFloat(v, a < 1e-6 || a >= 1e21 ? 'e' : 'f');
}

/**
 * A native histogram as Prometheus's API writes it (jsonutil.MarshalHistogram):
 * `{"count":"…","sum":"…","buckets":[[boundaryRule,"lower","upper","count"],…]}` with the
 * populated buckets from the lowest up. boundaryRule: 0 (lower exclusive, upper inclusive),
 * 1 (lower inclusive, upper exclusive), 2 (both exclusive), 3 (both inclusive).
 */
export function histogramJSON(h: FloatHistogram): string {
  let s = `{"count":"${formatJSONFloat(h.count)}","sum":"${formatJSONFloat(h.sum)}"`;
  const buckets: string[] = [];
  const add = (b: {
    lower: number;
    upper: number;
    lowerInclusive: boolean;
    upperInclusive: boolean;
    count: number;
  }) => {
    if (b.count === 0) return;
    const rule = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    buckets.push(`[${rule},"${formatJSONFloat(b.lower)}","${formatJSONFloat(b.upper)}","${formatJSONFloat(b.count)}"]`);
  };
  // AllBucketIterator: negative buckets from the most negative, the zero bucket, positive buckets;
  // buckets overlapping the zero bucket are clipped to its threshold.
  const zt = h.zeroThreshold;
  const clip = <T extends { lower: number; upper: number }>(b: T): T => {
    if (b.upper < 0 && b.upper > -zt) return { ...b, upper: -zt };
    if (b.lower > 0 && b.lower < zt) return { ...b, lower: zt };
    return b;
  };
  const neg = [...iterateBuckets(h.negativeSpans, h.negativeBuckets, false, h.schema, false)];
  for (let i = neg.length - 1; i >= 0; i--) add(clip(neg[i] as (typeof neg)[number]));
  if (h.zeroCount > 0 && !isCustomBucketsSchema(h.schema)) {
    add({ lower: -zt, upper: zt, lowerInclusive: true, upperInclusive: true, count: h.zeroCount });
  }
  for (const b of iterateBuckets(h.positiveSpans, h.positiveBuckets, false, h.schema, true, h.customValues))
    add(clip(b));
  if (buckets.length > 0) s += `,"buckets":[${buckets.join(',')}]`;
  return `${s}}`;
}

/** A ms timestamp as Prometheus writes it: seconds with exactly the ms digits needed (jsonutil.MarshalTimestamp). */
export function formatTimestamp(t: number): string {
  const ms = t % 1000;
  if (ms === 0) return String(t / 1000);
  if (t > 0) {
    const sec = (t - ms) / 1000;
    return ms >= 100 ? `${sec}.${ms}` : ms >= 10 ? `${sec}.0${ms}` : `${sec}.00${ms}`;
  }
  const neg = t < 0;
  const a = Math.abs(t);
  const sec = Math.floor(a / 1000);
  const frac = a - sec * 1000;
  let s = String(sec);
  if (frac !== 0) s += `.${String(frac).padStart(3, '0')}`;
  return neg ? `-${s}` : s;
}

/** Labels as a JSON object text. */
export function labelsJSON(l: Labels): string {
  const f = l.toFlat();
  let s = '{';
  for (let i = 0; i < f.length; i += 2) {
    if (i > 0) s += ',';
    s += `${JSON.stringify(f[i])}:${JSON.stringify(f[i + 1])}`;
  }
  return `${s}}`;
}

/**
 * Samples written between two pauses of {@link writeQueryData}: a few ms of encoding, so the
 * event loop (health checks, other requests) waits no longer than a time slice for a large answer.
 */
const SAMPLES_PER_PAUSE = 8192;

/**
 * The `data` of a query response as JSON bytes: {"resultType":…,"result":…}, written piecewise
 * so large matrices don't go through intermediate objects or strings. In one run, for callers
 * off the event loop's hot path; the query API writes with {@link queryDataJSONSliced}.
 */
export function queryDataJSON(v: EngineValue, stats?: unknown): Buffer {
  const w = new JSONBytes(estimateBytes(v));
  for (const _ of writeQueryData(w, v, stats));
  return w.bytes();
}

/**
 * {@link queryDataJSON} that yields to the event loop whenever `slice` is used up: encoding a
 * week of minutely points for a few dozen series takes a CPU for over 100 ms, which would
 * otherwise hold every other request of the process (and `/-/healthy`) for that long. Once
 * `signal` is aborted the bytes are incomplete: check it before using them.
 */
export async function queryDataJSONSliced(
  v: EngineValue,
  stats: unknown,
  slice: TimeSlice,
  signal?: AbortSignal,
): Promise<Buffer> {
  const w = new JSONBytes(estimateBytes(v));
  for (const _ of writeQueryData(w, v, stats)) {
    const turn = slice.check();
    if (turn) await turn;
    // Nobody waits for the rest (the client went away): stop with what is written.
    if (signal?.aborted) break;
  }
  return w.bytes();
}

/**
 * About the size of a value's JSON, so the buffer rarely grows (growing copies it all at once, tens
 * of ms for a large answer): a float pair is ~25–35 bytes, and JSONBytes.pairs reserves its
 * worst case, 52 bytes a pair, for each run it writes.
 */
function estimateBytes(v: EngineValue): number {
  if (v.type === 'vector') return 256 + v.samples.length * 128;
  if (v.type !== 'matrix') return 256;
  let bytes = 256 + SAMPLES_PER_PAUSE * 52;
  for (const s of v.series) bytes += 128 + s.timestamps.length * 36 + (s.histograms?.timestamps.length ?? 0) * 256;
  return bytes;
}

/**
 * Writes a value's `data` to `w`, pausing (a `yield`) between series and every
 * {@link SAMPLES_PER_PAUSE} samples; the caller decides whether a pause yields to the event loop.
 */
function* writeQueryData(w: JSONBytes, v: EngineValue, stats?: unknown): Generator<void, void, undefined> {
  w.ascii(`{"resultType":"${v.type}","result":`);
  switch (v.type) {
    case 'scalar':
      w.ascii(`[${formatTimestamp(v.t)},"${formatSampleValue(v.v)}"]`);
      break;
    case 'string':
      w.text(`[${formatTimestamp(v.t)},${JSON.stringify(v.v)}]`);
      break;
    case 'vector': {
      w.ascii('[');
      for (let i = 0; i < v.samples.length; i++) {
        const s = v.samples[i] as (typeof v.samples)[number];
        if (i > 0 && i % SAMPLES_PER_PAUSE === 0) yield;
        w.ascii(i ? ',{"metric":' : '{"metric":');
        w.text(labelsJSON(s.metric));
        if (s.h === undefined) {
          w.ascii(',"value":[');
          w.ascii(formatTimestamp(s.t));
          w.ascii(',"');
          w.ascii(formatJSONFloat(s.f));
          w.ascii('"]}');
        } else {
          w.ascii(',"histogram":[');
          w.ascii(formatTimestamp(s.t));
          w.ascii(',');
          w.ascii(histogramJSON(s.h));
          w.ascii(']}');
        }
      }
      w.ascii(']');
      break;
    }
    case 'matrix': {
      w.ascii('[');
      for (let i = 0; i < v.series.length; i++) {
        const s = v.series[i] as (typeof v.series)[number];
        if (i > 0) yield;
        w.ascii(i ? ',{"metric":' : '{"metric":');
        w.text(labelsJSON(s.metric));
        const n = s.timestamps.length;
        // As Prometheus: "values" only when the series has floats, "histograms" only when it has histograms.
        if (n > 0) {
          w.ascii(',"values":[');
          for (let from = 0; from < n; from += SAMPLES_PER_PAUSE) {
            if (from > 0) {
              yield;
              w.byte(0x2c);
            }
            w.pairs(
              s.timestamps,
              s.values,
              from,
              Math.min(n, from + SAMPLES_PER_PAUSE),
              formatTimestamp,
              formatJSONFloat,
            );
          }
          w.ascii(']');
        }
        const hs = s.histograms;
        if (hs !== undefined && hs.timestamps.length > 0) {
          w.ascii(',"histograms":[');
          for (let j = 0; j < hs.timestamps.length; j++) {
            if (j > 0 && j % SAMPLES_PER_PAUSE === 0) yield;
            w.ascii(j ? ',[' : '[');
            w.ascii(formatTimestamp(hs.timestamps[j] as number));
            w.ascii(',');
            w.ascii(histogramJSON(hs.values[j] as FloatHistogram));
            w.ascii(']');
          }
          w.ascii(']');
        }
        w.ascii('}');
      }
      w.ascii(']');
      break;
    }
  }
  if (stats !== undefined) w.text(`,"stats":${JSON.stringify(stats)}`);
  w.ascii('}');
}
