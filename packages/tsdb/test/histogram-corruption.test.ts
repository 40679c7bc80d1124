// Malformed native histogram chunks in a block: reading them fails with a CorruptionError that
// names the block and the chunk's reference (its segment and byte offset), never with a wrong
// answer. The chunks are written through the block writer, so their CRCs are right and only the
// histogram decoder can tell.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlockQueryable } from '../src/block/queryable.js';
import { openBlock } from '../src/block/reader.js';
import { BlockWriter } from '../src/block/writer.js';
import { ChunkEncoding } from '../src/chunkenc/chunk.js';
import { FloatHistogramChunk } from '../src/chunkenc/float-histogram.js';
import { HistogramChunk } from '../src/chunkenc/histogram.js';
import { CorruptionError } from '../src/errors.js';
import { histogramToFloat } from '../src/histogram/histogram.js';
import type { Histogram } from '../src/histogram/types.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import { counterHistograms } from './histogram-fixtures.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hist-corrupt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const good = counterHistograms(30, 1_000_000, { seed: 11 });

// Appends samples with no validation at all (the appender writes whatever it is given); the
// chunk holding the last sample.
function chunkOf(samples: { t: number; h: Histogram }[]): Uint8Array {
  const c = new HistogramChunk();
  let app = c.appender();
  let out = c;
  for (const { t, h } of samples) {
    const r = app.append(t, h, null);
    app = r.appender;
    if (r.chunk) out = r.chunk;
  }
  return out.bytes();
}

function withCount(bytes: Uint8Array, n: number): Uint8Array {
  const b = bytes.slice();
  b[0] = n >>> 8;
  b[1] = n & 0xff;
  return b;
}

const one = good[0] as { t: number; h: Histogram };
const goodBytes = chunkOf(good);

describe('malformed histogram chunks in a block', () => {
  it.each([
    { name: 'truncated in the middle', data: goodBytes.subarray(0, goodBytes.length >> 1), want: /truncated/ },
    { name: 'truncated header', data: goodBytes.subarray(0, 2), want: /no header/ },
    { name: 'more samples announced than written', data: withCount(goodBytes, 31), want: /truncated/ },
    {
      name: 'a later span with a negative offset',
      data: chunkOf([
        {
          t: 1000,
          h: {
            ...one.h,
            positiveSpans: [
              { offset: 0, length: 2 },
              { offset: -3, length: 1 },
            ],
            positiveBuckets: [1, 0, 0],
            negativeSpans: [],
            negativeBuckets: [],
            count: 3 + one.h.zeroCount,
          },
        },
      ]),
      want: /span number 2 with offset -3/,
    },
    {
      name: 'more bucket counts than the spans announce',
      data: chunkOf([
        {
          t: 1000,
          h: { ...one.h, positiveSpans: [{ offset: 0, length: 1 }], positiveBuckets: [1, 1, 1, 1, 1, 1] },
        },
      ]),
      want: /buckets not matching spans|negative counts|truncated/,
    },
    {
      name: 'fewer bucket counts than the spans announce',
      data: chunkOf(
        good.slice(0, 5).map(({ t }) => ({
          t,
          h: { ...one.h, positiveSpans: [{ offset: 0, length: 40 }], positiveBuckets: [2] },
        })),
      ),
      want: /truncated|spans announce|negative counts/,
    },
    {
      name: 'counts going negative',
      data: chunkOf([
        { t: 1000, h: { ...one.h, positiveSpans: [{ offset: 0, length: 2 }], positiveBuckets: [1, -5] } },
      ]),
      want: /negative counts/,
    },
  ])('$name: CorruptionError with block and chunk offset', async ({ data, want }) => {
    const w = await BlockWriter.create({ outDir: dir, minTime: 0, maxTime: 10_000_000 });
    // A good series first, so the bad chunk sits at a non-zero offset.
    await w.addSeries(Labels.from({ __name__: 'a_good' }), [
      { minTime: 1_000_000, maxTime: good[29]?.t as number, encoding: ChunkEncoding.Histogram, data: goodBytes },
    ]);
    await w.addSeries(Labels.from({ __name__: 'b_bad' }), [
      { minTime: 1000, maxTime: 2_000_000, encoding: ChunkEncoding.Histogram, data },
    ]);
    const blockDir = (await w.commit())?.dir as string;
    const block = await openBlock(blockDir);
    try {
      const [meta] = await block.select([new Matcher('=', '__name__', 'b_bad')], 0, 1e13, { skipChunks: true });
      const ref = meta?.chunks[0]?.ref as number;
      expect(ref).toBeGreaterThan(8);
      const q = createBlockQueryable([block]);
      const err = await q.select([new Matcher('=~', '__name__', '.+')], { start: 0, end: 1e13 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CorruptionError);
      const c = err as CorruptionError;
      expect(c.message).toMatch(want);
      expect(c.file).toBe(blockDir);
      expect(c.offset).toBe(ref);
      expect(c.code).toBe('TSDB_CORRUPT_BLOCK');
      // The good series alone still reads right.
      const ok = await q.select([new Matcher('=', '__name__', 'a_good')], { start: 0, end: 1e13 });
      expect(ok[0]?.histograms?.values.map((h) => h.count)).toEqual(good.map((x) => histogramToFloat(x.h).count));
    } finally {
      await block.close();
    }
  });

  it('a float histogram chunk cut short is a CorruptionError too', async () => {
    const c = new FloatHistogramChunk();
    let app = c.appender();
    let out = c;
    for (const { t, h } of good) {
      const r = app.append(t, histogramToFloat(h), null);
      app = r.appender;
      if (r.chunk) out = r.chunk;
    }
    const bytes = out.bytes();
    const w = await BlockWriter.create({ outDir: dir, minTime: 0, maxTime: 10_000_000 });
    await w.addSeries(Labels.from({ __name__: 'f' }), [
      {
        minTime: 1_000_000,
        maxTime: 2_000_000,
        encoding: ChunkEncoding.FloatHistogram,
        data: bytes.subarray(0, bytes.length - 20),
      },
    ]);
    const block = await openBlock((await w.commit())?.dir as string);
    try {
      await expect(
        createBlockQueryable([block]).select([new Matcher('=', '__name__', 'f')], { start: 0, end: 1e13 }),
      ).rejects.toThrow(/truncated/);
    } finally {
      await block.close();
    }
  });
});
