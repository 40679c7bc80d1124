/**
 * PromQL evaluation in worker threads (`createEvaluationPool`): answers equal in-thread
 * evaluation, and deadlines and cancellation end a query while it evaluates, without blocking the
 * caller's event loop. No timing assertions: the bounds below only catch a query that ignores its
 * deadline altogether; bench/promql/concurrency-pool.ts measures the figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { STALE_NAN } from '@thanos-ts/tsdb';
import { CounterResetHint } from '@thanos-ts/tsdb/histogram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEngine,
  createEvaluationPool,
  createMemoryStorage,
  type EvaluationPool,
  EvaluationPoolClosedError,
  type MemoryStorage,
  QueryCanceledError,
  type QueryResult,
  QueryTimeoutError,
  TooManySamplesError,
} from '../src/index.js';
import { parseHistogramLiteral } from '../src/promqltest/histogram-literal.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoDir = join(packageDir, '..', '..');

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Counters and gauges over two hours at 15 s, with a counter reset and a staleness gap. */
function smallStorage(): MemoryStorage {
  const s = createMemoryStorage();
  for (let i = 0; i < 12; i++) {
    const ts: number[] = [];
    const cs: number[] = [];
    const gs: number[] = [];
    for (let p = 0; p < 480; p++) {
      if (i === 3 && p > 200 && p < 260) continue;
      ts.push(p * 15_000);
      cs.push(i === 5 && p > 300 ? p - 300 : p * (i + 1));
      gs.push(Math.sin(p / 20 + i) * 10);
    }
    const job = i % 2 === 0 ? 'api' : 'db';
    s.load([
      { labels: { __name__: 'http_requests_total', job, instance: `i${i}` }, timestamps: ts, values: cs },
      { labels: { __name__: 'temperature', job, instance: `i${i}`, unit: 'c😀' }, timestamps: ts, values: gs },
    ]);
  }
  return s;
}

/** `series` counters over one day at `intervalMs` (15 s), for queries that take seconds to evaluate. */
function heavyStorage(series: number, intervalMs = 15_000): MemoryStorage {
  const s = createMemoryStorage();
  const points = DAY / intervalMs;
  const ts = Float64Array.from({ length: points }, (_, p) => p * intervalMs);
  for (let i = 0; i < series; i++) {
    const vs = Float64Array.from({ length: points }, (_, p) => p * (1 + (i % 7)));
    s.load([{ labels: { __name__: 'x', i: String(i) }, timestamps: ts, values: vs }]);
  }
  return s;
}

const HEAVY = 'sum(max_over_time(rate(x[5m])[1d:1s]))';

/** A result as plain data (labels as strings, columns as arrays) for deep equality. */
function plain(r: QueryResult): unknown {
  const v = r.result;
  const base = { warnings: r.warnings, infos: r.infos };
  switch (v.type) {
    case 'scalar':
    case 'string':
      return { ...base, ...v };
    case 'vector':
      return {
        ...base,
        type: v.type,
        samples: v.samples.map((s) => [s.metric.toString(), s.t, s.f, ...(s.h === undefined ? [] : [s.h])]),
      };
    case 'matrix':
      return {
        ...base,
        type: v.type,
        series: v.series.map((s) => [
          s.metric.toString(),
          Array.from(s.timestamps),
          Array.from(s.values),
          ...(s.histograms === undefined ? [] : [Array.from(s.histograms.timestamps), s.histograms.values]),
        ]),
      };
  }
}

/**
 * Native histograms over two hours at 30 s: exponential counters with zero, negative and gapped
 * buckets (one with a counter reset), custom-bucket counters, a gauge histogram, a series that
 * switches between floats and histograms, and a staleness marker.
 */
function histogramStorage(): MemoryStorage {
  const s = createMemoryStorage();
  const h = (body: string) => parseHistogramLiteral(body).h;
  const bounds = [0.1, 0.5, 1];
  for (let p = 0; p < 240; p++) {
    const t = p * 30_000;
    for (let i = 0; i < 4; i++) {
      const n = i === 2 && p > 150 ? p - 150 : p * (i + 1);
      // Two positive spans with a gap: the literal syntax has one span per side.
      s.appendHistogram({ __name__: 'req_seconds', job: i % 2 === 0 ? 'api' : 'db', instance: `i${i}` }, t, {
        counterResetHint: CounterResetHint.Unknown,
        schema: i - 1,
        zeroThreshold: 0.001,
        zeroCount: n,
        count: 9 * n,
        sum: 1.5 * n,
        positiveSpans: [
          { offset: -1, length: 2 },
          { offset: 2, length: 3 },
        ],
        negativeSpans: [{ offset: 0, length: 1 }],
        positiveBuckets: [n, 2 * n, n, 0, n],
        negativeBuckets: [3 * n],
      });
      s.appendHistogram(
        { __name__: 'nhcb_seconds', instance: `i${i}` },
        t,
        h(
          `schema:-53 count:${6 * n} sum:${0.7 * n} custom_values:[${bounds.join(' ')}] buckets:[${n} ${2 * n} ${n} ${2 * n}]`,
        ),
      );
    }
    s.appendHistogram(
      { __name__: 'queue_size' },
      t,
      h(`schema:0 count:${p % 17} sum:${p % 5} buckets:[${p % 17}] counter_reset_hint:gauge`),
    );
    if (p % 40 < 20) s.append({ __name__: 'mixed' }, t, p);
    else s.appendHistogram({ __name__: 'mixed' }, t, h(`schema:1 count:${p} sum:${p} buckets:[${p}]`));
  }
  s.appendHistogram({ __name__: 'queue_size' }, 240 * 30_000, { ...h('schema:0 count:0 sum:0'), sum: STALE_NAN });
  return s;
}

async function outcome(p: Promise<QueryResult>): Promise<unknown> {
  try {
    return plain(await p);
  } catch (err) {
    const e = err as Error & { code?: string };
    return { error: e.constructor.name, code: e.code, message: e.message };
  }
}

/** Runs `fn` while counting the ticks of a 10 ms interval on this thread. */
async function withTicks<T>(fn: () => Promise<T>): Promise<{ ticks: number; ms: number; value: T | Error }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  try {
    const value = await fn().catch((err: Error) => err);
    return { ticks, ms: performance.now() - t0, value };
  } finally {
    clearInterval(timer);
  }
}

describe('evaluation pool: same answers as in-thread evaluation', () => {
  let pool: EvaluationPool;
  const storage = smallStorage();
  beforeAll(() => {
    pool = createEvaluationPool({ size: 2 });
  });
  afterAll(() => pool.close());

  const instant = [
    { name: 'selector', query: 'http_requests_total' },
    { name: 'regex matcher', query: 'temperature{instance=~"i1|i2|i1[01]"}' },
    { name: 'negative regex', query: 'temperature{job!~"a.*"}' },
    { name: 'range vector', query: 'http_requests_total{instance="i3"}[5m]' },
    { name: 'rate with reset', query: 'rate(http_requests_total[5m])' },
    { name: 'aggregation by', query: 'sum by (job) (rate(http_requests_total[10m]))' },
    { name: 'topk', query: 'topk(3, temperature)' },
    { name: 'binary on', query: 'http_requests_total / on(instance, job) group_left temperature' },
    { name: 'same selector twice', query: 'temperature - temperature offset 0' },
    { name: 'subquery', query: 'max_over_time(rate(http_requests_total[2m])[30m:1m])' },
    { name: 'scalar', query: 'scalar(sum(temperature)) * 2' },
    { name: 'string', query: '"hello"' },
    { name: 'absent', query: 'absent(nope{job="x"})' },
    { name: 'label_replace', query: 'label_replace(temperature, "u", "$1", "unit", "(.*)")' },
    { name: 'info annotation', query: 'rate(temperature[5m])' },
    { name: 'warning annotation', query: 'quantile(2, temperature)' },
    { name: 'many-to-many error', query: 'temperature + on(job) temperature' },
    { name: 'empty', query: 'nothing_here' },
    { name: 'at modifier', query: 'temperature @ 600' },
    { name: 'info function', query: 'info(temperature)' },
  ];
  it.each(instant)('instant: $name', async ({ query }) => {
    const local = createEngine({ enableExperimentalFunctions: true });
    const pooled = createEngine({ enableExperimentalFunctions: true, pool });
    const want = await outcome(local.instantQuery(storage, query, 3_600_000));
    expect(await outcome(pooled.instantQuery(storage, query, 3_600_000))).toEqual(want);
  });

  it.each(instant.filter((c) => !c.query.endsWith(']') && c.name !== 'string'))('range: $name', async ({ query }) => {
    const local = createEngine({ enableExperimentalFunctions: true });
    const pooled = createEngine({ enableExperimentalFunctions: true, pool });
    const want = await outcome(local.rangeQuery(storage, query, 600_000, 7_000_000, 30_000));
    expect(await outcome(pooled.rangeQuery(storage, query, 600_000, 7_000_000, 30_000))).toEqual(want);
  });

  const histogramStore = histogramStorage();
  const histogramQueries = [
    { name: 'histogram selector', query: 'req_seconds' },
    { name: 'histogram range vector (matrix result)', query: 'nhcb_seconds[5m]' },
    { name: 'mixed floats and histograms matrix', query: 'mixed[30m]' },
    { name: 'rate', query: 'rate(req_seconds[5m])' },
    { name: 'histogram_quantile', query: 'histogram_quantile(0.9, rate(req_seconds[5m]))' },
    {
      name: 'histogram_quantile of sum of rate',
      query: 'histogram_quantile(0.5, sum by (job) (rate(req_seconds[5m])))',
    },
    { name: 'sum of histograms', query: 'sum(req_seconds)' },
    { name: 'sum of custom buckets', query: 'sum(rate(nhcb_seconds[10m]))' },
    {
      name: 'histogram_count and fraction',
      query: 'histogram_count(req_seconds) + histogram_fraction(0, 0.5, req_seconds)',
    },
    { name: 'avg_over_time of a gauge histogram', query: 'avg_over_time(queue_size[10m])' },
    { name: 'histogram times scalar', query: 'queue_size * 2' },
    { name: 'mixed series increase', query: 'increase(mixed[10m])' },
  ];
  it.each(histogramQueries)('histograms, instant: $name', async ({ query }) => {
    const local = createEngine();
    const pooled = createEngine({ pool });
    for (const t of [3_600_000, 7_200_000]) {
      const want = await outcome(local.instantQuery(histogramStore, query, t));
      expect(await outcome(pooled.instantQuery(histogramStore, query, t))).toEqual(want);
    }
  });

  it.each(histogramQueries.filter((c) => !c.query.endsWith(']')))('histograms, range: $name', async ({ query }) => {
    const local = createEngine();
    const pooled = createEngine({ pool });
    const want = await outcome(local.rangeQuery(histogramStore, query, 0, 7_500_000, 60_000));
    expect(want).toMatchObject({ type: 'matrix' });
    expect(await outcome(pooled.rangeQuery(histogramStore, query, 0, 7_500_000, 60_000))).toEqual(want);
  });

  it('too many samples is the same error', async () => {
    const query = 'sum(http_requests_total)';
    const want = await outcome(createEngine({ maxSamples: 100 }).rangeQuery(storage, query, 0, 7_000_000, 15_000));
    expect(want).toMatchObject({ error: TooManySamplesError.name });
    const got = await outcome(createEngine({ maxSamples: 100, pool }).rangeQuery(storage, query, 0, 7_000_000, 15_000));
    expect(got).toEqual(want);
  });

  it('leaves the fetched samples of the storage intact (they are copied, not moved)', async () => {
    const pooled = createEngine({ pool });
    const before = plain(await createEngine().instantQuery(storage, 'temperature[1h]', 3_600_000));
    await pooled.instantQuery(storage, 'temperature[1h]', 3_600_000);
    expect(plain(await createEngine().instantQuery(storage, 'temperature[1h]', 3_600_000))).toEqual(before);
  });
});

/**
 * Starts every worker (from TypeScript source that can take over a second) and runs the
 * storage's and the packing code's first-use work, so a timed query spends its time evaluating.
 */
async function warmUp(pool: EvaluationPool, storage: MemoryStorage): Promise<void> {
  const engine = createEngine({ pool });
  await Promise.all(Array.from({ length: pool.size }, () => engine.instantQuery(storage, 'count(x)', DAY)));
}

/**
 * A sum of enough copies of HEAVY's shape that evaluating it over `storage` takes at least `minMs`
 * on this machine, measured with one copy in `pool`. The deadline tests need evaluation to outlast
 * their deadlines by a wide margin however fast the engine or the machine is: a fixed query that
 * once took three times its timeout stops doing so when the engine gets faster.
 */
async function slowerThan(pool: EvaluationPool, storage: MemoryStorage, minMs: number): Promise<string> {
  const began = performance.now();
  await createEngine({ pool }).instantQuery(storage, HEAVY, DAY);
  const copies = Math.max(2, Math.ceil(minMs / Math.max(performance.now() - began, 1)));
  // Different windows per copy, so no copy's answer could be reused for another.
  return Array.from({ length: copies }, (_, i) => `sum(max_over_time(rate(x[${5 + i}m])[1d:1s]))`).join(' + ');
}

describe('evaluation pool: deadlines and cancellation', () => {
  const storage = heavyStorage(300);
  // The deadline tests want a query whose evaluation takes far longer than its timeout while its
  // data is quick to prepare, so that on a quiet machine and a loaded one alike the deadline falls
  // in evaluation: a sample a minute is a quarter of the data to fetch and pack per selector, with
  // the same number of rate windows (1d of 1 s subquery steps × 300 series) to evaluate.
  const sparse = heavyStorage(300, 60_000);

  it('times out a heavy query inside evaluation while the event loop keeps ticking', async () => {
    await using pool = createEvaluationPool({ size: 1 });
    // 3 s: long enough that preparing the data (fetch, packing) ends before the deadline even when
    // the test machine is loaded, so the deadline falls in evaluation.
    const engine = createEngine({ timeout: 3000, pool });
    await warmUp(pool, sparse);
    const query = await slowerThan(pool, sparse, 10_000);
    const { ticks, ms, value } = await withTicks(() => engine.instantQuery(sparse, query, DAY));
    expect(value).toBeInstanceOf(QueryTimeoutError);
    expect((value as Error).message).toBe('query timed out in expression evaluation');
    expect((value as QueryTimeoutError).code).toBe('PROMQL_TIMEOUT');
    // The deadline ends the query, not the query's own end (which is far later).
    expect(ms).toBeLessThan(9000);
    // Evaluation ran elsewhere: a blocked loop would tick once or twice at most.
    expect(ticks).toBeGreaterThan(20);
  });

  it('cancels through the AbortSignal and frees the worker for the next query', async () => {
    await using pool = createEvaluationPool({ size: 1 });
    const engine = createEngine({ pool });
    await warmUp(pool, storage);
    const query = await slowerThan(pool, storage, 5_000);
    const ac = new AbortController();
    // Late enough that the query is in a worker even on a loaded machine, long before it ends.
    setTimeout(() => ac.abort(), 1000);
    const { value } = await withTicks(() => engine.instantQuery(storage, query, DAY, { signal: ac.signal }));
    expect(value).toBeInstanceOf(QueryCanceledError);
    expect((value as Error).message).toBe('query was canceled in expression evaluation');
    const next = await engine.instantQuery(storage, 'count(x)', DAY);
    expect(next.result).toMatchObject({ type: 'vector', samples: [{ f: 300 }] });
  });

  it('terminates and replaces a worker that does not stop within the grace period', async () => {
    await using pool = createEvaluationPool({ size: 1, graceMs: 0 });
    const engine = createEngine({ pool });
    await warmUp(pool, storage);
    const query = await slowerThan(pool, storage, 3_000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await expect(engine.instantQuery(storage, query, DAY, { signal: ac.signal })).rejects.toBeInstanceOf(
      QueryCanceledError,
    );
    const next = await engine.instantQuery(storage, 'count(x)', DAY);
    expect(next.result).toMatchObject({ type: 'vector', samples: [{ f: 300 }] });
  });

  it('a pool of 2 evaluates two queries at once; a pool of 1 queues the second', async () => {
    // The first query may run 3 s; the second, sent 300 ms later, 1.5 s. A query that got a worker
    // ends "in expression evaluation", one still waiting for a worker "in query queue". The second
    // times out well before the first frees its worker, so neither answer depends on timer order.
    const envs = async (size: number): Promise<string[]> => {
      await using pool = createEvaluationPool({ size });
      const first = createEngine({ timeout: 3000, pool });
      const second = createEngine({ timeout: 1500, pool });
      await warmUp(pool, sparse);
      // Two at once on two cores can each take twice as long as alone, or on one core the same.
      const query = await slowerThan(pool, sparse, 10_000);
      const results = await Promise.allSettled([
        first.instantQuery(sparse, query, DAY),
        delay(300).then(() => second.instantQuery(sparse, query, DAY)),
      ]);
      return results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'));
    };
    expect(await envs(2)).toEqual([
      'query timed out in expression evaluation',
      'query timed out in expression evaluation',
    ]);
    expect(await envs(1)).toEqual(['query timed out in expression evaluation', 'query timed out in query queue']);
  });

  it('evaluates at most maxHeavyRunning heavy queries at once; a light one does not wait', async () => {
    // Instant queries over `sparse` weigh their fetched series times their steps: count(x) 300,
    // a sum of copies of HEAVY 300 × 86,400 through its [1d:1s] subquery. The second heavy query
    // waits for the first and times out in the queue; the light one, sent while both are there,
    // is answered before the first ends.
    await using pool = createEvaluationPool({ size: 3, maxHeavyRunning: 1, heavySeriesSteps: 1_000_000 });
    const first = createEngine({ timeout: 3000, pool });
    const second = createEngine({ timeout: 1500, pool });
    await warmUp(pool, sparse);
    const query = await slowerThan(pool, sparse, 10_000);
    const order: string[] = [];
    let queuedAfterSecond = -1;
    const light = delay(600).then(async () => {
      const queued = pool.queued;
      const r = await createEngine({ pool }).instantQuery(sparse, 'count(x)', DAY);
      order.push('light');
      return { queued, r };
    });
    const results = await Promise.allSettled([
      first.instantQuery(sparse, query, DAY).finally(() => order.push('first')),
      delay(300).then(() =>
        second.instantQuery(sparse, query, DAY).finally(() => {
          queuedAfterSecond = pool.queued;
        }),
      ),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual([
      'query timed out in expression evaluation',
      'query timed out in query queue',
    ]);
    // The timed-out one left the line at once, while the first was still running.
    expect(queuedAfterSecond).toBe(0);
    const { queued, r } = await light;
    expect(queued).toBe(1);
    expect(r.result).toMatchObject({ type: 'vector', samples: [{ f: 300 }] });
    expect(order).toEqual(['light', 'first']);
    expect(pool.queued).toBe(0);
    // The slot is free again: the next heavy query starts (and is ended by its own deadline).
    const third = createEngine({ timeout: 500, pool });
    await expect(third.instantQuery(sparse, query, DAY)).rejects.toThrow('query timed out in expression evaluation');
  });

  it('an aborted signal is rejected before any work', async () => {
    await using pool = createEvaluationPool({ size: 1 });
    const engine = createEngine({ pool });
    await expect(engine.instantQuery(storage, 'count(x)', DAY, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      QueryCanceledError,
    );
  });
});

describe('evaluation pool: lifecycle', () => {
  it('close() is idempotent and later queries are rejected', async () => {
    const pool = createEvaluationPool({ size: 1 });
    const engine = createEngine({ pool });
    const storage = smallStorage();
    expect((await engine.instantQuery(storage, 'count(temperature)', 1_800_000)).result).toMatchObject({
      samples: [{ f: 12 }],
    });
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    await expect(engine.instantQuery(storage, 'count(temperature)', 1_800_000)).rejects.toBeInstanceOf(
      EvaluationPoolClosedError,
    );
  });

  it('rejects a bad size', () => {
    expect(() => createEvaluationPool({ size: 0 })).toThrow(RangeError);
  });
});

/** Runs a script in a fresh Node process that evaluates one query through a pool. */
function runScriptWith(nodeArgs: string[], importPath: string): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'promql-pool-'));
  try {
    const script = join(dir, 'pool.mjs');
    writeFileSync(
      script,
      `import { createEngine, createEvaluationPool, createMemoryStorage } from ${JSON.stringify(importPath)};
const s = createMemoryStorage();
s.load([{ labels: { __name__: 'up', job: 'a' }, timestamps: [0, 15000], values: [1, 1] }]);
const pool = createEvaluationPool({ size: 1 });
const r = await createEngine({ pool }).instantQuery(s, 'sum(up) * 2', 15000);
console.log(JSON.stringify(r.result.samples.map((x) => x.f)));
await pool.close();
`,
    );
    const r = spawnSync(process.execPath, [...nodeArgs, script], { cwd: repoDir, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('evaluation pool: worker entry resolution', () => {
  it('runs from TypeScript source under tsx', () => {
    const src = pathToFileURL(join(packageDir, 'src', 'index.ts')).href;
    const r = runScriptWith(['--import', 'tsx'], src);
    expect(r.out.trim()).toBe('[2]');
    expect(r.status).toBe(0);
  });

  const dist = join(packageDir, 'dist');
  const built = existsSync(join(dist, 'evaluation-worker.js'));
  if (!built) console.warn(`SKIP built-package check: ${dist}/evaluation-worker.js missing (run npm run build)`);
  it.skipIf(!built)('runs from the built package', () => {
    const r = runScriptWith([], pathToFileURL(join(dist, 'index.js')).href);
    expect(r.out.trim()).toBe('[2]');
    expect(r.status).toBe(0);
  });
});
