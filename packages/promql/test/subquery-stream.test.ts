/**
 * Streamed subqueries (evaluator.ts, `subqueryStream`): a subquery whose inner series each come
 * from one input series is made one series at a time. Every answer, annotation and
 * `--query.max-samples` decision must equal evaluating the inner expression for all series at
 * once; this compares the two ways over data with gaps, stale markers, counter resets, NaN and
 * native histograms, as range and instant queries.
 */
import { createRandom } from '@thanos-ts/testing';
import { STALE_NAN } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { type EvaluateInput, evaluate } from '../src/engine/evaluate.js';
import { seriesLocalSelector } from '../src/engine/evaluator.js';
import { fetchSelects, planSelects } from '../src/engine/planner.js';
import type { Grid } from '../src/engine/types.js';
import { createMemoryStorage, parseExpr as parse } from '../src/index.js';

const MIN = 60_000;

function storage() {
  const s = createMemoryStorage();
  const r = createRandom(7);
  for (let i = 0; i < 12; i++) {
    let v = 0;
    for (let t = 0; t < 240 * MIN; t += 15_000) {
      if (i % 3 === 1 && t > 60 * MIN && t < 80 * MIN) continue; // a gap
      if (r() < 0.01)
        v = 0; // a counter reset
      else v += Math.floor(r() * 10);
      const value = i === 5 && t === 100 * MIN ? STALE_NAN : i === 7 && t === 50 * MIN ? Number.NaN : v;
      s.append({ __name__: i < 8 ? 'c_total' : 'g', i: String(i), job: `j${i % 3}` }, t + (i % 4) * 1000, value);
    }
  }
  // Last in label order, short-lived and dense: its windows hold many raw samples but make few
  // subquery points, which is where sample accounting done per series could drift from whole.
  for (let t = 100 * MIN; t < 110 * MIN; t += 1000) s.append({ __name__: 'c_total', i: 'zz', job: 'j9' }, t, t / 1000);
  return s;
}

async function run(query: string, grid: Grid, instant: boolean, stream: boolean, maxSamples = 50_000_000) {
  const expr = parse(query);
  const end = grid.start + (grid.n - 1) * grid.step;
  const times = { start: grid.start, end, step: instant ? 0 : grid.step, lookbackDelta: 5 * MIN };
  const plan = planSelects(expr, { ...times, noStepSubqueryInterval: MIN, queryStart: grid.start, queryEnd: end });
  const input: EvaluateInput = {
    expr,
    grid,
    instant,
    data: await fetchSelects(data, plan, undefined),
    infoSelectors: new Map(),
    lookbackDelta: 5 * MIN,
    maxSamples,
    noStepSubqueryInterval: MIN,
    deadline: Date.now() + 60_000,
    streamSubqueries: stream,
  };
  try {
    const r = evaluate(input);
    return { ...r, warnings: [...r.warnings].sort(), infos: [...r.infos].sort() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const data = storage();

const LOCAL = [
  'max_over_time(rate(c_total[5m])[1h:15s])',
  'min_over_time(rate(c_total[5m])[30m:1m] offset 10m)',
  'quantile_over_time(0.9, (rate(c_total[2m]) * 60)[40m:30s])',
  'avg_over_time((-deriv(g[10m]))[20m:])',
  'sum_over_time(abs(delta(g[5m]))[25m:45s])',
  'max_over_time(max_over_time(rate(c_total[5m])[10m:1m])[1h:2m])',
  'count_over_time((c_total > 100)[30m:1m])',
  'last_over_time((g >= bool 50)[10m:1m])',
  'stddev_over_time(round(irate(c_total[1m]), 0.5)[15m:15s])',
  'rate(c_total[1h:1m])',
  'max_over_time(rate(c_total[5m] @ 7200)[30m:1m])',
  'max_over_time(rate(rate(c_total[5m])[20m:1m])[30m:1m])',
  'changes(clamp(g, 10, 200)[1h:1m])',
  'sum by (job) (max_over_time(rate(c_total[5m])[45m:10s]))',
];

describe('streamed subqueries answer as whole ones', () => {
  it('finds the one selector of series-local expressions only', () => {
    const local = (q: string) => seriesLocalSelector(parse(q))?.name ?? null;
    expect(local('rate(c_total[5m])')).toBe('c_total');
    expect(local('2 * abs(g)')).toBe('g');
    for (const q of [
      'sum(rate(c_total[5m]))',
      'rate(c_total[5m]) / g',
      'label_replace(g, "a", "b", "c", "d")',
      'g and c_total',
      'absent_over_time(g[5m])',
      'histogram_quantile(0.9, g)',
      'g * scalar(c_total)',
      'vector(1)',
      'max_over_time(rate(c_total[5m])[10m:1m])',
    ])
      expect(local(q), q).toBeNull();
  });

  it.each(LOCAL)('%s', async (query) => {
    const grids: [Grid, boolean][] = [
      [{ start: 90 * MIN, step: 5 * MIN, n: 30 }, false],
      [{ start: 61 * MIN + 7000, step: 97_000, n: 50 }, false],
      [{ start: 200 * MIN, step: 1, n: 1 }, true],
    ];
    for (const [grid, instant] of grids) {
      const whole = await run(query, grid, instant, false);
      expect(whole).not.toHaveProperty('error');
      expect(await run(query, grid, instant, true)).toEqual(whole);
    }
  });

  it.each(LOCAL.slice(0, 6))('%s: the same --query.max-samples decision at every limit', async (query) => {
    const grid: Grid = { start: 90 * MIN, step: 5 * MIN, n: 30 };
    // Find the smallest limit the whole evaluation passes, then compare around it.
    let lo = 1;
    let hi = 50_000_000;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ('error' in (await run(query, grid, false, false, mid))) lo = mid + 1;
      else hi = mid;
    }
    for (const limit of [lo - 100, lo - 1, lo, lo + 1, Math.floor(lo / 2)]) {
      const whole = await run(query, grid, false, false, limit);
      expect(await run(query, grid, false, true, limit), `limit ${limit}`).toEqual(whole);
    }
  });
});
