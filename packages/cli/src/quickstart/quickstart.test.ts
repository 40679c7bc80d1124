import { makeTempDir, removeTempDir, waitFor } from '@thanos-ts/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../../core/src/sidecar/prompb/prompb.js';
import { snappyEncode } from '../../../core/src/sidecar/prompb/snappy.js';
import { startCli } from '../../test/cli-process.js';
import { createQuickstart, EXAMPLE_QUERIES } from './quickstart.js';

interface VectorResponse {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('quickstart', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeTempDir(d);
  });

  it('generates demo data once, answers deduplicated queries, takes remote write, records rules, and restarts on the same data', async () => {
    const dataDir = await makeTempDir('quickstart-');
    dirs.push(dataDir);
    const lines: string[] = [];
    const first = createQuickstart({
      dataDir,
      httpAddress: '127.0.0.1:0',
      remoteWriteAddress: '127.0.0.1:0',
      days: 1,
      log: (l) => lines.push(l),
    });
    await first.start();
    let blocks = 0;
    try {
      expect(first.generated).toBe(true);
      // 4 simulated Prometheus servers × (one day in 8h blocks, plus the part of a block up to now)
      expect(first.blocks % 4).toBe(0);
      expect(first.blocks).toBeGreaterThanOrEqual(12);
      expect(first.blocks).toBeLessThanOrEqual(16);
      blocks = first.blocks;
      expect(lines.join('\n')).toContain(first.url);
      for (const q of EXAMPLE_QUERIES) {
        const res = await fetch(`${first.url}/api/v1/query?query=${encodeURIComponent(q)}`);
        const body = (await res.json()) as VectorResponse;
        expect(body.status, q).toBe('success');
        expect(body.data.result.length, q).toBeGreaterThan(0);
        for (const s of body.data.result) expect(s.metric.replica, q).toBeUndefined();
      }
      // Deduplication: one series per cluster and instance, not one per replica.
      const up = (await (await fetch(`${first.url}/api/v1/query?query=count(up)`)).json()) as VectorResponse;
      expect(up.data.result[0]?.value[1]).toBe('8');
      const raw = (await (
        await fetch(`${first.url}/api/v1/query?query=count(up)&dedup=false`)
      ).json()) as VectorResponse;
      expect(raw.data.result[0]?.value[1]).toBe('16');

      // The query frontend answers range queries as the querier does, the repeat from its cache
      // (start and end on the step grid: the frontend aligns them to it, as Thanos's does).
      // The range crosses midnight, where the frontend splits it (24h): penalty deduplication
      // restarts at fixed windows of absolute time, so the piece starting at midnight keeps the
      // same replicas' samples as the whole range does there.
      const onGrid = Math.floor(Date.now() / 1000 / 300) * 300;
      const midnight = Math.floor(onGrid / 86400) * 86400;
      const rangeStart = midnight - 3 * 3600;
      const rangeEnd = Math.min(onGrid, midnight + 2 * 3600);
      const range = new URLSearchParams({
        query: 'sum by (cluster) (rate(http_requests_total[5m]))',
        start: String(rangeStart),
        end: String(rangeEnd),
        step: '300',
      });
      const direct = await (await fetch(`${first.url}/api/v1/query_range?${range}`)).json();
      const viaFrontend = await (await fetch(`${first.frontendURL}/api/v1/query_range?${range}`)).json();
      expect(viaFrontend).toEqual(direct);
      const cacheHits = async () =>
        (await (await fetch(`${first.frontendURL}/metrics`)).text())
          .split('\n')
          .filter((l) => l.startsWith('cortex_cache_hits_total'))
          .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      const hitsBefore = await cacheHits();
      expect(await (await fetch(`${first.frontendURL}/api/v1/query_range?${range}`)).json()).toEqual(direct);
      expect(await cacheHits()).toBeGreaterThan(hitsBefore);
      // Everything else is proxied: the frontend's URL opens the querier's pages.
      const page = await fetch(`${first.frontendURL}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      // The bucket web lists the bucket's blocks.
      const blocksPage = (await (await fetch(`${first.bucketWebURL}/api/v1/blocks`)).json()) as {
        data: { blocks: unknown[] };
      };
      expect(blocksPage.data.blocks.length).toBe(first.blocks);

      // The receiver: a Prometheus remote write, answered 200 once in its WAL, queryable at once.
      const now = Date.now();
      const body = snappyEncode(
        encodeWriteRequest([
          {
            labels: [
              { name: '__name__', value: 'quickstart_written' },
              { name: 'job', value: 'test' },
            ],
            samples: [{ timestamp: now, value: 42 }],
          },
        ]),
      );
      const write = await fetch(first.remoteWriteURL, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-protobuf',
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
        },
        body,
      });
      expect(write.status).toBeLessThan(300);
      const written = (await (
        await fetch(`${first.url}/api/v1/query?query=quickstart_written&time=${now / 1000}`)
      ).json()) as VectorResponse;
      expect(written.data.result[0]?.value[1]).toBe('42');
      expect(written.data.result[0]?.metric.receive).toBe('quickstart');

      // The ruler records its demo rule through the querier; the querier serves the result.
      await waitFor(
        'recorded cluster:http_requests:rate5m',
        async () => {
          const r = (await (
            await fetch(`${first.url}/api/v1/query?query=${encodeURIComponent('cluster:http_requests:rate5m')}`)
          ).json()) as VectorResponse;
          return r.data.result.length === 2;
        },
        90_000,
      );
      // The querier fans /api/v1/rules out to the in-process ruler (Grafana's alert views use it).
      const rules = (await (await fetch(`${first.url}/api/v1/rules?type=record`)).json()) as {
        status: string;
        data: { groups: { rules: { name: string; type: string }[] }[] };
      };
      expect(rules.status).toBe('success');
      expect(rules.data.groups.flatMap((g) => g.rules.map((r) => r.name))).toContain('cluster:http_requests:rate5m');
    } finally {
      await first.close();
    }
    const second = createQuickstart({
      dataDir,
      httpAddress: '127.0.0.1:0',
      remoteWriteAddress: '127.0.0.1:0',
      days: 1,
    });
    await second.start();
    try {
      expect(second.generated).toBe(false);
      expect(second.blocks).toBe(blocks);
      const res = (await (await fetch(`${second.url}/api/v1/query?query=count(up)`)).json()) as VectorResponse;
      expect(res.data.result[0]?.value[1]).toBe('8');
    } finally {
      await second.close();
    }
  });
});

describe('thanos-ts quickstart (the README command, as a process)', () => {
  it('prints its URL, answers over HTTP and stops cleanly on Ctrl-C', async () => {
    const dataDir = await makeTempDir('quickstart-cli-');
    try {
      const { proc, match } = await startCli(
        [
          'quickstart',
          `--data-dir=${dataDir}`,
          '--http-address=127.0.0.1:0',
          '--remote-write.address=127.0.0.1:0',
          '--days=1',
        ],
        /ready: (http:\/\/\S+)/,
        90_000,
      );
      const url = match[1] as string;
      const out = proc.stdout;
      expect(out()).toContain('rate(http_requests_total[5m])');
      const res = (await (await fetch(`${url}/api/v1/query?query=count(up)`)).json()) as VectorResponse;
      expect(res.data.result[0]?.value[1]).toBe('8');
      expect(await proc.stop('SIGINT')).toBe(0);
      expect(out()).toContain('stopping');
    } finally {
      await removeTempDir(dataDir);
    }
  });
});
