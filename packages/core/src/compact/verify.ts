// `tools bucket verify` checks and repairs (Thanos's pkg/verifier and pkg/block/index.go):
// index_known_issues (chunks outside the block range, out-of-order and duplicated chunks,
// out-of-order label names) and duplicated_compaction (blocks with equal range, level, sources
// and stats). Repairs upload the replacement first and only then retire the old block.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import {
  type BlockMeta,
  BlockWriter,
  compareLabels,
  crc32c,
  type EncodedChunk,
  FileRangeSource,
  IndexReader,
  InvalidArgumentError,
  type Labels,
  Matcher,
  newBlockId,
  openBlock,
  readBlockMeta,
} from '@thanos-ts/tsdb';
import type { HashFunc } from '../block/hash.js';
import { uploadBlock } from '../block/upload.js';
import type { Logger } from '../log/logger.js';
import { deleteBlock, downloadBlock, markForDeletion } from './markers.js';

/** Thanos's metadata.BucketRepairSource: `thanos.source` of a repaired block. */
export const BUCKET_REPAIR_SOURCE = 'bucket.repair';

/** Thanos's block.HealthStats: what reading every series of an index found. */
export interface IndexHealthStats {
  totalSeries: number;
  totalChunks: number;
  /** Series with chunks that overlap the previous chunk without being an exact duplicate of its range. */
  outOfOrderSeries: number;
  outOfOrderChunks: number;
  /** Chunks with the same time range as the chunk before them in the series. */
  duplicatedChunks: number;
  /** Chunks reaching before the block's minTime or after its maxTime. */
  outsideChunks: number;
  /** Outside chunks entirely outside the block's range (never read). */
  completeOutsideChunks: number;
  /** Outside chunks starting exactly at the block's maxTime (prometheus/tsdb#347). */
  issue347OutsideChunks: number;
  /** Series whose label names are not sorted (Prometheus ≤ 2.8.0). */
  outOfOrderLabels: number;
}

/**
 * Reads every series of the index file at `indexPath` (only the index: chunks are not needed)
 * and counts the known issues against the block range [minTime, maxTime]. Throws, as Thanos,
 * on an empty label set, series out of order, or a series without chunks.
 */
export async function gatherIndexHealthStats(
  indexPath: string,
  minTime: number,
  maxTime: number,
  signal?: AbortSignal,
): Promise<IndexHealthStats> {
  const stats: IndexHealthStats = {
    totalSeries: 0,
    totalChunks: 0,
    outOfOrderSeries: 0,
    outOfOrderChunks: 0,
    duplicatedChunks: 0,
    outsideChunks: 0,
    completeOutsideChunks: 0,
    issue347OutsideChunks: 0,
    outOfOrderLabels: 0,
  };
  const source = new FileRangeSource(indexPath);
  try {
    const index = await IndexReader.open(source, signal ? { signal } : {});
    const postings = await index.allPostings(signal);
    let prev: Labels | undefined;
    for (let i = 0; i < postings.length; i += 1024) {
      signal?.throwIfAborted();
      for (const s of await index.series(postings.subarray(i, i + 1024), signal ? { signal } : {})) {
        stats.totalSeries++;
        const names = [...s.labels].map((l) => l.name);
        if (names.length === 0) throw new InvalidArgumentError(`empty label set detected for series ${s.ref}`);
        if (prev !== undefined && compareLabels(prev, s.labels) >= 0)
          throw new InvalidArgumentError(`series ${s.labels.toString()} out of order; previous ${prev.toString()}`);
        prev = s.labels;
        for (let k = 1; k < names.length; k++)
          if ((names[k] as string) < (names[k - 1] as string)) stats.outOfOrderLabels++;
        if (s.chunks.length === 0) throw new InvalidArgumentError(`empty chunks for series ${s.ref}`);
        let ooo = 0;
        for (const [k, c] of s.chunks.entries()) {
          stats.totalChunks++;
          if (c.minTime < minTime || c.maxTime > maxTime) {
            stats.outsideChunks++;
            if (c.minTime > maxTime || c.maxTime < minTime) stats.completeOutsideChunks++;
            else if (c.minTime === maxTime) stats.issue347OutsideChunks++;
          }
          if (k === 0) continue;
          const c0 = s.chunks[k - 1] as { minTime: number; maxTime: number };
          if (c.minTime > c0.maxTime) continue;
          if (c.minTime === c0.minTime && c.maxTime === c0.maxTime) {
            stats.duplicatedChunks++;
            continue;
          }
          ooo++;
        }
        if (ooo > 0) {
          stats.outOfOrderSeries++;
          stats.outOfOrderChunks += ooo;
        }
      }
    }
  } finally {
    await source.close();
  }
  return stats;
}

/**
 * Thanos's HealthStats.AnyErr text (critical outsiders, #347 outsiders, out-of-order labels,
 * out-of-order chunks, joined by ", "), or undefined when the index is healthy.
 */
export function indexHealthError(s: IndexHealthStats): string | undefined {
  const msgs: string[] = [];
  const partly = s.outsideChunks - (s.completeOutsideChunks + s.issue347OutsideChunks);
  if (partly > 0) msgs.push(`found ${partly} chunks non-completely outside the block time range`);
  if (s.completeOutsideChunks > 0)
    msgs.push(`found ${s.completeOutsideChunks} chunks completely outside the block time range`);
  if (s.issue347OutsideChunks > 0)
    msgs.push(
      `found ${s.issue347OutsideChunks} chunks outside the block time range introduced by https://github.com/prometheus/tsdb/issues/347`,
    );
  if (s.outOfOrderLabels > 0) msgs.push(`index contains ${s.outOfOrderLabels} postings with out of order labels`);
  if (s.outOfOrderChunks > 0)
    msgs.push(
      `${s.outOfOrderSeries}/${s.totalSeries} series have an average of ${(s.outOfOrderChunks / s.outOfOrderSeries).toFixed(3)} out-of-order chunks: ${(s.duplicatedChunks / s.outOfOrderChunks).toFixed(3)} of these are exact duplicates (in terms of data and time range)`,
    );
  return msgs.length > 0 ? msgs.join(', ') : undefined;
}

/**
 * Blocks that are exact copies of another (same minTime, maxTime, compaction level, sources and
 * stats), as Thanos's duplicated_compaction verifier groups them: each returned set keeps its
 * first block (by ULID) and lists the rest as `kill`.
 */
export function duplicatedCompactionBlocks(metas: readonly BlockMeta[]): Array<{ keep: BlockMeta; kill: BlockMeta[] }> {
  const sets = new Map<string, BlockMeta[]>();
  for (const m of [...metas].sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0))) {
    const key = JSON.stringify([
      m.thanos?.downsample.resolution ?? 0,
      Object.entries(m.thanos?.labels ?? {}).sort(),
      m.minTime,
      m.maxTime,
      m.compaction.level,
      m.compaction.sources ?? [],
      m.stats.numSamples ?? 0,
      m.stats.numSeries ?? 0,
      m.stats.numChunks ?? 0,
      m.stats.numTombstones ?? 0,
    ]);
    sets.set(key, [...(sets.get(key) ?? []), m]);
  }
  return [...sets.values()].filter((s) => s.length > 1).map(([keep, ...kill]) => ({ keep: keep as BlockMeta, kill }));
}

/** Where and how a repair retires a block (Thanos's verifier Context). */
export interface RetireBlockOptions {
  /** The old block is copied here before it is deleted or marked (--objstore-backup.config). */
  backupBucket: Bucket;
  /** 0 deletes the old block straight after the backup; otherwise it is marked for deletion (--delete-delay). */
  deleteDelayMs: number;
  logger: Logger;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * Thanos's BackupAndDeleteDownloaded: uploads the block downloaded at `dir` to the backup bucket
 * (refusing when the backup already holds it: blocks are immutable), then deletes it from
 * `bucket` (delete delay 0) or marks it for deletion with "manual verify-repair".
 */
export async function backupAndRetire(
  bucket: Bucket,
  dir: string,
  id: string,
  opts: RetireBlockOptions,
): Promise<void> {
  for await (const _ of opts.backupBucket.iter(id, opts.signal ? { signal: opts.signal } : {}))
    throw new InvalidArgumentError(
      `${id} dir seems to exists in backup bucket. Remove this block manually if you are sure it is safe to do`,
    );
  opts.logger.info('uploading block to backup bucket', { id });
  // The backup keeps the block's meta.json as it was (labels and source).
  const meta = await readBlockMeta(dir);
  await uploadBlock(opts.backupBucket, dir, {
    labels: meta.thanos?.labels ?? {},
    source: meta.thanos?.source ?? '',
    meta,
    allowEmptyLabels: true,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (opts.deleteDelayMs === 0) {
    opts.logger.info('deleting block', { id });
    await deleteBlock(bucket, id, opts.signal);
    return;
  }
  opts.logger.info('marking block as deleted', { id });
  await markForDeletion(bucket, id, 'manual verify-repair', opts.now());
}

/** Options of {@link repairBlockIndex}. */
export interface RepairBlockOptions extends RetireBlockOptions {
  /** Scratch directory; the old and the new block are written under it and removed after. */
  dir: string;
  hashFunc?: HashFunc;
}

/**
 * Thanos's repairIndex: downloads the block, rewrites it without complete outsiders, #347
 * outsiders and exact duplicate chunks (chunks sorted by start time; an overlap that is not an
 * exact copy fails the repair), verifies the new index, uploads the new block (meta.json last),
 * and only then backs up and retires the old one. Returns the new block's ULID.
 */
export async function repairBlockIndex(bucket: Bucket, meta: BlockMeta, opts: RepairBlockOptions): Promise<string> {
  const { logger, signal } = opts;
  const id = meta.ulid;
  if ((meta.thanos?.downsample.resolution ?? 0) > 0)
    throw new InvalidArgumentError(`repair block ${id}: cannot repair downsampled blocks`);
  const work = join(opts.dir, `repair-${id}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  try {
    const oldDir = join(work, id);
    logger.info('downloading block for repair', { id });
    await downloadBlock(bucket, id, oldDir, 1, signal);
    const newId = newBlockId();
    const reader = await openBlock(oldDir, signal ? { signal } : {});
    let writer: BlockWriter | undefined;
    try {
      writer = await BlockWriter.create({
        outDir: work,
        ulid: newId,
        minTime: meta.minTime,
        maxTime: meta.maxTime,
        compactionLevel: meta.compaction.level,
        sources: [...(meta.compaction.sources ?? [id])],
        ...(meta.compaction.parents?.length ? { parents: meta.compaction.parents } : {}),
        thanos: {
          labels: meta.thanos?.labels ?? {},
          downsample: { resolution: 0 },
          source: BUCKET_REPAIR_SOURCE,
        },
      });
      const all = [new Matcher('=~', '__name__', '.*')];
      for await (const batch of reader.selectBatches(all, -Infinity, Infinity, signal ? { signal } : {})) {
        for (const s of batch) {
          const chunks = sanitizeChunks(
            s.chunks.map((c) => ({
              minTime: c.minTime,
              maxTime: c.maxTime,
              encoding: c.encoding as EncodedChunk['encoding'],
              data: c.data as Uint8Array,
            })),
            meta.minTime,
            meta.maxTime,
          );
          if (chunks.length > 0) await writer.addSeries(s.labels, chunks);
        }
      }
    } catch (err) {
      await writer?.abort();
      throw new InvalidArgumentError(`repair failed for block ${id}: rewrite block: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      await reader.close();
    }
    const written = await writer.commit();
    if (!written) throw new InvalidArgumentError(`repair failed for block ${id}: no series left`);
    logger.info('verifying repaired block', { id, newID: newId });
    const after = indexHealthError(
      await gatherIndexHealthStats(join(written.dir, 'index'), meta.minTime, meta.maxTime, signal),
    );
    if (after) throw new InvalidArgumentError(`repaired block is invalid ${newId}: ${after}`);
    logger.info('uploading repaired block', { newID: newId });
    await uploadBlock(bucket, written.dir, {
      labels: meta.thanos?.labels ?? {},
      source: BUCKET_REPAIR_SOURCE,
      meta: written.meta,
      allowEmptyLabels: true,
      ...(opts.hashFunc ? { hashFunc: opts.hashFunc } : {}),
      ...(signal ? { signal } : {}),
    });
    // The replacement is complete in the bucket (meta.json uploaded last): only now is the old
    // block backed up and retired.
    logger.info('safe deleting broken block', { id });
    await backupAndRetire(bucket, oldDir, id, opts);
    return newId;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Thanos's sanitizeChunkSequence with IgnoreCompleteOutsideChunk, IgnoreIssue347OutsideChunk and
 * IgnoreDuplicateOutsideChunk: chunks sorted by start; complete outsiders, chunks starting at
 * maxTime and exact copies (same range and CRC32C) of the previous kept chunk dropped. Throws on
 * an overlap that is not an exact copy.
 */
export function sanitizeChunks(chunks: readonly EncodedChunk[], mint: number, maxt: number): EncodedChunk[] {
  const sorted = [...chunks].sort((a, b) => a.minTime - b.minTime);
  const out: EncodedChunk[] = [];
  let last: EncodedChunk | undefined;
  for (const c of sorted) {
    if (c.minTime > maxt || c.maxTime < mint) continue;
    if (last && c.minTime <= last.maxTime) {
      if (c.minTime !== last.minTime || c.maxTime !== last.maxTime)
        throw new InvalidArgumentError(
          `ignore function: non-sequential chunks not equal: [${last.minTime}, ${last.maxTime}] and [${c.minTime}, ${c.maxTime}]`,
        );
      const ca = crc32c(last.data);
      const cb = crc32c(c.data);
      if (ca !== cb)
        throw new InvalidArgumentError(
          `ignore function: non-sequential chunks not equal: ${ca.toString(16)} and ${cb.toString(16)}`,
        );
      continue;
    }
    if (c.minTime === maxt) continue;
    last = c;
    out.push(c);
  }
  return out;
}
