/**
 * Downsampling throughput and output size: one raw block → 5m → 1h with `downsampleBlock`.
 * Run: node --import tsx bench/core/compactor-downsample.ts [--series=2000] [--hours=48] [--interval-s=15]
 *
 * Data: `--series` series (half counters with occasional resets, half noisy gauges) sampled every
 * `--interval-s` seconds over `--hours`, written as one block by the tsdb writer (Prometheus's
 * chunk cutting). Reported: raw samples per second for raw → 5m, aggregate samples per second for
 * 5m → 1h, the 5m and 1h blocks' size (chunks + index) as a fraction of the raw block, and the
 * process's peak RSS (getrusage, Node included).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../../packages/testing/src/index.js';
import { downsampleBlock, RES_LEVEL_1, RES_LEVEL_2 } from '../../packages/tsdb/src/downsample/index.js';
import { Labels, writeBlock } from '../../packages/tsdb/src/index.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const SERIES = arg('series', 2000);
const HOURS = arg('hours', 48);
const INTERVAL = arg('interval-s', 15) * 1000;
const T0 = 1_700_006_400_000;

async function blockBytes(dir: string): Promise<number> {
  let n = (await stat(join(dir, 'index'))).size;
  for (const f of await readdir(join(dir, 'chunks'))) n += (await stat(join(dir, 'chunks', f))).size;
  return n;
}

const n = Math.floor((HOURS * 3_600_000) / INTERVAL);
function* series() {
  // Label order: every bench_gauge (odd s) before every bench_total (even s).
  const order = [
    ...Array.from({ length: SERIES }, (_, s) => s).filter((s) => s % 2 === 1),
    ...Array.from({ length: SERIES }, (_, s) => s).filter((s) => s % 2 === 0),
  ];
  for (const s of order) {
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    let c = s;
    for (let i = 0; i < n; i++) {
      ts[i] = T0 + i * INTERVAL + (s % 7) * 100;
      if (s % 2 === 0) {
        c = i % 5000 === 4999 ? 0 : c + ((i * 7 + s) % 11);
        vs[i] = c;
      } else vs[i] = Math.round(Math.sin(i / 40 + s) * 1000 + ((i * 13 + s) % 17)) / 10;
    }
    yield {
      labels: Labels.from({ __name__: s % 2 === 0 ? 'bench_total' : 'bench_gauge', s: String(s).padStart(6, '0') }),
      timestamps: ts,
      values: vs,
    };
  }
}

const dir = await makeTempDir('bench-downsample-');
const raw = await writeBlock(series(), {
  outDir: dir,
  minTime: T0,
  maxTime: T0 + HOURS * 3_600_000,
  thanos: { labels: { cluster: 'bench' }, downsample: { resolution: 0 }, source: 'bench' },
});
if (!raw) throw new Error('no block written');
const rawBytes = await blockBytes(raw.dir);
const rawSamples = raw.meta.stats.numSamples ?? 0;
console.log(`raw: ${SERIES} series, ${rawSamples} samples, ${(rawBytes / 1048576).toFixed(1)} MiB`);

let t = process.hrtime.bigint();
const five = await downsampleBlock({ blockDir: raw.dir, outDir: join(dir, '5m'), resolution: RES_LEVEL_1 });
const fiveMs = Number(process.hrtime.bigint() - t) / 1e6;
if (!five) throw new Error('no 5m block');
const fiveBytes = await blockBytes(five.dir);
console.log(
  `raw → 5m: ${fiveMs.toFixed(0)} ms, ${(((rawSamples / fiveMs) * 1000) / 1e6).toFixed(2)} M raw samples/s; ${five.meta.stats.numSamples} windows, ${(fiveBytes / 1048576).toFixed(2)} MiB = ${(fiveBytes / rawBytes).toFixed(3)} × raw`,
);
t = process.hrtime.bigint();
const hour = await downsampleBlock({ blockDir: five.dir, outDir: join(dir, '1h'), resolution: RES_LEVEL_2 });
const hourMs = Number(process.hrtime.bigint() - t) / 1e6;
if (!hour) throw new Error('no 1h block');
const hourBytes = await blockBytes(hour.dir);
console.log(
  `5m → 1h: ${hourMs.toFixed(0)} ms, ${((((five.meta.stats.numSamples ?? 0) / hourMs) * 1000) / 1e6).toFixed(2)} M windows/s; ${(hourBytes / 1048576).toFixed(2)} MiB = ${(hourBytes / rawBytes).toFixed(3)} × raw`,
);
console.log(
  `5m + 1h tiers: ${((fiveBytes + hourBytes) / rawBytes).toFixed(3)} × raw; peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
