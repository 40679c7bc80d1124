import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
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
