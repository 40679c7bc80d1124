import { createMemoryStorage } from '@thanos-ts/promql';
import { Labels } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/logger.js';
import { createQuerier, type QuerierOptions } from '../src/query/querier.js';
import { findTelemetryBucket } from '../src/query/query-core.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

describe('findTelemetryBucket (Thanos pkg/store/telemetry.go findBucket)', () => {
  it.each([
    { name: 'no quantiles', value: 5, quantiles: [], want: '+Inf' },
    { name: 'below the first', value: 3, quantiles: [10, 100, 1000], want: '10' },
    { name: 'equal to a bound', value: 100, quantiles: [10, 100, 1000], want: '100' },
    { name: 'between bounds', value: 101, quantiles: [10, 100, 1000], want: '1000' },
    { name: 'equal to the last', value: 1000, quantiles: [10, 100, 1000], want: '+Inf' },
    { name: 'past the last', value: 5000, quantiles: [10, 100, 1000], want: '+Inf' },
    { name: 'fractions', value: 0.2, quantiles: [0.1, 0.25, 0.75], want: '0.25' },
    { name: 'no exponent (Go FormatFloat f, -1)', value: 5, quantiles: [1e21, 1e22], want: '1000000000000000000000' },
    { name: 'tiny bound', value: 0, quantiles: [1e-7, 1], want: '0.0000001' },
  ])('$name', ({ value, quantiles, want }) => {
    expect(findTelemetryBucket(value, quantiles)).toBe(want);
  });
});

/** Three series of 50 samples each, one per second from t=1s. */
function store() {
  const storage = createMemoryStorage();
  storage.load(
    ['a', 'b', 'c'].map((job) => ({
      labels: { __name__: 'up', job },
      timestamps: Array.from({ length: 50 }, (_, i) => (i + 1) * 1000),
      values: Array.from({ length: 50 }, () => 1),
    })),
  );
  return createLocalStore({ queryable: storage, externalLabels: Labels.from({ site: 's' }) });
}

function querier(extra: Partial<QuerierOptions> = {}) {
  const warnings: string[] = [];
  const logger = createLogger({ level: 'warn', write: (line) => warnings.push(line) });
  const q = createQuerier({
    httpAddress: '127.0.0.1:0',
    endpoints: [store()],
    evaluationWorkers: 0,
    logger,
    ...extra,
  });
  return { q, warnings };
}

async function metric(base: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('thanos_store_api_query_duration_seconds', () => {
  it('observes each query once with its series and samples buckets (defaults)', async () => {
    await using c = querier().q;
    await c.start();
    const base = `http://${c.httpAddress}`;
    const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent('count_over_time(up[1h])')}&time=100`);
    expect(r.status).toBe(200);
    // 3 series (< 10) and 150 samples (< 1000) from the chunks' headers.
    expect(await metric(base, 'thanos_store_api_query_duration_seconds_count')).toEqual([
      'thanos_store_api_query_duration_seconds_count{series_le="10",samples_le="1000",tenant="default-tenant"} 1',
    ]);
    await fetch(`${base}/api/v1/query_range?query=up&start=10&end=40&step=10`);
    expect(await metric(base, 'thanos_store_api_query_duration_seconds_count')).toEqual([
      'thanos_store_api_query_duration_seconds_count{series_le="10",samples_le="1000",tenant="default-tenant"} 2',
    ]);
    const buckets = await metric(base, 'thanos_store_api_query_duration_seconds_bucket');
    expect(buckets.map((l) => /[{,]le="([^"]+)"/.exec(l)?.[1])).toEqual([
      '0.1',
      '0.25',
      '0.75',
      '1.25',
      '1.75',
      '2.5',
      '3',
      '5',
      '10',
      '+Inf',
    ]);
  });

  it('labels the tenant from the THANOS-TENANT header, refusing an invalid one as Thanos does', async () => {
    await using c = querier().q;
    await c.start();
    const base = `http://${c.httpAddress}`;
    const q = `${base}/api/v1/query?query=${encodeURIComponent('count_over_time(up[1h])')}&time=100`;
    expect((await fetch(q, { headers: { 'THANOS-TENANT': 'team-a' } })).status).toBe(200);
    expect(await metric(base, 'thanos_store_api_query_duration_seconds_count')).toEqual([
      'thanos_store_api_query_duration_seconds_count{series_le="10",samples_le="1000",tenant="team-a"} 1',
    ]);
    const bad = await fetch(q, { headers: { 'THANOS-TENANT': 'a/b' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errorType: 'bad_data', error: 'tenant name not valid' });
  });

  it('is not observed when a query selects nothing (Thanos skips zero counts)', async () => {
    await using c = querier().q;
    await c.start();
    const base = `http://${c.httpAddress}`;
    await fetch(`${base}/api/v1/query?query=nothing_here&time=100`);
    await fetch(`${base}/api/v1/query?query=1%2B1&time=100`);
    expect(await metric(base, 'thanos_store_api_query_duration_seconds_count')).toEqual([]);
  });

  it('uses the configured quantiles', async () => {
    await using c = querier({
      telemetryDurationQuantiles: [1, 60],
      telemetrySeriesQuantiles: [1, 3],
      telemetrySamplesQuantiles: [150, 1000],
    }).q;
    await c.start();
    const base = `http://${c.httpAddress}`;
    await fetch(`${base}/api/v1/query?query=${encodeURIComponent('count_over_time(up[1h])')}&time=100`);
    await fetch(`${base}/api/v1/query?query=${encodeURIComponent('count_over_time(up{job="a"}[1h])')}&time=100`);
    expect(await metric(base, 'thanos_store_api_query_duration_seconds_count')).toEqual([
      'thanos_store_api_query_duration_seconds_count{series_le="+Inf",samples_le="150",tenant="default-tenant"} 1',
      // One series equals the first bound; 50 samples are below 150.
      'thanos_store_api_query_duration_seconds_count{series_le="1",samples_le="150",tenant="default-tenant"} 1',
    ]);
    expect(
      (await metric(base, 'thanos_store_api_query_duration_seconds_bucket')).filter((l) => l.includes('series_le="1"')),
    ).toHaveLength(3);
  });
});

function uiConfig(html: string): Record<string, unknown> {
  const m = /<script id="ui-config" type="application\/json">(.*?)<\/script>/s.exec(html);
  if (!m?.[1]) throw new Error(`no ui-config in ${html.slice(0, 200)}`);
  return JSON.parse(m[1]) as Record<string, unknown>;
}

describe('querier web prefixes and --alert.query-url', () => {
  it('links alerts to http://localhost:<http port> by default, or to --alert.query-url', async () => {
    await using c = querier().q;
    await c.start();
    const port = c.httpAddress?.split(':')[1];
    const page = await (await fetch(`http://${c.httpAddress}/alerts`)).text();
    expect(uiConfig(page)).toMatchObject({ page: 'alerts', prefix: '', queryURL: `http://localhost:${port}` });

    await using d = querier({ alertQueryURL: 'http://thanos-query.thanos.svc:9090' }).q;
    await d.start();
    const rules = await (await fetch(`http://${d.httpAddress}/rules`)).text();
    expect(uiConfig(rules)).toMatchObject({ queryURL: 'http://thanos-query.thanos.svc:9090' });
  });

  it('serves under --web.route-prefix (defaulting to --web.external-prefix), /metrics at the root', async () => {
    const { q, warnings } = querier({ externalPrefix: '/thanos/' });
    await using c = q;
    await c.start();
    expect(warnings).toEqual([]);
    const base = `http://${c.httpAddress}`;
    for (const path of ['/', '/thanos']) {
      const r = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect(r.status, path).toBe(302);
      expect(r.headers.get('location')).toBe('/thanos/graph');
    }
    const api = await fetch(`${base}/thanos/api/v1/query?query=up&time=10`);
    expect(((await api.json()) as { data: { result: unknown[] } }).data.result).toHaveLength(3);
    expect((await fetch(`${base}/api/v1/query?query=up&time=10`)).status).toBe(404);
    expect(uiConfig(await (await fetch(`${base}/thanos/graph`)).text())).toMatchObject({ prefix: '/thanos' });
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/-/ready`)).status).toBe(200);
  });

  it('links under the prefix header, which --web.external-prefix overrides; warns when the prefixes differ', async () => {
    await using h = querier({ prefixHeader: 'X-Forwarded-Prefix' }).q;
    await h.start();
    const headed = await fetch(`http://${h.httpAddress}/graph`, { headers: { 'X-Forwarded-Prefix': '/ops/q/' } });
    expect(uiConfig(await headed.text())).toMatchObject({ prefix: '/ops/q' });
    expect(uiConfig(await (await fetch(`http://${h.httpAddress}/graph`)).text())).toMatchObject({ prefix: '' });

    const { q, warnings } = querier({ routePrefix: '/', externalPrefix: '/ext', prefixHeader: 'X-Forwarded-Prefix' });
    await using e = q;
    await e.start();
    expect(warnings.join('\n')).toContain(
      'different values for --web.route-prefix and --web.external-prefix detected, web UI may not work without a reverse-proxy.',
    );
    const page = await fetch(`http://${e.httpAddress}/graph`, { headers: { 'X-Forwarded-Prefix': '/ops/q' } });
    expect(uiConfig(await page.text())).toMatchObject({ prefix: '/ext' });
    expect((await fetch(`http://${e.httpAddress}/api/v1/query?query=up&time=10`)).status).toBe(200);
  });
});
