import { describe, expect, it } from 'vitest';
import {
  alignSeries,
  alignSeriesAsync,
  parseRangeAnswer,
  parseRangeAnswerAsync,
  parseRangeAnswerOnGridAsync,
} from '../web/query/matrix.js';

const matrix = (result: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ status: 'success', data: { resultType: 'matrix', result }, ...extra });

describe('parseRangeAnswer', () => {
  it.each([
    {
      name: 'values as Number() reads them',
      values: [
        [1700000000, '1'],
        [1700000015.5, '81.24074074074075'],
        [1700000030, '-0.001'],
        [1700000045, '1e+06'],
        [1700000060, '12345678901234567890.5'],
        [1700000075, '0.30000000000000004'],
      ],
    },
    {
      name: 'NaN and infinities',
      values: [
        [1, 'NaN'],
        [2, '+Inf'],
        [3, '-Inf'],
      ],
    },
    { name: 'no samples', values: [] },
  ])('$name', ({ values }) => {
    const metric = { __name__: 'up', 'we"ird': 'a\\"b}]', job: 'x' };
    const r = parseRangeAnswer(matrix([{ metric, values }], { warnings: ['w1'], infos: ['i1'] }));
    expect(r.status).toBe('success');
    expect(r.resultType).toBe('matrix');
    expect(r.warnings).toEqual(['w1']);
    expect(r.infos).toEqual(['i1']);
    expect(r.series).toHaveLength(1);
    expect(r.series[0]?.metric).toEqual(metric);
    const want = values.map(([t, v]) => [t, v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v)]);
    expect([...(r.series[0]?.ts ?? [])].map((t, i) => [t, r.series[0]?.vs[i]])).toEqual(want);
  });

  it('reads many series, histograms as counts, and whitespace', () => {
    const text = JSON.stringify(
      {
        status: 'success',
        data: {
          resultType: 'matrix',
          result: [
            { metric: {}, values: [[10, '2']] },
            { metric: { a: 'b' }, histograms: [[20, { count: '7', sum: '3', buckets: [[0, '0', '1', '7']] }]] },
          ],
        },
      },
      null,
      2,
    );
    const r = parseRangeAnswer(text);
    expect(r.series.map((s) => [s.metric, [...s.ts], [...s.vs]])).toEqual([
      [{}, [10], [2]],
      [{ a: 'b' }, [20], [7]],
    ]);
  });

  it('gives the same answer in slices, pausing between series', async () => {
    const result = Array.from({ length: 50 }, (_, i) => ({ metric: { i: String(i) }, values: [[i, String(i / 3)]] }));
    const text = matrix(result, { warnings: ['w'] });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const sliced = await parseRangeAnswerAsync(text, 0);
    clearInterval(timer);
    expect(sliced).toEqual(parseRangeAnswer(text));
    expect(sliced.series).toHaveLength(50);
    // With a 0 ms slice it paused between series, so the interval got to run.
    expect(ticks).toBeGreaterThan(0);
  });

  it('passes errors through', () => {
    const r = parseRangeAnswer(
      JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:5: parse error' }),
    );
    expect(r).toMatchObject({
      status: 'error',
      errorType: 'bad_data',
      error: 'invalid parameter "query": 1:5: parse error',
    });
  });

  it('rejects text that is not a matrix answer', () => {
    expect(() => parseRangeAnswer('{"status":"success","data":{"result":[{"values":[[1,"2"')).toThrow(SyntaxError);
  });
});

describe('alignSeries', () => {
  it.each([
    {
      name: 'samples on the grid, a gap, infinities as gaps',
      ts: [100, 130, 145, 160],
      vs: [1, 2, Number.POSITIVE_INFINITY, 4],
      want: [1, Number.NaN, 2, Number.NaN, 4],
    },
    {
      name: 'off-grid samples go to the nearest step',
      ts: [101, 119],
      vs: [5, 6],
      want: [5, 6, Number.NaN, Number.NaN, Number.NaN],
    },
    { name: 'samples outside the range are dropped', ts: [40, 175], vs: [1, 2], want: Array(5).fill(Number.NaN) },
  ])('$name', async ({ ts, vs, want }) => {
    const series = [{ metric: {}, ts: Float64Array.from(ts), vs: Float64Array.from(vs) }];
    const range = { startS: 100, endS: 160, stepS: 15 };
    const sync = alignSeries(series, range);
    expect([...sync.xs]).toEqual([100, 115, 130, 145, 160]);
    expect([...(sync.columns[0] ?? [])]).toEqual(want);
    const sliced = await alignSeriesAsync(series, range, 0);
    expect(sliced).toEqual(sync);
  });
});

describe('parseRangeAnswerOnGridAsync', () => {
  const range = { startS: 100, endS: 160, stepS: 15 };
  it.each([
    { name: 'compact JSON', space: undefined },
    { name: 'indented JSON (the general path)', space: 2 },
  ])('equals parse then align: $name', async ({ space }) => {
    const result = [
      {
        metric: { a: '1' },
        values: [
          [100, '1'],
          [130, '2'],
          [145, '+Inf'],
          [160, '4'],
        ],
      },
      {
        metric: { a: '2' },
        values: [
          [101, '5'],
          [119, '6'],
          [40, '9'],
        ],
      },
      { metric: { a: '3' }, histograms: [[115, { count: '7', sum: '3' }]] },
      { metric: { a: '4' }, values: [[100, '1']], histograms: [[160, { count: '8', sum: '3' }]] },
      { metric: { a: '5' }, values: [] },
    ];
    const text = JSON.stringify(
      { status: 'success', data: { resultType: 'matrix', result }, warnings: ['w'] },
      null,
      space,
    );
    const want = alignSeries(parseRangeAnswer(text).series, range);
    const got = await parseRangeAnswerOnGridAsync(text, range, 0);
    expect([...got.aligned.xs]).toEqual([...want.xs]);
    expect(got.aligned.columns.map((c) => [...c])).toEqual(want.columns.map((c) => [...c]));
    expect(got.series.map((x) => x.metric)).toEqual(result.map((x) => x.metric));
    expect(got.series.every((x, i) => x.vs === got.aligned.columns[i])).toBe(true);
    expect(got.warnings).toEqual(['w']);
  });

  it('passes an error answer through', async () => {
    const got = await parseRangeAnswerOnGridAsync(
      JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'boom' }),
      range,
    );
    expect([got.status, got.error, got.series.length]).toEqual(['error', 'boom', 0]);
  });
});
