/**
 * Query frontend results cache under a dashboard-refresh workload that cycles through Grafana's
 * time-range presets (issue target: ≥ 80% cache hit ratio).
 *
 * A dashboard of four panels is viewed at each preset in turn (5m … 7d), refreshed every 30 s
 * (`--refreshes` times per preset), and the cycle repeats (`--cycles`). Each panel's step is what
 * Grafana asks for: the range over the panel's max data points (1,000), rounded as Grafana's
 * roundInterval does, never below the 60 s scrape interval. The clock is simulated (the frontend's
 * `now` is the dashboard's), so freshness (`max_freshness`, 1 m) applies as it would live.
 * Downstream is Prometheus 2.42 over 9 days of promtool-made blocks, behind a counting proxy.
 *
 * Prints two ratios: samples (series steps asked for by the dashboard, and the share the frontend
 * answered without asking downstream; in all and per cycle, the first filling the cache), and Thanos's `cortex_cache_hits_total /
 * cortex_cache_fetched_keys_total` (a key found counts as a hit even when part of its range was
 * then fetched). Also checks, for every 50th request, that the answer equals Prometheus's own.
 * Run: npx tsx bench/core/frontend-presets.ts [--cycles=4] [--refreshes=4]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blocksFromOpenMetrics, removeTempDir, startPrometheus } from '@thanos-ts/testing';
import { request } from 'undici';
import { parseResponseCacheConfig } from '../../packages/core/src/frontend/cache-config.js';
import { createQueryFrontend } from '../../packages/core/src/frontend/query-frontend.js';
import { numberArg } from '../args.js';
import { forwardRequest, replyWith } from '../forward.js';

const CYCLES = numberArg('cycles', 4);
const REFRESHES = numberArg('refreshes', 4);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const D0 = 1_699_920_000_000;
const PRESETS: [string, number][] = [
  ['5m', 5 * MIN],
  ['15m', 15 * MIN],
  ['30m', 30 * MIN],
  ['1h', HOUR],
  ['3h', 3 * HOUR],
  ['6h', 6 * HOUR],
  ['12h', 12 * HOUR],
  ['24h', DAY],
  ['2d', 2 * DAY],
  ['7d', 7 * DAY],
];
const PANELS = [
  'sum by (job) (rate(gen_counter_0_total[5m]))',
  'histogram_quantile(0.9, sum by (le, job) (rate(gen_histogram_2_bucket[5m])))',
  'avg by (instance) (gen_gauge_1)',
  'count(gen_counter_0_total)',
];
const MAX_DATA_POINTS = 1000;
const SCRAPE_MS = MIN;

/** Grafana's roundInterval (public/app/core/utils/kbn): the "nice" interval at or above `ms`. */
function roundInterval(ms: number): number {
  const steps: [number, number][] = [
    [1_500, 1_000],
    [3_500, 2_000],
    [7_500, 5_000],
    [12_500, 10_000],
    [17_500, 15_000],
    [25_000, 20_000],
    [45_000, 30_000],
    [90_000, MIN],
    [210_000, 2 * MIN],
    [450_000, 5 * MIN],
    [750_000, 10 * MIN],
    [1_050_000, 15 * MIN],
    [1_500_000, 20 * MIN],
    [2_700_000, 30 * MIN],
    [5_400_000, HOUR],
    [9_000_000, 2 * HOUR],
    [16_200_000, 3 * HOUR],
    [32_400_000, 6 * HOUR],
    [86_400_000, 12 * HOUR],
  ];
  for (const [below, interval] of steps) if (ms < below) return interval;
  return DAY;
}

/** The step Grafana's Prometheus data source sends for a panel over `rangeMs`. */
const grafanaStep = (rangeMs: number) => Math.max(SCRAPE_MS, roundInterval(rangeMs / MAX_DATA_POINTS));

/** Series × steps of a matrix answer (the samples a panel receives). */
function points(body: string): number {
  const data = JSON.parse(body) as { data: { result: { values?: unknown[] }[] } };
  return data.data.result.reduce((n, s) => n + (s.values?.length ?? 0), 0);
}

async function main(): Promise<void> {
  const blocks = await blocksFromOpenMetrics({
    startMs: D0,
    durationMs: 9 * DAY,
    scrapeIntervalMs: SCRAPE_MS,
    metrics: 3,
    seriesPerMetric: 10,
    maxBlockDuration: '24h',
  });
  const prom = await startPrometheus({ dataDir: blocks.dir });
  // Counts what reaches Prometheus: requests and the samples of their answers.
  let downstreamRequests = 0;
  let downstreamPoints = 0;
  const proxy = createServer(async (req, res) => {
    const answer = await forwardRequest(req, prom.url);
    if (req.url?.startsWith('/api/v1/query_range') && answer.status === 200) {
      downstreamRequests++;
      downstreamPoints += points(answer.body.toString());
    }
    replyWith(res, answer);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  let now = D0 + 8 * DAY;
  const cache = parseResponseCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 512MB\n');
  const frontend = createQueryFrontend({
    downstreamUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    httpAddress: '127.0.0.1:0',
    httpGracePeriodMs: 0,
    now: () => now,
    ...(cache?.cache ? { responseCache: { cache: cache.cache, name: cache.name } } : {}),
  });
  await frontend.start();
  const base = `http://${frontend.httpAddress}`;
  let asked = 0;
  let requests = 0;
  let checked = 0;
  const ask = async (query: string, rangeMs: number) => {
    const step = grafanaStep(rangeMs);
    const p = new URLSearchParams({
      query,
      start: String((now - rangeMs) / 1000),
      end: String(now / 1000),
      step: String(step / 1000),
    });
    const res = await request(`${base}/api/v1/query_range?${p}`);
    const body = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${body.slice(0, 200)}`);
    asked += points(body);
    if (requests++ % 50 === 0) {
      // Prometheus aligns nothing; the frontend aligns start and end down to the step.
      const aligned = new URLSearchParams({
        query,
        start: String((Math.floor((now - rangeMs) / step) * step) / 1000),
        end: String((Math.floor(now / step) * step) / 1000),
        step: String(step / 1000),
      });
      const direct = await request(`${prom.url}/api/v1/query_range?${aligned}`);
      const want = JSON.parse(await direct.body.text()) as { data: unknown };
      const got = JSON.parse(body) as { data: unknown };
      if (JSON.stringify(got.data) !== JSON.stringify(want.data))
        throw new Error(`answer differs from Prometheus's for ${query} over ${rangeMs / 1000}s`);
      checked++;
    }
  };
  const started = performance.now();
  // Per cycle: samples answered and fetched downstream (the first cycle fills the cache).
  const perCycle: [number, number][] = [];
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const [asked0, fetched0] = [asked, downstreamPoints];
    for (const [, rangeMs] of PRESETS) {
      for (let r = 0; r < REFRESHES; r++) {
        await Promise.all(PANELS.map((q) => ask(q, rangeMs)));
        now += 30_000;
      }
    }
    perCycle.push([asked - asked0, downstreamPoints - fetched0]);
  }
  const elapsed = performance.now() - started;
  const metrics = await (await request(`${base}/metrics`)).body.text();
  const counter = (name: string) =>
    Number(
      new RegExp(`^${name}\\{[^}]*tripperware="query_range"[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN,
    );
  const hits = counter('cortex_cache_hits_total');
  const fetched = counter('cortex_cache_fetched_keys_total');
  console.log(
    `${CYCLES} cycles × ${PRESETS.length} presets × ${REFRESHES} refreshes × ${PANELS.length} panels = ${requests} range queries in ${(elapsed / 1000).toFixed(1)} s; ${checked} checked against Prometheus`,
  );
  console.log(`steps: ${PRESETS.map(([name, ms]) => `${name} ${grafanaStep(ms) / 1000}s`).join(', ')}`);
  console.log(
    `samples answered: ${asked}; fetched downstream: ${downstreamPoints} in ${downstreamRequests} requests; ` +
      `served from cache: ${((100 * (asked - Math.min(asked, downstreamPoints))) / asked).toFixed(1)}%`,
  );
  const servedPct = ([a, d]: [number, number]) => `${((100 * (a - Math.min(a, d))) / a).toFixed(1)}%`;
  console.log(`served from cache per cycle: ${perCycle.map(servedPct).join(', ')}`);
  console.log(
    `cortex_cache_hits_total / cortex_cache_fetched_keys_total: ${hits} / ${fetched} = ${((100 * hits) / fetched).toFixed(1)}%`,
  );
  await frontend.close();
  await new Promise<void>((r) => proxy.close(() => r()));
  await prom.stop();
  await removeTempDir(blocks.dir);
}

await main();
