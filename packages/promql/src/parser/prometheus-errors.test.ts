/**
 * Differential test: the parser's error messages (text and `line:col`) against a real
 * Prometheus. The installed Prometheus is 2.42, so the queries are ones whose handling did not
 * change between 2.42 and 3.9 (no UTF-8 names, duration expressions or renamed functions; a few
 * lexer messages that 3.x changed, such as for `foo[]` and `2.5.3`, are covered by the unit tests).
 */
import { programAvailable, type RunningPrometheus, startPrometheus } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError } from './errors.js';
import { parseExpr } from './parser.js';

const QUERIES = [
  // Syntax errors, with the construct Prometheus names.
  'sum(foo bar)',
  'sum by foo (bar)',
  'sum by (a b) (foo)',
  'sum by (1) (foo)',
  'sum without (foo,,) (bar)',
  'sum (foo) without (a) by (b)',
  'sum foo',
  'foo bar',
  '1 +',
  '*1',
  '-=',
  'a - on(b) ignoring(c) d',
  'foo + group_left(baz) bar',
  'foo{a}',
  'foo{a=}',
  'foo{a="b" c="d"}',
  'foo{,}',
  'foo{1}',
  'foo{a="b"',
  'foo[5m:1m:2m]',
  'foo @',
  'foo @ start(1)',
  'floor(foo,)',
  'sum(',
  '(1))',
  '"\\c"',
  '"\\x4"',
  '"abc',
  '`abc',
  'a ! b',
  'a =~ b',
  '0x',
  'foo{a=~"("}',
  'foo{a=~"a**"}',
  // Semantic and type errors.
  '1 == 1',
  '1 and foo',
  'foo and on(x) group_left bar',
  'foo * on(a) group_left(a) bar',
  '1 or on(x) foo',
  'foo + bool bar',
  '-"s"',
  '-foo[5m]',
  'foo[5m] + 1',
  'rate(foo)',
  'rate(foo[5m], 1)',
  'round()',
  'round(foo, 1, 2)',
  'hour(a, b, c)',
  'nonexistent(foo)',
  'sum()',
  'topk(foo)',
  'topk(foo, bar)',
  'count_values(1, foo)',
  'sum(foo) offset 5m',
  'foo offset 1m offset 2m',
  'foo @ 1 @ 2',
  'rate(foo[5m]) @ 5',
  'foo @ +Inf',
  'foo[0s]',
  '(foo)[5m]',
  'foo offset 1m [5m]',
  'foo @ 10 [5m]',
  'foo[5m][5m:]',
  '{}',
  '{a=~".*"}',
  'foo{__name__="bar"}',
  // Valid queries: both accept.
  'sum by (job) (rate(http_requests_total{job=~"api.*"}[5m] offset 1h))',
  'topk(3, foo) / on(a) group_left(b) bar > bool 2 ^ -3 ^ 2',
  'foo[1h:5m] @ end() offset -10m',
  'label_replace(up, "dst", "$1", "src", "(.*)")',
  'count_values("v", x) + absent(nonexistent{a!~`.+`}) atan2 0x1F',
];

describe.skipIf(!programAvailable('prometheus'))('parse errors equal real Prometheus (2.42) messages', () => {
  let prom: RunningPrometheus;
  beforeAll(async () => {
    prom = await startPrometheus();
  });
  afterAll(async () => {
    await prom?.stop();
  });

  it.each(QUERIES)('%s', async (query) => {
    const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}&time=0`);
    const body = (await res.json()) as { status: string; error?: string };
    const theirs = body.status === 'success' ? 'OK' : (body.error ?? '').replace(/^invalid parameter "query": /, '');
    let mine = 'OK';
    try {
      parseExpr(query);
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      mine = (err as ParseError).message;
    }
    // Prometheus 2.42 compiles regexes as ^(?:…)$, 3.x (and we) as ^(?s:…)$.
    expect(mine.replace('^(?s:', '^(?:')).toBe(theirs);
  });
});
