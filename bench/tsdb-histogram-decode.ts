/**
 * Native histogram chunk decode throughput on one core, in buckets per second (issue 19's target:
 * ≥ 10M buckets/s/core). Run: npx tsx bench/tsdb-histogram-decode.ts
 *
 * Data (fixed seed): chunks of 120 integer histograms (15 s scrapes, ±200 ms jitter), schema 3,
 * counters growing by 0–20 per bucket per scrape, in two shapes: "latency" with 22 buckets
 * (20 positive in two spans, 2 negative) and "wide" with 160 positive buckets in 4 spans. The
 * same samples as float histogram chunks. Three ways to read:
 *  - next():            the iterator decodes every bucket into its typed arrays (what a scan or
 *                       a bucket-wise aggregation needs);
 *  - +atFloatHistogram: also builds one FloatHistogram object per sample (what the Queryable
 *                       hands the engine);
 *  - block read:        decodeHistogramChunks, the block queryable's path (range check included).
 * A "bucket" is one bucket count of one sample.
 */
import { decodeHistogramChunks } from '../packages/tsdb/src/block/histogram-samples.js';
import { ChunkEncoding } from '../packages/tsdb/src/chunkenc/chunk.js';
import { FloatHistogramIterator } from '../packages/tsdb/src/chunkenc/float-histogram.js';
import { HistogramIterator } from '../packages/tsdb/src/chunkenc/histogram.js';
import { cutFloatHistogramChunks, cutHistogramChunks } from '../packages/tsdb/src/chunkenc/histogram-cut.js';
import { CounterResetHint, type Histogram, histogramToFloat, type Span } from '../packages/tsdb/src/histogram/index.js';

const SAMPLES = 24_000;
let seed = 1;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

function series(pos: Span[], neg: Span[]): { t: number; h: Histogram }[] {
  const np = pos.reduce((a, s) => a + s.length, 0);
  const nn = neg.reduce((a, s) => a + s.length, 0);
  const abs = new Array<number>(np + nn).fill(0);
  const out: { t: number; h: Histogram }[] = [];
  let t = 1_700_000_000_000;
  let sum = 0;
  let zero = 0;
  const deltas = (a: number[]) => a.map((v, k) => v - (k === 0 ? 0 : (a[k - 1] as number)));
  for (let i = 0; i < SAMPLES; i++) {
    t += 15_000 + Math.round((rnd() - 0.5) * 400);
    for (let b = 0; b < abs.length; b++) {
      const inc = Math.floor(rnd() * 21);
      abs[b] = (abs[b] as number) + inc;
      sum += inc * 1.0905 ** b * 0.01;
    }
    zero += rnd() < 0.1 ? 1 : 0;
    out.push({
      t,
      h: {
        counterResetHint: CounterResetHint.Unknown,
        schema: 3,
        zeroThreshold: 2 ** -128,
        zeroCount: zero,
        count: abs.reduce((a, v) => a + v, 0) + zero,
        sum: Math.round(sum * 1000) / 1000,
        positiveSpans: pos,
        negativeSpans: neg,
        positiveBuckets: deltas(abs.slice(0, np)),
        negativeBuckets: deltas(abs.slice(np)),
      },
    });
  }
  return out;
}

// Chunks of 120 samples: cut with a chunk range far larger than the data, so only the 120/240
// sample rule and the chunk-window prediction cut.
const CHUNK_RANGE = 1e15;

function time(fn: () => number, minMs = 1500): { perSec: number; ms: number } {
  fn(); // warm up
  fn();
  let units = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    units += fn();
    now = performance.now();
  }
  return { perSec: units / ((now - start) / 1000), ms: now - start };
}

const shapes = {
  latency: series(
    [
      { offset: -2, length: 12 },
      { offset: 3, length: 8 },
    ],
    [{ offset: 0, length: 2 }],
  ),
  wide: series(
    [
      { offset: -40, length: 60 },
      { offset: 2, length: 40 },
      { offset: 1, length: 30 },
      { offset: 5, length: 30 },
    ],
    [],
  ),
};

const fmt = (x: number) => `${(x / 1e6).toFixed(1)}M`;
console.log(
  'shape    encoding  buckets/sample  next() buckets/s  +atFloatHistogram  block read (decodeHistogramChunks)',
);
for (const [name, samples] of Object.entries(shapes)) {
  const first = (samples[0] as { h: Histogram }).h;
  const per = first.positiveBuckets.length + first.negativeBuckets.length;
  for (const kind of ['int', 'float'] as const) {
    const chunks =
      kind === 'int'
        ? cutHistogramChunks(samples, CHUNK_RANGE)
        : cutFloatHistogramChunks(
            samples.map((s) => ({ t: s.t, h: histogramToFloat(s.h) })),
            CHUNK_RANGE,
          );
    const hit = new HistogramIterator(chunks[0]?.data as Uint8Array);
    const fit = new FloatHistogramIterator(chunks[0]?.data as Uint8Array);
    const nextOnly = time(() => {
      let n = 0;
      for (const c of chunks) {
        if (kind === 'int') {
          hit.reset(c.data);
          while (hit.next()) n++;
        } else {
          fit.reset(c.data);
          while (fit.next()) n++;
        }
      }
      return n * per;
    });
    const withObjects = time(() => {
      let n = 0;
      let check = 0;
      for (const c of chunks) {
        if (kind === 'int') {
          hit.reset(c.data);
          while (hit.next()) {
            check += hit.atFloatHistogram().count;
            n++;
          }
        } else {
          fit.reset(c.data);
          while (fit.next()) {
            check += fit.atFloatHistogram().count;
            n++;
          }
        }
      }
      if (check < 0) throw new Error('unreachable');
      return n * per;
    });
    const refs = chunks.map((c, i) => ({
      encoding: kind === 'int' ? ChunkEncoding.Histogram : ChunkEncoding.FloatHistogram,
      data: c.data,
      ref: i,
    }));
    const block = time(() => {
      const got = decodeHistogramChunks(refs, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, undefined);
      return (got?.timestamps.length ?? 0) * per;
    });
    console.log(
      `${name.padEnd(8)} ${kind.padEnd(9)} ${String(per).padStart(14)}  ${fmt(nextOnly.perSec).padStart(16)}  ${fmt(withObjects.perSec).padStart(17)}  ${fmt(block.perSec).padStart(10)}`,
    );
  }
}
console.log(`(${SAMPLES} samples per shape in chunks of ~120; node ${process.version}; one core)`);
