/**
 * Head replay on open: how long `openDB` takes to be ready on a data dir left by a process that
 * exited without closing (WAL only, plus the chunks_head files of cut chunks), and after a clean
 * close with `enableMemorySnapshotOnShutdown` (chunk snapshot), next to Prometheus 2.42 on copies
 * of the same directories.
 *   1. A child process appends --series series × --samples samples (15 s apart) by labels then
 *      by ref, 10,000 series per commit, and exits without closing (as after SIGKILL).
 *   2. A fresh child opens the dir (full WAL replay) and reports the time to ready; then a child
 *      opens it with snapshots on and closes it (writing the snapshot); then a child times the
 *      open from the snapshot.
 *   3. Prometheus 2.42 starts on a copy of each (`--enable-feature=memory-snapshot-on-shutdown`
 *      for the snapshot copy); spawn to /-/ready, process start included.
 * Run: node --expose-gc --import tsx bench/tsdb/head-replay.ts [--series=200000] [--samples=10]
 *      [--prometheus=1] [--keep=DIR (leave the crashed dir there, for --cpu-prof runs)]
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programAvailable, startPrometheus } from '@thanos-ts/testing';
import { openDB } from '../../packages/tsdb/src/db/db.js';
import { Labels } from '../../packages/tsdb/src/labels/labels.js';
import { processCpuMs } from '../proc.js';

const arg = (name: string, dflt: string) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? (a.split('=')[1] as string) : dflt;
};
const SERIES = Number(arg('series', '200000'));
const SAMPLES = Number(arg('samples', '10'));
const WITH_PROM = arg('prometheus', '1') === '1' && programAvailable('prometheus');
const PHASE = arg('phase', 'main');
const DIR = arg('dir', '');
const KEEP = arg('keep', '');
const BATCH = 10_000;

async function ingest(): Promise<void> {
  const db = await openDB({ dir: DIR, retentionMs: 0 });
  const start = Date.now() - SAMPLES * 15_000;
  const refs = new Array<number>(SERIES);
  for (let s = 0; s < SAMPLES; s++) {
    const t = start + s * 15_000;
    for (let off = 0; off < SERIES; off += BATCH) {
      const app = db.appender();
      for (let i = off; i < Math.min(off + BATCH, SERIES); i++) {
        if (s === 0) {
          refs[i] = app.append(
            Labels.from({
              __name__: `replay_metric_${i % 100}`,
              instance: `host-${Math.floor(i / 100)}:9100`,
              job: 'node',
            }),
            t,
            i + s,
          );
        } else app.append(refs[i] as number, t, i + s);
      }
      await app.commit();
    }
  }
  process.stdout.write(`${JSON.stringify({ series: db.head.numSeries })}\n`);
  process.exit(0);
}

async function open(snapshot: boolean, close: boolean): Promise<void> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const db = await openDB({ dir: DIR, retentionMs: 0, enableMemorySnapshotOnShutdown: snapshot });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const { walReplay } = db;
  const series = db.head.numSeries;
  const samples = db.head.stats().numChunks;
  let closeSeconds = 0;
  if (close) {
    const c0 = performance.now();
    await db.close();
    closeSeconds = (performance.now() - c0) / 1000;
  }
  process.stdout.write(
    `${JSON.stringify({ seconds, cpuSeconds, series, chunks: samples, closeSeconds, walSamples: walReplay.samples, mmappedChunks: walReplay.mmappedChunks })}\n`,
  );
  process.exit(0);
}

function child(phase: string, dir: string): Record<string, number> {
  const res = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--import',
      'tsx',
      import.meta.filename,
      `--phase=${phase}`,
      `--dir=${dir}`,
      `--series=${SERIES}`,
      `--samples=${SAMPLES}`,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (res.status !== 0) throw new Error(`${phase} failed (${res.status}): ${res.stderr}`);
  const line = res.stdout.trim().split('\n').pop() as string;
  return JSON.parse(line) as Record<string, number>;
}

async function prometheusReady(src: string, snapshot: boolean): Promise<{ seconds: number; cpuSeconds: number }> {
  const promDir = `${src}-prometheus`;
  await cp(src, promDir, { recursive: true });
  const t0 = performance.now();
  const prom = await startPrometheus({
    dataDir: promDir,
    ...(snapshot ? { extraArgs: ['--enable-feature=memory-snapshot-on-shutdown'] } : {}),
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = processCpuMs(prom.pid) / 1000;
  await prom.stop();
  await rm(promDir, { recursive: true, force: true });
  return { seconds, cpuSeconds };
}

async function main(): Promise<void> {
  const dir = KEEP || (await mkdtemp(join(tmpdir(), 'head-replay-')));
  try {
    console.log(`series=${SERIES} samples/series=${SAMPLES} (${((SERIES * SAMPLES) / 1e6).toFixed(1)}M samples)`);
    child('ingest', dir);
    const crashed = `${dir}-crashed`;
    await cp(dir, crashed, { recursive: true });
    const full = child('open', dir);
    console.log(
      `thanos-ts open, WAL replay (no snapshot): ${(full.seconds as number).toFixed(2)} s (CPU ${(full.cpuSeconds as number).toFixed(2)} s; ${full.walSamples} WAL samples, ${full.mmappedChunks} chunks from chunks_head)`,
    );
    if (WITH_PROM) {
      const p = await prometheusReady(crashed, false);
      console.log(
        `prometheus 2.42, same dir: ${p.seconds.toFixed(2)} s (CPU ${p.cpuSeconds.toFixed(2)} s, process start included); ratio wall ${((full.seconds as number) / p.seconds).toFixed(2)}, CPU ${((full.cpuSeconds as number) / p.cpuSeconds).toFixed(2)}`,
      );
    }
    const closed = child('open-close-snapshot', dir);
    console.log(`thanos-ts close with snapshot: ${(closed.closeSeconds as number).toFixed(2)} s`);
    const snap = child('open-snapshot', dir);
    console.log(
      `thanos-ts open from snapshot: ${(snap.seconds as number).toFixed(2)} s (CPU ${(snap.cpuSeconds as number).toFixed(2)} s; ${snap.series} series, ${snap.walSamples} WAL samples)`,
    );
    if (WITH_PROM) {
      const p = await prometheusReady(dir, true);
      console.log(
        `prometheus 2.42 on our snapshot dir (memory-snapshot-on-shutdown): ${p.seconds.toFixed(2)} s (CPU ${p.cpuSeconds.toFixed(2)} s); ratio wall ${((snap.seconds as number) / p.seconds).toFixed(2)}, CPU ${((snap.cpuSeconds as number) / p.cpuSeconds).toFixed(2)}`,
      );
    }
    if (!KEEP) await rm(crashed, { recursive: true, force: true });
  } finally {
    if (!KEEP) await rm(dir, { recursive: true, force: true });
  }
}

if (PHASE === 'ingest') await ingest();
else if (PHASE === 'open') await open(false, false);
else if (PHASE === 'open-close-snapshot') await open(true, true);
else if (PHASE === 'open-snapshot') await open(true, false);
else await main();
