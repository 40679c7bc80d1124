/**
 * Cost of tracing (issue 22 target: the heavy-query set no more than 5% slower with every query
 * sampled). Two identical stacks over the store benchmark's blocks (bench/core/store-data.ts):
 * a store gateway serving gRPC and a querier dialling it, queried over HTTP (/api/v1/query_range,
 * so the request span, PromQL, select, store-call and bucket spans all happen). One stack has no
 * tracer (the no-op default); the other samples every trace (OTLP/HTTP, ratio 1.0) into a local
 * sink that reads and acknowledges each export. Queries alternate between the stacks; medians.
 *
 *   npx tsx bench/tracing.ts [--series=20000] [--blocks=4] [--runs=7]
 */
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQuerier, createStoreGateway, NOP_LOGGER, type Querier, type StoreGateway } from '@thanos-ts/core';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { createEngine } from '@thanos-ts/promql';
import { makeTempDir } from '@thanos-ts/testing';
import { createTracing, type Tracing } from '../packages/core/src/tracing/index.js';
import { numberArg } from './args.js';
import { BLOCK_MS, ensureBenchData, T0 } from './core/store-data.js';

const SERIES = numberArg('series', 20_000);
const BLOCKS = numberArg('blocks', 4);
const RUNS = numberArg('runs', 7);

// The store benchmark's heavy-query set (bench/core/store.ts).
const QUERIES = [
  'sum(rate(bench_metric_7[5m]))',
  'sum by (job) (rate({__name__=~"bench_metric_1[0-9]"}[10m]))',
  'max by (instance) (bench_metric_42)',
  'count({job="job-3"})',
  'avg_over_time(bench_metric_99{instance=~"host-1.*"}[30m])',
  'topk(5, rate(bench_metric_3[10m]))',
  'sum by (instance) (increase(bench_metric_150[1h]))',
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

// The sink: what a collector costs the exporter (a POST read and answered), nothing more.
let exports = 0;
let exportedBytes = 0;
const sink = createServer(async (req, res) => {
  for await (const c of req) exportedBytes += (c as Buffer).length;
  exports++;
  res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
});
sink.listen(0, '127.0.0.1');
await once(sink, 'listening');
const sinkAddr = `127.0.0.1:${(sink.address() as AddressInfo).port}`;

const config = (service: string) => `type: OTLP
config:
  client_type: http
  service_name: ${service}
  endpoint: ${sinkAddr}
  insecure: true
  sampler_type: traceidratiobased
  sampler_param: 1.0
`;

const dataDirs: string[] = [];

interface Stack {
  gateway: StoreGateway;
  querier: Querier;
  tracing: Tracing[];
}

async function stack(bucketDir: string, traced: boolean): Promise<Stack> {
  const tracing = traced ? [createTracing(config('store')), createTracing(config('querier'))] : [];
  const dataDir = await makeTempDir('bench-tracing-');
  dataDirs.push(dataDir);
  const gateway = createStoreGateway({
    bucket: createFilesystemBucket({ directory: bucketDir }),
    dataDir,
    logger: NOP_LOGGER,
    grpcAddress: '127.0.0.1:0',
    grpcGracePeriodMs: 0,
    ...(traced ? { tracer: (tracing[0] as Tracing).tracer } : {}),
  });
  await gateway.start();
  const querier = createQuerier({
    endpoints: [gateway.grpcAddress as string],
    httpAddress: '127.0.0.1:0',
    httpGracePeriodMs: 0,
    evaluationWorkers: 0,
    engine: createEngine({ maxSamples: 500_000_000 }),
    ...(traced ? { tracer: (tracing[1] as Tracing).tracer } : {}),
  });
  await querier.start();
  return { gateway, querier, tracing };
}

const { bucketDir } = await ensureBenchData(SERIES, BLOCKS);
const start = (T0 + 3600_000 + 7000) / 1000;
const end = (T0 + BLOCKS * BLOCK_MS - 7000) / 1000;
const off = await stack(bucketDir, false);
const on = await stack(bucketDir, true);

// CPU time of this process (both stacks and the sink live here), ms: on a shared machine it
// is steadier than wall time, and it counts the span and export work wherever it runs.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function run(s: Stack, expr: string): Promise<{ wall: number; cpu: number }> {
  const url = `http://${s.querier.httpAddress}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${start}&end=${end}&step=300`;
  const t0 = performance.now();
  const c0 = cpuMs();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${expr}: HTTP ${res.status}`);
  return { wall: performance.now() - t0, cpu: cpuMs() - c0 };
}

console.log(`tracing cost: ${SERIES} series × ${BLOCKS} blocks, ${RUNS} runs per query, off/on alternating`);
console.log('| query | off p50 ms | on p50 ms | on / off | off CPU ms | on CPU ms | CPU on / off |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const ratios: number[] = [];
const cpuRatios: number[] = [];
const totals = { off: 0, on: 0, offCpu: 0, onCpu: 0 };
for (const expr of QUERIES) {
  await run(off, expr); // warm: index-headers, caches, JIT
  await run(on, expr);
  const a: { wall: number; cpu: number }[] = [];
  const b: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate which stack goes first, so drift and GC fall on both.
    if (i % 2 === 0) {
      a.push(await run(off, expr));
      b.push(await run(on, expr));
    } else {
      b.push(await run(on, expr));
      a.push(await run(off, expr));
    }
  }
  const [aw, bw] = [median(a.map((x) => x.wall)), median(b.map((x) => x.wall))];
  const [ac, bc] = [median(a.map((x) => x.cpu)), median(b.map((x) => x.cpu))];
  ratios.push(bw / aw);
  cpuRatios.push(bc / ac);
  totals.off += aw;
  totals.on += bw;
  totals.offCpu += ac;
  totals.onCpu += bc;
  console.log(
    `| \`${expr}\` | ${aw.toFixed(1)} | ${bw.toFixed(1)} | ${(bw / aw).toFixed(3)} | ${ac.toFixed(1)} | ${bc.toFixed(1)} | ${(bc / ac).toFixed(3)} |`,
  );
}
for (const t of on.tracing) await t.shutdown();
const pct = (x: number, y: number) => `${((x / y - 1) * 100).toFixed(1)}%`;
console.log(
  `median per-query ratio on/off: wall ${median(ratios).toFixed(3)}, CPU ${median(cpuRatios).toFixed(3)}; sum of medians: wall off ${totals.off.toFixed(0)} ms, on ${totals.on.toFixed(0)} ms (${pct(totals.on, totals.off)}); CPU off ${totals.offCpu.toFixed(0)} ms, on ${totals.onCpu.toFixed(0)} ms (${pct(totals.onCpu, totals.offCpu)}); target ≤ 5%`,
);
console.log(`exported ${exports} OTLP requests, ${(exportedBytes / 1024).toFixed(0)} KiB`);
for (const s of [off, on]) {
  await s.querier.close();
  await s.gateway.close();
}
sink.close();
for (const d of dataDirs) await rm(d, { recursive: true, force: true });
