// Stores that shard themselves: the store gateway and createLocalStore (over blocks and over a
// queryable) keep only a request's shard of series (shard_info from the query frontend), hashed as
// the querier's proxy hashes them, and say so in Info. Through gRPC: the shards' answers are
// disjoint, their union is the unsharded answer, and the other shards' chunks are never read.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import {
  blocksFromOpenMetrics,
  type GeneratedBlocks,
  makeTempDir,
  programAvailable,
  removeTempDir,
} from '@thanos-ts/testing';
import { type BlockReader, createBlockQueryable, Labels, matcher, openBlock } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../src/block/upload-blocks.js';
import { type ServedGrpc, serveGrpc } from '../src/component/index.js';
import { NOP_LOGGER } from '../src/log/logger.js';
import { createReceiver } from '../src/receive/receiver.js';
import type { WriteSeries } from '../src/receive/wire.js';
import { createStoreGateway, type StoreGateway } from '../src/store/store-gateway.js';
import { connectStoreAPI, type RemoteStoreAPI } from '../src/storeapi/grpc-client.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import { matchesShard } from '../src/storeapi/shard.js';
import type { SeriesRequest, ShardInfo, StoreAPI } from '../src/storeapi/store-api.js';

const START = 1_700_000_000_000;
const H = 3600_000;
const EXT = { cluster: 'eu1', replica: 'a' };

/** label key → the chunks' bytes, for comparing answers exactly. */
async function collect(store: StoreAPI, req: SeriesRequest): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const r of store.series(req)) {
    if (r.type !== 'series') continue;
    const key = r.series.labels.toString();
    expect(out.has(key), key).toBe(false);
    out.set(
      key,
      r.series.chunks.map((c) => `${c.minTime}-${c.maxTime}:${Buffer.from(c.raw?.data ?? []).toString('hex')}`).join(),
    );
  }
  return out;
}

describe.skipIf(!programAvailable('promtool'))('stores that shard themselves, over gRPC', () => {
  let gen: GeneratedBlocks;
  let bucketDir: string;
  let dataDir: string;
  let blocks: BlockReader[];
  let gateway: StoreGateway;
  const served: ServedGrpc[] = [];
  const clients: RemoteStoreAPI[] = [];
  const remotes: Record<string, RemoteStoreAPI> = {};
  let chunkRefsRead = 0;

  async function overGrpc(store: StoreAPI): Promise<RemoteStoreAPI> {
    const s = await serveGrpc((server) => serveStoreAPI(store, server), { address: '127.0.0.1:0', gracePeriodMs: 0 });
    served.push(s);
    const c = connectStoreAPI(s.address);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    gen = await blocksFromOpenMetrics({
      metrics: 5,
      seriesPerMetric: 12,
      durationMs: 6 * H,
      startMs: START,
      scrapeIntervalMs: 60_000,
    });
    const dirs = (await readdir(gen.dir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'wal');
    blocks = await Promise.all(dirs.map((d) => openBlock(join(gen.dir, d.name))));
    // Counts the chunk references the block store asks the segment files for.
    for (const b of blocks) {
      const read = b.chunks.readChunks.bind(b.chunks);
      b.chunks.readChunks = ((refs: readonly number[], signal?: AbortSignal) => {
        chunkRefsRead += refs.length;
        return read(refs, signal);
      }) as typeof b.chunks.readChunks;
    }
    bucketDir = await makeTempDir('store-shard-bucket-');
    dataDir = await makeTempDir('store-shard-data-');
    await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), gen.dir, { labels: EXT, source: 'test' });
    gateway = createStoreGateway({
      bucket: createFilesystemBucket({ directory: bucketDir }),
      dataDir,
      logger: NOP_LOGGER,
    });
    await gateway.start();
    const ext = Labels.from(EXT);
    remotes['store gateway'] = await overGrpc(gateway);
    remotes['local store over blocks'] = await overGrpc(createLocalStore({ blocks, externalLabels: ext }));
    remotes['local store over a queryable'] = await overGrpc(
      createLocalStore({ queryable: createBlockQueryable(blocks), externalLabels: ext }),
    );
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const s of served) await s.close();
    await gateway?.close();
    if (gen) await removeTempDir(gen.dir);
    if (bucketDir) await removeTempDir(bucketDir);
    if (dataDir) await removeTempDir(dataDir);
  });

  const shardings: { name: string; by: boolean; labels: string[] }[] = [
    { name: 'by (instance)', by: true, labels: ['instance'] },
    { name: 'without (instance)', by: false, labels: ['instance'] },
    { name: 'by (__name__, job)', by: true, labels: ['__name__', 'job'] },
  ];

  for (const store of ['store gateway', 'local store over blocks', 'local store over a queryable'])
    describe(store, () => {
      it('says it shards in Info', async () => {
        expect((await (remotes[store] as RemoteStoreAPI).info()).supportsSharding).toBe(true);
      });

      it.each(shardings)(
        '$name: shards are disjoint, hashed as the proxy hashes, and add up to the whole',
        async ({ by, labels }) => {
          const remote = remotes[store] as RemoteStoreAPI;
          const base: SeriesRequest = {
            minTime: START + H,
            maxTime: START + 5 * H,
            matchers: [matcher('=~', '__name__', 'gen_.+')],
            withoutReplicaLabels: ['replica'],
          };
          const whole = await collect(remote, base);
          expect(whole.size).toBe(gen.series);
          const union = new Map<string, string>();
          const total = 3;
          for (let shardIndex = 0; shardIndex < total; shardIndex++) {
            const shard: ShardInfo = { shardIndex, totalShards: total, by, labels };
            const part = await collect(remote, { ...base, shardInfo: shard });
            expect(part.size, `shard ${shardIndex} is empty`).toBeGreaterThan(0);
            for (const [k, v] of part) {
              expect(union.has(k), `${k} in two shards`).toBe(false);
              union.set(k, v);
              // The querier's proxy filters stores that cannot shard with matchesShard on the
              // labels without replica labels: a store must put every series in the same shard.
              const record = Object.fromEntries(
                k
                  .slice(1, -1)
                  .split(', ')
                  .map((p) => {
                    const eq = p.indexOf('=');
                    return [p.slice(0, eq), JSON.parse(p.slice(eq + 1)) as string];
                  }),
              );
              expect(matchesShard(record, shard), k).toBe(true);
            }
          }
          expect(new Map([...union].sort())).toEqual(new Map([...whole].sort()));
        },
      );
    });

  it('the block store reads only its shard chunks', async () => {
    const remote = remotes['local store over blocks'] as RemoteStoreAPI;
    const req: SeriesRequest = {
      minTime: START,
      maxTime: START + 6 * H,
      matchers: [matcher('=~', '__name__', 'gen_.+')],
    };
    chunkRefsRead = 0;
    await collect(remote, req);
    const all = chunkRefsRead;
    chunkRefsRead = 0;
    await collect(remote, { ...req, shardInfo: { shardIndex: 0, totalShards: 4, by: false, labels: [] } });
    expect(all).toBeGreaterThan(0);
    // About a quarter of the series; never all of them.
    expect(chunkRefsRead).toBeLessThan(all * 0.6);
    expect(chunkRefsRead).toBeGreaterThan(0);
  });
});

describe('the receiver shards itself (each tenant store does)', () => {
  it('says so in Info; its shards over gRPC are disjoint, hashed as the proxy hashes, and add up to the whole', async () => {
    const dir = await makeTempDir('store-shard-receive-');
    const receiver = createReceiver({ tsdbPath: dir, logger: NOP_LOGGER, externalLabels: { replica: 'r1' } });
    await receiver.start();
    try {
      const t0 = Date.now() - 60_000;
      for (const tenant of ['alpha', 'beta']) {
        const timeseries: WriteSeries[] = Array.from({ length: 30 }, (_, i) => ({
          labels: [
            { name: '__name__', value: `m_${i % 3}` },
            { name: 'instance', value: `host-${i}` },
          ],
          timestamps: [t0, t0 + 15_000],
          values: [i, i + 1],
          histograms: 0,
        }));
        await receiver.write({ tenant, timeseries });
      }
      const s = await serveGrpc((server) => serveStoreAPI(receiver, server), {
        address: '127.0.0.1:0',
        gracePeriodMs: 0,
      });
      const remote = connectStoreAPI(s.address);
      try {
        expect((await remote.info()).supportsSharding).toBe(true);
        const base: SeriesRequest = {
          minTime: t0 - 1,
          maxTime: t0 + 60_000,
          matchers: [matcher('=~', '__name__', 'm_.+')],
          withoutReplicaLabels: ['replica'],
        };
        const whole = await collect(remote, base);
        expect(whole.size).toBe(60);
        const union = new Map<string, string>();
        for (let shardIndex = 0; shardIndex < 3; shardIndex++) {
          const shard: ShardInfo = { shardIndex, totalShards: 3, by: true, labels: ['instance'] };
          for (const [k, v] of await collect(remote, { ...base, shardInfo: shard })) {
            expect(union.has(k), `${k} in two shards`).toBe(false);
            union.set(k, v);
            const record = Object.fromEntries(
              k
                .slice(1, -1)
                .split(', ')
                .map((p) => [p.slice(0, p.indexOf('=')), JSON.parse(p.slice(p.indexOf('=') + 1)) as string]),
            );
            expect(matchesShard(record, shard), k).toBe(true);
          }
        }
        expect(new Map([...union].sort())).toEqual(new Map([...whole].sort()));
      } finally {
        remote.close();
        await s.close();
      }
    } finally {
      await receiver.close();
      await removeTempDir(dir);
    }
  });
});
