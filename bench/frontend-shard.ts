/**
 * Query frontend vertical sharding: a heavy 7-day aggregation (step 60s) over promtool-made blocks,
 * measured through the frontend (split by day, no cache)
 *   - one: in front of one thanos-ts querier over the blocks,
 *   - sharded: with --query-frontend.vertical-shards=2 in front of two thanos-ts queriers, each
 *     serving one shard's series (a store that keeps only that shard, as a store honouring
 *     `shard_info` does; the querier itself does not honour it yet), behind one address that
 *     routes each request by its `shard_info`.
 * Every querier evaluates on its own worker threads. Prints medians (ms) and sharded/one.
 * Run: npx tsx bench/frontend-shard.ts [--runs=5] [--series-per-metric=40]
 */
// Imported from source files (not the package index) so the bench runs while the package's
// exports are being wired.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { blocksFromOpenMetrics, removeTempDir } from '@thanos-ts/testing';
import { Labels, openDBReadOnly } from '@thanos-ts/tsdb';
import { request } from 'undici';
import { createQueryFrontend, type QueryFrontend } from '../packages/core/src/frontend/query-frontend.js';
import { matchesShard, parseShardInfo, type QueryShard } from '../packages/core/src/frontend/shard.js';
import { createQuerier, type Querier } from '../packages/core/src/query/querier.js';
import { createLocalStore } from '../packages/core/src/storeapi/local-store.js';
import type { StoreAPI } from '../packages/core/src/storeapi/store-api.js';

const arg = (name: string, dflt: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const RUNS = arg('runs', 5);
const PER_METRIC = arg('series-per-metric', 40);
const DAY = 86_400_000;
const D0 = 1_699_920_000_000;
const QUERIES = [
  'sum by (instance) (rate(gen_counter_0_total[5m]))',
  'histogram_quantile(0.9, sum by (le, instance) (rate(gen_histogram_2_bucket[5m])))',
];

function shardStore(inner: StoreAPI, shard: QueryShard): StoreAPI {
  return {
    info: (s) => inner.info(s),
    labelNames: (r, s) => inner.labelNames(r, s),
    labelValues: (r, s) => inner.labelValues(r, s),
    async *series(req, signal) {
      for await (const r of inner.series(req, signal))
        if (r.type !== 'series' || matchesShard(r.series.labels.toRecord(), shard)) yield r;
    },
  };
}

async function querier(store: StoreAPI): Promise<Querier> {
  const q = createQuerier({ endpoints: [store], httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0 });
  await q.start();
  return q;
}

async function time(base: string, query: string): Promise<number> {
  const p = new URLSearchParams({
    query,
    start: String((D0 + DAY) / 1000),
    end: String((D0 + 8 * DAY) / 1000),
    step: '60',
  });
  const t = performance.now();
  const res = await request(`${base}/api/v1/query_range?${p}`);
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${base}: ${res.statusCode} ${body.slice(0, 200)}`);
  return performance.now() - t;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const blocks = await blocksFromOpenMetrics({
    startMs: D0,
    durationMs: 9 * DAY,
    scrapeIntervalMs: 60_000,
    metrics: 3,
    seriesPerMetric: PER_METRIC,
    maxBlockDuration: '24h',
  });
  const db = await openDBReadOnly({ dir: blocks.dir });
  const store = createLocalStore({ queryable: db.queryable(), externalLabels: Labels.EMPTY });
  const one = await querier(store);
  const shardQueriers = new Map<string, Querier>();
  const router = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const form = new URLSearchParams(new URL(req.url ?? '/', 'http://x').search);
    for (const [k, v] of new URLSearchParams(body)) form.append(k, v);
    const info = form.get('shard_info') ?? '';
    let q = shardQueriers.get(info);
    if (!q) {
      const shard = parseShardInfo(info);
      q = await querier(shard ? shardStore(store, shard) : store);
      shardQueriers.set(info, q);
    }
    const r = await request(`http://${q.httpAddress}${req.url}`, {
      method: (req.method ?? 'GET') as 'GET',
      headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain') },
      ...(req.method === 'GET' ? {} : { body }),
    });
    res.writeHead(r.statusCode, { 'Content-Type': String(r.headers['content-type'] ?? 'text/plain') });
    res.end(Buffer.from(await r.body.arrayBuffer()));
  });
  await new Promise<void>((r) => router.listen(0, '127.0.0.1', r));
  const routerUrl = `http://127.0.0.1:${(router.address() as AddressInfo).port}`;
  const frontends: QueryFrontend[] = [];
  const frontend = async (downstreamUrl: string, verticalShards: number) => {
    const f = createQueryFrontend({ downstreamUrl, verticalShards, httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0 });
    frontends.push(f);
    await f.start();
    return `http://${f.httpAddress}`;
  };
  const viaOne = await frontend(`http://${one.httpAddress}`, 0);
  const viaShards = await frontend(routerUrl, 2);
  console.log(`${blocks.series} series, ${blocks.samples} samples; 7 days at step 60s; medians of ${RUNS} runs (ms)`);
  console.log('| query | one querier | 2 shards, 2 queriers | sharded/one |');
  console.log('| --- | --- | --- | --- |');
  for (const query of QUERIES) {
    await time(viaOne, query);
    await time(viaShards, query); // warm-up: starts the shard queriers
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(await time(viaOne, query));
      b.push(await time(viaShards, query));
    }
    const ma = median(a);
    const mb = median(b);
    console.log(`| \`${query}\` | ${ma.toFixed(1)} | ${mb.toFixed(1)} | ${((100 * mb) / ma).toFixed(0)}% |`);
  }
  for (const f of frontends) await f.close();
  await new Promise<void>((r) => router.close(() => r()));
  for (const q of shardQueriers.values()) await q.close();
  await one.close();
  await db.close();
  await removeTempDir(blocks.dir);
}

await main();
