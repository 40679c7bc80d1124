import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir, programAvailable } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../block/upload-blocks.js';
import { createInMemoryCache } from '../cache/inmemory.js';
import { NOP_LOGGER } from '../log/logger.js';
import { StoreAPIError } from '../storeapi/errors.js';
import { connectStoreAPI } from '../storeapi/grpc-client.js';
import type { SeriesRequest, StoreAPI } from '../storeapi/store-api.js';
import { BytesLimiter, StoreLimitError } from './limits.js';
import { createStoreGateway, type StoreGateway, type StoreGatewayOptions } from './store-gateway.js';

const START = 1_700_000_000_000;
const HOURS = 3600_000;

describe('BytesLimiter (Thanos Limiter.ReserveWithType)', () => {
  it.each([
    { name: 'no limit', limit: 0, reads: [1e9, 1e9], fails: undefined },
    { name: 'exactly the limit', limit: 100, reads: [60, 40], fails: undefined },
    { name: 'one byte over', limit: 100, reads: [60, 41], fails: 'limit 100 violated (got 101)' },
  ])('$name', ({ limit, reads, fails }) => {
    let exceeded = 0;
    const l = new BytesLimiter(limit, () => exceeded++);
    const run = () => {
      for (const n of reads) l.reserve(n, 'fetching chunks');
    };
    if (fails === undefined) {
      run();
      expect(exceeded).toBe(0);
    } else {
      expect(run).toThrow(`exceeded bytes limit while fetching chunks: ${fails} (--store.grpc.downloaded-bytes-limit)`);
      // The dropped-queries counter moves once per request however many reads fail after.
      expect(() => l.reserve(1, 'fetching chunks')).toThrow(StoreLimitError);
      expect(exceeded).toBe(1);
    }
  });
});

describe.skipIf(!programAvailable('promtool'))('--store.grpc.downloaded-bytes-limit on a store gateway', () => {
  let bucketDir: string;
  let dataDir: string;
  const gateways: StoreGateway[] = [];
  const all: SeriesRequest = { minTime: 0, maxTime: START + 10 * HOURS, matchers: [matcher('=~', '__name__', '.+')] };

  beforeAll(async () => {
    const gen = await blocksFromOpenMetrics({
      metrics: 4,
      seriesPerMetric: 8,
      durationMs: 6 * HOURS,
      startMs: START,
      scrapeIntervalMs: 30_000,
    });
    bucketDir = await makeTempDir('store-bytes-bucket-');
    dataDir = await makeTempDir('store-bytes-data-');
    await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), gen.dir, {
      labels: { cluster: 'eu1' },
      source: 'test',
    });
  }, 60_000);
  afterAll(async () => {
    for (const g of gateways.reverse()) await g.close();
  });

  async function gateway(extra: Partial<StoreGatewayOptions> = {}): Promise<StoreGateway> {
    const g = createStoreGateway({
      bucket: createFilesystemBucket({ directory: bucketDir }),
      dataDir,
      logger: NOP_LOGGER,
      ...extra,
    });
    gateways.push(g);
    await g.start();
    return g;
  }
  const count = async (s: StoreAPI, req: SeriesRequest) => {
    let n = 0;
    for await (const r of s.series(req)) if (r.type === 'series') n++;
    return n;
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e as Error,
    );

  it('serves everything under a large limit, as with none', async () => {
    const none = await gateway();
    const want = await count(none, all);
    expect(want).toBeGreaterThan(0);
    const big = await gateway({ limits: { downloadedBytesPerRequest: 1 << 30 } });
    expect(await count(big, all)).toBe(want);
  });

  it('fails Series, LabelNames and LabelValues with ResourceExhausted naming the limit', async () => {
    const registry = new Registry();
    const g = await gateway({ limits: { downloadedBytesPerRequest: 100 }, registry, grpcAddress: '127.0.0.1:0' });
    const err = await failure(count(g, all));
    expect(err).toBeInstanceOf(StoreLimitError);
    expect(err?.message).toMatch(
      /^exceeded bytes limit while fetching postings: limit 100 violated \(got \d+\) \(--store\.grpc\.downloaded-bytes-limit\)$/,
    );
    const names = await failure(
      g.labelNames({ start: 0, end: START + 10 * HOURS, matchers: [matcher('=~', '__name__', '.+')] }),
    );
    expect(names?.message).toMatch(/exceeded bytes limit while fetching postings: limit 100 violated/);
    const values = await failure(
      g.labelValues({
        label: 'instance',
        start: 0,
        end: START + 10 * HOURS,
        matchers: [matcher('=~', '__name__', '.+')],
      }),
    );
    expect(values?.message).toMatch(/exceeded bytes limit while fetching postings: limit 100 violated/);
    // Without matchers LabelNames reads only the index-header, which downloads nothing per request.
    expect((await g.labelNames({ start: 0, end: START + 10 * HOURS })).names).toContain('__name__');
    expect(await registry.getSingleMetricAsString('thanos_bucket_store_queries_dropped_total')).toMatch(
      /thanos_bucket_store_queries_dropped_total\{reason="bytes"\} 3/,
    );
    const remote = connectStoreAPI(g.grpcAddress as string);
    try {
      const e = await failure(count(remote, all));
      expect(e).toBeInstanceOf(StoreAPIError);
      expect((e as StoreAPIError).grpcCode).toBe(8);
      expect(e?.message).toMatch(/exceeded bytes limit while fetching postings: limit 100 violated/);
    } finally {
      remote.close();
    }
  });

  it('counts chunk fetches: a budget covering the index reads still fails on chunks', async () => {
    // What the index part of the request downloads, measured without a limit.
    const probe = await gateway();
    const before = probe.requests.bytes;
    const series = await count(probe, { ...all, skipChunks: true });
    const indexBytes = probe.requests.bytes - before;
    expect(indexBytes).toBeGreaterThan(0);
    const g = await gateway({ limits: { downloadedBytesPerRequest: indexBytes } });
    expect(await count(g, { ...all, skipChunks: true })).toBe(series);
    const err = await failure(count(g, all));
    expect(err?.message).toMatch(
      new RegExp(`^exceeded bytes limit while fetching chunks: limit ${indexBytes} violated \\(got \\d+\\)`),
    );
  });

  it('counts index cache hits as touched bytes', async () => {
    const cache = createInMemoryCache();
    const warm = await gateway({ indexCache: cache });
    await count(warm, { ...all, skipChunks: true });
    const g = await gateway({ indexCache: cache, limits: { downloadedBytesPerRequest: 100 } });
    const err = await failure(count(g, all));
    expect(err?.message).toMatch(/exceeded bytes limit while loading postings from index cache: limit 100 violated/);
  });
});
