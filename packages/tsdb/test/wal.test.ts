import { readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Labels } from '../src/labels/labels.js';
import {
  checkpoint,
  decodeRecord,
  decodeSamplesInto,
  encodeSamplesRecord,
  encodeSeriesRecord,
  encodeTombstonesRecord,
  lastCheckpoint,
  openWAL,
  RECORD_UNKNOWN,
  type RefSample,
  type RefSeries,
  readWAL,
  repairWAL,
  WAL_PAGE_SIZE,
  type WalCorruptionError,
  type WalEntry,
} from '../src/wal/index.js';

const STALE_NAN = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0] as number;

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

async function readAll(dir: string, opts?: { fromSegment?: number; toSegment?: number }): Promise<WalEntry[]> {
  const out: WalEntry[] = [];
  for await (const e of readWAL(dir, opts)) out.push(e);
  return out;
}

async function readUntilError(dir: string): Promise<{ entries: WalEntry[]; err: WalCorruptionError }> {
  const entries: WalEntry[] = [];
  try {
    for await (const e of readWAL(dir)) entries.push(e);
  } catch (err) {
    return { entries, err: err as WalCorruptionError };
  }
  throw new Error('expected a corruption error');
}

/** Deterministic record bytes of `n` bytes: first byte 200 (an unknown type), then a pattern. */
function payload(seed: number, n: number, compressible: boolean): Uint8Array {
  const b = new Uint8Array(n);
  let x = Math.imul(seed + 1, 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = compressible ? (i % 97) + (seed % 7) : x >>> 24;
  }
  if (n > 0) b[0] = 200;
  return b;
}

describe('WAL records', () => {
  it('encodes samples as Prometheus does (bases, zigzag deltas, big-endian floats)', () => {
    const rec = encodeSamplesRecord([
      { ref: 1, t: 1000, v: 1 },
      { ref: 2, t: 999, v: 2 },
    ]);
    expect(hex(rec)).toBe(
      '02' +
        '0000000000000001' +
        '00000000000003e8' +
        '00' +
        '00' +
        '3ff0000000000000' +
        '02' +
        '01' +
        '4000000000000000',
    );
  });

  it('encodes series as ref, label count and length-prefixed strings', () => {
    const rec = encodeSeriesRecord([{ ref: 3, labels: Labels.from({ __name__: 'up', job: 'é' }) }]);
    const want =
      '01' +
      '0000000000000003' +
      '02' +
      '08' +
      Buffer.from('__name__').toString('hex') +
      '02' +
      '7570' +
      '03' +
      '6a6f62';
    expect(hex(rec)).toBe(want + '02' + 'c3a9');
  });

  it.each([
    {
      name: 'series',
      series: [
        { ref: 1, labels: Labels.from({ __name__: 'up', job: 'a', instance: 'x:9090' }) },
        { ref: 2 ** 40 + 7, labels: Labels.from({ __name__: 'héllo_wörld', ['a'.repeat(300)]: 'v'.repeat(1000) }) },
        { ref: 0, labels: Labels.EMPTY },
      ] satisfies RefSeries[],
    },
  ])('round-trips a $name record', ({ series }) => {
    const got = decodeRecord(encodeSeriesRecord(series));
    expect(got.type).toBe('series');
    if (got.type !== 'series') return;
    expect(got.series.map((s) => ({ ref: s.ref, labels: s.labels.toRecord() }))).toEqual(
      series.map((s) => ({ ref: s.ref, labels: s.labels.toRecord() })),
    );
  });

  it.each([
    { name: 'empty', samples: [] as RefSample[] },
    {
      name: 'deltas both ways, stale NaN, negative time',
      samples: [
        { ref: 100, t: 1_700_000_000_000, v: 1.5 },
        { ref: 3, t: 1_699_999_999_000, v: -0 },
        { ref: 2 ** 33, t: 1_700_000_015_000, v: STALE_NAN },
        { ref: 100, t: -5, v: Number.POSITIVE_INFINITY },
        { ref: 7, t: 2 ** 52, v: 1e-300 },
      ],
    },
    {
      name: 'many',
      samples: Array.from({ length: 5000 }, (_, i) => ({ ref: (i * 37) % 1000, t: 1e12 + i * 15, v: Math.sin(i) })),
    },
  ])('round-trips a samples record: $name', ({ samples }) => {
    const rec = encodeSamplesRecord(samples);
    const got = decodeRecord(rec);
    expect(got).toEqual({ type: 'samples', samples });
    if (got.type === 'samples') {
      for (let i = 0; i < samples.length; i++) {
        // Bit-exact values: stale markers are a NaN payload.
        expect(Object.is(got.samples[i]?.v, samples[i]?.v)).toBe(true);
      }
    }
    const cols = decodeSamplesInto(rec);
    expect(cols.length).toBe(samples.length);
    for (let i = 0; i < samples.length; i++) {
      expect([cols.refs[i], cols.ts[i], cols.values[i]]).toEqual([samples[i]?.ref, samples[i]?.t, samples[i]?.v]);
    }
    // Reused columns are grown, not replaced, when big enough.
    expect(decodeSamplesInto(rec, cols)).toBe(cols);
  });

  it('round-trips tombstones, one entry per interval', () => {
    const rec = encodeTombstonesRecord([
      {
        ref: 5,
        intervals: [
          { minTime: -10, maxTime: 20 },
          { minTime: 100, maxTime: 2 ** 50 },
        ],
      },
      { ref: 9, intervals: [{ minTime: 0, maxTime: 0 }] },
    ]);
    expect(decodeRecord(rec)).toEqual({
      type: 'tombstones',
      tombstones: [
        { ref: 5, intervals: [{ minTime: -10, maxTime: 20 }] },
        { ref: 5, intervals: [{ minTime: 100, maxTime: 2 ** 50 }] },
        { ref: 9, intervals: [{ minTime: 0, maxTime: 0 }] },
      ],
    });
  });

  it.each([
    { name: 'empty record', rec: [], want: RECORD_UNKNOWN },
    { name: 'exemplars', rec: [4, 1, 2, 3], want: 4 },
    { name: 'mmap markers', rec: [5], want: 5 },
    { name: 'metadata', rec: [6, 9], want: 6 },
    { name: 'future type', rec: [42, 0], want: 42 },
  ])('decodes $name as unknown', ({ rec, want }) => {
    expect(decodeRecord(new Uint8Array(rec))).toEqual({ type: 'unknown', recordType: want });
  });

  it.each([
    { name: 'samples cut inside the base', rec: encodeSamplesRecord([{ ref: 1, t: 2, v: 3 }]).subarray(0, 10) },
    { name: 'samples cut inside a value', rec: encodeSamplesRecord([{ ref: 1, t: 2, v: 3 }]).subarray(0, 22) },
    {
      name: 'series cut inside a label',
      rec: encodeSeriesRecord([{ ref: 1, labels: Labels.from({ a: 'bcdef' }) }]).subarray(0, 14),
    },
    { name: 'series with a huge label count', rec: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0x03]) },
    { name: 'tombstone without maxt', rec: new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 1, 4]) },
    { name: 'varint longer than 10 bytes', rec: new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 1, ...Array(11).fill(0x80)]) },
  ])('rejects garbage: $name', ({ rec }) => {
    expect(() => decodeRecord(rec)).toThrow(expect.objectContaining({ code: 'TSDB_WAL_BAD_RECORD' }));
  });
});

describe('WAL segments', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await makeTempDir('wal-'), 'wal');
  });
  afterEach(async () => {
    await removeTempDir(join(dir, '..'));
  });

  it.each([
    { name: 'compressed', compress: true },
    { name: 'uncompressed', compress: false },
  ])('writes and reads records across pages and segments ($name)', async ({ compress }) => {
    // 4-page segments: records of 1 B … 300 KiB exercise full/first/middle/last fragments, the
    // "does not fit the rest of the segment" cut, and a record bigger than a whole segment.
    const sizes = [0, 1, 10, 7000, 32 * 1024 - 7, 32 * 1024, 40_000, 100_000, 3, 300_000, 5, 65_536, 12];
    const recs = sizes.map((n, i) => payload(i, n, i % 2 === 0));
    const w = await openWAL({ dir, segmentSizeBytes: 4 * WAL_PAGE_SIZE, compress });
    await w.log(recs.slice(0, 5));
    for (const r of recs.slice(5)) await w.log([r]);
    await w.close();
    await w.close(); // idempotent

    const files = (await readdir(dir)).sort();
    expect(files.length).toBeGreaterThan(compress ? 1 : 3);
    for (const f of files) expect((await stat(join(dir, f))).size % WAL_PAGE_SIZE).toBe(0);

    const got = await readAll(dir);
    expect(got.map((e) => hex(e.record))).toEqual(recs.map(hex));
    // Segments only ever grow past their size for a record that needs it.
    const seg300k = got[9]?.segment;
    expect(got.filter((e) => e.segment === seg300k)).toHaveLength(1);
    for (let i = 1; i < got.length; i++) {
      const [a, b] = [got[i - 1] as WalEntry, got[i] as WalEntry];
      expect(b.segment > a.segment || (b.segment === a.segment && b.offset > a.offset)).toBe(true);
    }
    // Ranges are inclusive at both ends.
    const mid = got[6]?.segment as number;
    const ranged = await readAll(dir, { fromSegment: mid, toSegment: mid });
    expect(ranged.map((e) => hex(e.record))).toEqual(got.filter((e) => e.segment === mid).map((e) => hex(e.record)));
  });

  it('compresses only when snappy makes a record smaller', async () => {
    const w = await openWAL({ dir, compress: true });
    await w.log([payload(1, 5000, true), payload(2, 5000, false)]);
    await w.close();
    const seg = await readFile(join(dir, '00000000'));
    expect(seg[0]).toBe(0x08 | 1); // snappy flag + full
    const firstLen = seg.readUInt16BE(1);
    expect(firstLen).toBeLessThan(5000);
    expect(seg[7 + firstLen]).toBe(1); // incompressible: plain full fragment
    expect(seg.readUInt16BE(7 + firstLen + 1)).toBe(5000);
  });

  it('continues in a new segment on reopen, cuts, lists and truncates segments', async () => {
    let w = await openWAL({ dir });
    expect(await w.segmentRange()).toEqual({ first: 0, last: 0 });
    await w.log([payload(1, 10, true)]);
    expect(await w.nextSegment()).toBe(1);
    await w.log([payload(2, 10, true)]);
    await w.sync();
    await w.close();
    await expect(w.log([payload(3, 1, true)])).rejects.toMatchObject({ code: 'TSDB_WAL_CLOSED' });

    w = await openWAL({ dir });
    expect(await w.segmentRange()).toEqual({ first: 0, last: 2 });
    // Concurrent log calls land whole and in call order.
    await Promise.all(Array.from({ length: 50 }, (_, i) => w.log([payload(10 + i, 500 + i * 100, i % 3 === 0)])));
    await w.truncate(1);
    expect(await w.segmentRange()).toEqual({ first: 1, last: 2 });
    await w.close();
    const got = await readAll(dir);
    expect(got.map((e) => hex(e.record))).toEqual(
      [payload(2, 10, true), ...Array.from({ length: 50 }, (_, i) => payload(10 + i, 500 + i * 100, i % 3 === 0))].map(
        hex,
      ),
    );
    expect(got[0]?.segment).toBe(1);
  });

  it('refuses a WAL whose segments are not sequential', async () => {
    const w = await openWAL({ dir });
    await w.nextSegment();
    await w.nextSegment();
    await w.close();
    await truncate(join(dir, '00000001'), 0);
    await writeFile(join(dir, '00000001.repair'), 'x'); // not a segment name: ignored
    expect(await readAll(dir)).toEqual([]);
    await rm(join(dir, '00000001'));
    await expect(readAll(dir)).rejects.toMatchObject({ code: 'TSDB_WAL_SEGMENTS' });
  });

  it('rejects a segment size that is not a multiple of a page', async () => {
    await expect(openWAL({ dir, segmentSizeBytes: 1000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('reports a torn last record and repair keeps everything before it', async () => {
    const w = await openWAL({ dir, compress: false });
    const small = Array.from({ length: 20 }, (_, i) => payload(i, 900, false));
    await w.log(small);
    await w.log([payload(99, 70_000, false)]); // first, middle, last fragments
    await w.close();
    const file = join(dir, '00000000');
    const entries = await readAll(dir);
    const lastStart = (entries[19] as WalEntry).offset;
    // A crash after the first fragment's page was written: the file ends at that page boundary.
    await truncate(file, Math.ceil(lastStart / WAL_PAGE_SIZE) * WAL_PAGE_SIZE + WAL_PAGE_SIZE);

    const { entries: before, err } = await readUntilError(dir);
    expect(err).toMatchObject({ code: 'TSDB_WAL_CORRUPT', segment: 0, detail: 'last record is torn' });
    expect(err.message).toMatch(/^corruption in segment .*00000000 at \d+: last record is torn$/);
    expect(before.map((e) => hex(e.record))).toEqual(small.map(hex));

    await repairWAL(dir, err);
    expect((await readAll(dir)).map((e) => hex(e.record))).toEqual(small.map(hex));
    const w2 = await openWAL({ dir });
    await w2.log([payload(100, 50, true)]);
    await w2.close();
    expect((await readAll(dir)).map((e) => hex(e.record))).toEqual([...small, payload(100, 50, true)].map(hex));
  });

  it('reports a record torn inside a fragment (short file) as a checksum error', async () => {
    const w = await openWAL({ dir, compress: false });
    await w.log([payload(1, 100, false), payload(2, 100, false)]);
    await w.close();
    await truncate(join(dir, '00000000'), 107 + 50);
    const { entries, err } = await readUntilError(dir);
    expect(entries).toHaveLength(1);
    expect(err).toMatchObject({ segment: 0, offset: 214 });
    expect(err.detail).toMatch(/^unexpected checksum [0-9a-f]+, expected [0-9a-f]+$/);
    await repairWAL(dir, err);
    expect((await readAll(dir)).map((e) => hex(e.record))).toEqual([hex(payload(1, 100, false))]);
  });

  it('names the segment and offset of a corruption in the middle, and repair drops what follows', async () => {
    const w = await openWAL({ dir, compress: false, segmentSizeBytes: 2 * WAL_PAGE_SIZE });
    const recs = Array.from({ length: 30 }, (_, i) => payload(i, 6000, false));
    for (const r of recs) await w.log([r]);
    await w.close();
    const entries = await readAll(dir);
    const inSeg1 = entries.filter((e) => e.segment === 1);
    expect(inSeg1.length).toBeGreaterThan(3);
    expect((await readdir(dir)).length).toBe(3);
    // Flip one data byte of the third record in segment 1.
    const victim = inSeg1[2] as WalEntry;
    const file = join(dir, '00000001');
    const bytes = await readFile(file);
    bytes[victim.offset - 100] = (bytes[victim.offset - 100] as number) ^ 0xff;
    await writeFile(file, bytes);

    const { entries: before, err } = await readUntilError(dir);
    expect(err).toMatchObject({ code: 'TSDB_WAL_CORRUPT', segment: 1, offset: victim.offset });
    expect(err.message).toContain(`${join(dir, '00000001')} at ${victim.offset}: unexpected checksum`);
    const keep = entries.filter((e) => e.segment === 0 || (e.segment === 1 && e.offset < victim.offset));
    expect(before.map((e) => hex(e.record))).toEqual(keep.map((e) => hex(e.record)));

    await repairWAL(dir, err);
    expect((await readdir(dir)).sort()).toEqual(['00000000', '00000001']);
    expect((await readAll(dir)).map((e) => hex(e.record))).toEqual(keep.map((e) => hex(e.record)));
  });

  it.each([
    { name: 'non-zero padding', at: (off: number) => off + 10, detail: 'unexpected non-zero byte in padded page' },
    { name: 'last fragment first', at: (off: number) => off - 107, value: 4, detail: /unexpected last record/ },
  ])('detects $name', async ({ at, value, detail }) => {
    const w = await openWAL({ dir, compress: false });
    await w.log([payload(1, 100, false)]);
    await w.close();
    const file = join(dir, '00000000');
    const bytes = await readFile(file);
    bytes[at(107)] = value ?? 1;
    await writeFile(file, bytes);
    const { err } = await readUntilError(dir);
    expect(err.detail).toMatch(detail);
  });

  it('checkpoints only kept series and samples at or after mint, folding in the last checkpoint', async () => {
    const w = await openWAL({ dir, compress: true });
    const labels = (i: number) => Labels.from({ __name__: 'm', i: String(i) });
    await w.log([encodeSeriesRecord(Array.from({ length: 10 }, (_, i) => ({ ref: i + 1, labels: labels(i + 1) })))]);
    for (let s = 0; s < 4; s++) {
      await w.log([
        encodeSamplesRecord(Array.from({ length: 10 }, (_, i) => ({ ref: i + 1, t: s * 1000 + i, v: s }))),
        encodeTombstonesRecord([{ ref: 2, intervals: [{ minTime: 0, maxTime: s * 1000 }] }]),
        new Uint8Array([4, 1, 2, 3]), // an exemplar-type record is carried over
        new Uint8Array([99, 1]), // an unknown type is dropped
      ]);
      await w.nextSegment();
    }
    await w.close();
    const keep = (ref: number) => ref % 2 === 0;

    const res = await checkpoint(dir, { fromSegment: 0, toSegment: 2, keep, mint: 1000 });
    expect(res).toEqual({ dir: join(dir, 'checkpoint.00000002'), droppedSeries: 5, droppedSamples: 10 });
    expect(await lastCheckpoint(dir)).toEqual({ dir: res.dir, index: 2 });
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint'))).toEqual(['checkpoint.00000002']);

    const decoded = [];
    for await (const e of readWAL(res.dir)) decoded.push(decodeRecord(e.record));
    const series = decoded.flatMap((r) => (r.type === 'series' ? r.series : []));
    expect(series.map((s) => s.ref)).toEqual([2, 4, 6, 8, 10]);
    expect(series[0]?.labels.toRecord()).toEqual({ __name__: 'm', i: '2' });
    const samples = decoded.flatMap((r) => (r.type === 'samples' ? r.samples : []));
    expect(samples).toHaveLength(20);
    expect(samples.every((s) => s.t >= 1000)).toBe(true);
    expect(decoded.filter((r) => r.type === 'tombstones')).toHaveLength(2);
    expect(decoded.filter((r) => r.type === 'unknown').map((r) => r.type === 'unknown' && r.recordType)).toEqual([
      4, 4, 4,
    ]);

    // The next checkpoint starts from the last one, which it replaces.
    const res2 = await checkpoint(dir, { fromSegment: 0, toSegment: 3, keep: (r) => r === 4, mint: 3000 });
    expect(res2.droppedSeries).toBe(4);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint'))).toEqual(['checkpoint.00000003']);
    const after = [];
    for await (const e of readWAL(res2.dir)) after.push(decodeRecord(e.record));
    expect(after.flatMap((r) => (r.type === 'series' ? r.series.map((s) => s.ref) : []))).toEqual([4]);
    expect(after.flatMap((r) => (r.type === 'samples' ? r.samples.map((s) => s.t) : []))).toEqual(
      Array.from({ length: 10 }, (_, i) => 3000 + i),
    );
    await expect(checkpoint(dir, { fromSegment: 5, toSegment: 6, keep, mint: 0 })).rejects.toThrow(
      'unexpected gap to last checkpoint. expected:4, requested:5',
    );
  });
});
