import { createServer, type Server as HTTPServer } from 'node:http';
import { freePort, programAvailable, type RunningPrometheus, startPrometheus, waitFor } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createSidecar, type Sidecar } from '../src/sidecar/sidecar.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers read field by field.
type Json = any;

/** An exporter answering OpenMetrics with an exemplar on a counter (Prometheus negotiates OpenMetrics). */
function exporterBody(): string {
  return [
    '# HELP app_requests Requests handled by the test exporter.',
    '# TYPE app_requests counter',
    '# UNIT app_requests ',
    `app_requests_total{path="/a"} ${Date.now() % 100_000} # {trace_id="trace-a"} 1.5`,
    '# EOF',
    '',
  ].join('\n');
}

async function getJSON(url: string): Promise<Json> {
  const res = await fetch(url);
  return res.json();
}

describe.skipIf(!programAvailable('prometheus'))(
  'metadata, targets and exemplars through our querier from Prometheus 2.42 behind our sidecar (exemplar storage on)',
  () => {
    let exporter: HTTPServer;
    let prom: RunningPrometheus;
    let sidecar: Sidecar;
    let querier: Querier;
    let base = '';

    beforeAll(async () => {
      exporter = createServer((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
        res.end(exporterBody());
      });
      await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
      const exporterPort = (exporter.address() as { port: number }).port;
      const promPort = await freePort();
      prom = await startPrometheus({
        port: promPort,
        extraArgs: ['--enable-feature=exemplar-storage'],
        config: [
          'global:',
          '  scrape_interval: 1s',
          '  external_labels:',
          '    cluster: e2e',
          '    replica: r0',
          'scrape_configs:',
          '  - job_name: prometheus',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${promPort}']`,
          '  - job_name: exporter',
          '    static_configs:',
          `      - targets: ['127.0.0.1:${exporterPort}']`,
          '  - job_name: dropped',
          '    static_configs:',
          "      - targets: ['127.0.0.1:1']",
          '    relabel_configs:',
          '      - action: drop',
          '        source_labels: [__address__]',
          "        regex: '127.0.0.1:1'",
          '',
        ].join('\n'),
      });
      // The real wiring: a sidecar serving gRPC, a querier with it as its endpoint.
      sidecar = createSidecar({
        prometheusUrl: prom.url,
        readyTimeoutMs: 30_000,
        grpcAddress: '127.0.0.1:0',
        grpcGracePeriodMs: 0,
      });
      await sidecar.start();
      querier = createQuerier({
        endpoints: [sidecar.grpcAddress as string],
        replicaLabels: ['replica'],
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        evaluationWorkers: 0,
      });
      await querier.start();
      base = `http://${querier.httpAddress}/api/v1`;
      // Wait until Prometheus has scraped the exporter and stored an exemplar.
      await waitFor(
        'an exemplar stored by Prometheus',
        async () => {
          const q = new URLSearchParams({ query: 'app_requests_total', start: String(Date.now() / 1000 - 600) });
          const r = await getJSON(`${prom.url}/api/v1/query_exemplars?${q}`);
          // And Prometheus has scraped itself, so its own metrics have metadata too.
          const own = await getJSON(`${prom.url}/api/v1/metadata?metric=prometheus_build_info`);
          return r.data?.length > 0 && own.data?.prometheus_build_info !== undefined;
        },
        30_000,
      );
    }, 90_000);

    afterAll(async () => {
      await querier?.close();
      await sidecar?.close();
      await prom?.stop();
      exporter?.close();
    });

    it('metadata equals Prometheus own answer for the metric', async () => {
      const want = await getJSON(`${prom.url}/api/v1/metadata?metric=app_requests`);
      const got = await getJSON(`${base}/metadata?metric=app_requests`);
      expect(got.status).toBe('success');
      expect(got.data).toEqual(want.data);
      expect(got.data.app_requests[0]).toMatchObject({
        type: 'counter',
        help: 'Requests handled by the test exporter.',
      });
      const all = await getJSON(`${base}/metadata?limit=2`);
      expect(Object.keys(all.data)).toHaveLength(2);
      // Prometheus's own metrics are there too (it scrapes itself).
      const self = await getJSON(`${base}/metadata?metric=prometheus_build_info`);
      expect(self.data.prometheus_build_info[0].type).toBe('gauge');
    });

    it('targets are Prometheus targets with external labels, replica label removed', async () => {
      const want = await getJSON(`${prom.url}/api/v1/targets`);
      const got = await getJSON(`${base}/targets`);
      expect(got.data.activeTargets).toHaveLength(want.data.activeTargets.length);
      const exp = got.data.activeTargets.find((t: Json) => t.scrapePool === 'exporter');
      const pt = want.data.activeTargets.find((t: Json) => t.scrapePool === 'exporter');
      expect(exp.scrapeUrl).toBe(pt.scrapeUrl);
      expect(exp.labels).toEqual({ ...pt.labels, cluster: 'e2e' });
      expect(exp.health).toBe('up');
      expect(Date.parse(exp.lastScrape)).toBeGreaterThan(0);
      expect(got.data.droppedTargets.map((t: Json) => t.discoveredLabels.__address__)).toContain('127.0.0.1:1');
      const dropped = await getJSON(`${base}/targets?state=dropped`);
      expect(dropped.data.activeTargets).toEqual([]);
      expect(dropped.data.droppedTargets.length).toBeGreaterThan(0);
      const activeOnly = await getJSON(`${base}/targets?state=active`);
      expect(activeOnly.data.droppedTargets).toEqual([]);
    });

    it('exemplars come from Prometheus with external labels; matchers on them are routed, not sent', async () => {
      const start = String(Date.now() / 1000 - 600);
      const q = new URLSearchParams({ query: 'rate(app_requests_total{cluster="e2e"}[1m])', start });
      const got = await getJSON(`${base}/query_exemplars?${q}`);
      expect(got.status).toBe('success');
      expect(got.data).toHaveLength(1);
      expect(got.data[0].seriesLabels).toMatchObject({ __name__: 'app_requests_total', cluster: 'e2e', path: '/a' });
      expect(got.data[0].seriesLabels.replica).toBeUndefined();
      expect(got.data[0].exemplars[0]).toMatchObject({ labels: { trace_id: 'trace-a' }, value: '1.5' });
      const want = await getJSON(
        `${prom.url}/api/v1/query_exemplars?${new URLSearchParams({ query: 'app_requests_total', start })}`,
      );
      expect(got.data[0].exemplars.map((e: Json) => e.timestamp)).toEqual(
        want.data[0].exemplars.map((e: Json) => e.timestamp),
      );
      const other = new URLSearchParams({ query: 'app_requests_total{cluster="other"}', start });
      expect((await getJSON(`${base}/query_exemplars?${other}`)).data).toEqual([]);
    });
  },
);
