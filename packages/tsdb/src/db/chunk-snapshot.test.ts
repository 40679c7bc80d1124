import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Head } from '../head/head.js';
import { Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
import { createReplayReader } from '../wal/replay-reader.js';
import { loadChunkSnapshot } from './chunk-snapshot.js';
import { type DB, openDB } from './db.js';

const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await removeTempDir(d);
});

async function fill(db: DB, series: number, from: number, to: number, stepMs: number): Promise<number> {
  let n = 0;
  for (let t = from; t < to; t += stepMs) {
    const app = db.appender();
    for (let s = 0; s < series; s++) {
      app.append(Labels.from({ __name__: 'm', s: String(s) }), t, t / 1000 + s);
      n++;
    }
    await app.commit();
  }
  return n;
}

async function dump(db: DB): Promise<string[]> {
  const out: string[] = [];
  for (const s of await db.queryable().select([new Matcher('=~', '__name__', '.+')], ALL))
    for (let i = 0; i < s.timestamps.length; i++) out.push(`${s.labels.toString()} ${s.values[i]} ${s.timestamps[i]}`);
  return out;
}

const open = (dir: string) => openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });

// Chunks restored from a snapshot reach chunks_head lazily (MemSeries.writeRestoredChunk): on the
// series' next cut, or on close. Either way, a later restart must find every sample.
describe('chunks restored from a snapshot', () => {
  it.each([
    { name: 'closed again without a new chunk (written on close)', to: 1_900_000 },
    { name: 'new chunks cut after the restart (written before them)', to: 7_400_000 },
  ])('survive the next restarts: $name', async ({ to }) => {
    const dir = await makeTempDir('chunk-snapshot-');
    dirs.push(dir);
    const first = await open(dir);
    let n = await fill(first, 20, 0, 1_800_000, 15_000);
    await first.close();
    const second = await open(dir);
    expect(second.walReplay.records).toBe(0);
    n += await fill(second, 20, 1_800_000, to, 15_000);
    const want = await dump(second);
    expect(want).toHaveLength(n);
    await second.close();
    expect(readdirSync(join(dir, 'chunks_head')).length).toBeGreaterThan(0);
    for (let k = 0; k < 2; k++) {
      const again = await open(dir);
      try {
        expect(again.walReplay.records).toBe(0);
        expect(await dump(again)).toEqual(want);
      } finally {
        await again.close();
      }
    }
    // Without the snapshot (deleted), chunks_head and the whole WAL still give everything back.
    const plain = await openDB({ dir, retentionMs: 0 });
    try {
      expect(await dump(plain)).toEqual(want);
    } finally {
      await plain.close();
    }
  });
});

// Small snapshots decode in place, large ones (1M series) on the worker: both must restore the
// same head.
describe('loadChunkSnapshot', () => {
  it('restores the same series, chunks and last values decoding in place and on a worker', async () => {
    const dir = await makeTempDir('chunk-snapshot-');
    dirs.push(dir);
    const db = await open(dir);
    await fill(db, 300, 0, 600_000, 15_000);
    const app = db.appender();
    app.append(Labels.from({ __name__: 'm', s: 'héllo ✓' }), 700_000, Number.NaN);
    await app.commit();
    await db.close();
    const heads: string[][] = [];
    for (const threaded of [false, true]) {
      const head = new Head();
      const reader = createReplayReader({ threaded });
      try {
        expect(reader.threaded).toBe(threaded);
        const loaded = await loadChunkSnapshot(head, dir, undefined, reader);
        expect(loaded?.series).toBe(301);
        expect(loaded?.restored).toHaveLength(301);
      } finally {
        await reader.close();
      }
      const out: string[] = [];
      for (const s of head.allSeries()) {
        const c = s.chunks.map((x) => `${x.minTime}-${x.maxTime}:${Buffer.from(x.data).toString('hex')}`);
        const v = Buffer.from(new Float64Array([s.lastValue]).buffer).toString('hex');
        out.push(`${s.ref} ${s.labels.toString()} ${c.join(',')} ${v}`);
      }
      heads.push(out.sort());
    }
    expect(heads[0]).toHaveLength(301);
    expect(heads[1]).toEqual(heads[0]);
  });
});
