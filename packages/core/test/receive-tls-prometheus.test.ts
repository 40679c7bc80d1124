// Real Prometheus 2.42 remote-writes over mutual TLS (--remote-write.server-tls-cert/-key/
// -client-ca) to a receiver that relabels (--receive.relabel-config) and splits tenants by a label
// Prometheus adds to some series (--receive.split-tenant-label-name). Clients without a
// certificate, or limited to TLS 1.2 while the receiver asks for 1.3 (Thanos's default), are refused.

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import {
  freePort,
  makeTempDir,
  makeTestCerts,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createReceiver, type Receiver } from '../src/receive/index.js';
import { parseRelabelConfig } from '../src/store/relabel.js';

const HAVE_PROMETHEUS = programAvailable('prometheus');
if (!HAVE_PROMETHEUS)
  console.warn('SKIPPED: receive-tls-prometheus.test.ts needs the prometheus binary (apt install prometheus)');

const SERVER_NAME = 'receive.test';

/** POSTs an empty body over HTTPS with the given TLS client options; resolves the status or the error text. */
function tryPost(address: string, tls: Record<string, unknown>): Promise<number | string> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const req = request(
      { host, port: Number(port), method: 'POST', path: '/api/v1/receive', servername: SERVER_NAME, ...tls },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err) => resolve(err.message));
    req.end();
  });
}

describe.skipIf(!HAVE_PROMETHEUS)('receiver with TLS, relabelling and split tenants, fed by Prometheus 2.42', () => {
  let dir: string;
  let prom: RunningPrometheus;
  let receiver: Receiver;
  let querier: Querier;

  beforeAll(async () => {
    dir = await makeTempDir('receive-tls-');
    makeTestCerts(dir, { serverName: SERVER_NAME, clientName: 'prometheus' });
    receiver = createReceiver({
      tsdbPath: join(dir, 'receive'),
      remoteWriteAddress: '127.0.0.1:0',
      remoteWriteServerTLS: {
        certFile: join(dir, 'server.crt'),
        keyFile: join(dir, 'server.key'),
        clientCAFile: join(dir, 'ca.crt'),
      },
      splitTenantLabelName: 'team',
      relabelConfigs: parseRelabelConfig(
        `
- source_labels: [__name__]
  regex: 'go_gc_duration_seconds.*'
  action: drop
`,
        '--receive.relabel-config',
      ),
      httpGracePeriodMs: 0,
      flushIntervalMs: 0,
    });
    await receiver.start();
    const port = await freePort();
    prom = await startPrometheus({
      port,
      config: `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${port}']
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        target_label: team
        replacement: gophers
remote_write:
  - url: https://${receiver.remoteWriteAddress}/api/v1/receive
    tls_config:
      ca_file: ${join(dir, 'ca.crt')}
      cert_file: ${join(dir, 'client.crt')}
      key_file: ${join(dir, 'client.key')}
      server_name: ${SERVER_NAME}
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

  it('stores what Prometheus sends over mTLS, relabelled and split by the team label', async () => {
    await waitFor(
      'go_goroutines and up arrive',
      async () => {
        const r = await querier.instantQuery('count(go_goroutines) + count(up)', Date.now());
        return r.result.type === 'vector' && r.result.samples.length === 1;
      },
      60_000,
    );
    expect(receiver.tenants().sort()).toEqual(['default-tenant', 'gophers']);
    const go = await querier.instantQuery('go_goroutines', Date.now());
    expect(go.result.type === 'vector' && go.result.samples.map((s) => s.metric.toRecord())).toEqual([
      { __name__: 'go_goroutines', instance: expect.any(String), job: 'prometheus', tenant_id: 'gophers' },
    ]);
    const up = await querier.instantQuery('up', Date.now());
    expect(up.result.type === 'vector' && up.result.samples.map((s) => s.metric.get('tenant_id'))).toEqual([
      'default-tenant',
    ]);
    // Dropped by the receiver's relabel rules (Prometheus itself has them).
    const gc = await querier.instantQuery('count({__name__=~"go_gc_duration_seconds.*"})', Date.now());
    expect(gc.result.type === 'vector' && gc.result.samples).toEqual([]);
    const own = await fetch(`${prom.url}/api/v1/query?query=count(go_gc_duration_seconds)`);
    expect(((await own.json()) as { data: { result: unknown[] } }).data.result.length).toBe(1);
    // Every send succeeded.
    const failed = await fetch(
      `${prom.url}/api/v1/query?query=${encodeURIComponent('sum(prometheus_remote_storage_samples_failed_total)')}`,
    );
    const failedVal = ((await failed.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]
      ?.value[1];
    expect(Number(failedVal ?? 0)).toBe(0);
  });

  it('refuses clients without a certificate, with an untrusted CA, or below TLS 1.3', async () => {
    const address = receiver.remoteWriteAddress as string;
    const ca = readFileSync(join(dir, 'ca.crt'));
    const cert = readFileSync(join(dir, 'client.crt'));
    const key = readFileSync(join(dir, 'client.key'));
    // With the certificate the request reaches the handler (an empty body is not snappy: 400).
    expect(await tryPost(address, { ca, cert, key })).toBe(400);
    expect(await tryPost(address, { ca })).toEqual(
      expect.stringMatching(/certificate|alert|socket hang up|ECONNRESET/i),
    );
    expect(await tryPost(address, { cert, key })).toEqual(
      expect.stringMatching(/self.signed|unable to verify|certificate/i),
    );
    expect(await tryPost(address, { ca, cert, key, maxVersion: 'TLSv1.2' })).toEqual(
      expect.stringMatching(/protocol|version/i),
    );
  });
});

describe('receivers forwarding to each other over gRPC mTLS (--remote-write.client-tls-*)', () => {
  it('replicates with RF=2 between receivers that serve gRPC over mTLS and dial each other with client certificates', async () => {
    const dir = await makeTempDir('receive-peer-tls-');
    makeTestCerts(dir, { serverName: SERVER_NAME, clientName: 'receiver' });
    const addrs = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const hashrings = [{ hashring: 'default', endpoints: addrs.map((address) => ({ address })) }];
    const grpcServerTLS = {
      certFile: join(dir, 'server.crt'),
      keyFile: join(dir, 'server.key'),
      clientCAFile: join(dir, 'ca.crt'),
    };
    const make = (i: number, peerTLS: Parameters<typeof createReceiver>[0]['peerTLS']) =>
      createReceiver({
        tsdbPath: join(dir, `r${i}`),
        remoteWriteAddress: '127.0.0.1:0',
        grpcAddress: addrs[i] as string,
        grpcServerTLS,
        localEndpoint: addrs[i] as string,
        hashrings,
        replicationFactor: 2,
        forwardTimeoutMs: 2_000,
        peerTLS,
        httpGracePeriodMs: 0,
        grpcGracePeriodMs: 0,
        flushIntervalMs: 0,
      });
    const good = {
      secure: true,
      caFile: join(dir, 'ca.crt'),
      certFile: join(dir, 'client.crt'),
      keyFile: join(dir, 'client.key'),
      serverName: SERVER_NAME,
      // --remote-write.client-tls-min-version=1.3 (Thanos's default): the secure-context path.
      minVersion: '1.3' as const,
    };
    const r0 = make(0, good);
    const r1 = make(1, good);
    try {
      await Promise.all([r0.start(), r1.start()]);
      const { compressSync } = await import('snappy');
      const { encodeWriteRequest } = await import('../src/receive/index.js');
      const T0 = 1_700_000_000_000;
      const many = Array.from({ length: 10 }, (_, i) => ({
        labels: [
          { name: '__name__', value: 'tls_rep' },
          { name: 'i', value: String(i) },
        ],
        timestamps: [T0],
        values: [i],
        histograms: 0,
      }));
      const res = await fetch(`http://${r0.remoteWriteAddress}/api/v1/receive`, {
        method: 'POST',
        body: compressSync(Buffer.from(encodeWriteRequest(many))),
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
      });
      expect(res.status, await res.text()).toBe(200);
      // Both hold every series: each series went to its two replicas, one of them over TLS.
      const counts: number[] = [];
      for (const r of [r0, r1]) {
        let n = 0;
        for await (const m of r.series({
          minTime: T0,
          maxTime: T0 + 1,
          matchers: [(await import('@thanos-ts/tsdb')).matcher('=', '__name__', 'tls_rep')],
        }))
          if (m.type === 'series') n++;
        counts.push(n);
      }
      expect(counts).toEqual([10, 10]);
    } finally {
      await Promise.all([r0.close(), r1.close()]);
      await removeTempDir(dir);
    }
  }, 60_000);
});

describe.skipIf(!HAVE_PROMETHEUS)(
  'tenant from the client certificate, curve restricted (Prometheus 2.42 sending)',
  () => {
    it('stores under the certificate CommonName, not the tenant header Prometheus sends', async () => {
      const dir = await makeTempDir('receive-tls-cert-tenant-');
      makeTestCerts(dir, { serverName: SERVER_NAME, clientName: 'prom-writer' });
      const receiver = createReceiver({
        tsdbPath: join(dir, 'receive'),
        remoteWriteAddress: '127.0.0.1:0',
        remoteWriteServerTLS: {
          certFile: join(dir, 'server.crt'),
          keyFile: join(dir, 'server.key'),
          clientCAFile: join(dir, 'ca.crt'),
          // Go 1.19's client sends an X25519 key share first: the server asks again for P-384.
          curves: ['CurveP384'],
        },
        tenantCertificateField: 'commonName',
        httpGracePeriodMs: 0,
        flushIntervalMs: 0,
      });
      await receiver.start();
      const port = await freePort();
      const prom = await startPrometheus({
        port,
        config: `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${port}']
remote_write:
  - url: https://${receiver.remoteWriteAddress}/api/v1/receive
    headers:
      THANOS-TENANT: from-header
    tls_config:
      ca_file: ${join(dir, 'ca.crt')}
      cert_file: ${join(dir, 'client.crt')}
      key_file: ${join(dir, 'client.key')}
      server_name: ${SERVER_NAME}
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
      max_backoff: 1s
`,
      });
      try {
        const { matcher } = await import('@thanos-ts/tsdb');
        const upSeries = async () => {
          const out: string[] = [];
          for await (const m of receiver.series({
            minTime: 0,
            maxTime: Date.now() + 60_000,
            matchers: [matcher('=', '__name__', 'up')],
          }))
            if (m.type === 'series') out.push(m.series.labels.get('tenant_id') ?? '');
          return out;
        };
        // The tenant exists from its first write on; its samples are there once that write's
        // commit is: wait for the series itself.
        await waitFor('up arrives', async () => (await upSeries()).length > 0, 60_000);
        expect(receiver.tenants()).toEqual(['prom-writer']);
        expect(await upSeries()).toEqual(['prom-writer']);
      } finally {
        await prom.stop();
        await receiver.close();
        await removeTempDir(dir);
      }
    }, 120_000);
  },
);
