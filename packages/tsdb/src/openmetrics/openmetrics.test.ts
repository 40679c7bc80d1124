import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SMALL_CHUNKS_HEX, SMALL_INDEX_HEX, SMALL_OPENMETRICS } from '../testdata/promtool-small.js';
import { compatibleBlockDuration, createBlocksFromOpenMetrics, readOpenMetricsFile } from './backfill.js';
import { OpenMetricsParseError, type OpenMetricsSample, parseGoFloat, parseOpenMetrics } from './parser.js';

// The parser reuses its sample object, so copy while iterating.
const samples = (text: string) => {
  const out: { name: string; labels: string[]; value: number; ts: number | undefined }[] = [];
  for (const e of parseOpenMetrics(text, 'in.om')) {
    if (e.kind !== 'series') continue;
    const s = e as OpenMetricsSample;
    out.push({ name: s.name, labels: [...s.labels], value: s.value, ts: s.timestamp });
  }
  return out;
};

describe('OpenMetrics parser', () => {
  it('parses metadata, labels with escapes, values, timestamps and exemplars', () => {
    const text = [
      '# HELP foo_total Some "help" \\n text',
      '# TYPE foo_total counter',
      '# UNIT foo_seconds seconds',
      'foo_total{a="x\\"y",b="back\\\\slash",c="new\\nline",d="tab\\t"} 1.5e3 1700000000.123',
      'foo_total 17 1700000001 # {trace_id="abc"} 1.0 1700000000.5',
      'bar{} -Inf -1.5',
      'baz +inf 0',
      'baz NaN 0.0005',
      'baz_created 1.7e9 1',
      '# EOF',
      '',
    ].join('\n');
    expect(samples(text)).toEqual([
      {
        name: 'foo_total',
        labels: ['a', 'x"y', 'b', 'back\\slash', 'c', 'new\nline', 'd', 'tab\\t'],
        value: 1500,
        ts: 1700000000123,
      },
      { name: 'foo_total', labels: [], value: 17, ts: 1700000001000 },
      { name: 'bar', labels: [], value: Number.NEGATIVE_INFINITY, ts: -1500 },
      { name: 'baz', labels: [], value: Number.POSITIVE_INFINITY, ts: 0 },
      { name: 'baz', labels: [], value: Number.NaN, ts: 0 },
      { name: 'baz_created', labels: [], value: 1.7e9, ts: 1000 },
    ]);
    const meta = [...parseOpenMetrics(text)].filter((e) => e.kind !== 'series');
    expect(meta.map((m) => m.kind)).toEqual(['help', 'type', 'unit']);
  });

  it('truncates fractional-second timestamps like Go int64(ts*1000)', () => {
    expect(samples('a 1 1700000000.001\na 1 0.0009\na 1 -0.0009\n# EOF')).toMatchObject([
      { ts: 1700000000001 },
      { ts: 0 },
      { ts: 0 },
    ]);
  });

  it.each([
    ['missing EOF', 'a 1 1\n', 2, /does not end with # EOF/],
    ['data after EOF', 'a 1 1\n# EOF\nb 1 1\n', 2, /after # EOF/],
    ['bad value', 'a x 1\n# EOF', 1, /invalid value "x"/],
    ['hex value', 'a 0x1p3 1\n# EOF', 1, /invalid value/],
    ['overflow', 'a 1e400 1\n# EOF', 1, /invalid value/],
    ['NaN timestamp', 'a 1 NaN\n# EOF', 1, /invalid timestamp/],
    ['bad label', 'a{1="x"} 1\n# EOF', 1, /expected label name/],
    ['unterminated', 'a{b="x} 1\n# EOF', 1, /unterminated/],
    ['missing comma', 'a{b="x" c="y"} 1\n# EOF', 1, /expected comma/],
    ['bad type', '# TYPE a histo\n# EOF', 1, /invalid metric type/],
    ['bad comment', '# random comment\n# EOF', 1, /invalid comment/],
    ['blank line', 'a 1 1\n\n# EOF', 2, /not a valid start token/],
    ['exemplar on gauge', 'a 1 1 # {x="y"} 1\n# EOF', 1, /does not support exemplars/],
    ['unit mismatch', '# UNIT a_bytes seconds\n# EOF', 1, /unit not a suffix/],
  ])('%s → OpenMetricsParseError at the right line', (_n, text, line, re) => {
    let err: unknown;
    try {
      samples(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OpenMetricsParseError);
    expect((err as OpenMetricsParseError).line).toBe(line);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message.startsWith('in.om:')).toBe(true);
  });

  it('parses floats like strconv.ParseFloat', () => {
    expect(parseGoFloat('Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(parseGoFloat('-inf')).toBe(Number.NEGATIVE_INFINITY);
    expect(parseGoFloat('.5')).toBe(0.5);
    expect(parseGoFloat('1_000')).toBeUndefined();
    expect(parseGoFloat('')).toBeUndefined();
  });
});

describe('createBlocksFromOpenMetrics', () => {
  it('picks block durations like promtool', () => {
    const h = 3600_000;
    expect(compatibleBlockDuration(undefined)).toBe(2 * h);
    expect(compatibleBlockDuration(h)).toBe(2 * h);
    expect(compatibleBlockDuration(7 * h)).toBe(6 * h);
    expect(compatibleBlockDuration(100 * h)).toBe(54 * h);
  });

  it('writes promtool’s bytes for the golden input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'om-'));
    writeFileSync(join(dir, 'in.om'), SMALL_OPENMETRICS);
    const blocks = await createBlocksFromOpenMetrics(join(dir, 'in.om'), join(dir, 'out'));
    expect(blocks).toHaveLength(1);
    const b = blocks[0]?.dir as string;
    expect(readFileSync(join(b, 'index')).toString('hex')).toBe(SMALL_INDEX_HEX);
    expect(readFileSync(join(b, 'chunks', '000001')).toString('hex')).toBe(SMALL_CHUNKS_HEX);
  });

  it('splits into aligned 2h blocks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'om-'));
    const lines: string[] = [];
    for (let t = 0; t < 5 * 3600; t += 60) lines.push(`up{job="a"} ${t % 7} ${1700000000 + t}`);
    writeFileSync(join(dir, 'in.om'), `${lines.join('\n')}\n# EOF\n`);
    const blocks = await createBlocksFromOpenMetrics(join(dir, 'in.om'), join(dir, 'out'));
    expect(blocks.map((b) => b.meta.stats.numSamples)).toEqual([107, 120, 73]);
    for (const b of blocks) {
      expect(Math.floor(b.meta.minTime / 7200_000)).toBe(Math.floor((b.meta.maxTime - 1) / 7200_000));
    }
    expect(readdirSync(join(dir, 'out'))).toHaveLength(3);
  });

  it('reads a file in pieces with the same result as one string, multi-byte text split anywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'om-'));
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push(`m{v="ü€😀${i}"} ${i} ${1700000000 + i}`);
    const text = `# TYPE m gauge\n${lines.join('\n')}\n# EOF`;
    writeFileSync(join(dir, 'in.om'), text);
    const want = samples(text);
    for (const size of [7, 64, 1000, 1 << 20]) {
      const got: unknown[] = [];
      for await (const e of readOpenMetricsFile(join(dir, 'in.om'), undefined, size)) {
        if (e.kind === 'series') got.push({ name: e.name, labels: [...e.labels], value: e.value, ts: e.timestamp });
      }
      expect(got).toEqual(want);
    }
    writeFileSync(join(dir, 'bad.om'), `${lines.join('\n')}\n`);
    const err = await (async () => {
      for await (const _ of readOpenMetricsFile(join(dir, 'bad.om'), undefined, 64)) {
        // drain
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(OpenMetricsParseError);
    expect(err.message).toBe(`${join(dir, 'bad.om')}:301: data does not end with # EOF`);
  });

  it('requires timestamps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'om-'));
    writeFileSync(join(dir, 'in.om'), 'a 1\n# EOF\n');
    await expect(createBlocksFromOpenMetrics(join(dir, 'in.om'), join(dir, 'out'))).rejects.toThrow(
      /in.om:1: expected timestamp for series a/,
    );
  });
});
