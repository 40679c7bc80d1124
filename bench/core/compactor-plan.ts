/**
 * Planning over a bucket of 10,000 block metas (issue 16: under a second).
 * Run: node --import tsx bench/core/compactor-plan.ts [--blocks=10000] [--groups=10] [--runs=5]
 *
 * Data: `--blocks` meta.json files (no chunks: planning reads metas only) in a filesystem bucket,
 * spread over `--groups` compaction groups (external label `cluster`).
 * - "plan": the compactor's pure work per iteration over metas already in memory — grouping by
 *   external labels + resolution, the overlap check and Thanos's planner for every group — on
 *   contiguous 2h blocks (every group has an 8h plan), median of `--runs`.
 * - "iteration": one `runOnce()` of a fresh compactor (downsampling off) over blocks each alone in
 *   its own 14d window, so there is nothing to compact: sync of every meta.json and marker file,
 *   grouping, planning, retention and cleanup — what an idle compactor spends per iteration.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCompactor, groupBlocks, overlappingBlocks } from '../../packages/core/src/compact/index.js';
import { createFilesystemBucket } from '../../packages/objstore/src/index.js';
import { makeTempDir } from '../../packages/testing/src/index.js';
import { type BlockMeta, newBlockId, planCompaction, serializeBlockMeta } from '../../packages/tsdb/src/index.js';

const arg = (name: string, def: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : def;
};
const BLOCKS = arg('blocks', 10_000);
const GROUPS = arg('groups', 10);
const RUNS = arg('runs', 5);
const H = 3_600_000;
const T0 = 1_700_006_400_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function metas(spacingMs: number): BlockMeta[] {
  const out: BlockMeta[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const g = i % GROUPS;
    const minTime = T0 + Math.floor(i / GROUPS) * spacingMs;
    const ulid = newBlockId();
    out.push({
      ulid,
      minTime,
      maxTime: minTime + 2 * H,
      stats: { numSamples: 1_000_000, numSeries: 1000, numChunks: 8000 },
      compaction: { level: 1, sources: [ulid] },
      version: 1,
      thanos: {
        labels: { cluster: `c${g}` },
        downsample: { resolution: 0 },
        source: 'sidecar',
        files: [
          { rel_path: 'chunks/000001', size_bytes: 10_000_000 },
          { rel_path: 'index', size_bytes: 1_000_000 },
          { rel_path: 'meta.json' },
        ],
      },
    });
  }
  return out;
}

// Pure planning over metas in memory.
const contiguous = metas(2 * H);
const planMs: number[] = [];
let plans = 0;
for (let r = 0; r < RUNS; r++) {
  const t = performance.now();
  plans = 0;
  for (const g of groupBlocks(contiguous)) {
    overlappingBlocks(g.metas);
    if (planCompaction(g.metas).length > 0) plans++;
  }
  planMs.push(performance.now() - t);
}
console.log(
  `plan: ${BLOCKS} metas in ${GROUPS} groups, ${plans} groups with a plan: ${median(planMs).toFixed(1)} ms median of ${RUNS} (${planMs.map((m) => m.toFixed(1)).join(', ')})`,
);

// One idle iteration over a bucket of the same number of metas.
const dir = await makeTempDir('bench-compact-plan-');
const idle = metas(14 * 24 * H);
for (const m of idle) {
  await mkdir(join(dir, m.ulid), { recursive: true });
  await writeFile(join(dir, m.ulid, 'meta.json'), serializeBlockMeta(m));
}
const iterMs: number[] = [];
for (let r = 0; r < Math.min(RUNS, 3); r++) {
  const compactor = createCompactor({
    bucket: createFilesystemBucket({ directory: dir }),
    dataDir: await makeTempDir('bench-compact-plan-data-'),
    consistencyDelayMs: 0,
    downsamplingDisable: true,
  });
  const t = performance.now();
  const res = await compactor.runOnce();
  iterMs.push(performance.now() - t);
  if (res.compacted.length > 0 || res.errors.length > 0) throw new Error(`unexpected work: ${JSON.stringify(res)}`);
}
console.log(
  `iteration: idle runOnce over ${BLOCKS} metas in a filesystem bucket (sync of metas and markers, plan, retention, cleanup): ${median(iterMs).toFixed(0)} ms median (${iterMs.map((m) => m.toFixed(0)).join(', ')})`,
);
