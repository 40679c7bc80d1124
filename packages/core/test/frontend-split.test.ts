// The query frontend's pure parts (split, align, merge, results cache) and its lifecycle, without
// external programs. The answers against real Prometheus are in frontend-prometheus.test.ts.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ComponentClosedError } from '../src/component/component.js';
import {
  alignToStep,
  createBoundedCache,
  createQueryFrontend,
  createResultsCache,
  type DownstreamAnswer,
  encodeMatrixResponse,
  extractMatrix,
  hashKey,
  isCacheableQuery,
  type MatrixResponse,
  type MatrixSeries,
  matrixFromRaw,
  mergeMatrices,
  nextIntervalBoundary,
  parseRangeRequest,
  parseResponseCacheConfig,
  type RangeRequest,
  rangeCacheKey,
  rangeStepIndexKey,
  rawFromMatrix,
  resolveAtModifiers,
  splitRangeRequest,
} from '../src/frontend/index.js';
import { NOP_LOGGER } from '../src/log/logger.js';

/** Deterministic PRNG (mulberry32) for the randomized cases. */
function createTestingRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const H = 3600_000;
const DAY = 24 * H;

function req(start: number, end: number, step: number, query = 'up'): RangeRequest {
  return {
    path: '/api/v1/query_range',
    query,
    start,
    end,
    step,
    dedup: true,
    partialResponse: true,
    maxSourceResolution: 0,
    replicaLabels: [],
    other: [],
    headers: [],
    tenant: 'default-tenant',
    noStore: false,
  };
}

/** Evaluation timestamps of a range query: start, start+step, … ≤ end. */
function grid(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let t = start; t <= end; t += step) out.push(t);
  return out;
}

/** A deterministic "downstream": two series whose value at t is a function of t only. */
function answer(r: RangeRequest): MatrixResponse {
  const ts = grid(r.start, r.end, r.step);
  return {
    series: [
      // A series present only in the first half of each day, as churn makes them.
      {
        metric: { __name__: 'a' } as Record<string, string>,
        ts: ts.filter((t) => t % DAY < DAY / 2),
        value: (t: number) => String(t % 7),
      },
      { metric: { __name__: 'b', job: 'x' }, ts, value: (t: number) => String(t / 1000) },
    ]
      .map((s): MatrixSeries => ({ metric: s.metric, timestamps: s.ts, values: s.ts.map(s.value), histograms: [] }))
      .filter((s) => s.values.length > 0),
    warnings: r.query.includes('warn') ? ['w1'] : [],
    infos: [],
  };
}

describe('split by interval', () => {
  it.each([
    { name: 'step divides the day', start: 0, end: 3 * DAY, step: 60_000, pieces: 3 },
    { name: 'end inside a day', start: 0, end: 2 * DAY + 5 * H, step: 15_000, pieces: 3 },
    { name: 'odd step crossing boundaries', start: 7_000, end: 2 * DAY + 13_000, step: 7 * 60_000 + 13_000, pieces: 2 },
    { name: 'step larger than the interval', start: 0, end: 10 * DAY, step: 36 * H, pieces: 7 },
    { name: 'instant-like range', start: DAY, end: DAY, step: 60_000, pieces: 1 },
  ])('$name: pieces keep every evaluation timestamp exactly once', ({ start, end, step, pieces }) => {
    const parts = splitRangeRequest(req(start, end, step), DAY);
    expect(parts).toHaveLength(pieces);
    const got = parts.flatMap((p) => grid(p.start, p.end, p.step));
    expect(got).toEqual(grid(start, end, step));
    // Every piece but the last stays within one interval; the last may take the final step past it.
    for (const p of parts.slice(0, -1)) expect(Math.floor(p.start / DAY)).toBe(Math.floor(p.end / DAY));
  });

  it('randomized ranges and steps always cover the same timestamps', () => {
    const rand = createTestingRandom(7);
    for (let i = 0; i < 2000; i++) {
      const step = 1000 * (1 + Math.floor(rand() * (rand() < 0.2 ? 200_000 : 3600)));
      const start = Math.floor(rand() * 10 * DAY);
      const end = start + Math.floor(rand() * Math.min(11_000 * step, 12 * DAY));
      const interval = [H, DAY, 7 * DAY][i % 3] as number;
      const parts = splitRangeRequest(req(start, end, step), interval);
      expect(parts.flatMap((p) => grid(p.start, p.end, p.step))).toEqual(grid(start, end, step));
    }
  });

  it('nextIntervalBoundary is the last step before the boundary', () => {
    expect(nextIntervalBoundary(0, 10 * H, DAY)).toBe(20 * H);
    expect(nextIntervalBoundary(0, 60_000, DAY)).toBe(DAY - 60_000);
    expect(nextIntervalBoundary(0, 2 * DAY, DAY)).toBe(0);
  });

  it('aligns start and end down to the step', () => {
    const r = alignToStep(req(61_000, 3 * 60_000 + 59_000, 60_000));
    expect([r.start, r.end]).toEqual([60_000, 180_000]);
  });

  it('resolves @ start() and @ end() before splitting', () => {
    expect(resolveAtModifiers('rate(x[5m] @ end()) + y @ start()', 1000, 2_000_500)).toBe(
      'rate(x[5m] @ 2000.500) + y @ 1.000',
    );
    expect(resolveAtModifiers('sum(rate(x[5m]))', 0, 1)).toBe('sum(rate(x[5m]))');
    const parts = splitRangeRequest(req(0, 2 * DAY, H, 'x @ end()'), DAY);
    expect(new Set(parts.map((p) => p.query))).toEqual(new Set([`x @ ${(2 * DAY) / 1000}.000`]));
  });

  it.each([
    { query: 'x offset 5m', cacheable: true },
    { query: 'x offset -5m', cacheable: false },
    { query: 'x @ 100', cacheable: true },
    { query: 'x @ 1000000.001', cacheable: false },
    { query: 'x @ 300', cacheable: true },
    { query: 'sum(x offset', cacheable: false },
  ])('cacheable($query) = $cacheable', ({ query, cacheable }) => {
    expect(isCacheableQuery(query, 200_000, 1_000_000)).toBe(cacheable);
  });
});

describe('range request parameters', () => {
  const ctx = { defaultPartialResponse: true, headers: [], tenant: 't', noStore: false };
  const parse = (q: string) => parseRangeRequest('/api/v1/query_range', new URLSearchParams(q), ctx);
  it.each([
    { q: 'query=up&end=1&step=1', err: 'invalid parameter "start": cannot parse "" to a valid timestamp' },
    {
      q: 'query=up&start=10&end=1&step=1',
      err: 'invalid parameter "end": end timestamp must not be before start time',
    },
    { q: 'query=up&start=0&end=1', err: 'invalid parameter "step": cannot parse "" to a valid duration' },
    {
      q: 'query=up&start=0&end=1&step=0',
      err: 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    },
    {
      q: 'query=up&start=0&end=100000&step=1',
      err: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    },
    { q: 'query=up&start=0&end=1&step=1&dedup=maybe', err: 'cannot parse parameter dedup' },
    { q: 'query=up&start=0&end=1&step=1&partial_response=x', err: 'cannot parse parameter partial_response' },
  ])('$q → 400 $err', ({ q, err }) => {
    try {
      parse(q);
      expect.unreachable();
    } catch (e) {
      const x = e as { status: number; body: string };
      expect(x.status).toBe(400);
      expect(JSON.parse(x.body)).toEqual({ status: 'error', errorType: 'bad_data', error: err });
    }
  });

  it('cache keys hold what changes the answer and nothing else', () => {
    const base = parse('query=up&start=0&end=3600&step=60');
    const key = (q: string) => rangeCacheKey(parse(q), DAY);
    expect(key('query=up&start=0&end=3600&step=60&timeout=10s')).toBe(rangeCacheKey(base, DAY));
    expect(key('query=up&start=0&end=3600&step=60&dedup=true')).toBe(rangeCacheKey(base, DAY));
    expect(key('query=up&start=60&end=3600&step=60')).toBe(rangeCacheKey(base, DAY));
    for (const changed of [
      'query=up&start=0&end=3600&step=60&dedup=false',
      'query=up&start=0&end=3600&step=60&partial_response=false',
      'query=up&start=0&end=3600&step=60&max_source_resolution=1h',
      'query=up&start=0&end=3600&step=60&replicaLabels[]=replica',
      'query=up&start=0&end=3600&step=60&engine=thanos',
      'query=up&start=0&end=3600&step=60&lookback_delta=1m',
      'query=up&start=30&end=3600&step=60',
      'query=up&start=0&end=3600&step=30',
      'query=down&start=0&end=3600&step=60',
    ])
      expect(key(changed), changed).not.toBe(rangeCacheKey(base, DAY));
  });
});

describe('merge and extract', () => {
  it('merged pieces equal the whole answer, in Prometheus series order', () => {
    const whole = answer(req(0, 3 * DAY, 10 * 60_000));
    const pieces = splitRangeRequest(req(0, 3 * DAY, 10 * 60_000), DAY).map(answer);
    const merged = mergeMatrices(pieces.reverse());
    expect(merged.series.map((s) => s.metric.__name__)).toEqual(['a', 'b']);
    expect(merged).toEqual(whole);
    // Overlapping answers keep each timestamp once.
    const twice = mergeMatrices([answer(req(0, 2 * H, 60_000)), answer(req(H, 3 * H, 60_000))]);
    expect(twice.series[1]?.timestamps).toEqual(grid(0, 3 * H, 60_000));
  });

  it('keeps warnings once and writes Prometheus JSON', () => {
    const a = answer(req(0, 60_000, 60_000, 'warn'));
    const m = mergeMatrices([a, a]);
    expect(m.warnings).toEqual(['w1']);
    expect(JSON.parse(encodeMatrixResponse(m).toString())).toEqual({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { __name__: 'a' },
            values: [
              [0, '0'],
              [60, '3'],
            ],
          },
          {
            metric: { __name__: 'b', job: 'x' },
            values: [
              [0, '0'],
              [60, '60'],
            ],
          },
        ],
      },
      warnings: ['w1'],
    });
    expect(extractMatrix(m, 60_000, 60_000).series.map((s) => [s.timestamps, s.values])).toEqual([
      [[60_000], ['3']],
      [[60_000], ['60']],
    ]);
  });
});

describe('results cache', () => {
  function setup(now = 100 * DAY) {
    const calls: [number, number][] = [];
    // Keys looked up and found, as cortex_cache_fetched_keys_total / cortex_cache_hits_total count them.
    const lookups = { keys: 0, hits: 0 };
    const cache = createBoundedCache({ maxSizeBytes: 64 << 20, maxItems: 0, validityMs: 0 });
    const raw = createResultsCache({
      cache,
      ttlMs: 0,
      splitIntervalMs: DAY,
      maxFreshnessMs: 60_000,
      now: () => now,
      logger: NOP_LOGGER,
      onFetch: (keys, hits) => {
        lookups.keys += keys;
        lookups.hits += hits;
      },
      next: async (r): Promise<DownstreamAnswer> => {
        calls.push([r.start, r.end]);
        return { resp: rawFromMatrix(answer(r)), cacheable: !r.query.includes('nostore') };
      },
    });
    // Answers in their plain form, to compare with the "downstream's" own.
    const rc = { query: async (r: RangeRequest, signal: AbortSignal) => matrixFromRaw(await raw.query(r, signal)) };
    return { calls, rc, cache, lookups };
  }
  const sig = new AbortController().signal;

  it('a repeat is a hit; an extended range fetches only the missing part', async () => {
    const { calls, rc } = setup();
    const first = req(DAY, DAY + 12 * H, 60_000);
    expect(await rc.query(first, sig)).toEqual(answer(first));
    expect(await rc.query(first, sig)).toEqual(answer(first));
    expect(calls).toEqual([[DAY, DAY + 12 * H]]);
    const longer = req(DAY, 2 * DAY - 60_000, 60_000);
    expect(await rc.query(longer, sig)).toEqual(answer(longer));
    expect(calls.slice(1)).toEqual([[DAY + 12 * H, 2 * DAY - 60_000]]);
    const inner = req(DAY + H, DAY + 20 * H, 60_000);
    expect(await rc.query(inner, sig)).toEqual(answer(inner));
    expect(calls).toHaveLength(2);
  });

  it('fills a gap between two extents with one request', async () => {
    const { calls, rc } = setup();
    await rc.query(req(DAY, DAY + 2 * H, 60_000), sig);
    await rc.query(req(DAY + 6 * H, DAY + 8 * H, 60_000), sig);
    const all = req(DAY, DAY + 10 * H, 60_000);
    expect(await rc.query(all, sig)).toEqual(answer(all));
    expect(calls.slice(2)).toEqual([
      [DAY + 2 * H, DAY + 6 * H],
      [DAY + 8 * H, DAY + 10 * H],
    ]);
  });

  it('an extent ending off the step grid does not shift the next request', async () => {
    const { calls, rc } = setup();
    await rc.query(req(DAY, DAY + 95 * 60_000 + 30_000, 60_000), sig);
    const r = req(DAY, DAY + 3 * H, 60_000);
    expect(await rc.query(r, sig)).toEqual(answer(r));
    expect(calls[1]?.[0]).toBe(DAY + 96 * 60_000);
  });

  it("answers a coarser dashboard step from a finer step's entry (Grafana presets)", async () => {
    const { calls, rc } = setup();
    await rc.query(req(DAY, DAY + 6 * H, 60_000), sig);
    const coarse = req(DAY, DAY + 6 * H, 300_000);
    expect(await rc.query(coarse, sig)).toEqual(answer(coarse));
    // A longer coarse range: only the part the fine entry lacks goes downstream.
    const longer = req(DAY, DAY + 9 * H, 300_000);
    expect(await rc.query(longer, sig)).toEqual(answer(longer));
    expect(calls).toEqual([
      [DAY, DAY + 6 * H],
      [DAY + 6 * H, DAY + 9 * H],
    ]);
    // Not for uncommon steps, nor when the grids differ.
    const odd = req(DAY, DAY + 6 * H, 420_000);
    expect(await rc.query(odd, sig)).toEqual(answer(odd));
    const shifted = req(DAY + 30_000, DAY + 6 * H, 300_000);
    expect(await rc.query(shifted, sig)).toEqual(answer(shifted));
    expect(calls).toHaveLength(4);
  });

  it('looks up only the finer steps the step index lists', async () => {
    const { calls, rc, lookups } = setup();
    // Cold: its own key and the (absent) step index; none of the six finer common steps.
    await rc.query(req(DAY, DAY + 6 * H, 60_000), sig);
    expect(lookups).toEqual({ keys: 2, hits: 0 });
    // A 10m preset: its key misses, the index lists 1m, and the 1m entry answers it.
    const coarse = req(DAY, DAY + 6 * H, 600_000);
    expect(await rc.query(coarse, sig)).toEqual(answer(coarse));
    expect(lookups).toEqual({ keys: 5, hits: 2 });
    expect(calls).toHaveLength(1);
    // A 2m preset: the index now lists 1m and 10m; only 1m divides 2m.
    const two = req(DAY, DAY + 6 * H, 120_000);
    expect(await rc.query(two, sig)).toEqual(answer(two));
    expect(lookups).toEqual({ keys: 8, hits: 4 });
    // A 30m preset: 10m, the coarsest listed finer step, is read; 2m and 1m are not.
    const half = req(DAY, DAY + 6 * H, 1_800_000);
    expect(await rc.query(half, sig)).toEqual(answer(half));
    expect(lookups).toEqual({ keys: 11, hits: 6 });
    expect(calls).toHaveLength(1);
  });

  it('with a damaged step index a coarser step goes downstream and is answered right', async () => {
    const { calls, rc, cache } = setup();
    const fine = req(DAY, DAY + 6 * H, 60_000);
    await rc.query(fine, sig);
    const indexKey = hashKey(rangeStepIndexKey(fine, DAY));
    const damaged: [string, number][] = [
      ['{"key":"fe-steps:another query","steps":["60000/0"]}', 300_000],
      ['not json', 600_000],
      [JSON.stringify({ key: rangeStepIndexKey(fine, DAY), steps: '60000/0' }), 900_000],
    ];
    for (const [entry, step] of damaged) {
      cache.store(indexKey, Buffer.from(entry), 0);
      const coarse = req(DAY, DAY + 6 * H, step);
      expect(await rc.query(coarse, sig)).toEqual(answer(coarse));
    }
    expect(calls).toHaveLength(4);
    // Each of those rewrote the index with its own step only: a 30m request now reuses the 15m entry.
    const half = req(DAY, DAY + 6 * H, 1_800_000);
    expect(await rc.query(half, sig)).toEqual(answer(half));
    expect(calls).toHaveLength(4);
  });

  it('never stores data within max freshness, nor no-store answers, nor no-store requests', async () => {
    const now = 10 * DAY + 12 * H;
    const { calls, rc } = setup(now);
    const recent = req(10 * DAY, now, 60_000);
    await rc.query(recent, sig);
    await rc.query(recent, sig);
    // The second asks only for what is newer than now - 1m.
    expect(calls[1]).toEqual([now - 60_000, now]);
    const ns = req(DAY, DAY + H, 60_000, 'nostore');
    await rc.query(ns, sig);
    await rc.query(ns, sig);
    expect(calls.slice(2)).toHaveLength(2);
    const clientNoStore = { ...req(2 * DAY, 2 * DAY + H, 60_000), noStore: true };
    await rc.query(clientNoStore, sig);
    await rc.query(clientNoStore, sig);
    expect(calls.slice(4)).toHaveLength(2);
  });
});

describe('response cache YAML', () => {
  it.each([
    {
      yaml: 'type: IN-MEMORY\nconfig:\n  max_size: 1MB\n  max_size_items: 10\n  validity: 1h',
      name: 'fifocache',
      on: true,
    },
    { yaml: 'type: in-memory\nconfig:\n  max_size_items: 10', name: 'fifocache', on: true },
    { yaml: 'type: IN-MEMORY', name: 'fifocache', on: false },
    { yaml: 'type: MEMCACHED\nconfig:\n  addresses: [127.0.0.1:1]\n  expiration: 1h', name: 'memcache', on: true },
    { yaml: 'type: REDIS\nconfig:\n  addr: 127.0.0.1:1\n  expiration: 1h', name: 'redis', on: true },
  ])('$yaml', async ({ yaml, name, on }) => {
    const c = parseResponseCacheConfig(yaml);
    expect(c.name).toBe(name);
    expect(c.cache !== undefined).toBe(on);
    await c.cache?.close();
  });

  it.each([
    { yaml: 'type: FILE', err: /response cache with type FILE is not supported/ },
    { yaml: 'type: IN-MEMORY\nfoo: 1', err: /field foo not found/ },
    { yaml: 'type: IN-MEMORY\nconfig:\n  max_size: lots', err: /invalid size/ },
    { yaml: 'type: MEMCACHED\nconfig: {}', err: /no memcached addresses provided/ },
    { yaml: 'type: REDIS\nconfig:\n  addr: x:1\n  bogus: 1', err: /field bogus not found/ },
  ])('rejects $yaml', ({ yaml, err }) => {
    expect(() => parseResponseCacheConfig(yaml)).toThrow(err);
  });
});

describe('query frontend lifecycle', () => {
  it('create → start → close twice → port free → start after close rejects; await using', async () => {
    // A downstream that is ready, so /-/ready is 200.
    const down: Server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
    try {
      const make = () => createQueryFrontend({ downstreamUrl: url, httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0 });
      const f = make();
      expect(f.httpAddress).toBeUndefined();
      await f.start();
      const http = f.httpAddress as string;
      expect((await fetch(`http://${http}/-/healthy`)).status).toBe(200);
      expect((await fetch(`http://${http}/-/ready`)).status).toBe(200);
      expect(await (await fetch(`http://${http}/metrics`)).text()).toContain('thanos_query_frontend_queries_total');
      await Promise.all([f.close(), f.close()]);
      await expect(fetch(`http://${http}/-/healthy`)).rejects.toThrow();
      await expect(f.start()).rejects.toBeInstanceOf(ComponentClosedError);
      let inner: ReturnType<typeof make> | undefined;
      {
        await using d = make();
        inner = d;
        await d.start();
      }
      expect(inner?.ready()).toBe(false);
    } finally {
      await new Promise<void>((r) => down.close(() => r()));
    }
  });

  it('a downstream answering garbage gives a clear 500 after the retries; 4xx is not retried', async () => {
    let rangeCalls = 0;
    let mode: 'garbage' | 'bad' = 'garbage';
    const down: Server = createServer((req, res) => {
      if (req.url?.startsWith('/api/v1/query_range')) {
        rangeCalls++;
        if (mode === 'garbage') {
          res.writeHead(200, { 'Content-Type': 'text/html' });
          res.end('<html>proxy error page</html>');
        } else {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end('{"status":"error","errorType":"bad_data","error":"nope"}');
        }
        return;
      }
      res.end('ok');
    });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    try {
      await using f = createQueryFrontend({
        downstreamUrl: `http://127.0.0.1:${(down.address() as AddressInfo).port}`,
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        maxRetries: 2,
      });
      await f.start();
      const url = `http://${f.httpAddress}/api/v1/query_range?query=up&start=0&end=60&step=15`;
      const garbage = await fetch(url);
      expect(garbage.status).toBe(500);
      expect(((await garbage.json()) as { error: string }).error).toMatch(/^error decoding response: /);
      expect(rangeCalls).toBe(2);
      mode = 'bad';
      rangeCalls = 0;
      const bad = await fetch(url);
      expect([bad.status, await bad.json()]).toEqual([400, { status: 'error', errorType: 'bad_data', error: 'nope' }]);
      expect(rangeCalls).toBe(1);
    } finally {
      await new Promise<void>((r) => down.close(() => r()));
    }
  });

  it('is not ready while the downstream is unreachable, and says why', async () => {
    await using f = createQueryFrontend({
      downstreamUrl: 'http://127.0.0.1:1',
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
    });
    await f.start();
    const res = await fetch(`http://${f.httpAddress}/-/ready`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/NOT READY: .*127\.0\.0\.1:1\/-\/ready/);
    expect(await (await fetch(`http://${f.httpAddress}/metrics`)).text()).toContain(
      'thanos_status{check="ready",component="query-frontend"} 0',
    );
    // A query gets a clear 502 rather than a hang.
    const q = await fetch(`http://${f.httpAddress}/api/v1/query_range?query=up&start=0&end=60&step=15`);
    expect(q.status).toBe(502);
    expect((await q.json()) as { errorType: string }).toMatchObject({ status: 'error', errorType: 'unavailable' });
  });
});
