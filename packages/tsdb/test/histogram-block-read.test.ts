// Blocks with native histogram chunks read through the Queryable contract: histogram and float
// histogram chunks come back in `histograms` (integer histograms as float histograms), and a block
// written by Prometheus 2.42 reads back as Prometheus's own API returns the samples.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eRequired, programAvailable, type RunningPrometheus, startPrometheus } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlockQueryable } from '../src/block/queryable.js';
import { openBlock } from '../src/block/reader.js';
import { BlockWriter } from '../src/block/writer.js';
import { cutXorChunks } from '../src/chunkenc/chunk.js';
import { cutFloatHistogramChunks, cutHistogramChunks } from '../src/chunkenc/histogram-cut.js';
import { findBlockDirs } from '../src/dump/dump.js';
import { histogramToFloat } from '../src/histogram/histogram.js';
import type { FloatHistogram } from '../src/histogram/types.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { SeriesSamples } from '../src/storage/queryable.js';
import {
  apiBuckets,
  counterFloatHistograms,
  counterHistograms,
  type HistogramPushSeries,
  parseApiHistogram,
  remoteWriteHistograms,
} from './histogram-fixtures.js';

const H2 = 2 * 3600_000;
const all = [new Matcher('=~', '__name__', '.+')];
const everything = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };

describe('block queryable with histogram chunks', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hist-block-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const ints = counterHistograms(300, 1_000_000, { resetAt: 200 });
  const floats = counterFloatHistograms(150, 1_000_000, { seed: 3 });
  const xs = Array.from({ length: 40 }, (_, i) => 1_000_000 + i * 15_000);

  async function write(
    series: { labels: Labels; chunks: ReturnType<typeof cutXorChunks> }[],
    mint: number,
    maxt: number,
  ): Promise<string> {
    const w = await BlockWriter.create({ outDir: dir, minTime: mint, maxTime: maxt });
    for (const s of series) await w.addSeries(s.labels, s.chunks);
    return (await w.commit())?.dir as string;
  }

  it('returns integer and float histogram samples, and floats beside them', async () => {
    // A series switching from floats to histograms, as a re-instrumented target does.
    const mixedH = counterHistograms(30, 1_000_000 + 40 * 15_000, { seed: 9 });
    const b = await write(
      [
        { labels: Labels.from([['__name__', 'a_float_hist']]), chunks: cutFloatHistogramChunks(floats, H2) },
        { labels: Labels.from([['__name__', 'b_int_hist']]), chunks: cutHistogramChunks(ints, H2) },
        {
          labels: Labels.from([['__name__', 'c_mixed']]),
          chunks: [
            ...cutXorChunks(
              xs,
              xs.map((_, i) => i),
              H2,
            ),
            ...cutHistogramChunks(mixedH, H2),
          ],
        },
      ],
      0,
      H2 * 4,
    );
    const block = await openBlock(b);
    try {
      const got = await createBlockQueryable([block]).select(all, everything);
      expect(got.map((s) => s.labels.get('__name__'))).toEqual(['a_float_hist', 'b_int_hist', 'c_mixed']);
      const [f, i, m] = got as [SeriesSamples, SeriesSamples, SeriesSamples];
      expect(f.timestamps.length).toBe(0);
      expect(Array.from(f.histograms?.timestamps ?? [])).toEqual(floats.map((s) => s.t));
      expect(f.histograms?.values.map(strip)).toEqual(floats.map((s) => strip(s.h)));
      expect(Array.from(i.histograms?.timestamps ?? [])).toEqual(ints.map((s) => s.t));
      expect(i.histograms?.values.map(strip)).toEqual(ints.map((s) => strip(histogramToFloat(s.h))));
      // The reset cuts a chunk; its first sample's hint is Unknown (Prometheus 3 trusts no header
      // for a chunk's first sample), the next ones' NotCounterReset.
      expect(i.histograms?.values.slice(199, 202).map((h) => h.counterResetHint)).toEqual([2, 0, 2]);
      expect(Array.from(m.timestamps)).toEqual(xs);
      expect(Array.from(m.histograms?.timestamps ?? [])).toEqual(mixedH.map((s) => s.t));

      // Range limits apply to histogram samples as to floats.
      const t0 = ints[10]?.t as number;
      const t1 = ints[20]?.t as number;
      const part = await createBlockQueryable([block]).select([new Matcher('=', '__name__', 'b_int_hist')], {
        start: t0,
        end: t1,
      });
      expect(Array.from(part[0]?.histograms?.timestamps ?? [])).toEqual(ints.slice(10, 21).map((s) => s.t));
    } finally {
      await block.close();
    }
  });

  it('merges a series across overlapping blocks, the earlier block winning a timestamp', async () => {
    const labels = Labels.from([['__name__', 'split']]);
    const first = ints.slice(0, 150);
    const second = ints.slice(100, 300).map((s) => ({ t: s.t, h: { ...s.h, sum: -1 } }));
    const b1 = await write([{ labels, chunks: cutHistogramChunks(first, H2) }], 0, H2 * 4);
    const b2 = await write([{ labels, chunks: cutHistogramChunks(second, H2) }], 0, H2 * 4);
    const blocks = [await openBlock(b1), await openBlock(b2)];
    try {
      const got = await createBlockQueryable(blocks).select(all, everything);
      const h = got[0]?.histograms;
      expect(Array.from(h?.timestamps ?? [])).toEqual(ints.map((s) => s.t));
      expect(h?.values[149]?.sum).toBe(ints[149]?.h.sum);
      expect(h?.values[150]?.sum).toBe(-1);
    } finally {
      for (const b of blocks) await b.close();
    }
  });
});

// What a histogram means, independent of the chunk layout (which adds empty buckets).
type ApiHistogram = { count: string; sum: string; buckets?: [number, string, string, string][] };

function strip(h: FloatHistogram): object {
  return { schema: h.schema, count: h.count, sum: h.sum, zt: h.zeroThreshold, buckets: apiBuckets(h) };
}

const have = programAvailable('prometheus');
if (!have && !e2eRequired()) console.warn('SKIPPING histogram block e2e: prometheus not installed');
const d = have || e2eRequired() ? describe : describe.skip;

d('blocks written by Prometheus 2.42 with native histograms', () => {
  let prom: RunningPrometheus;
  let snapshotDir = '';
  let end = 0;
  const series: HistogramPushSeries[] = [];

  beforeAll(async () => {
    prom = await startPrometheus({ extraArgs: ['--enable-feature=native-histograms'] });
    const t0 = Math.floor((Date.now() - 90 * 60_000) / 1000) * 1000;
    series.push(
      {
        labels: [
          ['__name__', 'rpc_seconds'],
          ['kind', 'int'],
        ],
        hists: counterHistograms(300, t0, { resetAt: 180 }),
      },
      {
        labels: [
          ['__name__', 'rpc_seconds'],
          ['kind', 'float'],
        ],
        floatHists: counterFloatHistograms(200, t0),
      },
    );
    await remoteWriteHistograms(prom.url, series);
    end = t0 + 310 * 15_000;
    // A float sample closes each open histogram chunk, so the snapshot holds the head's chunks as
    // written (2.42 re-encodes an open histogram chunk on snapshot).
    await remoteWriteHistograms(
      prom.url,
      series.map((s) => ({ labels: s.labels, floats: [{ t: end, v: 1 }] })),
    );
    const res = await fetch(`${prom.url}/api/v1/admin/tsdb/snapshot`, { method: 'POST' });
    const body = (await res.json()) as { data?: { name: string } };
    if (!body.data) throw new Error(`snapshot: ${JSON.stringify(body)}`);
    snapshotDir = join(prom.dataDir, 'snapshots', body.data.name);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
  });

  it("reads the same histogram samples as Prometheus's /api/v1/query_range returns", async () => {
    const dirs = await findBlockDirs(snapshotDir);
    const blocks = await Promise.all(dirs.map((d) => openBlock(d)));
    try {
      const ours = await createBlockQueryable(blocks).select([new Matcher('=', '__name__', 'rpc_seconds')], everything);
      let compared = 0;
      for (const s of series) {
        const kind = s.labels[1]?.[1] as string;
        const sent = (s.hists ?? s.floatHists ?? []).map((x) => x.t);
        // One query per series and a step equal to the scrape interval, so every step evaluates
        // exactly one sample. (2.42's range-vector selector reuses histogram objects across
        // series in one result, so `x[2h]` cannot serve as the reference.)
        const q = new URLSearchParams({
          query: `rpc_seconds{kind="${kind}"}`,
          start: String((sent[0] as number) / 1000),
          end: String((sent[sent.length - 1] as number) / 1000),
          step: '15',
        });
        const res = (await (await fetch(`${prom.url}/api/v1/query_range?${q}`)).json()) as {
          data: { result: { histograms?: [number, ApiHistogram][] }[] };
        };
        const theirs = res.data.result[0]?.histograms ?? [];
        const h = ours.find((x) => x.labels.get('kind') === kind)?.histograms;
        expect(theirs.length, kind).toBe(sent.length);
        expect(Array.from(h?.timestamps ?? []), kind).toEqual(sent);
        theirs.forEach(([t, j], k) => {
          expect(h?.timestamps[k]).toBe(Math.round(t * 1000));
          const fh = h?.values[k] as FloatHistogram;
          expect({ count: fh.count, sum: fh.sum, buckets: apiBuckets(fh) }, `${kind} sample ${k}`).toEqual(
            parseApiHistogram(j),
          );
          compared++;
        });
      }
      expect(compared).toBe(500);
    } finally {
      for (const b of blocks) await b.close();
    }
  });
});
