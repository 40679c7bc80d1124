// chunks_head files (Prometheus's head chunk format) and chunk snapshots on shutdown: what the
// DB writes, what a restart loads from them instead of the WAL, and the fallbacks to a full WAL
// replay when they are damaged.
import { readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeXorChunk } from '../src/chunkenc/xor-bulk.js';
import { HeadChunkDiskMapper } from '../src/chunks-head/disk-mapper.js';
import { HeadChunksCorruptionError } from '../src/chunks-head/errors.js';
import {
  headChunkEntrySize,
  headChunkFileName,
  headChunkRef,
  iterateHeadChunkFile,
  unpackHeadChunkRef,
} from '../src/chunks-head/format.js';
import { chunkSnapshotDirName } from '../src/db/chunk-snapshot.js';
import { type DB, type DBLogger, openDB } from '../src/db/index.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { Queryable } from '../src/storage/queryable.js';
import { counterHistograms } from './histogram-fixtures.js';

const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const dirs: string[] = [];
const tmp = async () => {
  const d = await makeTempDir('chunks-head-');
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await removeTempDir(d);
});

function captureLogger(): DBLogger & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error') };
}

/** Appends `series` series, one sample per stepMs in [from, to), one commit per timestamp. */
async function fill(db: DB, series: number, from: number, to: number, stepMs: number): Promise<number> {
  let n = 0;
  for (let t = from; t < to; t += stepMs) {
    const app = db.appender();
    for (let s = 0; s < series; s++) {
      app.append(Labels.from({ __name__: 'm', s: String(s) }), t, Math.sin(t / 1e5 + s) * 100);
      n++;
    }
    await app.commit();
  }
  return n;
}

async function dump(q: Queryable): Promise<string[]> {
  const out: string[] = [];
  for (const s of await q.select([new Matcher('=~', '__name__', '.+')], ALL))
    for (let i = 0; i < s.timestamps.length; i++) out.push(`${s.labels.toString()} ${s.values[i]} ${s.timestamps[i]}`);
  return out;
}

function chunkFiles(dir: string): string[] {
  return readdirSync(join(dir, 'chunks_head')).sort();
}

function snapshots(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('chunk_snapshot.'))
    .sort();
}

describe('head chunk files', () => {
  it('writes chunks in Prometheus layout: 000001, magic + version header, CRC32C entries, refs seq<<32|offset', async () => {
    const dir = await tmp();
    const m = await HeadChunkDiskMapper.open(dir);
    const a = encodeXorChunk([1000, 2000, 3000], [1, 2, 3], 0, 3);
    const b = encodeXorChunk([5000], [-7.5], 0, 1);
    const ra = m.writeChunk(42, 1000, 3000, 1, a);
    const rb = m.writeChunk(2 ** 40 + 3, -5000, 5000, 1, b);
    await m.close();
    expect(readdirSync(dir)).toEqual(['000001']);
    const file = await readFile(join(dir, '000001'));
    expect([...file.subarray(0, 8)]).toEqual([0x01, 0x30, 0xbc, 0x91, 1, 0, 0, 0]);
    expect(unpackHeadChunkRef(ra)).toEqual({ seq: 1, offset: 8 });
    expect(rb).toBe(headChunkRef(1, 8 + headChunkEntrySize(a.length)));
    expect(file.length).toBe(8 + headChunkEntrySize(a.length) + headChunkEntrySize(b.length));
    // Series ref and mint/maxt are 8-byte big endian (negative times two's complement).
    expect([...file.subarray(8, 16)]).toEqual([0, 0, 0, 0, 0, 0, 0, 42]);
    const got: unknown[] = [];
    iterateHeadChunkFile(dir, 1, file, (seriesRef, ref, mint, maxt, encoding, data) =>
      got.push({ seriesRef, ref, mint, maxt, encoding, data: [...data] }),
    );
    expect(got).toEqual([
      { seriesRef: 42, ref: ra, mint: 1000, maxt: 3000, encoding: 1, data: [...a] },
      { seriesRef: 2 ** 40 + 3, ref: rb, mint: -5000, maxt: 5000, encoding: 1, data: [...b] },
    ]);
    // A flipped data byte fails the CRC with Prometheus's message.
    const bad = Uint8Array.from(file);
    bad[8 + 30] = (bad[8 + 30] as number) ^ 0xff;
    expect(() => iterateHeadChunkFile(dir, 1, bad, () => {})).toThrow(/checksum mismatch expected:/);
    // A torn entry at the end is corruption; zeros at the end (preallocation) are not.
    expect(() => iterateHeadChunkFile(dir, 1, file.subarray(0, file.length - 3), () => {})).toThrow(
      HeadChunksCorruptionError,
    );
    const padded = new Uint8Array(file.length + 100);
    padded.set(file);
    let n = 0;
    iterateHeadChunkFile(dir, 1, padded, () => n++);
    expect(n).toBe(2);
    expect(headChunkFileName(123)).toBe('000123');
  });

  it('a new mapper continues in the next file; truncate deletes files before the oldest live one', async () => {
    const dir = await tmp();
    const c = encodeXorChunk([1], [1], 0, 1);
    let m = await HeadChunkDiskMapper.open(dir);
    m.writeChunk(1, 1, 1, 1, c);
    await m.close();
    m = await HeadChunkDiskMapper.open(dir);
    const loaded = await m.loadAll(Number.NEGATIVE_INFINITY);
    expect(loaded.chunks).toBe(1);
    expect(unpackHeadChunkRef(m.writeChunk(1, 2, 2, 1, c)).seq).toBe(2);
    await m.truncate(2);
    expect(readdirSync(dir)).toEqual(['000002']);
    // The current file is never deleted; the next chunk then goes to a new file.
    await m.truncate(100);
    expect(readdirSync(dir)).toEqual(['000002']);
    expect(unpackHeadChunkRef(m.writeChunk(1, 3, 3, 1, c)).seq).toBe(3);
    await m.close();
    expect(readdirSync(dir)).toEqual(['000002', '000003']);
  });
});

describe('DB with chunks_head', () => {
  it('a restart loads full chunks from chunks_head and replays only the WAL samples after them', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0 });
    const n = await fill(db, 20, 0, 3600_000, 10_000);
    const before = await dump(db.queryable());
    expect(before).toHaveLength(n);
    const chunksBefore = db.head.stats().numChunks;
    await db.close();
    expect(chunkFiles(dir)).toEqual(['000001']);
    const again = await openDB({ dir, retentionMs: 0 });
    try {
      expect(await dump(again.queryable())).toEqual(before);
      expect(again.walReplay.mmappedChunks).toBeGreaterThan(0);
      expect(again.walReplay.samples + again.walReplay.mmappedSamples).toBe(n);
      expect(again.walReplay.samples).toBeLessThan(n / 2);
      expect(again.head.stats().numChunks).toBe(chunksBefore);
      // Byte-identical chunks: the ones loaded are what the first run cut.
      const s = await again.queryable().select([new Matcher('=', 's', '3')], ALL);
      expect(s[0]?.timestamps.length).toBe(n / 20);
    } finally {
      await again.close();
    }
  });

  it('a corrupt chunk file is deleted with a warning and its samples come from the WAL', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0 });
    const n = await fill(db, 5, 0, 3600_000, 10_000);
    const before = await dump(db.queryable());
    await db.close();
    const f = join(dir, 'chunks_head', '000001');
    const bytes = await readFile(f);
    bytes[100] = (bytes[100] as number) ^ 0x55;
    await writeFile(f, bytes);
    const logger = captureLogger();
    const again = await openDB({ dir, retentionMs: 0, logger });
    try {
      expect(logger.lines.some((l) => l.startsWith('warn loading on-disk chunks failed'))).toBe(true);
      expect(again.walReplay.samples).toBe(n);
      expect(await dump(again.queryable())).toEqual(before);
    } finally {
      await again.close();
    }
    // The chunks cut again by that replay went to a fresh 000001, which the next open reads.
    const logger3 = captureLogger();
    const third = await openDB({ dir, retentionMs: 0, logger: logger3 });
    try {
      expect(logger3.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
      expect(third.walReplay.mmappedChunks).toBeGreaterThan(0);
      expect(await dump(third.queryable())).toEqual(before);
    } finally {
      await third.close();
    }
  });

  it('compaction deletes chunk files whose chunks all went into a block', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0 });
    await fill(db, 5, 0, 3 * 3600_000, 10_000);
    await db.close();
    const db2 = await openDB({ dir, retentionMs: 0 });
    await fill(db2, 5, 3 * 3600_000, 6 * 3600_000, 10_000);
    const before = await dump(db2.queryable());
    const res = await db2.compactHead();
    expect(res.blocks.length).toBeGreaterThan(0);
    // File 1 held the first run's chunks (0-3h), all older than the head now.
    expect(chunkFiles(dir)).not.toContain('000001');
    await db2.close();
    const db3 = await openDB({ dir, retentionMs: 0 });
    try {
      expect(await dump(db3.queryable())).toEqual(before);
    } finally {
      await db3.close();
    }
  });
});

describe('chunk snapshot on shutdown', () => {
  it('close writes chunk_snapshot.<segment>.<offset>; open loads it and replays no WAL record before it', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    let n = await fill(db, 30, 0, 1800_000, 10_000);
    // Labels beyond ASCII and a stale marker round-trip through the snapshot's encoder.
    const app = db.appender();
    app.append(Labels.from({ __name__: 'm', s: 'héllo ✓', zone: 'ü' }), 5_000, Number.NaN);
    await app.commit();
    n++;
    const before = await dump(db.queryable());
    await db.close();
    expect(snapshots(dir)).toHaveLength(1);
    expect(snapshots(dir)[0]).toMatch(/^chunk_snapshot\.\d{6}\.\d{10}$/);
    const again = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    expect(again.walReplay.records).toBe(0);
    expect(again.head.numSeries).toBe(31);
    expect(await dump(again.queryable())).toEqual(before);
    // New samples after the restart, then a crash (no close): the old snapshot plus the WAL
    // after it give everything back.
    const m = await fill(again, 30, 1800_000, 2400_000, 10_000);
    expect(before.some((l) => l.includes('héllo ✓'))).toBe(true);
    const after = await dump(again.queryable());
    expect(after).toHaveLength(n + m);
    const crashed = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    try {
      expect(crashed.walReplay.records).toBeGreaterThan(0);
      expect(crashed.walReplay.samples).toBeLessThanOrEqual(m);
      expect(await dump(crashed.queryable())).toEqual(after);
    } finally {
      await crashed.close();
      await again.close();
    }
  });

  it('native histogram chunks go to chunks_head and through a snapshot unchanged', async () => {
    const dir = await tmp();
    const ints = counterHistograms(400, 0, { resetAt: 250, stepMs: 15_000 });
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    for (let i = 0; i < ints.length; i += 50) {
      const app = db.appender();
      for (const { t, h } of ints.slice(i, i + 50)) app.appendHistogram(Labels.from({ __name__: 'h' }), t, h);
      await app.commit();
    }
    const got = async (d: DB) => {
      const [s] = await d.queryable().select([new Matcher('=', '__name__', 'h')], ALL);
      return { ts: [...(s?.histograms?.timestamps ?? [])], hs: JSON.stringify(s?.histograms?.values) };
    };
    const before = await got(db);
    expect(before.ts).toHaveLength(400);
    await db.close();
    const again = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    try {
      expect(again.walReplay.records).toBe(0);
      expect(await got(again)).toEqual(before);
    } finally {
      await again.close();
    }
    // Without the snapshot: histogram chunks from chunks_head, the rest from the WAL.
    const plain = await openDB({ dir, retentionMs: 0 });
    try {
      expect(plain.walReplay.mmappedChunks).toBeGreaterThan(0);
      expect(await got(plain)).toEqual(before);
    } finally {
      await plain.close();
    }
  });

  it('without the option the snapshot is ignored and the WAL replayed', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    const n = await fill(db, 10, 0, 600_000, 10_000);
    const before = await dump(db.queryable());
    await db.close();
    const again = await openDB({ dir, retentionMs: 0 });
    try {
      expect(again.walReplay.samples).toBe(n);
      expect(await dump(again.queryable())).toEqual(before);
    } finally {
      await again.close();
    }
  });

  it('a corrupt snapshot falls back to a full WAL replay with a warning, losing nothing', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    const n = await fill(db, 10, 0, 600_000, 10_000);
    const before = await dump(db.queryable());
    await db.close();
    const snap = join(dir, snapshots(dir)[0] as string, '00000000');
    const bytes = await readFile(snap);
    // A non-zero byte in the last page's padding: found only after every series was loaded.
    bytes[bytes.length - 1] = 1;
    await writeFile(snap, bytes);
    const logger = captureLogger();
    const again = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true, logger });
    try {
      expect(logger.lines.some((l) => l.startsWith('warn failed to load chunk snapshot'))).toBe(true);
      expect(again.walReplay.samples).toBe(n);
      expect(await dump(again.queryable())).toEqual(before);
    } finally {
      await again.close();
    }
    // The half-loaded snapshot left nothing in chunks_head: the next opens read it cleanly.
    for (const enableMemorySnapshotOnShutdown of [false, true]) {
      const logger2 = captureLogger();
      const third = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown, logger: logger2 });
      try {
        expect(logger2.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
        expect(await dump(third.queryable())).toEqual(before);
      } finally {
        await third.close();
      }
    }
  });

  it('a snapshot whose chunk files are gone is not used (its WAL is replayed in full)', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    await fill(db, 10, 0, 3600_000, 10_000);
    const before = await dump(db.queryable());
    await db.close();
    // A torn chunk file: Prometheus deletes it and cannot trust the snapshot either.
    const f = join(dir, 'chunks_head', chunkFiles(dir)[0] as string);
    const bytes = await readFile(f);
    await writeFile(f, bytes.subarray(0, bytes.length - 5));
    const again = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    try {
      expect(again.walReplay.records).toBeGreaterThan(0);
      expect(await dump(again.queryable())).toEqual(before);
    } finally {
      await again.close();
    }
  });

  it('names the snapshot after the WAL position and replaces older ones', async () => {
    expect(chunkSnapshotDirName(3, 65536)).toBe('chunk_snapshot.000003.0000065536');
    const dir = await tmp();
    for (let round = 0; round < 3; round++) {
      const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
      await fill(db, 3, round * 60_000, (round + 1) * 60_000, 10_000);
      await db.close();
      expect(snapshots(dir)).toHaveLength(1);
    }
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    try {
      expect((await dump(db.queryable())).length).toBe(3 * 18);
    } finally {
      await db.close();
    }
  });
});
