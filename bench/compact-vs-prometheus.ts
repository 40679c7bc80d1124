/**
 * The compactor against Prometheus 2.42 on the same blocks: two overlapping 2h blocks (two
 * "replicas" of one window, generated with different seeds so most samples differ and chunks are
 * re-encoded) merged into one, vertical compaction on both sides.
 * Run: node --import tsx bench/compact-vs-prometheus.ts [--series-per-metric=24] [--runs=3] [--prom-runs=3] [--keep]
 *
 * Prometheus: started on a copy of the two blocks with min = max block duration 2h; its DB loop
 * compacts overlapping blocks a minute after start and logs `msg="compact blocks" … duration=…`
 * (that duration is its figure; RSS is VmHWM from /proc after the line). Ours: the blocks are
 * uploaded to a filesystem bucket with the same external labels, and a fresh child process runs
 * one `createCompactor({ enableVerticalCompaction: true })` iteration: we report the merge alone
 * (the `compacted blocks` log line's duration_ms, the figure comparable to Prometheus's), the
 * whole iteration (sync, download + index check, merge, upload, marking) and peak RSS
 * (getrusage, Node itself included), and CPU time (ours: the whole iteration; Prometheus: from
 * ready to the log line, its idle minute included) since on a shared machine wall time follows
 * the load. Both outputs must hold the same number of series and samples. Our runs and
 * Prometheus's alternate (--prom-runs, default --runs; 1 runs Prometheus once, after ours), so a
 * pair sees about the same load: the figures are medians, and the per-pair ratios are printed.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '../packages/core/src/block/upload.js';
import { createCompactor } from '../packages/core/src/compact/index.js';
import { createLogger } from '../packages/core/src/log/logger.js';
import { createFilesystemBucket } from '../packages/objstore/src/index.js';
import {
  blocksFromOpenMetrics,
  httpOk,
  makeTempDir,
  requireProgram,
  startService,
  waitFor,
} from '../packages/testing/src/index.js';
import { readBlockMeta } from '../packages/tsdb/src/block/meta.js';
import { processCpuMs, processStatusKb } from './proc.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const H = 3_600_000;

if (process.argv[2] === '--child') {
  const [bucketDir, dataDir] = process.argv.slice(3) as [string, string];
  const lines: string[] = [];
  let mergeCpu0: NodeJS.CpuUsage | undefined;
  let mergeCpuMs = Number.NaN;
  const compactor = createCompactor({
    bucket: createFilesystemBucket({ directory: bucketDir }),
    dataDir,
    consistencyDelayMs: 0,
    deleteDelayMs: 48 * H,
    downsamplingDisable: true,
    enableVerticalCompaction: true,
    logger: createLogger({
      format: 'json',
      write: (l) => {
        lines.push(l);
        // CPU time of the merge step alone: between the two log lines around compactBlocks.
        if (l.includes('verified blocks; compacting blocks"')) mergeCpu0 = process.cpuUsage();
        else if (l.includes('"compacted blocks"') && mergeCpu0) {
          const d = process.cpuUsage(mergeCpu0);
          mergeCpuMs = (d.user + d.system) / 1000;
        }
      },
    }),
  });
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const result = await compactor.runOnce();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  const field = (msg: string, key: string) => {
    const l = lines.map((x) => JSON.parse(x) as Record<string, unknown>).find((x) => x.msg === msg);
    return Number(l?.[key] ?? Number.NaN);
  };
  console.log(
    JSON.stringify({
      ms,
      cpuMs: (c.user + c.system) / 1000,
      mergeMs: field('compacted blocks', 'duration_ms'),
      mergeCpuMs,
      downloadMs: field('downloaded and verified blocks; compacting blocks', 'duration_ms'),
      uploadMs: field('uploaded block', 'duration_ms'),
      maxRssKb: process.resourceUsage().maxRSS,
      compacted: result.compacted,
      errors: result.errors,
      halted: result.halted,
    }),
  );
  process.exit(0);
}

const S = 1_700_006_400_000; // 2h-aligned
const PER_METRIC = arg('series-per-metric', 24);
const RUNS = arg('runs', 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const isBlock = (name: string) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(name);

function goDurationMs(s: string): number {
  let ms = 0;
  for (const [, n, u] of s.matchAll(/([\d.]+)(h|ms|µs|us|ns|m|s)/g))
    ms +=
      ({ h: 3_600_000, m: 60_000, s: 1000, ms: 1, µs: 1e-3, us: 1e-3, ns: 1e-6 }[u as string] as number) * Number(n);
  return ms;
}

const work = await makeTempDir('bench-compact-prom-');
try {
  const blocks: string[] = [];
  for (const seed of [11, 12]) {
    const gen = await blocksFromOpenMetrics({
      seed,
      metrics: 30,
      seriesPerMetric: PER_METRIC,
      startMs: S,
      durationMs: 2 * H - 15_000,
      scrapeIntervalMs: 15_000,
      dir: join(work, `src-${seed}`),
    });
    const dirs = (await readdir(gen.dir)).filter(isBlock).map((d) => join(gen.dir, d));
    if (dirs.length !== 1) throw new Error(`expected one 2h block, promtool made ${dirs.length}`);
    blocks.push(dirs[0] as string);
  }
  const metas = await Promise.all(blocks.map(readBlockMeta));
  const inSamples = metas.reduce((a, m) => a + (m.stats.numSamples ?? 0), 0);
  const bytes = Number(
    spawnSync('du', ['-scb', ...blocks])
      .stdout.toString()
      .trim()
      .split('\n')
      .pop()
      ?.split('\t')[0],
  );
  console.log(
    `input: 2 overlapping 2h blocks, ${metas.map((m) => m.stats.numSeries).join(' + ')} series, ${inSamples} samples, ${(bytes / 2 ** 20).toFixed(1)} MiB`,
  );

  // Ours: one fresh process per run on a fresh copy of the bucket.
  const bucketDir = join(work, 'bucket');
  const bucket = createFilesystemBucket({ directory: bucketDir });
  for (const [i, d] of blocks.entries()) {
    const meta = await readBlockMeta(d);
    meta.maxTime = S + 2 * H;
    await uploadBlock(bucket, d, { labels: { cluster: 'bench' }, source: `sidecar-${i}`, meta });
  }
  // Prometheus 2.42 on a fresh copy of the same two blocks.
  type BlockMetaT = Awaited<ReturnType<typeof readBlockMeta>>;
  type Theirs = { ms: number; cpuMs: number; hwmKb: number; rssBeforeKb: number; meta: BlockMetaT | undefined };
  async function prometheusRun(r: number): Promise<Theirs> {
    const promData = join(work, `prom-${r}`);
    await mkdir(promData, { recursive: true });
    for (const d of blocks) await cp(d, join(promData, d.split('/').pop() as string), { recursive: true });
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
        '--storage.tsdb.max-block-duration=2h',
        '--log.level=info',
      ],
      ready: (port) => httpOk(`http://127.0.0.1:${port}/-/ready`),
      timeoutMs: 60_000,
    });
    const res: Theirs = { ms: 0, cpuMs: 0, hwmKb: 0, rssBeforeKb: 0, meta: undefined };
    try {
      res.rssBeforeKb = processStatusKb(prom.pid, 'VmRSS');
      const cpu0 = processCpuMs(prom.pid);
      let line = '';
      await waitFor(
        'prometheus "compact blocks"',
        async () => {
          line = /^.*msg="compact blocks".*$/m.exec(await readFile(prom.process.logFile, 'utf8'))?.[0] ?? '';
          return line !== '';
        },
        240_000,
      );
      // The line is logged when the new block is written; the reload that follows is not counted.
      res.hwmKb = processStatusKb(prom.pid, 'VmHWM');
      res.cpuMs = processCpuMs(prom.pid) - cpu0;
      res.ms = goDurationMs(/duration=(\S+)/.exec(line)?.[1] ?? '');
    } finally {
      await prom.stop();
    }
    for (const d of (await readdir(promData)).filter(isBlock)) {
      const m = await readBlockMeta(join(promData, d));
      if ((m.compaction.sources?.length ?? 0) === 2) res.meta = m;
    }
    await rm(promData, { recursive: true, force: true });
    return res;
  }

  // Ours and Prometheus's runs alternate (one each per round) so that both sides of a pair see
  // about the same load on a shared machine; --prom-runs=1 runs Prometheus once, after ours.
  const PROM_RUNS = Math.max(1, Math.min(RUNS, arg('prom-runs', RUNS)));
  const theirsRuns: Theirs[] = [];
  const promAfter = (r: number) => (PROM_RUNS === RUNS ? true : r === RUNS - 1);
  type Child = {
    ms: number;
    cpuMs: number;
    mergeMs: number;
    mergeCpuMs: number;
    downloadMs: number;
    uploadMs: number;
    maxRssKb: number;
    compacted: string[];
    errors: unknown[];
    halted: unknown[];
  };
  const ours: Child[] = [];
  let ourMeta: Awaited<ReturnType<typeof readBlockMeta>> | undefined;
  for (let r = 0; r < RUNS; r++) {
    const copy = join(work, `bucket-${r}`);
    await cp(bucketDir, copy, { recursive: true });
    const p = spawnSync(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', copy, join(work, `data-${r}`)],
      { encoding: 'utf8', env: { ...process.env, TSX_DISABLE_CACHE: '1' } },
    );
    if (p.status !== 0) throw new Error(`child failed: ${p.stderr}`);
    const res = JSON.parse(p.stdout.trim().split('\n').pop() as string) as Child;
    if (res.errors.length > 0 || res.halted.length > 0 || res.compacted.length !== 1)
      throw new Error(`compaction did not produce one block: ${JSON.stringify(res)}`);
    ours.push(res);
    ourMeta = await readBlockMeta(join(copy, res.compacted[0] as string));
    await rm(copy, { recursive: true, force: true });
    if (promAfter(r)) theirsRuns.push(await prometheusRun(r));
  }

  const merge = median(ours.map((o) => o.mergeMs));
  const whole = median(ours.map((o) => o.ms));
  console.log(`\nvertical compaction of 2 overlapping 2h blocks (${inSamples} samples in):`);
  console.log(
    `  thanos-ts compactor, merge step: ${merge.toFixed(0)} ms median of ${RUNS} (${ours.map((o) => o.mergeMs.toFixed(0)).join(', ')}); CPU ${median(ours.map((o) => o.mergeCpuMs)).toFixed(0)} ms (${ours.map((o) => o.mergeCpuMs.toFixed(0)).join(', ')})`,
  );
  console.log(
    `  thanos-ts compactor, whole iteration (sync, download + check, merge, upload, marks): ${whole.toFixed(0)} ms (${ours.map((o) => o.ms.toFixed(0)).join(', ')}); download+check ${median(ours.map((o) => o.downloadMs)).toFixed(0)} ms, upload ${median(ours.map((o) => o.uploadMs)).toFixed(0)} ms; CPU ${median(ours.map((o) => o.cpuMs)).toFixed(0)} ms`,
  );
  const promMs = median(theirsRuns.map((t) => t.ms));
  const theirs = theirsRuns[theirsRuns.length - 1]?.meta;
  console.log(
    `  Prometheus 2.42 ("compact blocks" log line): ${promMs.toFixed(0)} ms median of ${theirsRuns.length} (${theirsRuns.map((t) => t.ms.toFixed(0)).join(', ')}); CPU ${median(theirsRuns.map((t) => t.cpuMs)).toFixed(0)} ms (${theirsRuns.map((t) => t.cpuMs.toFixed(0)).join(', ')}) from ready to the line (includes its idle minute before compacting)`,
  );
  // With alternating runs, each of our runs against the Prometheus run right after it.
  const pairs =
    theirsRuns.length === ours.length
      ? `; per pair ${ours.map((o, i) => (o.mergeMs / (theirsRuns[i] as Theirs).ms).toFixed(2)).join(', ')}, median ${median(ours.map((o, i) => o.mergeMs / (theirsRuns[i] as Theirs).ms)).toFixed(2)}`
      : '';
  console.log(
    `  ratio merge / Prometheus (medians): ${(merge / promMs).toFixed(2)}${pairs}; whole iteration / Prometheus: ${(whole / promMs).toFixed(2)}; CPU ${(median(ours.map((o) => o.mergeCpuMs)) / median(theirsRuns.map((t) => t.cpuMs))).toFixed(2)}`,
  );
  console.log(
    `  peak RSS: thanos-ts ${(median(ours.map((o) => o.maxRssKb)) / 1024).toFixed(0)} MiB (whole node process); Prometheus ${(median(theirsRuns.map((t) => t.rssBeforeKb)) / 1024).toFixed(0)} MiB before, ${(median(theirsRuns.map((t) => t.hwmKb)) / 1024).toFixed(0)} MiB peak`,
  );
  console.log(
    `  output: thanos-ts ${ourMeta?.stats.numSeries} series / ${ourMeta?.stats.numSamples} samples; Prometheus ${theirs?.stats.numSeries} series / ${theirs?.stats.numSamples} samples`,
  );
  if (ourMeta?.stats.numSamples !== theirs?.stats.numSamples || ourMeta?.stats.numSeries !== theirs?.stats.numSeries) {
    console.log('  OUTPUTS DIFFER');
    process.exitCode = 1;
  }
} finally {
  if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
