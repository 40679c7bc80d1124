import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { uploadBlock } from '@thanos-ts/core/block';
import {
  DELETION_MARK_FILENAME,
  downloadBlock,
  gatherIndexHealthStats,
  indexHealthError,
  sanitizeChunks,
} from '@thanos-ts/core/compact';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { e2eRequired, makeTempDir, programAvailable, promtool } from '@thanos-ts/testing';
import {
  BlockWriter,
  ChunkEncoding,
  type EncodedChunk,
  encodeXorChunk,
  isULID,
  Labels,
  newBlockId,
  parseBlockMeta,
  readBlockMeta,
  serializeBlockMeta,
} from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { bucketVerify, parseBucketVerifyFlags } from './tools-bucket.js';

const H = 3_600_000;
const T0 = 1_700_006_400_000;
const haveProm = programAvailable('promtool');
if (!haveProm && e2eRequired()) throw new Error('THANOS_TS_E2E=1 but promtool is missing');
if (!haveProm) console.warn('SKIPPING promtool checks of tools bucket verify --repair');

function chunk(from: number, n: number, stepMs = 15_000, v0 = 0): EncodedChunk {
  const ts = Float64Array.from({ length: n }, (_, i) => from + i * stepMs);
  const vs = Float64Array.from({ length: n }, (_, i) => v0 + i);
  return {
    minTime: from,
    maxTime: ts[n - 1] as number,
    encoding: ChunkEncoding.XOR,
    data: encodeXorChunk(ts, vs, 0, n),
  };
}

/**
 * A 2h block [T0, T0+2h) with the index problems Thanos repairs: `b` has an exact duplicate chunk
 * and a chunk wholly after the block; `c` has a chunk starting at maxTime (prometheus/tsdb#347).
 */
async function brokenBlock(dir: string): Promise<{ dir: string; id: string }> {
  const id = newBlockId();
  const w = await BlockWriter.create({
    outDir: dir,
    ulid: id,
    minTime: T0,
    maxTime: T0 + 2 * H,
    compactionLevel: 1,
    sources: [id],
  });
  // A one-sample duplicate: the index stores each chunk's start as a delta from the previous
  // chunk's end, which tsdb's writer (unlike Go's wrapping uint64) cannot encode negative, so a
  // longer overlapping duplicate cannot be written to test with.
  const dup = chunk(T0 + H, 1);
  await w.addSeries(Labels.from({ __name__: 'a' }), [chunk(T0, 200)]);
  await w.addSeries(Labels.from({ __name__: 'b' }), [chunk(T0, 100), dup, dup, chunk(T0 + 3 * H, 10)]);
  await w.addSeries(Labels.from({ __name__: 'c' }), [chunk(T0, 100), chunk(T0 + 2 * H, 5)]);
  const written = await w.commit();
  if (!written) throw new Error('no block');
  return { dir: written.dir, id };
}

const flags = { 'log.level': 'error', 'log.format': 'logfmt', repair: false, issues: [], id: [], deleteDelay: '0s' };

describe('tools bucket verify flags', () => {
  it.each([
    [{}, { issues: [], ids: [], repair: false, deleteDelayMs: 0 }],
    [
      { repair: true, 'objstore-backup.config': 'x', issues: ['index_known_issues'], deleteDelay: '48h' },
      { issues: ['index_known_issues'], ids: [], repair: true, deleteDelayMs: 48 * H },
    ],
  ])('parses %j', (over, want) => {
    expect(parseBucketVerifyFlags({ ...flags, ...over })).toEqual(want);
  });
  it.each([
    [{ repair: true }, /repair is specified, so backup client is required/],
    [{ issues: ['nope'] }, /--issues: no such issue ID nope/],
    [{ id: ['x'] }, /--id/],
    [{ deleteDelay: 'x' }, /--delete-delay/],
    [{ 'objstore-backup.config': 'a', 'objstore-backup.configFile': 'b' }, /mutually exclusive/],
  ])('names the problem in %j', (over, want) => {
    expect(() => parseBucketVerifyFlags({ ...flags, ...over })).toThrow(want);
  });
});

describe('gatherIndexHealthStats', () => {
  it('counts the outsiders and duplicates of a broken block; the error text is as Thanos words it', async () => {
    const broken = await brokenBlock(await makeTempDir('verify-stats-'));
    const stats = await gatherIndexHealthStats(join(broken.dir, 'index'), T0, T0 + 2 * H);
    expect(stats).toEqual({
      totalSeries: 3,
      totalChunks: 7,
      outOfOrderSeries: 0,
      outOfOrderChunks: 0,
      duplicatedChunks: 1,
      outsideChunks: 2,
      completeOutsideChunks: 1,
      issue347OutsideChunks: 1,
      outOfOrderLabels: 0,
    });
    expect(indexHealthError({ ...stats, outOfOrderSeries: 1, outOfOrderChunks: 2, outsideChunks: 3 })).toBe(
      'found 1 chunks non-completely outside the block time range, found 1 chunks completely outside the block time range, found 1 chunks outside the block time range introduced by https://github.com/prometheus/tsdb/issues/347, 1/3 series have an average of 2.000 out-of-order chunks: 0.500 of these are exact duplicates (in terms of data and time range)',
    );
  });
});

describe('sanitizeChunks', () => {
  const c = chunk(T0, 10);
  it.each([
    ['drops exact duplicates and complete outsiders', [c, c, chunk(T0 + 5 * H, 3)], [c]],
    ['drops a chunk starting at maxTime (#347)', [c, chunk(T0 + 2 * H, 3)], [c]],
    ['sorts by start', [chunk(T0 + H, 3), c], [c, chunk(T0 + H, 3)]],
  ])('%s', (_, input, want) => {
    expect(sanitizeChunks(input, T0, T0 + 2 * H)).toEqual(want);
  });
  it('refuses an overlap that is not an exact copy', () => {
    expect(() => sanitizeChunks([c, chunk(T0 + 15_000, 10)], T0, T0 + 2 * H)).toThrow(
      /non-sequential chunks not equal/,
    );
    expect(() => sanitizeChunks([c, chunk(T0, 10, 15_000, 7)], T0, T0 + 2 * H)).toThrow(
      /non-sequential chunks not equal/,
    );
  });
});

describe('tools bucket verify --repair', () => {
  it('index_known_issues: uploads a repaired block first, then backs up and marks the broken one; the repaired block passes verify and promtool', async () => {
    const local = await makeTempDir('verify-local-');
    const broken = await brokenBlock(local);
    const bucket = createFilesystemBucket({ directory: await makeTempDir('verify-bkt-') });
    const backup = createFilesystemBucket({ directory: await makeTempDir('verify-backup-') });
    await uploadBlock(bucket, broken.dir, { labels: { cluster: 'eu' }, source: 'sidecar' });
    const out: string[] = [];
    const found = await bucketVerify(bucket, { issues: ['index_known_issues'] }, (l) => out.push(l));
    expect(found.map((f) => [f.subject, f.detail])).toEqual([
      [
        broken.id,
        'found 1 chunks completely outside the block time range, found 1 chunks outside the block time range introduced by https://github.com/prometheus/tsdb/issues/347',
      ],
    ]);
    await expect(bucketVerify(bucket, { issues: ['index_known_issues'], repair: true }, () => {})).rejects.toThrow(
      /backup client is required/,
    );

    // Every object written, in order: the new block must be complete before the old one is touched.
    const order: string[] = [];
    const recording = {
      ...bucket,
      upload: async (n: string, b: Parameters<typeof bucket.upload>[1], o?: Parameters<typeof bucket.upload>[2]) => {
        order.push(n);
        await bucket.upload(n, b, o);
      },
    };
    const repaired = await bucketVerify(
      recording,
      { issues: ['index_known_issues'], repair: true, backupBucket: backup, deleteDelayMs: 48 * H },
      () => {},
    );
    const newId = /repaired as (\w+)/.exec(repaired[0]?.repair ?? '')?.[1] as string;
    expect(isULID(newId), repaired[0]?.repair).toBe(true);
    expect(order.indexOf(`${newId}/meta.json`)).toBeLessThan(order.indexOf(`${broken.id}/${DELETION_MARK_FILENAME}`));
    expect(order.at(-1)).toBe(`${broken.id}/${DELETION_MARK_FILENAME}`);
    expect(await bucket.exists(`${broken.id}/index`)).toBe(true);
    expect(await backup.exists(`${broken.id}/meta.json`)).toBe(true);
    const meta = parseBlockMeta(Buffer.from(await bucket.get(`${newId}/meta.json`)).toString());
    expect(meta.thanos?.source).toBe('bucket.repair');
    expect(meta.thanos?.labels).toEqual({ cluster: 'eu' });
    expect([meta.minTime, meta.maxTime]).toEqual([T0, T0 + 2 * H]);
    expect(meta.stats.numSamples, JSON.stringify(meta.stats)).toBe(200 + 101 + 100);

    // The broken block is marked, so verify now sees only the repaired one, and it is healthy.
    expect(await bucketVerify(bucket, { issues: ['index_known_issues'] }, () => {})).toEqual([]);

    if (haveProm) {
      const db = await makeTempDir('verify-db-');
      await downloadBlock(bucket, newId, join(db, newId), 1);
      await promtool.analyze(db, newId);
      const dump = (await promtool.dump(db)).split('\n').filter((l) => l !== '');
      const perSeries = (name: string) => dump.filter((l) => l.startsWith(`{__name__="${name}"}`)).length;
      expect([perSeries('a'), perSeries('b'), perSeries('c')]).toEqual([200, 101, 100]);
    }
  });

  it('index_known_issues with --delete-delay=0 deletes the broken block only after the backup', async () => {
    const broken = await brokenBlock(await makeTempDir('verify-local-'));
    const bucket = createFilesystemBucket({ directory: await makeTempDir('verify-bkt-') });
    const backup = createFilesystemBucket({ directory: await makeTempDir('verify-backup-') });
    await uploadBlock(bucket, broken.dir, { labels: { cluster: 'eu' }, source: 'sidecar' });
    const [r] = await bucketVerify(
      bucket,
      { issues: ['index_known_issues'], repair: true, backupBucket: backup, deleteDelayMs: 0 },
      () => {},
    );
    expect(r?.repair).toMatch(/old block deleted/);
    expect(await bucket.exists(`${broken.id}/meta.json`)).toBe(false);
    expect(await backup.exists(`${broken.id}/index`)).toBe(true);
    // A second repair of the same block would find it already in the backup and refuse.
    await uploadBlock(bucket, broken.dir, { labels: { cluster: 'eu' }, source: 'sidecar' });
    const [again] = await bucketVerify(
      bucket,
      { issues: ['index_known_issues'], repair: true, backupBucket: backup, deleteDelayMs: 0, ids: [broken.id] },
      () => {},
    );
    expect(again?.repair).toMatch(/dir seems to exists in backup bucket/);
    expect(await bucket.exists(`${broken.id}/meta.json`)).toBe(true);
  });

  it('duplicated_compaction: reports copies and, with --repair, backs up and marks all but the first', async () => {
    const local = await makeTempDir('verify-local-');
    const id = newBlockId();
    const w = await BlockWriter.create({
      outDir: local,
      ulid: id,
      compactionLevel: 2,
      sources: [newBlockId(), newBlockId()],
    });
    await w.addSeries(Labels.from({ __name__: 'a' }), [chunk(T0, 50)]);
    const written = await w.commit();
    if (!written) throw new Error('no block');
    const copies = [id, newBlockId(), newBlockId()];
    const bucket = createFilesystemBucket({ directory: await makeTempDir('verify-bkt-') });
    const backup = createFilesystemBucket({ directory: await makeTempDir('verify-backup-') });
    for (const c of copies) {
      const d = join(local, 'copies', c);
      await mkdir(join(local, 'copies'), { recursive: true });
      await cp(written.dir, d, { recursive: true });
      const m = await readBlockMeta(d);
      await uploadBlock(bucket, d, { labels: { cluster: 'eu' }, source: 'compactor', meta: { ...m, ulid: c } });
    }
    // A different block in the same range (other sources) is not a duplicate.
    const other = newBlockId();
    await bucket.upload(
      `${other}/meta.json`,
      new TextEncoder().encode(
        serializeBlockMeta({
          ...(await readBlockMeta(written.dir)),
          ulid: other,
          compaction: { level: 2, sources: [newBlockId()] },
          thanos: { labels: { cluster: 'eu' }, downsample: { resolution: 0 }, source: 'compactor' },
        }),
      ),
    );
    const sorted = [...copies].sort();
    const found = await bucketVerify(bucket, { issues: ['duplicated_compaction'] }, () => {});
    expect(found.map((f) => f.subject)).toEqual(sorted.slice(1));
    await expect(bucketVerify(bucket, { issues: ['duplicated_compaction'], ids: [id] }, () => {})).rejects.toThrow(
      /id matching is not supported/,
    );
    const fixed = await bucketVerify(
      bucket,
      { issues: ['duplicated_compaction'], repair: true, backupBucket: backup, deleteDelayMs: 48 * H },
      () => {},
    );
    expect(fixed.map((f) => f.repair)).toEqual(['marked for deletion', 'marked for deletion']);
    for (const c of sorted.slice(1)) {
      expect(await bucket.exists(`${c}/${DELETION_MARK_FILENAME}`)).toBe(true);
      expect(await backup.exists(`${c}/meta.json`)).toBe(true);
    }
    expect(await bucket.exists(`${sorted[0]}/${DELETION_MARK_FILENAME}`)).toBe(false);
    expect(await bucketVerify(bucket, { issues: ['duplicated_compaction'] }, () => {})).toEqual([]);
    expect((await readdir(join(local, 'copies'))).length).toBe(3);
  });
});
