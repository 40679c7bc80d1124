// Native histograms through the head and its WAL: appends with Prometheus's rules and errors,
// chunks cut as Prometheus's head cuts them, replay, head compaction into blocks, and the data
// dir exchanged with a real Prometheus 2.42 in both directions.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2eRequired, programAvailable, startPrometheus } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlock } from '../src/block/reader.js';
import { ChunkEncoding } from '../src/chunkenc/chunk.js';
import { cutFloatHistogramChunks, cutHistogramChunks } from '../src/chunkenc/histogram-cut.js';
import { openDB } from '../src/db/index.js';
import { createHead } from '../src/head/index.js';
import { histogramToFloat } from '../src/histogram/histogram.js';
import type { FloatHistogram, Histogram } from '../src/histogram/types.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { SeriesSamples } from '../src/storage/queryable.js';
import { STALE_NAN } from '../src/storage/stale.js';
import { decodeRecord, encodeFloatHistogramSamplesRecords, encodeHistogramSamplesRecords } from '../src/wal/index.js';
import {
  apiBuckets,
  counterFloatHistograms,
  counterHistograms,
  parseApiHistogram,
  remoteWriteHistograms,
} from './histogram-fixtures.js';

const H2 = 2 * 3600_000;
const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const any = [new Matcher('=~', '__name__', '.+')];
const L = (name: string) => Labels.from([['__name__', name]]);

function meaning(h: FloatHistogram): object {
  return { schema: h.schema, count: h.count, sum: h.sum, zt: h.zeroThreshold, buckets: apiBuckets(h) };
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'head-hist-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('head with native histograms', () => {
  it('stores integer and float histograms in chunks cut exactly as Prometheus 2.x cuts them', async () => {
    const head = createHead();
    const ints = counterHistograms(500, 0, { resetAt: 300 });
    const floats = counterFloatHistograms(200, 0, { seed: 5 });
    for (let i = 0; i < ints.length; i += 50) {
      const app = head.appender();
      for (const { t, h } of ints.slice(i, i + 50)) app.appendHistogram(L('ints'), t, h);
      for (const { t, h } of floats.slice(i, i + 50)) app.appendFloatHistogram(L('floats'), t, h);
      await app.commit();
    }
    const [fs, is] = (await head.queryable().select(any, ALL)) as [SeriesSamples, SeriesSamples];
    expect(Array.from(is.histograms?.timestamps ?? [])).toEqual(ints.map((x) => x.t));
    expect(is.histograms?.values.map(meaning)).toEqual(ints.map((x) => meaning(histogramToFloat(x.h))));
    expect(fs.histograms?.values.map(meaning)).toEqual(floats.map((x) => meaning(x.h)));
    expect(is.timestamps.length).toBe(0);
    // The chunks a block gets are the ones Prometheus's head would write, byte for byte.
    const series = [...head.rangeSeries(0, 1e12)];
    const hex = (cs: readonly { data: Uint8Array }[]) => cs.map((c) => Buffer.from(c.data).toString('hex'));
    expect(hex(series[1]?.histogramChunks ?? [])).toEqual(hex(cutHistogramChunks(ints, H2)));
    expect(hex(series[0]?.histogramChunks ?? [])).toEqual(hex(cutFloatHistogramChunks(floats, H2)));
    expect(series[1]?.histogramChunks?.every((c) => c.encoding === ChunkEncoding.Histogram)).toBe(true);
  });

  it('switches a series between floats and histograms, cutting a chunk at each switch', async () => {
    const head = createHead();
    const hs = counterHistograms(10, 100_000, { seed: 2 });
    const app = head.appender();
    for (let i = 0; i < 5; i++) app.append(L('m'), i * 15_000, i);
    for (const { t, h } of hs) app.appendHistogram(L('m'), t, h);
    app.append(L('m'), 1_000_000, 42);
    await app.commit();
    const got = (await head.queryable().select(any, ALL))[0] as SeriesSamples;
    expect(Array.from(got.timestamps)).toEqual([0, 15_000, 30_000, 45_000, 60_000, 1_000_000]);
    expect(Array.from(got.histograms?.timestamps ?? [])).toEqual(hs.map((x) => x.t));
    expect(head.stats().numChunks).toBe(3);
  });

  const h0 = counterHistograms(3, 1000, { seed: 4 });
  const first = h0[0]?.h as Histogram;
  it.each([
    {
      name: 'older than the newest sample',
      t: 500,
      h: first,
      code: 'TSDB_OUT_OF_ORDER_SAMPLE',
      message: 'out of order sample',
    },
    {
      name: 'another histogram at the newest timestamp',
      t: 1000,
      h: h0[1]?.h as Histogram,
      code: 'TSDB_DUPLICATE_SAMPLE_FOR_TIMESTAMP',
      message: 'duplicate sample for timestamp',
    },
    {
      name: 'buckets not matching spans',
      t: 2000,
      h: { ...first, positiveBuckets: [...first.positiveBuckets, 1] },
      code: 'TSDB_INVALID_HISTOGRAM',
      message: 'spans need',
    },
  ])('rejects a histogram $name', async ({ t, h, code, message }) => {
    const head = createHead();
    const app = head.appender();
    app.appendHistogram(L('x'), 1000, first);
    await app.commit();
    const app2 = head.appender();
    let err: unknown;
    try {
      app2.appendHistogram(L('x'), t, h);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string })?.code ?? String(err)).toBe(code);
    expect((err as Error).message).toContain(message);
    // An equal histogram at the same time is a duplicate that is dropped, not an error.
    app2.appendHistogram(L('x'), 1000, first);
    app2.append(L('y'), 1000, 1);
    await app2.commit();
    expect(
      (await head.queryable().select([new Matcher('=', '__name__', 'x')], ALL))[0]?.histograms?.timestamps.length,
    ).toBe(1);
  });

  it('a float at the timestamp of a histogram is a duplicate', async () => {
    const head = createHead();
    const app = head.appender();
    app.appendHistogram(L('x'), 1000, first);
    await app.commit();
    expect(() => head.appender().append(L('x'), 1000, 1)).toThrow('duplicate sample for timestamp');
  });
});

describe('DB with native histograms', () => {
  it('replays histogram WAL records, compacts the head into histogram chunks, and reads them back', async () => {
    const dbDir = join(dir, 'db1');
    const t0 = 0;
    const ints = counterHistograms(1200, t0, { resetAt: 700, stepMs: 15_000 });
    const floats = counterFloatHistograms(600, t0, { stepMs: 30_000 });
    const stale = { ...(ints[5]?.h as Histogram), sum: STALE_NAN };
    {
      const db = await openDB({ dir: dbDir, retentionMs: 0 });
      for (let i = 0; i < ints.length; i += 100) {
        const app = db.appender();
        for (const { t, h } of ints.slice(i, i + 100)) app.appendHistogram(L('ints'), t, h);
        for (const { t, h } of floats.slice(i / 2, i / 2 + 50)) app.appendFloatHistogram(L('floats'), t, h);
        await app.commit();
      }
      const app = db.appender();
      const last = ints[ints.length - 1]?.t as number;
      app.appendHistogram(L('stale'), last - 10, ints[5]?.h as Histogram);
      app.appendHistogram(L('stale'), last, stale);
      await app.commit();
      await db.close();
    }
    const db = await openDB({ dir: dbDir, retentionMs: 0 });
    try {
      // Full chunks come back from chunks_head, the rest from the WAL.
      expect(db.walReplay.mmappedChunks).toBeGreaterThan(0);
      expect(db.walReplay.samples + db.walReplay.mmappedSamples).toBe(ints.length + floats.length + 2);
      const check = async () => {
        const got = await db.queryable().select(any, ALL);
        expect(got.map((s) => s.labels.get('__name__'))).toEqual(['floats', 'ints', 'stale']);
        const [f, i, s] = got as [SeriesSamples, SeriesSamples, SeriesSamples];
        expect(Array.from(i.histograms?.timestamps ?? [])).toEqual(ints.map((x) => x.t));
        expect(i.histograms?.values.map(meaning)).toEqual(ints.map((x) => meaning(histogramToFloat(x.h))));
        expect(f.histograms?.values.map(meaning)).toEqual(floats.map((x) => meaning(x.h)));
        expect(Number.isNaN(s.histograms?.values[1]?.sum)).toBe(true);
      };
      await check();
      const res = await db.compactHead();
      expect(res.blocks.length).toBeGreaterThan(0);
      await check();
      const block = await openBlock(join(dbDir, res.blocks[0] as string));
      try {
        const series = await block.select(any, ALL.start, ALL.end);
        const encs = new Set(series.flatMap((s) => s.chunks.map((c) => c.encoding)));
        expect([...encs].sort()).toEqual([ChunkEncoding.Histogram, ChunkEncoding.FloatHistogram]);
        const ours = series.find((s) => s.labels.get('__name__') === 'ints');
        const want = cutHistogramChunks(
          ints.filter((x) => x.t < block.meta.maxTime),
          H2,
        );
        expect(ours?.chunks.map((c) => Buffer.from(c.data as Uint8Array).toString('hex'))).toEqual(
          want.map((c) => Buffer.from(c.data).toString('hex')),
        );
      } finally {
        await block.close();
      }
    } finally {
      await db.close();
    }
  });
});

describe('WAL histogram records', () => {
  it('round-trip integer, float and custom-bucket histograms (types 7, 8, 9, 10)', () => {
    const ints = counterHistograms(5, 1000).map((x, i) => ({ ref: 3 + i, t: x.t, h: x.h }));
    const nhcb: Histogram = {
      ...(ints[0]?.h as Histogram),
      schema: -53,
      zeroThreshold: 0,
      zeroCount: 0,
      negativeSpans: [],
      negativeBuckets: [],
      positiveSpans: [{ offset: 0, length: 3 }],
      positiveBuckets: [1, 2, -1],
      count: 6,
      customValues: [0.1, 0.5, 1],
    };
    const recs = encodeHistogramSamplesRecords([...ints, { ref: 9, t: 77, h: nhcb }]);
    expect(recs.map((r) => r[0])).toEqual([7, 9]);
    const back = recs.flatMap((r) => {
      const d = decodeRecord(r);
      return d.type === 'histograms' ? d.histograms : [];
    });
    expect(back).toEqual([...ints, { ref: 9, t: 77, h: nhcb }]);
    const floats = counterFloatHistograms(3, -5000).map((x, i) => ({ ref: 100 - i, t: x.t, fh: x.h }));
    const frecs = encodeFloatHistogramSamplesRecords(floats);
    expect(frecs.map((r) => r[0])).toEqual([8]);
    const fback = decodeRecord(frecs[0] as Uint8Array);
    expect(fback.type === 'floatHistograms' ? fback.histograms : []).toEqual(floats);
    // Truncated: Prometheus's "invalid size".
    expect(() => decodeRecord((recs[0] as Uint8Array).subarray(0, 40))).toThrow('invalid size');
  });

  it('replay keeps the append order of a commit that switches a series between floats and histograms', async () => {
    const dbDir = join(dir, 'db-mixed');
    const hs = counterHistograms(4, 100_000, { seed: 6 });
    {
      const db = await openDB({ dir: dbDir, retentionMs: 0 });
      const app = db.appender();
      app.append(L('m'), 0, 1);
      app.append(L('m'), 15_000, 2);
      for (const { t, h } of hs) app.appendHistogram(L('m'), t, h);
      app.append(L('m'), 500_000, 3);
      await app.commit();
      await db.close();
    }
    const db = await openDB({ dir: dbDir, retentionMs: 0 });
    try {
      const got = (await db.queryable().select(any, ALL))[0] as SeriesSamples;
      expect(Array.from(got.timestamps)).toEqual([0, 15_000, 500_000]);
      expect(Array.from(got.histograms?.timestamps ?? [])).toEqual(hs.map((x) => x.t));
    } finally {
      await db.close();
    }
  });
});

const have = programAvailable('prometheus');
if (!have && !e2eRequired()) console.warn('SKIPPING head-histogram e2e: prometheus not installed');
const d = have || e2eRequired() ? describe : describe.skip;

d('native histograms in a data dir shared with Prometheus 2.42', () => {
  it("replays the histogram records of Prometheus's WAL", async () => {
    const dataDir = join(dir, 'prom-wal');
    const prom = await startPrometheus({ dataDir, extraArgs: ['--enable-feature=native-histograms'] });
    const t0 = Math.floor((Date.now() - 60 * 60_000) / 1000) * 1000;
    const ints = counterHistograms(200, t0, { resetAt: 120 });
    const floats = counterFloatHistograms(100, t0);
    try {
      await remoteWriteHistograms(prom.url, [
        {
          labels: [
            ['__name__', 'wal_hist'],
            ['kind', 'float'],
          ],
          floatHists: floats,
        },
        {
          labels: [
            ['__name__', 'wal_hist'],
            ['kind', 'int'],
          ],
          hists: ints,
        },
      ]);
    } finally {
      process.kill(prom.pid, 'SIGKILL');
      await prom.stop();
    }
    const db = await openDB({ dir: dataDir, retentionMs: 0 });
    try {
      const got = await db.queryable().select(any, ALL);
      expect(got.length).toBe(2);
      expect(got[0]?.histograms?.values.map(meaning)).toEqual(floats.map((x) => meaning(x.h)));
      expect(got[1]?.histograms?.values.map(meaning)).toEqual(ints.map((x) => meaning(histogramToFloat(x.h))));
    } finally {
      await db.close();
    }
  }, 120_000);

  it('Prometheus reads the histogram blocks and WAL our DB wrote as we do', async () => {
    const dataDir = join(dir, 'ours-for-prom');
    const end = Math.floor(Date.now() / 60_000) * 60_000;
    const t0 = end - 5 * 3600_000;
    const ints = counterHistograms(600, t0, { resetAt: 400, stepMs: 30_000 });
    const floats = counterFloatHistograms(300, t0, { stepMs: 60_000 });
    const db = await openDB({ dir: dataDir, retentionMs: 0 });
    for (let i = 0; i < ints.length; i += 60) {
      const app = db.appender();
      for (const { t, h } of ints.slice(i, i + 60))
        app.appendHistogram(Labels.from({ __name__: 'ours', k: 'int' }), t, h);
      for (const { t, h } of floats.slice(i / 2, i / 2 + 30))
        app.appendFloatHistogram(Labels.from({ __name__: 'ours', k: 'float' }), t, h);
      await app.commit();
    }
    const res = await db.compactHead();
    expect(res.blocks.length).toBeGreaterThan(0);
    const mine = await db.queryable().select(any, ALL);
    await db.close();
    const promDir = join(dir, 'prom-reads-ours');
    await cp(dataDir, promDir, { recursive: true });
    const prom = await startPrometheus({ dataDir: promDir, extraArgs: ['--enable-feature=native-histograms'] });
    try {
      let compared = 0;
      for (const s of mine) {
        const h = s.histograms;
        if (!h) throw new Error('no histograms');
        const q = new URLSearchParams({
          query: `ours{k="${s.labels.get('k')}"}`,
          start: String((h.timestamps[0] as number) / 1000),
          end: String((h.timestamps[h.timestamps.length - 1] as number) / 1000),
          step: s.labels.get('k') === 'int' ? '30' : '60',
        });
        const body = (await (await fetch(`${prom.url}/api/v1/query_range?${q}`)).json()) as {
          data: { result: { histograms?: [number, Parameters<typeof parseApiHistogram>[0]][] }[] };
        };
        const theirs = body.data.result[0]?.histograms ?? [];
        expect(theirs.length).toBe(h.timestamps.length);
        theirs.forEach(([t, j], k) => {
          expect(Math.round(t * 1000)).toBe(h.timestamps[k]);
          const fh = h.values[k] as FloatHistogram;
          expect({ count: fh.count, sum: fh.sum, buckets: apiBuckets(fh) }).toEqual(parseApiHistogram(j));
          compared++;
        });
      }
      expect(compared).toBe(900);
    } finally {
      await prom.stop();
    }
  }, 120_000);
});
