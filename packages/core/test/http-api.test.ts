import { createMemoryStorage } from '@thanos-ts/promql';
import { Labels } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createComponentHandler, type ListeningHTTPServer, listenHTTP } from '../src/http/http-server.js';
import { createQueryAPIHandler } from '../src/http/query-api.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

describe('Prometheus HTTP API v1', () => {
  const storage = createMemoryStorage();
  storage.load([
    { labels: { __name__: 'temp', room: 'a' }, timestamps: [0, 15_000, 30_000], values: [20, 21, 22] },
    { labels: { __name__: 'temp', room: 'b' }, timestamps: [0, 15_000, 30_000], values: [10, 11, 12] },
  ]);
  let querier: Querier;
  let server: ListeningHTTPServer;
  let base: string;
  let ready = false;

  beforeAll(async () => {
    querier = createQuerier({
      endpoints: [
        { name: 'mem', store: createLocalStore({ queryable: storage, externalLabels: Labels.from({ replica: 'x' }) }) },
      ],
      replicaLabels: ['replica'],
    });
    await querier.start();
    const registry = new Registry();
    server = await listenHTTP(
      '127.0.0.1:0',
      createComponentHandler({
        registry,
        ready: () => ready,
        handlers: [createQueryAPIHandler({ querier, now: () => 30_000 })],
      }),
    );
    base = `http://${server.address}`;
  });
  afterAll(async () => {
    await server.close();
    await querier.close();
  });

  async function get(path: string, init?: RequestInit) {
    const res = await fetch(base + path, init);
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text);
    } catch {
      body = { text };
    }
    return { status: res.status, type: res.headers.get('content-type'), body };
  }

  const bad: [string, string, number, string, RegExp][] = [
    ['malformed PromQL', '/api/v1/query?query=sum(', 400, 'bad_data', /^invalid parameter "query": 1:5: parse error: /],
    [
      'bad time',
      '/api/v1/query?query=up&time=yesterday',
      400,
      'bad_data',
      /^invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp$/,
    ],
    [
      'missing start',
      '/api/v1/query_range?query=up&end=10&step=1',
      400,
      'bad_data',
      /^invalid parameter "start": cannot parse "" to a valid timestamp$/,
    ],
    [
      'bad step',
      '/api/v1/query_range?query=up&start=0&end=10&step=1x',
      400,
      'bad_data',
      /^invalid parameter "step": cannot parse "1x" to a valid duration$/,
    ],
    [
      'zero step',
      '/api/v1/query_range?query=up&start=0&end=10&step=0',
      400,
      'bad_data',
      /zero or negative query resolution step widths are not accepted/,
    ],
    [
      'end before start',
      '/api/v1/query_range?query=up&start=10&end=0&step=1',
      400,
      'bad_data',
      /^invalid parameter "end": end timestamp must not be before start time$/,
    ],
    [
      'too many points',
      '/api/v1/query_range?query=up&start=0&end=100000&step=1',
      400,
      'bad_data',
      /exceeded maximum resolution of 11,000 points/,
    ],
    [
      'range vector in range query',
      '/api/v1/query_range?query=temp[1m]&start=0&end=10&step=1',
      400,
      'bad_data',
      /invalid expression type "range vector" for range query/,
    ],
    [
      'bad dedup',
      '/api/v1/query?query=up&dedup=maybe',
      400,
      'bad_data',
      /^'dedup' parameter: strconv.ParseBool: parsing "maybe": invalid syntax$/,
    ],
    [
      'bad partial_response',
      '/api/v1/query?query=up&partial_response=2',
      400,
      'bad_data',
      /^'partial_response' parameter: strconv.ParseBool/,
    ],
    [
      'bad max_source_resolution',
      '/api/v1/query?query=up&max_source_resolution=fast',
      400,
      'bad_data',
      /^'max_source_resolution' parameter: cannot parse "fast"/,
    ],
    ['bad engine', '/api/v1/query?query=up&engine=v8', 400, 'bad_data', /^'v8' bad engine$/],
    [
      'bad limit',
      '/api/v1/query?query=up&limit=-1',
      400,
      'bad_data',
      /^invalid parameter "limit": limit must be non-negative$/,
    ],
    ['series without match[]', '/api/v1/series', 400, 'bad_data', /^no match\[\] parameter provided$/],
    ['series with empty matcher', '/api/v1/series?match[]={a=""}', 400, 'bad_data', /^invalid parameter "match\[\]": /],
    ['bad label name', '/api/v1/label/1x/values', 400, 'bad_data', /^invalid label name: "1x"$/],
    [
      'evaluation error',
      '/api/v1/query?query=label_replace(temp,"room","","","")',
      422,
      'execution',
      /vector cannot contain metrics with the same labelset/,
    ],
  ];
  for (const [name, path, status, type, message] of bad) {
    it(`answers ${name} with ${status} ${type}`, async () => {
      const r = await get(path.replace(/\[/g, '%5B').replace(/\]/g, '%5D').replace(/"/g, '%22'));
      expect(r.status).toBe(status);
      expect(r.type).toBe('application/json');
      expect(r.body.status).toBe('error');
      expect(r.body.errorType).toBe(type);
      expect(r.body.error).toMatch(message);
    });
  }

  it('answers instant vectors, scalars and strings in Prometheus JSON', async () => {
    const v = await get('/api/v1/query?query=temp&time=30');
    expect(v.body).toEqual({
      status: 'success',
      data: {
        resultType: 'vector',
        result: [
          { metric: { __name__: 'temp', room: 'a' }, value: [30, '22'] },
          { metric: { __name__: 'temp', room: 'b' }, value: [30, '12'] },
        ],
      },
    });
    const s = await get('/api/v1/query?query=1e21&time=1.5');
    expect(s.body.data).toEqual({ resultType: 'scalar', result: [1.5, '1000000000000000000000'] });
    const inf = await get('/api/v1/query?query=-1/0&time=2');
    expect(inf.body.data).toEqual({ resultType: 'scalar', result: [2, '-Inf'] });
    const str = await get('/api/v1/query?query=%22hi%22&time=2.001');
    expect(str.body.data).toEqual({ resultType: 'string', result: [2.001, 'hi'] });
  });

  it('answers range queries by GET and POST form, with stats on request', async () => {
    const q = 'query=sum(temp)&start=0&end=30&step=15s';
    const viaGet = await get(`/api/v1/query_range?${q}`);
    const viaPost = await get('/api/v1/query_range', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: q,
    });
    expect(viaGet.body.data).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: {},
          values: [
            [0, '30'],
            [15, '32'],
            [30, '34'],
          ],
        },
      ],
    });
    expect(viaPost.body).toEqual(viaGet.body);
    const withStats = await get(`/api/v1/query_range?${q}&stats=all`);
    const stats = (
      withStats.body.data as { stats: { timings: Record<string, number>; samples: Record<string, number> } }
    ).stats;
    expect(Object.keys(stats.timings)).toContain('execTotalTime');
    expect(stats.samples.totalQueryableSamples).toBe(6);
  });

  it('lists series, labels and values, with and without dedup', async () => {
    const series = await get('/api/v1/series?match%5B%5D=temp');
    expect(series.body.data).toEqual([
      { __name__: 'temp', room: 'a' },
      { __name__: 'temp', room: 'b' },
    ]);
    const raw = await get('/api/v1/series?match%5B%5D=temp&dedup=false');
    expect(raw.body.data).toEqual([
      { __name__: 'temp', replica: 'x', room: 'a' },
      { __name__: 'temp', replica: 'x', room: 'b' },
    ]);
    expect((await get('/api/v1/labels')).body.data).toEqual(['__name__', 'room']);
    expect((await get('/api/v1/label/room/values')).body.data).toEqual(['a', 'b']);
    const limited = await get('/api/v1/label/room/values?limit=1');
    expect(limited.body).toEqual({ status: 'success', data: ['a'], warnings: ['results truncated due to limit'] });
  });

  it('serves buildinfo, stores, metrics, health and readiness', async () => {
    const info = await get('/api/v1/status/buildinfo');
    expect(Object.keys(info.body.data as object).sort()).toEqual([
      'branch',
      'buildDate',
      'buildUser',
      'goVersion',
      'revision',
      'version',
    ]);
    const stores = await get('/api/v1/stores');
    expect((stores.body.data as { store: { name: string }[] }).store.map((s) => s.name)).toEqual(['mem']);
    expect((await get('/-/healthy')).status).toBe(200);
    expect((await get('/-/ready')).status).toBe(503);
    ready = true;
    expect((await get('/-/ready')).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    expect((await get('/api/v1/nope')).status).toBe(404);
    expect((await get('/api/v1/query?query=1', { method: 'DELETE' })).status).toBe(405);
  });
});
