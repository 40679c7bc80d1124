/**
 * Compaction of three adjacent 2h blocks into one, thanos-ts vs Prometheus 2.42.
 * Run: node --import tsx bench/tsdb/compact-blocks.ts [--series-per-metric=24] [--runs=3] [--keep]
 *
 * Data: the testing generator's shape (counters, gauges, classic histograms; churn, gaps, NaN/±Inf)
 * at a 15 s scrape interval over 6h — with the default 24 label sets per family that is 4,992
 * series and ~7.2M samples — turned into three 2h blocks by `promtool tsdb create-blocks-from
 * openmetrics`, plus two small later blocks so that Prometheus's planner picks exactly the three.
 *
 * thanos-ts: `compactBlocks` in a fresh child process per run (wall time around the call; peak
 * RSS of the whole process from getrusage, Node itself included). Prometheus: started on a copy
 * of the blocks with --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=6h
 * and --log.level=info; its DB loop compacts a minute after start and logs `msg="compact blocks"
 * … duration=…`; RSS is VmRSS before compaction and VmHWM (peak) after, from /proc. Both outputs
 * must have byte-identical chunk segment files (the chunks are copied, not re-encoded) and index
 * files (same symbols, series, postings).
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blocksFromOpenMetrics,
  httpOk,
  makeTempDir,
  promtool,
  requireProgram,
  startService,
  waitFor,
} from '../../packages/testing/src/index.js';
import { readBlockMeta } from '../../packages/tsdb/src/block/meta.js';
import { compactBlocks } from '../../packages/tsdb/src/compact/index.js';
import { processCpuMs, processStatusKb } from '../proc.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};

if (process.argv[2] === '--child') {
  // Child: compact argv[4..] into argv[3] and report time and peak RSS as JSON.
  const [outDir, ...blockDirs] = process.argv.slice(3);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const res = await compactBlocks({ blockDirs, outDir: outDir as string });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  const userMs = c.user / 1000;
  console.log(JSON.stringify({ ms, cpuMs, userMs, maxRssKb: process.resourceUsage().maxRSS, dir: res?.dir }));
  process.exit(0);
}

const H = 3_600_000;
const S = 1_700_006_400_000; // 6h-aligned
const PER_METRIC = arg('series-per-metric', 24);
const RUNS = arg('runs', 3);

const isBlock = (name: string) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(name);
async function blockDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isBlock).map((d) => join(dir, d));
}
async function copyBlocks(dirs: readonly string[], to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const d of dirs) await cp(d, join(to, d.split('/').pop() as string), { recursive: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function goDurationMs(s: string): number {
  let ms = 0;
  for (const [, n, u] of s.matchAll(/([\d.]+)(h|ms|µs|us|ns|m|s)/g)) {
    const v = Number(n);
    ms += ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1, µs: 1e-3, us: 1e-3, ns: 1e-6 }[u as string] as number) * v;
  }
  return ms;
}

const work = await makeTempDir('bench-compact-');
try {
  const src = join(work, 'src');
  console.log(`generating 6h × 15s of the generator's shape, ${PER_METRIC} label sets per family …`);
  const gen = await blocksFromOpenMetrics({
    seed: 3,
    metrics: 30,
    seriesPerMetric: PER_METRIC,
    startMs: S,
    durationMs: 6 * H,
    scrapeIntervalMs: 15_000,
    dir: src,
  });
  const three = await blockDirs(src);
  if (three.length !== 3) throw new Error(`expected 3 blocks, promtool made ${three.length}`);
  const metas = await Promise.all(three.map(readBlockMeta));
  const samples = metas.reduce((a, m) => a + (m.stats.numSamples ?? 0), 0);
  const bytes = Number(spawnSync('du', ['-sb', src]).stdout.toString().split('\t')[0]);
  console.log(
    `input: ${gen.series} series, ${samples} samples in 3 blocks, ${(bytes / 2 ** 20).toFixed(1)} MiB on disk`,
  );

  // thanos-ts, one fresh process per run.
  const ours: { ms: number; cpuMs: number; userMs: number; maxRssKb: number; dir: string }[] = [];
  for (let r = 0; r < RUNS; r++) {
    const out = join(work, `ours-${r}`);
    await mkdir(out);
    const p = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', out, ...three], {
      encoding: 'utf8',
      env: { ...process.env, TSX_DISABLE_CACHE: '1' },
    });
    if (p.status !== 0) throw new Error(`child failed: ${p.stderr}`);
    ours.push(JSON.parse(p.stdout.trim().split('\n').pop() as string));
    if (r > 0) await rm(out, { recursive: true });
  }

  // Prometheus 2.42 on a copy with two later blocks.
  const later = ['# TYPE later gauge'];
  for (let t = S + 6 * H; t < S + 10 * H; t += 60_000) later.push(`later 1 ${(t / 1000).toFixed(3)}`);
  await writeFile(join(work, 'later.om'), `${later.join('\n')}\n# EOF\n`);
  const promData = join(work, 'prom');
  await copyBlocks(three, promData);
  await promtool.createBlocksFromOpenMetrics(join(work, 'later.om'), promData);
  const prom = await startService({
    name: 'prometheus',
    command: requireProgram('prometheus'),
    prepare: (dir) => writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n'),
    args: (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${promData}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y',
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=6h',
      '--log.level=info',
    ],
    ready: (port) => httpOk(`http://127.0.0.1:${port}/-/ready`),
    timeoutMs: 60_000,
  });
  let promMs = 0;
  let promRssBeforeKb = 0;
  let promHwmKb = 0;
  let promCpuMs = 0;
  try {
    promRssBeforeKb = processStatusKb(prom.pid, 'VmRSS');
    const cpu0 = processCpuMs(prom.pid);
    let line = '';
    await waitFor(
      'prometheus "compact blocks"',
      async () => {
        line = /^.*msg="compact blocks".*$/m.exec(await readFile(prom.process.logFile, 'utf8'))?.[0] ?? '';
        return line !== '';
      },
      180_000,
    );
    promHwmKb = processStatusKb(prom.pid, 'VmHWM');
    promCpuMs = processCpuMs(prom.pid) - cpu0;
    promMs = goDurationMs(/duration=(\S+)/.exec(line)?.[1] ?? '');
  } finally {
    await prom.stop();
  }
  let theirs = '';
  for (const d of await blockDirs(promData)) if ((await readBlockMeta(d)).compaction.level === 2) theirs = d;
  const same = (await readFile(join(theirs, 'chunks', '000001'))).equals(
    await readFile(join(ours[0]?.dir as string, 'chunks', '000001')),
  );
  const sameIndex = (await readFile(join(theirs, 'index'))).equals(
    await readFile(join(ours[0]?.dir as string, 'index')),
  );

  const ourMs = median(ours.map((o) => o.ms));
  const ourCpuMs = median(ours.map((o) => o.cpuMs));
  const ourRss = median(ours.map((o) => o.maxRssKb)) / 1024;
  console.log(`\ncompaction of 3 × 2h blocks (${gen.series} series, ${samples} samples):`);
  console.log(
    `  thanos-ts compactBlocks: ${ourMs.toFixed(0)} ms median of ${RUNS} (${ours.map((o) => o.ms.toFixed(0)).join(', ')})`,
  );
  console.log(`  Prometheus 2.42:         ${promMs.toFixed(0)} ms ("compact blocks" log line)`);
  console.log(`  time ratio thanos-ts / Prometheus: ${(ourMs / promMs).toFixed(2)}`);
  const ourUserMs = median(ours.map((o) => o.userMs));
  console.log(
    `  CPU: thanos-ts ${ourCpuMs.toFixed(0)} ms median (${ourUserMs.toFixed(0)} user; ${ours.map((o) => o.cpuMs.toFixed(0)).join(', ')}); Prometheus ${promCpuMs} ms from ready to the log line (includes its 1-minute idle wait and block reload); ratio ${(ourCpuMs / promCpuMs).toFixed(2)}`,
  );
  console.log(`  thanos-ts peak RSS (whole node process): ${ourRss.toFixed(0)} MiB`);
  console.log(
    `  Prometheus RSS before compaction ${(promRssBeforeKb / 1024).toFixed(0)} MiB, peak after ${(promHwmKb / 1024).toFixed(0)} MiB`,
  );
  console.log(`  peak RSS ratio thanos-ts / Prometheus: ${(ourRss / (promHwmKb / 1024)).toFixed(2)}`);
  console.log(`  chunk segment files identical: ${same}; index files identical: ${sameIndex}`);
  if (!same || !sameIndex) process.exitCode = 1;
} finally {
  if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
