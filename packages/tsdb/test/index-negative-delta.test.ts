import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, programAvailable, promtool, removeTempDir } from '@thanos-ts/testing';
import {
  BlockWriter,
  BytesRangeSource,
  ChunkEncoding,
  encodeXorChunk,
  IndexReader,
  IndexWriter,
  Labels,
} from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeriesColumns } from '../src/index/series-columns.js';

// Prometheus writes a series' chunk metas as: varint64(first mint), then for each chunk
// uvarint64(uint64(maxt - mint)), and for the chunks after the first uvarint64(uint64(mint -
// prevMaxt)) (tsdb/index/index.go, tsdb/docs/format/index.md). For overlapping or out-of-order
// chunks of one series `mint - prevMaxt` is negative and wraps to a 10-byte uvarint; the reader's
// `int64(d.Uvarint64()) + t0` wraps it back.

// Go's binary.PutUvarint(uint64(v)), written independently of the code under test.
function goUvarint(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

function goVarint(v: bigint): number[] {
  return goUvarint(v >= 0n ? v << 1n : ~(v << 1n));
}

const T0 = 1_700_000_000_000;

// Chunk metas of one series: the second starts 3,000 ms before the first ends, the third before
// the second; refs go up then down (the ref delta is already a signed varint).
const CASES = [
  {
    name: 'overlapping chunks',
    metas: [
      { minTime: T0, maxTime: T0 + 5000, ref: 8 },
      { minTime: T0 + 2000, maxTime: T0 + 3000, ref: 40 },
      { minTime: T0 + 2500, maxTime: T0 + 9000, ref: 24 },
    ],
  },
  {
    name: 'out-of-order chunk wholly before the previous one',
    metas: [
      { minTime: T0 + 60_000, maxTime: T0 + 120_000, ref: 8 },
      { minTime: T0 - 3_600_000, maxTime: T0, ref: 100 },
    ],
  },
  {
    name: 'negative first mint',
    metas: [
      { minTime: -5000, maxTime: -10, ref: 8 },
      { minTime: -7000, maxTime: 0, ref: 30 },
    ],
  },
];

function specEntryChunks(metas: { minTime: number; maxTime: number; ref: number }[]): number[] {
  const out = goUvarint(BigInt(metas.length));
  let prevMax = 0n;
  let prevRef = 0n;
  metas.forEach((m, i) => {
    const min = BigInt(m.minTime);
    const max = BigInt(m.maxTime);
    const ref = BigInt(m.ref);
    if (i === 0) out.push(...goVarint(min), ...goUvarint(max - min), ...goUvarint(ref));
    else out.push(...goUvarint(min - prevMax), ...goUvarint(max - min), ...goVarint(ref - prevRef));
    prevMax = max;
    prevRef = ref;
  });
  return out;
}

function indexOf(hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describe('index chunk metas with negative start deltas (Go int64 wraparound)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('index-negdelta-');
  });
  afterAll(async () => {
    if (dir) await removeTempDir(dir);
  });

  it.each(CASES)('$name: written as Prometheus writes them and read back exactly', async ({ name, metas }) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.index`);
    const w = await IndexWriter.create(path);
    w.addSeries(Labels.from({ __name__: 'm', job: 'x' }), metas);
    await w.close();
    const bytes = new Uint8Array(readFileSync(path));
    // The chunk part of the series entry is exactly what Go's writer produces.
    expect(indexOf(bytes, specEntryChunks(metas))).toBeGreaterThan(0);

    const r = await IndexReader.open(new BytesRangeSource('index', bytes));
    const refs = await r.allPostings();
    const [s] = await r.series(refs);
    expect(s?.chunks).toEqual(metas);
    const cols = new SeriesColumns();
    await r.seriesColumns(refs, cols);
    expect(cols.count).toBe(1);
    const got = metas.map((_, k) => ({
      minTime: cols.minTime[k],
      maxTime: cols.maxTime[k],
      ref: cols.chunkRef[k],
    }));
    expect(got).toEqual(metas);
    await r.close();
  });

  describe.skipIf(!programAvailable('promtool'))('promtool 2.42', () => {
    it('dumps every sample of a block whose series has overlapping chunks', async () => {
      const db = join(dir, 'db');
      mkdirSync(db, { recursive: true });
      const mk = (from: number, n: number, step: number, v0: number) => {
        const ts = Array.from({ length: n }, (_, i) => from + i * step);
        const vs = ts.map((_, i) => v0 + i);
        return {
          minTime: ts[0] as number,
          maxTime: ts[n - 1] as number,
          encoding: ChunkEncoding.XOR,
          data: encodeXorChunk(ts, vs, 0, n),
          samples: ts.map((t, i) => [t, vs[i] as number] as const),
        };
      };
      // Second chunk starts inside the first (mint - prevMaxt < 0), third starts before both.
      const chunks = [mk(T0, 100, 15_000, 0), mk(T0 + 7_500, 50, 30_000, 1000), mk(T0 - 60_000, 3, 10_000, 5000)];
      const bw = await BlockWriter.create({ outDir: db, minTime: T0 - 60_000, maxTime: T0 + 3_600_000 });
      await bw.addSeries(Labels.from({ __name__: 'overlap', job: 'x' }), chunks);
      await bw.commit();

      const dump = await promtool.dump(db);
      const lines = dump
        .split('\n')
        .filter((l) => l.length > 0)
        .sort();
      const want = chunks.flatMap((c) => c.samples.map(([t, v]) => `{__name__="overlap", job="x"} ${v} ${t}`)).sort();
      // promtool's block querier walks the chunks in index order, so compare as sets of lines.
      expect(lines).toEqual(want);
      expect(want.length).toBe(153);
    }, 60_000);
  });
});
