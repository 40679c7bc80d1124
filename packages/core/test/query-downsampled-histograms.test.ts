// End to end: a raw native histogram block -> our downsampler (5m) -> a store gateway over a
// filesystem bucket, served over gRPC -> the querier with max_source_resolution=5m (and with
// auto downsampling). Its answers for rate, increase, histogram_count, histogram_sum and
// sum_over_time over the 5m block agree with the same queries over the raw block within the error
// downsampling brings (derived per function below), with HA replicas deduplicated and no
// "left out" warning.
import { uploadBlock } from '@thanos-ts/core/block';
import { createQuerier, type Querier } from '@thanos-ts/core/query';
import { createStoreGateway, type StoreGateway } from '@thanos-ts/core/store';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { Labels, writeBlock } from '@thanos-ts/tsdb';
import { downsampleBlock, RES_LEVEL_1 } from '@thanos-ts/tsdb/downsample';
import { cutHistogramChunks, type Histogram } from '@thanos-ts/tsdb/histogram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterHistograms } from '../../tsdb/test/histogram-fixtures.js';

const MIN = 60_000;
const H = 60 * MIN;
const RES = 300_000;
// A 2h boundary; raw samples sit 30 s past each minute, so none is on a 5m window edge.
const BASE = 1_700_006_400_000;
const N = 12 * 60;
const RESET_AT = 560;
const samples = counterHistograms(N, BASE + 30_000, { stepMs: MIN, resetAt: RESET_AT, seed: 21 });
const RESET_T = (samples[RESET_AT] as { t: number }).t;

// Per-minute increases of the count and sum fields with the reset folded in (a reset counts the
// new value in full, as PromQL's rate and the counter aggregate both do).
function increments(field: 'count' | 'sum'): number[] {
  const out: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = (samples[i - 1] as { h: Histogram }).h[field];
    const b = (samples[i] as { h: Histogram }).h[field];
    out.push(i === RESET_AT ? b : b - a);
  }
  return out;
}

interface Series {
  metric: string;
  t: number[];
  v: number[];
}

function matrix(r: Awaited<ReturnType<Querier['rangeQuery']>>): Series[] {
  if (r.result.type !== 'matrix') throw new Error(`want a matrix, got ${r.result.type}`);
  return r.result.series.map((s) => ({
    metric: s.metric.toString(),
    t: Array.from(s.timestamps),
    v: Array.from(s.values),
  }));
}

describe('querier over downsampled native histograms (store gateway, 5m block)', () => {
  let gateway: StoreGateway;
  let querier: Querier;
  let auto: Querier;

  beforeAll(async () => {
    const work = await makeTempDir('ds-hist-q-');
    const bucket = createFilesystemBucket({ directory: await makeTempDir('ds-hist-bkt-') });
    // Two HA replicas with the same samples: blocks with their own ULIDs, told apart by `replica`.
    for (const replica of ['a', 'b']) {
      const labels = { cluster: 'eu', replica };
      const raw = await writeBlock(
        [
          {
            labels: Labels.from({ __name__: 'lat_seconds', job: 'api' }),
            timestamps: [],
            values: [],
            histogramChunks: cutHistogramChunks(samples, 2 * H),
          },
        ],
        { outDir: work, thanos: { labels, downsample: { resolution: 0 }, source: 'test' } },
      );
      const five = await downsampleBlock({ blockDir: raw?.dir as string, outDir: work, resolution: RES_LEVEL_1 });
      await uploadBlock(bucket, raw?.dir as string, { labels, source: 'test' });
      await uploadBlock(bucket, five?.dir as string, { labels, source: 'compactor' });
    }
    gateway = createStoreGateway({ bucket, dataDir: await makeTempDir('ds-hist-sg-'), grpcAddress: '127.0.0.1:0' });
    await gateway.start();
    const endpoints = [gateway.grpcAddress as string];
    querier = createQuerier({
      endpoints,
      replicaLabels: ['replica'],
      evaluationWorkers: 0,
      httpAddress: '127.0.0.1:0',
    });
    // Decodes in an evaluation worker (the encoded-series path).
    auto = createQuerier({ endpoints, replicaLabels: ['replica'], autoDownsampling: true, evaluationWorkers: 1 });
    await querier.start();
    await auto.start();
  }, 120_000);

  afterAll(async () => {
    await auto?.close();
    await querier?.close();
    await gateway?.close();
  });

  const START = BASE + H;
  const END = BASE + 12 * H;
  const STEP = 30 * MIN;
  const run = async (q: string, maxSourceResolutionMs: number) => {
    const r = await querier.rangeQuery(q, START, END, STEP, { maxSourceResolutionMs });
    // Raw [1h] windows that hold the raw reset mix a CounterReset hint with NotCounterReset ones,
    // which Prometheus's sum_over_time warns about; window sums are gauges and never do.
    expect(
      r.warnings.filter((w) => !(maxSourceResolutionMs === 0 && w.includes('conflicting counter resets'))),
    ).toEqual([]);
    const got = matrix(r);
    expect(got).toHaveLength(1);
    return got[0] as Series;
  };

  it('serves the 5m block: count_over_time counts windows there (as Thanos), raw samples in the raw block', async () => {
    expect(
      gateway
        .blocks()
        .map((b) => b.resolution)
        .sort(),
    ).toEqual([0, 0, RES, RES]);
    const raw = await run('count_over_time(lat_seconds[1h])', 0);
    const down = await run('count_over_time(lat_seconds[1h])', RES);
    expect(new Set(raw.v)).toEqual(new Set([60]));
    expect(new Set(down.v)).toEqual(new Set([12]));
  });

  // sum_over_time reads the window sums; with every window inside the [1h] range, the same raw
  // histograms are added up either way, so the answers are equal.
  it.each([
    { q: 'histogram_count(sum_over_time(lat_seconds[1h]))' },
    { q: 'histogram_sum(sum_over_time(lat_seconds[1h]))' },
  ])('$q: equal to raw', async ({ q }) => {
    const raw = await run(q, 0);
    const down = await run(q, RES);
    expect(down.t).toEqual(raw.t);
    down.v.forEach((v, i) => {
      expect(v).toBeCloseTo(raw.v[i] as number, 6);
    });
  });

  // rate/increase read the counter aggregate: the raw counter's value at each window's last
  // sample, stamped at the window end. Over a range R ending on a 5m boundary, raw increase
  // extrapolates the samples from R's start + 30 s; the 5m one from the first window end, up
  // to 5m later. Both extrapolate their slope to the whole range, so they differ by the slope
  // difference between the first (up to 5) minutes and the rest, scaled by R over the sampled
  // span: |Δincrease| ≤ 5 · R/(R − 5m) · (largest − smallest per-minute increase). Rate divides
  // that by R in seconds.
  it.each([
    { q: 'histogram_count(increase(lat_seconds[1h]))', field: 'count' as const, perSecond: false },
    { q: 'histogram_sum(increase(lat_seconds[1h]))', field: 'sum' as const, perSecond: false },
    { q: 'histogram_count(rate(lat_seconds[30m]))', field: 'count' as const, perSecond: true },
    { q: 'histogram_sum(rate(lat_seconds[1h]))', field: 'sum' as const, perSecond: true },
  ])('$q: within the extrapolation error of raw', async ({ q, field, perSecond }) => {
    const range = q.includes('[30m]') ? 30 * MIN : H;
    const inc = increments(field);
    const spread = Math.max(...inc) - Math.min(...inc);
    let tol = ((5 * range) / (range - 5 * MIN)) * spread;
    if (perSecond) tol /= range / 1000;
    const raw = await run(q, 0);
    const down = await run(q, RES);
    expect(down.t).toEqual(raw.t);
    // Seen: the worst difference is under a third of the bound.
    down.v.forEach((v, i) => {
      expect(Math.abs(v - (raw.v[i] as number))).toBeLessThanOrEqual(tol);
    });
    // The case says something: answers are not all alike, and the error is small against them.
    expect(Math.max(...raw.v)).toBeGreaterThan(3 * tol);
  });

  // Any other function reads the average of the window's histograms (sum / count). At a step on
  // a 5m boundary the raw query sees the last sample (30 s before) and the 5m one the mean of
  // the window's five samples, 0–4 minutes older: for a counter that is (4+3+2+1)/5 = 2 minutes'
  // increase below it, so |Δ| ≤ 2 · (largest per-minute change). Steps whose window holds the
  // counter reset average values from both sides of it and are left out.
  it.each([
    { q: 'histogram_count(lat_seconds)', field: 'count' as const },
    { q: 'histogram_sum(lat_seconds)', field: 'sum' as const },
  ])('$q: within two minutes of increase of raw', async ({ q, field }) => {
    const inc = increments(field);
    const tol = 2 * Math.max(...inc.map(Math.abs));
    const raw = await run(q, 0);
    const down = await run(q, RES);
    expect(down.t).toEqual(raw.t);
    let compared = 0;
    down.v.forEach((v, i) => {
      const t = down.t[i] as number;
      if (RESET_T > t - RES && RESET_T <= t) return;
      compared++;
      expect(Math.abs(v - (raw.v[i] as number))).toBeLessThanOrEqual(tol);
    });
    expect(compared).toBeGreaterThan(15);
    expect(Math.max(...raw.v)).toBeGreaterThan(10 * tol);
  });

  it('auto downsampling (step/5 = 12m) reads the 5m block and answers as max_source_resolution=5m', async () => {
    for (const q of [
      'histogram_count(rate(lat_seconds[1h]))',
      'histogram_sum(sum_over_time(lat_seconds[1h]))',
      'histogram_count(lat_seconds)',
      'count_over_time(lat_seconds[1h])',
    ]) {
      const got = await auto.rangeQuery(q, START, END, H);
      const want = await querier.rangeQuery(q, START, END, H, { maxSourceResolutionMs: RES });
      expect(got.warnings).toEqual([]);
      expect(matrix(got)).toEqual(matrix(want));
    }
  });

  it('the HTTP API with max_source_resolution=5m answers as the library call, without warnings', async () => {
    const q = 'histogram_sum(rate(lat_seconds[1h]))';
    const form = new URLSearchParams({
      query: q,
      start: String(START / 1000),
      end: String(END / 1000),
      step: String(STEP / 1000),
      max_source_resolution: '5m',
    });
    const res = await fetch(`http://${querier.httpAddress}/api/v1/query_range`, { method: 'POST', body: form });
    const body = (await res.json()) as {
      status: string;
      warnings?: string[];
      data: { result: { values: [number, string][] }[] };
    };
    expect(body.status).toBe('success');
    expect(body.warnings ?? []).toEqual([]);
    const want = await run(q, RES);
    expect(body.data.result).toHaveLength(1);
    expect(body.data.result[0]?.values.map(([t, v]) => [t * 1000, Number(v)])).toEqual(
      want.t.map((t, i) => [t, want.v[i]]),
    );
  });

  it('without deduplication both replicas answer alike', async () => {
    const r = await querier.rangeQuery('histogram_count(rate(lat_seconds[1h]))', START, END, STEP, {
      maxSourceResolutionMs: RES,
      dedup: false,
    });
    const [a, b] = matrix(r);
    expect(a?.metric).toMatch(/replica="a"/);
    expect(b?.metric).toMatch(/replica="b"/);
    expect(b?.v).toEqual(a?.v);
  });

  it('min_over_time: the store has no min of histogram aggregates and says so, as Thanos does', async () => {
    const r = querier.rangeQuery('min_over_time(lat_seconds[1h])', START, END, STEP, {
      maxSourceResolutionMs: RES,
      partialResponse: false,
    });
    await expect(r).rejects.toThrow(/aggregate MIN does not exist/);
  });
});
