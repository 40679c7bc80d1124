import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  blocksFromOpenMetrics,
  httpOk,
  makeTempDir,
  PROMETHEUS_TEST_SEGMENT_SIZE_FLAG,
  programAvailable,
  promtool,
  type RunningService,
  removeTempDir,
  requireProgram,
  startPrometheus,
  startService,
  waitFor,
} from '@thanos-ts/testing';
import { openBlock, readBlockMeta, writeTombstones } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactBlocks } from '../src/compact/index.js';

const H = 3_600_000;
// 6h-aligned, so three 2h blocks fill one of Prometheus's 6h compaction windows.
const S = 1_700_006_400_000;
const GEN = { seed: 11, metrics: 9, seriesPerMetric: 8, startMs: S, durationMs: 6 * H, scrapeIntervalMs: 60_000 };

const isBlock = (name: string) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(name);
async function blockDirs(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter(isBlock)
    .sort()
    .map((d) => join(dir, d));
}
async function blocksByMinTime(dir: string): Promise<string[]> {
  const dirs = await blockDirs(dir);
  const metas = await Promise.all(dirs.map(readBlockMeta));
  return dirs
    .map((d, i) => ({ d, t: metas[i]?.minTime as number }))
    .sort((a, b) => a.t - b.t)
    .map((x) => x.d);
}
async function copyBlocks(dirs: readonly string[], to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const d of dirs) await cp(d, join(to, d.split('/').pop() as string), { recursive: true });
}

// One series from S+6h to S+10h: promtool makes two more 2h blocks of it, so that Prometheus's
// planner (which leaves out the newest block and wants a window nothing newer can land in) picks
// exactly the three 6h-window blocks.
async function addLaterBlocks(dir: string, work: string): Promise<void> {
  const lines = ['# TYPE later gauge'];
  for (let t = S + 6 * H; t < S + 10 * H; t += 60_000) lines.push(`later 1 ${(t / 1000).toFixed(3)}`);
  const file = join(work, `later-${Math.random().toString(36).slice(2)}.om`);
  await writeFile(file, `${lines.join('\n')}\n# EOF\n`);
  await promtool.createBlocksFromOpenMetrics(file, dir);
}

// Two overlapping sources of one family: A scrapes on the minute, B on the half minute, and B
// repeats some of A's samples, identical every 10th minute and with another value every 10th+5.
const OVL_SERIES = 20;
const OVL_STEPS = 110;
function overlapFiles(): { a: string; b: string; collisions: Set<string> } {
  const a = ['# TYPE ovl gauge'];
  const b = ['# TYPE ovl gauge'];
  const collisions = new Set<string>();
  const sec = (t: number) => (t / 1000).toFixed(3);
  for (let s = 0; s < OVL_SERIES; s++) {
    for (let k = 0; k < OVL_STEPS; k++) {
      const t = S + k * 60_000;
      a.push(`ovl{i="${s}"} ${s * 1000 + k} ${sec(t)}`);
    }
    for (let k = 0; k < OVL_STEPS; k++) {
      const t = S + k * 60_000;
      if (k % 10 === 0) b.push(`ovl{i="${s}"} ${s * 1000 + k} ${sec(t)}`);
      if (k % 10 === 5) {
        b.push(`ovl{i="${s}"} ${-(s * 1000 + k)} ${sec(t)}`);
        collisions.add(`${s}@${t}`);
      }
      b.push(`ovl{i="${s}"} ${s * 1000 + k + 0.5} ${sec(t + 30_000)}`);
    }
  }
  return { a: `${a.join('\n')}\n# EOF\n`, b: `${b.join('\n')}\n# EOF\n`, collisions };
}

/** Prometheus 2.42 with info logs and 2h→6h compaction over `dataDir`, to watch it compact. */
function startCompactingPrometheus(dataDir: string): Promise<RunningService> {
  return startService({
    name: 'prometheus',
    command: requireProgram('prometheus'),
    prepare: (dir) => writeFile(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n'),
    args: (port, dir) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y',
      '--storage.tsdb.min-block-duration=2h',
      '--storage.tsdb.max-block-duration=6h',
      '--log.level=info',
      PROMETHEUS_TEST_SEGMENT_SIZE_FLAG,
    ],
    ready: (port) => httpOk(`http://127.0.0.1:${port}/-/ready`),
    timeoutMs: 60_000,
  });
}

/** Lets Prometheus compact `dataDir` (its DB loop first compacts a minute after start). */
async function prometheusCompacts(dataDir: string): Promise<string> {
  const prom = await startCompactingPrometheus(dataDir);
  try {
    await waitFor(
      'prometheus to log "compact blocks"',
      async () => /msg="compact blocks"/.test(await readFile(prom.process.logFile, 'utf8')),
      180_000,
    );
  } finally {
    await prom.stop().catch(() => {});
  }
  for (const d of await blockDirs(dataDir)) {
    if ((await readBlockMeta(d)).compaction.level >= 2) return d;
  }
  throw new Error(`no compacted block in ${dataDir}`);
}

/** promtool's dump of one block alone (its data dir may still hold the parents). */
async function dumpBlock(blockDir: string, work: string): Promise<string> {
  const dir = join(work, `dump-${Math.random().toString(36).slice(2)}`);
  await copyBlocks([blockDir], dir);
  return promtool.dump(dir);
}

async function queryRange(url: string, query: string): Promise<unknown> {
  const params = new URLSearchParams({ query, start: String(S / 1000), end: String((S + 6 * H) / 1000), step: '300' });
  const res = await fetch(`${url}/api/v1/query_range?${params}`);
  const body = (await res.json()) as { status: string; data: unknown };
  expect(body.status).toBe('success');
  return body.data;
}

describe.skipIf(!programAvailable('promtool') || !programAvailable('prometheus'))(
  'compactBlocks against promtool and Prometheus 2.42',
  () => {
    let work: string;
    let adj: string; // 3 adjacent 2h blocks from promtool, plus the 2 later ones
    let adj3: string[]; // the three blocks to compact
    let ovl: string[]; // two overlapping blocks
    let collisions: Set<string>;
    let tomb: string[]; // adj3 copies with tombstones written by Prometheus's delete API
    let theirs: { adj: string; ovl: string; tomb: string };

    beforeAll(async () => {
      work = await makeTempDir('compact-e2e-');
      adj = join(work, 'adj');
      await blocksFromOpenMetrics({ ...GEN, dir: adj });
      adj3 = await blocksByMinTime(adj);
      expect(adj3).toHaveLength(3);
      await addLaterBlocks(adj, work);

      const ovlDir = join(work, 'ovl');
      const files = overlapFiles();
      collisions = files.collisions;
      await writeFile(join(work, 'a.om'), files.a);
      await writeFile(join(work, 'b.om'), files.b);
      await promtool.createBlocksFromOpenMetrics(join(work, 'a.om'), ovlDir);
      await promtool.createBlocksFromOpenMetrics(join(work, 'b.om'), ovlDir);
      ovl = await blocksByMinTime(ovlDir);
      expect(ovl).toHaveLength(2);

      // Tombstones as Prometheus writes them: a whole series, and part of a family across blocks.
      const tombDir = join(work, 'tomb');
      await copyBlocks(adj3, tombDir);
      const prom = await startPrometheus({ dataDir: tombDir });
      try {
        const del = async (match: string, startMs: number, endMs: number) => {
          const p = new URLSearchParams({ 'match[]': match, start: String(startMs / 1000), end: String(endMs / 1000) });
          const res = await fetch(`${prom.url}/api/v1/admin/tsdb/delete_series?${p}`, { method: 'POST' });
          expect(res.status).toBe(204);
        };
        await del('gen_counter_0_total{shard="1"}', S, S + 6 * H);
        await del('{__name__=~"gen_gauge_1|gen_histogram_2_bucket"}', S + 1.5 * H + 1, S + 2.75 * H);
      } finally {
        await prom.stop();
      }
      tomb = await blocksByMinTime(tombDir);
      await addLaterBlocks(tombDir, work);

      // Prometheus compacts copies of each set in its own data dir, all at once (each waits ~1 min).
      const [pa, po, pt] = await Promise.all(
        [
          [adj, 'prom-adj'],
          [ovlDir, 'prom-ovl'],
          [tombDir, 'prom-tomb'],
        ].map(async ([src, name]) => {
          const to = join(work, name as string);
          await copyBlocks(await blockDirs(src as string), to);
          return prometheusCompacts(to);
        }),
      );
      theirs = { adj: pa as string, ovl: po as string, tomb: pt as string };
    }, 400_000);

    afterAll(async () => {
      if (work) await removeTempDir(work);
    });

    it('three adjacent 2h blocks: one level-2 block that promtool accepts, equal to the sources and to Prometheus’s', async () => {
      const out = join(work, 'out-adj');
      const res = await compactBlocks({ blockDirs: [...adj3].reverse(), outDir: out });
      expect(res).toBeDefined();
      const metas = await Promise.all(adj3.map(readBlockMeta));
      const meta = res?.meta;
      expect(meta?.compaction.level).toBe(2);
      expect(meta?.compaction.sources).toEqual(metas.map((m) => m.ulid).sort());
      expect(meta?.compaction.parents).toEqual(
        metas.map((m) => ({ ulid: m.ulid, minTime: m.minTime, maxTime: m.maxTime })),
      );
      expect(meta?.minTime).toBe(metas[0]?.minTime);
      expect(meta?.maxTime).toBe(metas[2]?.maxTime);
      expect(meta?.stats.numSamples).toBe(metas.reduce((a, m) => a + (m.stats.numSamples ?? 0), 0));
      expect(await readBlockMeta(res?.dir as string)).toEqual(meta);

      await promtool.analyze(out);
      const srcDir = join(work, 'adj3');
      await copyBlocks(adj3, srcDir);
      const want = await promtool.dump(srcDir);
      expect(want.split('\n').length).toBeGreaterThan(50_000);
      expect(await promtool.dump(out)).toBe(want);
      // Non-overlapping inputs: chunks are copied, so the segment file is Prometheus's own.
      expect(await readFile(join(res?.dir as string, 'chunks', '000001'))).toEqual(
        await readFile(join(theirs.adj, 'chunks', '000001')),
      );
      expect((await readBlockMeta(theirs.adj)).stats).toEqual(meta?.stats);

      // Prometheus serves the compacted block exactly as it serves the sources.
      const [a, b] = await Promise.all([startPrometheus({ dataDir: srcDir }), startPrometheus({ dataDir: out })]);
      try {
        for (const q of [
          'sum by (job) (rate(gen_counter_0_total[5m]))',
          'gen_gauge_1',
          'histogram_quantile(0.9, sum by (le) (rate(gen_histogram_2_bucket[10m])))',
          'count({__name__=~"gen_.+"})',
        ]) {
          const [x, y] = await Promise.all([queryRange(a.url, q), queryRange(b.url, q)]);
          expect(JSON.stringify(y).length).toBeGreaterThan(100);
          expect(y).toEqual(x);
        }
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    it('overlapping blocks: vertical merge keeps one sample per timestamp, the one Prometheus keeps', async () => {
      const out = join(work, 'out-ovl');
      const res = await compactBlocks({ blockDirs: ovl, outDir: out });
      await promtool.analyze(out);
      const ours = await promtool.dump(out);
      const lines = ours.trim().split('\n');
      // Union of A (every minute) and B (every half minute), duplicates counted once.
      expect(lines).toHaveLength(OVL_SERIES * OVL_STEPS * 2);
      expect(res?.meta.stats.numSamples).toBe(OVL_SERIES * OVL_STEPS * 2);
      const picked = { a: 0, b: 0 };
      for (const line of lines) {
        const m = /^\{__name__="ovl", i="(\d+)"\} (\S+) (\d+)$/.exec(line);
        expect(m, line).not.toBeNull();
        const [s, v, t] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
        const k = (t - S) / 60_000;
        if (collisions.has(`${s}@${t}`)) {
          if (v === s * 1000 + k) picked.a++;
          else if (v === -(s * 1000 + k)) picked.b++;
          else throw new Error(`unexpected value in ${line}`);
        } else {
          expect(v).toBe(s * 1000 + k);
        }
      }
      expect(picked.a + picked.b).toBe(collisions.size);
      // Which sample wins is Prometheus's heap order; ours replays it exactly.
      expect(ours).toBe(await dumpBlock(theirs.ovl, work));
      expect(await readFile(join(res?.dir as string, 'chunks', '000001'))).toEqual(
        await readFile(join(theirs.ovl, 'chunks', '000001')),
      );
    });

    it('tombstones of the sources are applied as Prometheus applies them', async () => {
      for (const d of tomb.slice(0, 2)) expect((await readFile(join(d, 'tombstones'))).length).toBeGreaterThan(9);
      const out = join(work, 'out-tomb');
      const res = await compactBlocks({ blockDirs: tomb, outDir: out });
      const ours = await promtool.dump(out);
      const want = await promtool.dump(join(work, 'tomb'), { maxTime: S + 6 * H - 1 });
      expect(ours).toBe(want);
      expect(ours).toBe(await dumpBlock(theirs.tomb, work));
      expect(ours).not.toMatch(/gen_counter_0_total", instance="host-1:9100", job="job-0", shard="1"/);
      expect(res?.meta.stats.numSamples).toBe((await readBlockMeta(theirs.tomb)).stats.numSamples);
      expect(await readFile(join(res?.dir as string, 'chunks', '000001'))).toEqual(
        await readFile(join(theirs.tomb, 'chunks', '000001')),
      );
      expect(await readFile(join(res?.dir as string, 'tombstones'))).toHaveLength(9);
    });

    it('everything deleted: no block, and the inputs are marked deletable when asked', async () => {
      const dir = join(work, 'all-deleted');
      await copyBlocks([adj3[0] as string], dir);
      const blockDir = (await blockDirs(dir))[0] as string;
      const b = await openBlock(blockDir);
      const refs = await b.index.allPostings();
      await b.close();
      const stones = new Map([...refs].map((r) => [r, [{ minTime: b.meta.minTime, maxTime: b.meta.maxTime }]]));
      await writeTombstones(blockDir, stones);
      const out = join(work, 'out-empty');
      await mkdir(out);
      const res = await compactBlocks({ blockDirs: [blockDir], outDir: out, markDeletableWhenEmpty: true });
      expect(res).toBeUndefined();
      expect(await readdir(out)).toEqual([]);
      expect((await readBlockMeta(blockDir)).compaction.deletable).toBe(true);
    });

    it('aborting mid-way leaves no block and no temporary directory', async () => {
      const out = join(work, 'out-abort');
      await mkdir(out);
      const ac = new AbortController();
      const ulid = '01HZZZZZZZZZZZZZZZZZZZZZZZ';
      let seen = 0;
      const run = compactBlocks({
        blockDirs: adj3,
        outDir: out,
        ulid,
        signal: ac.signal,
        onProgress: (n) => {
          seen = n;
          if (n === 10) ac.abort(new Error('stop here'));
        },
      });
      await expect(run).rejects.toThrow('stop here');
      expect(seen).toBe(10);
      expect(await readdir(out)).toEqual([]);

      // A stale temporary directory from a crash is replaced, and the block appears only at the end.
      await mkdir(join(out, `${ulid}.tmp-for-creation`, 'chunks'), { recursive: true });
      await writeFile(join(out, `${ulid}.tmp-for-creation`, 'junk'), 'x');
      let visibleDuring = true;
      const res = await compactBlocks({
        blockDirs: adj3,
        outDir: out,
        ulid,
        onProgress: (n) => {
          if (n === 5) visibleDuring = existsSync(join(out, ulid));
        },
      });
      expect(visibleDuring).toBe(false);
      expect(await readdir(out)).toEqual([ulid]);
      expect(await readdir(res?.dir as string)).toEqual(['chunks', 'index', 'meta.json', 'tombstones']);
      await rm(out, { recursive: true });
    });

    it('carries the Thanos section with source "compactor"', async () => {
      const src = join(work, 'thanos-src');
      await copyBlocks(adj3, src);
      for (const d of await blockDirs(src)) {
        const m = await readBlockMeta(d);
        m.thanos = { labels: { cluster: 'eu', replica: 'a' }, downsample: { resolution: 0 }, source: 'sidecar' };
        await writeFile(join(d, 'meta.json'), JSON.stringify(m));
      }
      const out = join(work, 'out-thanos');
      const res = await compactBlocks({ blockDirs: await blockDirs(src), outDir: out });
      expect(res?.meta.thanos).toMatchObject({
        labels: { cluster: 'eu', replica: 'a' },
        downsample: { resolution: 0 },
        source: 'compactor',
      });
      expect(res?.meta.thanos?.files?.map((f) => f.rel_path)).toEqual(['chunks/000001', 'index', 'meta.json']);

      const other = await blockDirs(src);
      const m = await readBlockMeta(other[1] as string);
      (m.thanos as { labels: Record<string, string> }).labels = { cluster: 'us' };
      await writeFile(join(other[1] as string, 'meta.json'), JSON.stringify(m));
      await expect(compactBlocks({ blockDirs: other, outDir: join(work, 'out-thanos-2') })).rejects.toThrow(
        /different groups/,
      );
    });
  },
);
