import { describe, expect, it } from 'vitest';
import { parseExpr } from './parser.js';
import { formatExpr, formatFloat, prettyExpr } from './printer.js';

const ALL = {
  enableExperimentalFunctions: true,
  enableExperimentalDurationExpr: true,
  enableExtendedRangeSelectors: true,
};

/** [input, canonical output]; a single element means the input is already canonical. */
const CASES: [string, string?][] = [
  ['sum by() (task:errors:rate10s{job="s"})', 'sum(task:errors:rate10s{job="s"})'],
  ['sum by(code) (task:errors:rate10s{job="s"})', 'sum by (code) (task:errors:rate10s{job="s"})'],
  ['sum without() (x)', 'sum without () (x)'],
  ['sum(x) by ("foo.bar", b)', 'sum by ("foo.bar", b) (x)'],
  ['topk(5, x)'],
  ['count_values("value", x)'],
  ['a - on() c', 'a - on () c'],
  ['a - on(b) group_left(x, y) c', 'a - on (b) group_left (x, y) c'],
  ['a - on(b) group_left c', 'a - on (b) group_left () c'],
  ['a - ignoring(b) c', 'a - ignoring (b) c'],
  ['a - ignoring() c', 'a - c'],
  ['a - ignoring() group_left c', 'a - ignoring () group_left () c'],
  ['up > bool 0'],
  ['a offset 1m'],
  ['a offset -7m'],
  ['a{c="d"}[5m] offset 1m'],
  ['a[1h:5m] offset 1m'],
  ['a[1h:] @ 100', 'a[1h:] @ 100.000'],
  ['{__name__="a"}'],
  ['{"a.b"}', '{__name__="a.b"}'],
  ['{"a.b", "c d"="e"}', '{"c d"="e",__name__="a.b"}'],
  ['a{b="\\n\\"c\\x01\\u200b"}'],
  ['a @ 10.5', 'a @ 10.500'],
  ['a @ start() offset 1m'],
  ['a anchored'],
  ['a[5m] smoothed @ end()'],
  ['1e21', '1000000000000000000000'],
  ['1e-7', '0.0000001'],
  ['123456789012345678901234567890', '123456789012345680000000000000'],
  ['0.1'],
  ['-0.5'],
  ['+Inf'],
  ['NaN'],
  ['-Inf'],
  ['5m'],
  ['-1h30m'],
  ['1.5'],
  ['foo[90s]', 'foo[1m30s]'],
  ['foo[1y]'],
  ['foo[8d]'],
  ['foo[14d]', 'foo[2w]'],
  ['foo[4.018]', 'foo[4s18ms]'],
  ['foo[1ms]'],
  ['"a\\"b\'c"'],
  ["'a\"b'", '"a\\"b"'],
  ['`a\\b`', '"a\\\\b"'],
  ['-foo'],
  ['-(1 + 2)'],
  ['(foo)'],
  ['foo[5m + 1m:step() * 2] offset (-step() / 2)'],
  ['foo offset max(1m, step())'],
  ['foo[-(10s-5s)+20s]', 'foo[-(10s - 5s) + 20s]'],
  [
    'sum by (job) (rate(http_requests_total{job=~"api.*"}[5m])) / ignoring(code) group_left sum(rate(x[5m]))',
    'sum by (job) (rate(http_requests_total{job=~"api.*"}[5m])) / ignoring (code) group_left () sum(rate(x[5m]))',
  ],
  ['label_replace(up, "a", "$1", "b", "(.*)")'],
];

describe('formatExpr prints like Prometheus String()', () => {
  it.each(CASES)('%s', (input, output) => {
    const printed = formatExpr(parseExpr(input, ALL));
    expect(printed).toBe(output ?? input);
    // The canonical form parses back to the same canonical form.
    expect(formatExpr(parseExpr(printed, ALL))).toBe(printed);
  });
});

describe('formatFloat', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [1.5, '1.5'],
    [1e21, '1000000000000000000000'],
    [1.25e-8, '0.0000000125'],
    [-2.5e22, '-25000000000000000000000'],
    [Number.MAX_VALUE, `17976931348623157${'0'.repeat(292)}`],
    [5e-324, `0.${'0'.repeat(323)}5`],
  ] as const)('%s', (v, want) => {
    expect(formatFloat(v)).toBe(want);
  });
});

describe('prettyExpr splits like Prometheus Prettify', () => {
  it.each([])('%s (width 10)', (input, want) => {
    expect(prettyExpr(parseExpr(input), 10)).toBe(want);
  });

  it('keeps queries of up to 100 bytes on one line by default', () => {
    const q = `sum(rate(${'x'.repeat(80)}[5m]))`;
    expect(prettyExpr(parseExpr(q))).toBe(q);
    // 105 bytes: the aggregation splits, its 100-byte argument still fits on one line.
    const long = `sum(rate(${'x'.repeat(90)}[5m]))`;
    expect(prettyExpr(parseExpr(long))).toBe(`sum(\n  rate(${'x'.repeat(90)}[5m])\n)`);
  });
});
