import { Labels } from '@thanos-ts/tsdb';
import {
  addFloatHistograms,
  CounterResetHint,
  copyToSchema,
  detectFloatHistogramReset,
  type FloatHistogram,
  IncompatibleSchemaError,
  subFloatHistograms,
} from '@thanos-ts/tsdb/histogram';
import { describe, expect, it } from 'vitest';
import { createEngine, createMemoryStorage } from '../src/index.js';
import { parseHistogramLiteral } from '../src/promqltest/histogram-literal.js';

const h = (body: string): FloatHistogram => parseHistogramLiteral(body).h;

describe('float histogram arithmetic', () => {
  it.each([
    {
      name: 'same layout',
      a: 'schema:0 count:4 sum:5 buckets:[1 2 1]',
      b: 'schema:0 count:2 sum:1 buckets:[1 1]',
      want: { count: 6, sum: 6, schema: 0, buckets: [2, 3, 1] },
    },
    {
      name: 'lower schema wins (buckets 1,2 of schema 1 merge into bucket 1 of schema 0)',
      a: 'schema:1 count:3 sum:3 offset:1 buckets:[1 2]',
      b: 'schema:0 count:1 sum:1 offset:1 buckets:[1]',
      want: { count: 4, sum: 4, schema: 0, buckets: [4] },
    },
  ])('adds: $name', ({ a, b, want }) => {
    const r = addFloatHistograms(h(a), h(b));
    expect(r.h.count).toBe(want.count);
    expect(r.h.sum).toBe(want.sum);
    expect(r.h.schema).toBe(want.schema);
    expect(r.h.positiveBuckets).toEqual(want.buckets);
  });

  it('maps custom buckets with different bounds onto their intersection', () => {
    const r = addFloatHistograms(
      h('schema:-53 count:3 sum:3 custom_values:[1 2] buckets:[1 1 1]'),
      h('schema:-53 count:2 sum:2 custom_values:[2] buckets:[1 1]'),
    );
    expect(r.nhcbBoundsReconciled).toBe(true);
    expect(r.h.customValues).toEqual([2]);
    expect(r.h.positiveBuckets).toEqual([3, 2]);
  });

  it('refuses to mix exponential and custom buckets', () => {
    expect(() =>
      addFloatHistograms(
        h('schema:0 count:1 sum:1 buckets:[1]'),
        h('schema:-53 count:1 sum:1 custom_values:[1] buckets:[1]'),
      ),
    ).toThrow(IncompatibleSchemaError);
  });

  it('flags colliding counter reset hints and leaves the result unknown', () => {
    const a = h('count:1 sum:1 buckets:[1] counter_reset_hint:reset');
    const r = subFloatHistograms(a, h('count:1 sum:1 buckets:[1] counter_reset_hint:not_reset'));
    expect(r.counterResetCollision).toBe(true);
    expect(r.h.counterResetHint).toBe(CounterResetHint.Unknown);
  });

  it.each([
    { name: 'count went down', prev: 'count:5 sum:5 buckets:[5]', cur: 'count:4 sum:4 buckets:[4]', want: true },
    { name: 'a bucket went down', prev: 'count:5 sum:5 buckets:[3 2]', cur: 'count:6 sum:6 buckets:[6 0]', want: true },
    { name: 'everything grew', prev: 'count:5 sum:5 buckets:[3 2]', cur: 'count:7 sum:7 buckets:[4 3]', want: false },
    {
      name: 'schema went up',
      prev: 'schema:0 count:1 sum:1 buckets:[1]',
      cur: 'schema:1 count:1 sum:1 buckets:[1]',
      want: true,
    },
  ])('detects counter resets: $name', ({ prev, cur, want }) => {
    expect(detectFloatHistogramReset(h(cur), h(prev))).toBe(want);
  });

  it('reduces resolution without touching the original', () => {
    const orig = h('schema:2 count:4 sum:4 offset:1 buckets:[1 1 1 1]');
    const c = copyToSchema(orig, 0);
    expect(c.schema).toBe(0);
    expect(c.positiveSpans).toEqual([{ offset: 1, length: 1 }]);
    expect(c.positiveBuckets).toEqual([4]);
    expect(orig.positiveBuckets).toEqual([1, 1, 1, 1]);
  });
});

describe('engine over native histograms', () => {
  const engine = createEngine();
  const storage = createMemoryStorage();
  const labels = Labels.from([
    ['__name__', 'req_seconds'],
    ['job', 'a'],
  ]);
  for (let i = 0; i <= 10; i++) {
    storage.appendHistogram(labels, i * 60_000, h(`schema:0 count:${4 * i} sum:${2 * i} buckets:[${i} ${2 * i} ${i}]`));
  }

  it('returns histogram samples from selectors and computes native functions', async () => {
    const v = await engine.instantQuery(storage, 'req_seconds', 600_000);
    expect(v.result.type).toBe('vector');
    if (v.result.type !== 'vector') return;
    expect(v.result.samples[0]?.h?.count).toBe(40);
    const q = await engine.instantQuery(storage, 'histogram_quantile(0.5, rate(req_seconds[5m]))', 600_000);
    if (q.result.type !== 'vector') throw new Error('expected a vector');
    // Buckets (0.5,1], (1,2], (2,4] hold 1:2:1 of the observations: the median lies halfway into
    // (1,2], which exponential interpolation puts at 2^0.5.
    expect(q.result.samples[0]?.f).toBeCloseTo(Math.SQRT2, 12);
    const c = await engine.instantQuery(storage, 'histogram_count(increase(req_seconds[5m]))', 600_000);
    if (c.result.type !== 'vector') throw new Error('expected a vector');
    // Four samples apart by 1m inside (5m, 10m] gain 16, extrapolated to the whole 5m window: 20.
    expect(c.result.samples[0]?.f).toBeCloseTo(20, 9);
  });

  it('returns histogram points in range query matrices', async () => {
    const r = await engine.rangeQuery(storage, 'req_seconds * 2', 0, 120_000, 60_000);
    if (r.result.type !== 'matrix') throw new Error('expected a matrix');
    const s = r.result.series[0];
    expect(s?.timestamps.length).toBe(0);
    expect(Array.from(s?.histograms?.timestamps ?? [])).toEqual([0, 60_000, 120_000]);
    expect(s?.histograms?.values.map((x) => x.count)).toEqual([0, 8, 16]);
  });
});

describe('@ end() in range queries', () => {
  it('uses the requested end even when it is not on a step, as Prometheus does', async () => {
    const engine = createEngine();
    const storage = createMemoryStorage();
    for (let i = 0; i <= 100; i++) storage.append({ __name__: 'x' }, i * 1000, i);
    // Steps are 0, 30s, 60s; the requested end is 75s, so `x @ end()` is the sample at 75s.
    const r = await engine.rangeQuery(storage, 'x @ end()', 0, 75_000, 30_000);
    if (r.result.type !== 'matrix') throw new Error('expected a matrix');
    expect(Array.from(r.result.series[0]?.values ?? [])).toEqual([75, 75, 75]);
  });
});

describe('histogram_quantile on a bucket boundary', () => {
  // Since Prometheus 2.46 a quantile ≥ 0.5 is counted from the top bucket down: a rank exactly on
  // the boundary between two populated buckets with an empty one between them answers the lower
  // edge of the upper bucket (Prometheus 3), where 2.42 answered the upper edge of the lower one.
  it.each([
    [0.5, 2],
    [0.25, Math.SQRT1_2],
    [1, 4],
    [0, 0.5],
  ])('φ = %d → %d', async (q, want) => {
    const storage = createMemoryStorage();
    storage.appendHistogram({ __name__: 'h' }, 0, h('schema:0 count:4 sum:6 buckets:[2 0 2]'));
    const r = await createEngine().instantQuery(storage, `histogram_quantile(${q}, h)`, 0);
    expect(r.result.type === 'vector' ? r.result.samples[0]?.f : undefined).toBeCloseTo(want, 12);
  });
});
