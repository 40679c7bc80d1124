import { describe, expect, it } from 'vitest';
import type { Expr, VectorSelector } from './ast.js';
import { ParseError } from './errors.js';
import {
  createMatcherCache,
  MAX_NESTING,
  MAX_TREE_DEPTH,
  type ParseOptions,
  parseExpr,
  parseMetricSelector,
} from './parser.js';
import { formatExpr } from './printer.js';
import { toSExpr } from './sexpr.js';

const ALL: ParseOptions = {
  enableExperimentalFunctions: true,
  enableExperimentalDurationExpr: true,
  enableExtendedRangeSelectors: true,
};

/** query → AST as an S-expression with positions (see sexpr.ts). */
const AST_CASES: [string, string][] = [
  ['1', '(num 1 @0:1)'],
  ['-2^2', '(neg (^ (num 2 @1:2) (num 2 @3:4) @1:4) @0:4)'],
  ['-1^-2', '(neg (^ (num 1 @1:2) (num -2 @3:5) @1:5) @0:5)'],
  ['2^3^2', '(^ (num 2 @0:1) (^ (num 3 @2:3) (num 2 @4:5) @2:5) @0:5)'],
  ['1 + 2 * 3', '(+ (num 1 @0:1) (* (num 2 @4:5) (num 3 @8:9) @4:9) @0:9)'],
  ['(1 + 2) * 3', '(* (paren (+ (num 1 @1:2) (num 2 @5:6) @1:6) @0:7) (num 3 @10:11) @0:11)'],
  ['1 - 2 - 3', '(- (- (num 1 @0:1) (num 2 @4:5) @0:5) (num 3 @8:9) @0:9)'],
  [
    'a or b and c',
    '(or ignoring() many-to-many (sel a {__name__="a"} @0:1) (and ignoring() many-to-many (sel b {__name__="b"} @5:6) (sel c {__name__="c"} @11:12) @5:12) @0:12)',
  ],
  [
    'a and b unless c',
    '(unless ignoring() many-to-many (and ignoring() many-to-many (sel a {__name__="a"} @0:1) (sel b {__name__="b"} @6:7) @0:7) (sel c {__name__="c"} @15:16) @0:16)',
  ],
  [
    'a == b + c',
    '(== (sel a {__name__="a"} @0:1) (+ (sel b {__name__="b"} @5:6) (sel c {__name__="c"} @9:10) @5:10) @0:10)',
  ],
  [
    'a + b * c ^ d',
    '(+ (sel a {__name__="a"} @0:1) (* (sel b {__name__="b"} @4:5) (^ (sel c {__name__="c"} @8:9) (sel d {__name__="d"} @12:13) @8:13) @4:13) @0:13)',
  ],
  ['-a * b', '(* (neg (sel a {__name__="a"} @1:2) @0:2) (sel b {__name__="b"} @5:6) @0:6)'],
  ['-a ^ b', '(neg (^ (sel a {__name__="a"} @1:2) (sel b {__name__="b"} @5:6) @1:6) @0:6)'],
  [
    'a * -b ^ c',
    '(* (sel a {__name__="a"} @0:1) (neg (^ (sel b {__name__="b"} @5:6) (sel c {__name__="c"} @9:10) @5:10) @4:10) @0:10)',
  ],
  [
    'a ^ -b * c',
    '(* (^ (sel a {__name__="a"} @0:1) (neg (sel b {__name__="b"} @5:6) @4:6) @0:6) (sel c {__name__="c"} @9:10) @0:10)',
  ],
  [
    '1 < bool 2 - 1 * 2',
    '(< bool (num 1 @0:1) (- (num 2 @9:10) (* (num 1 @13:14) (num 2 @17:18) @13:18) @9:18) @0:18)',
  ],
  [
    'a atan2 b * c',
    '(* (atan2 (sel a {__name__="a"} @0:1) (sel b {__name__="b"} @8:9) @0:9) (sel c {__name__="c"} @12:13) @0:13)',
  ],
  [
    'a > on(x) group_left(y) b',
    '(> on(x) many-to-one(y) (sel a {__name__="a"} @0:1) (sel b {__name__="b"} @24:25) @0:25)',
  ],
  [
    'a + ignoring(x) group_right b',
    '(+ ignoring(x) one-to-many (sel a {__name__="a"} @0:1) (sel b {__name__="b"} @28:29) @0:29)',
  ],
  ['a and on() b', '(and on() many-to-many (sel a {__name__="a"} @0:1) (sel b {__name__="b"} @11:12) @0:12)'],
  ['foo offset 5m + bar', '(+ (sel foo {__name__="foo"} offset=300000 @0:13) (sel bar {__name__="bar"} @16:19) @0:19)'],
  ['-foo offset 5m', '(neg (sel foo {__name__="foo"} offset=300000 @1:14) @0:14)'],
  ['a + b @ 100', '(+ (sel a {__name__="a"} @0:1) (sel b {__name__="b"} at=100000 @4:11) @0:11)'],
  ['foo[5m] offset -1h @ start()', '(matrix (sel foo {__name__="foo"} offset=-3600000 at=start @0:3) 300000 @0:28)'],
  [
    'rate(foo[5m])[30m:1m] offset 1h',
    '(subquery (rate (matrix (sel foo {__name__="foo"} @5:8) 300000 @5:12) @0:13) 1800000:60000 offset=3600000 @0:31)',
  ],
  [
    'sum by (job) (rate(x[5m]))',
    '(sum by(job) (rate (matrix (sel x {__name__="x"} @19:20) 300000 @19:24) @14:25) @0:26)',
  ],
  [
    'sum(rate(x[5m])) without (instance, job)',
    '(sum without(instance,job) (rate (matrix (sel x {__name__="x"} @9:10) 300000 @9:14) @4:15) @0:40)',
  ],
  ['topk(3, x)', '(topk (num 3 @5:6) (sel x {__name__="x"} @8:9) @0:10)'],
  ['count_values("v", x)', '(count_values (str "v" @13:16) (sel x {__name__="x"} @18:19) @0:20)'],
  ['quantile(0.9, x)', '(quantile (num 0.9 @9:12) (sel x {__name__="x"} @14:15) @0:16)'],
  ['{"my.metric", "a.b"="c"}', '(sel _ {__name__="my.metric","a.b"="c"} @0:24)'],
  ['foo{a="b", c!="d", e=~"f.*", g!~"h",}', '(sel foo {a="b",c!="d",e=~"f.*",g!~"h",__name__="foo"} @0:37)'],
  ['0x1F', '(num 31 @0:4)'],
  ['0755', '(num 493 @0:4)'],
  ['1_000', '(num 1000 @0:5)'],
  ['1e3', '(num 1000 @0:3)'],
  ['Inf', '(num Infinity @0:3)'],
  ['-nan', '(num NaN @0:4)'],
  ['.5e-3', '(num 0.0005 @0:5)'],
  ['5m', '(num 300s @0:2)'],
  ['1h30m', '(num 5400s @0:5)'],
  ['"a\\tb\\x41\\u263a"', '(str "a\\tbA☺" @0:16)'],
  ['`raw\\n`', '(str "raw\\\\n" @0:7)'],
  ['foo @ 1.5e3', '(sel foo {__name__="foo"} at=1500000 @0:11)'],
  ['foo @ -100', '(sel foo {__name__="foo"} at=-100000 @0:10)'],
  ['foo @ end()', '(sel foo {__name__="foo"} at=end @0:11)'],
  ['foo[1h:]', '(subquery (sel foo {__name__="foo"} @0:3) 3600000: @0:8)'],
  [
    'metric1_total offset -2 ^ 2',
    '(^ (sel metric1_total {__name__="metric1_total"} offset=-2000 @0:23) (num 2 @26:27) @0:27)',
  ],
  [
    'metric1_total offset (2 ^ 2)',
    '(sel metric1_total {__name__="metric1_total"} offset=(dur() ^ (num 2 @22:23) (num 2 @26:27) @22:27) @0:28)',
  ],
  ['foo[5m + step()]', '(matrix (sel foo {__name__="foo"} @0:3) (dur + (num 300s @4:6) (dur step @9:15) @4:15) @0:16)'],
  [
    'foo[-(10s-5s)+20s]',
    '(matrix (sel foo {__name__="foo"} @0:3) (dur + (dur - (dur() - (num 10s @6:9) (num 5s @10:12) @6:12) @4:12) (num 20s @14:17) @4:17) @0:18)',
  ],
  [
    'foo offset -min(5s, step() + 8s)',
    '(sel foo {__name__="foo"} offset=(dur - (dur min (num 5s @16:18) (dur + (dur step @20:26) (num 8s @29:31) @20:31) @12:32) @11:32) @0:32)',
  ],
  ['sum(foo) by ("a.b", sum)', '(sum by(a.b,sum) (sel foo {__name__="foo"} @4:7) @0:24)'],
  [
    'sum without(and, by, avg, count, alert)(some_metric) [30m:10s]',
    '(subquery (sum without(and,by,avg,count,alert) (sel some_metric {__name__="some_metric"} @40:51) @0:52) 1800000:10000 @0:62)',
  ],
  ['foo[5m] anchored', '(matrix (sel foo {__name__="foo"} anchored @0:3) 300000 @0:7)'],
  ['foo smoothed', '(sel foo {__name__="foo"} smoothed @0:3)'],
  ['min', '(sel min {__name__="min"} @0:3)'],
  ['sum(sum)', '(sum (sel sum {__name__="sum"} @4:7) @0:8)'],
  ['offset{step="1s"}[5m]', '(matrix (sel offset {step="1s",__name__="offset"} @0:17) 300000 @0:21)'],
  ['start{end="foo"}', '(sel start {end="foo",__name__="start"} @0:16)'],
  ['rate (foo[1m])', '(rate (matrix (sel foo {__name__="foo"} @6:9) 60000 @6:13) @0:14)'],
  ['foo:bar:baz{a="b"}', '(sel foo:bar:baz {a="b",__name__="foo:bar:baz"} @0:18)'],
  ['1 # a comment', '(num 1 @0:1)'],
  ['absent(nonexistent{job="myjob"})', '(absent (sel nonexistent {job="myjob",__name__="nonexistent"} @7:31) @0:32)'],
  [
    'histogram_quantile(0.9, rate(x_bucket[5m]))',
    '(histogram_quantile (num 0.9 @19:22) (rate (matrix (sel x_bucket {__name__="x_bucket"} @29:37) 300000 @29:41) @24:42) @0:43)',
  ],
  [
    'label_replace(up, "a", "$1", "b", "(.*)")',
    '(label_replace (sel up {__name__="up"} @14:16) (str "a" @18:21) (str "$1" @23:27) (str "b" @29:32) (str "(.*)" @34:40) @0:41)',
  ],
  ['info(foo, {k="v"})', '(info (sel foo {__name__="foo"} @5:8) (sel _ {k="v"} @10:17) @0:18)'],
  ['a - on(b) group_left c', '(- on(b) many-to-one (sel a {__name__="a"} @0:1) (sel c {__name__="c"} @21:22) @0:22)'],
  [
    'a - on(b) group_left() (c)',
    '(- on(b) many-to-one (sel a {__name__="a"} @0:1) (paren (sel c {__name__="c"} @24:25) @23:26) @0:26)',
  ],
];

describe('parseExpr builds the expected tree', () => {
  it.each(AST_CASES)('%s', (query, want) => {
    expect(toSExpr(parseExpr(query, ALL))).toBe(want);
  });
});

/** query → full Prometheus error message and the error's position range. */
const ERROR_CASES: [string, string, number, number][] = [
  ['1 +', '1:4: parse error: unexpected end of input', 3, 3],
  ['1 == 1', '1:3: parse error: comparisons between scalars must use BOOL modifier', 2, 3],
  ['1 and 1', '1:1: parse error: set operator "and" not allowed in binary scalar expression', 0, 7],
  ['foo + bool bar', '1:5: parse error: bool modifier can only be used on comparison operators', 4, 9],
  [
    '-"s"',
    '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "string"',
    0,
    4,
  ],
  [
    '-foo[5m]',
    '1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got "range vector"',
    0,
    8,
  ],
  ['foo[5m] + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types', 0, 7],
  ['"a" + 1', '1:1: parse error: binary expression must contain only scalar and instant vector types', 0, 3],
  ['1 or on(x) foo', '1:1: parse error: vector matching only allowed between instant vectors', 0, 14],
  ['foo and on(x) group_left bar', '1:1: parse error: no grouping allowed for "and" operation', 0, 28],
  ['foo * on(a) group_left(a) bar', '1:5: parse error: label "a" must not occur in ON and GROUP clause at once', 4, 24],
  [
    'sum(foo) offset 5m',
    '1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery',
    0,
    8,
  ],
  ['foo offset 1m offset 2m', '1:1: parse error: offset may not be set multiple times', 0, 13],
  ['foo @ 1 @ 2', '1:1: parse error: @ <timestamp> may not be set multiple times', 0, 7],
  [
    'rate(foo[5m]) @ 5',
    '1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery',
    0,
    13,
  ],
  ['foo @ +Inf', '1:1: parse error: timestamp out of bounds for @ modifier: +Inf', 0, 3],
  ['foo @ NaN', '1:1: parse error: timestamp out of bounds for @ modifier: NaN', 0, 3],
  ['foo @ start(1)', '1:13: parse error: unexpected number "1" in @, expected timestamp', 12, 13],
  ['foo offset', '1:11: parse error: unexpected end of input in offset, expected number, duration, or step()', 10, 10],
  ['foo[5m', '1:7: parse error: unclosed left bracket', 6, 6],
  [
    'foo[]',
    '1:5: parse error: unexpected "]" in subquery or range selector, expected number, duration, or step()',
    4,
    5,
  ],
  ['foo[5m:1m:2m]', "1:10: parse error: unexpected colon ':'", 9, 13],
  ['foo[0s]', '1:5: parse error: duration must be greater than 0', 4, 6],
  ['foo[-5m]', '1:5: parse error: duration must be greater than 0', 4, 7],
  ['(foo)[5m]', '1:6: parse error: ranges only allowed for vector selectors', 5, 9],
  ['foo offset 1m [5m]', '1:15: parse error: no offset modifiers allowed before range', 14, 18],
  ['foo @ 10 [5m]', '1:10: parse error: no @ modifiers allowed before range', 9, 13],
  ['foo[5m][5m]', '1:8: parse error: ranges only allowed for vector selectors', 7, 11],
  ['foo[5m][5m:]', '1:1: parse error: subquery is only allowed on instant vector, got matrix instead', 0, 12],
  ['rate(foo)', '1:6: parse error: expected type range vector in call to function "rate", got instant vector', 5, 8],
  ['rate(foo[5m], 1)', '1:1: parse error: expected 1 argument(s) in call to "rate", got 2', 0, 16],
  ['round()', '1:1: parse error: expected at least 1 argument(s) in call to "round", got 0', 0, 7],
  ['round(foo, 1, 2)', '1:1: parse error: expected at most 2 argument(s) in call to "round", got 3', 0, 16],
  ['label_join(foo)', '1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1', 0, 15],
  ['time(1)', '1:1: parse error: expected 0 argument(s) in call to "time", got 1', 0, 7],
  ['nonexistent(foo)', '1:1: parse error: unknown function with name "nonexistent"', 0, 11],
  ['sum()', '1:1: parse error: no arguments for aggregate expression provided', 0, 5],
  [
    'topk(foo)',
    '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1',
    0,
    9,
  ],
  ['topk(foo, bar)', '1:6: parse error: expected type scalar in aggregation parameter, got instant vector', 5, 8],
  ['count_values(1, foo)', '1:14: parse error: expected type string in aggregation parameter, got scalar', 13, 14],
  ['quantile("a", foo)', '1:10: parse error: expected type scalar in aggregation parameter, got string', 9, 12],
  [
    'sum(foo, bar)',
    '1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2',
    0,
    13,
  ],
  ['sum by foo (bar)', '1:8: parse error: unexpected identifier "foo" in grouping opts, expected "("', 7, 10],
  ['sum by (a b) (foo)', '1:11: parse error: unexpected identifier "b" in grouping opts, expected "," or ")"', 10, 11],
  ['sum by (1) (foo)', '1:9: parse error: unexpected number "1" in grouping opts, expected label', 8, 9],
  ['sum without (foo,,) (bar)', '1:18: parse error: unexpected "," in grouping opts, expected label', 17, 18],
  ['sum(foo bar)', '1:9: parse error: unexpected identifier "bar" in aggregation', 8, 11],
  ['sum foo', '1:5: parse error: unexpected identifier "foo"', 4, 7],
  ['sum by (a)', '1:11: parse error: unexpected end of input in aggregation', 10, 10],
  ['floor(foo,)', '1:10: parse error: trailing commas not allowed in function call args', 9, 10],
  ['{}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0, 2],
  ['{a=""}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0, 6],
  ['{a=~".*"}', '1:1: parse error: vector selector must contain at least one non-empty matcher', 0, 9],
  ['foo{__name__="bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"', 0, 19],
  ['foo{"bar"}', '1:1: parse error: metric name must not be set twice: "foo" or "bar"', 0, 10],
  ['foo{a}', '1:6: parse error: unexpected "}" in label matching, expected label matching operator', 5, 6],
  ['foo{a=}', '1:7: parse error: unexpected "}" in label matching, expected string', 6, 7],
  ['foo{a="b" c="d"}', '1:11: parse error: unexpected identifier "c" in label matching, expected "," or "}"', 10, 11],
  ['foo{,}', '1:5: parse error: unexpected "," in label matching, expected identifier or "}"', 4, 5],
  ['foo{1}', "1:5: parse error: unexpected character inside braces: '1'", 4, 6],
  ['foo{a="b"', '1:10: parse error: unexpected end of input inside braces', 9, 9],
  ['"unterminated', '1:1: parse error: unterminated quoted string', 0, 13],
  ["'\\q'", "1:1: parse error: unknown escape sequence U+0071 'q'", 0, 4],
  ['"\\x4"', "1:1: parse error: illegal character U+0022 '\"' in escape sequence", 0, 5],
  ['"\\u12"', "1:1: parse error: illegal character U+0022 '\"' in escape sequence", 0, 6],
  ['"\\uD800"', '1:1: parse error: escape sequence is an invalid Unicode code point', 0, 8],
  ['`raw', '1:1: parse error: unterminated raw string', 0, 4],
  ['0x', '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "0x": invalid syntax', 0, 2],
  ['2.5.3', '1:1: parse error: bad number or duration syntax: "2.5."', 0, 5],
  ['0deadbeef', '1:1: parse error: bad number or duration syntax: "0de"', 0, 9],
  ['1e', '1:1: parse error: bad number or duration syntax: "1e"', 0, 2],
  ['5mm', '1:1: parse error: bad number or duration syntax: "5mm"', 0, 3],
  ['5m1h', '1:1: parse error: not a valid duration string: "5m1h"', 0, 4],
  ['5y1hs', '1:1: parse error: unknown unit "hs" in duration "5y1hs"', 0, 5],
  ['foo offset 9.5e10', '1:12: parse error: duration out of range', 11, 17],
  ['foo[9.5e10]', '1:5: parse error: duration out of range', 4, 10],
  ['foo[5m/0]', '1:7: parse error: division by zero', 6, 7],
  ['foo[5m%0]', '1:7: parse error: modulo by zero', 6, 7],
  ['foo[5s x 5s]', "1:8: parse error: unexpected character: 'x', expected ':'", 7, 12],
  [
    'foo[step]',
    '1:9: parse error: unexpected "]" in subquery or range selector, expected number, duration, or step()',
    8,
    9,
  ],
  ['foo[:5m]', '1:6: parse error: unexpected colon before duration in duration expression', 5, 8],
  ['!', "1:1: parse error: unexpected character after '!': '�'", 0, 1],
  ['a =~ b', "1:3: parse error: unexpected character after '=': '~'", 2, 6],
  ['a !~ b', "1:3: parse error: unexpected character after '!': '~'", 2, 6],
  ['@', '1:1: parse error: unexpected <op:@>', 0, 1],
  ['*1', '1:1: parse error: unexpected <op:*>', 0, 1],
  ['(', '1:2: parse error: unclosed left parenthesis', 1, 1],
  [')', "1:2: parse error: unexpected right parenthesis ')'", 1, 1],
  ['((1)', '1:5: parse error: unclosed left parenthesis', 4, 4],
  ['foo)', "1:5: parse error: unexpected right parenthesis ')'", 4, 4],
  ['a - on(b) ignoring(c) d', '1:11: parse error: unexpected <ignoring>', 10, 18],
  ['foo + group_left(baz) bar', '1:7: parse error: unexpected <group_left>', 6, 16],
  ['start()', '1:6: parse error: unexpected "("', 5, 6],
  ['sum (some_metric) without (test) by (test)', '1:34: parse error: unexpected <by>', 33, 35],
  ['hour(a, b, c)', '1:1: parse error: expected at most 1 argument(s) in call to "hour", got 3', 0, 13],
  ['info(foo, bar{a="b"})', '1:11: parse error: expected label selectors only, got vector selector instead', 10, 20],
  ['info(foo, {a="b"} == 1)', '1:11: parse error: expected label selectors only', 10, 22],
  ['foo[5m] smoothed anchored', '1:1: parse error: anchored and smoothed modifiers cannot be used together', 0, 7],
  ['foo[5m:1m] anchored', '1:1: parse error: anchored modifier is not supported for subqueries', 0, 10],
  ['sum(foo) smoothed', '1:1: parse error: smoothed modifier not implemented', 0, 8],
  ['foo @ 9.3e18', '1:1: parse error: timestamp out of bounds for @ modifier: 9300000000000000000.000000', 0, 3],
  ['step() + 1', '1:1: parse error: unknown node type: *parser.DurationExpr', 0, 6],
  ['sum by ("") (foo)', '1:9: parse error: invalid label name for grouping: ""', 8, 10],
  ['# only a comment', '1:1: parse error: no expression found in input', 0, 0],
];

describe('parseExpr reports Prometheus errors', () => {
  it.each(ERROR_CASES)('%s', (query, message, start, end) => {
    let err: unknown;
    try {
      parseExpr(query, ALL);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    const pe = err as ParseError;
    expect(pe.message).toBe(message);
    expect(pe.pos).toEqual({ start, end });
    expect(pe.code).toBe('PROMQL_PARSE');
  });
});

/** Experimental parts are rejected unless their option is on. */
const FEATURE_CASES: [string, string][] = [
  [
    'limitk(2, foo)',
    '1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions',
  ],
  [
    'limit_ratio(0.5, foo)',
    '1:1: parse error: limit_ratio() is experimental and must be enabled with --enable-feature=promql-experimental-functions',
  ],
  ['sort_by_label(foo, "a")', '1:1: parse error: function "sort_by_label" is not enabled'],
  [
    'double_exponential_smoothing(foo[5m], 0.5, 0.5)',
    '1:1: parse error: function "double_exponential_smoothing" is not enabled',
  ],
  ['foo anchored', '1:1: parse error: anchored modifier is experimental and not enabled'],
  ['foo[5m] smoothed', '1:1: parse error: smoothed modifier is experimental and not enabled'],
  ['foo[5m + 1m]', '1:5: parse error: experimental duration expression is not enabled'],
  ['foo offset (5m)', '1:13: parse error: experimental duration expression is not enabled'],
  ['foo[(5m)]', '1:6: parse error: experimental duration expression is not enabled'],
  ['foo[5m:1m+1m]', '1:8: parse error: experimental duration expression is not enabled'],
];

describe('experimental features need their option', () => {
  it.each(FEATURE_CASES)('%s', (query, message) => {
    expect(() => parseExpr(query)).toThrow(message);
    expect(() => parseExpr(query, ALL)).not.toThrow();
  });

  it('step() in ranges and offsets is not gated, like Prometheus 3.9', () => {
    expect(formatExpr(parseExpr('foo[step()]'))).toBe('foo[step()]');
    expect(formatExpr(parseExpr('foo offset -step()'))).toBe('foo offset -step()');
  });
});

describe('parse details', () => {
  it('stores durations in milliseconds and numbers as seconds', () => {
    const e = parseExpr('foo[1h30m] offset 90s @ 1.5');
    expect(e.type).toBe('MatrixSelector');
    if (e.type !== 'MatrixSelector') return;
    expect(e.range).toBe(5_400_000);
    expect(e.vectorSelector.offset).toBe(90_000);
    expect(e.vectorSelector.at).toBe(1500);
    const n = parseExpr('foo[4.018]');
    expect(n.type === 'MatrixSelector' && n.range).toBe(4018);
  });

  it('unquotes strings with Go escapes and keeps invalid UTF-8 bytes', () => {
    const s = parseExpr(String.raw`"\a\b\f\n\r\t\v\\\" \x41\101\u00e9\U0001F600"`);
    expect(s.type === 'StringLiteral' && s.val).toBe('\x07\b\f\n\r\t\v\\" AAé😀');
    const raw = parseExpr(String.raw`'\xff'`);
    expect(raw.type === 'StringLiteral' && raw.val).toBe('\udcff');
    const utf8 = parseExpr(String.raw`"\xc3\xa9"`);
    expect(utf8.type === 'StringLiteral' && utf8.val).toBe('é');
  });

  it('reports line and byte column for multi-line and non-ASCII queries', () => {
    expect(() => parseExpr('sum(\n  foo bar)')).toThrow('2:7: parse error: unexpected identifier "bar" in aggregation');
    expect(() => parseExpr('{a="é"} +')).toThrow('1:11: parse error: unexpected end of input');
    expect(() => parseExpr('x +', { lineOffset: 4 })).toThrow('5:4: parse error');
  });

  it('places the __name__ matcher last and keeps the name', () => {
    const e = parseExpr('foo{a="b"}');
    expect(e.type === 'VectorSelector' && e.matchers.map((m) => `${m.name}${m.type}${m.value}`)).toEqual([
      'a=b',
      '__name__=foo',
    ]);
  });

  it('drops vector matching when a side is a scalar, and makes set operators many-to-many', () => {
    const a = parseExpr('foo + 1');
    expect(a.type === 'BinaryExpr' && a.matching).toBeUndefined();
    const b = parseExpr('foo or bar');
    expect(b.type === 'BinaryExpr' && b.matching?.card).toBe('many-to-many');
  });

  it('accepts a custom function table', () => {
    const functions = new Map([
      [
        'my_fn',
        {
          name: 'my_fn',
          argTypes: ['vector'] as const,
          variadic: 0,
          returnType: 'vector' as const,
          experimental: false,
        },
      ],
    ]);
    expect(formatExpr(parseExpr('my_fn(foo)', { functions }))).toBe('my_fn(foo)');
    expect(() => parseExpr('rate(foo[5m])', { functions })).toThrow('unknown function with name "rate"');
  });
});

describe('parseMetricSelector', () => {
  it('parses selectors without the emptiness check', () => {
    expect(parseMetricSelector('up{job="api"}').map(String)).toEqual(['job="api"', '__name__="up"']);
    expect(parseMetricSelector('{a=""}').map(String)).toEqual(['a=""']);
    expect(() => parseMetricSelector('up + 1')).toThrow('unexpected <op:+>');
  });
});

describe('depth limits', () => {
  it('parses, checks and prints queries nested up to the limits', () => {
    const calls = `${'abs('.repeat(MAX_NESTING - 1)}x${')'.repeat(MAX_NESTING - 1)}`;
    expect(formatExpr(parseExpr(calls))).toBe(calls);
    const chain = Array.from({ length: MAX_TREE_DEPTH }, (_, i) => `x${i}`).join(' + ');
    expect(formatExpr(parseExpr(chain))).toBe(chain);
  });

  it.each([
    [
      'parentheses',
      `${'('.repeat(5000)}1${')'.repeat(5000)}`,
      'expression nesting is too deep (more than 1000 levels)',
    ],
    ['unary minus', `${'-'.repeat(5000)}x`, 'expression nesting is too deep'],
    ['power chain', Array.from({ length: 5000 }, () => 'x').join('^'), 'expression nesting is too deep'],
    [
      'sum chain',
      Array.from({ length: 50_000 }, () => 'x').join('+'),
      'expression is too deep (50000 levels, at most 2000)',
    ],
  ])('rejects %s too deep for the stack with a ParseError', (_name, query, message) => {
    expect(() => parseExpr(query)).toThrow(ParseError);
    expect(() => parseExpr(query)).toThrow(message);
  });
});

describe('matcher cache', () => {
  it('reuses compiled regex matchers only within one cache', () => {
    const cache = createMatcherCache(2);
    const a = parseExpr('x{job=~"a.*"}', { matcherCache: cache });
    const b = parseExpr('y{job=~"a.*"}', { matcherCache: cache });
    const c = parseExpr('y{job=~"a.*"}');
    const matcherOf = (e: Expr) => (e as VectorSelector).matchers.find((m) => m.name === 'job');
    expect(matcherOf(a)).toBe(matcherOf(b));
    expect(matcherOf(c)).not.toBe(matcherOf(a));
    expect(matcherOf(c)?.matches('abc')).toBe(true);
    // Bounded: two more regexes push the first one out.
    parseExpr('z{a=~"1.*", b=~"2.*"}', { matcherCache: cache });
    expect(matcherOf(parseExpr('x{job=~"a.*"}', { matcherCache: cache }))).not.toBe(matcherOf(a));
  });
});
