import { isStaleNaN } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { ParseError } from './errors.js';
import { parseMetric, parseSeriesDesc, UnsupportedSeriesError } from './series.js';

/** Renders values as test scripts write them: `_` for omitted, `stale` for staleness markers. */
function show(input: string): string {
  const { labels, values } = parseSeriesDesc(input);
  const vs = values.map((v) => (v.omitted ? '_' : isStaleNaN(v.value) ? 'stale' : String(v.value)));
  return `${labels.toString()} ${vs.join(' ')}`.trimEnd();
}

describe('parseSeriesDesc', () => {
  it.each([
    ['{} 1 2 3', '{} 1 2 3'],
    ['{a="b"} -1 2 3', '{a="b"} -1 2 3'],
    ['my_metric 1 2 3', '{__name__="my_metric"} 1 2 3'],
    ['my_metric{} 1 2 3', '{__name__="my_metric"} 1 2 3'],
    ['my_metric{a="b"} 1 2 3-10x4', '{__name__="my_metric", a="b"} 1 2 3 -7 -17 -27 -37'],
    ['my_metric{a="b"} 1 2 3-0x4', '{__name__="my_metric", a="b"} 1 2 3 3 3 3 3'],
    ['x 1+2x3', '{__name__="x"} 1 3 5 7'],
    ['x 5x2', '{__name__="x"} 5 5 5'],
    ['x 1 _ _x3 2', '{__name__="x"} 1 _ _ _ _ 2'],
    ['x stale 1 stale', '{__name__="x"} stale 1 stale'],
    ['x Inf -Inf NaN', '{__name__="x"} Infinity -Infinity NaN'],
    ['x 1e3 0.5 .25 1_000', '{__name__="x"} 1000 0.5 0.25 1000'],
    ['x 0x3', '{__name__="x"} 0 0 0 0'],
    ['x -1+0.5x2 ', '{__name__="x"} -1 -0.5 0'],
    ['x', '{__name__="x"}'],
    ['{"metric.name", "a b"="c"} 1', '{__name__="metric.name", a b="c"} 1'],
    ['sum{by="x"} 1', '{__name__="sum", by="x"} 1'],
    [
      'http_requests{job="api", group="production"}\t0+10x2',
      '{__name__="http_requests", group="production", job="api"} 0 10 20',
    ],
  ])('%s', (input, want) => {
    expect(show(input)).toBe(want);
  });

  it.each([
    ['x 1 x', '1:5: parse error: unexpected "x" in series values'],
    [
      'x 1x1.5',
      '1:5: parse error: invalid repetition in series values: strconv.ParseUint: parsing "1.5": invalid syntax',
    ],
    ['x foo', '1:3: parse error: unexpected identifier "foo" in series values, expected number or "stale"'],
    ['x 1 * 2', "1:5: parse error: unexpected character in series sequence: '*'"],
    ['{a} 1', '1:3: parse error: unexpected "}" in label set, expected "="'],
    ['{a=1} 1', "1:4: parse error: unexpected character inside braces: '1'"],
  ])('rejects %s', (input, message) => {
    expect(() => parseSeriesDesc(input)).toThrow(ParseError);
    expect(() => parseSeriesDesc(input)).toThrow(message);
  });

  it('reports native histogram samples as unsupported', () => {
    let err: unknown;
    try {
      parseSeriesDesc('h {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedSeriesError);
    expect((err as UnsupportedSeriesError).code).toBe('PROMQL_UNSUPPORTED');
  });
});

describe('parseSeriesDesc limits', () => {
  it('refuses to expand beyond MAX_SERIES_DESC_VALUES instead of exhausting memory', () => {
    expect(() => parseSeriesDesc('x 0+1x1000000')).toThrow('too many values in series description');
    expect(() => parseSeriesDesc('x _x99999999999')).toThrow('too many values in series description');
    expect(parseSeriesDesc('x 0+1x9999').values).toHaveLength(10_000);
  });
});

describe('parseMetric', () => {
  it.each([
    ['foo', '{__name__="foo"}'],
    ['foo{a="b", c="d"}', '{__name__="foo", a="b", c="d"}'],
    ['{"my.metric", "x y"="z"}', '{__name__="my.metric", x y="z"}'],
    ['{}', '{}'],
    ['', '{}'],
  ])('%s', (input, want) => {
    expect(parseMetric(input).toString()).toBe(want);
  });

  it('rejects values and operators after the metric', () => {
    expect(() => parseMetric('foo 1')).toThrow('1:5: parse error: unexpected number "1"');
    expect(() => parseMetric('foo{a=~"b"}')).toThrow('1:6: parse error: unexpected <op:=~> in label set, expected "="');
  });
});
