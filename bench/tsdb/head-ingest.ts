/**
 * Head ingest with WAL writes, in process, one core.
 * Run: node --expose-gc --import tsx bench/tsdb/head-ingest.ts [--series=100000] [--rounds=20]
 *        [--batch=1000] [--no-wal-compression]
 *
 * 1. Creates `series` series (one append by labels each), then runs `rounds` scrapes: every series
 *    gets one sample 15s apart, appended by ref, committed every `batch` samples. Every commit is
 *    logged to the WAL (series + samples records, snappy unless disabled) before it is applied.
 *    Prints samples/s for the steady rounds (series creation excluded) and for creation.
 * 2. Memory per active series: heap used and RSS after ingest minus before opening the DB,
 *    divided by the series count, both after a full GC. Head chunks hold `rounds` samples each.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '@thanos-ts/testing';
import { openDB } from '../../packages/tsdb/src/db/index.js';
import { Labels } from '../../packages/tsdb/src/labels/labels.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const SERIES = arg('series', 100_000);
const ROUNDS = arg('rounds', 20);
const BATCH = arg('batch', 1000);
const COMPRESS = !process.argv.includes('--no-wal-compression');

const gc = (globalThis as { gc?: () => void }).gc;
const settle = () => {
  gc?.();
  gc?.();
};

const dir = await makeTempDir('head-ingest-');
try {
  // Labels built before the baseline: they are the caller's, not the head's.
  const labels: Labels[] = [];
  for (let s = 0; s < SERIES; s++) {
    labels.push(
      Labels.from({
        __name__: `bench_metric_${s % 100}`,
        instance: `10.0.${(s >> 8) & 255}.${s & 255}:9100`,
        job: 'node',
        cpu: String(s % 16),
      }),
    );
  }
  settle();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;

  const db = await openDB({ dir, retentionMs: 0, walCompression: COMPRESS });
  const refs = new Float64Array(SERIES);
  const t0 = 1_700_000_000_000;

  // Round 0: series creation.
  let start = performance.now();
  let app = db.appender();
  let n = 0;
  for (let s = 0; s < SERIES; s++) {
    refs[s] = app.append(labels[s] as Labels, t0, s);
    if (++n === BATCH) {
      await app.commit();
      app = db.appender();
      n = 0;
    }
  }
  await app.commit();
  const createMs = performance.now() - start;

  // Steady rounds: append by ref.
  start = performance.now();
  for (let r = 1; r <= ROUNDS; r++) {
    const t = t0 + r * 15_000;
    app = db.appender();
    n = 0;
    for (let s = 0; s < SERIES; s++) {
      app.append(refs[s] as number, t, s + r * 0.5);
      if (++n === BATCH) {
        await app.commit();
        app = db.appender();
        n = 0;
      }
    }
    await app.commit();
  }
  const steadyMs = performance.now() - start;
  const samples = SERIES * ROUNDS;

  settle();
  const heap1 = process.memoryUsage().heapUsed;
  const rss1 = process.memoryUsage().rss;
  const walBytes = readdirSync(join(dir, 'wal'))
    .filter((f) => /^\d+$/.test(f))
    .reduce((a, f) => a + statSync(join(dir, 'wal', f)).size, 0);
  const stats = db.head.stats();
  await db.close();

  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(
    `head ingest: ${fmt(SERIES)} series, ${ROUNDS} rounds, ${BATCH} samples/commit, WAL compression ${COMPRESS}`,
  );
  console.log(`  series creation: ${fmt((SERIES / createMs) * 1000)} series/s (${createMs.toFixed(0)} ms)`);
  console.log(
    `  steady ingest:   ${fmt((samples / steadyMs) * 1000)} samples/s (${fmt(samples)} samples in ${steadyMs.toFixed(0)} ms)`,
  );
  console.log(`  commits/s:       ${fmt((samples / BATCH / steadyMs) * 1000)}`);
  console.log(
    `  head: ${fmt(stats.numSeries)} series, ${fmt(stats.numChunks)} chunks, ${fmt(stats.samplesAppended)} samples`,
  );
  console.log(
    `  WAL: ${(walBytes / 2 ** 20).toFixed(1)} MiB, ${(walBytes / (samples + SERIES)).toFixed(2)} bytes/sample`,
  );
  console.log(
    `  memory per active series: heap ${fmt((heap1 - heap0) / SERIES)} B, RSS ${fmt((rss1 - rss0) / SERIES)} B${gc ? '' : ' (no --expose-gc: figures are noisy)'}`,
  );
} finally {
  await removeTempDir(dir);
}
