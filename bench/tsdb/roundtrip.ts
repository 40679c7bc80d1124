/**
 * Write/read round trip at scale, against promtool 2.42 where it can be compared.
 * Run: npx tsx bench/tsdb/roundtrip.ts [--series=100000] [--samples=240] [--om-series=10000]
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
import { readdirSync, readFileSync } from 'node:fs';
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
const OM_SERIES = arg('om-series', 10_000);

const secs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

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

function runToNull(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    p.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

async function main() {
  console.log(`node ${process.version}, ${N} series × ${S} samples`);
  const out = await makeTempDir('bench-tsdb-');
  let t = process.hrtime.bigint();
  const block = await writeBlock(series(), { outDir: out });
  const writeS = secs(t);
  const meta = block?.meta;
  console.log(
    `writeBlock: ${writeS.toFixed(2)} s → ${((N * S) / writeS / 1e6).toFixed(2)} M samples/s, ${meta?.stats.numChunks} chunks`,
  );

  // Open cost.
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
      `open (${preloadBelow ? 'index preloaded' : 'ranged reads'}): ${(bytes / N).toFixed(1)} bytes/series retained${global.gc ? '' : ' (run with --expose-gc for exact figures)'}`,
    );
    await b.close();
  }

  const b = await openBlock(block?.dir as string);
  t = process.hrtime.bigint();
  let samples = 0;
  for await (const s of b.iterateSamples([new Matcher('=~', '__name__', '.+')], -Infinity, Infinity)) {
    samples += s.timestamps.length;
  }
  const readS = secs(t);
  console.log(
    `read back decoded: ${readS.toFixed(2)} s → ${(samples / readS / 1e6).toFixed(2)} M samples/s (${samples})`,
  );
  await b.close();

  t = process.hrtime.bigint();
  let ourBytes = 0;
  await dumpSamples(out, (s) => {
    ourBytes += Buffer.byteLength(s);
  });
  const ourDump = secs(t);
  t = process.hrtime.bigint();
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(out, 'wal'), { recursive: true });
  const theirBytes = await runToNull('promtool', ['tsdb', 'dump', out]);
  const theirDump = secs(t);
  console.log(
    `dump: ours ${ourDump.toFixed(1)} s, promtool ${theirDump.toFixed(1)} s (ratio ${(ourDump / theirDump).toFixed(2)}), ${ourBytes} vs ${theirBytes} bytes`,
  );

  // OpenMetrics backfill against promtool.
  const work = await makeTempDir('bench-om-');
  const file = join(work, 'data.om');
  const perMetric = Math.ceil(OM_SERIES / 30);
  const gen = await writeOpenMetrics(file, {
    seed: 11,
    metrics: 15,
    seriesPerMetric: perMetric,
    durationMs: 6 * 3600_000,
    scrapeIntervalMs: 60_000,
    jitterMs: 2500,
  });
  console.log(`openmetrics: ${gen.series} series, ${gen.samples} samples`);
  t = process.hrtime.bigint();
  await promtool.createBlocksFromOpenMetrics(file, join(work, 'theirs'));
  const theirCreate = secs(t);
  t = process.hrtime.bigint();
  await createBlocksFromOpenMetrics(file, join(work, 'ours'));
  const ourCreate = secs(t);
  console.log(
    `create-blocks-from openmetrics: ours ${ourCreate.toFixed(1)} s, promtool ${theirCreate.toFixed(1)} s (ratio ${(ourCreate / theirCreate).toFixed(2)})`,
  );
  const dumpTheirs = await promtool.dump(join(work, 'theirs'));
  const dumpOurs = await promtool.dump(join(work, 'ours'));
  let ourDumpOfTheirs = '';
  await dumpSamples(join(work, 'theirs'), (s) => {
    ourDumpOfTheirs += s;
  });
  const ids = (d: string) => readdirSync(d).filter((x) => /^[0-9A-Z]{26}$/.test(x));
  const metas = async (d: string) =>
    (await Promise.all(ids(d).map((x) => readBlockMeta(join(d, x))))).sort((a, c) => a.minTime - c.minTime);
  const ma = await metas(join(work, 'theirs'));
  const mb = await metas(join(work, 'ours'));
  let identical = ma.length === mb.length;
  for (let i = 0; identical && i < ma.length; i++) {
    const a = join(work, 'theirs', ma[i]?.ulid as string);
    const c = join(work, 'ours', mb[i]?.ulid as string);
    identical =
      readFileSync(join(a, 'index')).equals(readFileSync(join(c, 'index'))) &&
      readFileSync(join(a, 'chunks', '000001')).equals(readFileSync(join(c, 'chunks', '000001')));
  }
  console.log(`promtool dump of ours == of theirs: ${dumpTheirs === dumpOurs} (${dumpTheirs.length} bytes)`);
  console.log(`our dump of theirs == promtool's: ${ourDumpOfTheirs === dumpTheirs}`);
  console.log(`index and chunk files byte-identical: ${identical} (${ma.length} blocks)`);
  if (dumpTheirs !== dumpOurs || ourDumpOfTheirs !== dumpTheirs || !identical) process.exitCode = 1;
}

await main();
