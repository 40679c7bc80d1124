import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.js';
import { Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
import { SMALL_CHUNKS_HEX, SMALL_INDEX_HEX, SMALL_SERIES, SMALL_TOMBSTONES_HEX } from '../testdata/promtool-small.js';
import { createBlockQueryable } from './queryable.js';
import { openBlock } from './reader.js';
import { encodeTombstones, parseTombstones } from './tombstones.js';
import { writeBlock } from './writer.js';

const smallInput = () =>
  SMALL_SERIES.map((s) => ({
    labels: Labels.from(s.labels),
    timestamps: s.samples.map(([t]) => t),
    values: s.samples.map(([, v]) => v),
  }));

describe('tombstones', () => {
  it('writes the empty file exactly like Prometheus', () => {
    expect(Buffer.from(encodeTombstones()).toString('hex')).toBe(SMALL_TOMBSTONES_HEX);
  });
  it('round-trips and merges intervals', () => {
    const t = new Map([
      [
        16,
        [
          { minTime: -5, maxTime: 10 },
          { minTime: 11, maxTime: 20 },
        ],
      ],
    ]);
    expect(parseTombstones(encodeTombstones(t)).get(16)).toEqual([{ minTime: -5, maxTime: 20 }]);
  });
  it.each([
    ['short', Buffer.from('0130ba30', 'hex'), /too short/],
    ['magic', Buffer.from('0130ba31010000000000', 'hex'), /invalid magic/],
    ['crc', Buffer.from('0130ba3001000000ff', 'hex'), /checksum/],
  ])('rejects %s', (_n, bytes, re) => {
    expect(() => parseTombstones(bytes, 'b/tombstones')).toThrow(re);
    expect(() => parseTombstones(bytes, 'b/tombstones')).toThrow(CorruptionError);
  });
});

describe('block writer and reader', () => {
  it('writes the files promtool writes for the same samples', async () => {
    const out = mkdtempSync(join(tmpdir(), 'blk-'));
    const res = await writeBlock(smallInput(), { outDir: out, ulid: '01M89XKXWXC25Q8HX54RFWC3RM' });
    expect(res?.dir).toBe(join(out, '01M89XKXWXC25Q8HX54RFWC3RM'));
    expect(readdirSync(out)).toEqual(['01M89XKXWXC25Q8HX54RFWC3RM']);
    const dir = res?.dir as string;
    expect(readFileSync(join(dir, 'index')).toString('hex')).toBe(SMALL_INDEX_HEX);
    expect(readFileSync(join(dir, 'chunks', '000001')).toString('hex')).toBe(SMALL_CHUNKS_HEX);
    expect(readFileSync(join(dir, 'tombstones')).toString('hex')).toBe(SMALL_TOMBSTONES_HEX);
    expect(res?.meta).toMatchObject({
      minTime: 1700000000000,
      maxTime: 1700000030001,
      stats: { numSamples: 5, numSeries: 3, numChunks: 3 },
    });
  });

  it('selects by matchers and time, decodes samples, applies tombstones', async () => {
    const out = mkdtempSync(join(tmpdir(), 'blk-'));
    const res = await writeBlock(smallInput(), { outDir: out });
    const b = await openBlock(res?.dir as string);
    const foo = await b.selectSamples([new Matcher('=', '__name__', 'foo_total')], 0, 1700000010000);
    expect(foo.map((s) => [s.labels.toString(), [...s.timestamps], [...s.values]])).toEqual([
      ['{__name__="foo_total", a="x<&>", b="y"}', [1700000000000], [1]],
      ['{__name__="foo_total", a="z"}', [1700000000000], [Number.POSITIVE_INFINITY]],
    ]);
    const withChunks = await b.select([new Matcher('=~', 'a', 'z|y')], 0, Number.MAX_SAFE_INTEGER);
    expect(withChunks).toHaveLength(1);
    expect(withChunks[0]?.chunks[0]?.data?.length).toBe(17);
    expect(await b.labelValues('a', [new Matcher('=', 'b', 'y')])).toEqual(['x<&>']);
    const meta = await b.select([], 0, 1, { skipChunks: true });
    expect(meta).toEqual([]);
    await b.close();
    writeFileSync(
      join(res?.dir as string, 'tombstones'),
      encodeTombstones(new Map([[6, [{ minTime: 0, maxTime: 1700000000000 }]]])),
    );
    const b2 = await openBlock(res?.dir as string);
    const q = createBlockQueryable([b2]);
    const got = await q.select([new Matcher('=', 'b', 'y')], { start: 0, end: 1800000000000 });
    expect(got.map((s) => [...s.timestamps])).toEqual([[1700000015500]]);
    await b2.close();
  });

  it('merges series across blocks in label order', async () => {
    const out = mkdtempSync(join(tmpdir(), 'blk-'));
    const mk = (name: string, t0: number) => ({
      labels: Labels.from({ __name__: name }),
      timestamps: [t0, t0 + 1000],
      values: [1, 2],
    });
    const a = await writeBlock([mk('a', 0), mk('c', 0)], { outDir: out });
    const c = await writeBlock([mk('a', 1000), mk('b', 5000)], { outDir: out });
    const blocks = [await openBlock(a?.dir as string), await openBlock(c?.dir as string)];
    const q = createBlockQueryable(blocks);
    const got = await q.select([new Matcher('=~', '__name__', '.+')], { start: 0, end: 10000 });
    expect(got.map((s) => [s.labels.get('__name__'), [...s.timestamps]])).toEqual([
      ['a', [0, 1000, 2000]],
      ['b', [5000, 6000]],
      ['c', [0, 1000]],
    ]);
    expect(await q.labelValues('__name__', [], { start: 0, end: 10000 })).toEqual(['a', 'b', 'c']);
  });

  it('never leaves a complete-looking block on failure', async () => {
    const out = mkdtempSync(join(tmpdir(), 'blk-'));
    const bad = [
      { labels: Labels.from({ a: '2' }), timestamps: [1], values: [1] },
      { labels: Labels.from({ a: '1' }), timestamps: [1], values: [1] },
    ];
    await expect(writeBlock(bad, { outDir: out, ulid: '01M89XKXWXC25Q8HX54RFWC3RM' })).rejects.toThrow(/not sorted/);
    expect(readdirSync(out)).toEqual([]);
    expect(await writeBlock([], { outDir: out })).toBeUndefined();
    expect(readdirSync(out)).toEqual([]);
  });

  it.each([
    ['missing meta.json', (d: string) => rmSync(join(d, 'meta.json')), /meta.json/],
    ['invalid meta.json', (d: string) => writeFileSync(join(d, 'meta.json'), '{'), /invalid JSON/],
    ['missing index', (d: string) => rmSync(join(d, 'index')), /index/],
    ['empty chunk segment', (d: string) => writeFileSync(join(d, 'chunks', '000001'), ''), /segment header/],
  ])('%s → CorruptionError', async (_n, damage, re) => {
    const out = mkdtempSync(join(tmpdir(), 'blk-'));
    const res = await writeBlock(smallInput(), { outDir: out });
    damage(res?.dir as string);
    const err = await openBlock(res?.dir as string).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toMatch(re);
    expect(existsSync(res?.dir as string)).toBe(true);
  });
});
