import { describe, expect, it } from 'vitest';
import { DurationSyntaxError, formatDuration, parseDuration } from './durations.js';
import { goQuote, positionString, utf8Length } from './errors.js';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['1ms', 1],
    ['5s', 5000],
    ['1h30m', 5_400_000],
    ['1y', 365 * 86_400_000],
    ['2w3d', 17 * 86_400_000],
    ['1d1h1m1s1ms', 90_061_001],
  ])('%s', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each([
    ['', 'empty duration string'],
    ['5', 'not a valid duration string: "5"'],
    ['1m1h', 'not a valid duration string: "1m1h"'],
    ['1s1s', 'not a valid duration string: "1s1s"'],
    ['1x', 'unknown unit "x" in duration "1x"'],
    ['300y', 'duration out of range'],
  ])('rejects %j', (s, message) => {
    expect(() => parseDuration(s)).toThrow(DurationSyntaxError);
    expect(() => parseDuration(s)).toThrow(message);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1ms'],
    [90_000, '1m30s'],
    [14 * 86_400_000, '2w'],
    [8 * 86_400_000, '8d'],
    [365 * 86_400_000, '1y'],
    [366 * 86_400_000, '366d'],
    [-5_400_000, '-1h30m'],
    [1.9, '1ms'],
  ])('%s', (ms, want) => {
    expect(formatDuration(ms)).toBe(want);
  });
});

describe('error helpers', () => {
  it('quotes like Go strconv.Quote', () => {
    expect(goQuote('a"b\\c\n\t\x01\x7f')).toBe('"a\\"b\\\\c\\n\\t\\x01\\x7f"');
    expect(goQuote('é☺😀')).toBe('"é☺😀"');
    expect(goQuote('\u200b\u00a0')).toBe('"\\u200b\\u00a0"');
    expect(goQuote('a\udcc5z')).toBe('"a\\xc5z"');
  });

  it('computes line:column in UTF-8 bytes', () => {
    expect(positionString('abc', 2)).toBe('1:3');
    expect(positionString('é + x', 4)).toBe('1:6');
    expect(positionString('a\nbc', 3)).toBe('2:2');
    expect(positionString('', 0)).toBe('unknown position');
    expect(positionString('a', 5)).toBe('invalid position');
    expect(utf8Length('a😀é')).toBe(7);
  });
});
