import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBlock } from '../block/writer.js';
import { formatGoFloat, goQuote } from '../goformat/index.js';
import { Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
import { SMALL_DUMP, SMALL_SERIES } from '../testdata/promtool-small.js';
import { dumpSamples } from './dump.js';

describe('formatGoFloat (Go %g)', () => {
  it.each([
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [-1, '-1'],
    [0.1, '0.1'],
    [1e-4, '0.0001'],
    [1e-5, '1e-05'],
    [123456, '123456'],
    [100000, '100000'],
    [1e6, '1e+06'],
    [1234567, '1.234567e+06'],
    [123456.7, '123456.7'],
    [12345678.9, '1.23456789e+07'],
    [1e21, '1e+21'],
    [1e100, '1e+100'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    [0.000123, '0.000123'],
    [-3.75e-7, '-3.75e-07'],
    [2 ** 53 + 2, '9.007199254740994e+15'],
    [Number.POSITIVE_INFINITY, '+Inf'],
    [Number.NEGATIVE_INFINITY, '-Inf'],
    [Number.NaN, 'NaN'],
  ])('%d → %s', (v, want) => {
    expect(formatGoFloat(v)).toBe(want);
  });
});

describe('goQuote (strconv.Quote)', () => {
  it.each([
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\n\t\x00\x7f', '"\\n\\t\\x00\\x7f"'],
    ['é😀', '"é😀"'],
    ['\u200b\u00a0', '"\\u200b\\u00a0"'],
  ])('%j', (s, want) => {
    expect(goQuote(s)).toBe(want);
  });
});

describe('dumpSamples', () => {
  it('prints what promtool tsdb dump prints', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dump-'));
    await writeBlock(
      SMALL_SERIES.map((s) => ({
        labels: Labels.from(s.labels),
        timestamps: s.samples.map(([t]) => t),
        values: s.samples.map(([, v]) => v),
      })),
      { outDir: out },
    );
    let text = '';
    await dumpSamples(out, (t) => {
      text += t;
    });
    expect(text).toBe(SMALL_DUMP);
    text = '';
    await dumpSamples(
      out,
      (t) => {
        text += t;
      },
      { matchers: [new Matcher('=', 'a', 'z')], minTime: 0, maxTime: 1700000000000 },
    );
    expect(text).toBe('{__name__="foo_total", a="z"} +Inf 1700000000000\n');
  });
});
