// Native histograms fed by scraping, end to end: Prometheus 2.42 with
// --enable-feature=native-histograms scrapes our protobuf test exporter every second and cuts
// one-minute blocks; our sidecar serves it (remote read) and uploads its blocks; our store
// gateway serves the uploaded blocks. Both return the histogram samples Prometheus's own HTTP
// API returns, and PromQL through our querier agrees with Prometheus where 2.42 and 3.x
// semantics coincide (docs/native-histograms.md lists where they do not).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import {
  e2eRequired,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { Matcher, type SeriesSamples } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiBuckets, parseApiHistogram } from '../../tsdb/test/histogram-fixtures.js';
import { createQuerier } from '../src/query/querier.js';
import { createStoreQueryable } from '../src/query/queryable.js';
import { createSidecar, type Sidecar } from '../src/sidecar/sidecar.js';
import { createStoreGateway, type StoreGateway } from '../src/store/store-gateway.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';
import {
  decodeScrape,
  type ExporterSeries,
  type HistogramExporter,
  PROTOBUF_EXPOSITION_TYPE,
  startHistogramExporter,
} from './histogram-scrape-exporter.js';

const SERIES: ExporterSeries[] = [
  {
    // Latencies around 1 ms–0.5 s, a few under the zero threshold.
    name: 'hist_latency_seconds',
    labels: { path: '/api' },
    schema: 3,
    // A bucket boundary (2^-10, index -80 at schema 3), as client_golang's thresholds are: no
    // bucket straddles the zero bucket.
    zeroThreshold: 2 ** -10,
    observe: (r) => Math.exp(r() * 6.5 - 7.5),
    perScrape: 7,
  },
  {
    // Negative and positive values, coarse schema, and a restart (counter reset) at scrape 50.
    name: 'hist_latency_seconds',
    labels: { path: '/upload' },
    schema: 0,
    zeroThreshold: 0.5,
    observe: (r) => (r() - 0.25) * 40,
    perScrape: 4,
    resetAt: 50,
  },
  {
    // Float counts (sample_count_float): Prometheus ingests a float histogram.
    name: 'hist_size_bytes',
    labels: { kind: 'float' },
    schema: 1,
    zeroThreshold: 1,
    observe: (r) => Math.floor(r() ** 3 * 1e6),
    perScrape: 5,
    float: true,
  },
];

type ApiHistogram = Parameters<typeof parseApiHistogram>[0];
interface ApiSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, ApiHistogram][];
}
interface ApiResult {
  status: string;
  error?: string;
  data: { resultType: string; result: ApiSeries[] };
}

const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
// Series identity without the instance (a port) and the external labels (only ours carry them).
const key = (m: Record<string, string>): string =>
  Object.entries(m)
    .filter(([k]) => k !== 'instance' && k !== 'cluster' && k !== 'replica')
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

function meaning(h: FloatHistogram): ReturnType<typeof parseApiHistogram> {
  return { count: h.count, sum: h.sum, buckets: apiBuckets(h) };
}

function relErr(a: number, b: number): number {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), 1e-300);
}

describe('the protobuf test exporter', () => {
  it('serves delimited MetricFamily messages with the fields it was given', async () => {
    const exp = await startHistogramExporter(SERIES);
    try {
      const res = await fetch(`http://${exp.address}/metrics`, { headers: { accept: PROTOBUF_EXPOSITION_TYPE } });
      expect(res.headers.get('content-type')).toBe(PROTOBUF_EXPOSITION_TYPE);
      const fams = decodeScrape(new Uint8Array(await res.arrayBuffer()));
      expect(fams.map((f) => [f.name, f.type])).toEqual([
        ['hist_latency_seconds', 'HISTOGRAM'],
        ['hist_size_bytes', 'HISTOGRAM'],
      ]);
      const metrics = fams[0]?.metric as { histogram: Record<string, unknown> }[];
      const h = metrics[0]?.histogram as { sampleCount: number; positiveDelta: number[]; zeroThreshold: number };
      expect(h.sampleCount).toBe(7);
      expect(h.zeroThreshold).toBe(2 ** -10);
      const fh = ((fams[1]?.metric ?? []) as { histogram: { sampleCountFloat: number } }[])[0]?.histogram;
      expect(fh?.sampleCountFloat).toBe(6.25);
      const text = await fetch(`http://${exp.address}/metrics`, { headers: { accept: 'text/plain' } });
      expect(text.status).toBe(406);
      expect(exp.scrapes).toBe(2);
    } finally {
      await exp.close();
    }
  });
});

const have = programAvailable('prometheus');
if (!have && !e2eRequired()) console.warn('SKIPPING histogram scrape e2e: prometheus not installed');
const d = have || e2eRequired() ? describe : describe.skip;

d('native histograms scraped by Prometheus 2.42, through our sidecar, store gateway and querier', () => {
  let exporter: HistogramExporter;
  let prom: RunningPrometheus;
  let sidecar: Sidecar;
  let gateway: StoreGateway;
  let blocks: { minTime: number; maxTime: number }[] = [];
  // Every comparison looks at data up to `end`, fixed once two blocks exist; scraping goes on.
  let end = 0;

  beforeAll(async () => {
    exporter = await startHistogramExporter(SERIES);
    prom = await startPrometheus({
      config: [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  external_labels:',
        '    cluster: scrape',
        '    replica: a',
        'scrape_configs:',
        '  - job_name: hist',
        '    static_configs:',
        `      - targets: ['${exporter.address}']`,
        '',
      ].join('\n'),
      // One-minute blocks: the head is compacted once it spans 1.5 minutes, so the sidecar has
      // Prometheus's own blocks to upload within the test's time.
      extraArgs: [
        '--enable-feature=native-histograms',
        '--storage.tsdb.min-block-duration=1m',
        '--storage.tsdb.max-block-duration=1m',
      ],
    });
    const bucketDir = await makeTempDir('hist-scrape-bucket-');
    const bucket = createFilesystemBucket({ directory: bucketDir });
    sidecar = createSidecar({
      prometheusUrl: prom.url,
      tsdbPath: prom.dataDir,
      bucket,
      grpcAddress: '127.0.0.1:0',
      httpAddress: '127.0.0.1:0',
      readyTimeoutMs: 30_000,
      shipIntervalMs: 3_600_000,
    });
    await sidecar.start();
    // Blocks cut by Prometheus from scraped data, then uploaded by our shipper: at least two, and
    // together spanning more than the store gateway comparison below needs (61 s). The first block
    // ends at a minute boundary however soon after the first scrape, so two may span only ~60 s.
    const blockDirs = async () => (await readdir(prom.dataDir)).filter((f) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(f));
    const blocksSpan = async (dirs: string[]) => {
      const metas = await Promise.all(
        dirs.map(
          async (d) =>
            JSON.parse(await readFile(join(prom.dataDir, d, 'meta.json'), 'utf8')) as {
              minTime: number;
              maxTime: number;
            },
        ),
      );
      return Math.max(...metas.map((m) => m.maxTime)) - Math.min(...metas.map((m) => m.minTime));
    };
    await waitFor(
      'prometheus to cut blocks spanning over 62 s',
      async () => {
        const dirs = await blockDirs();
        return dirs.length >= 2 && (await blocksSpan(dirs)) > 62_000;
      },
      300_000,
    );
    const uploaded = (await sidecar.sync())?.uploaded ?? [];
    expect(uploaded.length).toBeGreaterThanOrEqual(2);
    gateway = createStoreGateway({ bucket, dataDir: await makeTempDir('hist-scrape-sg-') });
    await gateway.start();
    const info = await gateway.info();
    blocks = [{ minTime: info.minTime, maxTime: info.maxTime }];
    end = Date.now() - 2_000;
  }, 360_000);

  afterAll(async () => {
    await gateway?.close();
    await sidecar?.close();
    await prom?.stop();
    await exporter?.close();
  });

  async function promQuery(path: string, params: Record<string, string>): Promise<ApiResult> {
    const res = await fetch(`${prom.url}${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as ApiResult;
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${JSON.stringify(params)}: ${body.error}`);
    return body;
  }

  // Prometheus's raw samples in [lo, hi] (a range selector evaluated at hi) against the samples
  // our store returns through the querier's read side; returns how many were compared.
  async function compareRawSamples(store: StoreAPI, lo: number, hi: number): Promise<number> {
    const q = createStoreQueryable({
      store,
      dedup: false,
      replicaLabels: [],
      partialResponseStrategy: 'ABORT',
      maxSourceResolution: 0,
      deduplicationFunc: 'penalty',
    });
    const ours = (await q.select([new Matcher('=~', '__name__', 'hist_.*')], ALL)) as SeriesSamples[];
    const range = `${Math.ceil((hi - lo) / 1000)}s`;
    const theirs = await promQuery('/api/v1/query', {
      query: `{__name__=~"hist_.*"}[${range}]`,
      time: String(hi / 1000),
    });
    expect(theirs.data.result.length).toBe(SERIES.length);
    let compared = 0;
    for (const r of theirs.data.result) {
      const mine = ours.find((s) => key(s.labels.toRecord()) === key(r.metric));
      expect(mine, key(r.metric)).toBeDefined();
      expect(mine?.labels.get('cluster')).toBe('scrape');
      const want = (r.histograms ?? []).filter(([t]) => t * 1000 >= lo);
      const ht = mine?.histograms?.timestamps ?? new Float64Array(0);
      const got: [number, FloatHistogram][] = [];
      ht.forEach((t, i) => {
        if (t >= lo && t <= hi) got.push([t, mine?.histograms?.values[i] as FloatHistogram]);
      });
      expect(mine?.timestamps.length, `${key(r.metric)}: no float samples`).toBe(0);
      expect(
        got.map(([t]) => t),
        key(r.metric),
      ).toEqual(want.map(([t]) => Math.round(t * 1000)));
      want.forEach(([t, j], i) => {
        expect(meaning(got[i]?.[1] as FloatHistogram), `${key(r.metric)} @${t}`).toEqual(parseApiHistogram(j));
        compared++;
      });
    }
    return compared;
  }

  it("the sidecar returns the histogram samples Prometheus's API returns", async () => {
    const compared = await compareRawSamples(sidecar, end - 150_000, end);
    // Up to 150 scrapes of each of the three series; a loaded machine delays Prometheus's 1 s
    // scrapes (a full test run saw 94 per series), so the floor only shows the comparison covered
    // many scrapes of each.
    expect(compared).toBeGreaterThan(3 * 50);
  });

  it("the store gateway returns them from Prometheus's uploaded blocks", async () => {
    const [b] = blocks;
    expect(b).toBeDefined();
    const compared = await compareRawSamples(gateway, b?.minTime as number, (b?.maxTime as number) - 1);
    // The first block is only partly filled (scraping started within its minute).
    expect(compared).toBeGreaterThan(3 * 60);
  });

  // [query, series compared (by key), max relative error]. Where 2.42 and 3.x differ, 3.x is
  // ours (docs/native-histograms.md):
  // - rate/increase of integer histograms: 2.42 answers 0, so rates compare on the float series;
  // - histogram_quantile interpolates exponentially inside a native bucket since 3.0 (2.42
  //   linearly), so it compares within one bucket's width: 2^(2^-schema) - 1, 41 % at schema 1
  //   (the float series), 9 % at schema 3.
  const FLOAT = 'hist_size_bytes';
  const QUERIES: [string, (k: string) => boolean, number][] = [
    ['histogram_count(hist_latency_seconds)', () => true, 1e-9],
    ['histogram_sum(hist_latency_seconds)', () => true, 1e-9],
    ['histogram_count({__name__=~"hist_.*"})', () => true, 1e-9],
    ['histogram_sum(hist_size_bytes)', () => true, 1e-9],
    // Bounds on bucket boundaries (2^-3 at schemas 3 and 0): inside a bucket 3.x interpolates
    // exponentially, 2.42 linearly.
    ['histogram_fraction(0, 0.125, hist_latency_seconds)', () => true, 1e-9],
    [`rate(${FLOAT}[30s])`, () => true, 1e-9],
    [`histogram_count(rate(${FLOAT}[30s]))`, () => true, 1e-9],
    [`histogram_sum(rate(${FLOAT}[30s]))`, () => true, 1e-9],
    [`sum(rate(${FLOAT}[30s]))`, () => true, 1e-9],
    [`histogram_quantile(0.9, rate(${FLOAT}[30s]))`, () => true, 0.42],
    // Not compared: histogram_quantile(0.5) of the schema-3 integer series. Since Prometheus 2.46
    // a quantile ≥ 0.5 is counted from the top bucket, so when the rank falls on a boundary with an
    // empty bucket between two populated ones 2.42 answers the edge below it (2^-6.375 against our
    // and Prometheus 3's 2^-6.125); see docs/native-histograms.md.
  ];

  // The first instant ≥ `start` that lies half a scrape interval (1 s) after a scrape of the test
  // exporter: every evaluation at whole seconds from it keeps each window's edges between samples.
  async function offGrid(start: number): Promise<number> {
    const raw = await promQuery('/api/v1/query', { query: `${FLOAT}[10s]`, time: String(end / 1000) });
    const scrapedAt = Math.round(((raw.data.result[0]?.histograms ?? [])[0]?.[0] ?? 0) * 1000);
    expect(scrapedAt, 'a scrape timestamp of the exporter').toBeGreaterThan(0);
    const phase = (((scrapedAt - start) % 1000) + 1000) % 1000;
    return start + phase + 500 - (phase + 500 >= 1000 ? 1000 : 0);
  }

  async function compareQueries(querierUrl: string, start: number, stop: number): Promise<number> {
    let compared = 0;
    // Evaluations half a scrape interval away from every sample (5 s steps from an off-grid start):
    // 2.42's left-closed and 3.x's left-open windows then select the same samples. (Steps not a
    // multiple of the interval drift onto the grid: a sample on a window's left edge is counted by
    // 2.42 only, and `rate` then differs by a sample.)
    const first = await offGrid(start);
    for (const [query, pick, tolerance] of QUERIES) {
      const params = { query, start: String(first / 1000), end: String(stop / 1000), step: '5' };
      const theirs = await promQuery('/api/v1/query_range', params);
      const ours = (await (
        await fetch(`${querierUrl}/api/v1/query_range?${new URLSearchParams(params)}`)
      ).json()) as ApiResult;
      expect(ours.status, `${query}: ${ours.error}`).toBe('success');
      expect(theirs.data.result.length, query).toBeGreaterThan(0);
      expect(
        ours.data.result.map((r) => key(r.metric)).sort(),
        `${query}: ${JSON.stringify(ours).slice(0, 400)}`,
      ).toEqual(theirs.data.result.map((r) => key(r.metric)).sort());
      for (const r of theirs.data.result) {
        const k = key(r.metric);
        if (!pick(k)) continue;
        const m = ours.data.result.find((x) => key(x.metric) === k) as ApiSeries;
        expect(
          (m.values ?? []).map((v) => v[0]),
          `${query} ${k}`,
        ).toEqual((r.values ?? []).map((v) => v[0]));
        (r.values ?? []).forEach(([t, v], i) => {
          const got = m.values?.[i]?.[1];
          expect(
            relErr(Number(v), Number(got)),
            `${query} ${k} @${t}: prometheus ${v}, ours ${got}`,
          ).toBeLessThanOrEqual(tolerance);
          compared++;
        });
        expect(
          (m.histograms ?? []).map((v) => v[0]),
          `${query} ${k}`,
        ).toEqual((r.histograms ?? []).map((v) => v[0]));
        (r.histograms ?? []).forEach(([t, j], i) => {
          const want = parseApiHistogram(j);
          const got = parseApiHistogram((m.histograms ?? [])[i]?.[1] ?? { count: 'NaN', sum: 'NaN' });
          const where = `${query} ${k} @${t}`;
          expect(relErr(want.count, got.count), where).toBeLessThanOrEqual(tolerance);
          expect(relErr(want.sum, got.sum), where).toBeLessThanOrEqual(tolerance);
          expect(
            got.buckets.map((b) => b.slice(0, 3)),
            where,
          ).toEqual(want.buckets.map((b) => b.slice(0, 3)));
          want.buckets.forEach((b, n) => {
            expect(relErr(b[3], got.buckets[n]?.[3] as number), where).toBeLessThanOrEqual(tolerance);
          });
          compared++;
        });
      }
    }
    return compared;
  }

  it('PromQL through our querier over the sidecar agrees with Prometheus 2.42', async () => {
    const querier = createQuerier({
      endpoints: [sidecar.grpcAddress as string],
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      grpcGracePeriodMs: 0,
      evaluationWorkers: 0,
    });
    await querier.start();
    try {
      expect(await compareQueries(`http://${querier.httpAddress}`, end - 120_000, end)).toBeGreaterThan(200);
    } finally {
      await querier.close();
    }
  });

  it('PromQL through our querier over the store gateway agrees with Prometheus 2.42', async () => {
    const querier = createQuerier({
      endpoints: [gateway],
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      grpcGracePeriodMs: 0,
      evaluationWorkers: 0,
    });
    await querier.start();
    try {
      const [b] = blocks;
      // Inside the uploaded blocks, leaving the 30 s rate window and the 5 m lookback inside too.
      const lo = (b?.minTime as number) + 31_000;
      const hi = (b?.maxTime as number) - 1_000;
      expect(hi - lo).toBeGreaterThan(30_000);
      expect(await compareQueries(`http://${querier.httpAddress}`, lo, hi)).toBeGreaterThan(50);
    } finally {
      await querier.close();
    }
  });
});
