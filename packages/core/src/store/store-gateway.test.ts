import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, type GeneratedBlocks, makeTempDir, programAvailable } from '@thanos-ts/testing';
import { Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../block/upload-blocks.js';
import { NOP_LOGGER } from '../log/logger.js';
import { StoreAPIError } from '../storeapi/errors.js';
import { connectStoreAPI } from '../storeapi/grpc-client.js';
import type { SeriesRequest, StoreAPI } from '../storeapi/store-api.js';
import { collectSeries } from './collect-series.test-util.js';
import { StoreLimitError } from './limits.js';
import { hashmod, parseRelabelConfig } from './relabel.js';
import { createStoreGateway, type StoreGateway } from './store-gateway.js';

const START = 1_700_000_000_000;
const HOURS = 3600_000;

function expected(
  gen: GeneratedBlocks,
  ext: Record<string, string>,
  minTime: number,
  maxTime: number,
  filter: (l: Record<string, string>) => boolean,
) {
  const out = new Map<string, { t: number[]; v: number[] }>();
  for (const s of gen.data) {
    if (!filter(s.labels)) continue;
    const t: number[] = [];
    const v: number[] = [];
    s.timestamps.forEach((ts, i) => {
      if (ts >= minTime && ts <= maxTime) {
        t.push(ts);
        v.push(s.values[i] as number);
      }
    });
    if (t.length > 0) out.set(Labels.from({ ...s.labels, ...ext }).toString(), { t, v });
  }
  return out;
}

function sameSamples(got: Map<string, { t: number[]; v: number[] }>, want: Map<string, { t: number[]; v: number[] }>) {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, w] of want) {
    const g = got.get(k) as { t: number[]; v: number[] };
    expect(g.t, k).toEqual(w.t);
    expect(
      g.v.map((x) => (Number.isNaN(x) ? 'NaN' : x)),
      k,
    ).toEqual(w.v.map((x) => (Number.isNaN(x) ? 'NaN' : x)));
  }
}

describe.skipIf(!programAvailable('promtool'))('store gateway over a filesystem bucket (promtool blocks)', () => {
  let gen: GeneratedBlocks;
  let bucketDir: string;
  let dataDir: string;
  let ids: string[];
  const gateways: StoreGateway[] = [];
  const ext = { cluster: 'eu1', replica: 'a' };

  beforeAll(async () => {
    gen = await blocksFromOpenMetrics({
      metrics: 6,
      seriesPerMetric: 8,
      durationMs: 6 * HOURS,
      startMs: START,
      scrapeIntervalMs: 30_000,
    });
    bucketDir = await makeTempDir('store-bucket-');
    dataDir = await makeTempDir('store-data-');
    ids = await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), gen.dir, {
      labels: ext,
      source: 'test',
    });
  }, 60_000);
  afterAll(async () => {
    for (const g of gateways) await g.close();
  });

  const newGateway = (extra: Partial<Parameters<typeof createStoreGateway>[0]> = {}) => {
    const g = createStoreGateway({
      bucket: createFilesystemBucket({ directory: bucketDir }),
      dataDir,
      logger: NOP_LOGGER,
      ...extra,
    });
    gateways.push(g);
    return g;
  };

  it('serves every sample of every block, with external labels', async () => {
    expect(ids.length).toBeGreaterThanOrEqual(3);
    const g = newGateway();
    await g.start();
    expect(g.blocks().map((b) => b.ulid)).toEqual(ids);
    const got = await collectSeries(g, {
      minTime: 0,
      maxTime: START + 10 * HOURS,
      matchers: [matcher('=~', '__name__', '.+')],
    });
    const want = expected(gen, ext, 0, START + 10 * HOURS, () => true);
    expect(want.size).toBe(gen.series);
    sameSamples(got, want);
    const info = await g.info();
    expect(info.labelSets.map((l) => l.toRecord())).toEqual([ext]);
    expect(info.componentType).toBe('store');
  });

  it('answers matchers and time ranges like the data says', async () => {
    const g = newGateway();
    await g.start();
    const name = gen.data[0]?.labels.__name__ as string;
    const minTime = START + 1.5 * HOURS;
    const maxTime = START + 4.2 * HOURS;
    const got = await collectSeries(g, {
      minTime,
      maxTime,
      matchers: [matcher('=', '__name__', name), matcher('=', 'cluster', 'eu1')],
    });
    const want = expected(gen, ext, minTime, maxTime, (l) => l.__name__ === name);
    expect(want.size).toBeGreaterThan(1);
    sameSamples(got, want);
    const none = await collectSeries(g, {
      minTime,
      maxTime,
      matchers: [matcher('=', '__name__', name), matcher('=', 'cluster', 'us1')],
    });
    expect(none.size).toBe(0);
    const names = await g.labelNames({ start: 0, end: START + 10 * HOURS });
    expect(names.names).toContain('cluster');
    expect(names.names).toContain('__name__');
    const values = await g.labelValues({ start: 0, end: START + 10 * HOURS, label: '__name__' });
    expect(values.values).toEqual([...new Set(gen.data.map((s) => s.labels.__name__ as string))].sort());
    const shards = await g.labelValues({
      start: 0,
      end: START + 10 * HOURS,
      label: 'shard',
      matchers: [matcher('=', '__name__', name)],
    });
    expect(shards.values).toEqual(
      [...new Set(gen.data.filter((s) => s.labels.__name__ === name).map((s) => s.labels.shard as string))].sort(),
    );
    expect((await g.labelValues({ start: 0, end: START + 10 * HOURS, label: 'cluster' })).values).toEqual(['eu1']);
    expect(
      (
        await g.labelValues({
          start: 0,
          end: START + 10 * HOURS,
          label: 'cluster',
          matchers: [matcher('=', 'cluster', 'us1')],
        })
      ).values,
    ).toEqual([]);
    const namesFor = await g.labelNames({
      start: 0,
      end: START + 10 * HOURS,
      matchers: [matcher('=', '__name__', name)],
    });
    expect(namesFor.names).toEqual(['__name__', 'cluster', 'instance', 'job', 'replica', 'shard']);
  });

  it('drops replica labels on request and keeps series sorted', async () => {
    const g = newGateway();
    await g.start();
    const labels: Labels[] = [];
    for await (const r of g.series({
      minTime: 0,
      maxTime: START + 10 * HOURS,
      matchers: [matcher('=~', '__name__', '.+')],
      withoutReplicaLabels: ['replica'],
      skipChunks: true,
    }))
      if (r.type === 'series') labels.push(r.series.labels);
    expect(labels.length).toBe(new Set(gen.data.map((s) => JSON.stringify(s.labels))).size);
    expect(labels.every((l) => !l.has('replica'))).toBe(true);
    const sorted = [...labels].sort((a, b) => (a.toString() < b.toString() ? -1 : 1));
    expect(labels.map(String)).toEqual(labels.map(String));
    expect(sorted.length).toBe(labels.length);
  });

  it('rejects requests over the series and samples limits with a clear error', async () => {
    const g = newGateway({ limits: { seriesPerRequest: 5 } });
    await g.start();
    const drain = async (s: StoreAPI, req: SeriesRequest) => {
      for await (const _ of s.series(req));
    };
    const req = { minTime: 0, maxTime: START + 10 * HOURS, matchers: [matcher('=~', '__name__', '.+')] };
    await expect(drain(g, req)).rejects.toThrow(/exceeded series limit: limit 5 violated \(got \d+\)/);
    // Over gRPC the limit arrives as RESOURCE_EXHAUSTED with the same message.
    const served = newGateway({ limits: { seriesPerRequest: 5 }, grpcAddress: '127.0.0.1:0' });
    await served.start();
    const remote = connectStoreAPI(served.grpcAddress as string);
    try {
      const err = await drain(remote, req).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StoreAPIError);
      expect((err as StoreAPIError).grpcCode).toBe(8);
      expect((err as Error).message).toMatch(/exceeded series limit: limit 5 violated/);
    } finally {
      remote.close();
      await served.close();
    }
    const h = newGateway({ limits: { samplesPerRequest: 100 } });
    await h.start();
    await expect(drain(h, req)).rejects.toBeInstanceOf(StoreLimitError);
    await expect(drain(h, req)).rejects.toThrow(/exceeded samples limit: limit 100 violated/);
  });

  it('keeps index-headers on disk and rebuilds nothing on restart', async () => {
    const g = newGateway();
    await g.start();
    for (const id of ids) expect(await readdir(join(dataDir, id))).toContain('index-header');
    const again = newGateway();
    await again.start();
    expect(again.requests.getRange).toBe(0);
    const got = await collectSeries(again, {
      minTime: 0,
      maxTime: START + 10 * HOURS,
      matchers: [matcher('=~', '__name__', '.+')],
    });
    expect(got.size).toBeGreaterThan(0);
    expect(again.blocks().some((b) => b.loaded)).toBe(true);
  });

  it('picks up new blocks and drops deleted ones on sync; skips partial and corrupt blocks', async () => {
    const dir = await makeTempDir('store-bucket2-');
    const bucket = createFilesystemBucket({ directory: dir });
    await uploadTsdbBlocks(bucket, gen.dir, { labels: ext, source: 'test', only: [ids[0] as string] });
    const g = createStoreGateway({ bucket, dataDir: await makeTempDir('store-data2-'), logger: NOP_LOGGER });
    gateways.push(g);
    await g.start();
    expect(g.blocks().map((b) => b.ulid)).toEqual([ids[0]]);
    await uploadTsdbBlocks(bucket, gen.dir, {
      labels: ext,
      source: 'test',
      only: [ids[1] as string, ids[2] as string],
    });
    // A partial upload (no meta.json) and a block whose index is garbage.
    await mkdir(join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks'), { recursive: true });
    await writeFile(join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks', '000001'), 'x');
    await writeFile(join(dir, ids[2] as string, 'index'), new Uint8Array(4096).fill(7));
    await g.sync();
    expect(g.blocks().map((b) => b.ulid)).toEqual([ids[0], ids[1]]);
    const skipped = g.skippedBlocks();
    expect(skipped).toContainEqual({ ulid: '01HZZZZZZZZZZZZZZZZZZZZZZZ', state: 'no-meta-json' });
    expect(skipped.find((s) => s.ulid === ids[2])?.state).toBe('load-failed');
    expect(
      (await g.metrics.registry.getSingleMetric('thanos_bucket_store_block_load_failures_total')?.get())?.values[0]
        ?.value,
    ).toBe(1);
    const got = await collectSeries(g, {
      minTime: 0,
      maxTime: START + 10 * HOURS,
      matchers: [matcher('=~', '__name__', '.+')],
    });
    expect(got.size).toBeGreaterThan(0);
    await rm(join(dir, ids[0] as string), { recursive: true });
    await g.sync();
    expect(g.blocks().map((b) => b.ulid)).toEqual([ids[1]]);
  });

  it('shards blocks across two gateways by hashmod over __block_id, each block served exactly once', async () => {
    // promtool picks random ULIDs: find a modulus that splits them, then one gateway keeps the
    // first block's shard and the other drops it.
    let modulus = 2;
    while (new Set(ids.map((id) => hashmod(id, modulus))).size < 2) modulus++;
    const first = hashmod(ids[0] as string, modulus);
    const shard = (action: 'keep' | 'drop') =>
      parseRelabelConfig(
        `- action: hashmod\n  source_labels: [__block_id]\n  target_label: shard\n  modulus: ${modulus}\n- action: ${action}\n  source_labels: [shard]\n  regex: "${first}"\n`,
      );
    const a = newGateway({ filters: { relabel: shard('keep') }, dataDir: await makeTempDir('shard-a-') });
    const b = newGateway({ filters: { relabel: shard('drop') }, dataDir: await makeTempDir('shard-b-') });
    await a.start();
    await b.start();
    const served = [...a.blocks(), ...b.blocks()].map((x) => x.ulid).sort();
    expect(served).toEqual(ids);
    expect(a.blocks().length).toBeGreaterThan(0);
    expect(b.blocks().length).toBeGreaterThan(0);
    const req = { minTime: 0, maxTime: START + 10 * HOURS, matchers: [matcher('=~', '__name__', '.+')] };
    const ga = await collectSeries(a, req);
    const gb = await collectSeries(b, req);
    const all = expected(gen, ext, 0, START + 10 * HOURS, () => true);
    let samples = 0;
    for (const m of [ga, gb]) for (const s of m.values()) samples += s.t.length;
    let want = 0;
    for (const s of all.values()) want += s.t.length;
    expect(samples).toBe(want);
  });

  it('loads block indexes lazily and unloads them when idle', async () => {
    const g = newGateway({ idleUnloadAfterMs: 100, dataDir: await makeTempDir('idle-') });
    await g.start();
    expect(g.blocks().every((b) => !b.loaded)).toBe(true);
    await collectSeries(g, { minTime: START, maxTime: START + 1000, matchers: [matcher('=~', '__name__', '.+')] });
    expect(g.blocks().filter((b) => b.loaded).length).toBeGreaterThan(0);
    expect(g.blocks().filter((b) => b.loaded).length).toBeLessThan(ids.length);
    await new Promise((r) => setTimeout(r, 1300));
    expect(g.blocks().every((b) => !b.loaded)).toBe(true);
    expect(
      (await g.metrics.registry.getSingleMetric('thanos_bucket_store_indexheader_lazy_unload_total')?.get())?.values[0]
        ?.value,
    ).toBeGreaterThan(0);
    // Unloaded blocks reopen from the local index-header on the next query.
    const got = await collectSeries(g, {
      minTime: 0,
      maxTime: START + 10 * HOURS,
      matchers: [matcher('=~', '__name__', '.+')],
    });
    expect(got.size).toBe(gen.series);
  });

  it('filters blocks by --min-time/--max-time', async () => {
    const g = newGateway({
      filters: { minTime: { kind: 'time', ms: START + 4.5 * HOURS } },
      dataDir: await makeTempDir('time-'),
    });
    await g.start();
    expect(g.blocks().length).toBeLessThan(ids.length);
    expect(g.blocks().every((b) => b.maxTime >= START + 4.5 * HOURS)).toBe(true);
    // Samples before --min-time are not served even from a block that straddles it.
    let chunks = 0;
    for await (const r of g.series({
      minTime: 0,
      maxTime: START + 10 * HOURS,
      matchers: [matcher('=~', '__name__', '.+')],
    })) {
      if (r.type !== 'series') continue;
      for (const c of r.series.chunks) expect(c.maxTime).toBeGreaterThanOrEqual(START + 4.5 * HOURS);
      chunks += r.series.chunks.length;
    }
    expect(chunks).toBeGreaterThan(0);
    expect((await g.info()).minTime).toBe(START + 4.5 * HOURS);
  });
});

describe('series gate', () => {
  it('lets at most N calls run and hands slots over in order', async () => {
    const { Gate: SeriesGate } = await import('../concurrency/gate.js');
    const gate = new SeriesGate(1);
    await gate.acquire();
    const order: string[] = [];
    const second = gate.acquire().then(() => order.push('second'));
    const ac = new AbortController();
    const third = gate.acquire(ac.signal).then(
      () => order.push('third'),
      () => order.push('third aborted'),
    );
    ac.abort();
    await third;
    expect(order).toEqual(['third aborted']);
    gate.release();
    await second;
    expect(order).toEqual(['third aborted', 'second']);
    gate.release();
  });
});
