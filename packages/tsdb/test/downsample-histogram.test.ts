// Downsampling native histogram series as Thanos does (pkg/compact/downsample): per window the
// number of histograms (count, XOR), their sum (a gauge float histogram) and the counter with its
// resets folded in (a float histogram), no min and max; runs of floats and histograms in one
// series are aggregated separately; 5m aggregates downsample again to 1h.
import { makeTempDir } from '@thanos-ts/testing';
import {
  ChunkEncoding,
  decodeXorInto,
  type EncodedChunk,
  Labels,
  Matcher,
  openBlock,
  writeBlock,
  xorNumSamples,
} from '@thanos-ts/tsdb';
import {
  AggrType,
  aggrChunkPart,
  CHUNK_ENC_AGGR,
  currentWindow,
  downsampleBlock,
  isHistogramAggrChunk,
  RES_LEVEL_1,
  RES_LEVEL_2,
} from '@thanos-ts/tsdb/downsample';
import { FloatHistogramIterator, histogramToFloat } from '@thanos-ts/tsdb/histogram';
import { beforeAll, describe, expect, it } from 'vitest';
import { cutHistogramChunks } from '../src/chunkenc/histogram-cut.js';
import { counterHistograms } from './histogram-fixtures.js';

const T0 = 1_700_006_400_000;
const H = 3_600_000;

function xor(data: Uint8Array): { t: number; v: number }[] {
  const ts = new Float64Array(xorNumSamples(data));
  const vs = new Float64Array(ts.length);
  const n = decodeXorInto(data, ts, vs);
  return Array.from(ts.subarray(0, n), (t, i) => ({ t, v: vs[i] as number }));
}

function fhs(data: Uint8Array): { t: number; count: number; sum: number }[] {
  const it = new FloatHistogramIterator(data);
  const out: { t: number; count: number; sum: number }[] = [];
  while (it.next()) {
    const h = it.atFloatHistogram();
    out.push({ t: it.t, count: h.count, sum: h.sum });
  }
  return out;
}

interface Aggr {
  count: { t: number; v: number }[];
  sum: { t: number; count: number; sum: number }[];
  counter: { t: number; count: number; sum: number }[];
}

function aggregates(chunks: readonly EncodedChunk[]): Aggr {
  const out: Aggr = { count: [], sum: [], counter: [] };
  for (const c of chunks) {
    expect(c.encoding as number).toBe(CHUNK_ENC_AGGR);
    expect(isHistogramAggrChunk(c.data)).toBe(true);
    expect(aggrChunkPart(c.data, AggrType.Min)).toBeUndefined();
    expect(aggrChunkPart(c.data, AggrType.Max)).toBeUndefined();
    const count = aggrChunkPart(c.data, AggrType.Count);
    const sum = aggrChunkPart(c.data, AggrType.Sum);
    const counter = aggrChunkPart(c.data, AggrType.Counter);
    expect([count?.encoding, sum?.encoding, counter?.encoding]).toEqual([
      ChunkEncoding.XOR,
      ChunkEncoding.FloatHistogram,
      ChunkEncoding.FloatHistogram,
    ]);
    out.count.push(...xor(count?.data as Uint8Array));
    out.sum.push(...fhs(sum?.data as Uint8Array));
    out.counter.push(...fhs(counter?.data as Uint8Array));
  }
  return out;
}

// The aggregates expected from raw histograms, window by window (res ms): window count, the sum
// of the window's histograms (count and sum fields), and the reset-adjusted counter at its end.
function expected(raw: { t: number; count: number; sum: number }[], res: number) {
  const windows = new Map<number, { n: number; count: number; sum: number; counter: number; counterSum: number }>();
  let counter = 0;
  let counterSum = 0;
  let prev: { count: number; sum: number } | undefined;
  for (const s of raw) {
    if (!prev) {
      counter = s.count;
      counterSum = s.sum;
    } else if (s.count < prev.count) {
      counter += s.count;
      counterSum += s.sum;
    } else {
      counter += s.count - prev.count;
      counterSum += s.sum - prev.sum;
    }
    prev = s;
    const w = currentWindow(s.t, res);
    const e = windows.get(w) ?? { n: 0, count: 0, sum: 0, counter: 0, counterSum: 0 };
    e.n++;
    e.count += s.count;
    e.sum += s.sum;
    e.counter = counter;
    e.counterSum = counterSum;
    windows.set(w, e);
  }
  return windows;
}

describe('downsampling native histogram series (Thanos)', () => {
  // 8h at 60 s: a counter with a reset after 5h, and a series that is a float counter for the
  // first 3h and a histogram afterwards.
  const hist = counterHistograms(8 * 60, T0 + 30_000, { stepMs: 60_000, resetAt: 300, seed: 3 });
  const mixedFloats = Array.from({ length: 180 }, (_, i) => T0 + 30_000 + i * 60_000);
  const mixedHist = counterHistograms(300, T0 + 30_000 + 180 * 60_000, { stepMs: 60_000, seed: 4 });
  const raw = hist.map(({ t, h }) => ({ t, count: h.count, sum: h.sum }));
  let rawDir = '';
  let fiveMin: { dir: string; series: Map<string, EncodedChunk[]> };

  async function readSeries(dir: string): Promise<Map<string, EncodedChunk[]>> {
    const b = await openBlock(dir);
    try {
      const out = new Map<string, EncodedChunk[]>();
      for (const s of await b.select(
        [new Matcher('=~', '__name__', '.+')],
        Number.MIN_SAFE_INTEGER,
        Number.MAX_SAFE_INTEGER,
      ))
        out.set(s.labels.get('__name__') as string, s.chunks as EncodedChunk[]);
      return out;
    } finally {
      await b.close();
    }
  }

  beforeAll(async () => {
    const dir = await makeTempDir('ds-hist-');
    const block = await writeBlock(
      [
        {
          labels: Labels.from({ __name__: 'lat' }),
          timestamps: [],
          values: [],
          histogramChunks: cutHistogramChunks(hist, 2 * H),
        },
        {
          labels: Labels.from({ __name__: 'mixed' }),
          timestamps: mixedFloats,
          values: mixedFloats.map((_, i) => i * 3),
          histogramChunks: cutHistogramChunks(mixedHist, 2 * H),
        },
      ],
      { outDir: dir, thanos: { labels: { a: 'b' }, downsample: { resolution: 0 }, source: 'test' } },
    );
    rawDir = block?.dir as string;
    const out = await downsampleBlock({ blockDir: rawDir, outDir: dir, resolution: RES_LEVEL_1 });
    fiveMin = { dir: out?.dir as string, series: await readSeries(out?.dir as string) };
    expect(out?.samplesRead).toBe(hist.length + mixedFloats.length + mixedHist.length);
  });

  it('raw to 5m: count, sum and counter per window, as histograms', () => {
    const got = aggregates(fiveMin.series.get('lat') as EncodedChunk[]);
    const want = expected(raw, RES_LEVEL_1);
    // Window timestamps are the window ends, the last one capped at the last sample.
    const ends = [...want.keys()];
    ends[ends.length - 1] = raw[raw.length - 1]?.t as number;
    expect(got.count.map((s) => s.t)).toEqual(ends);
    expect(got.count.map((s) => s.v)).toEqual([...want.values()].map((w) => w.n));
    expect(got.sum.map((s) => s.count)).toEqual([...want.values()].map((w) => w.count));
    got.sum.forEach((s, i) => {
      expect(s.sum).toBeCloseTo([...want.values()][i]?.sum as number, 6);
    });
    expect(got.counter.map((s) => s.count)).toEqual([...want.values()].map((w) => w.counter));
    got.counter.forEach((s, i) => {
      expect(s.sum).toBeCloseTo([...want.values()][i]?.counterSum as number, 6);
    });
  });

  it('a series switching from floats to histograms gets float aggregates, then histogram aggregates', () => {
    const chunks = fiveMin.series.get('mixed') as EncodedChunk[];
    const kinds = chunks.map((c) => isHistogramAggrChunk(c.data));
    const firstHist = kinds.indexOf(true);
    expect(firstHist).toBeGreaterThan(0);
    expect(kinds.slice(firstHist).every(Boolean)).toBe(true);
    // Float aggregates keep min and max.
    expect(aggrChunkPart((chunks[0] as EncodedChunk).data, AggrType.Max)?.encoding).toBe(ChunkEncoding.XOR);
    const h = aggregates(chunks.slice(firstHist));
    expect(h.count.reduce((n, s) => n + s.v, 0)).toBe(mixedHist.length);
    expect(h.counter[h.counter.length - 1]?.count).toBe(mixedHist[mixedHist.length - 1]?.h.count);
  });

  it('5m to 1h: counts add up and the counter keeps its resets folded in', async () => {
    const out = await downsampleBlock({
      blockDir: fiveMin.dir,
      outDir: await makeTempDir('ds-hist-1h-'),
      resolution: RES_LEVEL_2,
    });
    const got = aggregates((await readSeries(out?.dir as string)).get('lat') as EncodedChunk[]);
    const want = expected(raw, RES_LEVEL_2);
    expect(got.count.map((s) => s.v)).toEqual([...want.values()].map((w) => w.n));
    expect(got.sum.map((s) => s.count)).toEqual([...want.values()].map((w) => w.count));
    expect(got.counter.map((s) => s.count)).toEqual([...want.values()].map((w) => w.counter));
    // The final counter is the raw increase with the reset folded in.
    const last = got.counter[got.counter.length - 1]?.count as number;
    expect(last).toBe((raw[299]?.count as number) + (raw[raw.length - 1]?.count as number));
    expect(histogramToFloat(hist[0]?.h as never).count).toBe(raw[0]?.count);
  });
});
