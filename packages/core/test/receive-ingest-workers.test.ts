// Remote write decoded on ingest worker threads must be indistinguishable from remote write
// decoded on the main thread: the same status and text for every request (good, partly bad and
// bad ones), and the same heads afterwards, chunk byte for chunk byte. A worker that dies fails
// only its requests in flight with a retryable 503, and close() leaves no threads behind.

import { readFileSync } from 'node:fs';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { matcher, STALE_NAN } from '@thanos-ts/tsdb';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createReceiver,
  encodeWriteRequest,
  parseLimitsConfig,
  type Receiver,
  type WriteSeries,
} from '../src/receive/index.js';
import { createIngestPool } from '../src/receive/ingest-pool.js';
import { parseRelabelConfig } from '../src/store/relabel.js';

const T0 = 1_700_000_000_000;

function series(labels: [string, string][], samples: [number, number][], staleAt?: number[]): WriteSeries {
  return {
    labels: labels.map(([name, value]) => ({ name, value })),
    timestamps: samples.map((s) => s[0]),
    values: samples.map((s) => s[1]),
    histograms: 0,
    ...(staleAt ? { staleAt } : {}),
  };
}

const RW1_HEADERS = {
  'Content-Type': 'application/x-protobuf',
  'Content-Encoding': 'snappy',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

const rw1 = (list: WriteSeries[]): Buffer => compressSync(Buffer.from(encodeWriteRequest(list)));

/** A request whose label value `PLACEHOLDER` is replaced by bytes that are not UTF-8. */
function withInvalidUtf8(list: WriteSeries[]): Buffer {
  const raw = Buffer.from(encodeWriteRequest(list));
  const at = raw.indexOf('PLACEHOLDER');
  raw[at] = 0xc3;
  raw[at + 1] = 0x28;
  return compressSync(raw);
}

/** Many series, so the request is well over any inline threshold. */
function many(prefix: string, n: number, t: number): WriteSeries[] {
  return Array.from({ length: n }, (_, i) =>
    series(
      [
        ['__name__', `${prefix}_${i % 7}`],
        ['instance', `host-${i}:9100`],
        ['job', 'node'],
      ],
      [
        [t, i * 1.5],
        [t + 15_000, i % 3 === 0 ? Number.NaN : -i],
      ],
    ),
  );
}

interface Step {
  name: string;
  body: Buffer;
  headers?: Record<string, string>;
  /** Expected status (both paths must also agree on it and on the text). */
  status: number;
}

// Applied in order to both receivers: later steps depend on what earlier ones stored.
const STEPS: Step[] = [
  { name: 'many series, two samples each', body: rw1(many('m', 300, T0)), status: 200 },
  {
    name: 'staleness marker, NaN, non-ASCII values, exemplar-free',
    body: rw1([
      series(
        [
          ['__name__', 'gone'],
          ['city', 'Zürich ✓'],
        ],
        [
          [T0, 1],
          [T0 + 1000, STALE_NAN],
          [T0 + 2000, Number.NaN],
        ],
        [1],
      ),
      ...many('pad', 50, T0),
    ]),
    status: 200,
  },
  { name: 'garbage snappy', body: Buffer.from('definitely not snappy, not even close to it'), status: 400 },
  {
    name: 'snappy of a truncated protobuf',
    body: compressSync(Buffer.from(encodeWriteRequest(many('t', 50, T0))).subarray(0, 1000)),
    status: 400,
  },
  {
    name: 'invalid, duplicate, unsorted, nameless and empty labels beside valid series',
    body: rw1([
      series(
        [
          ['__name__', 'ok_metric'],
          ['a', '1'],
        ],
        [[T0, 1]],
      ),
      series(
        [
          ['__name__', 'bad'],
          ['a-b', 'x'],
        ],
        [[T0, 1]],
      ),
      series(
        [
          ['__name__', 'dup'],
          ['a', 'x'],
          ['a', 'y'],
        ],
        [[T0, 1]],
      ),
      series(
        [
          ['b', 'x'],
          ['__name__', 'unsorted'],
        ],
        [[T0, 1]],
      ),
      series([['job', 'nameless']], [[T0, 1]]),
      series(
        [
          ['1abc', 'x'],
          ['__name__', 'digit_first'],
        ],
        [[T0, 1]],
      ),
      series(
        [
          ['__name__', 'empty'],
          ['a', ''],
        ],
        [[T0, 1]],
      ),
      series([], [[T0, 1]]),
      ...many('pad2', 40, T0),
    ]),
    status: 400,
  },
  {
    name: 'a value that is not UTF-8',
    body: withInvalidUtf8([
      series(
        [
          ['__name__', 'utf'],
          ['v', 'PLACEHOLDER'],
        ],
        [[T0, 1]],
      ),
      ...many('pad3', 40, T0),
    ]),
    status: 400,
  },
  {
    name: 'out-of-order and duplicate samples of stored series, and new ones',
    body: rw1([
      ...many('m', 300, T0 - 60_000),
      series(
        [
          ['__name__', 'm_0'],
          ['instance', 'host-0:9100'],
          ['job', 'node'],
        ],
        [[T0 + 15_000, 42]],
      ),
      ...many('fresh', 30, T0),
    ]),
    status: 409,
  },
  { name: 'appends to every stored series', body: rw1(many('m', 300, T0 + 30_000)), status: 200 },
  { name: 'bad replica header', body: rw1(many('r', 30, T0)), headers: { 'THANOS-REPLICA': 'x' }, status: 400 },
  {
    name: 'replica over the replication factor',
    body: rw1(many('r', 30, T0)),
    headers: { 'THANOS-REPLICA': '2' },
    status: 400,
  },
  {
    name: 'request over the samples limit',
    body: rw1(many('lim', 120, T0)),
    headers: { 'THANOS-TENANT': 'small' },
    status: 413,
  },
  {
    name: 'decompressed body over max request bytes',
    body: rw1([
      series(
        [
          ['__name__', 'big'],
          ['v', 'x'.repeat(300_000)],
        ],
        [[T0, 1]],
      ),
    ]),
    status: 413,
  },
  { name: 'empty request', body: rw1([]), status: 200 },
  { name: 'second tenant', body: rw1(many('other', 100, T0)), headers: { 'THANOS-TENANT': 'team-b' }, status: 200 },
];

/** Every series of a receiver with its chunks as hex, in StoreAPI order. */
async function dump(r: Receiver): Promise<string[]> {
  const out: string[] = [];
  for await (const m of r.series({
    minTime: 0,
    maxTime: T0 + 3_600_000,
    matchers: [matcher('=~', '__name__', '.+')],
  })) {
    if (m.type !== 'series') continue;
    const chunks = m.series.chunks.map(
      (c) => `${c.minTime}-${c.maxTime}:${Buffer.from(c.raw?.data ?? []).toString('hex')}`,
    );
    out.push(`${m.series.labels.toString()} ${chunks.join(' ')}`);
  }
  return out;
}

async function metric(r: Receiver, name: string): Promise<number> {
  const text = await r.registry.metrics();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
}

/** Waits until `n` ingest workers are online: the receiver starts them once it serves. */
async function workersOnline(r: Receiver, n: number): Promise<void> {
  await vi.waitFor(async () => expect(await metric(r, 'thanos_receive_ingest_workers')).toBe(n), {
    timeout: 30_000,
    interval: 20,
  });
}

/** OS threads of this process (Linux), to see that worker threads really ended. */
function osThreads(): number {
  return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN);
}

describe('remote write through ingest workers', () => {
  let dir: string;
  let onWorkers: Receiver;
  let inline: Receiver;
  const answers: { name: string; workers: [number, string]; inline: [number, string] }[] = [];

  beforeAll(async () => {
    dir = await makeTempDir('receive-workers-');
    const common = {
      remoteWriteAddress: '127.0.0.1:0',
      flushIntervalMs: 0,
      httpGracePeriodMs: 0,
      maxRequestBytes: 200_000,
      limits: parseLimitsConfig('write:\n  tenants:\n    small:\n      request:\n        samples_limit: 100\n'),
    };
    onWorkers = createReceiver({ ...common, tsdbPath: `${dir}/workers`, ingestWorkers: 1, ingestWorkerMinBytes: 0 });
    inline = createReceiver({ ...common, tsdbPath: `${dir}/inline`, ingestWorkers: 0 });
    await Promise.all([onWorkers.start(), inline.start()]);
    await workersOnline(onWorkers, 1);
    expect(await metric(inline, 'thanos_receive_ingest_workers')).toBe(0);
    for (const step of STEPS) {
      const send = async (r: Receiver): Promise<[number, string]> => {
        const res = await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, {
          method: 'POST',
          body: step.body,
          headers: { ...RW1_HEADERS, ...step.headers },
        });
        return [res.status, await res.text()];
      };
      answers.push({ name: step.name, workers: await send(onWorkers), inline: await send(inline) });
    }
  });

  afterAll(async () => {
    await Promise.all([onWorkers?.close(), inline?.close()]);
    await removeTempDir(dir);
  });

  it.each(STEPS.map((s, i) => ({ ...s, i })))('$name: same status and text', ({ i, status }) => {
    const a = answers[i] as (typeof answers)[0];
    expect(a.workers).toEqual(a.inline);
    expect(a.workers[0], a.workers[1]).toBe(status);
  });

  it('took the worker path on one receiver only', async () => {
    // Every step but the oversized one reached a worker (that one is refused before decoding).
    expect(await metric(onWorkers, 'thanos_receive_ingest_worker_requests_total')).toBeGreaterThanOrEqual(
      STEPS.length - 1,
    );
    expect(await metric(inline, 'thanos_receive_ingest_worker_requests_total')).toBe(0);
  });

  it('stored the same heads', async () => {
    const [a, b] = await Promise.all([dump(onWorkers), dump(inline)]);
    expect(a.length).toBeGreaterThan(500);
    expect(a).toEqual(b);
  });

  it('the in-process write() stores the same as remote write', async () => {
    const list = many('embedded', 20, T0);
    await Promise.all([onWorkers.write({ timeseries: list }), inline.write({ timeseries: list })]);
    expect(await dump(onWorkers)).toEqual(await dump(inline));
  });
});

describe('requests that stay on the main thread', () => {
  it.each([
    {
      name: 'relabelling configured',
      opts: { relabelConfigs: parseRelabelConfig('- action: labeldrop\n  regex: instance\n') },
    },
    { name: 'tenant split by label', opts: { splitTenantLabelName: 'team' } },
    {
      name: 'replication factor 2',
      opts: {
        replicationFactor: 2,
        hashrings: [{ endpoints: [{ address: 'self' }, { address: 'self2' }] }],
        localEndpoint: 'self',
      },
    },
    { name: 'below the size threshold', opts: { ingestWorkerMinBytes: 1 << 20 } },
  ])('$name', async ({ opts }) => {
    const dir = await makeTempDir('receive-inline-');
    const r = createReceiver({
      tsdbPath: dir,
      remoteWriteAddress: '127.0.0.1:0',
      flushIntervalMs: 0,
      httpGracePeriodMs: 0,
      forwardTimeoutMs: 100,
      ingestWorkers: 1,
      ingestWorkerMinBytes: 0,
      ...opts,
    });
    await r.start();
    await workersOnline(r, 1);
    try {
      await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, {
        method: 'POST',
        body: rw1(many('s', 50, T0)),
        headers: RW1_HEADERS,
      });
      expect(await metric(r, 'thanos_receive_ingest_worker_requests_total')).toBe(0);
      expect(
        await metric(r, 'thanos_receive_write_timeseries_total{code="200",tenant="default-tenant"}'),
      ).toBeGreaterThan(0);
    } finally {
      await r.close();
      await removeTempDir(dir);
    }
  });
});

describe('ingest pool', () => {
  it('a crashed worker fails its request in flight with 503, is replaced, and the pool keeps decoding', async () => {
    const pool = createIngestPool({ size: 1 });
    await pool.start();
    try {
      const body = rw1(many('c', 10, T0));
      pool.crashOneForTest();
      const err = await pool.decode(body, 0).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'CORE_RECEIVE_UNAVAILABLE', status: 503 });
      expect((err as Error).message).toMatch(/ingest worker exited with code 70/);
      expect(pool.threads()).toBe(1);
      const r = await pool.decode(body, 0);
      expect(r.type).toBe('batch');
      if (r.type === 'batch') expect([r.batch.series, r.batch.samples]).toEqual([10, 20]);
    } finally {
      await pool.close();
    }
  });

  it('a receiver keeps serving after its worker crashed', async () => {
    const dir = await makeTempDir('receive-crash-');
    const pool = createIngestPool({ size: 1 });
    const r = createReceiver({
      ingestPool: pool,
      tsdbPath: dir,
      remoteWriteAddress: '127.0.0.1:0',
      flushIntervalMs: 0,
      httpGracePeriodMs: 0,
      ingestWorkerMinBytes: 0,
    });
    await r.start();
    await workersOnline(r, 1);
    try {
      const send = async (t: number) =>
        (
          await fetch(`http://${r.remoteWriteAddress}/api/v1/receive`, {
            method: 'POST',
            body: rw1(many('k', 20, t)),
            headers: RW1_HEADERS,
          })
        ).status;
      expect(await send(T0)).toBe(200);
      pool.crashOneForTest();
      expect(await send(T0 + 60_000)).toBe(503);
      expect(await send(T0 + 60_000)).toBe(200);
    } finally {
      await r.close();
      expect(pool.threads()).toBe(0);
      await removeTempDir(dir);
    }
  });

  it('stops replacing workers that keep dying without answering, down to no threads', async () => {
    const exits: boolean[] = [];
    const pool = createIngestPool({ size: 1, onWorkerExit: (_code, replaced) => exits.push(replaced) });
    await pool.start();
    try {
      for (let i = 0; i < 4; i++) {
        pool.crashOneForTest();
        await expect(pool.decode(rw1(many('d', 5, T0)), 0)).rejects.toMatchObject({ status: 503 });
      }
      expect(exits).toEqual([true, true, true, false]);
      expect(pool.threads()).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('a receiver closed before its workers are online closes at once and leaves none running', async () => {
    const dir = await makeTempDir('receive-early-close-');
    const pool = createIngestPool({ size: 1 });
    const r = createReceiver({ ingestPool: pool, tsdbPath: dir, flushIntervalMs: 0, httpGracePeriodMs: 0 });
    try {
      await r.start();
      // The workers start in the background once the receiver serves: close before they are up.
      await r.close();
      expect(pool.threads()).toBe(0);
      expect(await metric(r, 'thanos_receive_ingest_workers')).toBe(0);
    } finally {
      await removeTempDir(dir);
    }
  });

  it('close() leaves no threads behind', async () => {
    const before = osThreads();
    const pool = createIngestPool({ size: 2 });
    await pool.start();
    expect(osThreads()).toBeGreaterThanOrEqual(before + 2);
    await pool.close();
    await pool.close();
    expect(pool.threads()).toBe(0);
    expect(osThreads()).toBe(before);
    await expect(pool.decode(rw1([]), 0)).rejects.toMatchObject({ status: 503 });
  });
});
