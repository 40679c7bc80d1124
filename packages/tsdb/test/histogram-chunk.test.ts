// Histogram and float histogram chunks: round trips of random and edge-case samples, the
// appender's cutting and recoding rules, corrupt input, and the histogram model's text form and
// validation (Prometheus's own expected strings and error texts).
import { describe, expect, it } from 'vitest';
import { BitWriter } from '../src/chunkenc/bitstream.js';
import { decodeFloatHistogramChunk, FloatHistogramChunk } from '../src/chunkenc/float-histogram.js';
import { decodeHistogramChunk, HistogramChunk } from '../src/chunkenc/histogram.js';
import { HistogramBitReader, putVarbitInt, putVarbitUint } from '../src/chunkenc/histogram-bits.js';
import { CounterResetHeader } from '../src/chunkenc/histogram-meta.js';
import { CorruptionError } from '../src/errors.js';
import {
  CounterResetHint,
  type FloatHistogram,
  formatFloatHistogram,
  formatHistogram,
  type Histogram,
  histogramEquals,
  histogramToFloat,
  validateFloatHistogram,
  validateHistogram,
} from '../src/histogram/index.js';
import { isStaleNaN, STALE_NAN } from '../src/storage/stale.js';

function h(p: Partial<Histogram>): Histogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: [],
    negativeBuckets: [],
    ...p,
  };
}

let seed = 42;
function rnd(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// Appends every sample into one chain of chunks, following cuts and recodes.
function appendAll(samples: { t: number; h: Histogram }[]): HistogramChunk[] {
  const chunks: HistogramChunk[] = [new HistogramChunk()];
  let app = (chunks[0] as HistogramChunk).appender();
  for (const s of samples) {
    const r = app.append(s.t, s.h);
    if (r.chunk) {
      if (r.recoded) chunks[chunks.length - 1] = r.chunk;
      else chunks.push(r.chunk);
    }
    app = r.appender;
  }
  return chunks;
}

describe('histogram chunk round trips', () => {
  it('round-trips random counter histograms with growing layouts', () => {
    const counts = new Map<number, number>();
    const samples: { t: number; h: Histogram }[] = [];
    let t = -5_000;
    let sum = 0;
    for (let i = 0; i < 300; i++) {
      for (let k = 0; k < 5; k++) {
        const idx = Math.floor(rnd() * (5 + i / 10)) - 3;
        counts.set(idx, (counts.get(idx) ?? 0) + 1 + Math.floor(rnd() * 1e6));
        sum += rnd() * 100;
      }
      const idx = [...counts.keys()].sort((a, b) => a - b);
      const spans: { offset: number; length: number }[] = [];
      const buckets: number[] = [];
      let last = 0;
      let prev = 0;
      let total = 0;
      for (const x of idx) {
        if (spans.length > 0 && x === last + 1) (spans[spans.length - 1] as { length: number }).length++;
        else spans.push({ offset: spans.length === 0 ? x : x - last - 1, length: 1 });
        last = x;
        const c = counts.get(x) as number;
        buckets.push(c - prev);
        prev = c;
        total += c;
      }
      t += 1 + Math.floor(rnd() * 100_000);
      samples.push({
        t,
        h: h({
          schema: 3,
          zeroThreshold: 2 ** -128,
          count: total,
          sum,
          positiveSpans: spans,
          positiveBuckets: buckets,
        }),
      });
    }
    const chunks = appendAll(samples);
    expect(chunks.length).toBe(1);
    const d = decodeHistogramChunk((chunks[0] as HistogramChunk).bytes());
    expect(d.timestamps).toEqual(samples.map((s) => s.t));
    // Recoding added (empty) buckets to early samples; the absolute counts are what matter.
    d.histograms.forEach((got, i) => {
      const want = (samples[i] as { h: Histogram }).h;
      expect(formatHistogram(got)).toBe(formatHistogram(want));
      expect(got.count).toBe(want.count);
    });
    expect(histogramEquals(d.histograms[299] as Histogram, (samples[299] as { h: Histogram }).h)).toBe(true);
  });

  it.each([
    { name: 'empty histogram', h: h({}) },
    { name: 'default zero threshold', h: h({ zeroThreshold: 2 ** -128, zeroCount: 3, count: 3 }) },
    { name: 'largest one-byte zero threshold (2^10)', h: h({ zeroThreshold: 1024 }) },
    { name: 'zero threshold 2^11 takes 9 bytes', h: h({ zeroThreshold: 2048 }) },
    { name: 'zero threshold 0.001', h: h({ zeroThreshold: 0.001 }) },
    {
      name: 'big deltas (56- and 64-bit varbits)',
      h: h({
        count: 2 ** 52,
        positiveSpans: [{ offset: -7, length: 2 }],
        positiveBuckets: [2 ** 40, 2 ** 52 - 2 ** 40],
      }),
    },
    {
      name: 'negative side and zero-length span',
      h: h({
        schema: -4,
        count: 9,
        zeroCount: 1,
        zeroThreshold: 0.5,
        negativeSpans: [
          { offset: 2, length: 2 },
          { offset: 3, length: 0 },
          { offset: 1, length: 1 },
        ],
        negativeBuckets: [5, -4, 2],
      }),
    },
    {
      name: 'custom buckets with varbit and raw bounds',
      h: h({
        schema: -53,
        count: 6,
        positiveSpans: [
          { offset: 0, length: 3 },
          { offset: 1, length: 1 },
        ],
        positiveBuckets: [1, 1, -1, 1],
        customValues: [-1.5, 0.001, 2.5, 33554.43, 1e9],
      }),
    },
  ])('round-trips $name', ({ h: sample }) => {
    const c = new HistogramChunk();
    let app = c.appender();
    const ts = [-1000, 0, 15_000, 15_001, 2 ** 40];
    for (const t of ts) app = app.append(t, sample).appender;
    const d = decodeHistogramChunk(app.chunk.bytes());
    expect(d.timestamps).toEqual(ts);
    for (const got of d.histograms) expect(histogramEquals(got, sample)).toBe(true);
    // Float histogram chunks carry the same samples as floats.
    const fc = new FloatHistogramChunk();
    let fapp = fc.appender();
    const fh = histogramToFloat(sample);
    for (const t of ts) fapp = fapp.append(t, fh).appender;
    const fd = decodeFloatHistogramChunk(fapp.chunk.bytes());
    expect(fd.histograms.map(formatFloatHistogram)).toEqual(ts.map(() => formatFloatHistogram(fh)));
  });

  it('keeps a stale marker and only takes stale samples after it', () => {
    const base = h({ count: 2, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [2], sum: 1 });
    const c = new HistogramChunk();
    let r = c.appender().append(1000, base);
    r = r.appender.append(2000, { ...base, sum: STALE_NAN });
    expect(r.chunk).toBeNull();
    r = r.appender.append(3000, base);
    expect(r.chunk).not.toBeNull();
    expect(r.chunk?.counterResetHeader).toBe(CounterResetHeader.Unknown);
    const d = decodeHistogramChunk(c.bytes());
    expect(d.timestamps).toEqual([1000, 2000]);
    expect(isStaleNaN((d.histograms[1] as Histogram).sum)).toBe(true);
  });

  it('continues a chunk read back from bytes', () => {
    const base = h({ count: 1, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1], sum: 1 });
    const c = new HistogramChunk();
    let app = c.appender();
    for (let i = 0; i < 3; i++) app = app.append(i * 10, { ...base, count: i + 1, positiveBuckets: [i + 1] }).appender;
    const reopened = HistogramChunk.fromBytes(app.chunk.bytes());
    reopened.appender().append(30, { ...base, count: 9, positiveBuckets: [9], sum: 2 });
    const d = decodeHistogramChunk(reopened.bytes());
    expect(d.timestamps).toEqual([0, 10, 20, 30]);
    expect(d.histograms.map((x) => x.count)).toEqual([1, 2, 3, 9]);
  });

  it.each([
    -1,
    0,
    1,
    4,
    5,
    32,
    33,
    256,
    257,
    2048,
    2049,
    131072,
    131073,
    16777216,
    16777217,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
  ])('varbit int %d round-trips', (v) => {
    const w = new BitWriter(0);
    putVarbitInt(w, v);
    putVarbitUint(w, Math.abs(v));
    const r = new HistogramBitReader();
    r.reset(w.toBytes(), 0);
    expect(r.readVarbitInt()).toBe(v);
    expect(r.readVarbitUint()).toBe(Math.abs(v));
  });
});

describe('histogram appender rules', () => {
  const base = h({ schema: 1, count: 5, sum: 10, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, 1] });

  it.each([
    {
      name: 'count goes down',
      next: { ...base, count: 4, positiveBuckets: [2, 0] },
      header: CounterResetHeader.CounterReset,
    },
    {
      name: 'a bucket goes down',
      next: { ...base, count: 6, positiveBuckets: [1, 2], sum: 11 },
      header: CounterResetHeader.CounterReset,
    },
    { name: 'schema changes', next: { ...base, schema: 0 }, header: CounterResetHeader.Unknown },
    { name: 'zero threshold changes', next: { ...base, zeroThreshold: 0.25 }, header: CounterResetHeader.Unknown },
    {
      name: 'explicit reset hint',
      next: { ...base, counterResetHint: CounterResetHint.CounterReset },
      header: CounterResetHeader.CounterReset,
    },
    {
      name: 'a used bucket vanishes',
      next: { ...base, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [5] },
      header: CounterResetHeader.CounterReset,
    },
  ])('cuts a new chunk when $name', ({ next, header }) => {
    const c = new HistogramChunk();
    const r1 = c.appender().append(0, base);
    const r2 = r1.appender.append(10, next as Histogram);
    expect(r2.chunk).not.toBeNull();
    expect(r2.recoded).toBe(false);
    expect(r2.chunk?.counterResetHeader).toBe(header);
    expect(() => r1.appender.append(20, next as Histogram, null, true)).toThrow(
      header === CounterResetHeader.CounterReset ? 'histogram counter reset' : 'histogram schema change',
    );
  });

  it('recodes the chunk when buckets appear and fills in empty buckets that vanish', () => {
    const c = new HistogramChunk();
    let r = c.appender().append(0, base);
    const wider = h({
      schema: 1,
      count: 9,
      sum: 12,
      positiveSpans: [{ offset: -1, length: 4 }],
      positiveBuckets: [1, 1, 1, 0],
    });
    r = r.appender.append(10, wider);
    expect(r.recoded).toBe(true);
    const chunk = r.chunk as HistogramChunk;
    expect(() => new HistogramChunk().appender().append(0, base).appender.append(10, wider, null, true)).toThrow(
      'histogram layout change with 2 positive and 0 negative forwards inserts',
    );
    // Bucket 2 holds 3 observations: a sample without it is a counter reset.
    const narrower = h({
      schema: 1,
      count: 9,
      sum: 13,
      positiveSpans: [{ offset: -1, length: 3 }],
      positiveBuckets: [1, 1, 0],
    });
    const r3 = r.appender.append(20, narrower);
    expect(r3.chunk).not.toBeNull();
    // A bucket that only ever had count 0 may vanish: the sample gets it back, same chunk.
    const withEmpty = h({
      schema: 1,
      count: 7,
      sum: 12,
      positiveSpans: [{ offset: -1, length: 5 }],
      positiveBuckets: [1, 1, 0, 0, -2],
    });
    const c2 = new HistogramChunk();
    let a = c2.appender().append(0, withEmpty).appender;
    const later = h({
      schema: 1,
      count: 8,
      sum: 12,
      positiveSpans: [{ offset: -1, length: 4 }],
      positiveBuckets: [2, 0, 0, 0],
    });
    const r4 = a.append(10, later);
    expect(r4.chunk).toBeNull();
    a = r4.appender;
    const d = decodeHistogramChunk(c2.bytes());
    expect(d.histograms[1]?.positiveSpans).toEqual([{ offset: -1, length: 5 }]);
    expect(formatHistogram(d.histograms[1] as Histogram)).toBe(formatHistogram(later));
    expect(decodeHistogramChunk(chunk.bytes()).histograms[0]?.positiveBuckets).toEqual([0, 2, 1, -3]);
  });

  it('sets headers from the previous chunk and decodes hints as Prometheus 3', () => {
    const c1 = new HistogramChunk();
    const a1 = c1.appender().append(0, base).appender;
    const c2 = new HistogramChunk();
    c2.appender().append(10, { ...base, count: 6, positiveBuckets: [3, 0] }, a1);
    expect(c2.counterResetHeader).toBe(CounterResetHeader.NotCounterReset);
    const c3 = new HistogramChunk();
    c3.appender().append(10, { ...base, count: 1, positiveBuckets: [1, -1] }, a1);
    expect(c3.counterResetHeader).toBe(CounterResetHeader.CounterReset);
    let app = c3.appender();
    app = app.append(20, { ...base, count: 2, positiveBuckets: [1, 0] }).appender;
    const it = app.chunk.iterator();
    const hints: number[] = [];
    while (it.next()) hints.push(it.atHistogram().counterResetHint);
    expect(hints).toEqual([CounterResetHint.Unknown, CounterResetHint.NotCounterReset]);
  });

  it('lets gauge histograms lose and gain buckets in one chunk', () => {
    const g = (spans: { offset: number; length: number }[], buckets: number[], count: number): Histogram =>
      h({ counterResetHint: CounterResetHint.Gauge, schema: 0, count, positiveSpans: spans, positiveBuckets: buckets });
    const c = new HistogramChunk();
    let r = c.appender().append(0, g([{ offset: 0, length: 2 }], [4, -1], 7));
    expect(c.counterResetHeader).toBe(CounterResetHeader.Gauge);
    r = r.appender.append(10, g([{ offset: 1, length: 2 }], [1, 1], 3));
    expect(r.recoded).toBe(true);
    const d = decodeHistogramChunk((r.chunk as HistogramChunk).bytes());
    expect(d.histograms.map(formatHistogram)).toEqual([
      '{count:7, sum:0, (0.5,1]:4, (1,2]:3}',
      '{count:3, sum:0, (1,2]:1, (2,4]:2}',
    ]);
    expect(d.histograms.map((x) => x.counterResetHint)).toEqual([CounterResetHint.Gauge, CounterResetHint.Gauge]);
    expect(() => r.appender.append(20, g([{ offset: 5, length: 1 }], [1], 1), null, true)).toThrow(
      'gauge histogram layout change with 1 positive and 0 negative backwards inserts',
    );
  });

  it('applies the same rules to float histograms', () => {
    const f = histogramToFloat(base);
    const c = new FloatHistogramChunk();
    const r1 = c.appender().append(0, f);
    const r2 = r1.appender.append(10, { ...f, count: 4.5, positiveBuckets: [2, 0.5] });
    expect(r2.chunk?.counterResetHeader).toBe(CounterResetHeader.CounterReset);
    const r3 = r1.appender.append(10, { ...f, schema: 2 });
    expect(r3.chunk?.counterResetHeader).toBe(CounterResetHeader.Unknown);
    expect(() => r1.appender.append(10, { ...f, schema: 2 }, null, true)).toThrow('float histogram schema change');
  });
});

describe('corrupt histogram chunks', () => {
  const good = (() => {
    const c = new HistogramChunk();
    let app = c.appender();
    for (let i = 0; i < 10; i++) {
      app = app.append(
        i * 1000,
        h({ count: i, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [i, -i, 0], sum: i * 1.5 }),
      ).appender;
    }
    return app.chunk.bytes();
  })();

  it.each([
    { name: 'no header', bytes: good.subarray(0, 2) },
    { name: 'truncated in the layout', bytes: good.subarray(0, 4) },
    { name: 'truncated mid-chunk', bytes: good.subarray(0, good.length - 6) },
    { name: 'more samples announced than stored', bytes: Uint8Array.from([0, 200, ...good.subarray(2)]) },
    {
      name: 'spans announcing more buckets than bits',
      bytes: Uint8Array.from([0, 1, 0, 0, 0b10001111, 0xf0, 0xff, 0xff, 0]),
    },
  ])('$name gives CorruptionError', ({ bytes }) => {
    expect(() => decodeHistogramChunk(bytes, '000001', 1234)).toThrow(CorruptionError);
    expect(() => decodeFloatHistogramChunk(bytes, '000001', 1234)).toThrow(CorruptionError);
    try {
      decodeHistogramChunk(bytes, '000001', 1234);
    } catch (e) {
      expect((e as CorruptionError).file).toBe('000001');
      expect((e as CorruptionError).offset).toBe(1234);
    }
  });
});

describe('histogram model', () => {
  // Prometheus's model/histogram TestHistogramString cases.
  it.each([
    { h: h({}), want: '{count:0, sum:0}' },
    {
      h: h({
        count: 9,
        // biome-ignore lint/suspicious/noApproximativeNumericConstant: Prometheus's test value.
        sum: -3.1415,
        zeroCount: 12,
        zeroThreshold: 0.001,
        negativeSpans: [
          { offset: 0, length: 5 },
          { offset: 1, length: 1 },
        ],
        negativeBuckets: [1, 2, -2, 1, -1, 0],
      }),
      want: '{count:9, sum:-3.1415, [-64,-32):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, [-1,-0.5):1, [-0.001,0.001]:12}',
    },
    {
      h: h({
        count: 19,
        sum: 2.7,
        positiveSpans: [
          { offset: 0, length: 4 },
          { offset: 0, length: 0 },
          { offset: 0, length: 3 },
        ],
        positiveBuckets: [1, 2, -2, 1, -1, 0, 0],
        negativeSpans: [
          { offset: 0, length: 5 },
          { offset: 1, length: 0 },
          { offset: 0, length: 1 },
        ],
        negativeBuckets: [1, 2, -2, 1, -1, 0],
      }),
      want: '{count:19, sum:2.7, [-64,-32):1, [-16,-8):1, [-8,-4):2, [-4,-2):1, [-2,-1):3, [-1,-0.5):1, (0.5,1]:1, (1,2]:3, (2,4]:1, (4,8]:2, (8,16]:1, (16,32]:1, (32,64]:1}',
    },
    {
      h: h({
        schema: -53,
        count: 19,
        sum: 2.7,
        positiveSpans: [
          { offset: 0, length: 4 },
          { offset: 0, length: 0 },
          { offset: 0, length: 3 },
        ],
        positiveBuckets: [1, 2, -2, 1, -1, 0, 0],
        customValues: [1, 2, 5, 10, 15, 20, 25, 50],
      }),
      want: '{count:19, sum:2.7, [-Inf,1]:1, (1,2]:3, (2,5]:1, (5,10]:2, (10,15]:1, (15,20]:1, (20,25]:1}',
    },
    {
      h: h({
        schema: 3,
        count: 2000000,
        sum: 1e21,
        positiveSpans: [{ offset: 1, length: 1 }],
        positiveBuckets: [2000000],
      }),
      want: '{count:2000000, sum:1e+21, (1,1.0905077326652577]:2000000}',
    },
  ])('formats $want', ({ h: x, want }) => {
    expect(formatHistogram(x)).toBe(want);
  });

  it('formats float histograms with %g counts', () => {
    const f: FloatHistogram = histogramToFloat(
      h({ count: 3, sum: 0.5, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [3] }),
    );
    f.count = 2_500_000.5;
    expect(formatFloatHistogram(f)).toBe('{count:2.5000005e+06, sum:0.5, (0.5,1]:3}');
  });

  it.each([
    {
      h: h({ count: 3, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [1] }),
      want: 'positive side: spans need 2 buckets, have 1 buckets: histogram spans specify different number of buckets than provided',
    },
    {
      h: h({ count: 3, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [2, -3] }),
      want: 'positive side: bucket number 2 has observation count of -1: histogram has a bucket whose observation count is negative',
    },
    {
      h: h({ count: 3, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [2] }),
      want: "2 observations found in buckets, but the Count field is 3: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
    },
    {
      h: h({ schema: 9 }),
      want: 'histogram has an invalid schema, which must be between -4 and 8 for exponential buckets, or -53 for custom buckets, got schema 9',
    },
    {
      h: h({
        schema: -53,
        count: 1,
        positiveSpans: [{ offset: 0, length: 1 }],
        positiveBuckets: [1],
        customValues: [2, 1],
      }),
      want: 'custom buckets: previous bound is 2.000000 and current is 1.000000: histogram custom bounds must be in strictly increasing order',
    },
    { h: h({ count: 2, sum: Number.NaN, zeroCount: 1 }), want: undefined },
  ])('validates: $want', ({ h: x, want }) => {
    expect(validateHistogram(x)?.message).toBe(want);
  });

  it('validates float histograms', () => {
    expect(validateFloatHistogram(histogramToFloat(h({ count: 1, zeroCount: 1 })))).toBeUndefined();
    expect(validateFloatHistogram({ ...histogramToFloat(h({})), count: -1 })?.message).toBe(
      "observation count is  -1: histogram's observation count is negative",
    );
  });
});
