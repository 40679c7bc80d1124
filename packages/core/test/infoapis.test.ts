import { createServer, type Server as HTTPServer } from 'node:http';
import { Server, ServerCredentials, status } from '@grpc/grpc-js';
import { Labels } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ActiveTarget,
  connectInfoAPIs,
  createInfoAPIsEndpointSet,
  createInfoAPIsFanout,
  createInfoAPIsHandler,
  createPrometheusInfoAPIs,
  createStatusHandler,
  dedupExemplars,
  dedupTargets,
  type ExemplarData,
  exemplarQueryFor,
  extractSelectors,
  type InfoAPIsEndpoint,
  mergeMetadata,
  type RemoteInfoAPIs,
  serveInfoAPIs,
  serveSidecarAPIs,
} from '../src/infoapis/index.js';
import type { EndpointStatus } from '../src/query/endpoint-set.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read field by field.
type Json = any;

const L = (r: Record<string, string>) => Labels.from(r);

function active(over: Partial<ActiveTarget>): ActiveTarget {
  return {
    discoveredLabels: L({ __address__: 'h:1' }),
    labels: L({ job: 'j', instance: 'h:1' }),
    scrapePool: 'j',
    scrapeUrl: 'http://h:1/metrics',
    globalUrl: 'http://h:1/metrics',
    lastError: '',
    lastScrape: 1_000,
    lastScrapeDuration: 0.01,
    health: 'up',
    ...over,
  };
}

describe('mergeMetadata', () => {
  const a = { up: [{ type: 'gauge', help: 'Up.', unit: '' }], x: [{ type: 'counter', help: 'X.', unit: '' }] };
  const b = {
    up: [
      { type: 'gauge', help: 'Up.', unit: '' },
      { type: 'gauge', help: 'Other.', unit: '' },
    ],
  };
  it.each([
    ['no limit unions distinct entries', -1, { up: 2, x: 1 }],
    ['limit 0 keeps nothing', 0, {}],
    ['limit 1 keeps the first metric seen, still merging its entries', 1, { up: 2 }],
  ])('%s', (_name, limit, want) => {
    const got = mergeMetadata([a, b], limit);
    expect(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.length]))).toEqual(want);
  });
});

describe('dedupTargets', () => {
  it('merges replicas of one target, keeping the down one, then the latest scrape', () => {
    const got = dedupTargets(
      {
        activeTargets: [
          active({ labels: L({ job: 'j', replica: 'a' }), health: 'up', lastScrape: 5 }),
          active({ labels: L({ job: 'j', replica: 'b' }), health: 'down', lastScrape: 3, lastError: 'boom' }),
          active({ labels: L({ job: 'j', replica: 'c' }), health: 'down', lastScrape: 4, lastError: 'later' }),
          active({ scrapeUrl: 'http://a:1/metrics', labels: L({ job: 'j', replica: 'a' }) }),
        ],
        droppedTargets: [
          { discoveredLabels: L({ __address__: 'd', replica: 'a' }) },
          { discoveredLabels: L({ __address__: 'd', replica: 'b' }) },
        ],
      },
      ['replica'],
    );
    expect(got.activeTargets.map((t) => [t.scrapeUrl, t.health, t.lastError, t.labels.toString()])).toEqual([
      ['http://a:1/metrics', 'up', '', '{job="j"}'],
      ['http://h:1/metrics', 'down', 'later', '{job="j"}'],
    ]);
    expect(got.droppedTargets.map((t) => t.discoveredLabels.toString())).toEqual(['{__address__="d"}']);
  });

  it('keeps targets apart that differ in more than replica labels', () => {
    const got = dedupTargets({
      activeTargets: [active({ labels: L({ job: 'a' }) }), active({ labels: L({ job: 'b' }) })],
      droppedTargets: [],
    });
    expect(got.activeTargets).toHaveLength(2);
  });
});

describe('dedupExemplars', () => {
  it('merges series equal without replica labels and drops duplicate exemplars', () => {
    const e = (ts: number, v: number, trace: string) => ({ labels: L({ trace_id: trace }), value: v, ts });
    const data: ExemplarData[] = [
      { seriesLabels: L({ __name__: 'm', replica: 'a' }), exemplars: [e(2, 1, 'y'), e(1, 1, 'x')] },
      { seriesLabels: L({ __name__: 'm', replica: 'b' }), exemplars: [e(1, 1, 'x'), e(3, 2, 'z')] },
      { seriesLabels: L({ __name__: 'a' }), exemplars: [e(1, 1, 'q')] },
      { seriesLabels: L({ __name__: 'empty' }), exemplars: [] },
    ];
    const got = dedupExemplars(data, ['replica']);
    expect(got.map((d) => [d.seriesLabels.toString(), d.exemplars.map((x) => x.ts)])).toEqual([
      ['{__name__="a"}', [1]],
      ['{__name__="m"}', [1, 2, 3]],
    ]);
  });
});

describe('exemplarQueryFor', () => {
  const sels = extractSelectors('sum(rate(http_total{cluster="eu",code="200"}[5m])) / up{cluster="us"}');
  it.each([
    ['drops matchers on external label names', [L({ cluster: 'eu' })], false, '{__name__="http_total", code="200"}'],
    ['keeps them for a querier', [L({ cluster: 'eu' })], true, '{cluster="eu", code="200", __name__="http_total"}'],
    [
      'no label sets: every selector',
      [],
      false,
      '{cluster="eu", code="200", __name__="http_total"}+{cluster="us", __name__="up"}',
    ],
    ['no selector matches', [L({ cluster: 'asia' })], false, undefined],
  ])('%s', (_name, labelSets, supportsExternalLabels, want) => {
    const ep: InfoAPIsEndpoint = { name: 'x', labelSets, supportsExternalLabels };
    const got = exemplarQueryFor(sels, ep);
    if (want === undefined) expect(got).toBeUndefined();
    else
      expect(got?.split('+').map((p) => p.slice(1, -1).split(', ').sort().join(', '))).toEqual(
        want.split('+').map((p) => p.slice(1, -1).split(', ').sort().join(', ')),
      );
  });
});

/** An HTTP server answering like Prometheus's API from fixed bodies, recording the URLs asked. */
async function fakePrometheus(
  bodies: Record<string, [number, unknown]>,
): Promise<{ url: string; asked: string[]; server: HTTPServer }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const [code, body] = bodies[path] ?? [404, { status: 'error', error: 'not found' }];
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, asked, server };
}

async function grpcServer(setup: (s: Server) => void): Promise<{ server: Server; address: string }> {
  const server = new Server();
  setup(server);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

async function get(url: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe('sidecar services over gRPC, fanned out by the querier, answered as Prometheus JSON', () => {
  let prom: Awaited<ReturnType<typeof fakePrometheus>>;
  let broken: Awaited<ReturnType<typeof fakePrometheus>>;
  const servers: Server[] = [];
  const remotes: RemoteInfoAPIs[] = [];
  let http: HTTPServer;
  let base = '';
  let abortBase = '';
  let statusesOf: EndpointStatus[] = [];
  const ext = (replica: string) => L({ cluster: 'eu', replica });

  beforeAll(async () => {
    prom = await fakePrometheus({
      '/api/v1/metadata': [200, { status: 'success', data: { up: [{ type: 'gauge', help: 'Up.', unit: '' }] } }],
      '/api/v1/targets': [
        200,
        {
          status: 'success',
          data: {
            activeTargets: [
              {
                discoveredLabels: { __address__: 'h:1', job: 'j' },
                labels: { instance: 'h:1', job: 'j', cluster: 'overridden' },
                scrapePool: 'j',
                scrapeUrl: 'http://h:1/metrics',
                globalUrl: 'http://h:1/metrics',
                lastError: '',
                lastScrape: '2026-12-05T10:00:00.123456789Z',
                lastScrapeDuration: 0.0123,
                health: 'up',
                scrapeInterval: '15s',
              },
            ],
            droppedTargets: [{ discoveredLabels: { __address__: 'd:1' } }],
          },
        },
      ],
      '/api/v1/query_exemplars': [
        200,
        {
          status: 'success',
          data: [
            {
              seriesLabels: { __name__: 'req_total', path: '/a' },
              exemplars: [{ labels: { trace_id: 'abc' }, value: '1.5', timestamp: 1700000000.25 }],
            },
          ],
        },
      ],
    });
    broken = await fakePrometheus({
      '/api/v1/metadata': [503, { status: 'error', errorType: 'unavailable', error: 'down for test' }],
      '/api/v1/targets': [503, { status: 'error', errorType: 'unavailable', error: 'down for test' }],
      '/api/v1/query_exemplars': [400, { status: 'error', errorType: 'bad_data', error: 'bad query for test' }],
    });
    const fakeStore: StoreAPI = {
      info: async () => ({ labelSets: [ext('a')], minTime: 0, maxTime: 1, componentType: 'sidecar' }),
      series: async function* () {},
      labelNames: async () => ({ names: [], warnings: [] }) as never,
      labelValues: async () => ({ values: [], warnings: [] }) as never,
    };
    const names: string[] = [];
    for (const [p, replica] of [
      [prom, 'a'],
      [prom, 'b'],
    ] as const) {
      const s = await grpcServer((srv) => serveSidecarAPIs(fakeStore, srv, p.url, () => ext(replica)));
      servers.push(s.server);
      names.push(s.address);
    }
    const bad = await grpcServer((srv) => {
      const apis = createPrometheusInfoAPIs({ prometheusURL: broken.url, externalLabels: () => ext('c') });
      serveInfoAPIs(srv, { metadata: apis, targets: apis, exemplars: apis });
    });
    servers.push(bad.server);
    const badRemote = connectInfoAPIs(bad.address);
    remotes.push(badRemote);
    statusesOf = names.map((name) => ({
      name,
      healthy: true,
      lastCheck: new Date(),
      lastError: null,
      unhealthySince: undefined,
      info: { labelSets: [L({ cluster: 'eu' })], minTime: 0, maxTime: 1, componentType: 'sidecar' },
    }));
    const set = createInfoAPIsEndpointSet({ statuses: () => statusesOf });
    const badEndpoint: InfoAPIsEndpoint = {
      name: bad.address,
      labelSets: [],
      metadata: badRemote,
      targets: badRemote,
      exemplars: badRemote,
    };
    const endpoints = async () => [...(await set.endpoints()), badEndpoint];
    const fan = createInfoAPIsFanout({ endpoints, replicaLabels: ['replica'] });
    const warnHandler = createInfoAPIsHandler({ metadata: fan, targets: fan, exemplars: fan });
    const abortHandler = createInfoAPIsHandler({
      metadata: fan,
      targets: fan,
      exemplars: fan,
      partialResponse: false,
      prefix: '/abort/api/v1',
    });
    const statusHandler = createStatusHandler({ flags: { 'query.replica-label': 'replica' } });
    http = createServer(async (req, res) => {
      for (const h of [warnHandler, abortHandler, statusHandler]) if (await h(req, res)) return;
      res.writeHead(404);
      res.end('404 page not found\n');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    base = `http://127.0.0.1:${port}/api/v1`;
    abortBase = `http://127.0.0.1:${port}/abort/api/v1`;
    return async () => set.close();
  });

  afterAll(async () => {
    for (const r of remotes) r.close();
    for (const s of servers) s.forceShutdown();
    for (const s of [prom?.server, broken?.server, http]) s?.close();
  });

  it('advertises the three APIs in Info', async () => {
    const r = connectInfoAPIs(statusesOf[0]?.name as string);
    remotes.push(r);
    expect(await r.advertised()).toMatchObject({ metadata: true, targets: true, exemplars: true });
  });

  it('/api/v1/metadata merges and warns about the failing endpoint', async () => {
    const { status: code, body } = await get(`${base}/metadata?limit=5&metric=up`);
    expect(code).toBe(200);
    expect(body.data).toEqual({ up: [{ type: 'gauge', help: 'Up.', unit: '' }] });
    expect(body.warnings).toHaveLength(1);
    expect(body.warnings[0]).toContain('down for test');
    expect(prom.asked.some((u) => u === '/api/v1/metadata?metric=up&limit=5')).toBe(true);
  });

  it('/api/v1/targets dedups replicas and adds external labels', async () => {
    const { body } = await get(`${base}/targets?state=active`);
    expect(body.status).toBe('success');
    expect(body.data.activeTargets).toEqual([
      {
        discoveredLabels: { __address__: 'h:1', cluster: 'eu', job: 'j' },
        labels: { cluster: 'eu', instance: 'h:1', job: 'j' },
        scrapePool: 'j',
        scrapeUrl: 'http://h:1/metrics',
        globalUrl: 'http://h:1/metrics',
        lastError: '',
        lastScrape: '2026-12-05T10:00:00.123Z',
        lastScrapeDuration: 0.0123,
        health: 'up',
      },
    ]);
    expect(body.data.droppedTargets).toEqual([{ discoveredLabels: { __address__: 'd:1', cluster: 'eu' } }]);
    expect(prom.asked).toContain('/api/v1/targets?state=active');
  });

  it('/api/v1/query_exemplars strips external-label matchers, merges replicas', async () => {
    const q = new URLSearchParams({
      query: 'rate(req_total{cluster="eu"}[5m])',
      start: '1700000000',
      end: '1700000100',
    });
    const { body } = await get(`${base}/query_exemplars?${q}`);
    expect(body.data).toEqual([
      {
        seriesLabels: { __name__: 'req_total', cluster: 'eu', path: '/a' },
        exemplars: [{ labels: { trace_id: 'abc' }, value: '1.5', timestamp: 1700000000.25 }],
      },
    ]);
    const asked = prom.asked.filter((u) => u.startsWith('/api/v1/query_exemplars')).at(-1) as string;
    expect(new URL(asked, 'http://x').searchParams.get('query')).toBe('{__name__="req_total"}');
    expect(new URL(asked, 'http://x').searchParams.get('start')).toBe('1700000000');
  });

  it.each([
    ['metadata', '/metadata', 500, 'internal', 'retrieving metadata: fetching metric metadata from'],
    ['targets', '/targets', 500, 'internal', 'retrieving targets: fetching targets from'],
    ['exemplars', '/query_exemplars?query=up', 500, 'internal', 'bad query for test'],
  ])('without partial response a failing endpoint fails %s', async (_n, path, code, type, text) => {
    const { status: got, body } = await get(`${abortBase}${path}`);
    expect([got, body.errorType]).toEqual([code, type]);
    expect(body.error).toContain(text);
  });

  it.each([
    ['/metadata?limit=x', "invalid metric metadata limit='x'"],
    ['/metadata?limit_per_metric=x', 'limit_per_metric must be a number'],
    ['/targets?state=bogus', "invalid targets parameter state='bogus'"],
    ['/query_exemplars?query=up&start=x', 'invalid parameter "start": invalid time value for \'start\''],
    ['/query_exemplars?query={job=', 'parse error'],
    ['/query_exemplars?query=1', 'no matchers specified (excluding external labels)'],
  ])('bad input %s answers bad_data', async (path, text) => {
    const { status: code, body } = await get(`${base}${path}`);
    expect([code, body.errorType]).toEqual([400, 'bad_data']);
    expect(body.error).toContain(text);
  });

  it('limit_per_metric caps entries per metric', async () => {
    const { body } = await get(`${base}/metadata?limit_per_metric=1`);
    expect(body.data.up).toHaveLength(1);
  });

  it('serves status flags and runtime info', async () => {
    expect((await get(`${base}/status/flags`)).body.data).toEqual({ 'query.replica-label': 'replica' });
    const rt = (await get(`${base}/status/runtimeinfo`)).body.data;
    expect(rt.CWD).toBe(process.cwd());
    expect(rt.GOMAXPROCS).toBeGreaterThan(0);
    expect(rt.startTime).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('maps a Prometheus 400 to InvalidArgument over gRPC', async () => {
    const r = remotes[0] as RemoteInfoAPIs;
    const err = await r.exemplars({ query: 'up', start: 0, end: 1 }).catch((e: unknown) => e);
    expect((err as { grpcCode?: number }).grpcCode).toBe(status.INVALID_ARGUMENT);
  });
});
