/**
 * Fan-out, merge and deduplication of 100k series × 2 HA replicas, in-process and over real gRPC,
 * and end-to-end PromQL latency through gRPC vs in-process.
 *
 *   npx tsx bench/core/fanout-dedup.ts [series=100000]
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  connectStoreAPI,
  createQuerier,
  type SeriesResponse,
  type StoreAPI,
  type StoreInfo,
  serveStoreAPI,
} from '@thanos-ts/core';
import { createProxyStore, createStoreQueryable, type ProxyEndpoint } from '@thanos-ts/core/query';
import { Labels, matcher, XorEncoder } from '@thanos-ts/tsdb';

const N = Number(process.argv[2] ?? 100_000);
const SAMPLES = 120;
const STEP = 15_000;
const T0 = 1_700_000_000_000;

// One XOR chunk per series per replica; replica b scrapes 1 s later, so chunks differ and the
// penalty algorithm has real work.
function chunkFor(i: number, offset: number): Uint8Array {
  const enc = new XorEncoder();
  for (let k = 0; k < SAMPLES; k++) enc.append(T0 + k * STEP + offset, i + k * 0.5);
  return enc.bytes();
}

function replicaStore(replica: string, offset: number): StoreAPI {
  const labels: Labels[] = [];
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < N; i++) {
    labels.push(
      Labels.from({ __name__: 'http_requests_total', instance: `host-${String(i).padStart(6, '0')}`, job: 'api' }),
    );
    chunks.push(chunkFor(i % 1000, offset));
  }
  const info: StoreInfo = {
    labelSets: [Labels.from({ replica })],
    minTime: T0,
    maxTime: T0 + SAMPLES * STEP,
    componentType: 'sidecar',
    supportsWithoutReplicaLabels: true,
  };
  return {
    info: async () => info,
    async *series(req) {
      const strip = (req.withoutReplicaLabels ?? []).includes('replica');
      for (let i = 0; i < N; i++) {
        const l = labels[i] as Labels;
        if (!req.matchers.every((m) => m.matches(l.get(m.name)))) continue;
        yield {
          type: 'series',
          series: {
            labels: strip ? l : l.with('replica', replica),
            chunks: [
              {
                minTime: T0 + offset,
                maxTime: T0 + (SAMPLES - 1) * STEP + offset,
                raw: { type: 'XOR', data: chunks[i] as Uint8Array },
              },
            ],
          },
        } satisfies SeriesResponse;
      }
    },
    labelNames: async () => ({ names: ['__name__', 'instance', 'job'], warnings: [] }),
    labelValues: async () => ({ values: [], warnings: [] }),
  };
}

async function timed<T>(_name: string, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  return { ms, value };
}

async function drain(store: StoreAPI): Promise<{ series: number; bytes: number }> {
  let series = 0;
  let bytes = 0;
  for await (const r of store.series({
    minTime: T0,
    maxTime: T0 + SAMPLES * STEP,
    matchers: [matcher('=', '__name__', 'http_requests_total')],
    withoutReplicaLabels: ['replica'],
  })) {
    if (r.type !== 'series') continue;
    series++;
    for (const c of r.series.chunks) bytes += c.raw?.data.length ?? 0;
  }
  return { series, bytes };
}

const a = replicaStore('a', 0);
const b = replicaStore('b', 1000);
const infoA = await a.info();
const infoB = await b.info();
const local: ProxyEndpoint[] = [
  { name: 'a', store: a, info: infoA },
  { name: 'b', store: b, info: infoB },
];

const servers: Server[] = [];
const remote: ProxyEndpoint[] = [];
for (const [name, store, info] of [
  ['a', a, infoA],
  ['b', b, infoB],
] as const) {
  const s = new Server({ 'grpc.max_send_message_length': -1 });
  serveStoreAPI(store, s);
  const port = await new Promise<number>((res, rej) =>
    s.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  servers.push(s);
  remote.push({ name, store: connectStoreAPI(`127.0.0.1:${port}`), info });
}

const rows: string[] = [];
const report = (what: string, ms: number, series: number, bytes?: number, extra = '') => {
  const line = `| ${what} | ${(ms / 1000).toFixed(2)} s | ${Math.round((series / ms) * 1000).toLocaleString('en')} series/s | ${
    bytes === undefined ? '–' : `${(((bytes / ms) * 1000) / 1e6).toFixed(1)} MB/s`
  } | ${extra} |`;
  rows.push(line);
  console.log(line);
};

console.log(`| ${N.toLocaleString('en')} series × 2 replicas | time | series/s (input) | chunk bytes/s | notes |`);
console.log('| --- | --- | --- | --- | --- |');
for (const [label, eps] of [
  ['in-process merge (proxy)', local],
  ['gRPC fan-out + merge (proxy)', remote],
] as const) {
  const proxy = createProxyStore({ endpoints: () => eps });
  // First pass warms the JIT; the second is reported (a querier is a long-running process).
  await drain(proxy);
  const r = await timed(label, () => drain(proxy));
  report(label, r.ms, 2 * N, r.value.bytes, `${r.value.series.toLocaleString('en')} merged series out`);
}
for (const [label, eps] of [
  ['in-process merge + decode + penalty dedup', local],
  ['gRPC fan-out + merge + decode + penalty dedup', remote],
] as const) {
  const q = createStoreQueryable({
    store: createProxyStore({ endpoints: () => eps }),
    dedup: true,
    replicaLabels: ['replica'],
    partialResponseStrategy: 'WARN',
    maxSourceResolution: 0,
  });
  const run = () =>
    q.select([matcher('=', '__name__', 'http_requests_total')], { start: T0, end: T0 + SAMPLES * STEP });
  await run();
  const r = await timed(label, run);
  const samples = r.value.reduce((n, s) => n + s.timestamps.length, 0);
  report(
    label,
    r.ms,
    2 * N,
    undefined,
    `${Math.round((samples / r.ms) * 1000).toLocaleString('en')} deduplicated samples/s`,
  );
}

// End-to-end PromQL latency over a smaller selection (10% of the series), median of 5 runs.
for (const [label, eps] of [
  ['PromQL in-process', local],
  ['PromQL through gRPC', remote],
] as const) {
  const querier = createQuerier({
    endpoints: eps.map((e) => ({ name: e.name, store: e.store })),
    replicaLabels: ['replica'],
  });
  await querier.start();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await timed(label, () =>
      querier.rangeQuery(
        'sum by (job) (rate(http_requests_total{instance=~"host-00.*"}[5m]))',
        T0 + 600_000,
        T0 + 1_700_000,
        60_000,
      ),
    );
    times.push(r.ms);
  }
  times.sort((x, y) => x - y);
  rows.push(
    `| ${label} | ${(times[2] as number).toFixed(0)} ms median | | | sum by (job)(rate(...[5m])) over ${(N / 10).toLocaleString('en')}×2 series |`,
  );
  console.log(rows[rows.length - 1]);
  await querier.close();
}

for (const e of remote) (e.store as unknown as { close(): void }).close();
for (const s of servers) s.forceShutdown();
