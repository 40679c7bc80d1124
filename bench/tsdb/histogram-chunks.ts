/**
 * Native histogram chunk encode/decode throughput on one core.
 * Run: npx tsx bench/tsdb/histogram-chunks.ts
 * Data: 24,000 integer histograms as 200 chunks of 120 (15s scrapes, ±200ms jitter), schema 3,
 * default zero threshold, 20 positive buckets in two spans plus 2 negative ones, each bucket
 * gaining 0–20 observations per scrape: the shape of a typical latency histogram. The same data
 * as float histograms for the float chunk.
 */
import { decodeFloatHistogramChunk, FloatHistogramChunk } from '../../packages/tsdb/src/chunkenc/float-histogram.js';
import { HistogramChunk, HistogramIterator } from '../../packages/tsdb/src/chunkenc/histogram.js';
import { CounterResetHint, type Histogram, histogramToFloat } from '../../packages/tsdb/src/histogram/index.js';

const CHUNKS = 200;
const PER_CHUNK = 120;
const SAMPLES = CHUNKS * PER_CHUNK;
const BUCKETS = 22;
let seed = 1;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const ts: number[] = [];
const hs: Histogram[] = [];
const abs = new Array<number>(BUCKETS).fill(0);
let t = 1_700_000_000_000;
let sum = 0;
let zero = 0;
for (let i = 0; i < SAMPLES; i++) {
  t += 15_000 + Math.round((rnd() - 0.5) * 400);
  for (let b = 0; b < BUCKETS; b++) {
    const inc = Math.floor(rnd() * 21);
    abs[b] = (abs[b] as number) + inc;
    sum += inc * 1.0905 ** b * 0.01;
  }
  zero += rnd() < 0.1 ? 1 : 0;
  const toDeltas = (a: number[]) => a.map((v, k) => v - (k === 0 ? 0 : (a[k - 1] as number)));
  const pos = abs.slice(0, 20);
  const neg = abs.slice(20);
  hs.push({
    counterResetHint: CounterResetHint.Unknown,
    schema: 3,
    zeroThreshold: 2 ** -128,
    zeroCount: zero,
    count: abs.reduce((a, v) => a + v, 0) + zero,
    sum: Math.round(sum * 1000) / 1000,
    positiveSpans: [
      { offset: -2, length: 12 },
      { offset: 3, length: 8 },
    ],
    negativeSpans: [{ offset: 0, length: 2 }],
    positiveBuckets: toDeltas(pos),
    negativeBuckets: toDeltas(neg),
  });
  ts.push(t);
}
const fhs = hs.map(histogramToFloat);

function encodeInt(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    let app = new HistogramChunk().appender();
    for (let i = c * PER_CHUNK; i < (c + 1) * PER_CHUNK; i++)
      app = app.append(ts[i] as number, hs[i] as Histogram).appender;
    out.push(app.chunk.bytes());
  }
  return out;
}

function encodeFloat(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let c = 0; c < CHUNKS; c++) {
    let app = new FloatHistogramChunk().appender();
    for (let i = c * PER_CHUNK; i < (c + 1) * PER_CHUNK; i++)
      app = app.append(ts[i] as number, fhs[i] as never).appender;
    out.push(app.chunk.bytes());
  }
  return out;
}

// Decoding as a query engine would: walk the iterator's running bucket state, no objects.
function decodeIntRaw(chunks: Uint8Array[]): number {
  let n = 0;
  let check = 0;
  for (const c of chunks) {
    const it = new HistogramIterator(c);
    while (it.next()) {
      check += it.pBuckets[0] as number;
      n++;
    }
  }
  if (check === 0) throw new Error('nothing decoded');
  return n;
}

// Decoding to Histogram objects (AtHistogram per sample).
function decodeIntObjects(chunks: Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) {
    const it = new HistogramIterator(c);
    while (it.next()) {
      it.atHistogram();
      n++;
    }
  }
  return n;
}

function decodeFloat(chunks: Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += decodeFloatHistogramChunk(c).histograms.length;
  return n;
}

interface Timing {
  median: number;
  best: number;
}
// CPU time of this process, median and best of `runs` after warm-up runs (see bench/tsdb/xor.ts).
function measure(fn: () => unknown, runs = 9, warmup = 3): Timing {
  for (let r = 0; r < warmup; r++) fn();
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[runs >> 1] as number, best: ms[0] as number };
}

const report = (name: string, tm: Timing) => {
  const hps = (SAMPLES / tm.median) * 1e3;
  console.log(
    `${name}: median ${tm.median.toFixed(1)} ms → ${(hps / 1e6).toFixed(2)} M histograms/s, ${((hps * BUCKETS) / 1e6).toFixed(1)} M buckets/s (best ${tm.best.toFixed(1)} ms)`,
  );
};

let intChunks: Uint8Array[] = [];
let floatChunks: Uint8Array[] = [];
const encI = measure(() => {
  intChunks = encodeInt();
});
const encF = measure(() => {
  floatChunks = encodeFloat();
});
const decRaw = measure(() => decodeIntRaw(intChunks));
const decObj = measure(() => decodeIntObjects(intChunks));
const decF = measure(() => decodeFloat(floatChunks));
if (decodeIntRaw(intChunks) !== SAMPLES || decodeFloat(floatChunks) !== SAMPLES)
  throw new Error('decode count mismatch');
const bytesI = intChunks.reduce((a, c) => a + c.length, 0);
const bytesF = floatChunks.reduce((a, c) => a + c.length, 0);
console.log(
  `histograms: ${SAMPLES} (${BUCKETS} buckets each), chunks: ${CHUNKS}, bytes/histogram: int ${(bytesI / SAMPLES).toFixed(1)}, float ${(bytesF / SAMPLES).toFixed(1)}`,
);
report('encode int (HistogramAppender.append)', encI);
report('encode float (FloatHistogramAppender.append)', encF);
report('decode int (HistogramIterator.next, running state)', decRaw);
report('decode int (+ atHistogram objects)', decObj);
report('decode float (decodeFloatHistogramChunk)', decF);
