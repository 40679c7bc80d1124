import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type DB, openDB, openDBReadOnly } from '../src/db/index.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { Queryable } from '../src/storage/queryable.js';

const H = 3600_000;
const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const dirs: string[] = [];
const tmp = async () => {
  const d = await makeTempDir('db-');
  dirs.push(d);
  return d;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await removeTempDir(d);
});

/** Appends `series` series with one sample per `stepMs` in [from, to), committing per 1000 samples. */
async function fill(db: DB, series: number, from: number, to: number, stepMs: number): Promise<number> {
  let app = db.appender();
  let n = 0;
  const refs: number[] = [];
  for (let t = from; t < to; t += stepMs) {
    for (let s = 0; s < series; s++) {
      const ref = refs[s];
      refs[s] =
        ref === undefined
          ? app.append(Labels.from({ __name__: 'm', s: String(s) }), t, t / 1000 + s)
          : app.append(ref, t, t / 1000 + s);
      if (++n % 1000 === 0) {
        await app.commit();
        app = db.appender();
      }
    }
  }
  await app.commit();
  return n;
}

async function dump(q: Queryable): Promise<string[]> {
  const out: string[] = [];
  for (const s of await q.select([new Matcher('=~', '__name__', '.+')], ALL)) {
    for (let i = 0; i < s.timestamps.length; i++) out.push(`${s.labels.toString()} ${s.values[i]} ${s.timestamps[i]}`);
  }
  return out;
}

describe('openDB', () => {
  it('lays out the dir like Prometheus and replays committed samples after reopen', async () => {
    const dir = await tmp();
    const db = await openDB({ dir });
    const n = await fill(db, 10, 0, 600_000, 15_000);
    const before = await dump(db.queryable());
    expect(before).toHaveLength(n);
    await db.close();
    await db.close(); // idempotent
    expect(() => db.appender()).toThrow(expect.objectContaining({ code: 'TSDB_CLOSED' }));
    expect(existsSync(join(dir, 'chunks_head'))).toBe(true);
    expect(readdirSync(join(dir, 'wal'))).toEqual(['00000000']);
    await using again = await openDB({ dir });
    expect(await dump(again.queryable())).toEqual(before);
    expect(again.walReplay).toMatchObject({ samples: n, corruption: undefined });
    // A fresh segment per open, as Prometheus.
    expect(readdirSync(join(dir, 'wal'))).toEqual(['00000000', '00000001']);
  });

  it('compacts the oldest block range of the head, checkpoints and truncates the WAL', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, walSegmentSizeBytes: 32 * 1024, walCompression: false, retentionMs: 0 });
    const n = await fill(db, 20, 0, 5 * H, 30_000);
    const before = await dump(db.queryable());
    expect(before).toHaveLength(n);
    const segsBefore = readdirSync(join(dir, 'wal')).filter((f) => /^\d+$/.test(f)).length;
    expect(segsBefore).toBeGreaterThan(4);
    const res = await db.compactHead();
    expect(res.blocks).toHaveLength(1);
    const [block] = db.blocks();
    expect(block?.meta).toMatchObject({ minTime: 0, maxTime: 2 * H, stats: { numSeries: 20, numSamples: 20 * 240 } });
    expect(db.head.minTime).toBe(2 * H);
    expect(res.checkpoint).toBeDefined();
    const walFiles = readdirSync(join(dir, 'wal'));
    expect(walFiles).toContain(`checkpoint.${String(res.checkpoint).padStart(8, '0')}`);
    expect(walFiles.filter((f) => /^\d+$/.test(f)).length).toBeLessThan(segsBefore);
    // Same data through head + block, and after a reopen from block + checkpoint + WAL.
    expect(await dump(db.queryable())).toEqual(before);
    // The compacted range is closed for appends now.
    expect(() => db.appender().append(Labels.from({ __name__: 'm', s: '0' }), 2 * H - 1, 1)).toThrow('out of bounds');
    await db.close();
    await using again = await openDB({ dir, retentionMs: 0 });
    expect(await dump(again.queryable())).toEqual(before);
    expect(again.blocks()).toHaveLength(1);
    expect((await again.compactHead()).blocks).toHaveLength(0);
  });

  it('deletes blocks beyond time retention, newest block as the reference', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 3 * H });
    await fill(db, 2, 0, 9 * H, 60_000);
    const res = await db.compactHead();
    // Blocks [0,2h) [2h,4h) [4h,6h) are written; the newest ends at 6h, so [0,2h) (4h behind) goes.
    expect(db.blocks().map((b) => [b.meta.minTime, b.meta.maxTime])).toEqual([
      [2 * H, 4 * H],
      [4 * H, 6 * H],
    ]);
    expect(res.deleted).toHaveLength(1);
    expect(existsSync(join(dir, res.deleted[0] as string))).toBe(false);
    await db.close();
  });

  it('repairs a torn WAL tail and keeps what precedes it', async () => {
    const dir = await tmp();
    const db = await openDB({ dir });
    await fill(db, 5, 0, 300_000, 15_000);
    const kept = await dump(db.queryable());
    // One more commit whose record we then tear.
    const app = db.appender();
    app.append(Labels.from({ __name__: 'torn' }), 400_000, 1);
    await app.commit();
    await db.close();
    const seg = join(dir, 'wal', '00000000');
    const size = (await stat(seg)).size;
    // The WAL pads the last page on close; find the end of the data to tear the last record.
    const bytes = await readFile(seg);
    let end = size;
    while (end > 0 && bytes[end - 1] === 0) end--;
    await truncate(seg, end - 3);
    const warnings: Record<string, unknown>[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_: string, f?: Record<string, unknown>) => warnings.push(f ?? {}),
    };
    const again = await openDB({ dir, logger });
    expect(again.walReplay.corruption).toMatchObject({ code: 'TSDB_WAL_CORRUPT', segment: 0 });
    expect(warnings[0]).toMatchObject({ segment: 0 });
    expect(await dump(again.queryable())).toEqual(kept);
    // Appends continue, and the next open is clean.
    const app2 = again.appender();
    app2.append(Labels.from({ __name__: 'after' }), 500_000, 2);
    await app2.commit();
    await again.close();
    await using third = await openDB({ dir });
    expect(third.walReplay.corruption).toBeUndefined();
    expect(await dump(third.queryable())).toEqual(['{__name__="after"} 2 500000', ...kept]);
  });

  it('reports a corruption in the middle of the WAL with segment and offset, keeping the records before it', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, walSegmentSizeBytes: 32 * 1024, walCompression: false });
    await fill(db, 40, 0, 2 * H, 15_000);
    await db.close();
    const segs = readdirSync(join(dir, 'wal')).filter((f) => /^\d+$/.test(f));
    expect(segs.length).toBeGreaterThan(3);
    const victim = join(dir, 'wal', segs[2] as string);
    const bytes = await readFile(victim);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    await writeFile(victim, bytes);
    const again = await openDB({ dir });
    const c = again.walReplay.corruption;
    expect(c).toMatchObject({ segment: 2 });
    expect(c?.offset).toBeGreaterThan(0);
    expect(c?.message).toMatch(/corruption in segment .*00000002 at \d+/);
    const got = await dump(again.queryable());
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(40 * 480);
    // Later segments were dropped by the repair.
    expect(
      readdirSync(join(dir, 'wal'))
        .filter((f) => /^\d+$/.test(f))
        .map(Number),
    ).toEqual([0, 1, 2, 3]);
    await again.close();
  });

  it('accepts out-of-order samples in the window, keeps them over reopen and compacts them into blocks', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, outOfOrderTimeWindowMs: 30 * 60_000, retentionMs: 0 });
    const l = Labels.from({ __name__: 'ooo' });
    let app = db.appender();
    for (let t = 0; t <= 4 * H; t += 60_000) app.append(l, t, t);
    await app.commit();
    app = db.appender();
    app.append(l, 4 * H - 30_000, -1); // out of order, within 30m
    expect(() => app.append(l, 3 * H, -2)).toThrow('too old sample');
    await app.commit();
    await db.close();
    const again = await openDB({ dir, outOfOrderTimeWindowMs: 30 * 60_000, retentionMs: 0 });
    const got = (await again.queryable().select([], ALL))[0];
    expect(got?.timestamps.length).toBe(241 + 1);
    const i = got?.timestamps.indexOf(4 * H - 30_000) ?? -1;
    expect(got?.values[i]).toBe(-1);
    // Compaction: [0,2h) holds in-order data only; the OOO sample stays in the head until its range goes.
    await again.compactHead();
    expect(again.blocks()).toHaveLength(1);
    expect(await dump(again.queryable())).toHaveLength(242);
    await again.close();
  });

  it('removes leftover temporary block dirs on open', async () => {
    const dir = await tmp();
    await mkdir(join(dir, '01H00000000000000000000000.tmp-for-creation'), { recursive: true });
    await mkdir(join(dir, '01H00000000000000000000001.tmp-for-deletion'), { recursive: true });
    await using db = await openDB({ dir });
    expect(readdirSync(dir).sort()).toEqual(['chunks_head', 'wal']);
    expect(db.blocks()).toHaveLength(0);
  });

  it('openDBReadOnly reads blocks and WAL without changing the directory', async () => {
    const dir = await tmp();
    const db = await openDB({ dir, retentionMs: 0 });
    await fill(db, 3, 0, 5 * H, 60_000);
    await db.compactHead();
    const want = await dump(db.queryable());
    await db.close();
    const listing = () => readdirSync(dir, { recursive: true }).map(String).sort();
    const before = listing();
    await using ro = await openDBReadOnly({ dir });
    expect(await dump(ro.queryable())).toEqual(want);
    expect(listing()).toEqual(before);
  });
});
