import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import {
  applyBucketRetention,
  cleanupBucket,
  DELETION_MARK_FILENAME,
  type DeletionMark,
  MANUAL_REASON,
  markBlocks,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
  type NoCompactMark,
  PARTIAL_UPLOAD_THRESHOLD_MS,
  readMarker,
} from '@thanos-ts/core/compact';
import { parseRelabelConfig } from '@thanos-ts/core/store';
import { type Bucket, createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { type BlockMeta, serializeBlockMeta } from '@thanos-ts/tsdb';
import { ulid } from 'ulid';
import { beforeEach, describe, expect, it } from 'vitest';

const H = 3_600_000;
const D = 24 * H;
// The test clock: blocks are made days before it.
const NOW = 1_760_000_000_000;

function meta(
  id: string,
  minTime: number,
  maxTime: number,
  over: { resolution?: number; labels?: Record<string, string>; sources?: string[]; level?: number } = {},
): BlockMeta {
  return {
    ulid: id,
    minTime,
    maxTime,
    stats: { numSeries: 1, numSamples: 10, numChunks: 1 },
    compaction: { level: over.level ?? 1, sources: over.sources ?? [id] },
    version: 1,
    thanos: {
      labels: over.labels ?? { cluster: 'eu' },
      downsample: { resolution: over.resolution ?? 0 },
      source: 'sidecar',
    },
  };
}

async function putBlock(b: Bucket, m: BlockMeta, withMeta = true): Promise<void> {
  await b.upload(`${m.ulid}/chunks/000001`, new Uint8Array(3));
  await b.upload(`${m.ulid}/index`, new Uint8Array(5));
  if (withMeta) await b.upload(`${m.ulid}/meta.json`, new TextEncoder().encode(serializeBlockMeta(m)));
}

async function objects(b: Bucket, id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const n of b.iter(`${id}/`, { recursive: true })) out.push(n);
  return out.sort();
}

async function markAt(b: Bucket, id: string, atMs: number): Promise<void> {
  const m: DeletionMark = { id, version: 1, details: 'test', deletion_time: Math.floor(atMs / 1000) };
  await b.upload(`${id}/${DELETION_MARK_FILENAME}`, new TextEncoder().encode(JSON.stringify(m)));
}

describe('bucket maintenance (tools bucket mark|cleanup|retention)', () => {
  let dir: string;
  let bucket: Bucket;
  beforeEach(async () => {
    dir = await makeTempDir('compact-maint-');
    bucket = createFilesystemBucket({ directory: dir });
  });

  it('markBlocks puts each marker with Thanos fields (reason manual), keeps an existing one and removes on request', async () => {
    const a = ulid(NOW - 5 * D);
    const b = ulid(NOW - 4 * D);
    await putBlock(bucket, meta(a, NOW - 5 * D, NOW - 5 * D + 2 * H));
    await putBlock(bucket, meta(b, NOW - 4 * D, NOW - 4 * D + 2 * H));
    const now = () => NOW;
    expect(await markBlocks(bucket, { ids: [a, b], marker: DELETION_MARK_FILENAME, details: 'by hand', now })).toEqual([
      a,
      b,
    ]);
    expect(await readMarker<DeletionMark>(bucket, a, DELETION_MARK_FILENAME)).toEqual({
      id: a,
      version: 1,
      details: 'by hand',
      deletion_time: NOW / 1000,
    });
    // Already marked: left as it is (Thanos warns and keeps the first mark's time).
    const lines: string[] = [];
    const logger = {
      debug() {},
      info: (m: string) => lines.push(`info ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
      error() {},
    };
    expect(
      await markBlocks(bucket, {
        ids: [a],
        marker: DELETION_MARK_FILENAME,
        details: 'again',
        now: () => NOW + D,
        logger,
      }),
    ).toEqual([]);
    expect(lines).toEqual([
      'warn requested to mark for deletion, but file already exists; this should not happen; investigate',
      'info marking done',
    ]);
    expect((await readMarker<DeletionMark>(bucket, a, DELETION_MARK_FILENAME))?.details).toBe('by hand');

    await markBlocks(bucket, { ids: [a], marker: NO_COMPACT_MARK_FILENAME, details: 'too big', now });
    const nc = await readMarker<NoCompactMark>(bucket, a, NO_COMPACT_MARK_FILENAME);
    expect(nc).toEqual({ id: a, version: 1, details: 'too big', no_compact_time: NOW / 1000, reason: MANUAL_REASON });
    await markBlocks(bucket, { ids: [b], marker: NO_DOWNSAMPLE_MARK_FILENAME, details: 'x', now });
    expect(await bucket.exists(`${b}/${NO_DOWNSAMPLE_MARK_FILENAME}`)).toBe(true);

    expect(await markBlocks(bucket, { ids: [a, b], marker: DELETION_MARK_FILENAME, remove: true })).toEqual([a, b]);
    expect(await bucket.exists(`${a}/${DELETION_MARK_FILENAME}`)).toBe(false);
    // Removing a marker that is not there is not an error.
    expect(await markBlocks(bucket, { ids: [a], marker: DELETION_MARK_FILENAME, remove: true })).toEqual([]);
    expect(await bucket.exists(`${a}/${NO_COMPACT_MARK_FILENAME}`)).toBe(true);
  });

  it.each([
    [
      { ids: ['not-a-ulid'], marker: DELETION_MARK_FILENAME, details: 'x' },
      /block.id is not a valid UUID, got: not-a-ulid/,
    ],
    [{ ids: [ulid(NOW)], marker: DELETION_MARK_FILENAME }, /required flag --details not provided/],
    [{ ids: [ulid(NOW)], marker: 'meta.json', details: 'x' }, /not supported marker meta.json/],
    [{ ids: [], marker: DELETION_MARK_FILENAME, details: 'x' }, /required flag --id not provided/],
  ])('markBlocks refuses %j before writing anything', async (opts, err) => {
    await expect(markBlocks(bucket, opts)).rejects.toThrow(err);
    const all: string[] = [];
    for await (const n of bucket.iter('', { recursive: true })) all.push(n);
    expect(all).toEqual([]);
  });

  it('cleanupBucket deletes blocks marked longer than --delete-delay ago and old partial uploads, nothing else', async () => {
    const old = ulid(NOW - 10 * D);
    const recent = ulid(NOW - 9 * D);
    const live = ulid(NOW - 8 * D);
    const oldPartial = ulid(NOW - 7 * D);
    const freshPartial = ulid(NOW - 6 * D);
    await putBlock(bucket, meta(old, NOW - 10 * D, NOW - 10 * D + 2 * H));
    await putBlock(bucket, meta(recent, NOW - 9 * D, NOW - 9 * D + 2 * H));
    await putBlock(bucket, meta(live, NOW - 8 * D, NOW - 8 * D + 2 * H));
    await putBlock(bucket, meta(oldPartial, 0, 1), false);
    await putBlock(bucket, meta(freshPartial, 0, 1), false);
    await markAt(bucket, old, NOW - 49 * H);
    await markAt(bucket, recent, NOW - 47 * H);
    // The bucket's modification times decide a partial upload's age (the ULID time is the fallback).
    const t = new Date(NOW - PARTIAL_UPLOAD_THRESHOLD_MS - H);
    for (const f of ['chunks/000001', 'index']) await utimes(join(dir, oldPartial, f), t, t);
    const t2 = new Date(NOW - H);
    for (const f of ['chunks/000001', 'index']) await utimes(join(dir, freshPartial, f), t2, t2);

    const r = await cleanupBucket(bucket, { deleteDelayMs: 48 * H, consistencyDelayMs: 0, now: () => NOW });
    expect(r).toEqual({ deleted: [old], partialDeleted: [oldPartial] });
    expect(await objects(bucket, old)).toEqual([]);
    expect(await objects(bucket, oldPartial)).toEqual([]);
    expect(await objects(bucket, recent)).toHaveLength(4);
    expect(await objects(bucket, live)).toHaveLength(3);
    expect(await objects(bucket, freshPartial)).toHaveLength(2);

    // A delay of 0 deletes every marked block.
    expect((await cleanupBucket(bucket, { deleteDelayMs: 0, consistencyDelayMs: 0, now: () => NOW })).deleted).toEqual([
      recent,
    ]);
  });

  it('cleanupBucket only touches blocks the selector relabel config keeps', async () => {
    const eu = ulid(NOW - 10 * D);
    const us = ulid(NOW - 9 * D);
    await putBlock(bucket, meta(eu, NOW - 10 * D, NOW - 10 * D + 2 * H, { labels: { cluster: 'eu' } }));
    await putBlock(bucket, meta(us, NOW - 9 * D, NOW - 9 * D + 2 * H, { labels: { cluster: 'us' } }));
    await markAt(bucket, eu, NOW - 3 * D);
    await markAt(bucket, us, NOW - 3 * D);
    const relabel = parseRelabelConfig('- action: keep\n  source_labels: [cluster]\n  regex: us\n', 'test');
    const r = await cleanupBucket(bucket, { deleteDelayMs: 48 * H, consistencyDelayMs: 0, relabel, now: () => NOW });
    expect(r.deleted).toEqual([us]);
    expect(await bucket.exists(`${eu}/meta.json`)).toBe(true);
  });

  it('applyBucketRetention marks blocks past their resolution retention, with Thanos details; others untouched', async () => {
    const rawOld = ulid(NOW - 30 * D);
    const rawNew = ulid(NOW - 2 * D);
    const fiveOld = ulid(NOW - 29 * D);
    const hourOld = ulid(NOW - 28 * D);
    await putBlock(bucket, meta(rawOld, NOW - 30 * D, NOW - 29 * D));
    await putBlock(bucket, meta(rawNew, NOW - 2 * D, NOW - D));
    await putBlock(bucket, meta(fiveOld, NOW - 30 * D, NOW - 29 * D, { resolution: 300_000 }));
    await putBlock(bucket, meta(hourOld, NOW - 30 * D, NOW - 29 * D, { resolution: 3_600_000 }));
    const marked = await applyBucketRetention(bucket, {
      retentionRawMs: 14 * D,
      retention5mMs: 0,
      retention1hMs: 20 * D,
      consistencyDelayMs: 0,
      now: () => NOW,
    });
    expect(marked).toEqual([rawOld, hourOld].sort());
    expect((await readMarker<DeletionMark>(bucket, rawOld, DELETION_MARK_FILENAME))?.details).toBe(
      'block exceeding retention of 336h0m0s',
    );
    expect(await bucket.exists(`${fiveOld}/${DELETION_MARK_FILENAME}`)).toBe(false);
    expect(await bucket.exists(`${rawNew}/${DELETION_MARK_FILENAME}`)).toBe(false);
    // Retention only marks; a second run changes nothing.
    expect(
      await applyBucketRetention(bucket, { retentionRawMs: 14 * D, consistencyDelayMs: 0, now: () => NOW }),
    ).toEqual([]);
    expect(await objects(bucket, rawOld)).toContain(`${rawOld}/meta.json`);
  });
});
