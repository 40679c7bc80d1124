// Real Prometheus 2.42 remote-writes its own scraped metrics to the receiver; a querier over the
// receiver then answers a set of queries exactly as Prometheus's own /api/v1/query does.
import { join } from 'node:path';
import {
  freePort,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createReceiver, type Receiver } from '../src/receive/index.js';

const HAVE_PROMETHEUS = programAvailable('prometheus');
if (!HAVE_PROMETHEUS)
  console.warn('SKIPPED: receive-prometheus.test.ts needs the prometheus binary (apt install prometheus)');

const QUERIES = [
  'up',
  'prometheus_build_info',
  'count({__name__=~".+"})',
  'count by (__name__) ({job="prometheus", __name__=~"prometheus_tsdb_.*"})',
  'sum by (handler) (prometheus_http_requests_total)',
  // Rates of young counters are left out: Prometheus 2.42 and 3.x (our engine) extrapolate them
  // differently near zero. delta and irate do not extrapolate towards zero.
  'delta(go_memstats_alloc_bytes[10s])',
  'irate(prometheus_tsdb_head_samples_appended_total[10s])',
  'sum_over_time(scrape_duration_seconds[10s])',
  'max_over_time(go_goroutines[30s])',
  'histogram_quantile(0.9, sum by (le) (prometheus_http_request_duration_seconds_bucket))',
  'scrape_samples_scraped',
  'prometheus_remote_storage_samples_failed_total',
];

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

function key(metric: Record<string, string>): string {
  return JSON.stringify(
    Object.entries(metric)
      .filter(([k]) => k !== 'tenant_id' && k !== 'receive')
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

describe.skipIf(!HAVE_PROMETHEUS)('receiver fed by Prometheus 2.42 remote write', () => {
  let dir: string;
  let prom: RunningPrometheus;
  let receiver: Receiver;
  let querier: Querier;

  beforeAll(async () => {
    dir = await makeTempDir('receive-prom-');
    receiver = createReceiver({
      tsdbPath: join(dir, 'receive'),
      remoteWriteAddress: '127.0.0.1:0',
      externalLabels: { receive: 'r0' },
      httpGracePeriodMs: 0,
      flushIntervalMs: 0,
      // Every request through the ingest workers, so real Prometheus traffic exercises them.
      ingestWorkers: 1,
      ingestWorkerMinBytes: 0,
    });
    await receiver.start();
    const port = await freePort();
    prom = await startPrometheus({
      port,
      config: `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${port}']
remote_write:
  - url: http://${receiver.remoteWriteAddress}/api/v1/receive
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
`,
    });
    querier = createQuerier({ endpoints: [receiver] });
    await querier.start();
  }, 120_000);

  afterAll(async () => {
    await querier?.close();
    await prom?.stop();
    await receiver?.close();
    if (dir) await removeTempDir(dir);
  });

  it('answers the same as Prometheus itself', async () => {
    // Wait for a few scrapes to arrive, then pick an evaluation time everything before which has
    // been sent (remote write lags the scrape by up to a batch deadline per shard).
    let latest = 0;
    await waitFor(
      'receiver has 5 scrapes of up',
      async () => {
        const r = await querier.instantQuery('count_over_time(up[1m])', Date.now());
        const v = r.result.type === 'vector' ? (r.result.samples[0]?.f ?? 0) : 0;
        if (v < 5) return false;
        const ts = await querier.instantQuery('timestamp(up)', Date.now());
        latest = ts.result.type === 'vector' ? (ts.result.samples[0]?.f ?? 0) * 1000 : 0;
        return latest > 0;
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 3_000));
    // Half a scrape interval after a scrape: no sample sits on a range boundary, where Prometheus
    // 2.42 (closed ranges) and 3.x semantics (left-open, as our engine) differ.
    const at = latest + 500;
    for (const q of QUERIES) {
      const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}&time=${at / 1000}`);
      const want = ((await res.json()) as { data: { result: PromVector[] } }).data.result;
      const got = await querier.instantQuery(q, at);
      expect(got.result.type, q).toBe('vector');
      const gotMap = new Map<string, number>();
      if (got.result.type === 'vector') for (const s of got.result.samples) gotMap.set(key(s.metric.toRecord()), s.f);
      const wantMap = new Map(want.map((w) => [key(w.metric), Number(w.value[1])]));
      expect([...gotMap.keys()].sort(), q).toEqual([...wantMap.keys()].sort());
      for (const [k, v] of wantMap) {
        const g = gotMap.get(k) as number;
        if (Number.isNaN(v)) expect(Number.isNaN(g), `${q} ${k}`).toBe(true);
        else expect(Math.abs(g - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${q} ${k}: got ${g}, want ${v}`).toBe(true);
      }
      expect(wantMap.size + (q.startsWith('prometheus_remote_storage_samples_failed') ? 1 : 0), q).toBeGreaterThan(0);
    }
    // Every send succeeded: nothing failed, nothing dropped.
    const failed = await fetch(
      `${prom.url}/api/v1/query?query=${encodeURIComponent('sum(prometheus_remote_storage_samples_failed_total)')}`,
    );
    const failedVal = ((await failed.json()) as { data: { result: PromVector[] } }).data.result[0]?.value[1];
    expect(Number(failedVal ?? 0)).toBe(0);
    // Prometheus 2.42 (Debian's build) does not send remote_write `headers`: data lands in the default tenant.
    expect(receiver.tenants()).toEqual(['default-tenant']);
    const decoded = /^thanos_receive_ingest_worker_requests_total (\S+)$/m.exec(await receiver.registry.metrics());
    expect(Number(decoded?.[1])).toBeGreaterThan(0);
  });
});
