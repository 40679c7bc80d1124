// Bucket maintenance shared by the compactor and `tools bucket mark|cleanup|retention`: marking,
// deleting blocks whose deletion mark is older than the delay, cleaning aborted partial uploads and
// applying retention, each as Thanos does it (pkg/block, pkg/compact/{blocks_cleaner,clean,retention}.go).
import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import { type BlockMeta, blocksBeyondRetention, isULID } from '@thanos-ts/tsdb';
import { formatGoDuration } from '@thanos-ts/tsdb/goformat';
import { forEachLimit } from '../concurrency/limit.js';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { createMetaFetcher, type MetaFilters } from '../store/meta-fetcher.js';
import { InvalidMarkRequestError } from './errors.js';
import { duplicateBlocks } from './groups.js';
import {
  DELETION_MARK_FILENAME,
  type DeletionMark,
  deleteBlock,
  markForDeletion,
  markForNoCompact,
  markForNoDownsample,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
  readMarker,
} from './markers.js';

/** The markers `tools bucket mark --marker` accepts, in Thanos's order. */
export const MARKER_FILENAMES = [
  DELETION_MARK_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
] as const;
/** One of {@link MARKER_FILENAMES}. */
export type MarkerFilename = (typeof MARKER_FILENAMES)[number];
/** Reason of no-compact and no-downsample marks put by hand (Thanos's metadata.ManualNoCompactReason). */
export const MANUAL_REASON = 'manual';
/** Thanos's compact.PartialUploadThresholdAge: a block without meta.json older than this is an aborted upload. */
export const PARTIAL_UPLOAD_THRESHOLD_MS = 2 * 24 * 3_600_000;

/**
 * Deletes `<id>/<marker>` (Thanos's block.RemoveMark). False, with a warning, when there is no
 * such marker: removing is idempotent.
 */
export async function removeMark(bucket: Bucket, id: string, marker: string, logger: Logger = NOP_LOGGER) {
  const name = `${id}/${marker}`;
  if (!(await bucket.exists(name))) {
    logger.warn('requested to remove the mark, but file does not exist', {
      err: `file ${name} does not exist in bucket`,
    });
    return false;
  }
  await bucket.delete(name);
  logger.info('mark has been removed from the block', { block: id });
  return true;
}

/** Options of {@link markBlocks} (`tools bucket mark`). */
export interface MarkBlocksOptions {
  /** Block ULIDs (--id, repeated); each must be a valid ULID. */
  ids: readonly string[];
  /** Which marker to put or remove (--marker). */
  marker: string;
  /** Human readable details for the marker (--details); required unless `remove`. */
  details?: string;
  /** Remove the marker instead of putting it (--remove). Default false. */
  remove?: boolean;
  logger?: Logger;
  /** Clock for the mark's time, ms. Default Date.now. */
  now?: () => number;
}

/**
 * Puts (or with `remove`, deletes) one marker on each block, as `thanos tools bucket mark` does:
 * no-compact and no-downsample marks get the reason `manual`; a block already carrying the marker
 * is left as it is. Validates every id and the details before touching the bucket. Returns the
 * ids whose marker was written or removed.
 */
export async function markBlocks(bucket: Bucket, opts: MarkBlocksOptions): Promise<string[]> {
  const logger = opts.logger ?? NOP_LOGGER;
  const now = opts.now ?? Date.now;
  if (!(MARKER_FILENAMES as readonly string[]).includes(opts.marker))
    throw new InvalidMarkRequestError(
      `not supported marker ${opts.marker}; want one of ${MARKER_FILENAMES.join(', ')}`,
    );
  for (const id of opts.ids) {
    if (!isULID(id)) throw new InvalidMarkRequestError(`block.id is not a valid UUID, got: ${id}`);
  }
  if (opts.ids.length === 0) throw new InvalidMarkRequestError('required flag --id not provided');
  const details = opts.details ?? '';
  if (!opts.remove && details === '') throw new InvalidMarkRequestError('required flag --details not provided');
  const changed: string[] = [];
  for (const id of opts.ids) {
    if (opts.remove) {
      if (await removeMark(bucket, id, opts.marker, logger)) changed.push(id);
      continue;
    }
    let wrote: boolean;
    if (opts.marker === DELETION_MARK_FILENAME) wrote = await markForDeletion(bucket, id, details, now());
    else if (opts.marker === NO_COMPACT_MARK_FILENAME)
      wrote = await markForNoCompact(bucket, id, MANUAL_REASON, details, now());
    else wrote = await markForNoDownsample(bucket, id, MANUAL_REASON, details, now());
    if (wrote) {
      changed.push(id);
      logger.info(
        opts.marker === DELETION_MARK_FILENAME
          ? 'block has been marked for deletion'
          : opts.marker === NO_COMPACT_MARK_FILENAME
            ? 'block has been marked for no compaction'
            : 'block has been marked for no downsample',
        { block: id },
      );
    }
    // Thanos's wording per marker (its no-downsample message does say "no deletion").
    else
      logger.warn(
        `requested to mark for ${
          opts.marker === DELETION_MARK_FILENAME
            ? 'deletion'
            : opts.marker === NO_COMPACT_MARK_FILENAME
              ? 'no compaction'
              : 'no deletion'
        }, but file already exists; this should not happen; investigate`,
        { err: `file ${id}/${opts.marker} already exists in bucket` },
      );
  }
  logger.info('marking done', { marker: opts.marker, IDs: opts.ids.join(',') });
  return changed;
}

/** Callbacks for the compactor's metrics; every one optional. */
export interface CleanupHooks {
  /** A block was deleted (thanos_compact_blocks_cleaned_total). */
  onCleaned?: (id: string) => void;
  /** A deletion failed (thanos_compact_block_cleanup_failures_total). */
  onFailed?: (id: string, err: Error) => void;
  /** A partial upload is being deleted (thanos_compact_aborted_partial_uploads_deletion_attempts_total). */
  onPartialAttempt?: (id: string) => void;
}

/**
 * Thanos's BlocksCleaner.DeleteMarkedBlocks: deletes every block whose deletion mark is more than
 * `deleteDelayMs` old (block.Delete order: meta.json first, the mark last), `concurrency` at once.
 * Failures are collected, not thrown, so one bad block does not stop the rest.
 */
export async function deleteMarkedBlocks(
  bucket: Bucket,
  marks: Iterable<DeletionMark>,
  opts: {
    deleteDelayMs: number;
    nowMs: number;
    logger?: Logger;
    concurrency?: number;
    signal?: AbortSignal;
    hooks?: CleanupHooks;
  },
): Promise<{ deleted: string[]; errors: Array<{ id: string; error: string }> }> {
  const logger = opts.logger ?? NOP_LOGGER;
  const deleted: string[] = [];
  const errors: Array<{ id: string; error: string }> = [];
  logger.info('started cleaning of blocks marked for deletion');
  const due = [...marks].filter((m) => opts.nowMs - m.deletion_time * 1000 > opts.deleteDelayMs);
  await forEachLimit(due, Math.max(1, opts.concurrency ?? 32), async (mark) => {
    opts.signal?.throwIfAborted();
    try {
      await deleteBlock(bucket, mark.id, opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      opts.hooks?.onFailed?.(mark.id, err as Error);
      errors.push({ id: mark.id, error: `delete block: ${(err as Error).message}` });
      return;
    }
    opts.hooks?.onCleaned?.(mark.id);
    deleted.push(mark.id);
    logger.info('deleted block marked for deletion', { block: mark.id });
  });
  logger.info('cleaning of blocks marked for deletion done');
  deleted.sort();
  return { deleted, errors };
}

/**
 * Thanos's BestEffortCleanAbortedPartialUploads: deletes each block without meta.json whose newest
 * object is more than {@link PARTIAL_UPLOAD_THRESHOLD_MS} old (the ULID time when the bucket gives
 * no modification times), skipping blocks with a deletion mark (the cleaner owns those). Errors are
 * logged and retried next time. Returns the deleted ids.
 */
export async function cleanAbortedPartialUploads(
  bucket: Bucket,
  partial: readonly string[],
  deletionMarked: ReadonlySet<string>,
  opts: { nowMs: number; logger?: Logger; signal?: AbortSignal; hooks?: CleanupHooks },
): Promise<string[]> {
  const logger = opts.logger ?? NOP_LOGGER;
  const { signal } = opts;
  const deleted: string[] = [];
  logger.info('started cleaning of aborted partial uploads');
  for (const id of partial) {
    if (deletionMarked.has(id)) continue;
    let newest = 0;
    for await (const name of bucket.iter(`${id}/`, { signal, recursive: true })) {
      try {
        newest = Math.max(newest, (await bucket.attributes(name, { signal })).lastModified.getTime());
      } catch (err) {
        // Gone meanwhile.
        if (!isObjNotFoundErr(err)) throw err;
      }
    }
    // No object at all under the prefix: only a filesystem bucket shows that (a directory left by
    // an upload killed between creating it and renaming its first file in); object stores have no
    // empty prefixes. Nothing can be lost by removing it, so it is not kept for 48h.
    if (newest !== 0 && opts.nowMs - newest <= PARTIAL_UPLOAD_THRESHOLD_MS) continue;
    opts.hooks?.onPartialAttempt?.(id);
    logger.info('found partially uploaded block; deleting', { block: id });
    try {
      await deleteBlock(bucket, id, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      opts.hooks?.onFailed?.(id, err as Error);
      logger.warn('failed to delete aborted partial upload; will retry in next iteration', {
        block: id,
        thresholdAge: formatGoDuration(PARTIAL_UPLOAD_THRESHOLD_MS),
        err: (err as Error).message,
      });
      continue;
    }
    opts.hooks?.onCleaned?.(id);
    deleted.push(id);
    logger.info('deleted aborted partial upload', {
      block: id,
      thresholdAge: formatGoDuration(PARTIAL_UPLOAD_THRESHOLD_MS),
    });
  }
  logger.info('cleaning of aborted partial uploads done');
  return deleted;
}

/** Retention per downsampling resolution (0, 300000, 3600000), ms; 0 or absent keeps forever. */
export type RetentionByResolution = Partial<Record<number, number>>;

/** Blocks whose maxTime (in whole seconds) plus their resolution's retention is before `nowMs`. */
export function blocksPastRetention(
  metas: readonly BlockMeta[],
  retention: RetentionByResolution,
  nowMs: number,
): Array<{ meta: BlockMeta; retentionMs: number }> {
  const out: Array<{ meta: BlockMeta; retentionMs: number }> = [];
  for (const [res, retentionMs] of Object.entries(retention)) {
    if (!retentionMs || retentionMs <= 0) continue;
    const ofRes = metas.filter((m) => (m.thanos?.downsample.resolution ?? 0) === Number(res));
    for (const meta of blocksBeyondRetention(ofRes, { retentionMs, nowMs })) out.push({ meta, retentionMs });
  }
  return out.sort((a, b) => (a.meta.ulid < b.meta.ulid ? -1 : a.meta.ulid > b.meta.ulid ? 1 : 0));
}

/**
 * Thanos's ApplyRetentionPolicyByResolution: marks for deletion every block past its resolution's
 * retention (details `block exceeding retention of <Go duration>`). Returns the ids marked now
 * (a block already marked is skipped).
 */
export async function applyRetentionPolicy(
  bucket: Bucket,
  metas: readonly BlockMeta[],
  retention: RetentionByResolution,
  opts: { nowMs: number; logger?: Logger; onMarked?: (id: string) => void },
): Promise<string[]> {
  const logger = opts.logger ?? NOP_LOGGER;
  const marked: string[] = [];
  logger.info('start optional retention');
  for (const { meta, retentionMs } of blocksPastRetention(metas, retention, opts.nowMs)) {
    logger.info('applying retention: marking block for deletion', {
      id: meta.ulid,
      maxTime: new Date(Math.trunc(meta.maxTime / 1000) * 1000).toISOString(),
    });
    const details = `block exceeding retention of ${formatGoDuration(retentionMs)}`;
    if (await markForDeletion(bucket, meta.ulid, details, opts.nowMs)) {
      marked.push(meta.ulid);
      opts.onMarked?.(meta.ulid);
      logger.info('block has been marked for deletion', { block: meta.ulid });
    }
  }
  logger.info('optional retention apply done');
  return marked;
}

/** Options of {@link syncBucketMetas}: the flags `tools bucket cleanup|retention` share with compact. */
export interface BucketSyncOptions {
  /** Blocks younger than this are left alone unless a compactor made them, ms (--consistency-delay). Default 1_800_000. */
  consistencyDelayMs?: number;
  /** Delay before deletion, ms (--delete-delay); blocks marked longer than half of it ago are hidden. Default 172_800_000. */
  deleteDelayMs?: number;
  /** meta.json and marker reads at once (--block-sync-concurrency). Default 20. */
  concurrency?: number;
  /** --selector.relabel-config rules. Default: every block. */
  relabel?: MetaFilters['relabel'];
  signal?: AbortSignal;
  /** Clock, ms. Default Date.now. */
  now?: () => number;
}

/** What {@link syncBucketMetas} found. */
export interface BucketSync {
  /** Blocks to work on: filters applied, blocks marked longer than deleteDelay/2 ago and duplicates removed. */
  metas: BlockMeta[];
  /** Deletion marks of every loaded block (including the hidden ones). */
  deletionMarks: Map<string, DeletionMark>;
  /** Blocks without meta.json. */
  partial: string[];
}

/**
 * Thanos's meta syncer as `tools bucket cleanup` and `retention` build it: relabel, consistency
 * delay, deletion marks (blocks marked more than deleteDelay/2 ago hidden) and the duplicate filter
 * (blocks a compacted block already holds).
 */
export async function syncBucketMetas(bucket: Bucket, opts: BucketSyncOptions = {}): Promise<BucketSync> {
  const now = opts.now ?? Date.now;
  const concurrency = Math.max(1, opts.concurrency ?? 20);
  const deleteDelayMs = opts.deleteDelayMs ?? 48 * 3_600_000;
  const fetcher = createMetaFetcher({
    bucket,
    concurrency,
    now,
    filters: {
      consistencyDelayMs: opts.consistencyDelayMs ?? 30 * 60_000,
      ignoreDeletionMarksDelayMs: Number.POSITIVE_INFINITY,
      ...(opts.relabel ? { relabel: opts.relabel } : {}),
    },
  });
  const fetched = await fetcher.fetch(opts.signal);
  const deletionMarks = new Map<string, DeletionMark>();
  await forEachLimit([...fetched.metas.keys()], concurrency, async (id) => {
    const d = await readMarker<DeletionMark>(bucket, id, DELETION_MARK_FILENAME, opts.signal);
    if (d) deletionMarks.set(id, d);
  });
  const t = now();
  let metas = [...fetched.metas.values()].filter((m) => {
    const d = deletionMarks.get(m.ulid);
    return !(d && t - d.deletion_time * 1000 > deleteDelayMs / 2);
  });
  const duplicates = duplicateBlocks(metas);
  metas = metas.filter((m) => !duplicates.has(m.ulid));
  const partial = [...fetched.skipped].filter(([, s]) => s.state === 'no-meta-json').map(([id]) => id);
  return { metas, deletionMarks, partial };
}

/** Options of {@link cleanupBucket} (`tools bucket cleanup`). */
export interface CleanupBucketOptions extends BucketSyncOptions {
  logger?: Logger;
}

/**
 * `thanos tools bucket cleanup`: one sync, then aborted partial uploads older than
 * {@link PARTIAL_UPLOAD_THRESHOLD_MS} are deleted and every block whose deletion mark is older than
 * `deleteDelayMs` is deleted. Throws (`error cleaning blocks: …`) when a deletion failed, after
 * trying all.
 */
export async function cleanupBucket(
  bucket: Bucket,
  opts: CleanupBucketOptions = {},
): Promise<{ deleted: string[]; partialDeleted: string[] }> {
  const logger = opts.logger ?? NOP_LOGGER;
  const now = opts.now ?? Date.now;
  logger.info('syncing blocks metadata');
  const sync = await syncBucketMetas(bucket, opts);
  logger.info('synced blocks done');
  const partialDeleted = await cleanAbortedPartialUploads(bucket, sync.partial, new Set(sync.deletionMarks.keys()), {
    nowMs: now(),
    logger,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const { deleted, errors } = await deleteMarkedBlocks(bucket, sync.deletionMarks.values(), {
    deleteDelayMs: opts.deleteDelayMs ?? 48 * 3_600_000,
    nowMs: now(),
    logger,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (errors.length > 0)
    throw new Error(`error cleaning blocks: ${errors.map((e) => `${e.id}: ${e.error}`).join('; ')}`);
  logger.info('cleanup done');
  return { deleted, partialDeleted };
}

/** Options of {@link applyBucketRetention} (`tools bucket retention`). */
export interface BucketRetentionOptions extends BucketSyncOptions {
  /** Retention of raw blocks, ms (--retention.resolution-raw). Default 0: forever. */
  retentionRawMs?: number;
  /** Retention of 5m blocks, ms (--retention.resolution-5m). Default 0: forever. */
  retention5mMs?: number;
  /** Retention of 1h blocks, ms (--retention.resolution-1h). Default 0: forever. */
  retention1hMs?: number;
  logger?: Logger;
}

/**
 * `thanos tools bucket retention`: one sync, then every block past its resolution's retention is
 * marked for deletion (a compactor or `cleanup` deletes it after the delete delay). Returns the
 * ids marked.
 */
export async function applyBucketRetention(bucket: Bucket, opts: BucketRetentionOptions): Promise<string[]> {
  const logger = opts.logger ?? NOP_LOGGER;
  const now = opts.now ?? Date.now;
  const retention: RetentionByResolution = {
    0: opts.retentionRawMs ?? 0,
    300000: opts.retention5mMs ?? 0,
    3600000: opts.retention1hMs ?? 0,
  };
  const names: Array<[number, string]> = [
    [0, 'retention policy of raw samples is enabled'],
    [300_000, 'retention policy of 5 min aggregated samples is enabled'],
    [3_600_000, 'retention policy of 1 hour aggregated samples is enabled'],
  ];
  for (const [res, msg] of names) {
    const ms = retention[res] ?? 0;
    if (ms > 0) logger.info(msg, { duration: formatGoDuration(ms) });
  }
  logger.info('syncing blocks metadata');
  const sync = await syncBucketMetas(bucket, opts);
  logger.info('synced blocks done');
  logger.warn('GLOBAL COMPACTOR SHOULD __NOT__ BE RUNNING ON THE SAME BUCKET');
  return applyRetentionPolicy(bucket, sync.metas, retention, { nowMs: now(), logger });
}
