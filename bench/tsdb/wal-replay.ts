/**
 * WAL replay: our readWAL + decodeRecord over a WAL that Prometheus 2.42 wrote, against
 * Prometheus's own replay of the same WAL on restart ("WAL replay completed" log line).
 * Run: node --import tsx bench/tsdb/wal-replay.ts [--series=100000] [--rounds=10] [--batch=5000]
 *
 * 1. Start Prometheus (remote-write receiver on), push `series` series (10 metric names, a
 *    node_exporter-like label shape) for `rounds` scrape rounds 15 s apart, `batch` series per
 *    request, then SIGKILL it, so the WAL is left as after a crash.
 * 2. Read the WAL 3 times with readWAL + decodeRecord (objects per sample) and 3 times with
 *    readWAL + decodeSamplesInto (columns, no allocation per sample); report the medians.
 * 3. Restart Prometheus on the data dir at log level info and take its replay durations from
 *    the log. Prometheus's replay also builds its head (series, chunks), which ours does not,
 *    so the ratio is an upper bound on our decoding cost, not a like-for-like head replay.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  httpOk,
  makeTempDir,
  type RunningService,
  removeTempDir,
  requireProgram,
  startService,
} from '@thanos-ts/testing';
import {
  decodeRecord,
  decodeSamplesInto,
  RECORD_SAMPLES,
  readWAL,
  recordType,
  type SampleColumns,
} from '../../packages/tsdb/src/wal/index.js';
import { type PushSeries, remoteWrite } from '../../packages/tsdb/test/remote-write.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const SERIES = arg('series', 100_000);
const ROUNDS = arg('rounds', 10);
const BATCH = arg('batch', 5000);

const secs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function startProm(dataDir: string, dir: string): Promise<RunningService> {
  const binary = requireProgram('prometheus');
  return startService({
    name: 'prometheus',
    command: binary,
    dir,
    args: (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      '--storage.tsdb.retention.time=100y',
      '--log.level=info',
    ],
    prepare: async () => {
      await writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
    },
    ready: (port) => httpOk(`http://127.0.0.1:${port}/-/ready`),
    timeoutMs: 600_000,
  });
}

/** A node_exporter-like shape: 10 metric names × SERIES/10 label sets of 4 labels. */
function seriesLabels(i: number): [string, string][] {
  return [
    ['__name__', `node_bench_metric_${i % 10}_total`],
    ['cpu', String(Math.floor(i / 10) % 64)],
    ['instance', `host-${Math.floor(i / 640)}.example.org:9100`],
    ['job', 'node'],
    ['mode', ['idle', 'user', 'system', 'iowait'][i % 4] as string],
  ];
}

async function main(): Promise<void> {
  const tmp = await makeTempDir('wal-bench-');
  const dataDir = join(tmp, 'data');
  let prom: RunningService | undefined;
  try {
    prom = await startProm(dataDir, tmp);
    const url = `http://127.0.0.1:${prom.port}`;
    const labels = Array.from({ length: SERIES }, (_, i) => seriesLabels(i));
    const start = Math.floor((Date.now() - (ROUNDS + 2) * 15_000) / 1000) * 1000;
    const t0 = process.hrtime.bigint();
    let value = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < SERIES; i += BATCH) {
        const batch: PushSeries[] = [];
        for (let j = i; j < Math.min(SERIES, i + BATCH); j++) {
          value += 1;
          batch.push({
            labels: labels[j] as [string, string][],
            samples: [{ t: start + r * 15_000, v: ((j * 7 + r * 13) % 1000) + value / 1e6 }],
          });
        }
        await remoteWrite(url, batch);
      }
    }
    const pushSecs = secs(t0);
    process.kill(prom.pid, 'SIGKILL');
    await prom.process.stop();
    prom = undefined;

    const walDir = join(dataDir, 'wal');
    let walBytes = 0;
    for (const f of await readdir(walDir)) walBytes += (await stat(join(walDir, f))).size;
    console.log(
      `pushed ${SERIES} series × ${ROUNDS} rounds = ${SERIES * ROUNDS} samples in ${pushSecs.toFixed(1)} s; WAL ${(walBytes / 2 ** 20).toFixed(1)} MiB`,
    );

    const objects: number[] = [];
    const columns: number[] = [];
    let samples = 0;
    let series = 0;
    for (let run = 0; run < 3; run++) {
      let t = process.hrtime.bigint();
      samples = 0;
      series = 0;
      for await (const { record } of readWAL(walDir)) {
        const rec = decodeRecord(record);
        if (rec.type === 'samples') samples += rec.samples.length;
        else if (rec.type === 'series') series += rec.series.length;
      }
      objects.push(secs(t));
      t = process.hrtime.bigint();
      let cols: SampleColumns | undefined;
      let n = 0;
      for await (const { record } of readWAL(walDir)) {
        if (recordType(record) === RECORD_SAMPLES) {
          cols = decodeSamplesInto(record, cols);
          n += cols.length;
        } else {
          decodeRecord(record);
        }
      }
      columns.push(secs(t));
      if (n !== samples) throw new Error(`column decode saw ${n} samples, object decode ${samples}`);
    }
    if (samples !== SERIES * ROUNDS || series !== SERIES) {
      throw new Error(`read ${series} series and ${samples} samples, pushed ${SERIES} and ${SERIES * ROUNDS}`);
    }

    const logDir = await makeTempDir('wal-bench-restart-');
    const t1 = process.hrtime.bigint();
    prom = await startProm(dataDir, logDir);
    const readySecs = secs(t1);
    const log = await readFile(prom.process.logFile, 'utf8');
    await prom.stop();
    prom = undefined;
    await removeTempDir(logDir);
    const line = log.split('\n').find((l) => l.includes('WAL replay completed'));
    if (line === undefined) throw new Error(`no "WAL replay completed" line in Prometheus's log:\n${log.slice(-2000)}`);
    const dur = (k: string) => parseGoDuration(new RegExp(`${k}=(\\S+)`).exec(line)?.[1] ?? '');
    const promWal = dur('wal_replay_duration');
    const promTotal = dur('total_replay_duration');

    const ours = median(objects);
    const oursCols = median(columns);
    console.log(`samples ${samples}, series ${series}`);
    console.log(
      `ours   readWAL+decodeRecord      median ${ours.toFixed(3)} s (${(samples / ours / 1e6).toFixed(2)}M samples/s) runs ${objects.map((x) => x.toFixed(3)).join(' ')}`,
    );
    console.log(
      `ours   readWAL+decodeSamplesInto median ${oursCols.toFixed(3)} s (${(samples / oursCols / 1e6).toFixed(2)}M samples/s) runs ${columns.map((x) => x.toFixed(3)).join(' ')}`,
    );
    console.log(
      `prometheus wal_replay_duration ${promWal.toFixed(3)} s, total_replay_duration ${promTotal.toFixed(3)} s (restart to ready ${readySecs.toFixed(1)} s)`,
    );
    console.log(
      `ratio ours/prometheus (total replay): decodeRecord ${(ours / promTotal).toFixed(2)}, decodeSamplesInto ${(oursCols / promTotal).toFixed(2)}`,
    );
  } finally {
    await prom?.stop();
    await removeTempDir(tmp);
  }
}

/** Parses Go's time.Duration.String() (e.g. `1.234567s`, `812.3ms`, `1m2.5s`) into seconds. */
function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(h|ms|µs|us|ns|m|s)/g;
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, µs: 1e-6, us: 1e-6, ns: 1e-9 };
  let total = 0;
  let matched = false;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * (unit[m[2] as string] as number);
    matched = true;
  }
  if (!matched) throw new Error(`not a Go duration: "${s}"`);
  return total;
}

await main();
