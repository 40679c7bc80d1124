import { rm } from 'node:fs/promises';
import { makeTempDir } from '@thanos-ts/testing';
import { type DB, Labels, openDB, STALE_NAN } from '@thanos-ts/tsdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeIngestBatch, encodeIngestBatch, IngestBatch } from './ingest-batch.js';
import { encodeWriteRequest, type WriteSeries } from './wire.js';
import { GroupWriter, SeriesRefCache } from './writer.js';

const T0 = Date.now() - 60_000;

function series(labels: [string, string][], ts: number[], staleAt?: number[]): WriteSeries {
  return {
    labels: labels.map(([name, value]) => ({ name, value })),
    timestamps: ts,
    values: ts.map((_, i) => i + 0.5),
    histograms: 0,
    ...(staleAt ? { staleAt } : {}),
  };
}

const SERIES: WriteSeries[] = [
  series(
    [
      ['__name__', 'a'],
      ['job', 'x'],
    ],
    [T0, T0 + 1],
  ),
  series(
    [
      ['__name__', 'b'],
      ['zone', 'Zürich'],
    ],
    [T0, T0 + 1],
    [1],
  ),
  series([['job', 'nameless']], [T0]),
  series(
    [
      ['__name__', 'c'],
      ['a', ''],
    ],
    [T0, T0 + 1, T0 + 2],
  ),
];

describe('IngestBatch', () => {
  it.each([
    { name: 'from decoded series (encodeIngestBatch)', make: () => encodeIngestBatch(SERIES) },
    {
      name: 'straight from protobuf (decodeIngestBatch)',
      make: () => decodeIngestBatch(encodeWriteRequest(SERIES)) as ArrayBuffer,
    },
  ])('$name: counts, errors, keys, labels, samples and staleness markers', ({ make }) => {
    const b = new IngestBatch(make());
    expect([b.series, b.samples]).toEqual([4, 8]);
    expect([0, 1, 2, 3].map((i) => b.labelError(i))).toEqual([
      undefined,
      undefined,
      'label set has no __name__ label',
      'label set contains a label with empty name or value',
    ]);
    expect(b.flatLabels(1)).toEqual(['__name__', 'b', 'zone', 'Zürich']);
    expect(b.keyEquals(0, ['__name__', 'a', 'job', 'x'])).toBe(true);
    expect(b.keyEquals(1, ['__name__', 'b', 'zone', 'Zürich'])).toBe(true);
    expect(b.keyEquals(1, ['__name__', 'b', 'zone', 'Zürick'])).toBe(false);
    expect(b.keyEquals(1, ['__name__', 'b', 'zone', 'Zürich', 'x', 'y'])).toBe(false);
    expect(b.keyEquals(0, ['__name__', 'a', 'job'])).toBe(false);
    expect(b.keyEquals(0, ['__name__', 'a', 'job', 'xx'])).toBe(false);
    expect([b.sampleStart(1), b.sampleEnd(1), b.sampleEnd(3) - b.sampleStart(3)]).toEqual([2, 4, 0]);
    expect(Object.is(b.value(3), STALE_NAN) || Number.isNaN(b.value(3))).toBe(true);
    // The marker's bits, not just any NaN.
    const f = new Float64Array([b.value(3)]);
    expect(new Uint32Array(f.buffer)[0]).toBe(2);
    expect(b.timestamp(2)).toBe(T0);
  });

  it('decodeIngestBatch leaves requests with native histograms to the main thread', () => {
    const h: WriteSeries = {
      ...series([['__name__', 'h']], []),
      histograms: 1,
      nativeHistograms: [
        {
          t: T0,
          h: {
            schema: 0,
            zeroThreshold: 0,
            zeroCount: 0,
            count: 1,
            sum: 1,
            positiveSpans: [{ offset: 0, length: 1 }],
            positiveBuckets: [1],
            negativeSpans: [],
            negativeBuckets: [],
            counterResetHint: 0,
          } as never,
        },
      ],
    };
    expect(decodeIngestBatch(encodeWriteRequest([...SERIES, h]))).toBeUndefined();
  });
});

describe('SeriesRefCache', () => {
  let dir: string;
  let db: DB;

  beforeEach(async () => {
    dir = await makeTempDir('ref-cache-');
    db = await openDB({ dir });
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves series by key, tells equal hashes apart and forgets series the head dropped', async () => {
    const w = new GroupWriter(db);
    const cache = new SeriesRefCache(db);
    const batch = (ts: number) => new IngestBatch(encodeIngestBatch(SERIES.map((s) => ({ ...s, timestamps: [ts] }))));
    const first = batch(T0);
    expect(await w.writeBatch(first, cache)).toMatchObject({ appended: 2, rejected: 2 });
    const ref = cache.get(first, 0) as number;
    expect(db.head.getByRef(ref)?.labels.toString()).toBe('{__name__="a", job="x"}');
    expect(cache.get(first, 1)).not.toBe(ref);

    // A forced collision: same hash, other key; the cache must compare keys.
    const forged = new IngestBatch(first.buffer.slice(0));
    const meta = new Int32Array(forged.buffer, 16, forged.series * 4);
    meta[4 + 3] = meta[3] as number;
    const refB = cache.get(first, 1) as number;
    expect(cache.get(forged, 1)).toBeUndefined();
    cache.set(forged, 1, refB);
    expect([cache.get(forged, 1), cache.get(forged, 0), cache.get(first, 0)]).toEqual([refB, ref, ref]);

    // Truncating the head past every sample drops the series: the cached ref goes, and the next
    // write creates the series anew by labels.
    db.head.truncateMemory(T0 + 10_000);
    expect(db.head.getByRef(ref)).toBeUndefined();
    expect(cache.get(first, 0)).toBeUndefined();
    expect(await w.writeBatch(batch(T0 + 20_000), cache)).toMatchObject({ appended: 2 });
    const again = cache.get(first, 0) as number;
    expect(again).not.toBe(ref);
    expect(db.head.getByRef(again)?.labels.equals(Labels.from({ __name__: 'a', job: 'x' }))).toBe(true);
  });
});
