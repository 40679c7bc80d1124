/**
 * Store gateway start-up over a FILESYSTEM bucket of many small blocks (default 10,000; Thanos
 * users report 20–25 minutes to ready at 5k–27k blocks). The bucket is made cheaply: promtool
 * writes 3 real 2h blocks once, then each of the N blocks is a new ULID whose index and chunk
 * files are hard links to one of them and whose meta.json is rewritten (ULID, sources, time
 * range shifted back by 6h per copy round, so the N blocks tile ~N×2h of history).
 *
 * Figures, for a cold start (no index-headers on disk) and a warm restart (index-headers kept):
 *   - start() → ready, ms (target: under 60 s at 10,000 blocks);
 *   - /-/healthy answers while the first sync runs: probes, p50/p99/max latency;
 *   - Series calls answered while the sync runs (blocks synced so far), and one after ready;
 *   - RSS after ready.
 * Run: npx tsx bench/core/store-10k-blocks.ts [--blocks=10000] [--keep]
 * The bucket is built once into .bench-data/store-10k/<blocks>/ (git-ignored); --keep is implied.
 */
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, makeTempDir } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { monotonicFactory } from 'ulid';
import { uploadTsdbBlocks } from '../../packages/core/src/block/upload-blocks.js';
import { NOP_LOGGER } from '../../packages/core/src/log/logger.js';
import { createStoreGateway } from '../../packages/core/src/store/store-gateway.js';
import { numberArg } from '../args.js';

const BLOCKS = numberArg('blocks', 10_000);
const HOURS = 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % (2 * HOURS));

interface MetaJSON {
  ulid: string;
  minTime: number;
  maxTime: number;
  compaction: { level: number; sources?: string[] };
  thanos: { labels: Record<string, string>; files?: Array<{ rel_path: string; size_bytes?: number }> };
}

/** Builds (once) the bucket of BLOCKS blocks; returns its directory and the template ULIDs. */
async function ensureBucket(): Promise<string> {
  const root = join(process.cwd(), '.bench-data', 'store-10k', String(BLOCKS));
  const bucketDir = join(root, 'bucket');
  if (existsSync(join(root, 'done'))) return bucketDir;
  await rm(root, { recursive: true, force: true });
  const t = performance.now();
  const gen = await blocksFromOpenMetrics({
    metrics: 4,
    seriesPerMetric: 10,
    durationMs: 6 * HOURS,
    startMs: T0,
    scrapeIntervalMs: 30_000,
  });
  const templateDir = join(root, 'template');
  await mkdir(templateDir, { recursive: true });
  const templates = await uploadTsdbBlocks(createFilesystemBucket({ directory: templateDir }), gen.dir, {
    labels: { cluster: 'eu1' },
    source: 'sidecar',
  });
  const metas = await Promise.all(
    templates.map(async (id) => JSON.parse(await readFile(join(templateDir, id, 'meta.json'), 'utf8')) as MetaJSON),
  );
  const files = await Promise.all(
    templates.map(async (id) => [
      'index',
      ...(await readdir(join(templateDir, id, 'chunks'))).map((f) => `chunks/${f}`),
    ]),
  );
  // ULIDs from an old clock, increasing: the blocks look uploaded long ago (no consistency delay).
  const next = monotonicFactory();
  const made = T0 - 365 * 24 * HOURS;
  await mkdir(bucketDir, { recursive: true });
  for (let i = 0; i < BLOCKS; i += 256) {
    await Promise.all(
      Array.from({ length: Math.min(256, BLOCKS - i) }, async (_, k) => {
        const n = i + k;
        const tpl = n % templates.length;
        const id = next(made + n);
        const shift = Math.floor(n / templates.length) * 6 * HOURS;
        const src = join(templateDir, templates[tpl] as string);
        const dst = join(bucketDir, id);
        await mkdir(join(dst, 'chunks'), { recursive: true });
        for (const f of files[tpl] as string[]) await link(join(src, f), join(dst, f));
        const meta = structuredClone(metas[tpl] as MetaJSON);
        meta.ulid = id;
        meta.minTime -= shift;
        meta.maxTime -= shift;
        meta.compaction.sources = [id];
        await writeFile(join(dst, 'meta.json'), JSON.stringify(meta));
      }),
    );
  }
  await writeFile(join(root, 'done'), '');
  console.log(`built ${BLOCKS} blocks in ${((performance.now() - t) / 1000).toFixed(1)} s at ${bucketDir}`);
  return bucketDir;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function run(label: string, bucketDir: string, dataDir: string): Promise<void> {
  const g = createStoreGateway({
    bucket: createFilesystemBucket({ directory: bucketDir }),
    dataDir,
    logger: NOP_LOGGER,
    httpAddress: '127.0.0.1:0',
    syncIntervalMs: 0,
  });
  const probes: number[] = [];
  const failures: string[] = [];
  const queries: Array<{ ms: number; series: number; blocks: number }> = [];
  let done = false;
  const t0 = performance.now();
  const started = g.start().then(() => {
    done = true;
  });
  // While the first sync runs: probe /-/healthy every 20 ms and ask for series every 500 ms.
  const prober = (async () => {
    while (!done) {
      const addr = g.httpAddress;
      if (addr) {
        const t = performance.now();
        try {
          const res = await fetch(`http://${addr}/-/healthy`);
          await res.arrayBuffer();
          if (!done) probes.push(performance.now() - t);
        } catch (err) {
          failures.push(String((err as Error).cause ?? err));
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const querier = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 500));
      if (done || !g.httpAddress) continue;
      const t = performance.now();
      let series = 0;
      const blocks = g.blocks().length;
      for await (const r of g.series({
        minTime: T0,
        maxTime: T0 + 6 * HOURS,
        matchers: [matcher('=~', '__name__', '.+')],
      }))
        if (r.type === 'series') series++;
      queries.push({ ms: performance.now() - t, series, blocks });
    }
  })();
  await started;
  const readyMs = performance.now() - t0;
  await Promise.all([prober, querier]);
  const t = performance.now();
  let series = 0;
  for await (const r of g.series({ minTime: T0, maxTime: T0 + 6 * HOURS, matchers: [matcher('=~', '__name__', '.+')] }))
    if (r.type === 'series') series++;
  const afterMs = performance.now() - t;
  const rss = process.memoryUsage().rss / 1024 / 1024;
  const served = queries.filter((q) => q.series > 0);
  console.log(
    `${label}: ${g.blocks().length} blocks ready in ${(readyMs / 1000).toFixed(2)} s; ` +
      `/-/healthy during sync: ${probes.length} probes (${failures.length} failed${failures[0] ? `: ${failures[0]}` : ''}), p50 ${pct(probes, 50).toFixed(1)} ms, p99 ${pct(probes, 99).toFixed(1)} ms, max ${Math.max(0, ...probes).toFixed(1)} ms; ` +
      `series calls during sync: ${queries.length}, ${served.length} with data (first at ${served[0]?.blocks ?? 0} blocks synced; ${served[0]?.series ?? 0} series; max ${Math.max(0, ...queries.map((q) => q.ms)).toFixed(0)} ms); ` +
      `after ready: ${series} series in ${afterMs.toFixed(1)} ms; RSS ${rss.toFixed(0)} MiB`,
  );
  await g.close();
}

const bucketDir = await ensureBucket();
const dataDir = await makeTempDir('store-10k-data-');
console.log(`store gateway start-up over ${BLOCKS} blocks (FILESYSTEM bucket ${bucketDir}), node ${process.version}`);
await run('cold (no index-headers)', bucketDir, dataDir);
await run('warm restart (index-headers on disk)', bucketDir, dataDir);
await rm(dataDir, { recursive: true, force: true });
