// Series decoded in the evaluation worker (encoded chunk bytes, StoreQueryable.selectEncoded)
// answer exactly as series decoded on the event loop: the same querier with and without
// evaluation workers over the same stores, compared as the JSON the HTTP API writes.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { compareLabels, encodeXorChunk, Labels, type Matcher, matcher } from '@thanos-ts/tsdb';
import { cutHistogramChunks, type Histogram } from '@thanos-ts/tsdb/histogram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeEncodedStoreSeries,
  decodeStoreSeries,
  EncodedSetBuilder,
  newDecodeState,
  storeSeriesDecoder,
} from '../src/query/encoded-series.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createStoreQueryable } from '../src/query/queryable.js';
import type {
  AggrChunk,
  Chunk,
  SeriesRequest,
  SeriesResponse,
  StoreAPI,
  StoreInfo,
} from '../src/storeapi/store-api.js';

const MIN = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (120 * MIN));
const END = T0 + 6 * 60 * MIN;

function xor(ts: number[], vs: number[]): Chunk {
  return { type: 'XOR', data: encodeXorChunk(Float64Array.from(ts), Float64Array.from(vs), 0, ts.length) };
}

/** Raw chunks of 120 samples every `stepMs` from `from` to `to`, with `value(i)`; `skip` leaves a gap. */
function rawChunks(from: number, to: number, stepMs: number, value: (i: number) => number, skip?: [number, number]) {
  const out: AggrChunk[] = [];
  let ts: number[] = [];
  let vs: number[] = [];
  const flush = () => {
    if (ts.length === 0) return;
    out.push({ minTime: ts[0] as number, maxTime: ts[ts.length - 1] as number, raw: xor(ts, vs) });
    ts = [];
    vs = [];
  };
  for (let t = from, i = 0; t <= to; t += stepMs, i++) {
    if (skip && t >= skip[0] && t < skip[1]) continue;
    ts.push(t);
    vs.push(value(i));
    if (ts.length === 120) flush();
  }
  flush();
  return out;
}

/** 5m-downsampled aggregate chunks (count, sum, min, max, counter) over [from, to]. */
function aggrChunks(from: number, to: number): AggrChunk[] {
  const out: AggrChunk[] = [];
  for (let start = from; start <= to; start += 120 * 5 * MIN) {
    const ts: number[] = [];
    for (let t = start; t <= Math.min(to, start + 119 * 5 * MIN); t += 5 * MIN) ts.push(t);
    const i = ts.map((t) => (t - from) / (5 * MIN));
    out.push({
      minTime: ts[0] as number,
      maxTime: ts[ts.length - 1] as number,
      count: xor(
        ts,
        i.map(() => 20),
      ),
      sum: xor(
        ts,
        i.map((k) => 20 * (k % 17)),
      ),
      min: xor(
        ts,
        i.map((k) => k % 5),
      ),
      max: xor(
        ts,
        i.map((k) => (k % 17) + 3),
      ),
      // A counter that resets every 50 points.
      counter: xor(
        ts,
        i.map((k) => (k % 50) * 7),
      ),
    });
  }
  return out;
}

function histogramChunks(from: number, to: number): AggrChunk[] {
  const samples: { t: number; h: Histogram }[] = [];
  for (let t = from, i = 0; t <= to; t += MIN, i++) {
    samples.push({
      t,
      h: {
        counterResetHint: 0,
        schema: 1,
        zeroThreshold: 0.001,
        zeroCount: i,
        count: 4 * i,
        sum: 3.5 * i,
        positiveSpans: [{ offset: 0, length: 3 }],
        negativeSpans: [],
        positiveBuckets: [i, 0, i],
        negativeBuckets: [],
      } as Histogram,
    });
  }
  return cutHistogramChunks(samples, 120 * MIN).map((c) => ({
    minTime: c.minTime,
    maxTime: c.maxTime,
    raw: { type: 'HISTOGRAM', data: c.data },
  }));
}

interface FakeSeries {
  labels: Labels;
  chunks: AggrChunk[];
}

/**
 * A fake StoreAPI answering every Series call with the fixed series whose labels (external labels
 * included) match, their chunks filtered to the request's time range, sorted by labels. It does
 * not drop replica labels itself: the querier's proxy does.
 */
function fakeStore(external: Record<string, string>, series: FakeSeries[]): StoreAPI {
  const ext = Labels.from(external);
  return {
    async info(): Promise<StoreInfo> {
      return { labelSets: [ext], minTime: T0 - 60 * MIN, maxTime: END + 60 * MIN, componentType: 'store' };
    },
    async *series(req: SeriesRequest): AsyncIterable<SeriesResponse> {
      const out: FakeSeries[] = [];
      for (const s of series) {
        const all = Labels.from({ ...s.labels.toRecord(), ...external });
        if (!req.matchers.every((m: Matcher) => m.matches(all.get(m.name)))) continue;
        out.push({ labels: all, chunks: s.chunks.filter((c) => c.maxTime >= req.minTime && c.minTime <= req.maxTime) });
      }
      out.sort((a, b) => compareLabels(a.labels, b.labels));
      for (const s of out)
        yield { type: 'series', series: { labels: s.labels, chunks: req.skipChunks ? [] : s.chunks } };
    },
    async labelNames() {
      return { names: [], warnings: [] };
    },
    async labelValues() {
      return { values: [], warnings: [] };
    },
  };
}

const L = (o: Record<string, string>) => Labels.from(o);

/** Replica a and b of the same series, b with a 40-minute gap and its samples 7 s later. */
function replicaSeries(replica: 'a' | 'b'): FakeSeries[] {
  const shift = replica === 'b' ? 7_000 : 0;
  const gap: [number, number] | undefined = replica === 'b' ? [T0 + 90 * MIN, T0 + 130 * MIN] : undefined;
  return [
    {
      labels: L({ __name__: 'http_requests_total', instance: 'i1' }),
      chunks: rawChunks(T0 + shift, END, 15_000, (i) => i * 3 + (i % 7) - (i % 400 === 399 ? 1000 : 0), gap),
    },
    {
      labels: L({ __name__: 'http_requests_total', instance: 'i2' }),
      // A counter reset one replica sees.
      chunks: rawChunks(T0 + shift, END, 15_000, (i) => (replica === 'b' && i > 700 ? i - 700 : i) * 2, gap),
    },
    {
      labels: L({ __name__: 'temperature', instance: 'i1' }),
      chunks: rawChunks(T0 + shift, END, 30_000, (i) => Math.sin(i / 9) * 40, gap),
    },
    { labels: L({ __name__: 'requests_5m', instance: 'i1' }), chunks: aggrChunks(T0, END) },
    { labels: L({ __name__: 'latency', instance: 'i1' }), chunks: histogramChunks(T0 + shift, END) },
  ];
}

const CASES: { name: string; query: string; instant?: boolean }[] = [
  { name: 'raw counter, deduplicated with a gap and a reset', query: 'rate(http_requests_total[5m])' },
  { name: 'raw series as they are', query: 'http_requests_total' },
  { name: 'gauge over time', query: 'max_over_time(temperature[10m])' },
  { name: 'subquery over both selects', query: 'sum(max_over_time(rate({__name__=~"http_.+"}[5m])[1h:1m]))' },
  { name: 'downsampled sum', query: 'sum_over_time(requests_5m[30m])' },
  { name: 'downsampled counter', query: 'rate(requests_5m[30m])' },
  { name: 'downsampled average', query: 'requests_5m' },
  { name: 'native histograms', query: 'histogram_count(rate(latency[5m]))' },
  { name: 'native histogram samples', query: 'latency', instant: true },
  { name: 'identical selects shared', query: 'temperature / temperature offset 0' },
];

describe('series decoded in the evaluation worker', () => {
  const stores = () => [
    { name: 'a', store: fakeStore({ replica: 'a', cluster: 'eu' }, replicaSeries('a')) },
    { name: 'b', store: fakeStore({ replica: 'b', cluster: 'eu' }, replicaSeries('b')) },
  ];
  let pooled: Querier;
  let inline: Querier;
  beforeAll(async () => {
    pooled = createQuerier({ endpoints: stores(), replicaLabels: ['replica'], evaluationWorkers: 1 });
    inline = createQuerier({ endpoints: stores(), replicaLabels: ['replica'], evaluationWorkers: 0 });
    await pooled.start();
    await inline.start();
  });
  afterAll(async () => {
    await pooled?.close();
    await inline?.close();
  });

  it.each(CASES)('$name: same answer, warnings and sample count', async ({ query, instant }) => {
    const run = (q: Querier) =>
      instant
        ? q.instantQuery(query, END - 3 * MIN, { maxSourceResolutionMs: 5 * MIN })
        : q.rangeQuery(query, T0 + 10 * MIN, END, 60_000, { maxSourceResolutionMs: 5 * MIN });
    // The pooled querier really leaves the chunks to its worker.
    expect(storeSeriesDecoder()?.module).toMatch(/encoded-series\.ts$/);
    const [a, b] = await Promise.all([run(pooled), run(inline)]);
    const json = (r: Awaited<ReturnType<typeof run>>) =>
      JSON.stringify({ result: r.result, warnings: r.warnings, samples: r.stats.samplesFetched }, (_k, v) =>
        v instanceof Float64Array ? Array.from(v) : v instanceof Labels ? v.toString() : v,
      );
    const got = json(a);
    expect(got).toBe(json(b));
    // The case says something: it returned data.
    expect(a.stats.samplesFetched).toBeGreaterThan(0);
  });
});

describe('traced queries with encoded series', () => {
  it('record a querier_select span per select, with its series count', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('test');
    const querier = createQuerier({
      endpoints: [{ name: 'a', store: fakeStore({ replica: 'a', cluster: 'eu' }, replicaSeries('a')) }],
      replicaLabels: ['replica'],
      evaluationWorkers: 1,
      tracer,
    });
    try {
      await querier.start();
      await tracer.startActiveSpan('request', async (span) => {
        await querier.rangeQuery('sum(rate(http_requests_total[5m]))', T0 + 10 * MIN, END, 60_000);
        span.end();
      });
      const select = exporter.getFinishedSpans().find((s) => s.name === 'querier_select');
      expect(select?.attributes.series).toBe(2);
      expect(exporter.getFinishedSpans().map((s) => s.name)).toContain('promqlPrepare');
    } finally {
      await querier.close();
      manager.disable();
      context.disable();
    }
  });
});

describe('EncodedSetBuilder', () => {
  it('round-trips every chunk slot and decodes as the event loop does', async () => {
    const series = replicaSeries('a').sort((x, y) => compareLabels(x.labels, y.labels));
    const params = {
      aggregates: ['COUNT', 'SUM'] as const,
      mint: T0,
      maxt: END,
      func: 'penalty' as const,
      counter: false,
    };
    const builder = new EncodedSetBuilder({ ...params, aggregates: [...params.aggregates] }, { module: '', name: '' });
    for (const s of series) builder.add(s.labels, s.chunks);
    const set = builder.finish(undefined);
    expect(set.labels.map(String)).toEqual(series.map((s) => s.labels.toString()));
    const decoded = decodeEncodedStoreSeries(set.labels, set.payload, () => false);
    // The same series through the event loop's select.
    const queryable = createStoreQueryable({
      store: fakeStore({}, series),
      dedup: false,
      replicaLabels: [],
      partialResponseStrategy: 'WARN',
      maxSourceResolution: 5 * MIN,
    });
    const direct = await queryable.select([matcher('=~', '__name__', '.+')], { start: T0, end: END });
    expect(decoded.series.length).toBe(direct.length);
    decoded.series.forEach((s, i) => {
      expect(s.labels.toString()).toBe(direct[i]?.labels.toString());
      expect(Array.from(s.timestamps)).toEqual(Array.from(direct[i]?.timestamps ?? []));
      expect(Array.from(s.values)).toEqual(Array.from(direct[i]?.values ?? []));
      expect(s.histograms?.values.length).toBe(direct[i]?.histograms?.values.length);
    });
    expect(decoded.samples).toBe(queryable.stats.samples);
  });

  it('spreads megabytes of chunks over several segments and decodes each series as the event loop does', () => {
    const params = { aggregates: ['RAW' as const], mint: T0, maxt: END, func: 'penalty' as const, counter: false };
    const builder = new EncodedSetBuilder({ ...params, aggregates: [...params.aggregates] }, { module: '', name: '' });
    const series: FakeSeries[] = [];
    for (let i = 0; i < 400; i++)
      series.push({
        labels: L({ __name__: 'x', i: String(i).padStart(3, '0') }),
        chunks: rawChunks(T0, END, 15_000, (k) => Math.sin(k * (i + 1)) * 1e6),
      });
    for (const s of series) builder.add(s.labels, s.chunks);
    const set = builder.finish(undefined);
    expect((set.payload as { bytes: Uint8Array[] }).bytes.length).toBeGreaterThan(2);
    const decoded = decodeEncodedStoreSeries(set.labels, set.payload, () => false);
    const state = newDecodeState();
    series.forEach((s, i) => {
      const want = decodeStoreSeries(s.labels, s.chunks, params, state).series;
      expect(Array.from(decoded.series[i]?.values ?? [])).toEqual(Array.from(want.values));
      expect(Array.from(decoded.series[i]?.timestamps ?? [])).toEqual(Array.from(want.timestamps));
    });
  });

  it('stops decoding once the query is stopped', () => {
    const builder = new EncodedSetBuilder(
      { aggregates: ['RAW'], mint: T0, maxt: END, func: 'penalty', counter: false },
      { module: '', name: '' },
    );
    for (let i = 0; i < 600; i++)
      builder.add(
        L({ __name__: 'x', i: String(i) }),
        rawChunks(T0, T0 + 10 * MIN, 15_000, (k) => k),
      );
    const set = builder.finish(undefined);
    expect(decodeEncodedStoreSeries(set.labels, set.payload, () => true).series).toEqual([]);
    expect(decodeEncodedStoreSeries(set.labels, set.payload, () => false).series.length).toBe(600);
  });
});
