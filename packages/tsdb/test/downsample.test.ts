import { join } from 'node:path';
import { makeTempDir } from '@thanos-ts/testing';
import { ChunkEncoding, decodeXorInto, Labels, openBlock, STALE_NAN, writeBlock, xorNumSamples } from '@thanos-ts/tsdb';
import {
  AggrType,
  aggrChunkPart,
  applyCounterResets,
  CHUNK_ENC_AGGR,
  downsampleBlock,
  RES_LEVEL_1,
  RES_LEVEL_2,
} from '@thanos-ts/tsdb/downsample';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_006_400_000;
const H = 3_600_000;

interface Raw {
  labels: Labels;
  ts: number[];
  vs: number[];
}

/** A counter with resets, a gauge with a NaN and a staleness marker, over `hours` at 60s. */
function rawSeries(hours: number): Raw[] {
  const n = (hours * H) / 60_000;
  const counter: Raw = { labels: Labels.from({ __name__: 'c_total', job: 'x' }), ts: [], vs: [] };
  const gauge: Raw = { labels: Labels.from({ __name__: 'g', job: 'x' }), ts: [], vs: [] };
  let c = 5;
  for (let i = 0; i < n; i++) {
    const t = T0 + 30_000 + i * 60_000;
    c = i % 997 === 500 ? 3 : c + (i % 7) + 0.5;
    counter.ts.push(t);
    counter.vs.push(c);
    gauge.ts.push(t);
    gauge.vs.push(i === 100 ? Number.NaN : i === 200 ? STALE_NAN : Math.sin(i / 50) * 100 + (i % 13));
  }
  return [counter, gauge];
}

function decode(data: Uint8Array): { t: number[]; v: number[] } {
  const ts = new Float64Array(xorNumSamples(data));
  const vs = new Float64Array(ts.length);
  const n = decodeXorInto(data, ts, vs);
  return { t: Array.from(ts.subarray(0, n)), v: Array.from(vs.subarray(0, n)) };
}

interface Window {
  count: number;
  sum: number;
  min: number;
  max: number;
  counter: number;
}

/** The expected aggregates per `res` window, from the raw samples (NaN and stale left out). */
function expectedWindows(r: Raw, res: number): Map<number, Window> {
  const out = new Map<number, Window>();
  let counter = 0;
  let last = 0;
  let first = true;
  for (let i = 0; i < r.ts.length; i++) {
    const v = r.vs[i] as number;
    if (Number.isNaN(v)) continue;
    counter = first ? v : counter + (v < last ? v : v - last);
    first = false;
    last = v;
    const w = Math.floor((r.ts[i] as number) / res);
    const cur = out.get(w) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity, counter: 0 };
    cur.count++;
    cur.sum += v;
    cur.min = Math.min(cur.min, v);
    cur.max = Math.max(cur.max, v);
    cur.counter = counter;
    out.set(w, cur);
  }
  return out;
}

/** The aggregates a downsampled block holds per window, read back with openBlock. */
async function readWindows(dir: string, res: number): Promise<Map<string, Map<number, Window>>> {
  const block = await openBlock(dir);
  const out = new Map<string, Map<number, Window>>();
  try {
    const series = await block.index.series(await block.index.allPostings());
    for (const s of series) {
      const windows = new Map<number, Window>();
      const counterParts: Uint8Array[] = [];
      const raw = await block.chunks.readChunks(s.chunks.map((c) => c.ref));
      for (const r of raw) {
        expect(r.encoding).toBe(CHUNK_ENC_AGGR);
        const get = (a: AggrType) => {
          const p = aggrChunkPart(r.data, a);
          expect(p?.encoding).toBe(ChunkEncoding.XOR);
          return decode(p?.data as Uint8Array);
        };
        const [count, sum, min, max, counter] = [
          get(AggrType.Count),
          get(AggrType.Sum),
          get(AggrType.Min),
          get(AggrType.Max),
          get(AggrType.Counter),
        ];
        // The counter chunk repeats the first raw sample before the windows and the last after.
        expect(counter.t.length).toBe(count.t.length + 2);
        counterParts.push(aggrChunkPart(r.data, AggrType.Counter)?.data as Uint8Array);
        count.t.forEach((t, i) => {
          expect(sum.t[i]).toBe(t);
          windows.set(Math.floor(t / res), {
            count: count.v[i] as number,
            sum: sum.v[i] as number,
            min: min.v[i] as number,
            max: max.v[i] as number,
            counter: Number.NaN,
          });
        });
      }
      // Counter values are cumulative within a chunk only; a reader stitches chunks together with
      // Thanos's ApplyCounterResetsSeriesIterator, which must give the raw counter's running total.
      const { out: stitched } = applyCounterResets(counterParts);
      for (let i = 0; i < stitched.n; i++) {
        const w = windows.get(Math.floor((stitched.t[i] as number) / res)) as Window;
        w.counter = stitched.v[i] as number;
      }
      out.set(s.labels.toString(), windows);
    }
  } finally {
    await block.close();
  }
  return out;
}

function expectClose(got: Map<number, Window>, want: Map<number, Window>, isCounter: boolean): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [w, e] of want) {
    const g = got.get(w) as Window;
    expect(g.count).toBe(e.count);
    expect(g.sum).toBeCloseTo(e.sum, 6);
    expect(g.min).toBe(e.min);
    expect(g.max).toBe(e.max);
    // The counter aggregate is only meaningful for counters (a gauge's drops count as resets).
    if (isCounter) expect(g.counter).toBeCloseTo(e.counter, 6);
  }
}

describe('downsampleBlock', () => {
  it('raw → 5m → 1h: per window count, sum, min, max and counter (with resets) match the raw data', async () => {
    const raw = rawSeries(48);
    const dir = await makeTempDir('ds-');
    const block = await writeBlock(
      raw.map((r) => ({ labels: r.labels, timestamps: Float64Array.from(r.ts), values: Float64Array.from(r.vs) })),
      {
        outDir: dir,
        minTime: T0,
        maxTime: T0 + 48 * H,
        thanos: { labels: { cluster: 'eu' }, downsample: { resolution: 0 }, source: 'test' },
      },
    );
    const five = await downsampleBlock({ blockDir: block!.dir, outDir: join(dir, 'out'), resolution: RES_LEVEL_1 });
    expect(five?.meta).toMatchObject({
      minTime: T0,
      maxTime: T0 + 48 * H,
      thanos: { labels: { cluster: 'eu' }, downsample: { resolution: RES_LEVEL_1 }, source: 'compactor' },
      compaction: { level: 1, sources: [block!.ulid] },
    });
    const got5 = await readWindows(five!.dir, RES_LEVEL_1);
    for (const r of raw)
      expectClose(
        got5.get(r.labels.toString())!,
        expectedWindows(r, RES_LEVEL_1),
        r.labels.get('__name__') === 'c_total',
      );
    expect(five!.meta.stats.numSamples).toBe(2 * 48 * 12 - 0);

    const hour = await downsampleBlock({ blockDir: five!.dir, outDir: join(dir, 'out1h'), resolution: RES_LEVEL_2 });
    expect(hour?.meta.thanos?.downsample.resolution).toBe(RES_LEVEL_2);
    const got1h = await readWindows(hour!.dir, RES_LEVEL_2);
    for (const r of raw)
      expectClose(
        got1h.get(r.labels.toString())!,
        expectedWindows(r, RES_LEVEL_2),
        r.labels.get('__name__') === 'c_total',
      );
  });

  it.each([
    { name: 'same resolution', from: RES_LEVEL_1, to: RES_LEVEL_1 },
    { name: 'coarser input', from: RES_LEVEL_2, to: RES_LEVEL_1 },
  ])('refuses $name', async ({ from, to }) => {
    const dir = await makeTempDir('ds-');
    const b = await writeBlock([{ labels: Labels.from({ a: 'b' }), timestamps: [T0], values: [1] }], {
      outDir: dir,
      thanos: { labels: { x: 'y' }, downsample: { resolution: from }, source: 'test' },
    });
    await expect(downsampleBlock({ blockDir: b!.dir, outDir: dir, resolution: to })).rejects.toMatchObject({
      code: 'TSDB_DOWNSAMPLE',
      message: expect.stringMatching(/target resolution not lower than existing one/),
    });
  });
});
