import { Labels } from '@thanos-ts/tsdb';
import { CounterResetHint, type FloatHistogram } from '@thanos-ts/tsdb/histogram';
import { describe, expect, it } from 'vitest';
import { createTimeSlice } from '../concurrency/time-slice.js';
import type { EngineValue } from '../query/engine.js';
import { formatJSONFloat, histogramJSON, queryDataJSON, queryDataJSONSliced } from './json.js';

function hist(over: Partial<FloatHistogram>): FloatHistogram {
  return {
    counterResetHint: CounterResetHint.Unknown,
    schema: 0,
    zeroThreshold: 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positiveSpans: [],
    negativeSpans: [],
    positiveBuckets: [],
    negativeBuckets: [],
    ...over,
  };
}

describe('histogram JSON (Prometheus jsonutil.MarshalHistogram)', () => {
  it.each([
    {
      name: 'exponential buckets with a zero bucket, empty buckets left out',
      h: hist({
        count: 11,
        sum: 3.5,
        zeroThreshold: 0.001,
        zeroCount: 2,
        positiveSpans: [{ offset: 0, length: 3 }],
        positiveBuckets: [4, 0, 3],
        negativeSpans: [{ offset: 1, length: 1 }],
        negativeBuckets: [2],
      }),
      want: '{"count":"11","sum":"3.5","buckets":[[1,"-2","-1","2"],[3,"-0.001","0.001","2"],[0,"0.5","1","4"],[0,"2","4","3"]]}',
    },
    {
      name: 'custom buckets: first bucket closed at -Inf, last open to +Inf',
      h: hist({
        schema: -53,
        count: 6,
        sum: 10,
        customValues: [1, 5],
        positiveSpans: [{ offset: 0, length: 3 }],
        positiveBuckets: [1, 2, 3],
      }),
      want: '{"count":"6","sum":"10","buckets":[[3,"-Inf","1","1"],[0,"1","5","2"],[0,"5","+Inf","3"]]}',
    },
    { name: 'no buckets', h: hist({ count: 0, sum: 0 }), want: '{"count":"0","sum":"0"}' },
  ])('$name', ({ h, want }) => {
    expect(histogramJSON(h)).toBe(want);
    expect(() => JSON.parse(want)).not.toThrow();
  });

  it('writes "histogram" for vector elements and "histograms" next to "values" in matrices', () => {
    const h = hist({ count: 1, sum: 2, positiveSpans: [{ offset: 1, length: 1 }], positiveBuckets: [1] });
    const metric = Labels.from([['__name__', 'x']]);
    const vector = { type: 'vector', samples: [{ metric, t: 1500, f: 0, h }] } as unknown as EngineValue;
    expect(queryDataJSON(vector).toString()).toBe(
      '{"resultType":"vector","result":[{"metric":{"__name__":"x"},"histogram":[1.500,{"count":"1","sum":"2","buckets":[[0,"1","2","1"]]}]}]}',
    );
    const matrix = {
      type: 'matrix',
      series: [
        {
          metric,
          timestamps: Float64Array.of(1000),
          values: Float64Array.of(7),
          histograms: { timestamps: Float64Array.of(2000), values: [h] },
        },
        {
          metric: Labels.from([['a', 'b']]),
          timestamps: new Float64Array(0),
          values: new Float64Array(0),
          histograms: { timestamps: Float64Array.of(3000), values: [h] },
        },
      ],
    } as unknown as EngineValue;
    expect(JSON.parse(queryDataJSON(matrix).toString())).toEqual({
      resultType: 'matrix',
      result: [
        {
          metric: { __name__: 'x' },
          values: [[1, '7']],
          histograms: [[2, { count: '1', sum: '2', buckets: [[0, '1', '2', '1']] }]],
        },
        { metric: { a: 'b' }, histograms: [[3, { count: '1', sum: '2', buckets: [[0, '1', '2', '1']] }]] },
      ],
    });
  });

  it.each([
    [1e-7, '1e-07'],
    [0.000001, '0.000001'],
    [123.5, '123.5'],
    [1e21, '1e+21'],
    [Number.NaN, 'NaN'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
  ])('formats sample floats as jsonutil.MarshalFloat: %d → %s', (v, want) => {
    expect(formatJSONFloat(v)).toBe(want);
  });
});

describe('a large answer is encoded a slice at a time', () => {
  // Three series of 20,000 points (more than one pause's worth each), one with histograms, and
  // odd values and timestamps: the sliced writer must join its runs exactly as one run would.
  const points = 20_000;
  const column = (f: (i: number) => number) => Float64Array.from({ length: points }, (_, i) => f(i));
  const matrix = {
    type: 'matrix',
    series: [0, 1, 2].map((k) => ({
      metric: Labels.from({ __name__: 'x', k: String(k) }),
      timestamps: column((i) => -5_000 + i * 1_001 + k),
      values: column((i) => (i % 97 === 0 ? Number.NaN : (i - 10_000) * 1e-9 * (k + 1))),
      ...(k === 1
        ? {
            histograms: {
              timestamps: column((i) => i * 1000),
              values: Array.from({ length: points }, (_, i) => hist({ count: i, sum: i / 3 })),
            },
          }
        : {}),
    })),
  } as unknown as EngineValue;
  const vector = {
    type: 'vector',
    samples: Array.from({ length: 20_000 }, (_, i) => ({ metric: Labels.from({ i: String(i) }), t: i, f: i / 7 })),
  } as unknown as EngineValue;

  it.each([
    ['matrix', matrix],
    ['vector', vector],
  ])('writes the same bytes as the one-run encoder (%s)', async (_, v) => {
    const sliced = await queryDataJSONSliced(v, { a: 1 }, createTimeSlice(0));
    expect(sliced.equals(queryDataJSON(v, { a: 1 }))).toBe(true);
    expect(() => JSON.parse(sliced.toString())).not.toThrow();
  });

  it('lets the event loop run while it encodes', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('event loop'));
    await queryDataJSONSliced(matrix, undefined, createTimeSlice(0));
    order.push('encoded');
    // Without a pause the encoding would end within the current turn, before the callback.
    expect(order).toEqual(['event loop', 'encoded']);
  });

  it('stops once the client has gone', async () => {
    const gone = new AbortController();
    setImmediate(() => gone.abort());
    const partial = await queryDataJSONSliced(matrix, undefined, createTimeSlice(0), gone.signal);
    expect(partial.length).toBeLessThan(queryDataJSON(matrix).length / 2);
  });
});
