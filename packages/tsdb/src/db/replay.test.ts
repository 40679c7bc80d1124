// A head rebuilt from the WAL must equal the head that wrote it, byte for byte (closed chunks, the
// open chunk's bytes and its writer state, out-of-order chunks), whether the WAL is decoded in
// place or on the worker, and whichever thread decodes its first records (see replay-reader.ts).
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { counterFloatHistograms, counterHistograms } from '../../test/histogram-fixtures.js';
import { decodeXorInto, XorEncoder, xorNumSamples } from '../chunkenc/xor.js';
import { createHead, type Head } from '../head/head.js';
import { Labels } from '../labels/labels.js';
import { encodeSamplesRecord, encodeSeriesRecord } from '../wal/records.js';
import { createReplayReader } from '../wal/replay-reader.js';
import { openWAL } from '../wal/wal.js';
import { type DB, openDB } from './db.js';
import { replayWAL } from './replay.js';

const H = 3600_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Everything a head holds per series, in ref order.
function dumpHead(head: Head): string[] {
  const out: string[] = [`series=${head.numSeries} min=${head.minTime} max=${head.maxTime}`];
  const all = [...head.allSeries()].sort((a, b) => a.ref - b.ref);
  for (const s of all) {
    out.push(`${s.ref} ${s.labels.toString()} last=${s.lastValue} max=${s.maxTime()}`);
    for (const c of s.chunksOverlapping(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER))
      out.push(`  ${c.minTime}..${c.maxTime} enc=${c.encoding ?? 0} ${hex(c.data)}`);
  }
  return out;
}

// The float samples of a head, by series labels, decoded from its chunks; each XOR chunk must be
// what a fresh XorEncoder makes of its samples (the head's open chunks are written sample by
// sample into state kept in the series, which this checks against an independent encoder).
function floatSamples(head: Head): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of head.allSeries()) {
    const got: string[] = [];
    for (const c of s.chunksOverlapping(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, false)) {
      if (c.encoding !== undefined) continue;
      const n = xorNumSamples(c.data);
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      decodeXorInto(c.data, ts, vs);
      const enc = new XorEncoder();
      for (let i = 0; i < n; i++) {
        enc.append(ts[i] as number, vs[i] as number);
        got.push(`${ts[i]} ${vs[i]}`);
      }
      expect(hex(c.data)).toBe(hex(enc.bytes()));
    }
    out.set(s.labels.toString(), got);
  }
  return out;
}

const dirs: string[] = [];
const dbs: DB[] = [];
afterEach(async () => {
  // The DBs are left open on purpose (a crash leaves no clean close); close them before removing.
  for (const db of dbs.splice(0)) await db.close().catch(() => {});
  for (const d of dirs.splice(0)) await removeTempDir(d);
});

// Writes through a DB's appenders and leaves it open, as after a SIGKILL: the WAL is all there is.
async function writeCrashed(
  kind: 'floats' | 'histograms' | 'ooo',
): Promise<{ dir: string; db: DB; oooWindow: number; written: Map<string, string[]> }> {
  const written = new Map<string, string[]>();
  const dir = await makeTempDir('replay-eq-');
  dirs.push(dir);
  const oooWindow = kind === 'ooo' ? 2 * H : 0;
  const db = await openDB({ dir, retentionMs: 0, outOfOrderTimeWindowMs: oooWindow });
  dbs.push(db);
  // Enough series for a few replay batches; enough samples for cut chunks (120+ per chunk, a
  // 2h boundary) and open chunks of every length, with repeated values and stale-like NaNs.
  const series = Array.from({ length: 400 }, (_, i) =>
    Labels.from({ __name__: `m_${i % 7}`, instance: `host-${i}`, job: i % 3 === 0 ? 'nöde' : 'node' }),
  );
  for (let step = 0; step < 200; step++) {
    const app = db.appender();
    const t = step * 60_000;
    for (let i = 0; i < series.length; i++) {
      if (step > 150 + (i % 50)) continue;
      const v = i % 5 === 0 ? 42 : i % 11 === 0 && step % 17 === 0 ? Number.NaN : step * 0.25 + i;
      const l = series[i] as Labels;
      app.append(l, t + (i % 13) * 1000, v);
      const w = written.get(l.toString()) ?? [];
      w.push(`${t + (i % 13) * 1000} ${v}`);
      written.set(l.toString(), w);
    }
    await app.commit();
  }
  if (kind === 'histograms') {
    const app = db.appender();
    for (const { t, h } of counterHistograms(150, 150 * 60_000, { resetAt: 90 }))
      app.appendHistogram(Labels.from({ __name__: 'h_int' }), t, h);
    for (const { t, h } of counterFloatHistograms(130, 150 * 60_000, { seed: 7 }))
      app.appendFloatHistogram(Labels.from({ __name__: 'h_float' }), t, h);
    await app.commit();
  }
  if (kind === 'ooo') {
    // Behind the newest sample, inside the window: out-of-order chunks of several cuts.
    for (let k = 0; k < 80; k++) {
      const app = db.appender();
      for (let i = 0; i < 40; i++) app.append(series[i] as Labels, 199 * 60_000 - H + k * 7_000 + 500, k + i);
      await app.commit();
    }
  }
  return { dir, db, oooWindow, written };
}

describe.each([
  { name: 'in place', threaded: false },
  { name: 'worker', threaded: true },
])('replayed head equals the head that wrote the WAL (decoded $name)', ({ threaded }) => {
  it.each([{ kind: 'floats' as const }, { kind: 'histograms' as const }, { kind: 'ooo' as const }])(
    '$kind',
    async ({ kind }) => {
      const { dir, db, oooWindow, written } = await writeCrashed(kind);
      const head = createHead({ outOfOrderTimeWindowMs: oooWindow });
      const reader = createReplayReader({ threaded, minBytes: 0 });
      try {
        expect(reader.threaded).toBe(threaded);
        const res = await replayWAL(head, join(dir, 'wal'), { reader });
        expect(res.corruption).toBeUndefined();
        expect(res.unknownRefs).toBe(0);
      } finally {
        await reader.close();
      }
      expect(dumpHead(head)).toEqual(dumpHead(db.head));
      if (kind === 'floats') expect(floatSamples(head)).toEqual(written);
      else floatSamples(head);
      // Appending after the replay continues the open chunks as the writer would have.
      const t = db.head.maxTime + 15_000;
      for (const h of [head, db.head]) for (const s of h.allSeries()) h.replaySample(s, t, 1.5);
      expect(dumpHead(head)).toEqual(dumpHead(db.head));
      floatSamples(head);
    },
  );
});

describe('replay of a series logged twice', () => {
  it.each([{ threaded: false }, { threaded: true }])(
    'maps the second ref onto the first series (threaded=$threaded)',
    async ({ threaded }) => {
      const { dir, db } = await writeCrashed('floats');
      const target = [...db.head.allSeries()][5];
      expect(target).toBeDefined();
      if (target === undefined) return;
      const dupRef = 100_000;
      const t = db.head.maxTime + 60_000;
      // Another writer's series record for the same labels under a new ref, then samples by it.
      const w = await openWAL({ dir: join(dir, 'wal') });
      await w.log([
        encodeSeriesRecord([{ ref: dupRef, labels: target.labels }]),
        encodeSamplesRecord([
          { ref: dupRef, t, v: 7 },
          { ref: dupRef, t: t + 15_000, v: 8 },
        ]),
      ]);
      await w.close();
      const head = createHead();
      const reader = createReplayReader({ threaded, minBytes: 0 });
      try {
        const res = await replayWAL(head, join(dir, 'wal'), { reader });
        expect(res.unknownRefs).toBe(0);
      } finally {
        await reader.close();
      }
      expect(head.numSeries).toBe(db.head.numSeries);
      expect(head.getByRef(dupRef)).toBeUndefined();
      for (const h of [db.head]) {
        const s = h.getByRef(target.ref);
        if (s === undefined) throw new Error('target series missing');
        h.replaySample(s, t, 7);
        h.replaySample(s, t + 15_000, 8);
      }
      expect(dumpHead(head)).toEqual(dumpHead(db.head));
    },
  );
});
