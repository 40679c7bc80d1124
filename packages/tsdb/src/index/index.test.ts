import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BytesRangeSource, FileRangeSource } from '../block/range-source.js';
import { CorruptionError } from '../errors.js';
import { compareLabels, Labels } from '../labels/labels.js';
import { Matcher, type MatchType } from '../labels/matcher.js';
import { SMALL_INDEX_HEX, SMALL_SERIES } from '../testdata/promtool-small.js';
import { intersectPostings, mergePostings, withoutPostings } from './postings.js';
import { IndexReader } from './reader.js';
import { SeriesColumns } from './series-columns.js';
import { IndexWriter } from './writer.js';

const REFS = [8, 43, 71];

async function writeSmall(dir: string): Promise<string> {
  const path = join(dir, 'index');
  const w = await IndexWriter.create(path);
  SMALL_SERIES.forEach((s, i) => {
    const ts = s.samples.map(([t]) => t);
    w.addSeries(Labels.from(s.labels), [
      { minTime: ts[0] as number, maxTime: ts[ts.length - 1] as number, ref: REFS[i] as number },
    ]);
  });
  await w.close();
  return path;
}

describe('postings operations', () => {
  const u = (a: number[]) => Uint32Array.from(a);
  it.each([
    [
      [1, 3, 5, 7],
      [3, 4, 5, 100],
      [3, 5],
    ],
    [[], [1, 2], []],
    [[5], Array.from({ length: 1000 }, (_, i) => i * 2 + 1), [5]],
    [[2, 1000, 1998], Array.from({ length: 1000 }, (_, i) => i * 2), [2, 1000, 1998]],
    [[1999], Array.from({ length: 1000 }, (_, i) => i * 2), []],
  ])('intersect %j ∩ …', (a, b, want) => {
    expect([...intersectPostings([u(a), u(b)])]).toEqual(want);
    expect([...intersectPostings([u(b), u(a)])]).toEqual(want);
  });
  it('merge and without', () => {
    expect([...mergePostings([u([1, 5]), u([2, 5, 9]), u([])])]).toEqual([1, 2, 5, 9]);
    expect([...withoutPostings(u([1, 2, 5, 9]), u([2, 9, 10]))]).toEqual([1, 5]);
  });
});

describe('index format v2', () => {
  it('writes the bytes promtool writes', async () => {
    const path = await writeSmall(mkdtempSync(join(tmpdir(), 'index-')));
    expect(readFileSync(path).toString('hex')).toBe(SMALL_INDEX_HEX);
  });

  it('writes the same bytes streaming series with the symbols given up front', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'index-')), 'index');
    const promtool = await IndexReader.open(new BytesRangeSource('index', Buffer.from(SMALL_INDEX_HEX, 'hex')));
    const symbols = promtool.symbolTable();
    const w = await IndexWriter.create(path, { symbols });
    SMALL_SERIES.forEach((s, i) => {
      const ts = s.samples.map(([t]) => t);
      const flat = Labels.from(s.labels).toFlat();
      w.addSeriesRefs(
        flat.map((x) => symbols.indexOf(x)),
        { count: 1, minTime: [ts[0] as number], maxTime: [ts[ts.length - 1] as number], ref: [REFS[i] as number] },
      );
    });
    await w.close();
    expect(readFileSync(path).toString('hex')).toBe(SMALL_INDEX_HEX);
    const cols = new SeriesColumns();
    const r = await IndexReader.open(new FileRangeSource(path));
    await r.seriesColumns(await r.allPostings(), cols);
    expect(cols.count).toBe(SMALL_SERIES.length);
    expect([...cols.chunkRef.subarray(0, cols.chunkCount)]).toEqual(REFS);
    expect([...cols.symbolRefs.subarray(cols.labelStart[0], cols.labelStart[1])].map((k) => symbols[k])).toEqual(
      Labels.from(SMALL_SERIES[0]?.labels ?? {}).toFlat(),
    );
    await r.close();
  });

  it('refuses out-of-order series given as symbol references', async () => {
    const w = await IndexWriter.create(join(mkdtempSync(join(tmpdir(), 'index-')), 'index'), { symbols: ['a', 'b'] });
    const none = { count: 0, minTime: [], maxTime: [], ref: [] };
    w.addSeriesRefs([0, 1], none);
    expect(() => w.addSeriesRefs([0, 0], none)).toThrow(/out-of-order series added with label set \{a="a"\}/);
    await w.close();
  });

  it('reads promtool’s index', async () => {
    const r = await IndexReader.open(new BytesRangeSource('index', Buffer.from(SMALL_INDEX_HEX, 'hex')));
    expect(r.labelNames()).toEqual(['__name__', 'a', 'b']);
    expect(r.labelValues('a')).toEqual(['x<&>', 'z']);
    const all = await r.allPostings();
    expect([...all]).toEqual([4, 6, 8]);
    const series = await r.series(all);
    expect(series.map((s) => s.labels.toRecord())).toEqual(SMALL_SERIES.map((s) => s.labels));
    expect(series.map((s) => s.chunks[0]?.ref)).toEqual(REFS);
    expect(series[0]?.chunks[0]).toEqual({ minTime: 1700000000001, maxTime: 1700000030000, ref: 8 });
    expect([...(await r.postings('__name__', ['foo_total', 'nope']))]).toEqual([6, 8]);
  });

  // A richer index to check PostingsForMatchers against brute force.
  const lsets: Labels[] = [];
  for (let i = 0; i < 300; i++) {
    const rec: Record<string, string> = { __name__: `m${i % 7}`, i: String(i) };
    if (i % 3) rec.job = `job${i % 5}`;
    if (i % 4 === 0) rec.env = i % 8 === 0 ? 'prod' : 'dev';
    if (i % 11 === 0) rec.ünï = 'ÿ😀';
    lsets.push(Labels.from(rec));
  }
  lsets.sort(compareLabels);
  const richPath = (async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'index-')), 'index');
    const w = await IndexWriter.create(path);
    lsets.forEach((l, i) => {
      w.addSeries(l, [{ minTime: i, maxTime: i + 10, ref: 8 + i * 100 }]);
    });
    await w.close();
    return path;
  })();

  const cases: [MatchType, string, string][][] = [
    [['=', '__name__', 'm1']],
    [['=', 'job', '']],
    [['!=', 'job', '']],
    [['!=', 'job', 'job1']],
    [['=~', 'job', 'job1|job2']],
    [['=~', 'job', 'job1|']],
    [['=~', 'job', '.*']],
    [['=~', 'job', '.+']],
    [['!~', 'job', '.+']],
    [['!~', 'job', 'job[12]']],
    [
      ['=', '__name__', 'm1'],
      ['!=', 'env', 'prod'],
    ],
    [
      ['=', '__name__', 'm1'],
      ['=~', 'env', 'prod|'],
    ],
    [
      ['=~', 'i', '1.*'],
      ['!~', 'env', ''],
      ['!=', 'job', 'job3'],
    ],
    [
      ['=', 'env', ''],
      ['=', 'job', ''],
    ],
    [['=', 'missing', '']],
    [['!=', 'missing', '']],
    [['=', 'ünï', 'ÿ😀']],
    [
      ['=~', 'job', 'job1'],
      ['=~', 'job', '.+'],
      ['!=', 'job', 'job1'],
    ],
    [['=', '__name__', 'nope']],
  ];
  it.each(cases.map((c) => [c.map(([t, n, v]) => `${n}${t}"${v}"`).join(','), c] as const))(
    'postingsForMatchers {%s} equals brute force',
    async (_name, spec) => {
      const r = await IndexReader.open(new FileRangeSource(await richPath), { preloadBelow: 0 });
      const ms = spec.map(([t, n, v]) => new Matcher(t, n, v));
      const got = await r.postingsForMatchers(ms);
      const series = await r.series(got);
      const want = lsets.filter((l) => ms.every((m) => m.matches(l.get(m.name))));
      expect(series.map((s) => s.labels.toString())).toEqual(want.map((l) => l.toString()));
      await r.close();
    },
  );

  it('rejects out-of-order series', async () => {
    const w = await IndexWriter.create(join(mkdtempSync(join(tmpdir(), 'index-')), 'index'));
    w.addSeries(Labels.from({ a: '2' }), []);
    expect(() => w.addSeries(Labels.from({ a: '1' }), [])).toThrow(/out-of-order/);
    await w.close();
  });

  const golden = Buffer.from(SMALL_INDEX_HEX, 'hex');
  const toc = golden.length - 52;
  it.each([
    ['wrong magic', (b: Buffer) => b.writeUInt32BE(0x12345678, 0), /invalid magic/, 0],
    ['version 1', (b: Buffer) => b.writeUInt8(1, 4), /unsupported index version 1/, 4],
    ['TOC crc', (b: Buffer) => b.writeUInt8(b[toc]! ^ 1, toc), /table of contents checksum/, toc],
    ['symbol crc', (b: Buffer) => b.writeUInt8(b[12]! ^ 1, 12), /symbol table checksum/, 5],
    ['series crc', (b: Buffer) => b.writeUInt8(b[0x45]! ^ 1, 0x45), /series 4 checksum/, 0x41],
    ['postings crc', (b: Buffer) => b.writeUInt8(b[0xf5]! ^ 1, 0xf5), /postings checksum/, 0xf0],
  ] as const)('%s → CorruptionError with offset', async (_n, mutate, re, offset) => {
    const b = Buffer.from(golden);
    mutate(b);
    const err = await (async () => {
      const r = await IndexReader.open(new BytesRangeSource('blk/index', b));
      await r.series(await r.postingsForMatchers([new Matcher('=~', '__name__', '.+')]));
    })().catch((e) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toMatch(re);
    expect(err.file).toBe('blk/index');
    expect(err.offset).toBe(offset);
  });

  it.each([0, 4, 30, 100, 300, golden.length - 1])('truncated to %i bytes → CorruptionError', async (len) => {
    const dir = mkdtempSync(join(tmpdir(), 'index-'));
    writeFileSync(join(dir, 'index'), golden.subarray(0, len));
    for (const preloadBelow of [0, 1 << 20]) {
      const err = await (async () => {
        const r = await IndexReader.open(new FileRangeSource(join(dir, 'index')), { preloadBelow });
        await r.series(await r.allPostings());
      })().catch((e) => e);
      expect(err).toBeInstanceOf(CorruptionError);
    }
  });

  it('rejects a series reference outside the series section', async () => {
    const r = await IndexReader.open(new BytesRangeSource('i', golden));
    await expect(r.series([1000])).rejects.toThrow(CorruptionError);
  });
});
