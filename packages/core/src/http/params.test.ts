import { describe, expect, it } from 'vitest';
import { parseDuration, parseGoBool, parseTime } from './params.js';

describe('Prometheus API time and duration parsing', () => {
  it.each([
    ['1435781451.781', 1435781451781],
    ['1435781451', 1435781451000],
    ['1.0005', 1000], // 0.0005 is 0.000499999… in binary: Go rounds it down too
    ['-1.5', -1500],
    ['1e3', 1_000_000],
    ['2015-07-01T20:10:51.781Z', 1435781451781],
    ['2015-07-01T20:10:51Z', 1435781451000],
    ['2015-07-01T22:10:51.781123456+02:00', 1435781451781],
    ['0001-01-01T00:00:00Z', -62135596800000],
  ])('parses time %s', (input, ms) => {
    expect(parseTime(input)).toBe(ms);
  });

  it.each(['', 'yesterday', '2015-07-01 20:10:51Z', '2015-07-01t20:10:51Z', '2015-13-01T00:00:00Z', '12:00'])(
    'rejects time %j like Prometheus',
    (input) => {
      expect(() => parseTime(input)).toThrow(`cannot parse ${JSON.stringify(input)} to a valid timestamp`);
    },
  );

  it.each([
    ['15', 15_000],
    ['0.5', 500],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
    ['1y', 31_536_000_000],
  ])('parses duration %s', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '5 m', '1x', 'm', '5m1h'])('rejects duration %j', (input) => {
    expect(() => parseDuration(input)).toThrow(`cannot parse ${JSON.stringify(input)} to a valid duration`);
  });

  it("parses booleans like Go's strconv.ParseBool", () => {
    expect(['1', 't', 'TRUE', 'True'].map(parseGoBool)).toEqual([true, true, true, true]);
    expect(['0', 'f', 'FALSE', 'false'].map(parseGoBool)).toEqual([false, false, false, false]);
    expect(() => parseGoBool('yes')).toThrow('strconv.ParseBool: parsing "yes": invalid syntax');
  });
});
