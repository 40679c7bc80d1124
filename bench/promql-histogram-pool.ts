/**
 * What it costs to move native histograms across the PromQL evaluation pool's worker boundary:
 * structured cloning of the FloatHistogram objects (what postMessage would do with them, measured
 * with v8.serialize/deserialize, the same serializer) against the pool's flat encoding
 * (packages/promql/src/engine/pool/pack-histograms.ts: typed arrays that are then transferred).
 *
 *   node --expose-gc --import tsx bench/promql-histogram-pool.ts [--series=10000] [--samples=120] [--runs=3] [--no-query]
 *
 * Data: `--series` series × `--samples` distinct histograms each (schema 3, 20 buckets in two
 * positive spans, one negative bucket, a zero bucket; distinct objects, since structured cloning
 * copies a shared object only once). "Sender" is time on the calling thread (the event loop the
 * pool protects), "receiver" time in the worker. Then, unless `--no-query`, the same data in the
 * in-memory storage answers sum(rate(x[5m])) and histogram_quantile(0.9, sum(rate(x[5m]))) in
 * thread and through a one-worker pool, with the longest event-loop stall seen meanwhile.
 */
import { deserialize, serialize } from 'node:v8';
import { packHistograms, unpackHistograms } from '../packages/promql/src/engine/pool/pack-histograms.js';
import { createEngine, createEvaluationPool, createMemoryStorage } from '../packages/promql/src/index.js';
import { CounterResetHint, type FloatHistogram } from '../packages/tsdb/src/histogram/index.js';
import type { HistogramSamples } from '../packages/tsdb/src/index.js';

const arg = (name: string, def: number): number => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? def : Number(a.split('=')[1]);
};
const SERIES = arg('series', 10_000);
const SAMPLES = arg('samples', 120);
const RUNS = arg('runs', 3);
const STEP = 15_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function histogram(n: number): FloatHistogram {
  const buckets = Array.from({ length: 20 }, (_, b) => n * (1 + (b % 5)));
  return {
    counterResetHint: CounterResetHint.NotCounterReset,
    schema: 3,
    zeroThreshold: 1e-128,
    zeroCount: n,
    count: buckets.reduce((a, b) => a + b, 0) + 3 * n,
    sum: n * 1.37,
    positiveSpans: [
      { offset: -4, length: 12 },
      { offset: 3, length: 8 },
    ],
    negativeSpans: [{ offset: 0, length: 1 }],
    positiveBuckets: buckets,
    negativeBuckets: [2 * n],
  };
}

const columns: HistogramSamples[] = Array.from({ length: SERIES }, (_, i) => ({
  timestamps: Float64Array.from({ length: SAMPLES }, (_, p) => p * STEP),
  values: Array.from({ length: SAMPLES }, (_, p) => histogram(p * (1 + (i % 7)))),
}));
console.log(
  `${SERIES} series × ${SAMPLES} histograms (${(SERIES * SAMPLES).toLocaleString()} histograms), runs=${RUNS}`,
);

const timed = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const v = fn();
  return [v, performance.now() - t];
};

const clone = { send: [] as number[], receive: [] as number[], bytes: 0 };
const flat = { send: [] as number[], receive: [] as number[], bytes: 0 };
// Each method in its own phase, with a collection before each timing (when --expose-gc), so one
// method's garbage is not collected on the other's clock.
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
for (let r = 0; r < RUNS; r++) {
  gc();
  const transfer: ArrayBuffer[] = [];
  const [packed, s2] = timed(() => packHistograms(columns, transfer));
  // Transfer is a pointer move; the wrapper object's clone costs nothing measurable.
  const [, r2] = timed(() => unpackHistograms(packed as NonNullable<typeof packed>));
  flat.send.push(s2);
  flat.receive.push(r2);
  flat.bytes = transfer.reduce((a, b) => a + b.byteLength, 0);
}
for (let r = 0; r < RUNS; r++) {
  gc();
  const [buf, s1] = timed(() => serialize(columns));
  gc();
  const [, r1] = timed(() => deserialize(buf));
  clone.send.push(s1);
  clone.receive.push(r1);
  clone.bytes = buf.byteLength;
}
const line = (name: string, m: typeof clone): void =>
  console.log(
    `  ${name.padEnd(36)} sender ${median(m.send).toFixed(0).padStart(6)} ms   receiver ${median(m.receive)
      .toFixed(0)
      .padStart(6)} ms   ${(m.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB`,
  );
line('structured clone (v8 serializer)', clone);
line('flat typed arrays (transferred)', flat);

if (!process.argv.includes('--no-query')) {
  const storage = createMemoryStorage();
  columns.forEach((c, i) => {
    for (let p = 0; p < SAMPLES; p++)
      storage.appendHistogram(
        { __name__: 'x', i: String(i) },
        c.timestamps[p] as number,
        c.values[p] as FloatHistogram,
      );
  });
  const end = (SAMPLES - 1) * STEP;
  const local = createEngine({ maxSamples: 500_000_000, timeout: 600_000 });
  await using pool = createEvaluationPool({ size: 1 });
  const pooled = createEngine({ maxSamples: 500_000_000, timeout: 600_000, pool });
  for (const query of ['sum(rate(x[5m]))', 'histogram_quantile(0.9, sum(rate(x[5m])))']) {
    for (const [name, engine] of [
      ['in thread', local],
      ['pool', pooled],
    ] as const) {
      await engine.instantQuery(storage, query, end); // warm-up (and worker start)
      const ms: number[] = [];
      const stalls: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        let last = performance.now();
        let stall = 0;
        const timer = setInterval(() => {
          const now = performance.now();
          stall = Math.max(stall, now - last);
          last = now;
        }, 1);
        const t = performance.now();
        await engine.instantQuery(storage, query, end);
        ms.push(performance.now() - t);
        clearInterval(timer);
        stall = Math.max(stall, performance.now() - last);
        stalls.push(stall);
      }
      console.log(
        `  ${`${query} ${name}`.padEnd(58)} ${median(ms).toFixed(0).padStart(6)} ms   longest event-loop stall ${median(stalls).toFixed(0).padStart(5)} ms`,
      );
    }
  }
}
