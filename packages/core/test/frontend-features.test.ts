// The query frontend's remaining Thanos flags: --query-frontend.force-query-stats (in front of a
// real Prometheus 2.42), --query-frontend.enable-x-functions and --enable-feature (what the frontend
// can read decides sharding and `@` resolution), --query-frontend.tenant-certificate-field (tenant
// from the TLS client certificate of an --http.config server) and request logging.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  makeTempDir,
  makeTestCerts,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInMemoryCache } from '../src/cache/inmemory.js';
import { parseRequestLoggingConfig, parseWebConfig } from '../src/component/index.js';
import { createQueryFrontend, frontendParseOptions, type QueryFrontendOptions } from '../src/frontend/index.js';
import { createLogger } from '../src/log/logger.js';

const H = 3600_000;
const DAY = 24 * H;
const D0 = 1_699_920_000_000;

interface Seen {
  path: string;
  params: URLSearchParams;
  headers: IncomingHttpHeaders;
}

/** A fake downstream (not a querier): records each request and answers an empty success of the right type. */
async function recordingDownstream(): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    const params = new URLSearchParams(url.search);
    for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString())) params.append(k, v);
    if (url.pathname.startsWith('/api/')) seen.push({ path: url.pathname, params, headers: req.headers });
    const type = url.pathname.endsWith('/query_range') ? 'matrix' : 'vector';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      url.pathname.startsWith('/api/v1/query')
        ? `{"status":"success","data":{"resultType":"${type}","result":[]}}`
        : '{"status":"success","data":[]}',
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

async function frontend(opts: QueryFrontendOptions) {
  const f = createQueryFrontend({ httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0, ...opts });
  closers.push(() => f.close());
  await f.start();
  return f;
}

const rangeParams = (query: string, start: number, end: number, step: number) =>
  new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) });

async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

describe('what PromQL the frontend reads', () => {
  it.each([
    { name: 'x- functions, off', query: 'sum by (job) (xrate(up[5m]))', opts: {}, shardable: false },
    {
      name: 'x- functions, on',
      query: 'sum by (job) (xrate(up[5m]))',
      opts: { enableXFunctions: true },
      shardable: true,
    },
    { name: 'experimental, off', query: 'sum by (job) (mad_over_time(up[5m]))', opts: {}, shardable: false },
    {
      name: 'experimental, on',
      query: 'sum by (job) (mad_over_time(up[5m]))',
      opts: { enableFeatures: ['promql-experimental-functions' as const] },
      shardable: true,
    },
  ])('$name: sharded only when it can read the query', async ({ query, opts, shardable }) => {
    const down = await recordingDownstream();
    closers.push(down.close);
    const f = await frontend({ downstreamUrl: down.url, verticalShards: 2, ...opts });
    const url = `http://${f.httpAddress}`;
    const r = await fetch(`${url}/api/v1/query_range?${rangeParams(query, D0, D0 + H, 60_000)}`);
    expect(r.status).toBe(200);
    const sent = down.seen.filter((s) => s.path === '/api/v1/query_range');
    expect(sent.map((s) => s.params.get('shard_info') !== null)).toEqual(shardable ? [true, true] : [false]);
    expect(await metric(url, 'thanos_frontend_sharding_middleware_queries_total', `shardable="${shardable}"`)).toBe(1);
  });

  it('@ end() of an x- function query is resolved before splitting only when the frontend reads it', async () => {
    for (const enableXFunctions of [false, true]) {
      const down = await recordingDownstream();
      closers.push(down.close);
      const f = await frontend({ downstreamUrl: down.url, splitIntervalMs: DAY, enableXFunctions });
      const end = D0 + 2 * DAY;
      await fetch(`http://${f.httpAddress}/api/v1/query_range?${rangeParams('xrate(up[5m] @ end())', D0, end, H)}`);
      const queries = new Set(down.seen.map((s) => s.params.get('query')));
      // Unread, each piece would evaluate `@ end()` at its own end: a wrong answer.
      expect([...queries]).toEqual(
        enableXFunctions ? [`xrate(up[5m] @ ${end / 1000}.000)`] : ['xrate(up[5m] @ end())'],
      );
    }
  });

  it('refuses a feature the frontend does not have', () => {
    expect(() => frontendParseOptions({ enableFeatures: ['promql-at-modifier'] })).toThrow(
      'query-frontend: unknown feature "promql-at-modifier"; the query frontend knows promql-experimental-functions',
    );
  });
});

describe('tenant from the client certificate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('qfe-tenant-cert-');
    makeTestCerts(dir, { serverName: 'localhost', clientName: 'team-a' });
  });
  afterAll(() => removeTempDir(dir));

  function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          ca: readFileSync(join(dir, 'ca.crt')),
          cert: readFileSync(join(dir, 'client.crt')),
          key: readFileSync(join(dir, 'client.key')),
          servername: 'localhost',
          agent: false,
          headers,
        },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it.each([
    { field: 'commonName' as const, status: 200, tenant: 'team-a' },
    { field: 'organization' as const, status: 400, error: 'could not get organization field from client cert' },
  ])('$field', async ({ field, status, tenant, error }) => {
    const down = await recordingDownstream();
    closers.push(down.close);
    const webConfig = parseWebConfig(
      [
        'tls_server_config:',
        `  cert_file: ${join(dir, 'server.crt')}`,
        `  key_file: ${join(dir, 'server.key')}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${join(dir, 'ca.crt')}`,
      ].join('\n'),
      { where: 'web.yml' },
    );
    const f = await frontend({ downstreamUrl: down.url, webConfig, tenantCertificateField: field });
    const base = `https://${f.httpAddress}`;
    // The tenant header is ignored: the certificate decides.
    for (const path of [
      `/api/v1/query_range?${rangeParams('up', D0, D0 + H, 60_000)}`,
      '/api/v1/query?query=up',
      '/api/v1/labels',
      '/api/v1/query_exemplars?query=up',
    ]) {
      const r = await get(`${base}${path}`, { 'THANOS-TENANT': 'someone-else' });
      expect(r.status, path).toBe(status);
      if (error) expect(JSON.parse(r.body), path).toMatchObject({ status: 'error', errorType: 'bad_data', error });
    }
    if (tenant) {
      expect(down.seen.length).toBeGreaterThanOrEqual(4);
      for (const s of down.seen) expect(s.headers['thanos-tenant'], s.path).toBe(tenant);
    } else expect(down.seen).toHaveLength(0);
  });

  it('a custom tenant header goes downstream as THANOS-TENANT', async () => {
    const down = await recordingDownstream();
    closers.push(down.close);
    const f = await frontend({ downstreamUrl: down.url, tenantHeader: 'X-Scope' });
    await fetch(`http://${f.httpAddress}/api/v1/query?query=up`, { headers: { 'X-Scope': 'team-b' } });
    await fetch(`http://${f.httpAddress}/api/v1/query_range?${rangeParams('up', D0, D0 + H, 60_000)}`);
    expect(down.seen.map((s) => [s.headers['thanos-tenant'], s.headers['x-scope']])).toEqual([
      ['team-b', undefined],
      ['default-tenant', undefined],
    ]);
  });
});

describe('request logging', () => {
  it('logs the frontend requests as Thanos does', async () => {
    const down = await recordingDownstream();
    closers.push(down.close);
    const lines: Record<string, unknown>[] = [];
    const f = await frontend({
      downstreamUrl: down.url,
      logger: createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l)) }),
      requestLogging: parseRequestLoggingConfig(
        'http:\n  config:\n    - path: /api/v1/query\n      port: PORT\n  options:\n    level: DEBUG\n    decision:\n      log_start: false\n      log_end: true\n'.replace(
          'PORT',
          '1',
        ),
      ),
    });
    const port = (f.httpAddress as string).split(':').pop();
    // The allowlist names port 1: the request on the frontend's own port is not logged.
    await fetch(`http://${f.httpAddress}/api/v1/query?query=up`);
    expect(lines.filter((l) => l.protocol === 'http')).toHaveLength(0);
    const f2 = await frontend({
      downstreamUrl: down.url,
      logger: createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l)) }),
      requestLogging: parseRequestLoggingConfig(
        'http:\n  options:\n    level: DEBUG\n    decision:\n      log_start: false\n      log_end: true\n',
      ),
    });
    await fetch(`http://${f2.httpAddress}/api/v1/query?query=up`);
    const http = lines.filter((l) => l.protocol === 'http');
    expect(http).toHaveLength(1);
    expect(http[0]).toMatchObject({
      msg: 'finished call',
      'http.method': 'GET /api/v1/query?query=up',
      'http.status_code': '200',
      'thanos.method_name': 'query-frontend',
    });
    expect(port).not.toBe('1');
  });
});

describe.skipIf(!programAvailable('prometheus') || !programAvailable('promtool'))(
  'force query stats in front of Prometheus 2.42',
  () => {
    let blocks: GeneratedBlocks;
    let prom: RunningPrometheus;
    beforeAll(async () => {
      blocks = await blocksFromOpenMetrics({
        startMs: D0,
        durationMs: 3 * DAY,
        scrapeIntervalMs: 60_000,
        metrics: 2,
        seriesPerMetric: 3,
        maxBlockDuration: '24h',
      });
      // Per-step statistics, so the frontend's merge of them is checked step by step.
      prom = await startPrometheus({ dataDir: blocks.dir, extraArgs: ['--enable-feature=promql-per-step-stats'] });
    }, 180_000);
    afterAll(async () => {
      await prom?.stop();
      if (blocks) await removeTempDir(blocks.dir);
    });

    it('logs the samples the downstream loaded and sets Server-Timing', async () => {
      const lines: Record<string, unknown>[] = [];
      const f = await frontend({
        downstreamUrl: prom.url,
        forceQueryStats: true,
        logQueriesLongerThanMs: -1,
        logger: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(JSON.parse(l)) }),
      });
      const query = 'sum by (job) (rate(gen_counter_0_total[5m]))';
      const start = D0 + 6 * H;
      const end = D0 + 2 * DAY + 6 * H;
      const step = 5 * 60_000;
      const r = await fetch(`http://${f.httpAddress}/api/v1/query_range?${rangeParams(query, start, end, step)}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('server-timing')).toMatch(/^response_time;dur=\d+(\.\d+)?$/);
      // The same pieces asked from Prometheus directly, with stats: their sum is what the frontend reports.
      let want = 0;
      for (const [s, e] of [
        [start, D0 + DAY - step],
        [D0 + DAY - step + step, D0 + 2 * DAY - step],
        [D0 + 2 * DAY, end],
      ] as const) {
        const p = rangeParams(query, s, e, step);
        p.set('stats', 'all');
        const doc = (await (await fetch(`${prom.url}/api/v1/query_range?${p}`)).json()) as {
          data: { stats: { samples: { totalQueryableSamples: number } } };
        };
        want += doc.data.stats.samples.totalQueryableSamples;
      }
      expect(want).toBeGreaterThan(0);
      const stats = lines.find((l) => l.msg === 'query stats');
      expect(stats).toMatchObject({
        method: 'GET',
        path: '/api/v1/query_range',
        param_query: query,
        total_samples_loaded: want,
        query_range_hours: 48,
        query_range_human: '48h0m0s',
      });
      expect(lines.find((l) => l.msg === 'slow query detected')).toMatchObject({ total_samples_loaded: want });
      // Instant queries too.
      const i = await fetch(`http://${f.httpAddress}/api/v1/query?query=gen_counter_0_total&time=${(D0 + DAY) / 1000}`);
      expect(i.status).toBe(200);
      const instant = lines.filter((l) => l.msg === 'query stats').at(-1);
      expect(instant).toMatchObject({ path: '/api/v1/query', total_samples_loaded: 3 });
    });

    it('answers a client asking stats with the pieces merged, from the downstream and from the cache', async () => {
      const f = await frontend({
        downstreamUrl: prom.url,
        forceQueryStats: true,
        responseCache: { cache: createInMemoryCache({ maxSizeBytes: 64 << 20 }), name: 'fifocache' },
      });
      const query = 'sum by (job) (rate(gen_counter_0_total[5m]))';
      const start = D0 + 6 * H;
      const end = D0 + 2 * DAY + 6 * H;
      const step = 5 * 60_000;
      type Stats = { samples: { totalQueryableSamples: number; totalQueryableSamplesPerStep: [number, number][] } };
      const statsOf = async (base: string) => {
        const p = rangeParams(query, start, end, step);
        p.set('stats', 'all');
        const doc = (await (await fetch(`${base}/api/v1/query_range?${p}`)).json()) as { data: { stats?: Stats } };
        return doc.data.stats;
      };
      // Prometheus answering the whole range at once: three split pieces must add up to the same steps.
      const want = await statsOf(prom.url);
      expect(want?.samples.totalQueryableSamples).toBeGreaterThan(0);
      expect(want?.samples.totalQueryableSamplesPerStep.length).toBe((end - start) / step + 1);
      const cold = await statsOf(`http://${f.httpAddress}`);
      expect(cold?.samples.totalQueryableSamplesPerStep).toEqual(want?.samples.totalQueryableSamplesPerStep);
      expect(cold?.samples.totalQueryableSamples).toBe(want?.samples.totalQueryableSamples);
      // The repeat comes from the cache, statistics included.
      const warm = await statsOf(`http://${f.httpAddress}`);
      expect(warm?.samples).toMatchObject({
        totalQueryableSamples: want?.samples.totalQueryableSamples,
        totalQueryableSamplesPerStep: want?.samples.totalQueryableSamplesPerStep,
      });
      // A client that did not ask gets none, as from Prometheus.
      const plain = (await (
        await fetch(`http://${f.httpAddress}/api/v1/query_range?${rangeParams(query, start, end, step)}`)
      ).json()) as { data: { stats?: unknown } };
      expect(plain.data.stats).toBeUndefined();
    });
  },
);
