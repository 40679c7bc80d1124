// The query frontend's remaining Thanos flags, in front of a real Prometheus 2.42 over promtool
// blocks: dynamic split intervals, snappy-compressed results cache, the slow query log's fields,
// and the downstream tripper config (TLS with real certificates, connection limit, header timeout).
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  makeTestCerts,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInMemoryCache } from '../src/cache/inmemory.js';
import {
  createQueryFrontend,
  parseCacheCompression,
  parseDownstreamTripperConfig,
  type QueryFrontend,
  type QueryFrontendOptions,
  withSnappy,
} from '../src/frontend/index.js';
import type { Logger } from '../src/log/logger.js';

const H = 3600_000;
const DAY = 24 * H;
const D0 = 1_699_920_000_000;

describe('flag values', () => {
  it('downstream tripper YAML: strict fields, Thanos names, TLS files read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qfe-tripper-'));
    makeTestCerts(dir, { serverName: 'querier.test', clientName: 'frontend' });
    const cfg = await parseDownstreamTripperConfig(
      [
        'idle_conn_timeout: 2m',
        'response_header_timeout: 30s',
        'tls_handshake_timeout: 5s',
        'expect_continue_timeout: 1s',
        'max_idle_conns: 100',
        'max_idle_conns_per_host: 100',
        'max_conns_per_host: 8',
        'tls_config:',
        `  ca_file: ${join(dir, 'ca.crt')}`,
        `  cert_file: ${join(dir, 'client.crt')}`,
        `  key_file: ${join(dir, 'client.key')}`,
        '  server_name: querier.test',
      ].join('\n'),
    );
    expect(cfg).toMatchObject({
      idleConnTimeoutMs: 120_000,
      responseHeaderTimeoutMs: 30_000,
      tlsHandshakeTimeoutMs: 5_000,
      maxConnsPerHost: 8,
      tls: { serverName: 'querier.test' },
    });
    expect(cfg.tls?.ca).toMatch(/BEGIN CERTIFICATE/);
    expect(cfg.tls?.key).toMatch(/PRIVATE KEY/);
    await expect(parseDownstreamTripperConfig('idle_timeout: 1m')).rejects.toThrow(
      /field idle_timeout not found in type queryfrontend.DownstreamTripperConfig/,
    );
    await expect(parseDownstreamTripperConfig('tls_config:\n  ca_file: /nonexistent/ca.crt')).rejects.toThrow(
      /tls_config.ca_file: ENOENT/,
    );
    await expect(parseDownstreamTripperConfig('max_conns_per_host: many')).rejects.toThrow(/want an integer/);
    expect(await parseDownstreamTripperConfig('')).toEqual({});
    await removeTempDir(dir);
  });

  it("cache compression: snappy or nothing, with Cortex's error otherwise; entries are snappy blocks", async () => {
    expect(parseCacheCompression('snappy')).toBe('snappy');
    expect(parseCacheCompression('')).toBe('');
    expect(() => parseCacheCompression('gzip')).toThrow('unsupported compression type: gzip');
    const inner = createInMemoryCache({ maxSizeBytes: 1 << 20 });
    const c = withSnappy(inner);
    const value = new TextEncoder().encode('x'.repeat(10_000));
    c.store('k', value, 0);
    const raw = (await inner.fetch(['k'])).get('k');
    expect(raw?.length).toBeLessThan(1000);
    expect(new Uint8Array((await c.fetch(['k'])).get('k') ?? [])).toEqual(value);
    // An entry that is not snappy (written before compression was on) is a miss, not an error.
    inner.store('plain', new TextEncoder().encode('{"not":"snappy"}'), 0);
    expect((await c.fetch(['plain', 'k'])).has('plain')).toBe(false);
  });

  it.each([
    [{ minSplitIntervalMs: H, maxSplitIntervalMs: DAY, horizontalShards: 4 }, /cannot be set at the same time/],
    [
      { splitIntervalMs: 0, minSplitIntervalMs: H, maxSplitIntervalMs: DAY },
      /^min horizontal shards should be greater than 0 when query split threshold is enabled$/,
    ],
    [
      { splitIntervalMs: 0, minSplitIntervalMs: H, horizontalShards: 4 },
      /^max query split interval should be greater than 0 when query split threshold is enabled$/,
    ],
    [
      { splitIntervalMs: 0, maxSplitIntervalMs: DAY, horizontalShards: 4 },
      /^min query split interval should be greater than 0 when query split threshold is enabled$/,
    ],
    [{ orgIdHeaders: ['X-Org'], tenantHeader: 'X-Tenant' }, /org-id-header and query-frontend.tenant-header cannot/],
    [{ cacheCompression: 'lz4' as 'snappy' }, /unsupported compression type: lz4/],
  ] as [QueryFrontendOptions, RegExp][])('refuses %j', (opts, err) => {
    expect(() => createQueryFrontend(opts)).toThrow(err);
  });
});

interface Seen {
  path: string;
  params: URLSearchParams;
}

/** A recording proxy to `target` (http or https server given), with in-flight counting. */
async function startProxy(
  target: string,
  make: (h: (req: IncomingMessage, res: import('node:http').ServerResponse) => void) => Server = (h) => createServer(h),
): Promise<{ url: string; seen: Seen[]; maxInFlight: () => number; hang: { on: boolean }; close(): Promise<void> }> {
  const seen: Seen[] = [];
  let inFlight = 0;
  let max = 0;
  const hang = { on: false };
  const server = make(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const params = new URLSearchParams(url.search);
    for (const [k, v] of new URLSearchParams(body.toString())) params.append(k, v);
    if (url.pathname.endsWith('/query_range')) {
      seen.push({ path: url.pathname, params });
      if (hang.on) return; // never answers: the frontend's header timeout must end it
    }
    inFlight++;
    max = Math.max(max, inFlight);
    try {
      const r = await fetch(`${target}${req.url}`, {
        method: req.method ?? 'GET',
        headers: { 'content-type': String(req.headers['content-type'] ?? 'text/plain') },
        ...(req.method === 'GET' ? {} : { body }),
      });
      const out = Buffer.from(await r.arrayBuffer());
      res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'text/plain' });
      res.end(out);
    } finally {
      inFlight--;
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    // http: even for an https server; the TLS test swaps the scheme.
    url: `http://127.0.0.1:${port}`,
    seen,
    maxInFlight: () => max,
    hang,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      }),
  };
}

async function get(base: string, path: string, params: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // text
  }
  return { status: res.status, body };
}

const range = (query: string, start: number, end: number, step: number) => ({
  query,
  start: String(start / 1000),
  end: String(end / 1000),
  step: String(step / 1000),
});

describe.skipIf(!programAvailable('prometheus') || !programAvailable('promtool'))(
  'query frontend flags in front of Prometheus 2.42',
  () => {
    let blocks: GeneratedBlocks;
    let prom: RunningPrometheus;
    const closers: (() => Promise<void>)[] = [];

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
    }, 180_000);

    afterAll(async () => {
      for (const c of closers.reverse()) await c();
      await prom?.stop();
      if (blocks) await removeTempDir(blocks.dir);
    });

    async function frontend(opts: QueryFrontendOptions): Promise<QueryFrontend & { url: string }> {
      const f = createQueryFrontend({ httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0, ...opts });
      closers.push(() => f.close());
      await f.start();
      return Object.assign(f, { url: `http://${f.httpAddress}` });
    }

    it("dynamic split intervals (Thanos's min/max split interval and horizontal shards) with a snappy cache", async () => {
      const proxy = await startProxy(prom.url);
      closers.push(proxy.close);
      const f = await frontend({
        downstreamUrl: proxy.url,
        splitIntervalMs: 0,
        minSplitIntervalMs: H,
        maxSplitIntervalMs: DAY,
        horizontalShards: 4,
        cacheCompression: 'snappy',
        responseCache: { cache: createInMemoryCache({ maxSizeBytes: 64 << 20 }), name: 'fifocache' },
      });
      const query = 'sum by (job) (rate(gen_counter_0_total[5m]))';
      const step = 60_000;
      // [range, interval Thanos's dynamicIntervalFn picks]
      const cases: [number, number, number][] = [
        [D0 + DAY + 6 * H, D0 + DAY + 18 * H, 3 * H], // 12h: shorter than 2 max intervals, longer than min: 12h/4
        [D0 + 6 * H, D0 + 4 * DAY + 6 * H, DAY], // 4 days: at least 2 max intervals
        [D0 + 2 * DAY + 10 * 60_000, D0 + 2 * DAY + 40 * 60_000, H], // 30m: the min interval
      ];
      for (const [start, end, interval] of cases) {
        const want = await get(prom.url, '/api/v1/query_range', range(query, start, end, step));
        const before = proxy.seen.length;
        const got = await get(f.url, '/api/v1/query_range', range(query, start, end, step));
        expect(want.status).toBe(200);
        expect(got.body).toEqual(want.body);
        const pieces = proxy.seen
          .slice(before)
          .map((s) => [Number(s.params.get('start')) * 1000, Number(s.params.get('end')) * 1000]);
        // One piece per interval the range touches (the final timestamp joins the last piece).
        const intervals = pieces.map(([a]) => Math.floor((a as number) / interval));
        expect(new Set(intervals).size).toBe(pieces.length);
        expect(pieces.length).toBe(Math.floor((end - step) / interval) - Math.floor(start / interval) + 1);
        // The repeat comes from the (snappy) cache: no downstream request.
        const n = proxy.seen.length;
        expect((await get(f.url, '/api/v1/query_range', range(query, start, end, step))).body).toEqual(want.body);
        expect(proxy.seen.length).toBe(n);
      }
    });

    it('request-downsampled: an auto-resolution answer that starts late is asked again at 5m, then 1h', async () => {
      const proxy = await startProxy(prom.url);
      closers.push(proxy.close);
      const f = await frontend({ downstreamUrl: proxy.url });
      const step = 60_000;
      // Six hours before the data begins (as after raw retention) to six hours into it.
      const q = { ...range('sum by (job) (gen_gauge_1)', D0 - 6 * H, D0 + 6 * H, step), max_source_resolution: 'auto' };
      const want = await get(prom.url, '/api/v1/query_range', q);
      const got = await get(f.url, '/api/v1/query_range', q);
      expect(got.body).toEqual(want.body);
      const result = (want.body as { data: { result: { values: [number, string][] }[] } }).data.result;
      const first = Math.min(...result.map((s) => s.values[0]?.[0] as number)) * 1000;
      expect(first).toBeGreaterThan(D0 - 6 * H);
      const rounds = proxy.seen.map((s) => [
        s.params.get('max_source_resolution'),
        Number(s.params.get('start')) * 1000,
        Number(s.params.get('end')) * 1000,
      ]);
      // Round 1 at `auto` (split by day: two pieces), then the part before the first sample at 5m
      // and, still empty there, at 1h.
      expect(rounds.map(([r]) => r)).toEqual(['auto', 'auto', '300', '3600']);
      expect(rounds.slice(2)).toEqual([
        ['300', D0 - 6 * H, first - step],
        ['3600', D0 - 6 * H, first - step],
      ]);
      expect(await (await fetch(`${f.url}/metrics`)).text()).toContain(
        'thanos_frontend_downsampled_extra_queries_total 2',
      );
      // Data from the start: one round. Off: one round too.
      proxy.seen.length = 0;
      const inside = {
        ...range('sum by (job) (gen_gauge_1)', D0 + H, D0 + 6 * H, step),
        max_source_resolution: 'auto',
      };
      expect((await get(f.url, '/api/v1/query_range', inside)).status).toBe(200);
      expect(proxy.seen.map((s) => s.params.get('max_source_resolution'))).toEqual(['auto']);
      proxy.seen.length = 0;
      const off = await frontend({ downstreamUrl: proxy.url, requestDownsampled: false });
      expect((await get(off.url, '/api/v1/query_range', q)).body).toEqual(want.body);
      expect(proxy.seen.map((s) => s.params.get('max_source_resolution'))).toEqual(['auto', 'auto']);
    });

    it("writes Thanos's slow query log fields", async () => {
      const lines: [string, Record<string, unknown> | undefined][] = [];
      const logger: Logger = { debug() {}, info: (m, f) => lines.push([m, f]), warn() {}, error() {} };
      const f = await frontend({
        downstreamUrl: prom.url,
        logQueriesLongerThanMs: -1,
        orgIdHeaders: ['X-Scope-OrgID'],
        logger,
      });
      const q = range('gen_gauge_1', D0, D0 + 2 * DAY + 3 * H, 300_000);
      expect(
        (
          await get(f.url, '/api/v1/query_range', q, {
            'X-Scope-OrgID': 'team-a',
            'X-Dashboard-Uid': 'dash-1',
            'X-Panel-Id': '7',
            Authorization: `Basic ${Buffer.from('grafana:secret').toString('base64')}`,
          })
        ).status,
      ).toBe(200);
      const slow = lines.find(([m]) => m === 'slow query detected')?.[1];
      expect(slow).toMatchObject({
        org_id: 'team-a',
        method: 'GET',
        path: '/api/v1/query_range',
        remote_user: 'grafana',
        grafana_dashboard_uid: 'dash-1',
        grafana_panel_id: '7',
        trace_id: '-',
        param_query: 'gen_gauge_1',
        param_step: '300',
        query_range_hours: 51,
        query_range_human: '51h0m0s',
      });
      expect(slow?.time_taken_ms).toEqual(expect.any(Number));
      expect(String(slow?.remote_addr)).toMatch(/^127\.0\.0\.1:\d+$/);
      // The user header wins over basic auth; no org header: anonymous.
      lines.length = 0;
      const g = await frontend({
        downstreamUrl: prom.url,
        logQueriesLongerThanMs: -1,
        slowQueryLogsUserHeader: 'X-User',
        logger,
      });
      await get(g.url, '/api/v1/labels', {}, { 'X-User': 'alice' });
      expect(lines.find(([m]) => m === 'slow query detected')?.[1]).toMatchObject({
        org_id: 'anonymous',
        remote_user: 'alice',
        path: '/api/v1/labels',
        grafana_dashboard_uid: '-',
      });
      // Every /api/v1 path is logged, proxied ones too (Thanos's isQueryEndpoint); others are not.
      lines.length = 0;
      await get(g.url, '/api/v1/status/buildinfo', {});
      await get(g.url, '/-/healthy', {});
      expect(lines.filter(([m]) => m === 'slow query detected').map(([, f]) => f?.path)).toEqual([
        '/api/v1/status/buildinfo',
      ]);
    });

    it('downstream tripper config: TLS to the downstream with a CA and server name, connection limit', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'qfe-tls-'));
      closers.push(() => removeTempDir(dir));
      makeTestCerts(dir, { serverName: 'querier.test', clientName: 'frontend' });
      const { readFileSync } = await import('node:fs');
      const proxy = await startProxy(
        prom.url,
        (h) =>
          createHttpsServer(
            { cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) },
            h,
          ) as unknown as Server,
      );
      closers.push(proxy.close);
      const httpsUrl = proxy.url.replace(/^http:/, 'https:');
      const tripper = await parseDownstreamTripperConfig(
        `max_conns_per_host: 1\ntls_config:\n  ca_file: ${join(dir, 'ca.crt')}\n  server_name: querier.test\n`,
      );
      const f = await frontend({ downstreamUrl: httpsUrl, downstreamTripper: tripper, maxRetries: 1 });
      expect(f.ready()).toBe(true);
      const q = range('sum by (job) (gen_gauge_1)', D0, D0 + 4 * DAY, 600_000);
      const want = await get(prom.url, '/api/v1/query_range', q);
      const got = await get(f.url, '/api/v1/query_range', q);
      expect(got.body).toEqual(want.body);
      // Four day pieces (the final timestamp joins the last), one connection: never two at once.
      expect(proxy.seen.length).toBe(4);
      expect(proxy.maxInFlight()).toBe(1);
      // Without the CA the downstream's certificate is refused: a clear 502, not a hang.
      const untrusted = await frontend({ downstreamUrl: httpsUrl, maxRetries: 1 });
      expect(untrusted.ready()).toBe(false);
      const bad = await get(untrusted.url, '/api/v1/query_range', q);
      expect(bad.status).toBe(502);
      expect(JSON.stringify(bad.body)).toMatch(/certificate/);
    });

    it('downstream tripper config: response_header_timeout ends a request the downstream never answers', async () => {
      const proxy = await startProxy(prom.url);
      closers.push(proxy.close);
      proxy.hang.on = true;
      const f = await frontend({
        downstreamUrl: proxy.url,
        downstreamTripper: await parseDownstreamTripperConfig('response_header_timeout: 300ms'),
        maxRetries: 2,
      });
      const got = await get(f.url, '/api/v1/query_range', range('gen_gauge_1', D0, D0 + H, 60_000));
      expect(got.status).toBe(502);
      expect(JSON.stringify(got.body)).toMatch(/Headers Timeout/i);
      expect(proxy.seen.length).toBe(2);
    });
  },
);
