/**
 * XOR chunk encode/decode throughput on one core.
 * Run: npx tsx bench/tsdb/xor.ts
 * Data: 1M samples as 8,334 chunks of 120 (15s scrapes with ±500ms jitter; a gauge random walk
 * with 2 decimals), the shape Prometheus sees most.
 */
import { decodeXorInto, encodeXorChunk, XorEncoder } from '@thanos-ts/tsdb';

const SAMPLES = 1_000_000;
const PER_CHUNK = 120;
// mulberry32: a PRNG that stays exact in doubles.
let seed = 1;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const ts = new Float64Array(SAMPLES);
const vs = new Float64Array(SAMPLES);
let t = 1_700_000_000_000;
let v = 100;
for (let i = 0; i < SAMPLES; i++) {
  t += 15_000 + Math.round((rnd() - 0.5) * 1000);
  v = Math.round((v + (rnd() - 0.5) * 4) * 100) / 100;
  ts[i] = t;
  vs[i] = v;
}

function encodeAll(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const enc = new XorEncoder();
  for (let i = 0; i < SAMPLES; i += PER_CHUNK) {
    enc.reset();
    const end = Math.min(SAMPLES, i + PER_CHUNK);
    for (let k = i; k < end; k++) enc.append(ts[k] as number, vs[k] as number);
    out.push(enc.bytes());
  }
  return out;
}

function encodeAllBulk(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < SAMPLES; i += PER_CHUNK) out.push(encodeXorChunk(ts, vs, i, Math.min(SAMPLES, i + PER_CHUNK)));
  return out;
}

const outT = new Float64Array(SAMPLES);
const outV = new Float64Array(SAMPLES);
function decodeAll(chunks: Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += decodeXorInto(c, outT, outV, n);
  return n;
}

// Median and best of `runs`, in CPU time of this process (process.cpuUsage), so that other load
// on the machine does not count; wall time would measure the scheduler more than the code. The
// median is the figure to quote; the best shows how far the noise reaches.
interface Timing {
  median: number;
  best: number;
}
function measure(fn: () => unknown, runs = 15, warmup = 5): Timing {
  // Unmeasured runs first: the first few include tier-up to optimized code.
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

const rate = (ms: number) => (((SAMPLES / ms) * 1e3) / 1e6).toFixed(1);
const report = (name: string, t: Timing) =>
  console.log(
    `${name}: median ${t.median.toFixed(1)} ms → ${rate(t.median)} M samples/s (best ${t.best.toFixed(1)} ms → ${rate(t.best)})`,
  );

let chunks: Uint8Array[] = [];
const enc = measure(() => {
  chunks = encodeAll();
});
let bulk: Uint8Array[] = [];
const bulkT = measure(() => {
  bulk = encodeAllBulk();
});
if (bulk.some((c, i) => Buffer.compare(c, chunks[i] as Uint8Array) !== 0)) throw new Error('bulk encode mismatch');
let decoded = 0;
const dec = measure(() => {
  decoded = decodeAll(chunks);
});
if (decoded !== SAMPLES || outT[SAMPLES - 1] !== ts[SAMPLES - 1] || outV[12345] !== vs[12345]) {
  throw new Error('decode mismatch');
}
const bytes = chunks.reduce((a, c) => a + c.length, 0);
console.log(`samples: ${SAMPLES}, chunks: ${chunks.length}, bytes/sample: ${(bytes / SAMPLES).toFixed(2)}`);
report('encode (XorEncoder.append, sample by sample)', enc);
report('encode (bulk encodeXorChunk)', bulkT);
report('decode (decodeXorInto)', dec);
console.log(`append / bulk time ratio (same run): ${(enc.median / bulkT.median).toFixed(2)}`);
