import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Labels, type Queryable, STALE_NAN } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import {
  createEngine,
  createMemoryStorage,
  QueryCanceledError,
  QueryTimeoutError,
  runScript,
  TooManyPointsError,
  TooManySamplesError,
} from '../src/index.js';

const scriptsDir = join(dirname(fileURLToPath(import.meta.url)), 'scripts');

describe('engine scripts (promqltest format)', () => {
  for (const file of readdirSync(scriptsDir).filter((f) => f.endsWith('.test'))) {
    it(file, async () => {
      const r = await runScript(readFileSync(join(scriptsDir, file), 'utf8'));
      expect(r.error).toBeUndefined();
      expect(r.evals.filter((e) => !e.passed)).toEqual([]);
      expect(r.passed).toBeGreaterThan(0);
    });
  }
});

function counterStorage(series: number, points: number) {
  const s = createMemoryStorage();
  for (let i = 0; i < series; i++) {
    for (let p = 0; p < points; p++) s.append({ __name__: 'c_total', i: String(i) }, p * 15_000, p * (i + 1));
  }
  return s;
}

describe('engine API', () => {
  const engine = createEngine();

  it('returns typed results for instant and range queries', async () => {
    const s = counterStorage(2, 41);
    const v = await engine.instantQuery(s, 'c_total', 600_000);
    expect(v.result.type).toBe('vector');
    if (v.result.type !== 'vector') return;
    expect(v.result.samples.map((x) => [x.metric.get('i'), x.f, x.t])).toEqual([
      ['0', 40, 600_000],
      ['1', 80, 600_000],
    ]);
    const sc = await engine.instantQuery(s, '1 + 2', 0);
    expect(sc.result).toEqual({ type: 'scalar', t: 0, v: 3 });
    const str = await engine.instantQuery(s, '"hello"', 5);
    expect(str.result).toEqual({ type: 'string', t: 5, v: 'hello' });
    const m = await engine.instantQuery(s, 'c_total{i="0"}[1m]', 600_000);
    expect(m.result.type).toBe('matrix');
    if (m.result.type === 'matrix')
      expect(Array.from(m.result.series[0]?.timestamps ?? [])).toEqual([555_000, 570_000, 585_000, 600_000]);
    const r = await engine.rangeQuery(s, 'sum(rate(c_total[1m]))', 60_000, 600_000, 30_000);
    expect(r.result.type).toBe('matrix');
    if (r.result.type !== 'matrix') return;
    expect(r.result.series).toHaveLength(1);
    expect(r.result.series[0]?.timestamps.length).toBe(19);
    for (const v of r.result.series[0]?.values ?? []) expect(v).toBeCloseTo(3 / 15, 10);
  });

  it('rejects range queries over range vectors with Prometheus wording', async () => {
    await expect(engine.rangeQuery(createMemoryStorage(), 'x[5m]', 0, 60_000, 1000)).rejects.toThrow(
      'invalid expression type "range vector" for range query, must be Scalar or instant Vector',
    );
  });

  it('limits points per series to 11,000', async () => {
    const q = engine.rangeQuery(createMemoryStorage(), 'up', 0, 11_001_000, 1000);
    await expect(q).rejects.toBeInstanceOf(TooManyPointsError);
    await expect(q).rejects.toThrow(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
    await expect(engine.rangeQuery(createMemoryStorage(), 'up', 0, 11_000_000, 1000)).resolves.toBeDefined();
    // Like Go's duration division, a partial last step does not count.
    await expect(engine.rangeQuery(createMemoryStorage(), 'up', 0, 11_000_999, 1000)).resolves.toBeDefined();
  });

  it('fails queries that would hold more than maxSamples', async () => {
    const small = createEngine({ maxSamples: 100 });
    const s = counterStorage(10, 41);
    const q = small.rangeQuery(s, 'c_total', 0, 600_000, 15_000);
    await expect(q).rejects.toBeInstanceOf(TooManySamplesError);
    await expect(q).rejects.toThrow('query processing would load too many samples into memory in query execution');
    await expect(small.instantQuery(s, 'sum(c_total)', 600_000)).resolves.toBeDefined();
  });

  it('honours AbortSignal and the timeout while fetching', async () => {
    const never: Queryable = {
      select: () => new Promise(() => {}),
      labelNames: async () => [],
      labelValues: async () => [],
    };
    const ac = new AbortController();
    const pending = engine.instantQuery(never, 'up', 0, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(QueryCanceledError);
    const quick = createEngine({ timeout: 20 });
    await expect(quick.instantQuery(never, 'up', 0)).rejects.toBeInstanceOf(QueryTimeoutError);
  });

  it('fetches identical selectors once', async () => {
    const s = counterStorage(2, 41);
    let calls = 0;
    const counting: Queryable = {
      select: (m, h, sig) => {
        calls++;
        return s.select(m, h, sig);
      },
      labelNames: (m, h) => s.labelNames(m, h),
      labelValues: (n, m, h) => s.labelValues(n, m, h),
    };
    const r = await engine.instantQuery(counting, 'c_total / c_total + on(i) c_total offset 1m', 600_000);
    expect(calls).toBe(2);
    expect(r.result.type === 'vector' && r.result.samples.length).toBe(2);
  });

  it('ends series at staleness markers and uses the configured lookback', async () => {
    const s = createMemoryStorage();
    s.append({ __name__: 'g' }, 0, 1);
    s.append({ __name__: 'g' }, 60_000, STALE_NAN);
    s.append({ __name__: 'h' }, 0, 1);
    const short = createEngine({ lookbackDelta: 30_000 });
    const at = async (e: typeof engine, q: string, t: number) => {
      const r = await e.instantQuery(s, q, t);
      return r.result.type === 'vector' ? r.result.samples.length : -1;
    };
    expect(await at(engine, 'g', 59_999)).toBe(1);
    expect(await at(engine, 'g', 60_000)).toBe(0);
    expect(await at(engine, 'h', 60_000)).toBe(1);
    expect(await at(short, 'h', 30_000)).toBe(0);
    expect(await at(short, 'h', 29_999)).toBe(1);
  });
});

describe('in-memory storage', () => {
  it('returns series sorted by labels with samples sorted by time, within the hinted range', async () => {
    const s = createMemoryStorage();
    s.append(Labels.from({ __name__: 'm', b: '2' }), 20, 2);
    s.append(Labels.from({ __name__: 'm', a: '1' }), 30, 3);
    s.append(Labels.from({ __name__: 'm', b: '2' }), 10, 1);
    s.load([{ labels: { __name__: 'm', a: '1' }, timestamps: [5, 40], values: [0.5, 4] }]);
    const got = await s.select([], { start: 0, end: 35 });
    expect(got.map((x) => x.labels.toString())).toEqual(['{__name__="m", a="1"}', '{__name__="m", b="2"}']);
    expect(Array.from(got[0]?.timestamps ?? [])).toEqual([5, 30]);
    expect(Array.from(got[1]?.values ?? [])).toEqual([1, 2]);
    expect(await s.labelValues('b', [], { start: 0, end: 100 })).toEqual(['2']);
  });
});

describe('limit_ratio sampling hash', () => {
  it('is xxHash64 (seed 0), as Prometheus uses for labels.Hash()', async () => {
    const { xxhash64 } = await import('../src/engine/ratio-sampler.js');
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(xxhash64(enc(''))).toBe(0xef46db3751d8e999n);
    expect(xxhash64(enc('a'))).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64(enc('abc'))).toBe(0x44bc2cf5ad770999n);
    expect(xxhash64(enc('Nobody inspects the spammish repetition'))).toBe(0xfbcea83c8a378bf1n);
  });
});

describe('query planning', () => {
  it('computes each selector read range and Prometheus-style hints', async () => {
    const { planSelects } = await import('../src/engine/planner.js');
    const { parseExpr } = await import('../src/parser/parser.js');
    const plan = planSelects(
      parseExpr('sum by (job) (rate(a[5m] offset 1m)) + max_over_time(b[1h:2m] @ 7200) + sum without (x) (c)'),
      {
        start: 3_600_000,
        end: 7_200_000,
        step: 60_000,
        lookbackDelta: 300_000,
        noStepSubqueryInterval: 60_000,
        queryStart: 3_600_000,
        queryEnd: 7_200_000,
      },
    );
    const byName = Object.fromEntries(
      plan.map((p) => [p.selector.matchers.find((m) => m.name === '__name__')?.value, p.hints]),
    );
    expect(byName.a).toEqual({ start: 3_240_001, end: 7_140_000, step: 60_000, func: 'rate', range: 300_000 });
    // Inside the subquery: evaluated at 7200s only, over (7200s - 1h - lookback, 7200s], subquery step.
    expect(byName.b).toEqual({ start: 3_300_001, end: 7_200_000, step: 120_000, func: 'max_over_time' });
    expect(byName.c).toEqual({
      start: 3_300_001,
      end: 7_200_000,
      step: 60_000,
      func: 'sum',
      grouping: ['x'],
      by: false,
    });
  });
});

describe('counter functions over long windows', () => {
  it('give the same answers from reset prefix sums as sample by sample', async () => {
    const { rate, increase, counterResetPrefix } = await import('../src/engine/functions/rate.js');
    const { Annotations } = await import('../src/engine/annotations.js');
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const n = 2000;
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    let v = 0;
    for (let i = 0; i < n; i++) {
      ts[i] = i * 15_000 + Math.floor(rnd() * 3000);
      v = rnd() < 0.02 ? rnd() * 10 : v + rnd() * 100;
      vs[i] = v;
    }
    const prefix = counterResetPrefix(vs);
    const withPrefix = { annos: new Annotations(), metricName: '', params: new Float64Array(0), resetPrefix: prefix };
    const without = { annos: new Annotations(), metricName: '', params: new Float64Array(0) };
    let compared = 0;
    for (let lo = 0; lo + 100 < n; lo += 37) {
      const hi = lo + 64 + Math.floor(rnd() * 300);
      if (hi > n) break;
      const w = {
        ts,
        vs,
        lo,
        hi,
        rangeStart: (ts[lo] as number) - 1000,
        rangeEnd: (ts[hi - 1] as number) + 1000,
        range: (ts[hi - 1] as number) - (ts[lo] as number) + 2000,
        stepTime: 0,
      };
      for (const fn of [rate, increase]) {
        const slot = new Float64Array(1);
        expect(fn(w, withPrefix, slot)).toBe(true);
        const a = slot[0] as number;
        expect(fn(w, without, slot)).toBe(true);
        const b = slot[0] as number;
        expect(Math.abs(a - b) / Math.abs(b)).toBeLessThan(1e-9);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(50);
  });
});
