import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, programAvailable, removeTempDir, startPrometheus, waitFor } from '@thanos-ts/testing';
import { Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, NOP_LOGGER } from '../src/log/logger.js';
import { createReceiver } from '../src/receive/receiver.js';
import { parseRemoteWriteConfig } from '../src/rule/remote-write.js';
import { createRuler, type RulerOptions } from '../src/rule/ruler.js';
import { AlertingRule } from '../src/rule/rules.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

describe('parseRemoteWriteConfig', () => {
  it('reads Prometheus remote_write entries with their defaults', () => {
    const [a, b] = parseRemoteWriteConfig(`
remote_write:
  - url: http://receive:19291/api/v1/receive
  - url: https://prom.example/api/v1/write
    name: prom
    remote_timeout: 5s
    headers: { X-Scope-OrgID: team-a }
    basic_auth: { username: u, password: p }
    write_relabel_configs:
      - source_labels: [__name__]
        regex: drop_.*
        action: drop
    queue_config: { max_samples_per_send: 10, batch_send_deadline: 100ms, capacity: 50, max_shards: 4 }
    metadata_config: { send: false }
`);
    expect(a).toMatchObject({
      url: 'http://receive:19291/api/v1/receive',
      name: 'receive:19291/api/v1/receive',
      remoteTimeoutMs: 30_000,
      maxSamplesPerSend: 2000,
      batchSendDeadlineMs: 5000,
      minBackoffMs: 30,
      maxBackoffMs: 5000,
      maxPendingSamples: 100_000,
      writeRelabel: [],
    });
    expect(b).toMatchObject({
      name: 'prom',
      remoteTimeoutMs: 5000,
      headers: { 'X-Scope-OrgID': 'team-a' },
      authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
      maxSamplesPerSend: 10,
      batchSendDeadlineMs: 100,
      maxPendingSamples: 500,
    });
    expect(b?.writeRelabel).toHaveLength(1);
  });

  it.each([
    { name: 'empty document', yaml: '', want: 0 },
    { name: 'no entries', yaml: 'remote_write: []', want: 0 },
    { name: 'other keys only', yaml: 'global: {}', want: 0 },
  ])('$name means no remote write (the ruler keeps its TSDB)', ({ yaml, want }) => {
    expect(parseRemoteWriteConfig(yaml)).toHaveLength(want);
  });

  it.each([
    { name: 'no url', yaml: 'remote_write: [{ name: a }]', err: 'url for remote_write is empty' },
    { name: 'bad scheme', yaml: 'remote_write: [{ url: "ftp://x/y" }]', err: 'url scheme must be http or https' },
    {
      name: 'duplicate names',
      yaml: 'remote_write: [{ url: "http://a/", name: x }, { url: "http://b/", name: x }]',
      err: 'found multiple remote write configs with job name "x"',
    },
    {
      name: 'reserved header',
      yaml: 'remote_write: [{ url: "http://a/", headers: { Content-Type: x } }]',
      err: 'content-type is a reserved header. It must not be changed',
    },
    {
      name: 'two auths',
      yaml: 'remote_write: [{ url: "http://a/", bearer_token: t, basic_auth: { username: u } }]',
      err: 'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured',
    },
    {
      name: 'tls_config refused, not ignored',
      yaml: 'remote_write: [{ url: "https://a/", tls_config: { ca_file: /ca.pem } }]',
      err: 'tls_config is not supported by thanos-ts yet',
    },
    {
      name: 'bad duration',
      yaml: 'remote_write: [{ url: "http://a/", remote_timeout: soon }]',
      err: 'not a valid duration',
    },
  ])('refuses $name', ({ yaml, err }) => {
    expect(() => parseRemoteWriteConfig(yaml)).toThrow(err);
  });
});

/** Collects a StoreAPI's series as `labels → [t, v][]`. */
async function seriesOf(store: StoreAPI, name: string): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for await (const r of store.series({
    minTime: 0,
    maxTime: Date.now() + 60_000,
    matchers: [matcher('=', '__name__', name)],
  }))
    if (r.type === 'series') out.set(r.series.labels.toString(), [r.series.chunks.length]);
  return out;
}

describe('stateless ruler (--remote-write.config)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('rule-rw-');
    await writeFile(
      join(dir, 'r.yml'),
      'groups:\n  - name: g\n    interval: 200ms\n    rules:\n      - record: job:x:sum\n        expr: sum by (job) (x)\n      - record: drop_me\n        expr: x\n',
    );
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  const ruler = (sub: string, remoteWriteYAML: string, extra: Partial<RulerOptions> = {}) =>
    createRuler({
      ruleFiles: [join(dir, 'r.yml')],
      dataDir: join(dir, sub),
      query: async () => [{ labels: Labels.from({ job: 'j' }), value: 5 }],
      externalLabels: { ruler: 'r1' },
      remoteWrite: parseRemoteWriteConfig(remoteWriteYAML),
      shipIntervalMs: 0,
      logger: NOP_LOGGER,
      ...extra,
    });

  it('remote-writes rule results, with its external labels, to a thanos-ts receiver and keeps no TSDB', async () => {
    await using receiver = createReceiver({
      tsdbPath: join(dir, 'receive'),
      remoteWriteAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      grpcGracePeriodMs: 0,
      flushIntervalMs: 0,
      externalLabels: { receive: 'yes' },
      logger: NOP_LOGGER,
    });
    await receiver.start();
    const url = `http://${receiver.remoteWriteAddress}/api/v1/receive`;
    {
      await using r = ruler(
        'stateless-data',
        `remote_write:\n  - url: ${url}\n    queue_config: { batch_send_deadline: 50ms }\n    write_relabel_configs:\n      - source_labels: [__name__]\n        regex: drop_me\n        action: drop\n`,
      );
      await r.start();
      await waitFor(
        'recorded series at the receiver',
        async () => (await seriesOf(receiver, 'job:x:sum')).size > 0,
        20_000,
      );
      const got = [...(await seriesOf(receiver, 'job:x:sum')).keys()];
      expect(got).toEqual(['{__name__="job:x:sum", job="j", receive="yes", ruler="r1", tenant_id="default-tenant"}']);
      // Write relabelling dropped the other rule's series before sending.
      expect((await seriesOf(receiver, 'drop_me')).size).toBe(0);
      // Stateless: no local TSDB, and its own StoreAPI has no series.
      expect((await seriesOf(r, 'job:x:sum')).size).toBe(0);
      const metrics = await r.registry.metrics();
      expect(metrics).toMatch(/prometheus_remote_storage_samples_total\{remote_name="[^"]+",url="[^"]+"\} [1-9]/);
      expect(metrics).toMatch(/prometheus_remote_storage_samples_dropped_total\{[^}]*\} [1-9]/);
    }
    const files = await readdir(join(dir, 'stateless-data')).catch(() => [] as string[]);
    expect(files.filter((f) => f === 'wal' || f === 'chunks_head')).toEqual([]);
  });

  it('retries a receiver answering 5xx and drops batches it refuses with 4xx', async () => {
    const seen: number[] = [];
    let answer = 503;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(answer);
        res.writeHead(answer);
        res.end(answer === 200 ? '' : 'nope');
        if (answer === 503 && seen.length >= 2) answer = 200;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const lines: string[] = [];
    try {
      {
        await using r = ruler(
          'retry-data',
          `remote_write:\n  - url: http://127.0.0.1:${port}/write\n    name: flaky\n    queue_config: { batch_send_deadline: 20ms, min_backoff: 10ms, max_backoff: 20ms }\n`,
        );
        await r.start();
        await waitFor('a successful send after retries', async () => seen.includes(200), 20_000);
        const m = await r.registry.metrics();
        expect(m).toMatch(/prometheus_remote_storage_samples_retried_total\{remote_name="flaky",url="[^"]+"\} [1-9]/);
        expect(m).toMatch(/prometheus_remote_storage_samples_total\{remote_name="flaky",url="[^"]+"\} [1-9]/);
      }
      answer = 400;
      seen.length = 0;
      {
        await using r = ruler(
          'reject-data',
          `remote_write:\n  - url: http://127.0.0.1:${port}/write\n    name: strict\n    queue_config: { batch_send_deadline: 20ms }\n`,
          { logger: createLogger({ level: 'error', write: (l) => lines.push(l) }) },
        );
        await r.start();
        await waitFor('two refused sends', async () => seen.length >= 2, 20_000);
        const m = await r.registry.metrics();
        expect(m).toMatch(/prometheus_remote_storage_samples_failed_total\{remote_name="strict",url="[^"]+"\} [1-9]/);
        expect(m).not.toMatch(/prometheus_remote_storage_samples_retried_total\{remote_name="strict"/);
      }
      expect(lines.join('\n')).toContain('non-recoverable error while sending remote write');
      expect(lines.join('\n')).toContain('server returned HTTP status 400');
    } finally {
      server.close();
    }
  });

  it('restores `for` state with range queries to its query API servers (Thanos promClientsQueryable)', async () => {
    await writeFile(
      join(dir, 'a.yml'),
      'groups:\n  - name: a\n    interval: 100ms\n    rules:\n      - alert: A\n        expr: x > 0\n        for: 1h\n',
    );
    const now = Date.now();
    const activeAtSec = Math.floor((now - 30 * 60_000) / 1000);
    const downAt = now - 60_000;
    const ranges: URLSearchParams[] = [];
    // A fake query API (named so): the alert's series for instant queries, and its
    // ALERTS_FOR_STATE history, with a label to ignore, for range queries.
    const api = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const params = new URLSearchParams(body);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (req.url?.startsWith('/api/v1/query_range')) {
          ranges.push(params);
          res.end(
            JSON.stringify({
              status: 'success',
              data: {
                resultType: 'matrix',
                result: [
                  {
                    metric: { __name__: 'ALERTS_FOR_STATE', alertname: 'A', job: 'j', replica: 'r9' },
                    values: [[downAt / 1000, String(activeAtSec)]],
                  },
                ],
              },
            }),
          );
          return;
        }
        res.end(
          JSON.stringify({
            status: 'success',
            data: { resultType: 'vector', result: [{ metric: { job: 'j' }, value: [now / 1000, '1'] }] },
          }),
        );
      });
    });
    const sink = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await Promise.all([
      new Promise<void>((r) => api.listen(0, '127.0.0.1', r)),
      new Promise<void>((r) => sink.listen(0, '127.0.0.1', r)),
    ]);
    try {
      await using r = createRuler({
        ruleFiles: [join(dir, 'a.yml')],
        dataDir: join(dir, 'restore-data'),
        queryURLs: [`127.0.0.1:${(api.address() as AddressInfo).port}`],
        remoteWrite: parseRemoteWriteConfig(
          `remote_write: [{ url: "http://127.0.0.1:${(sink.address() as AddressInfo).port}/w" }]`,
        ),
        queryDefaultStepMs: 15_000,
        restoreIgnoredLabels: ['replica'],
        shipIntervalMs: 0,
        logger: NOP_LOGGER,
      });
      await r.start();
      const rule = () => r.groups()[0]?.rules[0] as AlertingRule;
      await waitFor('restored alert', async () => rule()?.restored === true && rule().active.size > 0, 20_000);
      expect(rule()).toBeInstanceOf(AlertingRule);
      const [alert] = [...rule().active.values()];
      // Pending 29 of its 60 minutes when the ruler went down: the outage is added back, so it
      // was active since activeAt + (restore time - downAt). Matching needed --restore-ignored-label
      // to drop `replica`; unrestored, activeAt would be the first evaluation's time.
      expect(Math.abs((alert?.activeAt ?? 0) - (activeAtSec * 1000 + (Date.now() - downAt)))).toBeLessThan(5_000);
      expect(ranges[0]?.get('query')).toBe('{__name__="ALERTS_FOR_STATE", alertname="A"}');
      expect(ranges[0]?.get('step')).toBe('15');
      expect(ranges[0]?.get('dedup')).toBe('true');
      expect(Number(ranges[0]?.get('end')) - Number(ranges[0]?.get('start'))).toBe(3600);
    } finally {
      api.close();
      sink.close();
    }
  });

  it.skipIf(!programAvailable('prometheus'))(
    'remote-writes to Prometheus 2.42 (--web.enable-remote-write-receiver)',
    async () => {
      const prom = await startPrometheus();
      try {
        await using r = ruler(
          'prom-data',
          `remote_write:\n  - url: ${prom.url}/api/v1/write\n    queue_config: { batch_send_deadline: 50ms }\n`,
        );
        await r.start();
        type Result = { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        let got: Result['data']['result'] = [];
        await waitFor(
          'recorded series in Prometheus',
          async () => {
            const res = (await (await fetch(`${prom.url}/api/v1/query?query=job:x:sum`)).json()) as Result;
            got = res.data.result;
            return got.length > 0;
          },
          30_000,
        );
        expect(got.map((s) => s.metric)).toEqual([{ __name__: 'job:x:sum', job: 'j', ruler: 'r1' }]);
        expect(got[0]?.value[1]).toBe('5');
      } finally {
        await prom.stop();
      }
    },
    60_000,
  );
});
