/**
 * Query frontend vertical sharding: a heavy 7-day aggregation (step 60s) over promtool-made blocks,
 * measured through the frontend (split by day, no cache)
 *   - one: in front of one thanos-ts querier over the blocks,
 *   - sharded: with --query-frontend.vertical-shards=2 in front of two thanos-ts queriers behind a
 *     round-robin load balancer (as a Kubernetes Service spreads a frontend's requests). Each
 *     querier passes the request's `shard_info` to its store, a createLocalStore over the blocks
 *     that keeps only that shard's series before reading their chunks (supportsSharding).
 * Every querier evaluates on its own worker threads. Prints medians (ms): the query sent to the
 * one querier directly (no frontend), through the frontend to it, and sharded; and the sharded
 * time over each of the other two.
 * Run: npx tsx bench/frontend-shard.ts [--runs=5] [--series-per-metric=40]
 */
// Imported from source files (not the package index) so the bench runs while the package's
// exports are being wired.
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { blocksFromOpenMetrics, removeTempDir } from '@thanos-ts/testing';
import { Labels, openBlock } from '@thanos-ts/tsdb';
import { request } from 'undici';
import { createQueryFrontend, type QueryFrontend } from '../packages/core/src/frontend/query-frontend.js';
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
  const dirs = (await readdir(blocks.dir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'wal');
  const opened = await Promise.all(dirs.map((d) => openBlock(join(blocks.dir, d.name))));
  const store = createLocalStore({ blocks: opened, externalLabels: Labels.EMPTY });
  const one = await querier(store);
  const pair = [await querier(store), await querier(store)];
  // A round-robin load balancer in front of the two queriers.
  let next = 0;
  const balancer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const q = pair[next++ % pair.length] as Querier;
    const r = await request(`http://${q.httpAddress}${req.url}`, {
      method: (req.method ?? 'GET') as 'GET',
      headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain') },
      ...(req.method === 'GET' ? {} : { body: Buffer.concat(chunks) }),
    });
    res.writeHead(r.statusCode, { 'Content-Type': String(r.headers['content-type'] ?? 'text/plain') });
    res.end(Buffer.from(await r.body.arrayBuffer()));
  });
  await new Promise<void>((r) => balancer.listen(0, '127.0.0.1', r));
  const balancerUrl = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`;
  const frontends: QueryFrontend[] = [];
  const frontend = async (downstreamUrl: string, verticalShards: number) => {
    const f = createQueryFrontend({ downstreamUrl, verticalShards, httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0 });
    frontends.push(f);
    await f.start();
    return `http://${f.httpAddress}`;
  };
  const viaOne = await frontend(`http://${one.httpAddress}`, 0);
  const viaShards = await frontend(balancerUrl, 2);
  console.log(`${blocks.series} series, ${blocks.samples} samples; 7 days at step 60s; medians of ${RUNS} runs (ms)`);
  console.log(
    '| query | one querier, direct | frontend, one querier | frontend, 2 shards, 2 queriers | sharded/direct | sharded/frontend one |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  const direct = `http://${one.httpAddress}`;
  for (const query of QUERIES) {
    await time(direct, query);
    await time(viaOne, query);
    await time(viaShards, query);
    const d: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      d.push(await time(direct, query));
      a.push(await time(viaOne, query));
      b.push(await time(viaShards, query));
    }
    const md = median(d);
    const ma = median(a);
    const mb = median(b);
    const pct = (x: number, y: number) => `${((100 * x) / y).toFixed(0)}%`;
    console.log(
      `| \`${query}\` | ${md.toFixed(1)} | ${ma.toFixed(1)} | ${mb.toFixed(1)} | ${pct(mb, md)} | ${pct(mb, ma)} |`,
    );
  }
  for (const f of frontends) await f.close();
  await new Promise<void>((r) => balancer.close(() => r()));
  for (const q of pair) await q.close();
  await one.close();
  await removeTempDir(blocks.dir);
}

await main();
