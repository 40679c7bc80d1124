// Vertical query sharding: Thanos's analyzer rules as a table, the shard_info wire form, and the
// frontend end to end in front of real thanos-ts queriers over real blocks (made by promtool):
// sharded answers equal unsharded ones and Prometheus 2.42's over the same data.
//
// The downstream here is first a thanos-ts querier per shard whose only store
// keeps the series of that shard (Thanos's ShardMatcher, as a sharding store does), behind one
// HTTP address that routes each request by its `shard_info`. The last describe runs the same
// checks against one plain querier, which honours `shard_info` itself (its proxy drops the other
// shards' series of stores that do not shard).
import { cp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { Labels, openDBReadOnly, type ReadOnlyDB } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInMemoryCache } from '../src/cache/inmemory.js';
import {
  analyzeShardable,
  createQueryFrontend,
  encodeShardInfo,
  instantSortPlan,
  matchesShard,
  mergeInstantAnswers,
  parseShardInfo,
  type QueryFrontend,
  type QueryShard,
  queryShards,
} from '../src/frontend/index.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

describe("shard analysis (Thanos's querysharding rules)", () => {
  // Cases from Thanos's pkg/querysharding/analyzer_test.go, plus the two rules thanos-ts adds.
  const notShardable = [
    'sum(http_requests_total)',
    'count(sum by (pod) (http_requests_total))',
    'count(sum without (pod) (http_requests_total))',
    'http_requests_total{code="400"} / 4',
    'http_requests_total{code="400"} / on () http_requests_total',
    'sum by (pod) (http_requests_total{code="400"}) / sum by (cluster) (http_requests_total)',
    'sum by (dst_label) (label_replace(metric, "dst_label", "$1", "src_label", "re"))',
    'sum by (dst_label) (label_join(metric, "dst_label", ",", "src_label"))',
    'sum by (url) (absent_over_time(http_requests_total{code="400"}[5m]))',
    'sum by (url) (absent(http_requests_total{code="400"}))',
    'scalar(sum by (url) (http_requests_total{code="400"}))',
    'sum by (le) (histogram_quantile(0.99, http_requests_duration_seconds_bucket))',
    'sum by (le) (http_requests_duration_seconds_bucket) + histogram_quantile(0.99, http_requests_duration_seconds_bucket)',
    'rate(http_requests_total[5m])',
    '1 + 1',
    // thanos-ts: `rate` drops the name, so grouping by it cannot split series by it.
    'sum by (__name__) (rate({__name__=~"a|b"}[5m]))',
    'sum(',
  ];
  it.each(notShardable)('%s is not shardable', (q) => {
    expect(analyzeShardable(q)).toEqual({ shardable: false, by: false, labels: [] });
  });

  const shardable: [string, boolean, string[]][] = [
    ['sum by (pod) (http_requests_total)', true, ['pod']],
    ['max by (pod) (sum by (pod, cluster) (http_requests_total))', true, ['pod']],
    ['http_requests_total{code="400"} / on (pod) http_requests_total', true, ['pod']],
    ['sum by (pod) (http_requests_total{code="400"}) / sum by (pod) (http_requests_total)', true, ['pod']],
    [
      'sum by (cluster, pod) (http_requests_total{code="400"}) / on (pod) sum by (cluster, pod) (http_requests_total)',
      true,
      ['pod'],
    ],
    ['sum(http_requests_total{code="400"} * http_requests_total) by (pod)', true, ['pod']],
    [
      '(http_requests_total{code="400"} + on (pod) http_requests_total{code="500"}) / on (cluster, pod) http_requests_total',
      true,
      ['pod'],
    ],
    ['histogram_quantile(0.95, sum(rate(metric[1m])) by (le, cluster))', true, ['cluster']],
    ['sum(http_requests_total) by (pod, cluster) [1h:1m]', true, ['cluster', 'pod']],
    ['increase(sum(http_requests_total) by (pod, cluster) [1h:1m])', true, ['cluster', 'pod']],
    [
      'sum(rate(node_cpu_seconds_total[3h])) by (cluster_id, mode) / ignoring(mode) group_left sum(rate(node_cpu_seconds_total[3h])) by (cluster_id)',
      true,
      ['cluster_id'],
    ],
    ['sum by (pod) (label_replace(metric, "dst_label", "$1", "src_label", "re"))', true, ['pod']],
    ['sum by (pod, dst_label) (label_join(metric, "dst_label", ",", "src_label"))', true, ['pod']],
    [
      'http_requests_total{code="400"} / on (pod) label_replace(metric, "dst_label", "$1", "src_label", "re")',
      true,
      ['pod'],
    ],
    // `without` never hashes the metric name (thanos-ts: `rate` drops it, so it is not part of the group).
    ['sum without (pod) (rate(http_requests_total[5m]))', false, ['__name__', 'pod']],
    ['sum by (__name__, job) (x)', true, ['job']],
    ['http_requests_total / ignoring (pod) http_requests_total', false, ['__name__', 'pod']],
  ];
  it.each(shardable)('%s shards by=%s on %j', (q, by, labels) => {
    expect(analyzeShardable(q)).toEqual({ shardable: true, by, labels });
  });

  it('shard_info is Go json.Marshal of storepb.ShardInfo (omitempty) and reads back', () => {
    const a = analyzeShardable('sum by (job, instance) (x)');
    const shards = queryShards(a, 3);
    expect(shards.map(encodeShardInfo)).toEqual([
      '{"total_shards":3,"by":true,"labels":["instance","job"]}',
      '{"shard_index":1,"total_shards":3,"by":true,"labels":["instance","job"]}',
      '{"shard_index":2,"total_shards":3,"by":true,"labels":["instance","job"]}',
    ]);
    for (const s of shards) expect(parseShardInfo(encodeShardInfo(s))).toEqual(s);
    expect(parseShardInfo('')).toBeUndefined();
    expect(() => parseShardInfo('{')).toThrow(/^could not unmarshal parameter shard_info: /);
  });

  it('every series is in exactly one shard, and series of one group in the same one', () => {
    const by: QueryShard[] = queryShards({ shardable: true, by: true, labels: ['job'] }, 4);
    const without: QueryShard[] = queryShards({ shardable: true, by: false, labels: ['__name__', 'instance'] }, 4);
    const used = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const series = { __name__: `m${i % 3}`, job: `job-${i % 17}`, instance: `host-${i}` };
      const inBy = by.filter((s) => matchesShard(series, s));
      const inWithout = without.filter((s) => matchesShard(series, s));
      expect([inBy.length, inWithout.length]).toEqual([1, 1]);
      used.add(inBy[0]?.shardIndex as number);
      // Another series of the same `by (job)` group, and of the same `without (instance)` group
      // under another name (rate drops names): same shards.
      const sibling = { __name__: 'other', job: series.job, instance: 'elsewhere' };
      expect(by.filter((s) => matchesShard(sibling, s))).toEqual(inBy);
      expect(without.filter((s) => matchesShard({ ...sibling, job: series.job }, s))).toEqual(inWithout);
    }
    expect(used.size).toBe(4);
    expect(matchesShard({ a: '1' }, undefined)).toBe(true);
  });

  it('instant answers merge in the order Thanos gives them', () => {
    const body = (samples: [Record<string, string>, number, string][], warnings?: string[]) =>
      JSON.stringify({
        status: 'success',
        data: { resultType: 'vector', result: samples.map(([metric, t, v]) => ({ metric, value: [t, v] })) },
        ...(warnings ? { warnings } : {}),
      });
    const a = body(
      [
        [{ job: 'b' }, 10, '3'],
        [{ job: 'd' }, 10, '1'],
      ],
      ['w1'],
    );
    const b = body(
      [
        [{ job: 'a' }, 10, '2'],
        [{ job: 'c' }, 10, '5'],
      ],
      ['w1', 'w2'],
    );
    const jobs = (q: string) =>
      (
        JSON.parse(mergeInstantAnswers(q, [a, b])) as { data: { result: { metric: { job: string } }[] } }
      ).data.result.map((s) => s.metric.job);
    expect(jobs('sum by (job) (x)')).toEqual(['a', 'b', 'c', 'd']);
    expect(jobs('sort(sum by (job) (x))')).toEqual(['d', 'a', 'b', 'c']);
    expect(jobs('sort_desc(sum by (job) (x)) > 0')).toEqual(['c', 'b', 'a', 'd']);
    expect(jobs('topk by (job) (1, x)')).toEqual(['b', 'd', 'a', 'c']);
    expect(instantSortPlan('sort_desc(x)')).toBe('desc');
    expect(JSON.parse(mergeInstantAnswers('sum by (job) (x)', [a, b])).warnings).toEqual(['w1', 'w2']);
  });
});

const H = 3600_000;
const DAY = 24 * H;
/** First sample of the generated data: a day boundary. */
const D0 = 1_699_920_000_000;
const SHARDS = 3;

/** A store that serves only the series of one shard, as Thanos's sharding stores do. */
function shardStore(inner: StoreAPI, shard: QueryShard): StoreAPI {
  return {
    info: (signal) => inner.info(signal),
    labelNames: (req, signal) => inner.labelNames(req, signal),
    labelValues: (req, signal) => inner.labelValues(req, signal),
    async *series(req, signal) {
      for await (const r of inner.series(req, signal))
        if (r.type !== 'series' || matchesShard(r.series.labels.toRecord(), shard)) yield r;
    },
  };
}

/** Range and instant queries over the generated families (job, instance, shard labels). */
const SHARDABLE = [
  'sum by (instance) (rate(gen_counter_0_total[5m]))',
  'sum by (shard) (gen_gauge_1)',
  'avg by (instance, job) ({__name__=~"gen_gauge_.+"})',
  'sum without (shard, job) (rate({__name__=~"gen_counter_.+"}[10m]))',
  'histogram_quantile(0.9, sum by (le, instance) (rate(gen_histogram_2_bucket[10m])))',
  'max by (instance) (sum by (instance, shard) (gen_gauge_4))',
  'sum by (instance) (rate(gen_counter_0_total[5m])) / on (instance) sum by (instance) (rate(gen_counter_3_total[5m]))',
  'count_values by (instance) ("v", floor(gen_gauge_1 / 10))',
  'sum by (instance) (label_replace(gen_gauge_1, "copy", "$1", "shard", "(.*)"))',
  'max_over_time(sum by (instance) (rate(gen_counter_0_total[5m]))[1h:5m])',
  'quantile by (shard) (0.5, gen_gauge_4)',
  'stddev without (instance) (gen_gauge_7)',
  'topk by (instance) (1, gen_gauge_4)',
  'sort_desc(sum by (instance) (gen_gauge_1))',
];
const NOT_SHARDABLE = ['sum(gen_gauge_1)', 'rate(gen_counter_0_total[5m])', 'absent(nope)', 'count(gen_gauge_4)'];

interface Downstream {
  url: string;
  /** `shard_info` of every query request seen ('' when none). */
  shardInfos: string[];
  close(): Promise<void>;
}

/**
 * One HTTP address in front of a querier per shard (plus one for unsharded requests): each
 * request goes to the querier its `shard_info` names.
 */
async function startShardingDownstream(store: StoreAPI): Promise<Downstream> {
  const queriers = new Map<string, Promise<Querier>>();
  const all: Promise<Querier>[] = [];
  const querierFor = (info: string): Promise<Querier> => {
    let q = queriers.get(info);
    if (!q) {
      const shard = parseShardInfo(info);
      const querier = createQuerier({
        endpoints: [shard ? shardStore(store, shard) : store],
        evaluationWorkers: 0,
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
      });
      q = querier.start().then(() => querier);
      queriers.set(info, q);
      all.push(q);
    }
    return q;
  };
  const shardInfos: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const url = new URL(req.url ?? '/', 'http://x');
    const form = new URLSearchParams(url.search);
    if (String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded'))
      for (const [k, v] of new URLSearchParams(body)) form.append(k, v);
    const info = form.get('shard_info') ?? '';
    if (/\/api\/v1\/query(_range)?$/.test(url.pathname)) shardInfos.push(info);
    const q = await querierFor(info);
    const r = await fetch(`http://${q.httpAddress}${req.url}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain') },
      ...(req.method === 'GET' ? {} : { body }),
    });
    res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'text/plain' });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    shardInfos,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      for (const q of all) await (await q).close();
    },
  };
}

type Params = Record<string, string>;

async function getJSON(base: string, path: string, params: Params): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

function rangeParams(query: string, start: number, end: number, step: number): Params {
  return { query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) };
}

/** Instant vector answers with their samples in one order, for queries whose order is not defined. */
function bySeries(body: unknown): unknown {
  const b = body as { data?: { resultType?: string; result?: { metric: Record<string, string> }[] } };
  if (b?.data?.resultType !== 'vector' || !b.data.result) return body;
  const key = (m: Record<string, string>) => JSON.stringify(Object.entries(m).sort());
  return {
    ...b,
    data: { ...b.data, result: [...b.data.result].sort((x, y) => (key(x.metric) < key(y.metric) ? -1 : 1)) },
  };
}

describe.skipIf(!programAvailable('prometheus') || !programAvailable('promtool'))(
  'vertical sharding in front of real queriers over promtool blocks',
  () => {
    let blocks: GeneratedBlocks;
    let promDir: string;
    let prom: RunningPrometheus;
    let db: ReadOnlyDB;
    let store: StoreAPI;
    let down: Downstream;
    let plain: Querier;
    const frontends: QueryFrontend[] = [];

    beforeAll(async () => {
      blocks = await blocksFromOpenMetrics({
        startMs: D0,
        durationMs: 3 * DAY,
        scrapeIntervalMs: 60_000,
        metrics: 8,
        seriesPerMetric: 6,
        histogramBuckets: [0.1, 1],
        maxBlockDuration: '24h',
      });
      // Prometheus gets its own copy: it may compact or write in its data directory.
      promDir = await makeTempDir('frontend-shard-prom-');
      await cp(blocks.dir, promDir, { recursive: true });
      prom = await startPrometheus({ dataDir: promDir });
      db = await openDBReadOnly({ dir: blocks.dir });
      store = createLocalStore({ queryable: db.queryable(), externalLabels: Labels.EMPTY });
      down = await startShardingDownstream(store);
      plain = createQuerier({
        endpoints: [store],
        evaluationWorkers: 0,
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
      });
      await plain.start();
    }, 180_000);

    afterAll(async () => {
      for (const f of frontends) await f.close();
      await down?.close();
      await plain?.close();
      await db?.close();
      await prom?.stop();
      if (blocks) await removeTempDir(blocks.dir);
      if (promDir) await removeTempDir(promDir);
    });

    async function frontend(downstreamUrl: string, verticalShards: number): Promise<string> {
      const f = createQueryFrontend({
        downstreamUrl,
        verticalShards,
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
      });
      frontends.push(f);
      await f.start();
      return `http://${f.httpAddress}`;
    }

    it('range queries: sharded answers equal unsharded ones and Prometheus 2.42, every shard used', async () => {
      const sharded = await frontend(down.url, SHARDS);
      const unsharded = await frontend(`http://${plain.httpAddress}`, 0);
      const cases: [string, number, number, number][] = [];
      for (const [i, q] of [...SHARDABLE, ...NOT_SHARDABLE].entries()) {
        const step = [60_000, 300_000, 433_000, 3600_000][i % 4] as number;
        // Ranges crossing day boundaries, so pieces are sharded one by one.
        cases.push([q, D0 + 2 * H + i * 60_000, D0 + 2 * DAY + 5 * H, step]);
      }
      for (const [query, start, end, step] of cases) {
        const before = down.shardInfos.length;
        const params = rangeParams(query, start, end, step);
        const want = await getJSON(`http://${plain.httpAddress}`, '/api/v1/query_range', {
          ...params,
          ...rangeParams(query, Math.trunc(start / step) * step, Math.trunc(end / step) * step, step),
        });
        const got = await getJSON(sharded, '/api/v1/query_range', params);
        const viaUnsharded = await getJSON(unsharded, '/api/v1/query_range', params);
        expect(want.status).toBe(200);
        expect([query, got.status, got.body]).toEqual([query, 200, want.body]);
        expect([query, viaUnsharded.body]).toEqual([query, want.body]);
        const infos = down.shardInfos.slice(before);
        if (SHARDABLE.includes(query)) {
          expect((want.body as { data: { result: unknown[] } }).data.result.length, query).toBeGreaterThan(0);
          // Three days: three pieces, each as three shards.
          expect([query, infos.length]).toEqual([query, 3 * SHARDS]);
          expect(new Set(infos.map((s) => parseShardInfo(s)?.shardIndex))).toEqual(new Set([0, 1, 2]));
        } else expect([query, infos]).toEqual([query, ['', '', '']]);
      }
    }, 180_000);

    it('each shard has its own results cache entries: a repeat costs no downstream request', async () => {
      const f = createQueryFrontend({
        downstreamUrl: down.url,
        verticalShards: SHARDS,
        responseCache: { cache: createInMemoryCache({ maxSizeBytes: 64 << 20 }), name: 'fifocache' },
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
      });
      frontends.push(f);
      await f.start();
      const url = `http://${f.httpAddress}`;
      const query = 'sum by (instance) (rate(gen_counter_0_total[5m]))';
      const params = rangeParams(query, D0 + 3 * H, D0 + 2 * DAY + 3 * H, 300_000);
      const want = await getJSON(`http://${plain.httpAddress}`, '/api/v1/query_range', params);
      const before = down.shardInfos.length;
      expect((await getJSON(url, '/api/v1/query_range', params)).body).toEqual(want.body);
      expect(down.shardInfos.length - before).toBe(3 * SHARDS);
      const again = down.shardInfos.length;
      expect((await getJSON(url, '/api/v1/query_range', params)).body).toEqual(want.body);
      expect(down.shardInfos.length).toBe(again);
      // A frontend without sharding sends the day pieces without shard_info.
      const unsharded = await frontend(down.url, 0);
      expect((await getJSON(unsharded, '/api/v1/query_range', params)).body).toEqual(want.body);
      expect(down.shardInfos.slice(again)).toEqual(['', '', '']);
    });

    it('in front of Prometheus 2.42 (which ignores shard_info) answers equal Prometheus', async () => {
      // Every shard then answers in full; the merge must still give Prometheus's own answer.
      const sharded = await frontend(prom.url, SHARDS);
      for (const [i, query] of SHARDABLE.entries()) {
        const step = [60_000, 300_000, 3600_000][i % 3] as number;
        const start = Math.trunc((D0 + DAY - 2 * H - i * 60_000) / step) * step;
        const end = Math.trunc((D0 + 2 * DAY + 3 * H) / step) * step;
        const want = await getJSON(prom.url, '/api/v1/query_range', rangeParams(query, start, end, step));
        const got = await getJSON(sharded, '/api/v1/query_range', rangeParams(query, start, end, step));
        expect(want.status).toBe(200);
        expect([query, got.body]).toEqual([query, want.body]);
        const params = { query, time: String((D0 + DAY + 13 * H) / 1000) };
        const wantInstant = await getJSON(prom.url, '/api/v1/query', params);
        const gotInstant = await getJSON(sharded, '/api/v1/query', params);
        const ordered = query.startsWith('sort');
        expect([query, ordered ? gotInstant.body : bySeries(gotInstant.body)]).toEqual([
          query,
          ordered ? wantInstant.body : bySeries(wantInstant.body),
        ]);
      }
    }, 120_000);

    it('instant queries: sharded answers equal unsharded ones; shards hold disjoint parts', async () => {
      const sharded = await frontend(down.url, SHARDS);
      for (const query of [...SHARDABLE, ...NOT_SHARDABLE]) {
        for (const t of [D0 + 7 * H + 17_000, D0 + 2 * DAY]) {
          const params = { query, time: String(t / 1000) };
          const want = await getJSON(`http://${plain.httpAddress}`, '/api/v1/query', params);
          const got = await getJSON(sharded, '/api/v1/query', params);
          expect(want.status).toBe(200);
          const ordered = query.startsWith('sort');
          expect([query, got.status, ordered ? got.body : bySeries(got.body)]).toEqual([
            query,
            200,
            ordered ? want.body : bySeries(want.body),
          ]);
          if (!SHARDABLE.includes(query)) continue;
          // Asked directly, the shards split the answer: no series twice, together all of them.
          const parts = await Promise.all(
            queryShards(analyzeShardable(query), SHARDS).map(
              async (s) =>
                (
                  (await getJSON(down.url, '/api/v1/query', { ...params, shard_info: encodeShardInfo(s) })).body as {
                    data: { result: { metric: Record<string, string> }[] };
                  }
                ).data.result,
            ),
          );
          const keys = parts.flat().map((s) => JSON.stringify(Object.entries(s.metric).sort()));
          const all = (want.body as { data: { result: { metric: Record<string, string> }[] } }).data.result;
          if (!query.startsWith('topk')) expect([query, new Set(keys).size]).toEqual([query, keys.length]);
          expect([query, keys.length]).toEqual([query, all.length]);
          if (all.length >= 6) expect([query, parts.filter((p) => p.length > 0).length]).toEqual([query, SHARDS]);
        }
      }
      const metrics = await (await fetch(`${sharded}/metrics`)).text();
      expect(metrics).toContain(
        `thanos_frontend_sharding_middleware_queries_total{shardable="true",tripperware="query_instant"} ${2 * SHARDABLE.length}`,
      );
      expect(metrics).toContain(
        `thanos_frontend_sharding_middleware_queries_total{shardable="false",tripperware="query_instant"} ${2 * NOT_SHARDABLE.length}`,
      );
    }, 180_000);

    it('errors of a shard come back as the querier sent them', async () => {
      const sharded = await frontend(down.url, SHARDS);
      const params = { query: 'sum by (job) (rate(gen_counter_0_total[5m]))', time: 'yesterday' };
      const want = await getJSON(`http://${plain.httpAddress}`, '/api/v1/query', params);
      const got = await getJSON(sharded, '/api/v1/query', params);
      expect(want.status).toBe(400);
      expect([got.status, got.body]).toEqual([want.status, want.body]);
    });

    // One plain querier splits answers by shard exactly like the sharding stores above.
    describe('a thanos-ts querier honours shard_info', () => {
      it('refuses a malformed shard_info with 400 bad_data (Thanos text)', async () => {
        const res = await getJSON(`http://${plain.httpAddress}`, '/api/v1/query', {
          query: 'up',
          shard_info: '{',
        });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
        expect((res.body as { error: string }).error).toMatch(/^could not unmarshal parameter shard_info: /);
      });

      it('shards of the plain querier are disjoint and together the whole answer', async () => {
        const sharded = await frontend(`http://${plain.httpAddress}`, SHARDS);
        for (const query of SHARDABLE) {
          const params = { query, time: String((D0 + DAY) / 1000) };
          const want = await getJSON(`http://${plain.httpAddress}`, '/api/v1/query', params);
          const viaShards = await getJSON(down.url, '/api/v1/query', params);
          const parts = await Promise.all(
            queryShards(analyzeShardable(query), SHARDS).map(
              async (s) =>
                (
                  await getJSON(`http://${plain.httpAddress}`, '/api/v1/query', {
                    ...params,
                    shard_info: encodeShardInfo(s),
                  })
                ).body,
            ),
          );
          const partsViaStores = await Promise.all(
            queryShards(analyzeShardable(query), SHARDS).map(
              async (s) =>
                (await getJSON(down.url, '/api/v1/query', { ...params, shard_info: encodeShardInfo(s) })).body,
            ),
          );
          expect([query, parts.map(bySeries)]).toEqual([query, partsViaStores.map(bySeries)]);
          expect(bySeries(viaShards.body)).toEqual(bySeries(want.body));
          const got = await getJSON(sharded, '/api/v1/query', params);
          expect(bySeries(got.body)).toEqual(bySeries(want.body));
        }
      });
    });
  },
);
