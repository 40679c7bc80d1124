/**
 * Query frontend results cache: a 7-day dashboard range query (step 60s, 10,080 points per series)
 * against a real Prometheus 2.42 serving promtool-made blocks, measured
 *   - direct: Prometheus's /api/v1/query_range itself,
 *   - uncached: through the frontend without a cache (split into 8 day pieces, run in parallel),
 *   - cold: through a frontend with an empty IN-MEMORY (or memcached) cache (a fresh one per run),
 *   - warm: the same query repeated on a frontend whose cache holds it.
 * Prints medians (ms) and warm/cold and uncached/direct ratios.
 * Run: npx tsx bench/core/frontend-cache.ts [--runs=9] [--series-per-metric=10] [--memcached]
 */
// Imported from source files (not the package index) so the bench runs while the package's
// exports are being wired.
import {
  blocksFromOpenMetrics,
  type RunningService,
  removeTempDir,
  startMemcached,
  startPrometheus,
} from '@thanos-ts/testing';
import { request } from 'undici';
import { parseResponseCacheConfig } from '../../packages/core/src/frontend/cache-config.js';
import { createQueryFrontend, type QueryFrontend } from '../../packages/core/src/frontend/query-frontend.js';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const RUNS = arg('runs', 9);
const PER_METRIC = arg('series-per-metric', 10);
const MEMCACHED = process.argv.includes('--memcached');
const DAY = 86_400_000;
const D0 = 1_699_920_000_000;
const QUERIES = [
  'sum by (job) (rate(gen_counter_0_total[5m]))',
  'histogram_quantile(0.9, sum by (le, job) (rate(gen_histogram_2_bucket[5m])))',
  'avg_over_time(gen_gauge_1[10m])',
];

function params(query: string): string {
  return new URLSearchParams({
    query,
    start: String((D0 + DAY) / 1000),
    end: String((D0 + 8 * DAY) / 1000),
    step: '60',
  }).toString();
}

async function time(base: string, query: string): Promise<number> {
  const t = performance.now();
  const res = await request(`${base}/api/v1/query_range?${params(query)}`);
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${base}: ${res.statusCode} ${body.slice(0, 200)}`);
  return performance.now() - t;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function main(): Promise<void> {
  console.log(`generating 9 days of data (${PER_METRIC} series per metric, 60s scrapes) with promtool…`);
  const blocks = await blocksFromOpenMetrics({
    startMs: D0,
    durationMs: 9 * DAY,
    scrapeIntervalMs: 60_000,
    metrics: 6,
    seriesPerMetric: PER_METRIC,
    maxBlockDuration: '24h',
  });
  console.log(`${blocks.series} series, ${blocks.samples} samples`);
  const prom = await startPrometheus({ dataDir: blocks.dir });
  let memcached: RunningService | undefined;
  if (MEMCACHED) memcached = await startMemcached();
  const frontends: QueryFrontend[] = [];
  const make = async (cached: boolean): Promise<string> => {
    const yaml = memcached
      ? `type: MEMCACHED\nconfig:\n  addresses: ["127.0.0.1:${memcached.port}"]\n  max_item_size: 32MB\n`
      : 'type: IN-MEMORY\nconfig:\n  max_size: 512MB\n';
    const parsed = cached ? parseResponseCacheConfig(yaml) : undefined;
    const f = createQueryFrontend({
      downstreamUrl: prom.url,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      ...(parsed?.cache ? { responseCache: { cache: parsed.cache, name: parsed.name } } : {}),
    });
    frontends.push(f);
    await f.start();
    return `http://${f.httpAddress}`;
  };
  try {
    const uncached = await make(false);
    const warmFrontend = await make(true);
    console.log(`backend: ${MEMCACHED ? 'MEMCACHED' : 'IN-MEMORY'}; ${RUNS} runs per figure; 7-day range, step 60s`);
    console.log('query | direct ms | uncached ms | cold ms | warm ms | warm/cold | uncached/direct');
    for (const q of QUERIES) {
      // One unmeasured round so Prometheus's page cache and the connections are warm for everyone.
      await time(prom.url, q);
      await time(uncached, q);
      const direct: number[] = [];
      const through: number[] = [];
      const cold: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        direct.push(await time(prom.url, q));
        through.push(await time(uncached, q));
        // A cold run: a query text the cache has never seen (a no-op suffix changes the key).
        cold.push(await time(warmFrontend, `${q} + 0 * ${i}`));
      }
      await time(warmFrontend, q);
      // memcached stores are asynchronous: let them land before measuring hits.
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < RUNS; i++) warm.push(await time(warmFrontend, q));
      const [d, u, c, w] = [median(direct), median(through), median(cold), median(warm)];
      console.log(
        `${q} | ${d.toFixed(1)} | ${u.toFixed(1)} | ${c.toFixed(1)} | ${w.toFixed(1)} | ${((100 * w) / c).toFixed(1)}% | ${((100 * u) / d).toFixed(0)}%`,
      );
    }
  } finally {
    for (const f of frontends) await f.close();
    await memcached?.stop();
    await prom.stop();
    await removeTempDir(blocks.dir);
  }
}

await main();
