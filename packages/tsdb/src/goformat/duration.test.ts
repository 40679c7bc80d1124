import { describe, expect, it } from 'vitest';
import {
  DurationSyntaxError,
  formatGoDuration,
  formatPromDuration,
  parseGoDuration,
  parsePromDuration,
} from './duration.js';

describe('parsePromDuration', () => {
  it.each([
    ['0', 0],
    ['1ms', 1],
    ['5s', 5000],
    ['1h30m', 5_400_000],
    ['1y', 365 * 86_400_000],
    ['2w3d', 17 * 86_400_000],
    ['1d1h1m1s1ms', 90_061_001],
  ])('%s', (s, ms) => {
    expect(parsePromDuration(s)).toBe(ms);
  });

  it.each([
    ['', 'empty duration string'],
    ['5', 'not a valid duration string: "5"'],
    ['1m1h', 'not a valid duration string: "1m1h"'],
    ['1s1s', 'not a valid duration string: "1s1s"'],
    ['1x', 'unknown unit "x" in duration "1x"'],
    ['300y', 'duration out of range'],
  ])('rejects %j', (s, message) => {
    expect(() => parsePromDuration(s)).toThrow(DurationSyntaxError);
    expect(() => parsePromDuration(s)).toThrow(message);
  });
});

describe('formatPromDuration', () => {
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
    expect(formatPromDuration(ms)).toBe(want);
  });
});

describe('Go durations (time.ParseDuration, Duration.String)', () => {
  it.each([
    ['0', 0],
    ['300ms', 300],
    ['1.5s', 1500],
    ['2h45m', 9_900_000],
    ['-1m', -60_000],
    ['1us', 0.001],
    ['.5s', 500],
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });
  it.each([
    ['', /time: invalid duration ""/],
    ['5', /time: invalid duration "5"|unknown unit/],
    ['1d', /time: unknown unit "d" in duration "1d"/],
    ['.s', /time: invalid duration ".s"/],
  ])('rejects %j', (text, err) => {
    expect(() => parseGoDuration(text)).toThrow(err);
  });
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [7_200_000, '2h0m0s'],
    [-60_000, '-1m0s'],
    [38 * 3_600_000, '38h0m0s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});
