import { createS3Bucket } from '@thanos-ts/objstore';
import { createEngine } from '@thanos-ts/promql';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  type RunningS3,
  startMemcached,
  startPrometheus,
  startRedis,
  startS3rver,
} from '@thanos-ts/testing';
import { Labels, type Matcher, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../block/upload-blocks.js';
import { parseCachingBucketConfig, parseIndexCacheConfig } from '../cache/config.js';
import { NOP_LOGGER } from '../log/logger.js';
import { createQuerier } from '../query/querier.js';
import type { StoreAPI } from '../storeapi/store-api.js';
import { collectSeries } from './collect-series.test-util.js';
import { createStoreGateway, type StoreGateway } from './store-gateway.js';

const START = 1_700_000_000_000;
const HOURS = 3600_000;
const EXT = { cluster: 'eu1' };

// Selectors over the generated families; Prometheus answers `selector[range]` at `end` with the
// raw samples in [end - range, end], which must equal what the gateway streams for that window.
const SELECTORS: Array<{ text: string; matchers: Matcher[] }> = [
  { text: '{__name__=~".+"}', matchers: [matcher('=~', '__name__', '.+')] },
  { text: '{__name__=~"gen_counter.*"}', matchers: [matcher('=~', '__name__', 'gen_counter.*')] },
  {
    text: '{__name__=~".+",instance!~".*1:9100"}',
    matchers: [matcher('=~', '__name__', '.+'), matcher('!~', 'instance', '.*1:9100')],
  },
  {
    text: '{__name__=~"gen_histogram.*",le=""}',
    matchers: [matcher('=~', '__name__', 'gen_histogram.*'), matcher('=', 'le', '')],
  },
  { text: '{__name__=~".+",le!=""}', matchers: [matcher('=~', '__name__', '.+'), matcher('!=', 'le', '')] },
  {
    text: '{__name__=~".+",le=~"0.0.*|\\\\+Inf"}',
    matchers: [matcher('=~', '__name__', '.+'), matcher('=~', 'le', '0.0.*|\\+Inf')],
  },
  { text: '{job="job-1"}', matchers: [matcher('=', 'job', 'job-1')] },
  {
    text: '{__name__="gen_gauge_1",shard=~"1|3|5"}',
    matchers: [matcher('=', '__name__', 'gen_gauge_1'), matcher('=~', 'shard', '1|3|5')],
  },
];
const WINDOWS: Array<[number, number]> = [
  [START, START + 6 * HOURS],
  [START + 1.75 * HOURS, START + 2.25 * HOURS],
  [START + 3 * HOURS + 7000, START + 5 * HOURS - 1],
];

const QUERIES = [
  'gen_counter_0_total',
  'rate(gen_counter_0_total[5m])',
  'sum by (job) (rate({__name__=~"gen_counter_.*_total"}[10m]))',
  'avg_over_time(gen_counter_0_total[15m])',
  'max by (instance) (max_over_time({__name__=~"gen_counter_.*"}[30m]))',
  'count by (__name__) ({job=~"job-[12]"})',
  'increase(gen_counter_3_total[1h]) > 0',
  'sum(gen_histogram_2_count) / sum(gen_histogram_2_sum)',
  'irate(gen_counter_0_total[5m])',
  'resets(gen_counter_3_total[30m])',
  'changes(gen_counter_0_total[15m])',
  'sum without (instance, shard) (gen_counter_3_total offset 30m)',
  'quantile_over_time(0.5, gen_counter_0_total[20m])',
  'max_over_time(rate(gen_counter_0_total[5m])[30m:1m])',
  'label_replace(gen_counter_0_total, "host", "$1", "instance", "(.*):.*")',
  'topk(3, gen_counter_3_total)',
  'count_over_time({__name__=~"gen_gauge_.*"}[10m])',
  'absent(nonexistent_metric)',
  'gen_histogram_2_bucket{le="+Inf"} - on (instance, job, shard) gen_histogram_2_count',
];

async function prometheusRange(prom: RunningPrometheus, expr: string, start: number, end: number, step: number) {
  const url = `${prom.url}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start / 1000}&end=${end / 1000}&step=${step / 1000}`;
  const body = (await (await fetch(url)).json()) as {
    status: string;
    error?: string;
    data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  };
  if (body.status !== 'success') throw new Error(`prometheus: ${body.error} for ${expr}`);
  const out = new Map<string, Array<[number, number]>>();
  for (const r of body.data.result) {
    const labels = Object.entries(r.metric)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
    out.set(
      `{${labels}}`,
      r.values.map(([t, v]) => [Math.round(t * 1000), Number(v)]),
    );
  }
  return out;
}

async function prometheusRaw(prom: RunningPrometheus, selector: string, minTime: number, maxTime: number) {
  const rangeMs = maxTime - minTime;
  const q = `${selector}[${rangeMs}ms]`;
  const url = `${prom.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${maxTime / 1000}`;
  const body = (await (await fetch(url)).json()) as {
    status: string;
    error?: string;
    data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  };
  if (body.status !== 'success') throw new Error(`prometheus: ${body.error} for ${q}`);
  const out = new Map<string, { t: number[]; v: string[] }>();
  for (const r of body.data.result) {
    const labels = Object.entries({ ...r.metric, ...EXT })
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
    out.set(`{${labels}}`, { t: r.values.map(([t]) => Math.round(t * 1000)), v: r.values.map(([, v]) => v) });
  }
  return out;
}

/** Prometheus's float formatting for comparison. */
function promValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

async function compareWithPrometheus(store: StoreAPI, prom: RunningPrometheus) {
  let compared = 0;
  for (const sel of SELECTORS) {
    for (const [minTime, maxTime] of WINDOWS) {
      const want = await prometheusRaw(prom, sel.text, minTime, maxTime);
      const got = await collectSeries(store, { minTime, maxTime, matchers: sel.matchers });
      expect([...got.keys()].sort(), `${sel.text} ${minTime}..${maxTime}`).toEqual([...want.keys()].sort());
      for (const [k, w] of want) {
        const g = got.get(k) as { t: number[]; v: number[] };
        expect(g.t, k).toEqual(w.t);
        expect(
          g.v.map((x) => Number(promValue(x))),
          k,
        ).toEqual(w.v.map(Number));
        compared += w.t.length;
      }
      expect(want.size, `${sel.text} ${minTime}..${maxTime} selects nothing`).toBeGreaterThan(0);
    }
  }
  return compared;
}

describe.skipIf(!programAvailable('promtool') || !programAvailable('prometheus'))(
  'store gateway over S3 vs Prometheus 2.42 on the same blocks',
  () => {
    let gen: GeneratedBlocks;
    let s3: RunningS3;
    let prom: RunningPrometheus;
    const gateways: StoreGateway[] = [];
    const stops: Array<() => Promise<void>> = [];

    const s3Bucket = () =>
      createS3Bucket({
        bucket: s3.bucket,
        endpoint: `127.0.0.1:${s3.port}`,
        insecure: true,
        accessKey: s3.accessKey,
        secretKey: s3.secretKey,
      });

    beforeAll(async () => {
      if (!process.env.NODE_OPTIONS?.includes('--openssl-legacy-provider')) {
        // s3rver's paginated listings need DES from OpenSSL's legacy provider (see objstore's s3 test).
        process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim();
      }
      gen = await blocksFromOpenMetrics({
        metrics: 6,
        seriesPerMetric: 6,
        durationMs: 6 * HOURS,
        startMs: START,
        scrapeIntervalMs: 30_000,
      });
      s3 = await startS3rver();
      stops.push(() => s3.stop());
      await uploadTsdbBlocks(s3Bucket(), gen.dir, { labels: EXT, source: 'test' });
      prom = await startPrometheus({ dataDir: gen.dir });
      stops.push(() => prom.stop());
    }, 90_000);

    afterAll(async () => {
      for (const g of gateways) await g.close();
      for (const s of stops.reverse()) await s();
    });

    it('streams exactly the raw samples Prometheus reads from the same blocks', async () => {
      const g = createStoreGateway({ bucket: s3Bucket(), dataDir: await makeTempDir('e2e-s3-'), logger: NOP_LOGGER });
      gateways.push(g);
      await g.start();
      expect(g.blocks().length).toBeGreaterThanOrEqual(3);
      const compared = await compareWithPrometheus(g, prom);
      expect(compared).toBeGreaterThan(10_000);
    }, 60_000);

    it('answers PromQL through the querier like Prometheus over the same blocks', async () => {
      const g = createStoreGateway({ bucket: s3Bucket(), dataDir: await makeTempDir('e2e-q-'), logger: NOP_LOGGER });
      gateways.push(g);
      await g.start();
      const querier = createQuerier({ endpoints: [g], engine: createEngine() });
      await querier.start();
      try {
        // Start 7s off the 30s scrape grid so no sample sits on a window edge (2.42 closes ranges
        // on the left, Prometheus 3 and our engine do not).
        const start = START + HOURS + 7000;
        const end = START + 5 * HOURS + 7000;
        const step = 120_000;
        let points = 0;
        for (const expr of QUERIES) {
          const want = await prometheusRange(prom, expr, start, end, step);
          const got = await querier.rangeQuery(expr, start, end, step);
          expect(got.result.type, expr).toBe('matrix');
          const gotMap = new Map<string, Array<[number, number]>>();
          if (got.result.type === 'matrix')
            for (const s of got.result.series) {
              const key = s.metric.without(['cluster']).toString();
              gotMap.set(
                key,
                Array.from(s.timestamps, (t, i) => [t, s.values[i] as number]),
              );
            }
          expect([...gotMap.keys()].sort(), expr).toEqual([...want.keys()].sort());
          expect(want.size, `${expr} returns nothing`).toBeGreaterThan(0);
          for (const [k, w] of want) {
            const gs = gotMap.get(k) as Array<[number, number]>;
            expect(
              gs.map(([t]) => t),
              `${expr} ${k}`,
            ).toEqual(w.map(([t]) => t));
            gs.forEach(([, v], i) => {
              const wv = (w[i] as [number, number])[1];
              if (Number.isNaN(wv)) expect(v, `${expr} ${k}`).toBeNaN();
              else
                expect(Math.abs(v - wv), `${expr} ${k} at ${i}: ${v} vs ${wv}`).toBeLessThanOrEqual(
                  1e-9 * Math.max(1, Math.abs(wv)),
                );
            });
            points += w.length;
          }
        }
        expect(points).toBeGreaterThan(1000);

        // Label names, values and series lookups (the gateway's LabelNames/LabelValues/Series
        // with skipChunks) against Prometheus's metadata API over the same blocks.
        const api = async (path: string) => {
          const body = (await (await fetch(`${prom.url}${path}`)).json()) as { status: string; data: unknown };
          expect(body.status).toBe('success');
          return body.data;
        };
        const range = `start=${start / 1000}&end=${end / 1000}`;
        const names = await querier.findLabelNames([], start, end);
        expect(names.names.filter((n) => n !== 'cluster')).toEqual(await api(`/api/v1/labels?${range}`));
        const jobs = await querier.findLabelValues('job', [], start, end);
        expect(jobs.values).toEqual(await api(`/api/v1/label/job/values?${range}`));
        const shards = await querier.findLabelValues(
          'shard',
          [[matcher('=', '__name__', 'gen_counter_3_total')]],
          start,
          end,
        );
        expect(shards.values).toEqual(await api(`/api/v1/label/shard/values?${range}&match[]=gen_counter_3_total`));
        const series = await querier.findSeries(
          [[matcher('=~', '__name__', 'gen_histogram_2_.*'), matcher('=', 'le', '+Inf')]],
          start,
          end,
        );
        const promSeries = (await api(
          `/api/v1/series?${range}&match[]=${encodeURIComponent('{__name__=~"gen_histogram_2_.*",le="+Inf"}')}`,
        )) as Array<Record<string, string>>;
        expect(series.series.map((l) => l.without(['cluster']).toString()).sort()).toEqual(
          promSeries.map((r) => Labels.from(r).toString()).sort(),
        );
        expect(promSeries.length).toBeGreaterThan(0);
      } finally {
        await querier.close();
      }
    }, 90_000);

    it.skipIf(!programAvailable('memcached'))(
      'uses memcached for the index cache and caching bucket; a restarted memcached degrades to misses',
      async () => {
        const mc = await startMemcached();
        stops.push(() => mc.stop());
        const addr = `127.0.0.1:${mc.port}`;
        const indexCache = parseIndexCacheConfig(`type: MEMCACHED\nconfig:\n  addresses: ["${addr}"]\n  timeout: 5s\n`);
        const cachingBucket = parseCachingBucketConfig(
          `type: MEMCACHED\nconfig:\n  addresses: ["${addr}"]\n  timeout: 5s\nchunk_subrange_size: 4000\n`,
        );
        const g = createStoreGateway({
          bucket: s3Bucket(),
          dataDir: await makeTempDir('e2e-mc-'),
          logger: NOP_LOGGER,
          indexCache,
          cachingBucket,
        });
        gateways.push(g);
        await g.start();
        const req = {
          minTime: START,
          maxTime: START + 6 * HOURS,
          matchers: [matcher('=~', '__name__', 'gen_counter.*')],
        };
        const first = await collectSeries(g, req);
        expect(first.size).toBeGreaterThan(0);
        const hitsBefore = indexCache.cache.stats().hits + cachingBucket.cache.stats().hits;
        const rangesBefore = g.requests.getRange;
        const second = await collectSeries(g, req);
        expect(second).toEqual(first);
        expect(indexCache.cache.stats().hits).toBeGreaterThan(0);
        expect(cachingBucket.cache.stats().hits).toBeGreaterThan(0);
        expect(indexCache.cache.stats().hits + cachingBucket.cache.stats().hits).toBeGreaterThan(hitsBefore);
        // Index reads were all answered from memcached the second time.
        expect(g.requests.getRange - rangesBefore).toBeLessThan(rangesBefore);
        await mc.stop();
        const whileDown = await collectSeries(g, req);
        expect(whileDown).toEqual(first);
        expect(indexCache.cache.stats().errors).toBeGreaterThan(0);
        const back = await startMemcached({ port: mc.port });
        stops.push(() => back.stop());
        expect(await collectSeries(g, req)).toEqual(first);
        expect(await compareWithPrometheus(g, prom)).toBeGreaterThan(0);
      },
      60_000,
    );

    it.skipIf(!programAvailable('redis-server'))(
      'uses redis for the index cache; hit counts rise on repeated queries and a restart degrades to misses',
      async () => {
        const redis = await startRedis();
        stops.push(() => redis.stop());
        const indexCache = parseIndexCacheConfig(`type: REDIS\nconfig:\n  addr: "127.0.0.1:${redis.port}"\n`);
        const g = createStoreGateway({
          bucket: s3Bucket(),
          dataDir: await makeTempDir('e2e-redis-'),
          logger: NOP_LOGGER,
          indexCache,
        });
        gateways.push(g);
        await g.start();
        const req = {
          minTime: START,
          maxTime: START + 6 * HOURS,
          matchers: [matcher('=~', '__name__', '.+'), matcher('!=', 'le', '')],
        };
        const first = await collectSeries(g, req);
        expect(first.size).toBeGreaterThan(0);
        const h0 = indexCache.cache.stats().hits;
        await collectSeries(g, req);
        const h1 = indexCache.cache.stats().hits;
        expect(h1).toBeGreaterThan(h0);
        await redis.stop();
        expect(await collectSeries(g, req)).toEqual(first);
        const again = await startRedis({ port: redis.port });
        stops.push(() => again.stop());
        expect(await collectSeries(g, req)).toEqual(first);
      },
      60_000,
    );
  },
);
