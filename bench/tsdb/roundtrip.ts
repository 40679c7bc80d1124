/**
 * Write/read round trip at scale, against promtool 2.42 where it can be compared.
 * Run: node --expose-gc --import tsx bench/tsdb/roundtrip.ts [--series=100000] [--samples=240]
 *        [--om-per-metric=100] [--only-om | --skip-om]
 *
 * 1. writeBlock of N series × S samples (in-memory input), then read everything back decoded
 *    (openBlock + selectSamples), then `tools tsdb dump` vs `promtool tsdb dump` of that block.
 * 2. Memory to open the block: heap + array buffers retained per series (index preloaded, and
 *    ranged reads only).
 * 3. OpenMetrics backfill of generated data (≥10k series, ≥1M samples, counter resets, NaN/±Inf,
 *    gaps, jitter) with createBlocksFromOpenMetrics vs promtool, checking that promtool's dump of
 *    both block sets is identical and that the index/chunk files are byte-identical.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, promtool, writeOpenMetrics } from '@thanos-ts/testing';
import {
  compareLabels,
  createBlocksFromOpenMetrics,
  dumpSamples,
  Labels,
  Matcher,
  openBlock,
  readBlockMeta,
  type SeriesToWrite,
  writeBlock,
} from '@thanos-ts/tsdb';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const N = arg('series', 100_000);
const S = arg('samples', 240);
// Generated OpenMetrics: 15 families, this many label sets each (histograms expand to one series per
// bucket): 100 gives ~10k series and ~3.5M samples; the dumps compared as strings must stay < 512 MiB.
const OM_PER_METRIC = arg('om-per-metric', 100);
const ONLY_OM = process.argv.includes('--only-om');
const SKIP_OM = process.argv.includes('--skip-om');

const secs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
// CPU seconds of this process since `c0` (the machine is shared; CPU time is the fairer figure).
const cpu = (c0: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};

/** Runs a command under bash's `time`, returning wall and user+sys CPU seconds of the child. */
function timed(cmd: string, args: string[], toNull: boolean): Promise<{ wall: number; cpu: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
    const script = `TIMEFORMAT='%R %U %S'; { time ${quoted} ${toNull ? '> /dev/null' : ''} ; } 2>&1 >/dev/null | tail -1 >&2`;
    const p = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      const m = /([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (code !== 0 || !m) reject(new Error(`${cmd} failed: ${err}`));
      else resolve({ wall: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), bytes: 0 });
    });
  });
}

function* series(): Generator<SeriesToWrite> {
  const names: Labels[] = [];
  for (let i = 0; i < N; i++) {
    names.push(
      Labels.from({
        __name__: `bench_metric_${i % 100}`,
        instance: `host-${Math.floor(i / 100) % 1000}:9100`,
        job: `job-${i % 7}`,
        series: String(i),
      }),
    );
  }
  names.sort(compareLabels);
  const ts = new Float64Array(S);
  const vs = new Float64Array(S);
  for (let i = 0; i < N; i++) {
    let v = i % 13;
    for (let k = 0; k < S; k++) {
      ts[k] = 1_700_000_000_000 + k * 15_000 + ((i + k) % 5);
      v += (k * 7 + i) % 11;
      vs[k] = v;
    }
    yield { labels: names[i] as Labels, timestamps: ts, values: vs };
  }
}

async function main() {
  if (!ONLY_OM) await blockRoundTrip();
  if (!SKIP_OM) await openMetricsBackfill();
}

async function blockRoundTrip() {
  console.log(`node ${process.version}, ${N} series × ${S} samples`);
  const out = await makeTempDir('bench-tsdb-');
  let t = process.hrtime.bigint();
  let c = process.cpuUsage();
  const block = await writeBlock(series(), { outDir: out });
  let wall = secs(t);
  let used = cpu(c);
  const meta = block?.meta;
  console.log(
    `writeBlock: ${wall.toFixed(2)} s wall, ${used.toFixed(2)} s CPU → ${((N * S) / used / 1e6).toFixed(2)} M samples/CPU-s, ${meta?.stats.numChunks} chunks`,
  );

  // Open cost: heap + array buffers retained per series (after full GCs; needs --expose-gc).
  for (const preloadBelow of [0, 64 * 1024 * 1024]) {
    global.gc?.();
    global.gc?.();
    const m0 = process.memoryUsage();
    const b = await openBlock(block?.dir as string, { preloadBelow });
    global.gc?.();
    global.gc?.();
    const m1 = process.memoryUsage();
    const bytes = m1.heapUsed + m1.arrayBuffers - (m0.heapUsed + m0.arrayBuffers);
    console.log(
      `open (${preloadBelow ? 'index preloaded' : 'ranged reads'}): ${(bytes / N).toFixed(1)} bytes/series retained${global.gc ? '' : ' (run with --expose-gc for real figures)'}`,
    );
    await b.close();
  }

  const b = await openBlock(block?.dir as string);
  t = process.hrtime.bigint();
  c = process.cpuUsage();
  let samples = 0;
  for await (const s of b.iterateSamples([new Matcher('=~', '__name__', '.+')], -Infinity, Infinity)) {
    samples += s.timestamps.length;
  }
  wall = secs(t);
  used = cpu(c);
  console.log(
    `read back decoded: ${wall.toFixed(2)} s wall, ${used.toFixed(2)} s CPU → ${(samples / used / 1e6).toFixed(2)} M samples/CPU-s (${samples})`,
  );
  await b.close();

  t = process.hrtime.bigint();
  c = process.cpuUsage();
  let ourBytes = 0;
  await dumpSamples(out, (s) => {
    ourBytes += Buffer.byteLength(s);
  });
  const ourDump = { wall: secs(t), cpu: cpu(c) };
  mkdirSync(join(out, 'wal'), { recursive: true });
  const theirDump = await timed('promtool', ['tsdb', 'dump', out], true);
  console.log(
    `dump: ours ${ourDump.wall.toFixed(1)} s wall / ${ourDump.cpu.toFixed(1)} s CPU, promtool ${theirDump.wall.toFixed(1)} s wall / ${theirDump.cpu.toFixed(1)} s CPU (CPU ratio ${(ourDump.cpu / theirDump.cpu).toFixed(2)}), ${ourBytes} bytes`,
  );
}

async function openMetricsBackfill() {
  // OpenMetrics backfill against promtool.
  const work = await makeTempDir('bench-om-');
  const file = join(work, 'data.om');
  const gen = await writeOpenMetrics(file, {
    seed: 11,
    metrics: 15,
    seriesPerMetric: OM_PER_METRIC,
    durationMs: 6 * 3600_000,
    scrapeIntervalMs: 60_000,
    jitterMs: 2500,
  });
  console.log(`openmetrics: ${gen.series} series, ${gen.samples} samples`);
  const theirCreate = await timed(
    'promtool',
    ['tsdb', 'create-blocks-from', 'openmetrics', file, join(work, 'theirs')],
    true,
  );
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  await createBlocksFromOpenMetrics(file, join(work, 'ours'));
  const ourCreate = { wall: secs(t), cpu: cpu(c) };
  console.log(
    `create-blocks-from openmetrics: ours ${ourCreate.wall.toFixed(1)} s wall / ${ourCreate.cpu.toFixed(1)} s CPU, promtool ${theirCreate.wall.toFixed(1)} s wall / ${theirCreate.cpu.toFixed(1)} s CPU (CPU ratio ${(ourCreate.cpu / theirCreate.cpu).toFixed(2)})`,
  );
  const dumpTheirs = await promtool.dump(join(work, 'theirs'));
  const dumpOurs = await promtool.dump(join(work, 'ours'));
  let ourDumpOfTheirs = '';
  await dumpSamples(join(work, 'theirs'), (s) => {
    ourDumpOfTheirs += s;
  });
  const ids = (d: string) => readdirSync(d).filter((x) => /^[0-9A-Z]{26}$/.test(x));
  const metas = async (d: string) =>
    (await Promise.all(ids(d).map((x) => readBlockMeta(join(d, x))))).sort((a, c2) => a.minTime - c2.minTime);
  const ma = await metas(join(work, 'theirs'));
  const mb = await metas(join(work, 'ours'));
  let identical = ma.length === mb.length;
  for (let i = 0; identical && i < ma.length; i++) {
    const a = join(work, 'theirs', ma[i]?.ulid as string);
    const d = join(work, 'ours', mb[i]?.ulid as string);
    identical =
      readFileSync(join(a, 'index')).equals(readFileSync(join(d, 'index'))) &&
      readFileSync(join(a, 'chunks', '000001')).equals(readFileSync(join(d, 'chunks', '000001')));
  }
  console.log(`promtool dump of ours == of theirs: ${dumpTheirs === dumpOurs} (${dumpTheirs.length} bytes)`);
  console.log(`our dump of theirs == promtool's: ${ourDumpOfTheirs === dumpTheirs}`);
  console.log(`index and chunk files byte-identical: ${identical} (${ma.length} blocks)`);
  if (dumpTheirs !== dumpOurs || ourDumpOfTheirs !== dumpTheirs || !identical) process.exitCode = 1;
}

await main();
