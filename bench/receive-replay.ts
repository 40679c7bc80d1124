/**
 * Receiver restart: how long `createReceiver(...).start()` takes to replay a tenant's WAL at a
 * large series count, and its memory while doing so, against Prometheus 2.42 replaying a copy of
 * the same WAL (our WAL is Prometheus's format).
 *   1. A child process ingests --series series × --samples samples (15 s apart) through
 *      `receiver.write()` in batches of 10,000 series, then exits without closing anything (as
 *      after SIGKILL: the WAL is all there is; the receiver has no head snapshot yet).
 *   2. A fresh child process starts a receiver on that directory and reports the time until
 *      `start()` resolved (ready), its peak RSS while replaying (sampled every 20 ms) and its RSS
 *      and heap after a GC once ready, next to the ingesting process's RSS after a GC (steady state).
 *   3. Prometheus 2.42 is started on a copy of the tenant directory; the time from spawn to
 *      /-/ready answering 200 is reported (process start included, ~0.2–0.4 s of it), and the
 *      CPU time each side used to get ready (ours from process.cpuUsage, Prometheus's from
 *      /proc/<pid>/stat, all threads): on a shared machine it compares better than wall time.
 *   4. With a chunk snapshot: a child opens the tenant's TSDB with
 *      `enableMemorySnapshotOnShutdown` and closes it (the receiver's clean shutdown once the
 *      flag is wired; the close time is reported), then a fresh child times `openDB` from the
 *      snapshot, and Prometheus 2.42 with `--enable-feature=memory-snapshot-on-shutdown` starts on
 *      a copy of that directory (our snapshot, Prometheus's format).
 * With --runs=N (default 1), steps 2 and 3 alternate N times, each on a fresh copy of the ingested
 * directory, and the median ratios are printed too: on a machine shared with other work one pair
 * can be off by half either way.
 * With --snapshot=1 only steps 1 and 4 run: the clean-restart measurement (issue 15's target is
 * ready in under 10 s at 1M series), with the open's peak RSS (sampled every 20 ms) and its RSS
 * after a GC. Children get --max-old-space-size=--heap-mb (default 8192): 1M series need ~3 GiB.
 * Run: npx tsx bench/receive-replay.ts [--series=200000] [--samples=10] [--prometheus=1] [--runs=1]
 *      npm run bench -- receive-replay --series=1000000 --samples=2 --snapshot=1 [--prometheus=0]
 */
// Imported from source files so the bench runs before the subpath is wired into the package.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programAvailable, startPrometheus } from '@thanos-ts/testing';
import { matcher, openDB } from '@thanos-ts/tsdb';
import { createReceiver } from '../packages/core/src/receive/receiver.js';
import type { WriteSeries } from '../packages/core/src/receive/wire.js';
import { processCpuMs } from './proc.js';

const arg = (name: string, dflt: string) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? (a.split('=')[1] as string) : dflt;
};
const SERIES = Number(arg('series', '200000'));
const SAMPLES = Number(arg('samples', '10'));
const WITH_PROM = arg('prometheus', '1') === '1' && programAvailable('prometheus');
const PHASE = arg('phase', 'main');
const DIR = arg('dir', '');
const SNAPSHOT_ONLY = arg('snapshot', '0') === '1';
const HEAP_MB = Number(arg('heap-mb', '8192'));
const RUNS = Math.max(1, Number(arg('runs', '1')));
/** The receiver's ingestWorkers in the replay phase ('' = its default). */
const INGEST_WORKERS = arg('ingest-workers', '');
const BATCH = 10_000;

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function ingest(): Promise<void> {
  const r = createReceiver({ tsdbPath: DIR, flushIntervalMs: 0, httpGracePeriodMs: 0 });
  await r.start();
  const start = Date.now() - SAMPLES * 15_000;
  const labels = Array.from({ length: SERIES }, (_, i) => [
    { name: '__name__', value: `replay_metric_${i % 100}` },
    { name: 'instance', value: `host-${Math.floor(i / 100)}:9100` },
    { name: 'job', value: 'node' },
  ]);
  const t0 = performance.now();
  for (let s = 0; s < SAMPLES; s++) {
    const t = start + s * 15_000;
    for (let off = 0; off < SERIES; off += BATCH) {
      const timeseries: WriteSeries[] = [];
      for (let i = off; i < Math.min(off + BATCH, SERIES); i++)
        timeseries.push({
          labels: labels[i] as WriteSeries['labels'],
          timestamps: [t],
          values: [i + s],
          histograms: 0,
        });
      await r.write({ timeseries });
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  gc();
  const rss = process.memoryUsage.rss();
  process.stdout.write(`${JSON.stringify({ seconds, rss, series: r.tenants().length })}\n`);
  // Exit as after a SIGKILL: no close(), the WAL is all that is left.
  process.exit(0);
}

async function replay(): Promise<void> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const r = createReceiver({
    tsdbPath: DIR,
    flushIntervalMs: 0,
    httpGracePeriodMs: 0,
    ...(INGEST_WORKERS === '' ? {} : { ingestWorkers: Number(INGEST_WORKERS) }),
  });
  await r.start();
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuSince(cpu0);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  let series = 0;
  for await (const m of r.series({
    minTime: 0,
    maxTime: Date.now() + 60_000,
    matchers: [matcher('=', 'job', 'node')],
  })) {
    if (m.type === 'series') series++;
    break;
  }
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, peak, rss, heapUsed, anySeries: series })}\n`);
  process.exit(0);
}

// Opens the tenant TSDB with snapshots on; with `close`, closes it (writing the snapshot).
async function snapshotPhase(close: boolean): Promise<void> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const db = await openDB({ dir: DIR, enableMemorySnapshotOnShutdown: true });
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpuSince(cpu0);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage.rss());
  const series = db.head.numSeries;
  gc();
  const rss = process.memoryUsage.rss();
  let closeSeconds = 0;
  if (close) {
    const c0 = performance.now();
    await db.close();
    closeSeconds = (performance.now() - c0) / 1000;
  }
  process.stdout.write(`${JSON.stringify({ seconds, cpuSeconds, series, closeSeconds, peak, rss })}\n`);
  process.exit(0);
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1e6;
}

function child(phase: string, dir: string): Record<string, number> {
  const res = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      `--max-old-space-size=${HEAP_MB}`,
      '--import',
      'tsx',
      import.meta.filename,
      `--phase=${phase}`,
      `--dir=${dir}`,
      `--series=${SERIES}`,
      `--samples=${SAMPLES}`,
      ...(INGEST_WORKERS === '' ? [] : [`--ingest-workers=${INGEST_WORKERS}`]),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (res.status !== 0) throw new Error(`${phase} failed (${res.status}): ${res.stderr}`);
  const line = res.stdout.trim().split('\n').pop() as string;
  return JSON.parse(line) as Record<string, number>;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'receive-replay-'));
  try {
    console.log(`series=${SERIES} samples/series=${SAMPLES} (${((SERIES * SAMPLES) / 1e6).toFixed(1)}M samples)`);
    const ing = child('ingest', dir);
    console.log(
      `ingest: ${((SERIES * SAMPLES) / (ing.seconds as number) / 1e3).toFixed(0)}k samples/s; steady RSS after GC ${mib(ing.rss as number)} (${((ing.rss as number) / SERIES) | 0} B/series)`,
    );
    if (!SNAPSHOT_ONLY) await replayVsPrometheus(dir, ing);
    const tenant = join(dir, 'default-tenant');
    const closed = child('snapshot-close', tenant);
    console.log(`thanos-ts close with chunk snapshot: ${(closed.closeSeconds as number).toFixed(2)} s`);
    const snap = child('snapshot-open', tenant);
    console.log(
      `thanos-ts open from chunk snapshot: ${(snap.seconds as number).toFixed(2)} s (CPU ${(snap.cpuSeconds as number).toFixed(2)} s; ${snap.series} series); peak RSS ${mib(snap.peak as number)}, after GC ${mib(snap.rss as number)}`,
    );
    if (WITH_PROM) {
      const promDir = join(dir, 'prometheus-snapshot');
      await cp(tenant, promDir, { recursive: true });
      const t0 = performance.now();
      const prom = await startPrometheus({
        dataDir: promDir,
        extraArgs: ['--enable-feature=memory-snapshot-on-shutdown'],
      });
      const seconds = (performance.now() - t0) / 1000;
      const cpuSeconds = processCpuMs(prom.pid) / 1000;
      await prom.stop();
      console.log(
        `prometheus 2.42 from our chunk snapshot (process start included): ${seconds.toFixed(2)} s (CPU ${cpuSeconds.toFixed(2)} s)`,
      );
      console.log(
        `ratio thanos-ts / prometheus (snapshot): wall ${((snap.seconds as number) / seconds).toFixed(2)}, CPU ${((snap.cpuSeconds as number) / cpuSeconds).toFixed(2)}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Steps 2 and 3: WAL replay to ready, ours then Prometheus's, each on its own copy of the ingested
// tenant directory (left as the ingest left it for step 4), RUNS times.
async function replayVsPrometheus(dir: string, ing: Record<string, number>): Promise<void> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const ours = join(dir, `replay-${run}`);
    await cp(join(dir, 'default-tenant'), join(ours, 'default-tenant'), { recursive: true });
    const rep = child('replay', ours);
    await rm(ours, { recursive: true, force: true });
    console.log(
      `${RUNS > 1 ? `run ${run + 1}: ` : ''}thanos-ts replay to ready: ${(rep.seconds as number).toFixed(2)} s (CPU ${(rep.cpuSeconds as number).toFixed(2)} s); peak RSS ${mib(rep.peak as number)} (${((rep.peak as number) / (ing.rss as number)).toFixed(2)}× steady); after GC RSS ${mib(rep.rss as number)}, heap ${mib(rep.heapUsed as number)}`,
    );
    if (!WITH_PROM) continue;
    const promDir = join(dir, `prometheus-${run}`);
    await cp(join(dir, 'default-tenant'), promDir, { recursive: true });
    const t0 = performance.now();
    const prom = await startPrometheus({ dataDir: promDir });
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = processCpuMs(prom.pid) / 1000;
    await prom.stop();
    await rm(promDir, { recursive: true, force: true });
    wall.push((rep.seconds as number) / seconds);
    cpu.push((rep.cpuSeconds as number) / cpuSeconds);
    console.log(
      `${RUNS > 1 ? `run ${run + 1}: ` : ''}prometheus 2.42 replay to ready (process start included): ${seconds.toFixed(2)} s (CPU ${cpuSeconds.toFixed(2)} s)`,
    );
    console.log(
      `${RUNS > 1 ? `run ${run + 1}: ` : ''}ratio thanos-ts / prometheus: wall ${(wall[run] as number).toFixed(2)}, CPU ${(cpu[run] as number).toFixed(2)}`,
    );
  }
  if (WITH_PROM && RUNS > 1)
    console.log(
      `median ratio thanos-ts / prometheus over ${RUNS} runs: wall ${median(wall).toFixed(2)}, CPU ${median(cpu).toFixed(2)}`,
    );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

if (PHASE === 'ingest') await ingest();
else if (PHASE === 'replay') await replay();
else if (PHASE === 'snapshot-close') await snapshotPhase(true);
else if (PHASE === 'snapshot-open') await snapshotPhase(false);
else await main();
