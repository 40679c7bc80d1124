// Downsampled native histogram aggregates as the querier reads them (Thanos's chunkSeries.Iterator):
// aggregate chunks made by tsdb's downsampler from raw counter histograms, framed as the store
// gateway serves them, decoded per requested aggregate and checked against windows computed
// straight from the raw histograms.
import { encodeXorChunk, Labels } from '@thanos-ts/tsdb';
import { currentWindow, downsampleRawHistograms } from '@thanos-ts/tsdb/downsample';
import {
  CounterResetHint,
  cutFloatHistogramChunks,
  type FloatHistogram,
  histogramToFloat,
} from '@thanos-ts/tsdb/histogram';
import { describe, expect, it } from 'vitest';
import { counterHistograms } from '../../../tsdb/test/histogram-fixtures.js';
import { toAggrChunk } from '../store/aggr-chunk.js';
import type { Aggr, AggrChunk, Chunk } from '../storeapi/store-api.js';
import { dedupMixedReplicas } from './dedup.js';
import { decodeChainMixed, hasHistogramSlots } from './downsampled-histograms.js';
import {
  decodeEncodedStoreSeries,
  decodeStoreSeries,
  EncodedSetBuilder,
  newDecodeState,
  type SeriesDecodeParams,
} from './encoded-series.js';
import { aggregatesForFunc } from './queryable.js';

const RES = 300_000;
const MIN = 60_000;
// On a 5m boundary plus 30 s, so no raw sample sits on a window edge.
const T0 = 1_700_006_400_000 + 30_000;
const ALL: [number, number] = [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];

interface RawSample {
  t: number;
  fh: FloatHistogram;
}

function raw(n: number, opts: { resetAt?: number; seed?: number; t0?: number } = {}): RawSample[] {
  return counterHistograms(n, opts.t0 ?? T0, { stepMs: MIN, resetAt: opts.resetAt, seed: opts.seed ?? 7 }).map(
    ({ t, h }) => ({ t, fh: histogramToFloat(h) }),
  );
}

/** Aggregate chunks of `samples` as the store gateway sends them for `aggregates`. */
function served(samples: RawSample[], aggregates: readonly Aggr[]): AggrChunk[] {
  return downsampleRawHistograms(samples, RES).map(
    (c) => toAggrChunk(c.minTime, c.maxTime, c.encoding, c.data, aggregates, 'test').chunk,
  );
}

interface Window {
  t: number;
  n: number;
  count: number;
  sum: number;
  counterCount: number;
  counterSum: number;
}

// The oracle: per 5m window, straight from the raw histograms (the last window's timestamp is the
// last sample's, as Thanos caps it at the batch end); the counter folds resets in.
function windows(samples: RawSample[]): Window[] {
  const out = new Map<number, Window>();
  let counterCount = 0;
  let counterSum = 0;
  let prev: FloatHistogram | undefined;
  for (const { t, fh } of samples) {
    if (!prev) [counterCount, counterSum] = [fh.count, fh.sum];
    else if (fh.count < prev.count) [counterCount, counterSum] = [counterCount + fh.count, counterSum + fh.sum];
    else [counterCount, counterSum] = [counterCount + fh.count - prev.count, counterSum + fh.sum - prev.sum];
    prev = fh;
    const w = currentWindow(t, RES);
    const e = out.get(w) ?? { t: w, n: 0, count: 0, sum: 0, counterCount: 0, counterSum: 0 };
    e.n++;
    e.count += fh.count;
    e.sum += fh.sum;
    e.counterCount = counterCount;
    e.counterSum = counterSum;
    out.set(w, e);
  }
  const list = [...out.values()];
  (list[list.length - 1] as Window).t = (samples[samples.length - 1] as RawSample).t;
  return list;
}

const hist = (s: { histograms?: { timestamps: Float64Array; values: readonly FloatHistogram[] } }) => ({
  t: Array.from(s.histograms?.timestamps ?? []),
  h: s.histograms?.values ?? [],
});

describe('downsampled native histogram aggregates, per function', () => {
  // 8h at 1m with a reset after 5h: one aggregate chunk.
  const samples = raw(480, { resetAt: 300 });
  const want = windows(samples);

  it('rate/increase read the counter aggregate: resets folded in, histograms passed through', () => {
    const aggrs = aggregatesForFunc('rate');
    const chunks = served(samples, aggrs);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.counter?.type).toBe('FLOAT_HISTOGRAM');
    expect(chunks[0]?.sum).toBeUndefined();
    const got = hist(decodeChainMixed(chunks, aggrs, ...ALL));
    expect(got.t).toEqual(want.map((w) => w.t));
    expect(got.h.map((h) => h.count)).toEqual(want.map((w) => w.counterCount));
    got.h.forEach((h, i) => {
      expect(h.sum).toBeCloseTo(want[i]?.counterSum as number, 6);
    });
    // Monotonic across the raw reset: PromQL sees no reset inside the chunk.
    for (let i = 1; i < got.h.length; i++)
      expect(got.h[i]?.count).toBeGreaterThanOrEqual(got.h[i - 1]?.count as number);
    expect(got.h[1]?.counterResetHint).toBe(CounterResetHint.NotCounterReset);
  });

  it('sum_over_time reads the window sums (gauge histograms)', () => {
    const aggrs = aggregatesForFunc('sum_over_time');
    const got = hist(decodeChainMixed(served(samples, aggrs), aggrs, ...ALL));
    expect(got.t).toEqual(want.map((w) => w.t));
    expect(got.h.map((h) => h.count)).toEqual(want.map((w) => w.count));
    got.h.forEach((h, i) => {
      expect(h.sum).toBeCloseTo(want[i]?.sum as number, 6);
    });
    expect(got.h.every((h) => h.counterResetHint === CounterResetHint.Gauge)).toBe(true);
  });

  it('any other function reads the average histogram (sum / count), a gauge', () => {
    for (const func of [undefined, 'histogram_count', 'histogram_quantile', 'sum']) {
      const aggrs = aggregatesForFunc(func);
      const got = hist(decodeChainMixed(served(samples, aggrs), aggrs, ...ALL));
      expect(got.t).toEqual(want.map((w) => w.t));
      got.h.forEach((h, i) => {
        const w = want[i] as Window;
        expect(h.count).toBeCloseTo(w.count / w.n, 9);
        expect(h.sum).toBeCloseTo(w.sum / w.n, 6);
        expect(h.counterResetHint).toBe(CounterResetHint.Gauge);
      });
    }
  });

  it('count_over_time reads the window counts, floats: the series takes the float path', () => {
    const aggrs = aggregatesForFunc('count_over_time');
    const chunks = served(samples, aggrs);
    expect(hasHistogramSlots(chunks)).toBe(false);
    const params: SeriesDecodeParams = {
      aggregates: aggrs,
      mint: ALL[0],
      maxt: ALL[1],
      func: 'penalty',
      counter: false,
    };
    const { series } = decodeStoreSeries(Labels.from({ __name__: 'h' }), chunks, params, newDecodeState());
    expect(Array.from(series.timestamps)).toEqual(want.map((w) => w.t));
    expect(Array.from(series.values)).toEqual(want.map((w) => w.n));
    expect(series.histograms).toBeUndefined();
  });

  it.each([
    { name: 'inside', from: T0 + 60 * MIN, to: T0 + 120 * MIN },
    { name: 'before all', from: T0 - 120 * MIN, to: T0 - MIN },
    { name: 'one window end', from: want[3]?.t as number, to: want[3]?.t as number },
  ])('bounds to the requested range ($name)', ({ from, to }) => {
    for (const aggrs of [['COUNTER'], ['SUM'], ['COUNT', 'SUM']] as Aggr[][]) {
      const got = hist(decodeChainMixed(served(samples, aggrs), aggrs, from, to));
      expect(got.t).toEqual(want.map((w) => w.t).filter((t) => t >= from && t <= to));
    }
  });

  it('the store cannot serve min or max of histogram aggregates (Thanos: "aggregate does not exist")', () => {
    const [c] = downsampleRawHistograms(samples, RES);
    expect(() =>
      toAggrChunk(
        c?.minTime as number,
        c?.maxTime as number,
        c?.encoding as number,
        c?.data as Uint8Array,
        ['MIN'],
        'b',
      ),
    ).toThrow(/aggregate MIN does not exist/);
  });
});

describe('chains of several aggregate chunks', () => {
  // 30h at 1m: Thanos's batching cuts three aggregate chunks.
  const samples = raw(1800, { seed: 11 });
  const want = windows(samples);

  it('counter histograms of consecutive chunks pass through unchanged', () => {
    const chunks = served(samples, ['COUNTER']);
    expect(chunks.length).toBe(3);
    const got = hist(decodeChainMixed(chunks, ['COUNTER'], ...ALL));
    // Each chunk's last window is stamped with its batch's last sample (Thanos caps it there).
    const ends = want.map((w) => chunks.find((c) => c.maxTime <= w.t && c.maxTime > w.t - RES)?.maxTime ?? w.t);
    expect(got.t).toEqual(ends);
    // Without a raw reset every counter equals the raw histogram at the window's last sample.
    expect(got.h.map((h) => h.count)).toEqual(want.map((w) => w.counterCount));
    // The first sample of a chunk carries no hint: the engine compares it with the one before.
    const firsts = got.t.map((t, i) => [t, i] as const).filter(([t]) => chunks.some((c) => c.minTime === t));
    expect(firsts.length).toBe(3);
    for (const [, i] of firsts.slice(1)) expect(got.h[i]?.counterResetHint).toBe(CounterResetHint.Unknown);
  });

  it('a raw reset in an earlier chunk is not carried over: the next chunk restarts at the raw value, as in Thanos', () => {
    const reset = raw(1800, { seed: 11, resetAt: 300 });
    const chunks = served(reset, ['COUNTER']);
    const got = hist(decodeChainMixed(chunks, ['COUNTER'], ...ALL));
    const second = got.t.indexOf(chunks[1]?.minTime as number);
    const before = got.h[second - 1] as FloatHistogram;
    const after = got.h[second] as FloatHistogram;
    // The second chunk's first window ends after its first raw sample; its counter is that
    // window's last raw histogram, with no offset for the reset folded into the first chunk.
    const lastRaw = reset.filter((s) => s.t <= (got.t[second] as number)).pop() as RawSample;
    expect(after.count).toBe(lastRaw.fh.count);
    // So the engine sees a drop there and, the hint being unknown, counts it as a reset (Thanos's
    // ApplyCounterResetsSeriesIterator leaves histograms alone: "Counter resets do not need to be
    // handled for non-float sample types").
    expect(after.count).toBeLessThan(before.count);
    expect(after.counterResetHint).toBe(CounterResetHint.Unknown);
  });

  it('a series switching from float aggregates to histogram aggregates: float counter resets applied, then histograms', () => {
    const xor = (ts: number[], vs: number[]): Chunk => ({
      type: 'XOR',
      data: encodeXorChunk(Float64Array.from(ts), Float64Array.from(vs), 0, ts.length),
    });
    // Thanos's float counter aggregate: window values, then the true last raw value at the last
    // timestamp again (here 2: a reset happened before the histogram chunk starts).
    const floats: AggrChunk = {
      minTime: T0 - 3 * RES,
      maxTime: T0 - RES,
      counter: xor([T0 - 3 * RES, T0 - 2 * RES, T0 - RES, T0 - RES], [10, 4, 6, 2]),
    };
    const chunks = [floats, ...served(samples.slice(0, 60), ['COUNTER'])];
    const got = decodeChainMixed(chunks, ['COUNTER'], ...ALL);
    expect(Array.from(got.timestamps)).toEqual([T0 - 3 * RES, T0 - 2 * RES, T0 - RES]);
    expect(Array.from(got.values)).toEqual([10, 14, 16]);
    expect(hist(got).t).toEqual(windows(samples.slice(0, 60)).map((w) => w.t));
  });

  it('raw histogram chunks after downsampled ones are read as they are', () => {
    const first = samples.slice(0, 600);
    const rest = samples.slice(600, 660);
    const rawChunk: AggrChunk = {
      minTime: (rest[0] as RawSample).t,
      maxTime: (rest[rest.length - 1] as RawSample).t,
      raw: { type: 'FLOAT_HISTOGRAM', data: floatHistogramChunk(rest) },
    };
    for (const aggrs of [['COUNTER'], ['SUM'], ['COUNT', 'SUM']] as Aggr[][]) {
      const got = hist(decodeChainMixed([...served(first, aggrs), rawChunk], aggrs, ...ALL));
      expect(got.t.slice(-rest.length)).toEqual(rest.map((s) => s.t));
      expect(got.h.slice(-rest.length).map((h) => h.count)).toEqual(rest.map((s) => s.fh.count));
    }
  });
});

describe('deduplication of downsampled histogram replicas', () => {
  const a = raw(480, { seed: 5 });
  // Replica b lost its first two hours: its aggregate chunk starts later and overlaps a's.
  const b = raw(480, { seed: 5 }).slice(120);

  it.each([{ func: 'penalty' as const }, { func: 'chain' as const }])('$func over the replicas', ({ func }) => {
    const aggrs: Aggr[] = ['COUNTER'];
    const ca = served(a, aggrs);
    const cb = served(b, aggrs);
    const merged = [...ca, ...cb].sort((x, y) => x.minTime - y.minTime);
    const params: SeriesDecodeParams = { aggregates: aggrs, mint: ALL[0], maxt: ALL[1], func, counter: true };
    const { series } = decodeStoreSeries(Labels.from({ __name__: 'h' }), merged, params, newDecodeState());
    const want = dedupMixedReplicas(
      [decodeChainMixed(ca, aggrs, ...ALL), decodeChainMixed(cb, aggrs, ...ALL)],
      func,
      true,
    );
    expect(hist(series).t).toEqual(hist(want).t);
    // Both replicas have every window end from b's start on, so either way every window is there once.
    expect(hist(series).t).toEqual(windows(a).map((w) => w.t));
  });
});

describe('encoded sets (decoded in the evaluation worker)', () => {
  it('decode downsampled histogram series as the event loop does, with no warning', () => {
    const samples = raw(480, { resetAt: 200, seed: 9 });
    for (const func of ['rate', 'sum_over_time', 'histogram_count', 'count_over_time']) {
      const aggrs = aggregatesForFunc(func);
      const params: SeriesDecodeParams = {
        aggregates: aggrs,
        mint: ALL[0],
        maxt: ALL[1],
        func: 'penalty',
        counter: func === 'rate',
      };
      const labels = Labels.from({ __name__: 'h' });
      const chunks = served(samples, aggrs);
      const builder = new EncodedSetBuilder(params, { module: 'unused', name: 'unused' });
      builder.add(labels, chunks);
      const set = builder.finish(undefined);
      const decoded = decodeEncodedStoreSeries(set.labels, set.payload, () => false);
      const state = newDecodeState();
      const direct = decodeStoreSeries(labels, chunks, params, state);
      expect(decoded.warnings).toEqual([]);
      expect(decoded.samples).toBe(direct.samples);
      expect(decoded.samples).toBe(windows(samples).length);
      expect(hist(decoded.series[0] as never)).toEqual(hist(direct.series as never));
      expect(Array.from(decoded.series[0]?.values ?? [])).toEqual(Array.from(direct.series.values));
    }
  });
});

/** Raw samples as one FLOAT_HISTOGRAM chunk. */
function floatHistogramChunk(samples: RawSample[]): Uint8Array {
  const chunks = cutFloatHistogramChunks(
    samples.map(({ t, fh }) => ({ t, h: fh })),
    Number.MAX_SAFE_INTEGER,
  );
  expect(chunks).toHaveLength(1);
  return (chunks[0] as { data: Uint8Array }).data;
}
