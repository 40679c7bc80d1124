// The query frontend in front of a real Prometheus 2.42 serving real blocks (made by promtool from
// generated data): split, aligned and merged answers equal Prometheus's own, repeats come from real
// memcached / redis / in-memory caches with the downstream requests counted by a proxy, failed
// pieces are retried, and bad input gets Prometheus's own 400 JSON.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  programAvailable,
  type RunningPrometheus,
  type RunningService,
  removeTempDir,
  startMemcached,
  startPrometheus,
  startRedis,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createQueryFrontend,
  type FrontendCache,
  parseResponseCacheConfig,
  type QueryFrontend,
  type QueryFrontendOptions,
} from '../src/frontend/index.js';
import type { Logger } from '../src/log/logger.js';

/** One request the proxy saw: path and form parameters (query string plus urlencoded body). */
interface SeenRequest {
  path: string;
  params: URLSearchParams;
  headers: IncomingMessage['headers'];
}

/**
 * A real HTTP proxy in front of the downstream that records every request and can answer the next
 * `failNext` range queries with a 503 itself (a flaky querier).
 */
interface CountingProxy {
  readonly url: string;
  readonly seen: SeenRequest[];
  failNext: number;
  /**
   * Range query requests seen so far; with `tag`, only those carrying it in {@link TEST_REQUEST}
   * (sent by the test's client and forwarded by the frontend with every piece).
   */
  rangeQueries(tag?: string): SeenRequest[];
  close(): Promise<void>;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const seen: SeenRequest[] = [];
  const proxy: CountingProxy = {
    url: '',
    seen,
    failNext: 0,
    rangeQueries: (tag) =>
      seen.filter(
        (s) => s.path.endsWith('/api/v1/query_range') && (tag === undefined || s.headers[TEST_REQUEST] === tag),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const params = new URLSearchParams(url.search);
    if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
      for (const [k, v] of new URLSearchParams(body.toString())) params.append(k, v);
    // Only requests a test client caused count (see TEST_REQUEST); anything else reaching this
    // port is still answered, but not recorded.
    if (req.headers[TEST_REQUEST] !== undefined) seen.push({ path: url.pathname, params, headers: req.headers });
    if (url.pathname.endsWith('/query_range') && req.headers[TEST_REQUEST] !== undefined && proxy.failNext > 0) {
      proxy.failNext--;
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end('{"status":"error","errorType":"unavailable","error":"injected failure"}');
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    const r = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
    });
    const out = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'text/plain' });
    res.end(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (proxy as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/**
 * A header the test's client sets and every test frontend forwards downstream, so the proxy can
 * tell the requests one client request caused from anything else that reaches its port. Other test
 * files run in parallel and pick free ports too; a client of theirs that ends up talking to this
 * proxy (a port freed and reused under load) must not count as a refetch here.
 */
const TEST_REQUEST = 'x-test-request';
// Every request of `get` carries it (value `test` unless a test tags its own), so every test's
// downstream counts include only what its own requests caused.

const H = 3600_000;
const DAY = 24 * H;
/** First sample of the generated data: a day boundary (19675 days after the epoch). */
const D0 = 1_699_920_000_000;

type Params = Record<string, string>;

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

async function get(base: string, path: string, params: Params, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, {
    headers: { [TEST_REQUEST]: 'test', ...headers },
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text
  }
  return { status: res.status, body, headers: res.headers };
}

/** Range query cases: odd steps, ranges crossing day boundaries, @, offset, subqueries. */
const QUERIES: { name: string; query: string; start: number; end: number; step: number }[] = [
  { name: 'raw gauge, 5m step', query: 'gen_gauge_1', start: D0 + H, end: D0 + 4 * DAY + 17 * H, step: 300_000 },
  { name: 'rate, 2m step', query: 'rate(gen_counter_0_total[5m])', start: D0, end: D0 + 4 * DAY, step: 120_000 },
  {
    name: 'sum by job, 1h step',
    query: 'sum by (job) (rate(gen_counter_3_total[10m]))',
    start: D0 + 30 * 60_000,
    end: D0 + 3 * DAY + 5 * H,
    step: 3600_000,
  },
  {
    name: 'histogram_quantile',
    query: 'histogram_quantile(0.9, sum by (le) (rate(gen_histogram_2_bucket[15m])))',
    start: D0 + 2 * H,
    end: D0 + 3 * DAY,
    step: 900_000,
  },
  {
    name: 'subquery',
    query: 'max_over_time(rate(gen_counter_0_total[5m])[1h:5m])',
    start: D0 + 2 * H,
    end: D0 + 4 * DAY + 2 * H,
    step: 1800_000,
  },
  { name: 'offset', query: 'gen_gauge_1 offset 6h', start: D0 + DAY, end: D0 + 4 * DAY + 11 * H, step: 600_000 },
  { name: '@ end()', query: 'sum(gen_gauge_1 @ end())', start: D0 + H, end: D0 + 3 * DAY + 7 * H, step: 3600_000 },
  {
    name: '@ start() in a subquery',
    query: 'max_over_time(gen_gauge_1[2h:10m] @ start())',
    start: D0 + 3 * H,
    end: D0 + 2 * DAY,
    step: 7200_000,
  },
  {
    name: 'step larger than the split interval',
    query: 'count_over_time(gen_gauge_1[1d])',
    start: D0,
    end: D0 + 5 * DAY,
    step: 36 * H,
  },
  {
    name: 'odd step 7m13s',
    query: 'avg_over_time(gen_gauge_1[30m])',
    start: D0 + 17_000,
    end: D0 + 2 * DAY + 3 * H + 41_000,
    step: 433_000,
  },
];

function rangeParams(q: { query: string; start: number; end: number; step: number }): Params {
  return { query: q.query, start: String(q.start / 1000), end: String(q.end / 1000), step: String(q.step / 1000) };
}

describe.skipIf(!programAvailable('prometheus') || !programAvailable('promtool'))(
  'query frontend in front of Prometheus 2.42',
  () => {
    let blocks: GeneratedBlocks;
    let prom: RunningPrometheus;
    let proxy: CountingProxy;
    const started: QueryFrontend[] = [];

    beforeAll(async () => {
      blocks = await blocksFromOpenMetrics({
        startMs: D0,
        durationMs: 5 * DAY,
        scrapeIntervalMs: 60_000,
        metrics: 4,
        seriesPerMetric: 3,
        histogramBuckets: [0.1, 1],
        maxBlockDuration: '24h',
      });
      prom = await startPrometheus({ dataDir: blocks.dir });
      proxy = await startCountingProxy(prom.url);
    }, 180_000);

    afterAll(async () => {
      for (const f of started) await f.close();
      await proxy?.close();
      await prom?.stop();
      if (blocks) await removeTempDir(blocks.dir);
    });

    async function frontend(opts: QueryFrontendOptions = {}): Promise<QueryFrontend & { url: string }> {
      const f = createQueryFrontend({
        downstreamUrl: proxy.url,
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        ...opts,
        forwardHeaders: [...(opts.forwardHeaders ?? []), TEST_REQUEST],
      });
      started.push(f);
      await f.start();
      return Object.assign(f, { url: `http://${f.httpAddress}` });
    }

    describe.each([{ align: true }, { align: false }])('answers equal Prometheus (align $align)', ({ align }) => {
      let f: QueryFrontend & { url: string };
      beforeAll(async () => {
        f = await frontend({ alignRangeWithStep: align });
      });
      it.each(QUERIES)('$name', async (q) => {
        // The frontend aligns start and end down to the step first, as Thanos does; ask Prometheus
        // for the same range.
        const aligned = align
          ? { ...q, start: Math.trunc(q.start / q.step) * q.step, end: Math.trunc(q.end / q.step) * q.step }
          : q;
        const want = await get(prom.url, '/api/v1/query_range', rangeParams(aligned));
        const got = await get(f.url, '/api/v1/query_range', rangeParams(q));
        expect(want.status).toBe(200);
        expect((want.body as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
        expect(got.status).toBe(200);
        expect(got.body).toEqual(want.body);
      });
    });

    it('caches instant answers older than the max freshness; now, recent and no-store ones go downstream', async () => {
      const parsed = parseResponseCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 64MB\n');
      if (!parsed.cache) throw new Error('no cache');
      const f = await frontend({ responseCache: { cache: parsed.cache, name: parsed.name } });
      const tag = { [TEST_REQUEST]: 'instant-cache' };
      const downstream = () =>
        proxy.seen.filter((s) => s.path.endsWith('/api/v1/query') && s.headers[TEST_REQUEST] === 'instant-cache')
          .length;
      const past = { query: 'sum by (job) (rate(gen_counter_0_total[5m]))', time: String((D0 + 2 * DAY) / 1000) };
      const want = await get(prom.url, '/api/v1/query', past);
      expect((want.body as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
      expect((await get(f.url, '/api/v1/query', past, tag)).body).toEqual(want.body);
      expect(downstream()).toBe(1);
      // The same query again: from the cache, equal, no downstream request.
      expect((await get(f.url, '/api/v1/query', past, tag)).body).toEqual(want.body);
      expect(downstream()).toBe(1);
      // Other parameters are other entries.
      await get(f.url, '/api/v1/query', { ...past, dedup: 'false' }, tag);
      expect(downstream()).toBe(2);
      // No time (now), a time within max freshness, and Cache-Control: no-store are never cached.
      for (let i = 0; i < 2; i++) {
        await get(f.url, '/api/v1/query', { query: 'up' }, tag);
        await get(f.url, '/api/v1/query', { query: 'up', time: String(Date.now() / 1000 - 10) }, tag);
        await get(f.url, '/api/v1/query', past, { ...tag, 'cache-control': 'no-store' });
      }
      expect(downstream()).toBe(2 + 6);
      // Errors are not cached either.
      const bad = { query: 'sum(', time: past.time };
      expect((await get(f.url, '/api/v1/query', bad, tag)).status).toBe(400);
      expect((await get(f.url, '/api/v1/query', bad, tag)).status).toBe(400);
      expect(downstream()).toBe(2 + 6 + 2);
    });

    it('randomized differential: 300 (query, range, step) cases, uncached, cached and replayed from cache, equal Prometheus', async () => {
      // Seeded, so a failure names a case that reproduces.
      let seed = 20_261_205;
      const rand = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const queries = [...QUERIES.map((q) => q.query), 'gen_counter_3_total', 'count(gen_gauge_1 offset 1d)'];
      const steps = [15_000, 60_000, 300_000, 433_000, 3600_000, 7 * H, 26 * H, 2 * DAY];
      const parsed = parseResponseCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 128MB\n');
      if (!parsed.cache) throw new Error('no cache');
      const plain = await frontend({ alignRangeWithStep: false });
      const cached = await frontend({
        alignRangeWithStep: false,
        responseCache: { cache: parsed.cache, name: parsed.name },
      });
      const seen: { q: { query: string; start: number; end: number; step: number }; want: Answer }[] = [];
      for (let i = 0; i < 300; i++) {
        const tag = { [TEST_REQUEST]: `case-${i}` };
        const step = pick(steps) + (rand() < 0.3 ? Math.floor(rand() * 60) * 1000 : 0);
        const start = D0 + Math.floor((rand() * 4 * DAY) / 1000) * 1000;
        const maxLen = Math.min(D0 + 5 * DAY - start, 11_000 * step);
        const end = start + (rand() < 0.05 ? 0 : Math.floor((rand() * maxLen) / 1000) * 1000);
        const q = { query: pick(queries), start, end, step };
        const want = await get(prom.url, '/api/v1/query_range', rangeParams(q));
        seen.push({ q, want });
        for (const f of [plain, cached]) {
          const got = await get(f.url, '/api/v1/query_range', rangeParams(q), tag);
          expect([i, q, got.status, got.body]).toEqual([i, q, want.status, want.body]);
        }
      }
      // The tag does reach the downstream with every piece (else counting by it would prove nothing).
      expect(proxy.rangeQueries('case-0').length).toBeGreaterThan(0);
      // Every case again on the cached frontend: now answered wholly from its extents. Only the
      // downstream requests this replay caused count (tagged per case): the proxy's port is a
      // free port, and under load a client of another test file can reach it.
      const refetched: unknown[] = [];
      for (const [i, { q, want }] of seen.entries()) {
        const tag = `replay-${i}`;
        const got = await get(cached.url, '/api/v1/query_range', rangeParams(q), { [TEST_REQUEST]: tag });
        const sent = proxy.rangeQueries(tag);
        if (sent.length > 0) refetched.push([i, q, sent.map((r) => [r.params.get('start'), r.params.get('end')])]);
        expect([i, q, got.status, got.body]).toEqual([i, q, want.status, want.body]);
      }
      expect(refetched).toEqual([]);
    }, 300_000);

    it('splits a multi-day query into day pieces run in parallel (bounded)', async () => {
      const f = await frontend({ maxQueryParallelism: 2 });
      const before = proxy.rangeQueries().length;
      const q = QUERIES[1] as (typeof QUERIES)[number];
      expect((await get(f.url, '/api/v1/query_range', rangeParams(q))).status).toBe(200);
      const pieces = proxy.rangeQueries().slice(before);
      // Four days and the final timestamp, which joins the last day's piece.
      expect(pieces).toHaveLength(4);
      expect(pieces.map((p) => Number(p.params.get('start')) * 1000).sort()).toEqual(
        [0, 1, 2, 3].map((d) => D0 + d * DAY),
      );
      const metrics = await (await fetch(`${f.url}/metrics`)).text();
      expect(metrics).toMatch(/thanos_frontend_split_queries_total\{tripperware="query_range"\} 4/);
      expect(metrics).toMatch(/thanos_query_frontend_queries_total\{op="query_range"\} 1/);
    });

    const backends: {
      name: string;
      start: () => Promise<RunningService | undefined>;
      yaml: (s?: RunningService) => string;
    }[] = [
      {
        name: 'IN-MEMORY',
        start: async () => undefined,
        yaml: () => 'type: IN-MEMORY\nconfig:\n  max_size: 64MB\n  validity: 1h\n',
      },
      {
        name: 'MEMCACHED',
        start: () => (programAvailable('memcached') ? startMemcached() : Promise.resolve(undefined)),
        yaml: (s) =>
          `type: MEMCACHED\nconfig:\n  addresses: ["127.0.0.1:${s?.port}"]\n  max_item_size: 16MB\n  expiration: 1h\n`,
      },
      {
        name: 'REDIS',
        start: () => (programAvailable('redis-server') ? startRedis() : Promise.resolve(undefined)),
        yaml: (s) => `type: REDIS\nconfig:\n  addr: "127.0.0.1:${s?.port}"\n  expiration: 1h\n`,
      },
    ];

    describe.each(backends)('results cache: $name', (backend) => {
      let server: RunningService | undefined;
      let f: QueryFrontend & { url: string };
      let skip = false;
      beforeAll(async () => {
        server = await backend.start();
        skip = backend.name !== 'IN-MEMORY' && server === undefined;
        if (skip) return;
        const parsed = parseResponseCacheConfig(backend.yaml(server));
        f = await frontend({ responseCache: { cache: parsed.cache, name: parsed.name } as FrontendCache });
      }, 60_000);
      afterAll(async () => {
        await server?.stop();
      });

      const count = () => proxy.rangeQueries().length;

      it('serves a repeat from the cache with zero downstream range requests', async ({ skip: skipTest }) => {
        if (skip) skipTest();
        const q = QUERIES[0] as (typeof QUERIES)[number];
        const aligned = {
          ...q,
          start: Math.trunc(q.start / q.step) * q.step,
          end: Math.trunc(q.end / q.step) * q.step,
        };
        const want = await get(prom.url, '/api/v1/query_range', rangeParams(aligned));
        const n0 = count();
        const first = await get(f.url, '/api/v1/query_range', rangeParams(q));
        expect(first.body).toEqual(want.body);
        const n1 = count();
        expect(n1 - n0).toBe(5);
        // Stores are asynchronous for memcached/redis: wait until the repeat is a full hit.
        let second: Answer | undefined;
        for (let i = 0; i < 50; i++) {
          const before = count();
          second = await get(f.url, '/api/v1/query_range', rangeParams(q));
          if (count() === before) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(second?.body).toEqual(want.body);
        const n2 = count();
        const third = await get(f.url, '/api/v1/query_range', rangeParams(q));
        expect(third.body).toEqual(want.body);
        expect(count()).toBe(n2);
        const metrics = await (await fetch(`${f.url}/metrics`)).text();
        expect(metrics).toMatch(/cortex_cache_hits_total\{name="\w+",tripperware="query_range"\} [1-9]/);
      });

      it('a partial overlap only fetches the missing day', async ({ skip: skipTest }) => {
        if (skip) skipTest();
        const query = `sum by (instance) (gen_gauge_1) + 0 * ${backend.name.length}`;
        const step = 300_000;
        const first = { query, start: D0 + DAY, end: D0 + 3 * DAY - step, step };
        await get(f.url, '/api/v1/query_range', rangeParams(first));
        const second = { query, start: D0 + DAY, end: D0 + 4 * DAY - step, step };
        const want = await get(prom.url, '/api/v1/query_range', rangeParams(second));
        let got: Answer | undefined;
        let fetched: SeenRequest[] = [];
        for (let i = 0; i < 50; i++) {
          const before = count();
          got = await get(f.url, '/api/v1/query_range', rangeParams(second));
          fetched = proxy.rangeQueries().slice(before);
          if (fetched.length <= 1) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(got?.body).toEqual(want.body);
        expect(fetched.map((p) => [Number(p.params.get('start')) * 1000, Number(p.params.get('end')) * 1000])).toEqual([
          [D0 + 3 * DAY, D0 + 4 * DAY - step],
        ]);
      });

      it("a coarser preset is answered from a finer step's entry the step index lists", async ({ skip: skipTest }) => {
        if (skip) skipTest();
        const query = `sum by (job) (rate(gen_counter_0_total[5m])) + 0 * ${backend.name.length}`;
        const range = { query, start: D0 + DAY, end: D0 + 2 * DAY };
        // Stores are asynchronous for memcached/redis: repeat the 1m query until it is a full hit
        // (the step index is written right after the entry, on the same connection).
        for (let i = 0, asked = -1; i < 50 && asked !== 0; i++) {
          if (i > 0) await new Promise((r) => setTimeout(r, 100));
          const before = count();
          await get(f.url, '/api/v1/query_range', rangeParams({ ...range, step: 60_000 }));
          asked = count() - before;
        }
        const coarse = { ...range, step: 600_000 };
        const want = await get(prom.url, '/api/v1/query_range', rangeParams(coarse));
        const before = count();
        const got = await get(f.url, '/api/v1/query_range', rangeParams(coarse));
        expect(count() - before).toBe(0);
        expect(got.body).toEqual(want.body);
      });

      it('honours Cache-Control: no-store', async ({ skip: skipTest }) => {
        if (skip) skipTest();
        const q = QUERIES[2] as (typeof QUERIES)[number];
        const a = await get(f.url, '/api/v1/query_range', rangeParams(q), { 'Cache-Control': 'no-store' });
        const n = count();
        const b = await get(f.url, '/api/v1/query_range', rangeParams(q), { 'Cache-Control': 'no-store' });
        expect(b.body).toEqual(a.body);
        expect(count()).toBeGreaterThan(n);
      });

      it('answers correctly with the cache server gone (misses, not errors)', async ({ skip: skipTest }) => {
        if (skip || !server) skipTest();
        await server?.stop();
        server = undefined;
        const q = QUERIES[5] as (typeof QUERIES)[number];
        const aligned = {
          ...q,
          start: Math.trunc(q.start / q.step) * q.step,
          end: Math.trunc(q.end / q.step) * q.step,
        };
        const want = await get(prom.url, '/api/v1/query_range', rangeParams(aligned));
        const got = await get(f.url, '/api/v1/query_range', rangeParams(q));
        expect(got.status).toBe(200);
        expect(got.body).toEqual(want.body);
      });
    });

    it("reuses a finer step's cached answer for Grafana's coarser presets, equal to Prometheus", async () => {
      const parsed = parseResponseCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 64MB\n');
      if (!parsed.cache) throw new Error('no cache');
      const f = await frontend({ responseCache: { cache: parsed.cache, name: parsed.name } });
      const query = 'sum by (job) (rate(gen_counter_0_total[5m]))';
      const range = { query, start: D0 + DAY, end: D0 + 3 * DAY };
      await get(f.url, '/api/v1/query_range', rangeParams({ ...range, step: 60_000 }));
      for (const step of [120_000, 300_000, 900_000, 3600_000]) {
        const want = await get(prom.url, '/api/v1/query_range', rangeParams({ ...range, step }));
        const before = proxy.rangeQueries().length;
        const got = await get(f.url, '/api/v1/query_range', rangeParams({ ...range, step }));
        expect([step, got.body]).toEqual([step, want.body]);
        expect([step, proxy.rangeQueries().length - before]).toEqual([step, 0]);
      }
    });

    it('retries pieces that failed with 5xx, then gives up with the downstream error', async () => {
      const f = await frontend({ maxRetries: 3 });
      const q = QUERIES[3] as (typeof QUERIES)[number];
      const aligned = { ...q, start: Math.trunc(q.start / q.step) * q.step, end: Math.trunc(q.end / q.step) * q.step };
      const want = await get(prom.url, '/api/v1/query_range', rangeParams(aligned));
      proxy.failNext = 2;
      const got = await get(f.url, '/api/v1/query_range', rangeParams(q));
      expect(got.status).toBe(200);
      expect(got.body).toEqual(want.body);
      expect(proxy.failNext).toBe(0);
      const metrics = await (await fetch(`${f.url}/metrics`)).text();
      expect(metrics).toMatch(/cortex_query_frontend_retries_sum\{tripperware="query_range"\} 2/);
      // One piece failing on all three attempts: the downstream's status and body come back.
      proxy.failNext = 1000;
      const failed = await get(f.url, '/api/v1/query_range', rangeParams({ ...q, end: q.start + H }));
      proxy.failNext = 0;
      expect(failed.status).toBe(503);
      expect(failed.body).toEqual({ status: 'error', errorType: 'unavailable', error: 'injected failure' });
    });

    it('splits labels, label values and series by day: answers equal Prometheus, repeats come from the cache', async () => {
      const parsed = parseResponseCacheConfig('type: IN-MEMORY\nconfig:\n  max_size: 16MB\n');
      if (!parsed.cache) throw new Error('no cache');
      const f = await frontend({ labelsResponseCache: { cache: parsed.cache, name: parsed.name } });
      const range = { start: String((D0 + 3 * H) / 1000), end: String((D0 + 4 * DAY + 5 * H) / 1000) };
      const cases: [string, Params][] = [
        ['/api/v1/labels', range],
        ['/api/v1/labels', { ...range, 'match[]': 'gen_histogram_2_bucket' }],
        ['/api/v1/label/job/values', range],
        ['/api/v1/label/__name__/values', { ...range, 'match[]': '{job="job-1"}' }],
        ['/api/v1/series', { ...range, 'match[]': 'gen_counter_0_total' }],
        ['/api/v1/series', { ...range, 'match[]': '{__name__=~"gen_gauge.*"}' }],
      ];
      const metadataRequests = () =>
        proxy.seen.filter((s) => /\/api\/v1\/(labels|series|label\/[^/]+\/values)$/.test(s.path)).length;
      for (const round of [1, 2]) {
        const before = metadataRequests();
        for (const [path, params] of cases) {
          const want = await get(prom.url, path, params);
          const got = await get(f.url, path, params);
          expect(want.status).toBe(200);
          expect((want.body as { data: unknown[] }).data.length, path).toBeGreaterThan(0);
          expect([path, round, got.body]).toEqual([path, round, want.body]);
        }
        // Five day pieces per request the first time; none the second.
        expect(metadataRequests() - before).toBe(round === 1 ? 5 * cases.length : 0);
      }
      const metrics = await (await fetch(`${f.url}/metrics`)).text();
      expect(metrics).toMatch(/thanos_frontend_split_queries_total\{tripperware="labels"\} 60/);
      // With --labels.default-time-range=0 a request without a range goes through unchanged
      // (Prometheus answers over all time).
      const open = { 'match[]': 'gen_gauge_1' };
      const whole = await frontend({ labelsDefaultTimeRangeMs: 0 });
      expect((await get(whole.url, '/api/v1/series', open)).body).toEqual(
        (await get(prom.url, '/api/v1/series', open)).body,
      );
    });

    it('--labels.default-time-range bounds labels and series requests without a range, as Thanos', async () => {
      // "Now" is inside the data, an hour after the middle of day 3.
      const now = D0 + 2 * DAY + 13 * H;
      const f = await frontend({ now: () => now, labelsDefaultTimeRangeMs: 6 * H });
      const s = (t: number) => String(t / 1000);
      for (const [path, params, range] of [
        ['/api/v1/series', { 'match[]': '{__name__=~"gen_.+"}' }, { start: s(now - 6 * H), end: s(now) }],
        ['/api/v1/labels', { end: s(now - 3 * H) }, { start: s(now - 6 * H), end: s(now - 3 * H) }],
        ['/api/v1/label/shard/values', { start: s(now - 2 * DAY) }, { start: s(now - 2 * DAY), end: s(now) }],
      ] as [string, Params, Params][]) {
        const before = proxy.seen.length;
        const got = await get(f.url, path, params);
        const want = await get(prom.url, path, { ...params, ...range });
        expect([path, got.status, got.body]).toEqual([path, want.status, want.body]);
        // The downstream saw the default bounds (split into day pieces when the range crosses days).
        const sent = proxy.seen.slice(before).filter((r) => r.path === path);
        expect(sent.length).toBeGreaterThan(0);
        expect(Math.min(...sent.map((r) => Number(r.params.get('start'))))).toBe(Number(range.start));
        expect(Math.max(...sent.map((r) => Number(r.params.get('end'))))).toBe(Number(range.end));
      }
      // An end before the defaulted start goes downstream as it is and gets the downstream's answer.
      const early = { end: s(now - DAY) };
      const bad = await get(f.url, '/api/v1/labels', early);
      const wantBad = await get(prom.url, '/api/v1/labels', { ...early, start: s(now - 6 * H) });
      expect([bad.status, bad.body]).toEqual([wantBad.status, wantBad.body]);
    });

    it.each([
      { name: 'missing start', params: { query: 'up', end: '100', step: '15' } },
      { name: 'end before start', params: { query: 'up', start: '100', end: '10', step: '15' } },
      { name: 'bad step', params: { query: 'up', start: '0', end: '100', step: 'often' } },
      { name: 'zero step', params: { query: 'up', start: '0', end: '100', step: '0' } },
      { name: 'too many points', params: { query: 'up', start: '0', end: '100000', step: '1' } },
      { name: 'bad time', params: { query: 'up', start: 'yesterday', end: '100', step: '15' } },
      { name: 'parse error', params: { query: 'sum(', start: '0', end: '100', step: '15' } },
      { name: 'empty query', params: { query: '', start: '0', end: '100', step: '15' } },
      { name: 'bad timeout', params: { query: 'up', start: '0', end: '100', step: '15', timeout: 'soon' } },
    ] as { name: string; params: Params }[])(
      "bad input ($name) gets Prometheus's status and error JSON",
      async ({ params }) => {
        const f = started[0] as QueryFrontend;
        const want = await get(prom.url, '/api/v1/query_range', params);
        const got = await get(`http://${f.httpAddress}`, '/api/v1/query_range', params);
        expect(want.status).toBe(400);
        expect(got.status).toBe(want.status);
        expect(got.body).toEqual(want.body);
      },
    );

    it("refuses ranges over --query-range.max-query-length with Thanos's text", async () => {
      const f = await frontend({ maxQueryLengthMs: 2 * DAY });
      const got = await get(
        f.url,
        '/api/v1/query_range',
        rangeParams({ query: 'up', start: D0, end: D0 + 3 * DAY, step: 3600_000 }),
      );
      expect(got.status).toBe(400);
      expect(got.body).toEqual({
        status: 'error',
        errorType: 'bad_data',
        error: 'the query time range exceeds the limit (query length: 72h0m0s, limit: 48h0m0s)',
      });
    });

    it('forwards configured headers, gzips when asked, logs slow queries and proxies the rest', async () => {
      const lines: [string, Record<string, unknown> | undefined][] = [];
      const logger: Logger = {
        debug() {},
        info: (msg, fields) => lines.push([msg, fields]),
        warn() {},
        error() {},
      };
      const f = await frontend({
        forwardHeaders: ['X-Dashboard'],
        compressResponses: true,
        logQueriesLongerThanMs: -1,
        logger,
        // Labels and series requests without a range go through as sent (not bounded to the last day).
        labelsDefaultTimeRangeMs: 0,
      });
      const before = proxy.rangeQueries().length;
      const q = QUERIES[0] as (typeof QUERIES)[number];
      const res = await fetch(`${f.url}/api/v1/query_range?${new URLSearchParams(rangeParams(q))}`, {
        headers: { 'X-Dashboard': 'node-exporter', 'X-Other': 'no', 'Accept-Encoding': 'gzip', [TEST_REQUEST]: 'test' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(((await res.json()) as { status: string }).status).toBe('success');
      const sent = proxy.rangeQueries().slice(before);
      expect(sent.length).toBeGreaterThan(0);
      expect(
        sent.every((s) => s.headers['x-dashboard'] === 'node-exporter' && s.headers['x-other'] === undefined),
      ).toBe(true);
      const slow = lines.find(([m]) => m === 'slow query detected');
      expect(slow?.[1]).toMatchObject({ path: '/api/v1/query_range', param_query: q.query, org_id: 'anonymous' });
      expect(slow?.[1]?.time_taken_ms).toEqual(expect.any(Number));
      // Everything else passes through: instant queries, labels, series, build info.
      for (const [path, params] of [
        ['/api/v1/query', { query: 'count(gen_gauge_1)', time: String((D0 + DAY) / 1000) }],
        ['/api/v1/labels', {}],
        ['/api/v1/label/job/values', {}],
        ['/api/v1/series', { 'match[]': 'gen_gauge_1' }],
        ['/api/v1/status/buildinfo', {}],
      ] as [string, Params][]) {
        const want = await get(prom.url, path, params);
        const got = await get(f.url, path, params);
        expect([path, got.status]).toEqual([path, want.status]);
        expect(got.body).toEqual(want.body);
      }
    });
  },
);
