// Test helpers for native histograms against a real Prometheus: a remote-write client whose
// prompb.TimeSeries carry histograms (Prometheus 2.42 prompb/types.proto), deterministic sample
// generators, and the bucket list Prometheus's HTTP API prints for a histogram.
import { compressSync } from 'snappy';
import { iterateBuckets } from '../src/histogram/histogram.js';
import { CounterResetHint, type FloatHistogram, type Histogram, type Span } from '../src/histogram/types.js';

/** One series to push: labels sorted by name, float samples and/or histogram samples. */
export interface HistogramPushSeries {
  labels: readonly (readonly [string, string])[];
  floats?: readonly { t: number; v: number }[];
  hists?: readonly { t: number; h: Histogram }[];
  floatHists?: readonly { t: number; h: FloatHistogram }[];
}

// A protobuf writer of just what a WriteRequest needs.
class Pb {
  readonly b: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.b.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.b.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  uint(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  zigzag(v: number): bigint {
    const b = BigInt(v);
    return BigInt.asUintN(64, (b << 1n) ^ (b < 0n ? -1n : 0n));
  }
  sint(field: number, v: number): this {
    return this.tag(field, 0).varint(this.zigzag(v));
  }
  double(field: number, v: number): this {
    const a = new Uint8Array(8);
    new DataView(a.buffer).setFloat64(0, v, true);
    this.tag(field, 1);
    this.b.push(...a);
    return this;
  }
  bytes(field: number, data: readonly number[]): this {
    this.tag(field, 2).varint(data.length);
    this.b.push(...data);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, [...new TextEncoder().encode(s)]);
  }
}

// prompb.Histogram: count_int=1, count_float=2, sum=3, schema=4 (sint32), zero_threshold=5,
// zero_count_int=6, zero_count_float=7, negative_spans=8, negative_deltas=9 (packed sint64),
// negative_counts=10 (packed double), positive_spans=11, positive_deltas=12,
// positive_counts=13, reset_hint=14, timestamp=15; BucketSpan{offset=1 sint32, length=2}.
function encodeHistogram(t: number, h: Histogram | FloatHistogram, float: boolean): number[] {
  const pb = new Pb();
  if (float) pb.double(2, h.count);
  else pb.uint(1, h.count);
  pb.double(3, h.sum).sint(4, h.schema).double(5, h.zeroThreshold);
  if (float) pb.double(7, h.zeroCount);
  else pb.uint(6, h.zeroCount);
  const spans = (field: number, ss: readonly Span[]) => {
    for (const s of ss) pb.bytes(field, new Pb().sint(1, s.offset).uint(2, s.length).b);
  };
  const packed = (field: number, vs: readonly number[]) => {
    if (vs.length === 0) return;
    const p = new Pb();
    for (const v of vs) {
      if (float) {
        const a = new Uint8Array(8);
        new DataView(a.buffer).setFloat64(0, v, true);
        p.b.push(...a);
      } else p.varint(p.zigzag(v));
    }
    pb.bytes(field, p.b);
  };
  spans(8, h.negativeSpans);
  packed(float ? 10 : 9, h.negativeBuckets);
  spans(11, h.positiveSpans);
  packed(float ? 13 : 12, h.positiveBuckets);
  if (h.counterResetHint !== 0) pb.uint(14, h.counterResetHint);
  pb.uint(15, t);
  return pb.b;
}

/** A snappy-compressed prompb.WriteRequest body for `series`. */
export function encodeHistogramWriteRequest(series: readonly HistogramPushSeries[]): Buffer {
  const req = new Pb();
  for (const s of series) {
    const ts = new Pb();
    for (const [n, v] of s.labels) ts.bytes(1, new Pb().str(1, n).str(2, v).b);
    for (const { t, v } of s.floats ?? []) ts.bytes(2, new Pb().double(1, v).tag(2, 0).varint(t).b);
    for (const { t, h } of s.hists ?? []) ts.bytes(4, encodeHistogram(t, h, false));
    for (const { t, h } of s.floatHists ?? []) ts.bytes(4, encodeHistogram(t, h, true));
    req.bytes(1, ts.b);
  }
  return compressSync(Buffer.from(req.b));
}

/** POSTs `series` to `<url>/api/v1/write` (remote write 1.0); throws on a non-2xx answer. */
export async function remoteWriteHistograms(url: string, series: readonly HistogramPushSeries[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: encodeHistogramWriteRequest(series),
  });
  if (!res.ok) throw new Error(`remote write: HTTP ${res.status}: ${await res.text()}`);
}

/** A small deterministic PRNG (mulberry32) so fixtures are the same on every run. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function spansOf(counts: Map<number, number>, deltas: boolean): { spans: Span[]; buckets: number[] } {
  const idx = [...counts.keys()].sort((a, b) => a - b);
  const spans: Span[] = [];
  const buckets: number[] = [];
  let last = 0;
  let prev = 0;
  for (const i of idx) {
    if (spans.length > 0 && i === last + 1) (spans[spans.length - 1] as Span).length++;
    else spans.push({ offset: spans.length === 0 ? i : i - last - 1, length: 1 });
    last = i;
    const c = counts.get(i) as number;
    buckets.push(deltas ? c - prev : c);
    prev = c;
  }
  return { spans, buckets };
}

/**
 * `n` samples of a counter histogram every `stepMs` from `t0`: observations accumulate into
 * positive, negative and zero buckets, the bucket range widens over time, and a counter reset
 * happens at sample `resetAt` when given. `float` gives float histograms (absolute counts).
 */
export function counterHistograms(
  n: number,
  t0: number,
  opts: { schema?: number; zeroThreshold?: number; stepMs?: number; resetAt?: number; seed?: number } = {},
): { t: number; h: Histogram }[] {
  const rnd = prng(opts.seed ?? 1);
  const schema = opts.schema ?? 3;
  const step = opts.stepMs ?? 15_000;
  let pos = new Map<number, number>();
  let neg = new Map<number, number>();
  let zero = 0;
  let sum = 0;
  const out: { t: number; h: Histogram }[] = [];
  for (let i = 0; i < n; i++) {
    if (i === opts.resetAt) {
      pos = new Map();
      neg = new Map();
      zero = 0;
      sum = 0;
    }
    const width = 4 + Math.floor(i / 20);
    for (let k = 1 + Math.floor(rnd() * 6); k > 0; k--) {
      const r = rnd();
      if (r < 0.05) zero++;
      else if (r < 0.15) {
        const idx = Math.floor(rnd() * 3);
        neg.set(idx, (neg.get(idx) ?? 0) + 1);
        sum -= 2 ** (idx / 8);
      } else {
        const idx = Math.floor(rnd() * width) - 2;
        pos.set(idx, (pos.get(idx) ?? 0) + 1);
        sum += Math.round(2 ** (idx / 8) * 1000) / 1000;
      }
    }
    const p = spansOf(pos, true);
    const q = spansOf(neg, true);
    let count = zero;
    for (const c of pos.values()) count += c;
    for (const c of neg.values()) count += c;
    out.push({
      t: t0 + i * step,
      h: {
        counterResetHint: CounterResetHint.Unknown,
        schema,
        zeroThreshold: opts.zeroThreshold ?? 2 ** -128,
        zeroCount: zero,
        count,
        sum,
        positiveSpans: p.spans,
        negativeSpans: q.spans,
        positiveBuckets: p.buckets,
        negativeBuckets: q.buckets,
      },
    });
  }
  return out;
}

/** Like counterHistograms with float counts (quarter steps), as float histograms. */
export function counterFloatHistograms(
  n: number,
  t0: number,
  opts: { schema?: number; stepMs?: number; seed?: number } = {},
): { t: number; h: FloatHistogram }[] {
  return counterHistograms(n, t0, { ...opts, zeroThreshold: 0.001 }).map(({ t, h }) => {
    const abs = (bs: number[]) => {
      let c = 0;
      return bs.map((d) => {
        c += d;
        return c * 1.25;
      });
    };
    return {
      t,
      h: {
        ...h,
        count: h.count * 1.25,
        zeroCount: h.zeroCount * 1.25,
        positiveBuckets: abs(h.positiveBuckets),
        negativeBuckets: abs(h.negativeBuckets),
      },
    };
  });
}

/**
 * The buckets Prometheus's HTTP API prints for `h` (web/api/v1 marshalHistogram over
 * AllBucketIterator): non-empty buckets from the most negative up, the zero bucket among them,
 * as [boundaries, lower, upper, count] with boundaries 0 = (a,b], 1 = [a,b), 2 = (a,b), 3 = [a,b].
 */
export function apiBuckets(h: FloatHistogram): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  const kind = (li: boolean, ui: boolean) => (li ? (ui ? 3 : 1) : ui ? 0 : 2);
  const neg = [...iterateBuckets(h.negativeSpans, h.negativeBuckets, false, h.schema, false)].reverse();
  for (const b of neg)
    if (b.count !== 0) out.push([kind(b.lowerInclusive, b.upperInclusive), b.lower, b.upper, b.count]);
  if (h.zeroCount !== 0) out.push([3, -h.zeroThreshold, h.zeroThreshold, h.zeroCount]);
  for (const b of iterateBuckets(h.positiveSpans, h.positiveBuckets, false, h.schema, true, h.customValues))
    if (b.count !== 0) out.push([kind(b.lowerInclusive, b.upperInclusive), b.lower, b.upper, b.count]);
  return out;
}

/** Parses one histogram of Prometheus's API JSON into comparable numbers. */
export function parseApiHistogram(j: { count: string; sum: string; buckets?: [number, string, string, string][] }): {
  count: number;
  sum: number;
  buckets: [number, number, number, number][];
} {
  return {
    count: Number(j.count),
    sum: Number(j.sum),
    buckets: (j.buckets ?? []).map(([k, lo, up, c]) => [k, Number(lo), Number(up), Number(c)]),
  };
}
