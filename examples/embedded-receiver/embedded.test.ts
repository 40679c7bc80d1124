import { join } from 'node:path';
import { encodeWriteRequest } from '@thanos-ts/core/receive';
import { freePort, makeTempDir, programAvailable, removeTempDir, startPrometheus, waitFor } from '@thanos-ts/testing';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import { startIngestService } from './service.js';

interface Stats {
  rows: { metric: Record<string, string>; value: number }[];
}

describe('example: receiver embedded in a node:http service', () => {
  it('takes remote write at its own path, in-process writes, and answers PromQL over both', async () => {
    const dir = await makeTempDir('embedded-receiver-');
    const service = await startIngestService({ dataDir: join(dir, 'data') });
    try {
      const now = Date.now();
      const body = compressSync(
        Buffer.from(
          encodeWriteRequest([
            {
              labels: [
                { name: '__name__', value: 'up' },
                { name: 'job', value: 'api' },
              ],
              timestamps: [now],
              values: [1],
              histograms: 0,
            },
          ]),
        ),
      );
      const rw = await fetch(`${service.url}/ingest/prometheus`, {
        method: 'POST',
        body,
        headers: { 'THANOS-TENANT': 'infra' },
      });
      expect(rw.status).toBe(200);
      const bad = await fetch(`${service.url}/ingest/prometheus`, { method: 'POST', body: 'garbage' });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('snappy decode error');
      expect((await fetch(`${service.url}/orders?shop=eu&total=3`, { method: 'POST' })).status).toBe(201);
      const stats = (await (await fetch(`${service.url}/stats`)).json()) as Stats;
      expect(stats.rows.map((r) => [r.metric.tenant_id, r.value]).sort()).toEqual([
        ['business', 1],
        ['infra', 1],
      ]);
      expect((await fetch(`${service.url}/-/ready`)).status).toBe(200);
      expect(await (await fetch(`${service.url}/metrics`)).text()).toContain('thanos_receive_write_samples_total');
    } finally {
      await service.close();
      await removeTempDir(dir);
    }
  });

  it.skipIf(!programAvailable('prometheus'))(
    'is fed by a real Prometheus remote-writing to the mounted path',
    async () => {
      const dir = await makeTempDir('embedded-receiver-prom-');
      const service = await startIngestService({ dataDir: join(dir, 'data') });
      const port = await freePort();
      const prom = await startPrometheus({
        port,
        config: `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:${port}']\nremote_write:\n  - url: ${service.url}/ingest/prometheus\n    queue_config:\n      batch_send_deadline: 500ms\n`,
      });
      try {
        await waitFor(
          'prometheus up in the embedded receiver',
          async () => {
            const s = (await (await fetch(`${service.url}/stats?query=up`)).json()) as Stats;
            return s.rows.some((r) => r.metric.job === 'prometheus' && r.value === 1);
          },
          60_000,
        );
      } finally {
        await prom.stop();
        await service.close();
        await removeTempDir(dir);
      }
    },
  );
});
