import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '@thanos-ts/testing';
import {
  type ChunkEncoding,
  ChunkSegmentReader,
  ChunkSegmentWriter,
  chunkRef,
  FileRangeSource,
  XorEncoder,
} from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import {
  BucketChunkReader,
  CHUNK_RANGE_MAX_GAP,
  ESTIMATED_MAX_CHUNK_SIZE,
  partitionChunkRefs,
} from './chunk-reader.js';

describe('chunk range partitioning', () => {
  it('merges chunks within the gap per segment and splits beyond it', () => {
    const refs = [
      chunkRef(0, 100),
      chunkRef(0, 8),
      chunkRef(0, 100 + ESTIMATED_MAX_CHUNK_SIZE + CHUNK_RANGE_MAX_GAP + 1),
      chunkRef(1, 8),
    ];
    const parts = partitionChunkRefs(refs, [10_000_000, 10_000_000]);
    expect(parts.map((p) => [p.segment, p.start, p.positions])).toEqual([
      [0, 8, [1, 0]],
      [0, 100 + ESTIMATED_MAX_CHUNK_SIZE + CHUNK_RANGE_MAX_GAP + 1, [2]],
      [1, 8, [3]],
    ]);
    expect(parts[0]?.end).toBe(100 + ESTIMATED_MAX_CHUNK_SIZE);
  });
});

describe('BucketChunkReader', () => {
  it('reads the same chunks as tsdb, including ones larger than the size estimate', async () => {
    const dir = await makeTempDir('chunk-reader-');
    const w = new ChunkSegmentWriter(dir, 16 * 1024);
    const chunks = [];
    for (let k = 0; k < 12; k++) {
      const e = new XorEncoder();
      // Chunk 5 has random values: ~20 KB, more than ESTIMATED_MAX_CHUNK_SIZE.
      const n = k === 5 ? 2000 : 100;
      for (let i = 0; i < n; i++)
        e.append(
          1_000_000 + i * 15_000 + (k === 5 ? (i * 7919) % 13 : 0),
          k === 5 ? Math.sin(i * 12.9898) * 43758.5453 : i * k,
        );
      chunks.push({ minTime: 0, maxTime: 1, encoding: 1 as ChunkEncoding, data: e.bytes() });
    }
    const refs: number[] = [];
    for (const c of chunks) refs.push(...(await w.writeChunks([c])));
    await w.close();
    expect(chunks[5]?.data.length).toBeGreaterThan(ESTIMATED_MAX_CHUNK_SIZE);
    const files = (await readdir(dir)).sort();
    expect(files.length).toBeGreaterThan(1);
    const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
    const ours = new BucketChunkReader(
      files.map((f) => new FileRangeSource(join(dir, f))),
      sizes,
    );
    const theirs = await ChunkSegmentReader.open(files.map((f) => new FileRangeSource(join(dir, f))));
    const want = await theirs.readChunks([...refs].reverse());
    const got = await ours.readChunks([...refs].reverse());
    expect(got.map((c) => [c.encoding, new Uint8Array(c.data)])).toEqual(
      want.map((c) => [c.encoding, new Uint8Array(c.data)]),
    );
    expect(new Uint8Array((got[got.length - 1 - 5] as { data: Uint8Array }).data)).toEqual(chunks[5]?.data);
  });
});
