// chunks_head files and chunk snapshots shared with Prometheus 2.42: each starts on the other's
// data dir, uses its head chunk files (no corruption counted, files kept) and its
// memory-snapshot-on-shutdown snapshot, and answers exactly the samples written.
import { existsSync, readdirSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  e2eRequired,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type DB, type DBLogger, openDB } from '../src/db/index.js';
import { Labels } from '../src/labels/labels.js';
import { Matcher } from '../src/labels/matcher.js';
import type { Queryable } from '../src/storage/queryable.js';
import { type PushSeries, remoteWrite } from './remote-write.js';

const have = programAvailable('prometheus');
if (!have && !e2eRequired()) console.warn('SKIPPING chunks-head-prometheus tests: prometheus is not installed');
const d = have || e2eRequired() ? describe : describe.skip;

const ALL = { start: Number.MIN_SAFE_INTEGER, end: Number.MAX_SAFE_INTEGER };
const SNAPSHOT_FLAG = '--enable-feature=memory-snapshot-on-shutdown';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const STEP = 15_000;
const N_SERIES = 12;
const N_SAMPLES = 500; // ~4 chunks per series at 15 s
const END = Math.floor(Date.now() / 60_000) * 60_000;
const START = END - (N_SAMPLES - 1) * STEP;

function labelsOf(s: number): Labels {
  return Labels.from({ __name__: 'ch_metric', instance: `host-${s}`, job: 'chunks' });
}
function value(s: number, i: number): number {
  return s % 2 === 0 ? i * (s + 1) : Math.round(Math.sin(i / 7 + s) * 1e6) / 1e3;
}

/** What every test writes: `{labels} value ts` lines, sorted. */
function expected(): string[] {
  const out: string[] = [];
  for (let s = 0; s < N_SERIES; s++)
    for (let i = 0; i < N_SAMPLES; i++) out.push(`${labelsOf(s).toString()} ${value(s, i)} ${START + i * STEP}`);
  return out.sort();
}

async function dump(q: Queryable): Promise<string[]> {
  const out: string[] = [];
  for (const s of await q.select([new Matcher('=', 'job', 'chunks')], ALL))
    for (let i = 0; i < s.timestamps.length; i++) out.push(`${s.labels.toString()} ${s.values[i]} ${s.timestamps[i]}`);
  return out.sort();
}

async function fillOurs(db: DB): Promise<void> {
  for (let i = 0; i < N_SAMPLES; i++) {
    const app = db.appender();
    for (let s = 0; s < N_SERIES; s++) app.append(labelsOf(s), START + i * STEP, value(s, i));
    await app.commit();
  }
}

async function fillPrometheus(p: RunningPrometheus): Promise<void> {
  for (let from = 0; from < N_SAMPLES; from += 50) {
    const batch: PushSeries[] = [];
    for (let s = 0; s < N_SERIES; s++) {
      const samples = [];
      for (let i = from; i < Math.min(N_SAMPLES, from + 50); i++) samples.push({ t: START + i * STEP, v: value(s, i) });
      batch.push({
        labels: [
          ['__name__', 'ch_metric'],
          ['instance', `host-${s}`],
          ['job', 'chunks'],
        ],
        samples,
      });
    }
    await remoteWrite(p.url, batch);
  }
}

/** Prometheus's raw samples of every series over the whole range, as dump lines. */
async function promDump(p: RunningPrometheus): Promise<string[]> {
  const u = new URL(`${p.url}/api/v1/query`);
  u.searchParams.set('query', `ch_metric[${Math.ceil((END - START) / 1000) + 60}s]`);
  u.searchParams.set('time', String(END / 1000));
  const body = (await (await fetch(u)).json()) as {
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  const out: string[] = [];
  for (const r of body.data.result)
    for (const [t, v] of r.values) out.push(`${Labels.from(r.metric).toString()} ${Number(v)} ${Math.round(t * 1000)}`);
  return out.sort();
}

async function metric(p: RunningPrometheus, name: string): Promise<number> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`metric ${name} not exposed`);
  return Number(line.split(' ')[1]);
}

function captureLogger(): DBLogger & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, debug: put('debug'), info: put('info'), warn: put('warn'), error: put('error') };
}

d('chunks_head and chunk snapshots shared with Prometheus 2.42', () => {
  it('Prometheus starts on our chunks_head + WAL, uses our chunk files and answers our samples; we read its files back', async () => {
    const dir = await makeTempDir('ours-chunks-');
    cleanups.push(() => removeTempDir(dir));
    const db = await openDB({ dir, retentionMs: 0 });
    await fillOurs(db);
    expect(await dump(db.queryable())).toEqual(expected());
    await db.close();
    const ourFiles = readdirSync(join(dir, 'chunks_head'));
    expect(ourFiles).toEqual(['000001']);
    const prom = await startPrometheus({ dataDir: dir });
    cleanups.push(() => prom.stop());
    expect(await promDump(prom)).toEqual(expected());
    expect(await metric(prom, 'prometheus_tsdb_mmap_chunk_corruptions_total')).toBe(0);
    // Our file is still there: Prometheus loaded it rather than deleting it as corrupt.
    expect(existsSync(join(dir, 'chunks_head', '000001'))).toBe(true);
    const log = await readFile(prom.process.logFile, 'utf8');
    expect(log).not.toMatch(/Loading on-disk chunks failed|out of sequence/);
    await prom.stop();
    // And back: our open reads the chunk files Prometheus left (ours plus any it cut).
    const logger = captureLogger();
    const again = await openDB({ dir, retentionMs: 0, logger });
    try {
      expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
      expect(again.walReplay.mmappedChunks).toBeGreaterThan(0);
      expect(await dump(again.queryable())).toEqual(expected());
    } finally {
      await again.close();
    }
  });

  it("we open Prometheus's chunks_head + WAL after its shutdown: full chunks from its files, exactly its samples", async () => {
    const dir = await makeTempDir('prom-chunks-');
    cleanups.push(() => removeTempDir(dir));
    const prom = await startPrometheus({ dataDir: dir });
    cleanups.push(() => prom.stop());
    await fillPrometheus(prom);
    await prom.stop();
    expect(readdirSync(join(dir, 'chunks_head')).length).toBeGreaterThan(0);
    const logger = captureLogger();
    const db = await openDB({ dir, retentionMs: 0, logger });
    try {
      expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
      expect(db.walReplay.mmappedChunks).toBeGreaterThanOrEqual(N_SERIES * 3);
      expect(db.walReplay.samples + db.walReplay.mmappedSamples).toBe(N_SERIES * N_SAMPLES);
      expect(await dump(db.queryable())).toEqual(expected());
    } finally {
      await db.close();
    }
  });

  it("we load Prometheus's memory-snapshot-on-shutdown snapshot: no WAL record replayed, exactly its samples", async () => {
    const dir = await makeTempDir('prom-snap-');
    cleanups.push(() => removeTempDir(dir));
    const prom = await startPrometheus({ dataDir: dir, extraArgs: [SNAPSHOT_FLAG] });
    cleanups.push(() => prom.stop());
    await fillPrometheus(prom);
    await prom.stop();
    const snaps = readdirSync(dir).filter((n) => n.startsWith('chunk_snapshot.'));
    expect(snaps).toHaveLength(1);
    const logger = captureLogger();
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true, logger });
    try {
      expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
      expect(logger.lines.some((l) => l.startsWith('info chunk snapshot loaded'))).toBe(true);
      expect(db.walReplay.records).toBe(0);
      expect(await dump(db.queryable())).toEqual(expected());
    } finally {
      await db.close();
    }
  });

  it('Prometheus with memory-snapshot-on-shutdown starts from our snapshot (the WAL before it is never read)', async () => {
    const dir = await makeTempDir('ours-snap-');
    cleanups.push(() => removeTempDir(dir));
    const db = await openDB({ dir, retentionMs: 0, enableMemorySnapshotOnShutdown: true });
    await fillOurs(db);
    await db.close();
    const snaps = readdirSync(dir).filter((n) => n.startsWith('chunk_snapshot.'));
    expect(snaps).toHaveLength(1);
    // Break the first WAL record's checksum: a Prometheus replaying the WAL from its start would
    // hit it, repair the WAL there and lose every sample; one starting at the snapshot's offset
    // never reads it.
    const seg = join(dir, 'wal', '00000000');
    const bytes = await readFile(seg);
    bytes[3] = (bytes[3] as number) ^ 0xff;
    await writeFile(seg, bytes);
    // Control: without the feature, Prometheus replays that WAL and loses the open chunks' samples.
    const control = `${dir}-control`;
    await cp(dir, control, { recursive: true });
    cleanups.push(() => removeTempDir(control));
    const plain = await startPrometheus({ dataDir: control });
    cleanups.push(() => plain.stop());
    const lossy = await promDump(plain);
    expect(lossy.length).toBeLessThan(expected().length);
    await plain.stop();
    const prom = await startPrometheus({ dataDir: dir, extraArgs: [SNAPSHOT_FLAG] });
    cleanups.push(() => prom.stop());
    expect(await metric(prom, 'prometheus_tsdb_snapshot_replay_error_total')).toBe(0);
    expect(await metric(prom, 'prometheus_tsdb_mmap_chunk_corruptions_total')).toBe(0);
    expect(await promDump(prom)).toEqual(expected());
    const log = await readFile(prom.process.logFile, 'utf8');
    expect(log).not.toMatch(/Failed to load chunk snapshot|Loading on-disk chunks failed/);
  });
});
