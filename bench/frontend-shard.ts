/**
 * Query frontend vertical sharding: a heavy 7-day aggregation (step 60s) over promtool-made blocks,
 * measured through the frontend (split by day, no cache)
 *   - one: in front of one thanos-ts querier over the blocks,
 *   - sharded: with --query-frontend.vertical-shards=2 in front of two thanos-ts queriers behind a
 *     round-robin load balancer (as a Kubernetes Service spreads a frontend's requests). Each
 *     querier passes the request's `shard_info` to its store, which keeps only that shard's series
 *     before reading their chunks (supportsSharding).
 * Every querier evaluates on its own worker threads. Prints medians (ms): the query sent to the
 * one querier directly (no frontend), through the frontend to it, and sharded; and the sharded
 * time over each of the other two.
 *
 * By default everything shares the bench's process (the store is a createLocalStore over the
 * opened blocks), so the queriers share one main thread. With --processes the components run as
 * deployed: a `thanos-ts store` over the blocks in a filesystem bucket, and each `thanos-ts query`
 * and `thanos-ts query-frontend` in its own process (the CLI, started from source). Only the load
 * balancers stay in the bench's process; there the one querier sits behind one too, so both paths
 * pay the same hop. --querier-cpus=N (with --processes) gives each querier its own N CPUs, as a
 * CPU limit does a querier pod: on a 2-core machine one unpinned querier already keeps both cores
 * busy, so a second one can only add work; pinned, the comparison is one querier's CPU against two.
 * Run: npx tsx bench/frontend-shard.ts [--runs=5] [--series-per-metric=40] [--processes [--querier-cpus=1]]
 */
// Imported from source files (not the package index) so the bench runs while the package's
// exports are being wired.
import { readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  blocksFromOpenMetrics,
  freePort,
  type ManagedProcess,
  makeTempDir,
  removeTempDir,
  startProcess,
  waitFor,
} from '@thanos-ts/testing';
import { Labels, openBlock } from '@thanos-ts/tsdb';
import { request } from 'undici';
import { cliEntry } from '../packages/cli/test/cli-process.js';
import { createQueryFrontend, type QueryFrontend } from '../packages/core/src/frontend/query-frontend.js';
import { createQuerier, type Querier } from '../packages/core/src/query/querier.js';
import { createLocalStore } from '../packages/core/src/storeapi/local-store.js';
import type { StoreAPI } from '../packages/core/src/storeapi/store-api.js';
import { numberArg } from './args.js';
import { forwardRequest, replyWith } from './forward.js';
import { processCpuMs } from './proc.js';

const RUNS = numberArg('runs', 5);
const PER_METRIC = numberArg('series-per-metric', 40);
const PROCESSES = process.argv.includes('--processes');
const QUERIER_CPUS = numberArg('querier-cpus', 0);
const DAY = 86_400_000;
const D0 = 1_699_920_000_000;
const QUERIES = [
  'sum by (instance) (rate(gen_counter_0_total[5m]))',
  'histogram_quantile(0.9, sum by (le, instance) (rate(gen_histogram_2_bucket[5m])))',
];

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

/** A round-robin load balancer in front of `targets` (as a Kubernetes Service spreads requests). */
async function balancer(targets: readonly string[]): Promise<{ url: string; server: Server }> {
  let next = 0;
  const server = createServer(async (req, res) =>
    replyWith(res, await forwardRequest(req, targets[next++ % targets.length] as string)),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const closeServer = (server: Server) => new Promise<void>((r) => server.close(() => r()));

/** The three URLs the bench times, and how to stop what serves them. */
interface Setup {
  direct: string;
  viaOne: string;
  viaShards: string;
  /** CPU ms each component process has used so far (--processes only; empty otherwise). */
  cpu(): Map<string, number>;
  close(): Promise<void>;
}

/** Queriers, store and frontends inside the bench's process. */
async function inProcess(blocksDir: string): Promise<Setup> {
  const dirs = (await readdir(blocksDir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'wal');
  const opened = await Promise.all(dirs.map((d) => openBlock(join(blocksDir, d.name))));
  const store: StoreAPI = createLocalStore({ blocks: opened, externalLabels: Labels.EMPTY });
  const queriers: Querier[] = [];
  const querier = async () => {
    const q = createQuerier({ endpoints: [store], httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0 });
    queriers.push(q);
    await q.start();
    return `http://${q.httpAddress}`;
  };
  const frontends: QueryFrontend[] = [];
  const frontend = async (downstreamUrl: string, verticalShards: number) => {
    const f = createQueryFrontend({ downstreamUrl, verticalShards, httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0 });
    frontends.push(f);
    await f.start();
    return `http://${f.httpAddress}`;
  };
  const one = await querier();
  const lb = await balancer([await querier(), await querier()]);
  return {
    direct: one,
    viaOne: await frontend(one, 0),
    viaShards: await frontend(lb.url, 2),
    cpu: () => new Map(),
    async close() {
      for (const f of frontends) await f.close();
      await closeServer(lb.server);
      for (const q of queriers) await q.close();
    },
  };
}

/** Every component its own `thanos-ts` process; the balancers in this one. */
async function asProcesses(blocksDir: string): Promise<Setup> {
  const work = await makeTempDir('bench-shard-');
  const procs: ManagedProcess[] = [];
  const names = new Map<ManagedProcess, string>();
  const serve = async (args: string[], wrapper: string[] = [], as = args[0] as string): Promise<string> => {
    const port = await freePort();
    const cli = [process.execPath, ...cliEntry(), ...args, `--http-address=127.0.0.1:${port}`];
    const [command, ...rest] = [...wrapper, ...cli] as [string, ...string[]];
    const proc = startProcess({
      name: `${args[0]}-${port}`,
      command,
      args: rest,
      logDir: work,
      cwd: process.cwd(),
    });
    procs.push(proc);
    names.set(proc, as);
    const url = `http://127.0.0.1:${port}`;
    // waitFor swallows a check's error, so an exit is checked after each poll instead.
    let gone = false;
    await waitFor(
      `${args[0]} on ${url} ready (log ${proc.logFile})`,
      async () => {
        gone = proc.exited();
        return gone || (await fetch(`${url}/-/ready`)).ok;
      },
      120_000,
    );
    if (gone) throw new Error(`${args[0]} exited; see ${proc.logFile}`);
    return url;
  };
  const bucketConfig = join(work, 'bucket.yaml');
  await writeFile(bucketConfig, `type: FILESYSTEM\nconfig:\n  directory: ${blocksDir}\n`);
  const storeGrpc = await freePort();
  await serve([
    'store',
    `--data-dir=${join(work, 'store')}`,
    `--objstore.config-file=${bucketConfig}`,
    `--grpc-address=127.0.0.1:${storeGrpc}`,
  ]);
  // With --querier-cpus=N each querier runs on its own N CPUs (taskset), as a pod with a CPU limit:
  // the one querier on CPUs [0, N), the pair's second on [N, 2N).
  const querier = async (i: number, name: string) => {
    const args = ['query', `--endpoint=127.0.0.1:${storeGrpc}`, `--grpc-address=127.0.0.1:${await freePort()}`];
    if (QUERIER_CPUS === 0) return serve(args, [], name);
    const cpus = Array.from({ length: QUERIER_CPUS }, (_, k) => (i * QUERIER_CPUS + k) % availableParallelism());
    return serve(args, ['taskset', '-c', cpus.join(',')], name);
  };
  const lbOne = await balancer([await querier(0, 'querier (one)')]);
  const lbPair = await balancer([await querier(0, 'querier (pair, 1st)'), await querier(1, 'querier (pair, 2nd)')]);
  const frontend = (downstream: string, shards: number) =>
    serve(
      ['query-frontend', `--query-frontend.downstream-url=${downstream}`, `--query-frontend.vertical-shards=${shards}`],
      [],
      shards > 0 ? 'frontend (sharded)' : 'frontend (one)',
    );
  return {
    direct: lbOne.url,
    viaOne: await frontend(lbOne.url, 0),
    viaShards: await frontend(lbPair.url, 2),
    cpu: () => new Map([...names].map(([p, name]) => [name, processCpuMs(p.pid)])),
    async close() {
      for (const lb of [lbOne, lbPair]) await closeServer(lb.server);
      for (const p of procs.reverse()) await p.stop();
      await removeTempDir(work);
    },
  };
}

async function main(): Promise<void> {
  const blocks = await blocksFromOpenMetrics({
    startMs: D0,
    durationMs: 9 * DAY,
    scrapeIntervalMs: 60_000,
    metrics: 3,
    seriesPerMetric: PER_METRIC,
    maxBlockDuration: '24h',
  });
  const { direct, viaOne, viaShards, cpu, close } = PROCESSES
    ? await asProcesses(blocks.dir)
    : await inProcess(blocks.dir);
  console.log(
    `${blocks.series} series, ${blocks.samples} samples; 7 days at step 60s; ` +
      `${PROCESSES ? 'each component its own process' : 'all in one process'}` +
      `${QUERIER_CPUS > 0 ? `, ${QUERIER_CPUS} CPU(s) per querier` : ''}; medians of ${RUNS} runs (ms)`,
  );
  console.log(
    '| query | one querier, direct | frontend, one querier | frontend, 2 shards, 2 queriers | sharded/direct | sharded/frontend one |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  const cpuLines: string[] = [];
  for (const query of QUERIES) {
    await time(direct, query);
    await time(viaOne, query);
    await time(viaShards, query);
    const d: number[] = [];
    const a: number[] = [];
    const b: number[] = [];
    // CPU per component over each path's runs.
    const used = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
    const timed = async (url: string, into: number[], k: number) => {
      const before = cpu();
      into.push(await time(url, query));
      for (const [name, ms] of cpu()) used[k]?.set(name, (used[k]?.get(name) ?? 0) + ms - (before.get(name) ?? 0));
    };
    for (let i = 0; i < RUNS; i++) {
      await timed(direct, d, 0);
      await timed(viaOne, a, 1);
      await timed(viaShards, b, 2);
    }
    cpuLines.push(
      ...['direct', 'frontend, one querier', 'frontend, 2 shards'].map((path, k) => {
        const parts = [...(used[k] ?? [])]
          .filter(([, ms]) => ms > 0)
          .map(([n, ms]) => `${n} ${(ms / RUNS).toFixed(0)}`);
        return `${query.slice(0, 24)}… ${path}: ${parts.join(', ')}`;
      }),
    );
    const md = median(d);
    const ma = median(a);
    const mb = median(b);
    const pct = (x: number, y: number) => `${((100 * x) / y).toFixed(0)}%`;
    console.log(
      `| \`${query}\` | ${md.toFixed(1)} | ${ma.toFixed(1)} | ${mb.toFixed(1)} | ${pct(mb, md)} | ${pct(mb, ma)} |`,
    );
  }
  if (cpuLines.length > 0 && PROCESSES) {
    console.log('\nCPU ms per query by process (mean over the runs):');
    for (const l of cpuLines) console.log(`- ${l}`);
  }
  await close();
  await removeTempDir(blocks.dir);
}

await main();
