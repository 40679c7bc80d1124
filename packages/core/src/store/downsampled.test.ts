import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import {
  type ChunkEncoding,
  ChunkSegmentWriter,
  IndexWriter,
  Labels,
  matcher,
  writeBlockMeta,
  XorEncoder,
} from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { uploadTsdbBlocks } from '../block/upload-blocks.js';
import { NOP_LOGGER } from '../log/logger.js';
import type { AggrChunk } from '../storeapi/store-api.js';
import { CHUNK_ENC_AGGR } from './aggr-chunk.js';
import { createStoreGateway } from './store-gateway.js';

const T0 = 1_700_006_400_000; // 2h aligned
const H2 = 2 * 3600_000;

/** Plain Uint8Array copy (buckets may hand out Buffers, which compare unequal by type). */
const u8 = (b: Uint8Array | undefined) => (b ? new Uint8Array(b) : b);

function xor(points: Array<[number, number]>): Uint8Array {
  const e = new XorEncoder();
  for (const [t, v] of points) e.append(t, v);
  return e.bytes();
}

/** Thanos's aggregate chunk framing: per aggregate (count, sum, min, max, counter) uvarint length, encoding, bytes. */
function aggrChunk(parts: Array<Uint8Array | undefined>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (!p) {
      out.push(0);
      continue;
    }
    let len = p.length;
    while (len >= 0x80) {
      out.push((len & 0x7f) | 0x80);
      len >>>= 7;
    }
    out.push(len, 1, ...p);
  }
  return new Uint8Array(out);
}

async function writeBlock(
  dir: string,
  ulid: string,
  minTime: number,
  encoding: number,
  data: Uint8Array,
  maxT: number,
) {
  const blockDir = join(dir, ulid);
  await mkdir(join(blockDir, 'chunks'), { recursive: true });
  const w = new ChunkSegmentWriter(join(blockDir, 'chunks'));
  const [ref] = await w.writeChunks([{ minTime, maxTime: maxT, encoding: encoding as ChunkEncoding, data }]);
  await w.close();
  const index = await IndexWriter.create(join(blockDir, 'index'));
  index.addSeries(Labels.from({ __name__: 'up', job: 'x' }), [{ minTime, maxTime: maxT, ref: ref as number }]);
  await index.close();
  await writeBlockMeta(blockDir, {
    ulid,
    minTime,
    maxTime: minTime + H2,
    stats: { numSeries: 1 },
    compaction: { level: 1 },
    version: 1,
  });
}

describe('downsampled blocks', () => {
  it('picks blocks by max_resolution_window and returns the requested aggregates', async () => {
    const raw = Array.from({ length: 240 }, (_, i) => [T0 + i * 30_000, i] as [number, number]);
    const count = xor([[T0 + 299_999, 10]]);
    const sum = xor([[T0 + 299_999, 45]]);
    const max = xor([[T0 + 299_999, 9]]);
    const tsdb = await makeTempDir('ds-tsdb-');
    await writeBlock(tsdb, '01HF8000000000000000000RAW', T0, 1, xor(raw), T0 + 239 * 30_000);
    await writeBlock(
      tsdb,
      '01HF80000000000000000005MS',
      T0,
      CHUNK_ENC_AGGR,
      aggrChunk([count, sum, undefined, max, undefined]),
      T0 + 299_999,
    );
    const bucketDir = await makeTempDir('ds-bucket-');
    const bucket = createFilesystemBucket({ directory: bucketDir });
    await uploadTsdbBlocks(bucket, tsdb, {
      labels: { site: 'x' },
      source: 'test',
      only: ['01HF8000000000000000000RAW'],
    });
    // The same upload path, then the resolution set as a downsampler would.
    await uploadTsdbBlocks(bucket, tsdb, {
      labels: { site: 'x' },
      source: 'test',
      only: ['01HF80000000000000000005MS'],
    });
    const metaName = '01HF80000000000000000005MS/meta.json';
    const m = JSON.parse(new TextDecoder().decode(await bucket.get(metaName)));
    m.thanos.downsample.resolution = 300_000;
    await bucket.upload(metaName, new TextEncoder().encode(JSON.stringify(m)));

    const g = createStoreGateway({ bucket, dataDir: await makeTempDir('ds-data-'), logger: NOP_LOGGER });
    try {
      await g.start();
      expect(
        g
          .blocks()
          .map((b) => b.resolution)
          .sort(),
      ).toEqual([0, 300_000]);
      const chunksFor = async (maxResolutionWindow: number, aggregates: Array<'RAW' | 'COUNT' | 'SUM' | 'MAX'>) => {
        const out: AggrChunk[] = [];
        for await (const r of g.series({
          minTime: T0,
          maxTime: T0 + H2,
          matchers: [matcher('=', '__name__', 'up')],
          maxResolutionWindow,
          aggregates,
        }))
          if (r.type === 'series') out.push(...r.series.chunks);
        return out;
      };
      const rawChunks = await chunksFor(0, ['RAW']);
      expect(rawChunks).toHaveLength(1);
      expect(u8(rawChunks[0]?.raw?.data)).toEqual(xor(raw));
      const ds = await chunksFor(3600_000, ['COUNT', 'SUM']);
      expect(ds).toHaveLength(1);
      expect(ds[0]?.raw).toBeUndefined();
      expect(u8(ds[0]?.count?.data)).toEqual(count);
      expect(u8(ds[0]?.sum?.data)).toEqual(sum);
      expect(ds[0]?.max).toBeUndefined();
      await expect(chunksFor(300_000, ['COUNT', 'SUM', 'MAX']).then((c) => u8(c[0]?.max?.data))).resolves.toEqual(max);
    } finally {
      await g.close();
    }
  });
});
