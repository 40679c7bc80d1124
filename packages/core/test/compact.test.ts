import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '@thanos-ts/core/block';
import {
  type Compactor,
  type CompactorOptions,
  createCompactor,
  downloadBlock,
  NO_COMPACT_MARK_FILENAME,
  QUARANTINE_REASON,
} from '@thanos-ts/core/compact';
import { createQuerier } from '@thanos-ts/core/query';
import { createStoreGateway, type StoreGateway } from '@thanos-ts/core/store';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import {
  blocksFromOpenMetrics,
  e2eRequired,
  type GeneratedBlocks,
  makeTempDir,
  programAvailable,
  promtool,
} from '@thanos-ts/testing';
import { type BlockMeta, isULID, parseBlockMeta, readBlockMeta } from '@thanos-ts/tsdb';
import { beforeAll, describe, expect, it } from 'vitest';

// 8h- and 2d-aligned, so promtool's 2h blocks fill whole compaction windows.
const T0 = 1_700_006_400_000;
const H = 3_600_000;
const haveProm = programAvailable('promtool');
if (!haveProm && e2eRequired()) throw new Error('THANOS_TS_E2E=1 but promtool is missing');
if (!haveProm) console.warn('SKIPPING compactor tests: promtool not installed');

async function blockDirs(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(isULID).map((d) => join(dir, d));
}

/**
 * Uploads promtool's blocks as a sidecar would ship Prometheus's: a Prometheus head block spans its
 * whole 2h window (maxTime = window end), where promtool ends it at the last sample + 1, which would
 * keep the planner from ever seeing a full window.
 */
async function uploadAll(bucket: Bucket, gen: GeneratedBlocks, labels: Record<string, string>): Promise<void> {
  for (const d of await blockDirs(gen.dir)) {
    const meta = await readBlockMeta(d);
    meta.maxTime = meta.minTime - (meta.minTime % (2 * H)) + 2 * H;
    await uploadBlock(bucket, d, { labels, source: 'sidecar', meta });
  }
}

async function bucketMetas(
  bucket: Bucket,
): Promise<{ live: BlockMeta[]; marked: Set<string>; noCompact: Set<string> }> {
  const live: BlockMeta[] = [];
  const marked = new Set<string>();
  const noCompact = new Set<string>();
  for await (const name of bucket.iter('')) {
    const id = name.replace(/\/$/, '');
    if (!isULID(id)) continue;
    if (await bucket.exists(`${id}/deletion-mark.json`)) marked.add(id);
    if (await bucket.exists(`${id}/${NO_COMPACT_MARK_FILENAME}`)) noCompact.add(id);
    if (!(await bucket.exists(`${id}/meta.json`))) continue;
    live.push(parseBlockMeta(new TextDecoder().decode(await bucket.get(`${id}/meta.json`))));
  }
  return { live: live.filter((m) => !marked.has(m.ulid)), marked, noCompact };
}

function compactorOn(bucket: Bucket, dataDir: string, extra: Partial<CompactorOptions> = {}): Compactor {
  return createCompactor({ bucket, dataDir, consistencyDelayMs: 0, deleteDelayMs: 0, ...extra });
}

const QUERIES = [
  'gen_counter_0_total',
  'rate(gen_counter_0_total[5m])',
  'sum by (job) (gen_gauge_1)',
  'histogram_quantile(0.9, sum by (le) (rate(gen_histogram_2_bucket[10m])))',
  'count(count_over_time({__name__=~"gen_.+"}[1h]))',
];

/** Range-query answers of a querier over a store gateway on `bucket`, normalized for comparison. */
async function answers(bucket: Bucket, opts: { replicaLabels?: string[] } = {}): Promise<string[]> {
  const gateway: StoreGateway = createStoreGateway({ bucket, dataDir: await makeTempDir('compact-sg-') });
  await gateway.start();
  const querier = createQuerier({
    endpoints: [gateway],
    evaluationWorkers: 0,
    replicaLabels: opts.replicaLabels ?? [],
    deduplicationFunc: 'chain',
  });
  await querier.start();
  try {
    const out: string[] = [];
    for (const q of QUERIES) {
      const r = await querier.rangeQuery(q, T0 + 10 * 60_000, T0 + 9 * H, 15 * 60_000);
      if (r.result.type !== 'matrix') throw new Error(`${q}: ${r.result.type}`);
      const series = r.result.series
        .map((s) => `${s.metric.toString()} ${Array.from(s.timestamps).join(',')} ${Array.from(s.values).join(',')}`)
        .sort();
      if (series.length === 0) throw new Error(`${q}: empty answer; the comparison would prove nothing`);
      out.push(`${q}\n${series.join('\n')}`);
    }
    return out;
  } finally {
    await querier.close();
    await gateway.close();
  }
}

describe.skipIf(!haveProm)('compactor against promtool blocks', () => {
  // Two HA replicas of the same 10h of data: 5 blocks of 2h each.
  let r0: GeneratedBlocks;
  let r1: GeneratedBlocks;
  const genOpts = { seed: 3, metrics: 6, seriesPerMetric: 4, startMs: T0, durationMs: 10 * H };
  beforeAll(async () => {
    r0 = await blocksFromOpenMetrics(genOpts);
    r1 = await blocksFromOpenMetrics(genOpts);
  }, 120_000);

  async function haBucket(): Promise<Bucket> {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('compact-bkt-') });
    await uploadAll(bucket, r0, { cluster: 'eu', replica: 'r0' });
    await uploadAll(bucket, r1, { cluster: 'eu', replica: 'r1' });
    return bucket;
  }

  it('compacts each replica group 4×2h → 8h; promtool accepts the result and queries answer the same', async () => {
    const original = await haBucket();
    const bucket = await haBucket();
    const compactor = compactorOn(bucket, await makeTempDir('compact-data-'));
    const result = await compactor.runOnce();
    expect(result.halted).toEqual([]);
    expect(result.errors).toEqual([]);
    expect(result.compacted).toHaveLength(2);
    const { live } = await bucketMetas(bucket);
    // 2 groups: one 8h level-2 block and the newest 2h block each; the sources are deleted.
    expect(
      live.map((m) => `${m.thanos?.labels.replica} ${(m.maxTime - m.minTime) / H}h L${m.compaction.level}`).sort(),
    ).toEqual(['r0 2h L1', 'r0 8h L2', 'r1 2h L1', 'r1 8h L2']);
    const compacted = live.filter((m) => m.compaction.level === 2);
    for (const m of compacted) {
      expect(m.thanos?.source).toBe('compactor');
      expect(m.compaction.sources).toHaveLength(4);
      expect(await bucket.exists(`${m.ulid}/meta.json`)).toBe(true);
    }
    // promtool analyze reads every downloaded compacted block.
    const local = await makeTempDir('compact-dl-');
    for (const m of compacted) {
      await downloadBlock(bucket, m.ulid, join(local, m.ulid), 1);
      expect(await promtool.analyze(local, m.ulid)).toMatch(/Block ID/);
    }
    expect(await answers(bucket)).toEqual(await answers(original));
    // A second run finds nothing left to do.
    const again = await compactor.runOnce();
    expect(again.compacted).toEqual([]);
  }, 180_000);

  it('with --deduplication.replica-label merges both replicas into one block per window', async () => {
    const original = await haBucket();
    const bucket = await haBucket();
    const compactor = compactorOn(bucket, await makeTempDir('compact-data-'), {
      deduplicationReplicaLabels: ['replica'],
    });
    const result = await compactor.runOnce();
    expect(result.halted).toEqual([]);
    expect(result.errors).toEqual([]);
    const { live } = await bucketMetas(bucket);
    for (const m of live) expect(m.thanos?.labels).toEqual({ cluster: 'eu' });
    expect(live.map((m) => `${m.minTime - T0} ${m.maxTime - T0}`).sort()).toEqual([`0 ${8 * H}`, `${8 * H} ${10 * H}`]);
    expect(await answers(bucket, { replicaLabels: ['replica'] })).toEqual(
      await answers(original, { replicaLabels: ['replica'] }),
    );
  }, 180_000);

  it('a crash between upload and marking leaves a consistent bucket; the next run marks the sources as outdated', async () => {
    const original = await haBucket();
    const bucket = await haBucket();
    // The process "dies" at the first deletion mark: the compacted block is uploaded, no source is marked.
    const crashing: Bucket = Object.create(bucket, {
      upload: {
        value: async (name: string, body: Uint8Array, o?: { signal?: AbortSignal }) => {
          if (name.endsWith('/deletion-mark.json')) throw new Error('killed');
          return bucket.upload(name, body, o);
        },
      },
    });
    const first = await compactorOn(crashing, await makeTempDir('compact-data-'), {
      deduplicationReplicaLabels: ['replica'],
    }).runOnce();
    expect(first.errors.length).toBeGreaterThan(0);
    // Readers see sources and result: same data, so a deduplicating querier answers as before.
    expect(await answers(bucket, { replicaLabels: ['replica'] })).toEqual(
      await answers(original, { replicaLabels: ['replica'] }),
    );
    // A delete delay keeps the marks around to look at.
    const second = await compactorOn(bucket, await makeTempDir('compact-data-'), {
      deduplicationReplicaLabels: ['replica'],
      deleteDelayMs: 48 * H,
    }).runOnce();
    expect(second.errors).toEqual([]);
    const marks = await Promise.all(
      second.markedForDeletion.map(async (id) =>
        JSON.parse(new TextDecoder().decode(await bucket.get(`${id}/deletion-mark.json`))),
      ),
    );
    expect(second.markedForDeletion.length).toBeGreaterThan(0);
    expect(marks.some((m: { details?: string }) => m.details === 'outdated block')).toBe(true);
    const { live } = await bucketMetas(bucket);
    expect(live.map((m) => `${m.minTime - T0} ${m.maxTime - T0}`).sort()).toEqual([`0 ${8 * H}`, `${8 * H} ${10 * H}`]);
    expect(await answers(bucket, { replicaLabels: ['replica'] })).toEqual(
      await answers(original, { replicaLabels: ['replica'] }),
    );
  }, 180_000);

  it('retention marks raw blocks older than --retention.resolution-raw, with the delete delay honoured', async () => {
    const bucket = await haBucket();
    const now = () => T0 + 60 * H;
    const compactor = compactorOn(bucket, await makeTempDir('compact-data-'), {
      now,
      retentionRawMs: 56 * H,
      deleteDelayMs: 48 * H,
      downsamplingDisable: true,
      maxCompactionLevel: 0,
    });
    const result = await compactor.runOnce();
    expect(result.compacted).toEqual([]);
    expect(result.deleted).toEqual([]);
    const { marked } = await bucketMetas(bucket);
    // At T0+60h only the two replicas' blocks ending at T0+2h are past 56h; those ending at T0+4h
    // are exactly 56h old, which Thanos keeps (now must be after maxTime + retention).
    expect(marked.size).toBe(2);
    for (const id of marked) {
      const mark = JSON.parse(new TextDecoder().decode(await bucket.get(`${id}/deletion-mark.json`)));
      expect(Object.keys(mark)).toEqual(['id', 'version', 'details', 'deletion_time']);
      expect(mark).toMatchObject({ id, version: 1, deletion_time: Math.floor(now() / 1000) });
    }
  }, 180_000);

  it('a corrupt source block is marked no-compact with the reason; the rest of its group compacts next run', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('compact-bkt-') });
    await uploadAll(bucket, r0, { cluster: 'c' });
    const ids = (await bucketMetas(bucket)).live.sort((a, b) => a.minTime - b.minTime).map((m) => m.ulid);
    const broken = ids[1] as string;
    await bucket.upload(`${broken}/index`, new TextEncoder().encode('not an index'));
    const compactor = compactorOn(bucket, await makeTempDir('compact-data-'));
    const first = await compactor.runOnce();
    expect(first.halted).toHaveLength(1);
    expect(first.halted[0]?.blocks).toEqual([broken]);
    expect(first.halted[0]?.error).toMatch(/block with not healthy index found/);
    const mark = JSON.parse(new TextDecoder().decode(await bucket.get(`${broken}/${NO_COMPACT_MARK_FILENAME}`)));
    expect(mark).toMatchObject({ id: broken, reason: QUARANTINE_REASON });
    expect(compactor.status().quarantined.map((q) => q.blocks.map((b) => b.ulid))).toEqual([[broken]]);
    // The planner never bridges the marked block: the two blocks after it are compacted.
    const second = await compactor.runOnce();
    expect(second.halted).toEqual([]);
    expect(second.compacted).toHaveLength(1);
    const { live } = await bucketMetas(bucket);
    expect(live.map((m) => `${(m.minTime - T0) / H}-${(m.maxTime - T0) / H}`).sort()).toEqual([
      '0-2',
      '2-4',
      '4-8',
      '8-10',
    ]);
    expect(compactor.status().healthy).toBe(false);
  }, 180_000);

  it('quarantines only the group with overlapping blocks', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('compact-bkt-') });
    await uploadAll(bucket, r0, { cluster: 'good' });
    // Two different data sets over the same hours in one group: overlaps without vertical compaction.
    const other = await blocksFromOpenMetrics({ ...genOpts, seed: 9, durationMs: 4 * H });
    await uploadAll(bucket, other, { cluster: 'bad' });
    const r2 = await blocksFromOpenMetrics(genOpts);
    await uploadAll(bucket, r2, { cluster: 'bad' });
    const compactor = compactorOn(bucket, await makeTempDir('compact-data-'), { httpAddress: '127.0.0.1:0' });
    await compactor.start();
    try {
      await expect(compactor.done).rejects.toThrow(/overlaps found while gathering blocks/);
      const last = compactor.status().lastIteration?.result;
      expect(last?.halted).toHaveLength(1);
      expect(last?.halted[0]?.group).toContain('cluster="bad"');
      // The good group still compacted.
      expect(last?.compacted).toHaveLength(1);
      const { live, noCompact } = await bucketMetas(bucket);
      const good = live.filter((m) => m.thanos?.labels.cluster === 'good');
      expect(good.some((m) => m.compaction.level === 2)).toBe(true);
      const bad = live.filter((m) => m.thanos?.labels.cluster === 'bad');
      expect(bad.every((m) => m.compaction.level === 1)).toBe(true);
      expect(noCompact.size).toBeGreaterThan(0);
      for (const id of noCompact) {
        const mark = JSON.parse(new TextDecoder().decode(await bucket.get(`${id}/${NO_COMPACT_MARK_FILENAME}`)));
        expect(mark).toMatchObject({ id, version: 1, reason: QUARANTINE_REASON });
        expect(mark.details).toMatch(/overlaps found/);
      }
      expect(compactor.status().healthy).toBe(false);
      expect(compactor.ready()).toBe(false);
      const ready = await fetch(`http://${compactor.httpAddress}/-/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/quarantined.*cluster="bad"/);
      const metrics = await (await fetch(`http://${compactor.httpAddress}/metrics`)).text();
      expect(metrics).toMatch(/^thanos_compact_halted 1$/m);
    } finally {
      await compactor.close();
      await compactor.close();
    }
  }, 180_000);
});

describe.skipIf(!haveProm)('compactor downsampling', () => {
  it('downsamples a 48h promtool block to 5m; the querier answers sum/min/max_over_time with max_source_resolution=5m as on raw', async () => {
    // promtool cuts blocks at Prometheus's ranges (2h·3^n) up to the maximum: 54h, aligned to 54h.
    const S = Math.ceil(T0 / (54 * H)) * 54 * H;
    const gen = await blocksFromOpenMetrics({
      seed: 5,
      metrics: 3,
      seriesPerMetric: 2,
      // Off the minute, so no raw sample sits on a window edge and [1h] ranges hold the same samples.
      startMs: S + 30_000,
      durationMs: 47 * H + 1_800_000,
      scrapeIntervalMs: 60_000,
      specialValues: false,
      maxBlockDuration: '54h',
    });
    const dirs = await blockDirs(gen.dir);
    expect(dirs).toHaveLength(1);
    const bucket = createFilesystemBucket({ directory: await makeTempDir('compact-bkt-') });
    await uploadBlock(bucket, dirs[0] as string, { labels: { cluster: 'eu' }, source: 'sidecar' });
    const compactor = compactorOn(bucket, await makeTempDir('compact-data-'));
    const result = await compactor.runOnce();
    expect(result.errors).toEqual([]);
    expect(result.downsampled).toHaveLength(1);
    const { live } = await bucketMetas(bucket);
    const five = live.find((m) => m.thanos?.downsample.resolution === 300_000);
    expect(five?.compaction.sources).toEqual([dirs[0]?.split('/').pop()]);
    // Nothing more to do: the 5m block is too short for 1h, the raw block already downsampled.
    expect((await compactor.runOnce()).downsampled).toEqual([]);

    const gateway = createStoreGateway({ bucket, dataDir: await makeTempDir('compact-sg-') });
    await gateway.start();
    const querier = createQuerier({ endpoints: [gateway], evaluationWorkers: 0 });
    await querier.start();
    try {
      // count_over_time is left out: over downsampled data the querier counts windows, as Thanos's
      // does (the count aggregate itself is checked against the raw data in tsdb's downsample test).
      for (const f of ['sum_over_time', 'min_over_time', 'max_over_time']) {
        for (const metric of ['gen_counter_0_total', 'gen_gauge_1']) {
          const q = `${f}(${metric}[1h])`;
          const run = async (maxSourceResolutionMs: number) => {
            const r = await querier.rangeQuery(q, S + 2 * H, S + 46 * H, H, { maxSourceResolutionMs });
            if (r.result.type !== 'matrix') throw new Error(q);
            return r.result.series.map((s) => ({
              m: s.metric.toString(),
              t: Array.from(s.timestamps),
              v: Array.from(s.values),
            }));
          };
          const raw = await run(0);
          const down = await run(300_000);
          expect(raw.length).toBeGreaterThan(0);
          expect(down.map((s) => [s.m, s.t])).toEqual(raw.map((s) => [s.m, s.t]));
          for (const [i, s] of down.entries()) {
            for (const [j, v] of s.v.entries()) expect(v).toBeCloseTo(raw[i]?.v[j] as number, 6);
          }
        }
      }
      expect(
        gateway
          .blocks()
          .map((b) => b.resolution)
          .sort(),
      ).toEqual([0, 300_000]);
    } finally {
      await querier.close();
      await gateway.close();
    }
  }, 180_000);
});

describe('compactor lifecycle', () => {
  it('create → start → close twice → start after close rejects → await using', async () => {
    const bucket = createFilesystemBucket({ directory: await makeTempDir('compact-bkt-') });
    const dataDir = await makeTempDir('compact-data-');
    await mkdir(dataDir, { recursive: true });
    const c = createCompactor({ bucket, dataDir, httpAddress: '127.0.0.1:0', wait: true, waitIntervalMs: 60_000 });
    await c.start();
    const addr = c.httpAddress as string;
    expect((await fetch(`http://${addr}/-/healthy`)).status).toBe(200);
    await c.close();
    await c.close();
    await expect(fetch(`http://${addr}/-/healthy`)).rejects.toThrow();
    await expect(c.start()).rejects.toThrow(/start after close/);
    {
      await using d = createCompactor({ bucket, dataDir });
      await d.start();
      await d.done;
    }
  });

  it.each([
    {
      name: 'penalty without replica label',
      o: { deduplicationFunc: 'penalty' as const },
      err: /needs at least one replica label/,
    },
    { name: 'raw retention below 40h', o: { retentionRawMs: 10 * H }, err: /40 hours/ },
    { name: 'level out of range', o: { maxCompactionLevel: 4 }, err: /max-compaction-level/ },
  ])('refuses $name', ({ o, err }) => {
    const bucket = createFilesystemBucket({ directory: '/nonexistent' });
    expect(() => createCompactor({ bucket, dataDir: '/tmp/x', ...o })).toThrow(err);
  });
});
