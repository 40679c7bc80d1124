// Native histogram chunks are byte-identical to Prometheus's: a real Prometheus 2.42 with
// native histograms on is fed histograms by remote write, a snapshot turns its head into a block,
// and every histogram chunk in that block must equal what our appender writes for the same
// samples; our decoder must give back the samples we sent; and the dump must match promtool's.
import { join } from 'node:path';
import { e2eRequired, programAvailable, promtool, type RunningPrometheus, startPrometheus } from '@thanos-ts/testing';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlock } from '../src/block/reader.js';
import { ChunkEncoding } from '../src/chunkenc/chunk.js';
import { decodeFloatHistogramChunk, FloatHistogramChunk } from '../src/chunkenc/float-histogram.js';
import { decodeHistogramChunk, HistogramChunk } from '../src/chunkenc/histogram.js';
import { cutFloatHistogramChunks, cutHistogramChunks } from '../src/chunkenc/histogram-cut.js';
import { findBlockDirs } from '../src/dump/dump.js';
import { dumpAllSamples } from '../src/dump/histogram-dump.js';
import { formatLabelsGo } from '../src/goformat/index.js';
import { iterateBuckets } from '../src/histogram/histogram.js';
import { CounterResetHint, type FloatHistogram, type Histogram, type Span } from '../src/histogram/index.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import { isStaleNaN, STALE_NAN } from '../src/storage/stale.js';

const have = programAvailable('prometheus') && programAvailable('promtool');
if (!have && !e2eRequired()) console.warn('SKIPPING histogram-prometheus tests: prometheus/promtool not installed');
const d = have || e2eRequired() ? describe : describe.skip;

// ---- prompb.WriteRequest with histograms, built by hand (Prometheus 2.42 prompb/types.proto):
// TimeSeries{labels=1, samples=2, histograms=4}; Histogram{count_int=1, count_float=2, sum=3,
// schema=4 (sint32), zero_threshold=5, zero_count_int=6, zero_count_float=7, negative_spans=8,
// negative_deltas=9 (packed sint64), negative_counts=10 (packed double), positive_spans=11,
// positive_deltas=12, positive_counts=13, reset_hint=14, timestamp=15}; BucketSpan{offset=1
// (sint32), length=2}.
class Pb {
  private b: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.b.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.b.push(Number(x));
    return this;
  }
  tag(f: number, w: number): this {
    return this.varint((f << 3) | w);
  }
  uint(f: number, v: number): this {
    return this.tag(f, 0).varint(v);
  }
  sint(f: number, v: number): this {
    const z = (BigInt(v) << 1n) ^ (BigInt(v) < 0n ? -1n : 0n);
    return this.tag(f, 0).varint(z);
  }
  double(f: number, v: number): this {
    const a = new Uint8Array(8);
    new DataView(a.buffer).setFloat64(0, v, true);
    this.tag(f, 1);
    this.b.push(...a);
    return this;
  }
  bytes(f: number, data: Uint8Array | number[]): this {
    this.tag(f, 2).varint(data.length);
    this.b.push(...data);
    return this;
  }
  str(f: number, s: string): this {
    return this.bytes(f, [...new TextEncoder().encode(s)]);
  }
  packedSint(f: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const p = new Pb();
    for (const v of vs) p.varint((BigInt(v) << 1n) ^ (BigInt(v) < 0n ? -1n : 0n));
    return this.bytes(f, p.out());
  }
  packedDouble(f: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const p = new Pb();
    for (const v of vs) {
      const a = new Uint8Array(8);
      new DataView(a.buffer).setFloat64(0, v, true);
      p.b.push(...a);
    }
    return this.bytes(f, p.out());
  }
  out(): number[] {
    return this.b;
  }
}

function spans(f: number, ss: readonly Span[], pb: Pb): void {
  for (const s of ss) pb.bytes(f, new Pb().sint(1, s.offset).uint(2, s.length).out());
}

function encodeHistogram(t: number, h: Histogram | FloatHistogram, float: boolean): number[] {
  const pb = new Pb();
  if (float) pb.double(2, h.count);
  else pb.uint(1, h.count);
  pb.double(3, h.sum).sint(4, h.schema).double(5, h.zeroThreshold);
  if (float) pb.double(7, h.zeroCount);
  else pb.uint(6, h.zeroCount);
  spans(8, h.negativeSpans, pb);
  if (float) pb.packedDouble(10, h.negativeBuckets);
  else pb.packedSint(9, h.negativeBuckets);
  spans(11, h.positiveSpans, pb);
  if (float) pb.packedDouble(13, h.positiveBuckets);
  else pb.packedSint(12, h.positiveBuckets);
  if (h.counterResetHint !== 0) pb.uint(14, h.counterResetHint);
  pb.uint(15, t);
  return pb.out();
}

interface Series {
  labels: [string, string][];
  floats?: { t: number; v: number }[];
  hists?: { t: number; h: Histogram }[];
  floatHists?: { t: number; h: FloatHistogram }[];
}

function encodeWriteRequest(series: readonly Series[]): Uint8Array {
  const req = new Pb();
  for (const s of series) {
    const ts = new Pb();
    for (const [n, v] of s.labels) ts.bytes(1, new Pb().str(1, n).str(2, v).out());
    for (const { t, v } of s.floats ?? []) ts.bytes(2, new Pb().double(1, v).tag(2, 0).varint(t).out());
    for (const { t, h } of s.hists ?? []) ts.bytes(4, encodeHistogram(t, h, false));
    for (const { t, h } of s.floatHists ?? []) ts.bytes(4, encodeHistogram(t, h, true));
    req.bytes(1, ts.out());
  }
  return new Uint8Array(req.out());
}

async function remoteWrite(url: string, series: readonly Series[]): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    },
    body: compressSync(Buffer.from(encodeWriteRequest(series))),
  });
  if (!res.ok) throw new Error(`remote write: HTTP ${res.status}: ${await res.text()}`);
}

// ---- Sample generators (fixed seed).
let seed = 7;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// Spans and values from a bucket index → count map (a new span after any gap).
function toSpans(counts: Map<number, number>, deltas: boolean): { spans: Span[]; buckets: number[] } {
  const idx = [...counts.keys()].sort((a, b) => a - b);
  const out: Span[] = [];
  const buckets: number[] = [];
  let last = 0;
  let prev = 0;
  for (const i of idx) {
    if (out.length > 0 && i === last + 1) (out[out.length - 1] as Span).length++;
    else out.push({ offset: out.length === 0 ? i : i - last - 1, length: 1 });
    last = i;
    const c = counts.get(i) as number;
    buckets.push(deltas ? c - prev : c);
    prev = c;
  }
  return { spans: out, buckets };
}

function makeHistogram(
  pos: Map<number, number>,
  neg: Map<number, number>,
  zeroCount: number,
  sum: number,
  opts: { schema: number; zt: number; hint?: CounterResetHint },
  deltas: boolean,
): Histogram {
  const p = toSpans(pos, deltas);
  const n = toSpans(neg, deltas);
  let count = zeroCount;
  for (const c of pos.values()) count += c;
  for (const c of neg.values()) count += c;
  return {
    counterResetHint: opts.hint ?? CounterResetHint.Unknown,
    schema: opts.schema,
    zeroThreshold: opts.zt,
    zeroCount,
    count,
    sum,
    positiveSpans: p.spans,
    negativeSpans: n.spans,
    positiveBuckets: p.buckets,
    negativeBuckets: n.buckets,
  };
}

const STEP = 15_000;

/** A counter histogram: observations accumulate, the bucket range widens, one reset. */
function counterSeries(
  n: number,
  t0: number,
  o: { schema: number; zt: number; float: boolean; resetAt?: number; schemaAt?: number; ztAt?: number },
): { t: number; h: Histogram }[] {
  const out: { t: number; h: Histogram }[] = [];
  let pos = new Map<number, number>();
  let neg = new Map<number, number>();
  let zero = 0;
  let sum = 0;
  let schema = o.schema;
  let zt = o.zt;
  for (let i = 0; i < n; i++) {
    if (i === o.resetAt) {
      pos = new Map();
      neg = new Map();
      zero = 0;
      sum = 0;
    }
    if (i === o.schemaAt) {
      schema -= 1;
      pos = new Map();
      neg = new Map();
    }
    if (i === o.ztAt) zt *= 2;
    const width = 6 + Math.floor(i / 15);
    const obs = 1 + Math.floor(rnd() * 8);
    for (let k = 0; k < obs; k++) {
      const r = rnd();
      const inc = o.float ? 0.25 + Math.floor(rnd() * 8) / 4 : 1;
      if (r < 0.05) zero += inc;
      else if (r < 0.15) {
        const idx = Math.floor(rnd() * 4);
        neg.set(idx, (neg.get(idx) ?? 0) + inc);
        sum -= inc * 2 ** (idx / 8);
      } else {
        const idx = Math.floor(rnd() * width) - 2;
        pos.set(idx, (pos.get(idx) ?? 0) + inc);
        sum += Math.round(inc * 2 ** (idx / 8) * 1000) / 1000;
      }
    }
    out.push({
      t: t0 + i * STEP + Math.round((rnd() - 0.5) * 200),
      h: makeHistogram(pos, neg, zero, sum, { schema, zt }, !o.float),
    });
  }
  return out;
}

/** A gauge histogram: bucket counts go up and down, buckets come and go. */
function gaugeSeries(n: number, t0: number, float: boolean): { t: number; h: Histogram }[] {
  const out: { t: number; h: Histogram }[] = [];
  for (let i = 0; i < n; i++) {
    const pos = new Map<number, number>();
    const lo = Math.floor(rnd() * 5);
    const hi = lo + 2 + Math.floor(rnd() * 12);
    for (let k = lo; k <= hi; k++)
      if (rnd() < 0.8) pos.set(k, float ? Math.floor(rnd() * 40) / 8 + 0.125 : 1 + Math.floor(rnd() * 30));
    const neg = new Map<number, number>();
    if (rnd() < 0.3) neg.set(1, float ? 1.5 : 2);
    const sum = Math.round(rnd() * 1e5) / 100;
    out.push({
      t: t0 + i * STEP,
      h: makeHistogram(
        pos,
        neg,
        Math.floor(rnd() * 3),
        sum,
        { schema: 2, zt: 2 ** -128, hint: CounterResetHint.Gauge },
        !float,
      ),
    });
  }
  return out;
}

function absoluteBuckets(h: Histogram | FloatHistogram, deltas: boolean): string {
  const parts: string[] = [];
  for (const side of [true, false]) {
    for (const b of iterateBuckets(
      side ? h.positiveSpans : h.negativeSpans,
      side ? h.positiveBuckets : h.negativeBuckets,
      deltas,
      h.schema,
      side,
    )) {
      if (b.count !== 0) parts.push(`${side ? '+' : '-'}${b.index}:${b.count}`);
    }
  }
  return `${h.count}|${h.zeroCount}|${h.zeroThreshold}|${h.schema}|${isStaleNaN(h.sum) ? 'stale' : h.sum}|${parts.join(',')}`;
}

d('histogram chunks against Prometheus 2.42', () => {
  let prom: RunningPrometheus;
  let snapshotDir = '';
  const series: Series[] = [];
  const H2 = 2 * 3600_000;

  beforeAll(async () => {
    prom = await startPrometheus({ extraArgs: ['--enable-feature=native-histograms'] });
    // Start mid-window so series cross a 2h chunk-range boundary, as real data does.
    const t0 = Math.floor((Date.now() - 100 * 60_000) / 1000) * 1000;
    const stale = counterSeries(60, t0, { schema: 0, zt: 0, float: false });
    stale.push({ t: t0 + 60 * STEP, h: { ...(stale[59] as { h: Histogram }).h, sum: STALE_NAN } });
    stale.push({ t: t0 + 61 * STEP, h: { ...(stale[59] as { h: Histogram }).h } });
    series.push(
      {
        labels: [
          ['__name__', 'hist_counter'],
          ['kind', 'int'],
        ],
        hists: counterSeries(400, t0, { schema: 3, zt: 2 ** -128, float: false, resetAt: 250 }),
      },
      {
        labels: [
          ['__name__', 'hist_counter'],
          ['kind', 'float'],
        ],
        floatHists: counterSeries(300, t0, { schema: 1, zt: 0.001, float: true, resetAt: 170 }),
      },
      {
        labels: [
          ['__name__', 'hist_gauge'],
          ['kind', 'int'],
        ],
        hists: gaugeSeries(300, t0, false),
      },
      {
        labels: [
          ['__name__', 'hist_gauge'],
          ['kind', 'float'],
        ],
        floatHists: gaugeSeries(300, t0, true),
      },
      {
        labels: [
          ['__name__', 'hist_layout'],
          ['kind', 'int'],
        ],
        hists: counterSeries(300, t0, { schema: 3, zt: 2 ** -128, float: false, schemaAt: 100, ztAt: 200 }),
      },
      {
        labels: [
          ['__name__', 'hist_stale'],
          ['kind', 'int'],
        ],
        hists: stale,
      },
      {
        labels: [['__name__', 'mixed']],
        floats: Array.from({ length: 20 }, (_, i) => ({ t: t0 + i * STEP, v: i * 1.5 })),
        hists: counterSeries(100, t0 + 20 * STEP, { schema: 0, zt: 2 ** -128, float: false }),
      },
      {
        labels: [
          ['__name__', 'up'],
          ['job', 'x'],
        ],
        floats: Array.from({ length: 300 }, (_, i) => ({ t: t0 + i * STEP, v: i % 7 === 0 ? 0 : 1 })),
      },
    );
    await remoteWrite(prom.url, series);
    // Prometheus 2.42 re-encodes a series' open head chunk when snapshotting, with the counter
    // appender even for gauge histograms, and fails on their decreasing counts. A float sample
    // after the histograms closes the last histogram chunk (new encoding, new chunk), so the block
    // holds Prometheus's chunks as its head wrote them.
    const end = t0 + 410 * STEP;
    await remoteWrite(
      prom.url,
      series.filter((s) => s.hists || s.floatHists).map((s) => ({ labels: s.labels, floats: [{ t: end, v: 1 }] })),
    );
    const res = await fetch(`${prom.url}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
    const body = (await res.json()) as { data?: { name: string }; error?: string };
    if (!body.data) throw new Error(`snapshot: ${JSON.stringify(body)}`);
    snapshotDir = join(prom.dataDir, 'snapshots', body.data.name);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
  });

  it('writes every histogram chunk byte for byte as Prometheus does', async () => {
    const dirs = await findBlockDirs(snapshotDir);
    expect(dirs.length).toBe(1);
    const block = await openBlock(dirs[0] as string);
    try {
      const got = await block.select(
        [new Matcher('=~', '__name__', '.+')],
        Number.MIN_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER,
      );
      let compared = 0;
      for (const s of series) {
        if (!s.hists && !s.floatHists) continue;
        const name = formatLabelsGo(Labels.from(s.labels));
        const b = got.find((g) => formatLabelsGo(g.labels) === name);
        expect(b, name).toBeDefined();
        const theirs = (b?.chunks ?? []).filter((c) => c.encoding !== ChunkEncoding.XOR);
        const ours = s.hists ? cutHistogramChunks(s.hists, H2) : cutFloatHistogramChunks(s.floatHists ?? [], H2);
        expect(
          theirs.map((c) => [c.minTime, c.maxTime, c.encoding]),
          name,
        ).toEqual(ours.map((c) => [c.minTime, c.maxTime, c.encoding]));
        for (let i = 0; i < ours.length; i++) {
          expect(Buffer.from(theirs[i]?.data as Uint8Array).toString('hex'), `${name} chunk ${i}`).toBe(
            Buffer.from((ours[i] as { data: Uint8Array }).data).toString('hex'),
          );
          // Re-encoding a chunk Prometheus wrote gives its bytes back.
          const raw = theirs[i]?.data as Uint8Array;
          const again = s.hists ? HistogramChunk.fromBytes(raw).bytes() : FloatHistogramChunk.fromBytes(raw).bytes();
          expect(Buffer.from(again).equals(Buffer.from(raw)), `${name} chunk ${i} re-encoded`).toBe(true);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(15);
    } finally {
      await block.close();
    }
  });

  it("decodes Prometheus's chunks back to the samples sent", async () => {
    const block = await openBlock((await findBlockDirs(snapshotDir))[0] as string);
    try {
      const got = await block.select(
        [new Matcher('=~', '__name__', '.+')],
        Number.MIN_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER,
      );
      for (const s of series) {
        if (!s.hists && !s.floatHists) continue;
        const name = formatLabelsGo(Labels.from(s.labels));
        const b = got.find((g) => formatLabelsGo(g.labels) === name);
        const decoded: string[] = [];
        for (const c of b?.chunks ?? []) {
          if (c.encoding === ChunkEncoding.Histogram) {
            const dc = decodeHistogramChunk(c.data as Uint8Array);
            dc.histograms.forEach((h, i) => {
              decoded.push(`${dc.timestamps[i]} ${absoluteBuckets(h, true)}`);
            });
          } else if (c.encoding === ChunkEncoding.FloatHistogram) {
            const dc = decodeFloatHistogramChunk(c.data as Uint8Array);
            dc.histograms.forEach((h, i) => {
              decoded.push(`${dc.timestamps[i]} ${absoluteBuckets(h, false)}`);
            });
          }
        }
        const sent = s.hists
          ? s.hists.map(({ t, h }) => `${t} ${absoluteBuckets(h, true)}`)
          : (s.floatHists ?? []).map(({ t, h }) => `${t} ${absoluteBuckets(h, false)}`);
        // The stale marker comes back as an empty histogram with the stale sum.
        expect(decoded, name).toEqual(
          sent.map((x, i) =>
            isStaleNaN((s.hists ?? s.floatHists ?? [])[i]?.h.sum ?? 0) ? x.replace(/ .*/, ' 0|0|0|0|stale|') : x,
          ),
        );
      }
    } finally {
      await block.close();
    }
  });

  it('dumps like promtool 2.42 (which prints no histogram samples)', async () => {
    const want = await promtool.dump(snapshotDir);
    let got = '';
    await dumpAllSamples(
      snapshotDir,
      (t) => {
        got += t;
      },
      { promtoolVersion: 2 },
    );
    expect(got).toBe(want);
    expect(got).toContain('{__name__="mixed"} 28.5 ');
    let all = '';
    await dumpAllSamples(snapshotDir, (t) => {
      all += t;
    });
    // Prometheus ≥ 2.44's dump: every histogram sample, then the float that closed the series.
    const lines = all.split('\n').filter((l) => l.startsWith('{__name__="hist_counter", kind="int"}'));
    expect(lines.length).toBe(401);
    expect(lines[0]).toMatch(/^\{__name__="hist_counter", kind="int"\} \{count:\d+, sum:[^,]+, .*\} \d+$/);
    expect(lines[400]).toMatch(/ 1 \d+$/);
  });
});
