import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChunkEncoding,
  CorruptionError,
  type EncodedChunk,
  encodeXorChunk,
  Labels,
  matcher,
  openBlock,
  readBlockMeta,
  type SeriesToWrite,
  ThanosError,
  writeBlock,
  writeTombstones,
  XorIterator,
} from '@thanos-ts/tsdb';
import { afterEach, describe, expect, it } from 'vitest';
import { compactBlockMetas, compactBlocks, MERGED_CHUNK_SAMPLES, mergeSeriesChunks } from '../src/compact/index.js';
import { chainSamples } from '../src/compact/merge.js';

const where = { labels: Labels.from({ __name__: 'x' }), block: 'test' };

function chunk(ts: number[], vs?: number[]): EncodedChunk {
  const values = vs ?? ts.map((t) => t / 1000);
  return {
    minTime: ts[0] as number,
    maxTime: ts[ts.length - 1] as number,
    encoding: ChunkEncoding.XOR,
    data: encodeXorChunk(ts, values, 0, ts.length),
  };
}
function samples(chunks: readonly EncodedChunk[]): [number, number][] {
  const out: [number, number][] = [];
  for (const c of chunks) {
    const it = new XorIterator(c.data);
    while (it.next()) out.push([it.t, it.v]);
  }
  return out;
}
const range = (from: number, to: number, step: number) => {
  const out: number[] = [];
  for (let t = from; t < to; t += step) out.push(t);
  return out;
};

describe('mergeSeriesChunks (Prometheus compactChunkIterator)', () => {
  it('keeps non-overlapping chunks as they are, in time order', () => {
    const a = chunk(range(0, 100, 10));
    const b = chunk(range(100, 200, 10));
    const c = chunk(range(200, 300, 10));
    const out = mergeSeriesChunks([[a, c], [b]], { where });
    expect(out).toEqual([a, b, c]);
    expect(out[0]).toBe(a);
  });

  it('drops exact duplicate chunks without re-encoding', () => {
    const a = chunk(range(0, 100, 10));
    const copy = { ...a, data: a.data.slice() };
    const out = mergeSeriesChunks([[a], [copy]], { where });
    expect(out).toHaveLength(1);
    expect(out[0]?.data).toEqual(a.data);
  });

  it('merges overlapping chunks into 120-sample chunks holding the union, one sample per timestamp', () => {
    const a = chunk(range(0, 3000, 10)); // 300 samples
    const b = chunk(range(5, 3005, 10)); // interleaved, 300 samples
    const c = chunk(range(0, 3000, 100)); // duplicates of some of a's
    const out = mergeSeriesChunks([[a], [b], [c]], { where });
    const got = samples(out);
    expect(got.map(([t]) => t)).toEqual([...range(0, 3000, 10), ...range(5, 3005, 10)].sort((x, y) => x - y));
    expect(got.every(([t, v]) => v === t / 1000)).toBe(true);
    expect(out.map((ch) => ch.data[1])).toEqual([120, 120, 120, 120, 120]);
    for (const ch of out) {
      const s = samples([ch]);
      expect([ch.minTime, ch.maxTime]).toEqual([s[0]?.[0], s[s.length - 1]?.[0]]);
    }
    expect(MERGED_CHUNK_SAMPLES).toBe(120);
  });

  it('keeps one of two different values at a colliding timestamp, by Prometheus’s heap order', () => {
    // Prometheus hands the overlapping chunks first and the earliest chunk last to its chain
    // iterator; at equal timestamps the heap's current layout decides. Traced by hand through Go's
    // container/heap: t=10 comes from b, t=20 from a.
    const a = chunk([0, 10, 20], [1, 1, 1]);
    const b = chunk([10, 15, 20], [2, 2, 2]);
    expect(samples(mergeSeriesChunks([[a], [b]], { where }))).toEqual([
      [0, 1],
      [10, 2],
      [15, 2],
      [20, 1],
    ]);
  });

  it('cuts merged samples with the head rule when a chunk range is given', () => {
    const a = chunk(range(0, 1000, 50));
    const b = chunk(range(500, 1500, 50));
    const out = mergeSeriesChunks([[a], [b]], { where, chunkRange: 500 });
    expect(out.map((c) => [c.minTime, c.maxTime])).toEqual([
      [0, 450],
      [500, 950],
      [1000, 1450],
    ]);
    expect(mergeSeriesChunks([[a], [b]], { where }).map((c) => [c.minTime, c.maxTime])).toEqual([[0, 1450]]);
  });

  // Histogram chunks are rewritten now (compact-histogram.test.ts); what cannot be rewritten is a
  // chunk whose encoding is unknown, or whose bytes do not decode: the error names block and series.
  it.each([
    [
      'an unknown encoding byte',
      () => ({ ...chunk([0, 10]), encoding: 9 as ChunkEncoding }),
      ThanosError,
      /^test: series \{__name__="x"\}: chunk \[0, 10\] has encoding 9/,
    ],
    [
      'XOR bytes that do not decode',
      () => {
        const c = chunk(range(0, 2000, 10));
        return { ...c, data: c.data.subarray(0, 12) };
      },
      CorruptionError,
      /test/,
    ],
  ])('refuses to rewrite overlapping chunks with %s', (_name, bad, cls, msg) => {
    const b = bad();
    let err: unknown;
    try {
      mergeSeriesChunks([[b], [chunk([5, 15])]], { where });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    expect(String((err as Error).message)).toMatch(msg);
  });
});

describe('compactBlockMetas (Prometheus CompactBlockMetas)', () => {
  it('raises the level, unions sources and lists the parents', () => {
    const m = (ulid: string, minTime: number, maxTime: number, level: number, sources: string[]) => ({
      ulid,
      minTime,
      maxTime,
      stats: { numSamples: 5 },
      compaction: { level, sources },
      version: 1 as const,
    });
    const a = m('01H0000000000000000000000B', 0, 10, 2, ['01H0000000000000000000000Z', '01H0000000000000000000000A']);
    const b = m('01H0000000000000000000000C', 5, 30, 1, ['01H0000000000000000000000C']);
    expect(compactBlockMetas('01H0000000000000000000000D', [a, b])).toEqual({
      ulid: '01H0000000000000000000000D',
      minTime: 0,
      maxTime: 30,
      stats: {},
      compaction: {
        level: 3,
        sources: ['01H0000000000000000000000A', '01H0000000000000000000000C', '01H0000000000000000000000Z'],
        parents: [
          { ulid: a.ulid, minTime: 0, maxTime: 10 },
          { ulid: b.ulid, minTime: 5, maxTime: 30 },
        ],
      },
      version: 1,
    });
  });
});

describe('compactBlocks over blocks written by writeBlock', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'compact-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const series = (name: string, ts: number[], v: (t: number) => number): SeriesToWrite => ({
    labels: Labels.from({ __name__: name }),
    timestamps: ts,
    values: ts.map(v),
  });

  it('merges series present in some blocks only, applying tombstones and dropping emptied series', async () => {
    const root = tmp();
    const a = await writeBlock(
      [series('a', range(0, 600_000, 15_000), (t) => t), series('b', range(0, 600_000, 15_000), (t) => -t)],
      { outDir: root },
    );
    const b = await writeBlock(
      [
        series('a', range(600_000, 1_200_000, 15_000), (t) => t),
        series('c', range(600_000, 1_200_000, 15_000), () => 7),
      ],
      { outDir: root },
    );
    // Delete all of b in block A and part of a in block B.
    const ra = await openBlock(a?.dir as string);
    const refB = (await ra.index.postings('__name__', ['b']))[0] as number;
    await ra.close();
    await writeTombstones(a?.dir as string, new Map([[refB, [{ minTime: 0, maxTime: 600_000 }]]]));
    const rb = await openBlock(b?.dir as string);
    const refA = (await rb.index.postings('__name__', ['a']))[0] as number;
    await rb.close();
    await writeTombstones(b?.dir as string, new Map([[refA, [{ minTime: 700_000, maxTime: 800_000 }]]]));

    const out = tmp();
    const res = await compactBlocks({ blockDirs: [a?.dir as string, b?.dir as string], outDir: out });
    const r = await openBlock(res?.dir as string);
    const got = await r.selectSamples([matcher('=~', '__name__', '.+')], -Infinity, Infinity);
    await r.close();
    expect(got.map((s) => s.labels.get('__name__'))).toEqual(['a', 'c']);
    const wantA = range(0, 1_200_000, 15_000).filter((t) => t < 700_000 || t > 800_000);
    expect([...(got[0]?.timestamps ?? [])]).toEqual(wantA);
    expect([...(got[0]?.values ?? [])]).toEqual(wantA);
    expect(res?.meta.stats).toEqual({ numSamples: wantA.length + 40, numSeries: 2, numChunks: 3 });
    expect(await readBlockMeta(res?.dir as string)).toEqual(res?.meta);
  });

  it('refuses an empty input list', async () => {
    await expect(compactBlocks({ blockDirs: [], outDir: tmp() })).rejects.toThrow(/no readers/);
  });

  it('an already aborted signal writes nothing', async () => {
    const root = tmp();
    const a = await writeBlock([series('a', [1, 2, 3], (t) => t)], { outDir: root });
    const out = tmp();
    await expect(
      compactBlocks({ blockDirs: [a?.dir as string], outDir: out, signal: AbortSignal.abort() }),
    ).rejects.toThrow();
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('chainSamples', () => {
  // Two inputs take a loop without a heap; a third, empty input (never pushed) forces the heap
  // loop over the same two, which replays Go's container/heap: both must keep the same samples.
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('two inputs keep what the heap loop keeps (seed %i)', (seed) => {
    let x = seed * 7919;
    const rnd = () => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    const mk = () => {
      const ts: number[] = [];
      let t = Math.floor(rnd() * 50);
      for (let i = 0; i < 1 + Math.floor(rnd() * 300); i++) {
        ts.push(t);
        t += 1 + Math.floor(rnd() * 4);
      }
      return chunk(
        ts,
        ts.map(() => Math.floor(rnd() * 1000)),
      );
    };
    const a = mk();
    const b = mk();
    const empty: EncodedChunk = {
      minTime: 0,
      maxTime: 0,
      encoding: ChunkEncoding.XOR,
      data: encodeXorChunk([], [], 0, 0),
    };
    const copy = (r: { timestamps: Float64Array; values: Float64Array }) => [[...r.timestamps], [...r.values]];
    const two = copy(chainSamples([a, b], where));
    const heap = copy(chainSamples([a, b, empty], where));
    expect(two).toEqual(heap);
    expect(copy(chainSamples([b, a], where))).toEqual(copy(chainSamples([b, a, empty], where)));
    // Every timestamp of either input once, sorted.
    const all = [...new Set([...samples([a]), ...samples([b])].map(([t]) => t))].sort((p, q) => p - q);
    expect(two[0]).toEqual(all);
  });
});
