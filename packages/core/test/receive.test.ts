// The receiver end to end in-process: remote write over HTTP (snappy protobuf), Prometheus's and
// Thanos's status codes and texts, limits, restart with WAL replay, querying through a querier,
// and two receivers replicating over Thanos's gRPC Writeable service.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { isListening, makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { compressSync } from 'snappy';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComponentClosedError } from '../src/component/component.js';
import { createQuerier, type Querier } from '../src/query/querier.js';
import {
  createReceiver,
  encodeWriteRequest,
  parseLimitsConfig,
  type Receiver,
  type ReceiverOptions,
  type WriteSeries,
} from '../src/receive/index.js';
import type { StoreAPI } from '../src/storeapi/store-api.js';

const T0 = 1_700_000_000_000;

function series(labels: Record<string, string>, samples: [number, number][]): WriteSeries {
  return {
    labels: Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => ({ name, value })),
    timestamps: samples.map((s) => s[0]),
    values: samples.map((s) => s[1]),
    histograms: 0,
  };
}

function body(list: WriteSeries[]): Buffer {
  return compressSync(Buffer.from(encodeWriteRequest(list)));
}

async function post(
  address: string,
  payload: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${address}/api/v1/receive`, {
    method: 'POST',
    body: payload,
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      ...headers,
    },
  });
  return { status: res.status, text: await res.text() };
}

// One querier for the whole file (its first query is slow to warm up), over whichever receiver
// the test asks about.
let target: StoreAPI | undefined;
const delegate: StoreAPI = {
  info: (signal) => (target as StoreAPI).info(signal),
  series: (req, signal) => (target as StoreAPI).series(req, signal),
  labelNames: (req, signal) => (target as StoreAPI).labelNames(req, signal),
  labelValues: (req, signal) => (target as StoreAPI).labelValues(req, signal),
};
let sharedQuerier: Querier | undefined;

async function query(r: Receiver, expr: string, at: number): Promise<Record<string, number>> {
  target = r;
  if (!sharedQuerier) {
    sharedQuerier = createQuerier({ endpoints: [delegate], endpointRefreshIntervalMs: 3_600_000 });
    await sharedQuerier.start();
  }
  const res = await sharedQuerier.instantQuery(expr, at);
  const out: Record<string, number> = {};
  if (res.result.type === 'vector') for (const s of res.result.samples) out[s.metric.toString()] = s.f;
  return out;
}

afterAll(async () => {
  await sharedQuerier?.close();
});

describe('receiver', () => {
  let dir: string;
  const open: Receiver[] = [];
  const make = (o: Partial<ReceiverOptions> = {}): Receiver => {
    const r = createReceiver({
      tsdbPath: join(dir, 'data'),
      remoteWriteAddress: '127.0.0.1:0',
      httpAddress: '127.0.0.1:0',
      grpcAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      grpcGracePeriodMs: 0,
      flushIntervalMs: 0,
      externalLabels: { replica: 'r0' },
      ...o,
    });
    open.push(r);
    return r;
  };
  beforeEach(async () => {
    dir = await makeTempDir('receive-');
  });
  afterEach(async () => {
    for (const r of open.splice(0)) await r.close();
    await removeTempDir(dir);
  });

  it('has the component lifecycle: no I/O before start, close twice, ports freed, no restart', async () => {
    const r = make();
    expect(r.httpAddress).toBeUndefined();
    expect(r.remoteWriteAddress).toBeUndefined();
    await r.start();
    const http = r.httpAddress as string;
    const grpc = r.grpcAddress as string;
    const rw = r.remoteWriteAddress as string;
    expect((await fetch(`http://${http}/-/healthy`)).status).toBe(200);
    expect((await fetch(`http://${http}/-/ready`)).status).toBe(200);
    expect(await (await fetch(`http://${http}/metrics`)).text()).toContain('thanos_receive_write_samples_total');
    await Promise.all([r.close(), r.close()]);
    for (const a of [http, grpc, rw]) expect(await isListening(a)).toBe(false);
    await expect(r.start()).rejects.toBeInstanceOf(ComponentClosedError);
    {
      await using d = make();
      await d.start();
      expect(d.ready()).toBe(true);
    }
    expect(open.at(-1)?.ready()).toBe(false);
  });

  it('stores remote-written samples per tenant, queryable with the tenant label', async () => {
    const r = make();
    await r.start();
    const rw = r.remoteWriteAddress as string;
    const a = await post(
      rw,
      body([
        series({ __name__: 'up', job: 'a' }, [
          [T0, 1],
          [T0 + 15_000, 1],
        ]),
        series({ __name__: 'up', job: 'b' }, [[T0, 0]]),
      ]),
    );
    expect(a).toEqual({ status: 200, text: '' });
    const b = await post(rw, body([series({ __name__: 'up', job: 'a' }, [[T0, 5]])]), { 'THANOS-TENANT': 'team-b' });
    expect(b.status).toBe(200);
    expect(r.tenants().sort()).toEqual(['default-tenant', 'team-b']);
    expect(await query(r, 'up', T0 + 20_000)).toEqual({
      '{__name__="up", job="a", replica="r0", tenant_id="default-tenant"}': 1,
      '{__name__="up", job="b", replica="r0", tenant_id="default-tenant"}': 0,
      '{__name__="up", job="a", replica="r0", tenant_id="team-b"}': 5,
    });
    // External labels select tenants, as a querier's store matching does.
    expect(await query(r, 'up{tenant_id="team-b"}', T0 + 20_000)).toEqual({
      '{__name__="up", job="a", replica="r0", tenant_id="team-b"}': 5,
    });
    const info = await r.info();
    expect(info.componentType).toBe('receive');
    expect(info.labelSets.map((l) => l.get('tenant_id')).sort()).toEqual(['default-tenant', 'team-b']);
    const names = await r.labelValues({ label: 'job', start: T0, end: T0 + 60_000, matchers: [] });
    expect(names.values).toEqual(['a', 'b']);
  });

  it.each([
    {
      name: 'garbage snappy',
      payload: () => Buffer.from('this is not snappy at all, not even close'),
      status: 400,
      text: /^snappy decode error: /,
    },
    {
      name: 'snappy of garbage protobuf',
      payload: () => compressSync(Buffer.from([0x0a, 0xff, 0xff, 0x01, 0x02])),
      status: 400,
      text: /^decode remote write request: .*WriteRequest/,
    },
    {
      name: 'labels out of order',
      payload: () =>
        body([
          {
            labels: [
              { name: 'job', value: 'x' },
              { name: '__name__', value: 'up' },
            ],
            timestamps: [T0],
            values: [1],
            histograms: 0,
          },
        ]),
      status: 409,
      text: /^add 1 series: out of order labels$/,
    },
    {
      name: 'duplicate label names',
      payload: () =>
        body([
          {
            labels: [
              { name: '__name__', value: 'up' },
              { name: 'job', value: 'x' },
              { name: 'job', value: 'y' },
            ],
            timestamps: [T0],
            values: [1],
            histograms: 0,
          },
        ]),
      status: 409,
      text: /^add 1 series: label set contains duplicate label names$/,
    },
    {
      name: 'no metric name',
      payload: () => body([series({ job: 'x' }, [[T0, 1]])]),
      status: 400,
      text: /^add 1 series: label set has no __name__ label$/,
    },
    {
      name: 'invalid label name',
      payload: () => body([series({ __name__: 'up', 'bad-name': 'x' }, [[T0, 1]])]),
      status: 400,
      text: /invalid label name/,
    },
  ])('rejects $name with $status and a message, storing nothing', async ({ payload, status, text }) => {
    const r = make();
    await r.start();
    const res = await post(r.remoteWriteAddress as string, payload());
    expect(res.status).toBe(status);
    expect(res.text.trim()).toMatch(text);
    expect(await query(r, 'up', T0 + 1000)).toEqual({});
  });

  it('answers out-of-order and duplicate samples with 409 and Prometheus texts, keeping the good samples', async () => {
    const r = make();
    await r.start();
    const rw = r.remoteWriteAddress as string;
    expect((await post(rw, body([series({ __name__: 'm', i: '1' }, [[T0 + 60_000, 1]])]))).status).toBe(200);
    const res = await post(
      rw,
      body([
        series({ __name__: 'm', i: '1' }, [
          [T0 + 30_000, 2],
          [T0 + 60_000, 3],
        ]),
        series({ __name__: 'm', i: '2' }, [[T0 + 60_000, 7]]),
      ]),
    );
    expect(res.status).toBe(409);
    expect(res.text.trim()).toBe(
      '2 errors: add 1 samples: duplicate sample for timestamp; add 1 samples: out of order sample',
    );
    expect(await query(r, 'm', T0 + 61_000)).toEqual({
      '{__name__="m", i="1", replica="r0", tenant_id="default-tenant"}': 1,
      '{__name__="m", i="2", replica="r0", tenant_id="default-tenant"}': 7,
    });
    // Resending the exact same sample is not an error (Prometheus accepts identical duplicates).
    expect((await post(rw, body([series({ __name__: 'm', i: '1' }, [[T0 + 60_000, 1]])]))).status).toBe(200);
  });

  it.each([
    { header: '../etc', status: 400 },
    { header: 'a/b', status: 400 },
    { header: '..', status: 400 },
    { header: 'ok-tenant_1', status: 200 },
  ])('tenant header $header → $status', async ({ header, status }) => {
    const r = make();
    await r.start();
    const res = await post(r.remoteWriteAddress as string, body([series({ __name__: 'up' }, [[T0, 1]])]), {
      'THANOS-TENANT': header,
    });
    expect(res.status).toBe(status);
    if (status === 400) {
      expect(res.text).toContain('tenant name not valid');
      expect(r.tenants()).toEqual([]);
    }
  });

  it('uses a custom tenant header and default tenant', async () => {
    const r = make({ tenantHeader: 'X-Scope-OrgID', defaultTenantId: 'anon', tenantLabelName: 'tenant' });
    await r.start();
    const rw = r.remoteWriteAddress as string;
    await post(rw, body([series({ __name__: 'up' }, [[T0, 1]])]), { 'X-Scope-OrgID': 'acme' });
    await post(rw, body([series({ __name__: 'up' }, [[T0, 2]])]));
    expect(await query(r, 'up', T0 + 1000)).toEqual({
      '{__name__="up", replica="r0", tenant="acme"}': 1,
      '{__name__="up", replica="r0", tenant="anon"}': 2,
    });
  });

  it('enforces limits with errors that name the limit (413 request limits, 429 head series)', async () => {
    const limits = parseLimitsConfig(`
write:
  default:
    request:
      series_limit: 2
      samples_limit: 3
  tenants:
    small:
      head_series_limit: 1
    tiny:
      request:
        size_bytes_limit: 10
`);
    const r = make({ limits });
    await r.start();
    const rw = r.remoteWriteAddress as string;
    const three = body([1, 2, 3].map((i) => series({ __name__: 'x', i: String(i) }, [[T0, i]])));
    let res = await post(rw, three);
    expect(res.status).toBe(413);
    expect(res.text).toContain('too many timeseries: 3 in the request, limit 2');
    expect(res.text).toContain('request.series_limit');
    res = await post(
      rw,
      body([
        series({ __name__: 'x' }, [
          [T0, 1],
          [T0 + 1, 1],
          [T0 + 2, 1],
          [T0 + 3, 1],
        ]),
      ]),
    );
    expect(res.status).toBe(413);
    expect(res.text).toContain('request.samples_limit');
    res = await post(rw, body([series({ __name__: 'x' }, [[T0, 1]])]), { 'THANOS-TENANT': 'tiny' });
    expect(res.status).toBe(413);
    expect(res.text).toContain('write request too large');
    expect(res.text).toContain('request.size_bytes_limit');
    expect((await post(rw, body([series({ __name__: 'x' }, [[T0, 1]])]), { 'THANOS-TENANT': 'small' })).status).toBe(
      200,
    );
    res = await post(rw, body([series({ __name__: 'x', i: '2' }, [[T0, 1]])]), { 'THANOS-TENANT': 'small' });
    expect(res.status).toBe(429);
    expect(res.text).toContain('tenant is above active series limit');
    expect(res.text).toContain('head_series_limit');
    expect(() => parseLimitsConfig('write:\n  default:\n    bogus: 1\n')).toThrow(/field bogus not found/);
  });

  it('takes 100k series in one request, and refuses a body over the request size cap with 413', async () => {
    const r = make({ maxRequestBytes: 8 << 20 });
    await r.start();
    const rw = r.remoteWriteAddress as string;
    const many = Array.from({ length: 100_000 }, (_, i) => series({ __name__: 'big', i: String(i) }, [[T0, i]]));
    const ok = await post(rw, body(many));
    expect(ok.status).toBe(200);
    const values = await r.labelValues({ label: 'i', start: T0, end: T0 + 1000, matchers: [] });
    expect(values.values.length).toBe(100_000);
    // 9 MiB over an 8 MiB cap: refused on Content-Length, before reading or decoding.
    const huge = Buffer.alloc(9 << 20, 7);
    for (let i = 0; i < huge.length; i += 4) huge.writeUInt32LE((i * 2654435761) >>> 0, i);
    const res = await post(rw, huge);
    expect(res.status).toBe(413);
    expect(res.text).toContain('write request too large');
  });

  it('sheds writes with 429 naming the limit while above the memory ceiling', async () => {
    const r = make({ memoryLimitBytes: 1024 });
    await r.start();
    const res = await post(r.remoteWriteAddress as string, body([series({ __name__: 'up' }, [[T0, 1]])]));
    expect(res.status).toBe(429);
    expect(res.text).toContain('receiver memory above limit');
    expect(res.text).toContain('--receive.memory-limit');
    expect(r.tenants()).toEqual([]);
  });

  it('keeps committed samples across a restart (WAL replay)', async () => {
    const r1 = make({ grpcAddress: undefined, httpAddress: undefined });
    await r1.start();
    await r1.write({
      timeseries: [
        series({ __name__: 'kept' }, [
          [T0, 1],
          [T0 + 15_000, 2],
        ]),
      ],
    });
    await r1.write({ tenant: 'other', timeseries: [series({ __name__: 'kept' }, [[T0, 9]])] });
    await r1.close();
    const r2 = make({ grpcAddress: undefined, httpAddress: undefined });
    await r2.start();
    expect(r2.tenants().sort()).toEqual(['default-tenant', 'other']);
    expect(await query(r2, 'kept', T0 + 16_000)).toEqual({
      '{__name__="kept", replica="r0", tenant_id="default-tenant"}': 2,
      '{__name__="kept", replica="r0", tenant_id="other"}': 9,
    });
    // After replay the head still refuses what came before.
    await expect(r2.write({ timeseries: [series({ __name__: 'kept' }, [[T0 + 1, 5]])] })).rejects.toMatchObject({
      code: 'CORE_RECEIVE_CONFLICT',
      message: 'add 1 samples: out of order sample',
    });
  });

  it('cuts 2h blocks from the head and uploads each once per tenant with the thanos meta', async () => {
    const bucketDir = join(dir, 'bucket');
    const bucket = createFilesystemBucket({ directory: bucketDir });
    const opts = { bucket, grpcAddress: undefined, httpAddress: undefined, remoteWriteAddress: undefined };
    const r = make(opts);
    await r.start();
    const H = 3600_000;
    const start = Math.floor(T0 / (2 * H)) * 2 * H;
    // 5h of samples every 10 minutes: the head spans more than 1.5 blocks, so the first 2h go.
    const samples: [number, number][] = [];
    for (let t = start; t <= start + 5 * H; t += 600_000) samples.push([t, t / 1000]);
    await r.write({ timeseries: [series({ __name__: 'blk' }, samples)] });
    await r.write({ tenant: 't2', timeseries: [series({ __name__: 'blk' }, samples)] });
    const first = await r.flush();
    expect(first).toEqual({ blocks: 2, uploaded: 2 });
    const metas: { thanos: { source: string; labels: Record<string, string> }; minTime: number }[] = [];
    for await (const name of bucket.iter('')) {
      const m = JSON.parse(Buffer.from(await bucket.get(`${name.replace(/\/$/, '')}/meta.json`)).toString());
      metas.push(m);
    }
    expect(
      metas.map((m) => [m.thanos.source, m.thanos.labels.tenant_id, m.thanos.labels.replica, m.minTime]).sort(),
    ).toEqual([
      ['receive', 'default-tenant', 'r0', start],
      ['receive', 't2', 'r0', start],
    ]);
    // Queries still see everything: the block and the head together.
    expect(await query(r, 'count_over_time(blk[6h])', start + 5 * H)).toEqual({
      '{replica="r0", tenant_id="default-tenant"}': samples.length,
      '{replica="r0", tenant_id="t2"}': samples.length,
    });
    await r.close();
    // After a restart nothing is uploaded twice.
    const again = make(opts);
    await again.start();
    expect(await again.flush()).toEqual({ blocks: 0, uploaded: 0 });
  });

  it('serves its StoreAPI over gRPC to a querier dialling it', async () => {
    const r = make();
    await r.start();
    await r.write({ timeseries: [series({ __name__: 'g', k: 'v' }, [[T0, 42]])] });
    const q = createQuerier({ endpoints: [r.grpcAddress as string] });
    await q.start();
    try {
      const res = await q.instantQuery('g', T0 + 1000);
      expect(res.result.type === 'vector' && res.result.samples.map((s) => [s.metric.toString(), s.f])).toEqual([
        ['{__name__="g", k="v", replica="r0", tenant_id="default-tenant"}', 42],
      ]);
    } finally {
      await q.close();
    }
  });

  it('answers 503 with the reason before start and 405 for GET', async () => {
    const r = make({ remoteWriteAddress: undefined, httpAddress: undefined, grpcAddress: undefined });
    const { createServer: httpServer } = await import('node:http');
    const srv = httpServer((req, res) => void r.writeHandler(req, res));
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    const port = (srv.address() as { port: number }).port;
    try {
      let res = await fetch(`http://127.0.0.1:${port}/any/path`, { method: 'POST', body: body([]) });
      expect(res.status).toBe(200); // empty request: nothing to do, as Thanos
      res = await fetch(`http://127.0.0.1:${port}/any/path`, {
        method: 'POST',
        body: body([series({ __name__: 'up' }, [[T0, 1]])]),
      });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('target not ready');
      await r.start();
      res = await fetch(`http://127.0.0.1:${port}/x`, { method: 'GET' });
      expect(res.status).toBe(405);
      res = await fetch(`http://127.0.0.1:${port}/x`, {
        method: 'POST',
        body: body([series({ __name__: 'up' }, [[T0, 1]])]),
      });
      expect(res.status).toBe(200);
    } finally {
      srv.close();
    }
  });

  it('three receivers, ketama, RF=3: one goes down mid-stream, writes keep succeeding, dedup shows no gaps', async () => {
    const ports = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<number>((resolve) => {
            const s = createServer();
            s.listen(0, '127.0.0.1', () => {
              const p = (s.address() as { port: number }).port;
              s.close(() => resolve(p));
            });
          }),
      ),
    );
    const addrs = ports.map((p) => `127.0.0.1:${p}`);
    const hashrings = [{ endpoints: addrs.map((address) => ({ address })) }];
    const node = (i: number) =>
      make({
        tsdbPath: join(dir, `r${i}`),
        grpcAddress: addrs[i] as string,
        localEndpoint: addrs[i] as string,
        hashrings,
        hashringsAlgorithm: 'ketama',
        replicationFactor: 3,
        forwardTimeoutMs: 2_000,
        externalLabels: { receive_replica: String(i) },
      });
    const rs = [0, 1, 2].map(node);
    await Promise.all(rs.map((r) => r.start()));
    const SERIES = 30;
    const round = async (k: number, via: Receiver) => {
      const list = Array.from({ length: SERIES }, (_, i) =>
        series({ __name__: 'rf3', i: String(i) }, [[T0 + k * 15_000, k]]),
      );
      return (await post(via.remoteWriteAddress as string, body(list))).status;
    };
    for (let k = 0; k < 5; k++) expect(await round(k, rs[k % 3] as Receiver)).toBe(200);
    await (rs[2] as Receiver).close();
    // Quorum is 2 of 3: every acknowledged round is on at least two live receivers.
    for (let k = 5; k < 10; k++) expect(await round(k, rs[k % 2] as Receiver)).toBe(200);
    const back = node(2);
    await back.start(); // WAL replay of what it had
    for (let k = 10; k < 12; k++) expect(await round(k, back)).toBe(200);
    const q = createQuerier({
      endpoints: [rs[0] as Receiver, rs[1] as Receiver, back],
      replicaLabels: ['receive_replica'],
    });
    await q.start();
    try {
      const res = await q.instantQuery('count_over_time(rf3[10m])', T0 + 11 * 15_000);
      const counts = res.result.type === 'vector' ? res.result.samples.map((s) => s.f) : [];
      expect(counts).toEqual(Array.from({ length: SERIES }, () => 12));
    } finally {
      await q.close();
    }
  });

  it('replicates to two receivers over thanos.WriteableStore with RF=2 and survives one being down', async () => {
    // Fix the gRPC ports first: the hashring names them.
    const ports = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<number>((resolve) => {
            const s = createServer();
            s.listen(0, '127.0.0.1', () => {
              const p = (s.address() as { port: number }).port;
              s.close(() => resolve(p));
            });
          }),
      ),
    );
    const addrs = ports.map((p) => `127.0.0.1:${p}`);
    const hashrings = [{ hashring: 'default', endpoints: addrs.map((address) => ({ address })) }];
    const rs = addrs.map((a, i) =>
      make({
        tsdbPath: join(dir, `r${i}`),
        grpcAddress: a,
        localEndpoint: a,
        hashrings,
        replicationFactor: 2,
        externalLabels: { receive_replica: String(i) },
      }),
    );
    await Promise.all(rs.map((r) => r.start()));
    const [r0, r1] = rs as [Receiver, Receiver];
    const many = Array.from({ length: 20 }, (_, i) => series({ __name__: 'rep', i: String(i) }, [[T0, i]]));
    expect((await post(r0.remoteWriteAddress as string, body(many))).status).toBe(200);
    for (const r of rs) {
      const got = await query(r, 'count(rep)', T0 + 1000);
      expect(Object.values(got)).toEqual([20]);
    }
    // A conflict on every replica is 409 across replication, never 5xx.
    const res = await post(r1.remoteWriteAddress as string, body([series({ __name__: 'rep', i: '0' }, [[T0 - 1, 1]])]));
    expect(res.status).toBe(409);
    expect(res.text).toContain('out of order sample');
    // With r1 down, RF=2 (quorum 1, as Thanos) keeps accepting through r0.
    await r1.close();
    const later = Array.from({ length: 20 }, (_, i) => series({ __name__: 'rep', i: String(i) }, [[T0 + 15_000, i]]));
    expect((await post(r0.remoteWriteAddress as string, body(later))).status).toBe(200);
    const series0: string[] = [];
    for await (const m of r0.series({ minTime: T0, maxTime: T0 + 20_000, matchers: [matcher('=', '__name__', 'rep')] }))
      if (m.type === 'series') series0.push(m.series.labels.get('i'));
    expect(series0.length).toBe(20);
  });
});
