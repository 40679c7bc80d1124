import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '@thanos-ts/core/block';
import { createCompactor, downloadBlock, penaltyMergeChunks } from '@thanos-ts/core/compact';
import { dedupReplicas } from '@thanos-ts/core/query';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, e2eRequired, makeTempDir, programAvailable, promtool } from '@thanos-ts/testing';
import {
  ChunkEncoding,
  decodeXorInto,
  type EncodedChunk,
  encodeXorChunk,
  isULID,
  parseBlockMeta,
  readBlockMeta,
  xorNumSamples,
} from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_006_400_000;
const H = 3_600_000;

function chunk(ts: number[], vs: number[]): EncodedChunk {
  return {
    minTime: ts[0] as number,
    maxTime: ts[ts.length - 1] as number,
    encoding: ChunkEncoding.XOR,
    data: encodeXorChunk(Float64Array.from(ts), Float64Array.from(vs), 0, ts.length),
  };
}

function samples(chunks: readonly EncodedChunk[]): { t: number[]; v: number[] } {
  const t: number[] = [];
  const v: number[] = [];
  for (const c of chunks) {
    const ts = new Float64Array(xorNumSamples(c.data));
    const vs = new Float64Array(ts.length);
    const n = decodeXorInto(c.data, ts, vs);
    t.push(...ts.subarray(0, n));
    v.push(...vs.subarray(0, n));
  }
  return { t, v };
}

describe('penaltyMergeChunks', () => {
  it('one overlapping run: exactly the penalty deduplication of the two replicas, cut every 120 samples', () => {
    const t0 = Array.from({ length: 100 }, (_, k) => T0 + k * 15_000);
    const t1 = t0.map((t) => t + 5_000);
    // Replica 1 misses a stretch that replica 0 has, and the reverse later.
    const r0 = { t: t0.filter((_, k) => k < 60 || k > 75), v: [] as number[] };
    r0.v = r0.t.map((t) => (t - T0) / 1000);
    const r1 = { t: t1.filter((_, k) => k < 20 || k > 30), v: [] as number[] };
    r1.v = r1.t.map((t) => (t - T0) / 1000);
    const got = samples(penaltyMergeChunks([[chunk(r0.t, r0.v)], [chunk(r1.t, r1.v)]], 'test'));
    const want = dedupReplicas(
      [
        { timestamps: Float64Array.from(r0.t), values: Float64Array.from(r0.v) },
        { timestamps: Float64Array.from(r1.t), values: Float64Array.from(r1.v) },
      ],
      false,
    );
    expect(got.t).toEqual(Array.from(want.timestamps));
    expect(got.v).toEqual(Array.from(want.values));
    // One replica's rate, gaps filled from the other: no doubled sampling.
    expect(got.t.length).toBeGreaterThanOrEqual(95);
    expect(got.t.length).toBeLessThanOrEqual(101);
  });

  it('keeps non-overlapping chunks byte for byte and drops 1:1 duplicates', () => {
    const a = chunk([T0, T0 + 15_000], [1, 2]);
    const b = chunk([T0 + 60_000, T0 + 75_000], [3, 4]);
    const out = penaltyMergeChunks([[a, b], [chunk([T0, T0 + 15_000], [1, 2])]], 'test');
    expect(out).toEqual([a, b]);
  });
});

const haveProm = programAvailable('promtool');
if (!haveProm && e2eRequired()) throw new Error('THANOS_TS_E2E=1 but promtool is missing');

describe.skipIf(!haveProm)('compactor with --deduplication.func=penalty', () => {
  it('merges HA replicas scraped 5s apart into one series at one replica’s rate; promtool accepts the block', async () => {
    const opts = { seed: 4, metrics: 3, seriesPerMetric: 3, durationMs: 4 * H, scrapeIntervalMs: 15_000 };
    const r0 = await blocksFromOpenMetrics({ ...opts, startMs: T0 });
    const r1 = await blocksFromOpenMetrics({ ...opts, startMs: T0 + 5_000 });
    const bucket = createFilesystemBucket({ directory: await makeTempDir('penalty-bkt-') });
    for (const [gen, replica] of [
      [r0, 'a'],
      [r1, 'b'],
    ] as const) {
      for (const d of (await readdir(gen.dir)).filter(isULID)) {
        const meta = await readBlockMeta(join(gen.dir, d));
        meta.maxTime = meta.minTime - (meta.minTime % (2 * H)) + 2 * H;
        await uploadBlock(bucket, join(gen.dir, d), { labels: { cluster: 'eu', replica }, source: 'sidecar', meta });
      }
    }
    const compactor = createCompactor({
      bucket,
      dataDir: await makeTempDir('penalty-data-'),
      consistencyDelayMs: 0,
      deleteDelayMs: 0,
      deduplicationReplicaLabels: ['replica'],
      deduplicationFunc: 'penalty',
    });
    const result = await compactor.runOnce();
    expect(result.errors).toEqual([]);
    expect(result.halted).toEqual([]);
    const metas = [];
    for await (const name of bucket.iter('')) {
      const id = name.replace(/\/$/, '');
      if (isULID(id)) metas.push(parseBlockMeta(new TextDecoder().decode(await bucket.get(`${id}/meta.json`))));
    }
    expect(metas.map((m) => m.thanos?.labels)).toEqual(metas.map(() => ({ cluster: 'eu' })));
    const perReplica = r0.samples;
    const total = metas.reduce((s, m) => s + (m.stats.numSamples ?? 0), 0);
    // Chain merge would keep both replicas' samples (2×); penalty keeps about one replica's.
    expect(total).toBeGreaterThan(perReplica * 0.9);
    expect(total).toBeLessThan(perReplica * 1.1);
    const local = await makeTempDir('penalty-dl-');
    for (const m of metas) {
      await downloadBlock(bucket, m.ulid, join(local, m.ulid), 1);
      expect(await promtool.analyze(local, m.ulid)).toMatch(/Block ID/);
    }
  }, 120_000);
});
