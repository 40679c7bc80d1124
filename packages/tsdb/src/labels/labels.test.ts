import { describe, expect, it } from 'vitest';
import { compareLabels, compareStrings, Labels } from './labels.js';
import { Matcher } from './matcher.js';

describe('Labels', () => {
  it('sorts by name and drops empty values', () => {
    const l = Labels.from({ job: 'api', __name__: 'up', empty: '' });
    expect([...l].map((x) => x.name)).toEqual(['__name__', 'job']);
    expect(l.get('empty')).toBe('');
    expect(l.toString()).toBe('{__name__="up", job="api"}');
  });

  it('compares label by label with prefixes first', () => {
    const a = Labels.from({ a: '1' });
    const b = Labels.from({ a: '1', b: '2' });
    const c = Labels.from({ a: '2' });
    expect(compareLabels(a, b)).toBeLessThan(0);
    expect(compareLabels(b, c)).toBeLessThan(0);
    expect(compareLabels(c, c)).toBe(0);
  });

  it('orders strings by UTF-8 bytes like Go', () => {
    // U+1F600 (surrogate pair in UTF-16) sorts after U+FF5E in UTF-8.
    expect(compareStrings('\u{1F600}', '\uFF5E')).toBe(1);
    expect(compareStrings('a', 'b')).toBe(-1);
    expect(compareStrings('ab', 'a')).toBe(1);
  });

  it('with/without/keepOnly keep the order', () => {
    const l = Labels.from({ b: '2', d: '4' });
    expect(l.with('c', '3').toString()).toBe('{b="2", c="3", d="4"}');
    expect(l.with('b', '').toString()).toBe('{d="4"}');
    expect(l.without(['b']).toString()).toBe('{d="4"}');
    expect(l.keepOnly(['b']).key()).toBe(Labels.from({ b: '2' }).key());
  });
});

describe('Matcher', () => {
  const cases: [Matcher, string, boolean][] = [
    [new Matcher('=', 'a', 'x'), 'x', true],
    [new Matcher('!=', 'a', 'x'), '', true],
    [new Matcher('=~', 'a', 'x|y'), 'y', true],
    [new Matcher('=~', 'a', 'x|y'), 'xy', false],
    [new Matcher('=~', 'a', 'api.*'), 'api-server', true],
    [new Matcher('=~', 'a', 'api.*'), 'the-api', false],
    [new Matcher('=~', 'a', '.*'), 'line\nbreak', true],
    [new Matcher('=~', 'a', 'a.c'), 'a\nc', true],
    [new Matcher('!~', 'a', 'foo|bar'), 'baz', true],
    [new Matcher('=~', 'a', '(foo|bar)'), 'bar', true],
    [new Matcher('=~', 'a', 'fo+'), 'foooo', true],
    [new Matcher('=~', 'a', 'fo?'), 'f', true],
    [new Matcher('=~', 'a', '\\d+'), '123', true],
    [new Matcher('=~', 'a', 'a\\.b'), 'a.b', true],
    [new Matcher('=~', 'a', 'a\\.b'), 'axb', false],
  ];
  it.each(cases)('%s on %j', (m, v, want) => {
    expect(m.matches(v)).toBe(want);
  });

  it('uses literal sets for alternations', () => {
    expect(new Matcher('=~', 'a', 'x|y|z').setMatches()).toEqual(['x', 'y', 'z']);
    expect(new Matcher('=~', 'a', 'x.*').setMatches()).toBeUndefined();
    expect(new Matcher('=~', 'a', 'api.*').prefix()).toBe('api');
  });

  it('runs in linear time on pathological patterns', () => {
    const m = new Matcher('=~', 'a', '(a+)+');
    expect(m.matches(`${'a'.repeat(50_000)}b`)).toBe(false);
  });

  it('rejects invalid regexes with a typed error', () => {
    expect(() => new Matcher('=~', 'a', 'a(')).toThrow(/invalid regular expression "a\("/);
  });
});
