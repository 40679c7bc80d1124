/**
 * PromQL evaluation off the event loop (`createEvaluationPool`):
 *   1. two heavy range queries run one after the other vs both at once through a pool of 2,
 *      against the same two on the calling thread;
 *   2. while they run, the lateness of a 5 ms timer on the main thread (p50/p99/max), which is
 *      what an HTTP health check would wait;
 *   3. how far past its deadline a query ends, with the deadline hit while fetching (a slow
 *      Queryable), while evaluating in a worker, and while evaluating on the calling thread
 *      (instant `sum(max_over_time(rate(x[5m])[1d:1s]))`, seconds of work).
 *
 *   npx tsx bench/promql/concurrency-pool.ts [--series=200] [--days=1] [--step=15000] [--runs=5]
 *     [--query='sum by (job) (max_over_time(rate(x[5m])[6h:1s]))']
 *
 * Data: `--series` counters over `--days` at 15 s (5,760 samples a day each). Query: the whole
 * range at a `--step` (default 15 s) of `--query`, by default
 * `sum by (job) (max_over_time(rate(x[5m])[1h:15s]))` (5,761 steps a day, each the max of a
 * 240-step subquery of rate()). `--days=2 --step=300000 --query='sum by (job)
 * (max_over_time(rate(x[5m])[6h:1s]))'` is the evaluation-bound shape of issue 13's heavy query.
 * Figures are medians over `--runs`.
 */
import type { Matcher, Queryable, SelectHints, SeriesSamples } from '@thanos-ts/tsdb';
import {
  createEngine,
  createEvaluationPool,
  createMemoryStorage,
  type Engine,
  type MemoryStorage,
} from '../../packages/promql/src/index.js';
import { numberArg as arg } from '../args.js';

const SERIES = arg('series', 200);
const RUNS = arg('runs', 5);
const DAY = 86_400_000;
const DAYS = arg('days', 1);
const STEP = arg('step', 15_000);
const QUERY =
  process.argv.find((x) => x.startsWith('--query='))?.slice('--query='.length) ??
  'sum by (job) (max_over_time(rate(x[5m])[1h:15s]))';

function storage(): MemoryStorage {
  const s = createMemoryStorage();
  const points = (DAYS * DAY) / 15_000;
  const ts = Float64Array.from({ length: points }, (_, p) => p * 15_000);
  for (let i = 0; i < SERIES; i++) {
    const vs = Float64Array.from({ length: points }, (_, p) => p * (1 + (i % 7)));
    s.load([{ labels: { __name__: 'x', i: String(i), job: `j${i % 4}` }, timestamps: ts, values: vs }]);
  }
  return s;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

/** Lateness (ms) of a 5 ms timer chain on this thread while `fn` runs. */
async function timerLateness<T>(fn: () => Promise<T>): Promise<{ value: T; late: number[]; ms: number }> {
  const late: number[] = [];
  let expected = performance.now() + 5;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = performance.now();
    late.push(Math.max(0, now - expected));
    expected = now + 5;
    timer = setTimeout(tick, 5);
  };
  timer = setTimeout(tick, 5);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    // A query that never yields to timers (an in-memory store answers in microtasks) delays the
    // pending tick until now.
    late.push(Math.max(0, performance.now() - expected));
    return { value, late, ms };
  } finally {
    clearTimeout(timer);
  }
}

const range = (e: Engine, s: Queryable) => e.rangeQuery(s, QUERY, 0, DAYS * DAY, STEP);

/** A Queryable whose selects take `delayMs`, honouring the signal. */
function slow(inner: Queryable, delayMs: number): Queryable {
  return {
    select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesSamples[]> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve(inner.select(matchers, hints, signal)), delayMs);
        signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      });
    },
    labelNames: (...a) => inner.labelNames(...a),
    labelValues: (...a) => inner.labelValues(...a),
  } as Queryable;
}

const s = storage();
const pool = createEvaluationPool({ size: 2 });
const pooled = createEngine({ pool });
const local = createEngine();
// Warm up both workers and the JIT on both sides.
await Promise.all([range(pooled, s), range(pooled, s)]);
await range(local, s);

interface Row {
  name: string;
  wall: number[];
  p50: number[];
  p99: number[];
  max: number[];
  /** Process CPU time / wall time: about 2 when both cores went to this process. */
  cpu: number[];
}
const rows: Row[] = [
  { name: 'calling thread, sequential', wall: [], p50: [], p99: [], max: [], cpu: [] },
  { name: 'pool of 2, sequential', wall: [], p50: [], p99: [], max: [], cpu: [] },
  { name: 'pool of 2, both at once', wall: [], p50: [], p99: [], max: [], cpu: [] },
];
const modes = [
  async () => {
    await range(local, s);
    await range(local, s);
  },
  async () => {
    await range(pooled, s);
    await range(pooled, s);
  },
  async () => {
    await Promise.all([range(pooled, s), range(pooled, s)]);
  },
];
for (let r = 0; r < RUNS; r++) {
  for (let m = 0; m < modes.length; m++) {
    const cpu0 = process.cpuUsage();
    const { late, ms } = await timerLateness(modes[m] as () => Promise<void>);
    const cpu = process.cpuUsage(cpu0);
    const row = rows[m] as Row;
    row.cpu.push((cpu.user + cpu.system) / 1000 / ms);
    row.wall.push(ms);
    row.p50.push(quantile(late, 0.5));
    row.p99.push(quantile(late, 0.99));
    row.max.push(Math.max(0, ...late));
  }
}

console.log(
  `two range queries, ${SERIES} series × ${(DAYS * DAY) / 15_000} samples, ${QUERY}, ${DAYS * 24}h at ${STEP / 1000}s; medians of ${RUNS} runs`,
);
console.log('mode                          wall ms  cpu/wall   5ms-timer lateness ms: p50     p99      max');
for (const row of rows) {
  console.log(
    `${row.name.padEnd(30)}${median(row.wall).toFixed(0).padStart(7)}${median(row.cpu).toFixed(2).padStart(10)}${median(row.p50).toFixed(1).padStart(27)}${median(row.p99).toFixed(1).padStart(8)}${median(row.max).toFixed(1).padStart(9)}`,
  );
}
const seq = median((rows[1] as Row).wall);
const conc = median((rows[2] as Row).wall);
console.log(`pool: at once / sequential = ${(conc / seq).toFixed(2)} (target ≤ 0.60)`);

// Deadline overrun: how long after its deadline each query is rejected.
// A query that runs far longer than any timeout below (about 10 s alone with 200 series).
const HEAVY = 'sum(max_over_time(rate(x[5m])[1d:1s]))';
const overrun = async (engine: Engine, queryable: Queryable, timeoutMs: number): Promise<[number, string]> => {
  const t0 = performance.now();
  try {
    await engine.instantQuery(queryable, HEAVY, DAY);
    return [Number.NaN, 'finished'];
  } catch (err) {
    return [performance.now() - t0 - timeoutMs, (err as Error).message];
  }
};
console.log('\ndeadline overrun (ms after the timeout the query is rejected), medians and max of runs');
for (const timeoutMs of [500, 1000, 2000]) {
  const cases: [string, () => Promise<[number, string]>][] = [
    ['fetching (slow store)', () => overrun(createEngine({ timeout: timeoutMs, pool }), slow(s, 10_000), timeoutMs)],
    ['evaluating in a worker', () => overrun(createEngine({ timeout: timeoutMs, pool }), s, timeoutMs)],
    ['evaluating on the calling thread', () => overrun(createEngine({ timeout: timeoutMs }), s, timeoutMs)],
  ];
  for (const [name, run] of cases) {
    const xs: number[] = [];
    let message = '';
    for (let r = 0; r < RUNS; r++) {
      const [ms, msg] = await run();
      xs.push(ms);
      message = msg;
    }
    console.log(
      `timeout ${String(timeoutMs).padStart(4)} ms, ${name.padEnd(34)} median ${median(xs).toFixed(1).padStart(6)}  max ${Math.max(
        ...xs,
      )
        .toFixed(1)
        .padStart(6)}  "${message}"`,
    );
  }
}
await pool.close();
