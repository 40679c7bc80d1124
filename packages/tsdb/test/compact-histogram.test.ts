// Vertical compaction of blocks holding native histograms: overlapping histogram chunks are
// merged by timestamp and re-encoded in their own encodings (integer histograms stay encoding 2,
// float histograms 3; a series switching between floats and histograms gets a new chunk at each
// switch), tombstones rewrite histogram chunks, and Prometheus 2.42 reads the compacted block as we
// do.
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eRequired, programAvailable, promtool, startPrometheus } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlockQueryable } from '../src/block/queryable.js';
import { openBlock } from '../src/block/reader.js';
import { writeTombstones } from '../src/block/tombstones.js';
import { writeBlock } from '../src/block/writer.js';
import { ChunkEncoding, cutXorChunks } from '../src/chunkenc/chunk.js';
import { HistogramIterator } from '../src/chunkenc/histogram.js';
import { cutFloatHistogramChunks, cutHistogramChunks } from '../src/chunkenc/histogram-cut.js';
import { CounterResetHeader } from '../src/chunkenc/histogram-meta.js';
import { compactBlocks, mergeSeriesChunks } from '../src/compact/index.js';
import { histogramToFloat } from '../src/histogram/histogram.js';
import type { FloatHistogram, Histogram } from '../src/histogram/types.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { SeriesSamples } from '../src/storage/queryable.js';
import { apiBuckets, counterFloatHistograms, counterHistograms, parseApiHistogram } from './histogram-fixtures.js';

const H2 = 2 * 3600_000;
const everything = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % H2);
const where = { labels: Labels.from({ __name__: 'h' }), block: 'test' };

type Sample = { t: number; h: FloatHistogram } | { t: number; v: number };
const meaning = (h: FloatHistogram) => ({ count: h.count, sum: h.sum, buckets: apiBuckets(h) });

function samplesOf(s: SeriesSamples | undefined): Sample[] {
  const out: Sample[] = [];
  s?.timestamps.forEach((t, i) => {
    out.push({ t, v: s.values[i] as number });
  });
  s?.histograms?.timestamps.forEach((t, i) => {
    out.push({ t, h: s.histograms?.values[i] as FloatHistogram });
  });
  return out.sort((a, b) => a.t - b.t);
}

const comparable = (xs: Sample[]) => xs.map((x) => ('h' in x ? { t: x.t, ...meaning(x.h) } : x));

// The chain merge of sample lists: union by timestamp, the first list winning a shared timestamp.
function chain(...lists: Sample[][]): Sample[] {
  const seen = new Map<number, Sample>();
  for (const l of lists) for (const x of l) if (!seen.has(x.t)) seen.set(x.t, x);
  return [...seen.values()].sort((a, b) => a.t - b.t);
}

const toFloat = (xs: { t: number; h: Histogram }[]): Sample[] => xs.map(({ t, h }) => ({ t, h: histogramToFloat(h) }));

describe('mergeSeriesChunks with native histogram chunks', () => {
  it('keeps integer histograms in integer chunks and cuts at 120 samples and at counter resets', () => {
    // Two replicas' chunks of one counter: a reset at sample 150 in both; b is a copy shifted by
    // 20 s (more than the 15 s interval), so b's chunk before the reset overlaps a's chunk after
    // it and the reset lands inside one merged run.
    const a = counterHistograms(300, T0, { resetAt: 150 });
    const b = a.map(({ t, h }) => ({ t: t + 20_000, h }));
    const out = mergeSeriesChunks([cutHistogramChunks(a, H2), cutHistogramChunks(b, H2)], { where });
    expect(new Set(out.map((c) => c.encoding))).toEqual(new Set([ChunkEncoding.Histogram]));
    const headers: number[] = [];
    const ts: number[] = [];
    for (const c of out) {
      const it = new HistogramIterator(c.data);
      let n = 0;
      while (it.next()) {
        ts.push(it.t);
        n++;
      }
      expect(n).toBeLessThanOrEqual(120);
      headers.push(it.counterResetHeader);
    }
    expect(ts).toEqual([...a.map((x) => x.t), ...b.map((x) => x.t)].sort((x, y) => x - y));
    // The chain merge drops the hints of non-consecutive samples, so the appender detects the
    // resets itself (each interleaving of pre- and post-reset samples is one) and starts chunks
    // with the CounterReset header; a chunk starting a run has the Unknown header, as
    // Prometheus's iterators give Unknown for a chunk's first sample.
    expect(headers.filter((h) => h === CounterResetHeader.CounterReset).length).toBeGreaterThanOrEqual(1);
    expect(headers[0]).toBe(CounterResetHeader.Unknown);
    // Each chunk's first and last sample bound it.
    for (const c of out) {
      const it = new HistogramIterator(c.data);
      it.next();
      expect(it.t).toBe(c.minTime);
    }
  });

  it('cuts a new chunk where a series switches between floats and histograms', () => {
    const hs = counterFloatHistograms(40, T0 + 20 * 15_000, { seed: 3 });
    const floats = Array.from({ length: 30 }, (_, i) => T0 + i * 15_000);
    const xor = cutXorChunks(
      floats,
      floats.map((_, i) => i),
      H2,
    );
    const fh = cutFloatHistogramChunks(hs, H2);
    const out = mergeSeriesChunks([xor, fh], { where });
    // Prometheus's compactChunkIterator hands the chunk that starts first to the chain merge last,
    // so at the shared timestamps the histograms win: floats up to the first histogram, then
    // histograms.
    expect(out.map((c) => c.encoding)).toEqual([ChunkEncoding.XOR, ChunkEncoding.FloatHistogram]);
    expect(out[0]?.maxTime).toBe(floats[19]);
    expect(out[1]?.minTime).toBe(hs[0]?.t);
  });
});

describe('tombstones over histogram chunks', () => {
  it('compaction drops the deleted samples and keeps the encodings', async () => {
    const root = await mkdtemp(join(tmpdir(), 'compact-hist-del-'));
    try {
      const ints = counterHistograms(200, T0, { resetAt: 120, seed: 9 });
      const floats = counterFloatHistograms(150, T0, { seed: 10 });
      const block = await writeBlock(
        [
          {
            labels: Labels.from({ __name__: 'f' }),
            timestamps: [],
            values: [],
            histogramChunks: cutFloatHistogramChunks(floats, H2),
          },
          {
            labels: Labels.from({ __name__: 'i' }),
            timestamps: [],
            values: [],
            histogramChunks: cutHistogramChunks(ints, H2),
          },
        ],
        { outDir: root },
      );
      const r = await openBlock(block?.dir as string);
      const ref = async (n: string) => (await r.index.postings('__name__', [n]))[0] as number;
      // A hole in the middle of each series; for the integer one it spans the counter reset.
      const holeI = { minTime: ints[100]?.t as number, maxTime: ints[130]?.t as number };
      const holeF = { minTime: floats[10]?.t as number, maxTime: floats[12]?.t as number };
      const stones = new Map([
        [await ref('i'), [holeI]],
        [await ref('f'), [holeF]],
      ]);
      await r.close();
      await writeTombstones(block?.dir as string, stones);
      const out = join(root, 'out');
      await mkdir(out);
      const res = await compactBlocks({ blockDirs: [block?.dir as string], outDir: out });
      const got = await openBlock(res?.dir as string);
      try {
        const series = await createBlockQueryable([got]).select([new Matcher('=~', '__name__', '.+')], everything);
        const keep = (iv: { minTime: number; maxTime: number }) => (x: { t: number }) =>
          x.t < iv.minTime || x.t > iv.maxTime;
        expect(comparable(samplesOf(series[0]))).toEqual(comparable(floats.filter(keep(holeF))));
        expect(comparable(samplesOf(series[1]))).toEqual(comparable(toFloat(ints.filter(keep(holeI)))));
        const chunks = await got.select([new Matcher('=~', '__name__', '.+')], everything.start, everything.end);
        expect(chunks.map((s) => [...new Set(s.chunks.map((c) => c.encoding))])).toEqual([
          [ChunkEncoding.FloatHistogram],
          [ChunkEncoding.Histogram],
        ]);
      } finally {
        await got.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('vertical compaction of blocks with native histograms', () => {
  let dir = '';
  const name = (n: string, kind: string) => Labels.from({ __name__: n, kind });
  // Block a: integer and float histograms over [T0, T0+75m); block b over [T0+30m, T0+2h) with a
  // 5 s shift (so samples interleave) and a series b alone has; a mixed series (floats in a,
  // histograms in b over the same time).
  const intsA = counterHistograms(300, T0, { resetAt: 200, seed: 1 });
  const intsB = counterHistograms(360, T0 + 30 * 60_000 + 5_000, { seed: 2 });
  const floatsA = counterFloatHistograms(300, T0, { seed: 4 });
  const floatsB = counterFloatHistograms(360, T0 + 30 * 60_000 + 5_000, { seed: 5 });
  const onlyB = counterHistograms(100, T0 + 40 * 60_000, { seed: 6, schema: 0 });
  const mixedFloats = Array.from({ length: 300 }, (_, i) => T0 + i * 15_000);
  const mixedHists = counterHistograms(100, T0 + 60 * 60_000 + 2_000, { seed: 7 });
  let compactedDir = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'compact-hist-'));
    const blockA = await writeBlock(
      [
        {
          labels: name('lat', 'float'),
          timestamps: [],
          values: [],
          histogramChunks: cutFloatHistogramChunks(floatsA, H2),
        },
        { labels: name('lat', 'int'), timestamps: [], values: [], histogramChunks: cutHistogramChunks(intsA, H2) },
        { labels: name('mixed', 'x'), timestamps: mixedFloats, values: mixedFloats.map((_, i) => i * 2) },
      ],
      { outDir: dir },
    );
    const blockB = await writeBlock(
      [
        {
          labels: name('lat', 'float'),
          timestamps: [],
          values: [],
          histogramChunks: cutFloatHistogramChunks(floatsB, H2),
        },
        { labels: name('lat', 'int'), timestamps: [], values: [], histogramChunks: cutHistogramChunks(intsB, H2) },
        { labels: name('lat', 'onlyb'), timestamps: [], values: [], histogramChunks: cutHistogramChunks(onlyB, H2) },
        { labels: name('mixed', 'x'), timestamps: [], values: [], histogramChunks: cutHistogramChunks(mixedHists, H2) },
      ],
      { outDir: dir },
    );
    if (!blockA || !blockB) throw new Error('blocks not written');
    const out = join(dir, 'out');
    await mkdir(out);
    const res = await compactBlocks({ blockDirs: [blockA.dir, blockB.dir], outDir: out });
    compactedDir = res?.dir ?? '';
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const mixedSamples: Sample[] = mixedFloats.map((t, i) => ({ t, v: i * 2 }));
  const want: Record<string, Sample[]> = {
    'lat float': chain(floatsA, floatsB),
    'lat int': chain(toFloat(intsA), toFloat(intsB)),
    'lat onlyb': toFloat(onlyB),
    'mixed x': chain(mixedSamples, toFloat(mixedHists)),
  };

  it('the compacted block holds the merged samples, histograms in their encodings', async () => {
    const block = await openBlock(compactedDir);
    const got = await createBlockQueryable([block]).select([new Matcher('=~', '__name__', '.+')], everything);
    expect(got.map((s) => `${s.labels.get('__name__')} ${s.labels.get('kind')}`)).toEqual(Object.keys(want));
    for (const s of got) {
      const k = `${s.labels.get('__name__')} ${s.labels.get('kind')}`;
      expect(comparable(samplesOf(s)), k).toEqual(comparable(want[k] as Sample[]));
    }
    // Integer histograms were not turned into float histograms.
    const encodings = async (kind: string) =>
      new Set(
        (await block.select([new Matcher('=', 'kind', kind)], everything.start, everything.end)).flatMap((s) =>
          s.chunks.map((c) => c.encoding),
        ),
      );
    expect(await encodings('int')).toEqual(new Set([ChunkEncoding.Histogram]));
    expect(await encodings('float')).toEqual(new Set([ChunkEncoding.FloatHistogram]));
    expect(await encodings('x')).toEqual(new Set([ChunkEncoding.XOR, ChunkEncoding.Histogram]));
    expect(block.meta.stats.numSamples).toBe(Object.values(want).reduce((n, l) => n + l.length, 0));
    await block.close();
  });

  const have = programAvailable('prometheus');
  if (!have && !e2eRequired())
    console.warn('SKIPPING compacted histogram block in Prometheus: prometheus not installed');
  (have || e2eRequired() ? it : it.skip)(
    'Prometheus 2.42 reads the compacted block as we do',
    async () => {
      const dataDir = join(dir, 'prom');
      await mkdir(dataDir);
      await cp(compactedDir, join(dataDir, compactedDir.split('/').pop() as string), { recursive: true });
      const prom = await startPrometheus({ dataDir, extraArgs: ['--enable-feature=native-histograms'] });
      try {
        let compared = 0;
        for (const [k, samples] of Object.entries(want)) {
          const [n, kind] = k.split(' ');
          const end = (samples[samples.length - 1] as Sample).t;
          const q = new URLSearchParams({
            query: `${n}{kind="${kind}"}[${Math.ceil((end - T0) / 1000) + 1}s]`,
            time: String(end / 1000),
          });
          const body = (await (await fetch(`${prom.url}/api/v1/query?${q}`)).json()) as {
            data: {
              result: {
                values?: [number, string][];
                histograms?: [number, Parameters<typeof parseApiHistogram>[0]][];
              }[];
            };
          };
          const r = body.data.result[0];
          const theirs: unknown[] = [
            ...(r?.values ?? []).map(([t, v]) => ({ t: Math.round(t * 1000), v: Number(v) })),
            ...(r?.histograms ?? []).map(([t, j]) => ({ t: Math.round(t * 1000), ...parseApiHistogram(j) })),
          ].sort((a, b) => a.t - b.t);
          expect(theirs, k).toEqual(comparable(samples));
          compared += theirs.length;
        }
        expect(compared).toBe(Object.values(want).reduce((n, l) => n + l.length, 0));
        // promtool 2.42 reads the block too: analyze passes, and dump prints float samples only,
        // stopping at a series' first histogram sample (its loop runs while Next() is a float),
        // so of the mixed series it prints the floats before the first histogram.
        await promtool.analyze(dataDir, compactedDir.split('/').pop());
        const dump = (await promtool.dump(dataDir)).trim().split('\n');
        const firstHist = mixedHists[0]?.t as number;
        expect(dump).toEqual(
          mixedFloats.filter((t) => t < firstHist).map((t, i) => `{__name__="mixed", kind="x"} ${i * 2} ${t}`),
        );
      } finally {
        await prom.stop();
      }
    },
    60_000,
  );
});
