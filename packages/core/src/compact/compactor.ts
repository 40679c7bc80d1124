import { mkdir, readdir, rm, statfs } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type Bucket, withTracing } from '@thanos-ts/objstore';
import {
  type BlockMeta,
  CorruptionError,
  compactBlocks,
  DEFAULT_COMPACTION_RANGES,
  InvalidArgumentError,
  openBlock,
  planCompaction,
  serializeBlockMeta,
} from '@thanos-ts/tsdb';
import {
  RES_LEVEL_1,
  RES_LEVEL_1_DOWNSAMPLE_RANGE,
  RES_LEVEL_2,
  RES_LEVEL_2_DOWNSAMPLE_RANGE,
} from '@thanos-ts/tsdb/downsample';
import { createUIHandler } from '@thanos-ts/ui';
import type { Registry } from 'prom-client';
import type { HashFunc } from '../block/hash.js';
import { uploadBlock } from '../block/upload.js';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { serveComponentHTTP } from '../component/http-server.js';
import { forEachLimit } from '../concurrency/limit.js';
import { createComponentHandler, type ListeningHTTPServer } from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';
import { createMetaFetcher, type MetaFilters } from '../store/meta-fetcher.js';
import { bucketSpanner, withSpan } from '../tracing/context.js';
import { downsampleBlocks, downsampleCandidates } from './downsample.js';
import { CompactionHaltError, InsufficientDiskSpaceError } from './errors.js';
import { type BlockGroup, duplicateBlocks, groupBlocks, overlappingBlocks, removeReplicaLabels } from './groups.js';
import {
  applyRetentionPolicy,
  type CleanupHooks,
  cleanAbortedPartialUploads,
  deleteMarkedBlocks,
  type RetentionByResolution,
} from './maintenance.js';
import {
  DELETION_MARK_FILENAME,
  type DeletionMark,
  downloadBlock,
  markForDeletion,
  markForNoCompact,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
  type NoCompactMark,
  QUARANTINE_REASON,
  readMarker,
} from './markers.js';
import { type CompactorMetrics, createCompactorMetrics } from './metrics.js';
import { compactBlocksPenalty } from './penalty.js';
import {
  DEFAULT_BLOCK_MAX_INDEX_SIZE_BYTES,
  INDEX_SIZE_EXCEEDING_REASON,
  listedIndexSize,
  planWithIndexSizeLimit,
} from './planner.js';

/** Thanos's --deduplication.func values: '' (chain merge, 1:1 duplicates) or 'penalty'. */
export type CompactDeduplicationFunc = '' | 'penalty';

/** Options of {@link createCompactor}. Defaults are Thanos's `compact` flag defaults. */
export interface CompactorOptions extends ComponentOptions, ServingOptions {
  /** The bucket to maintain. */
  bucket: Bucket;
  /** Scratch directory for downloads, compaction and downsampling (--data-dir). */
  dataDir: string;
  /** Keep running and repeat every `waitIntervalMs` (--wait). Default false: one iteration, then `done` settles. */
  wait?: boolean;
  /** Pause between iterations with `wait`, ms (--wait-interval). Default 300_000. */
  waitIntervalMs?: number;
  /** Blocks younger than this are left alone unless a compactor made them, ms (--consistency-delay). Default 1_800_000; 0 takes every block. */
  consistencyDelayMs?: number;
  /** Time between marking a block for deletion and deleting it, ms (--delete-delay). Default 172_800_000 (48h); 0 deletes in the same iteration. */
  deleteDelayMs?: number;
  /** Retention of raw blocks, ms (--retention.resolution-raw). Default 0: forever. */
  retentionRawMs?: number;
  /** Retention of 5m blocks, ms (--retention.resolution-5m). Default 0: forever. */
  retention5mMs?: number;
  /** Retention of 1h blocks, ms (--retention.resolution-1h). Default 0: forever. */
  retention1hMs?: number;
  /** Skip downsampling (--downsampling.disable). Default false. */
  downsamplingDisable?: boolean;
  /** Groups compacted at once (--compact.concurrency). Default 1. */
  compactConcurrency?: number;
  /** Blocks downsampled at once (--downsample.concurrency). Default 1. */
  downsampleConcurrency?: number;
  /** Files of one block downloaded/uploaded at once (--block-files-concurrency). Default 1. */
  blockFilesConcurrency?: number;
  /** meta.json and marker reads at once (--block-meta-fetch-concurrency). Default 32. */
  blockMetaFetchConcurrency?: number;
  /** Highest compaction level, 0–3 (--debug.max-compaction-level): ranges 2h, 8h, 2d, 14d up to it. Default 3. */
  maxCompactionLevel?: number;
  /** Merge overlapping blocks (--compact.enable-vertical-compaction). Default false; on when replica labels are set. */
  enableVerticalCompaction?: boolean;
  /** External labels to ignore so HA replicas merge into one block (--deduplication.replica-label). Default none. */
  deduplicationReplicaLabels?: readonly string[];
  /**
   * Merge function for overlapping blocks (--deduplication.func). Default '' (Prometheus's chain
   * merge: samples with the same timestamp are kept once, exact for identical replicas). 'penalty'
   * (needs replica labels): Thanos's penalty deduplication, for HA replicas scraped at different
   * timestamps.
   */
  deduplicationFunc?: CompactDeduplicationFunc;
  /**
   * Hash of each chunk segment and index in the uploaded blocks' meta.json `thanos.files[].hash`
   * (--hash-func): '' (default, none) or 'SHA256'. A restarted compaction then reuses the source
   * files it had already downloaded.
   */
  hashFunc?: HashFunc;
  /**
   * Limit of a compacted block's index, bytes (--compact.block-max-index-size). When the sum of a
   * plan's source indexes reaches 85% of it, the biggest source gets a no-compact mark
   * (`index-size-exceeding`) and the group is re-planned without it. Default 64 GiB; 0 disables.
   */
  blockMaxIndexSizeBytes?: number;
  /** Blocks to work on: --min-time, --max-time and --selector.relabel-config. Default: all. */
  filters?: Pick<MetaFilters, 'minTime' | 'maxTime' | 'relabel'>;
  /** Called at every step and at each phase of each group/block (the CLI's progress bar). Default none. */
  onProgress?: (p: CompactorProgress) => void;
}

/**
 * What the compactor is doing, for progress displays (the CLI's bar in one-shot mode). `done` of
 * `total` counts groups (compact) or blocks (downsample) finished in the current step.
 */
export interface CompactorProgress {
  step: 'sync' | 'compact' | 'downsample' | 'retention' | 'cleanup';
  /** The group (compact) or block (downsample) being worked on; '' between items. */
  item: string;
  /** What happens to `item`: download, compact, upload, downsample, done, failed; '' between items. */
  phase: string;
  done: number;
  total: number;
}

/** A group the compactor stopped compacting after a critical error. */
export interface QuarantinedGroup {
  /** Thanos's group key, `<resolution>@<labels hash>`. */
  key: string;
  /** `<resolution>@{labels}`. */
  name: string;
  /** Blocks of the group carrying the compactor's no-compact mark, with its details. */
  blocks: Array<{ ulid: string; details: string; markedAt: number }>;
}

/** What one iteration did. */
export interface IterationResult {
  /** Blocks uploaded by compaction. */
  compacted: string[];
  /** Blocks uploaded by downsampling. */
  downsampled: string[];
  /** Blocks marked for deletion (compaction sources, duplicates, retention). */
  markedForDeletion: string[];
  /** Blocks deleted from the bucket. */
  deleted: string[];
  /** Groups quarantined in this iteration (critical error). */
  halted: Array<{ group: string; blocks: string[]; error: string }>;
  /** Retriable errors (bucket, download, disk space); the work is retried next iteration. */
  errors: Array<{ what: string; error: string }>;
}

/** The compactor's state for /status and callers. */
export interface CompactorStatus {
  /** False while any group is quarantined. */
  healthy: boolean;
  quarantined: QuarantinedGroup[];
  /** When the last iteration ended (ms), and what it did. */
  lastIteration?: { endedAt: number; result: IterationResult };
}

/** Thanos's `compact` component: compaction, downsampling, retention and deletion over one bucket. */
export interface Compactor extends Lifecycle {
  /** Binds the HTTP server (if asked) and starts iterating; resolves at once (ready to serve probes). */
  start(signal?: AbortSignal): Promise<void>;
  /**
   * Settles when a run without `wait` has done its iteration: rejects when the iteration had
   * errors or quarantined a group (the CLI exits non-zero), as Thanos's one-shot mode does.
   * With `wait` it settles on close.
   */
  readonly done: Promise<void>;
  /** Runs one iteration now (sync, delete, compact, downsample, retention, cleanup). One at a time. */
  runOnce(signal?: AbortSignal): Promise<IterationResult>;
  status(): CompactorStatus;
  /** Started, not closed and no group quarantined. */
  ready(): boolean;
  /**
   * /metrics, /-/healthy, /-/ready (503 with the reason while degraded), /status (JSON),
   * /api/v1/blocks (the last sync's blocks and marks) and the blocks page at / and /blocks.
   */
  readonly handler: RequestHandler;
  readonly registry: Registry;
  readonly metrics: CompactorMetrics;
  readonly httpAddress: string | undefined;
}

/** Creates a compactor; validates options, no I/O until `start` or `runOnce`. */
export function createCompactor(opts: CompactorOptions): Compactor {
  const { logger, registry, now, tracer } = resolveComponentOptions(opts);
  // With a tracer given, every bucket operation is a span (Thanos's objstore tracing wrapper);
  // without one the bucket is used as is, at no cost.
  const bucket = opts.tracer ? withTracing(opts.bucket, bucketSpanner(tracer)) : opts.bucket;
  const replicaLabels = [...(opts.deduplicationReplicaLabels ?? [])];
  const vertical = (opts.enableVerticalCompaction ?? false) || replicaLabels.length > 0;
  const dedupFunc = opts.deduplicationFunc ?? '';
  if (dedupFunc === 'penalty' && replicaLabels.length === 0)
    throw new InvalidArgumentError('penalty based deduplication needs at least one replica label specified');
  if (dedupFunc !== '' && dedupFunc !== 'penalty')
    throw new InvalidArgumentError(`unsupported deduplication func, got ${dedupFunc}`);
  const maxLevel = opts.maxCompactionLevel ?? DEFAULT_COMPACTION_RANGES.length - 1;
  if (!Number.isInteger(maxLevel) || maxLevel < 0 || maxLevel >= DEFAULT_COMPACTION_RANGES.length)
    throw new InvalidArgumentError(
      `--debug.max-compaction-level: ${maxLevel} is out of range; levels are 0 to ${DEFAULT_COMPACTION_RANGES.length - 1}`,
    );
  const ranges = DEFAULT_COMPACTION_RANGES.slice(0, maxLevel + 1);
  const deleteDelayMs = opts.deleteDelayMs ?? 48 * 3_600_000;
  const downsampling = !(opts.downsamplingDisable ?? false);
  const retention: RetentionByResolution = {
    0: opts.retentionRawMs ?? 0,
    [RES_LEVEL_1]: opts.retention5mMs ?? 0,
    [RES_LEVEL_2]: opts.retention1hMs ?? 0,
  };
  if (downsampling && (retention[0] as number) > 0 && (retention[0] as number) < RES_LEVEL_1_DOWNSAMPLE_RANGE)
    throw new InvalidArgumentError(
      'raw resolution must be higher than the minimum block size after which 5m resolution downsampling will occur (40 hours)',
    );
  if (
    downsampling &&
    (retention[RES_LEVEL_1] as number) > 0 &&
    (retention[RES_LEVEL_1] as number) < RES_LEVEL_2_DOWNSAMPLE_RANGE
  )
    throw new InvalidArgumentError(
      '5m resolution retention must be higher than the minimum block size after which 1h resolution downsampling will occur (10 days)',
    );
  const hashFunc = opts.hashFunc ?? '';
  if (hashFunc !== '' && hashFunc !== 'SHA256')
    throw new InvalidArgumentError(`--hash-func: want "" or "SHA256", got ${JSON.stringify(hashFunc)}`);
  const maxIndexSizeBytes = opts.blockMaxIndexSizeBytes ?? DEFAULT_BLOCK_MAX_INDEX_SIZE_BYTES;
  if (!Number.isFinite(maxIndexSizeBytes) || maxIndexSizeBytes < 0)
    throw new InvalidArgumentError(`--compact.block-max-index-size: want a size ≥ 0, got ${maxIndexSizeBytes}`);
  const filesConcurrency = Math.max(1, opts.blockFilesConcurrency ?? 1);
  const metaConcurrency = Math.max(1, opts.blockMetaFetchConcurrency ?? 32);
  const compactDir = join(opts.dataDir, 'compact');
  const downsampleDir = join(opts.dataDir, 'downsample');
  const metrics = createCompactorMetrics(registry);
  metrics.deleteDelay.set(deleteDelayMs / 1000);
  for (const reason of ['', QUARANTINE_REASON]) metrics.blocksMarked.inc({ marker: DELETION_MARK_FILENAME, reason }, 0);
  const fetcher = createMetaFetcher({
    bucket,
    concurrency: metaConcurrency,
    now,
    filters: {
      ...(opts.filters ?? {}),
      consistencyDelayMs: opts.consistencyDelayMs ?? 30 * 60_000,
      // Deletion marks are read and applied below (Thanos's IgnoreDeletionMarkFilter with
      // deleteDelay/2), since the cleaner needs every mark's time.
      ignoreDeletionMarksDelayMs: Number.POSITIVE_INFINITY,
    },
  });

  const progress = (p: CompactorProgress): void => {
    try {
      opts.onProgress?.(p);
    } catch (err) {
      // A display must never stop compaction.
      logger.warn('progress callback failed', { err: (err as Error).message });
    }
  };
  let quarantined: QuarantinedGroup[] = [];
  // What the last sync saw, for /api/v1/blocks (Thanos's BlocksInfo: the last good view is kept
  // when a sync fails, with the error beside it).
  let blocksView: {
    metas: BlockMeta[];
    marks: Map<string, { deletion?: DeletionMark; noCompact?: NoCompactMark }>;
    refreshedAt: number | undefined;
    err: string | null;
  } = { metas: [], marks: new Map(), refreshedAt: undefined, err: null };
  let lastIteration: CompactorStatus['lastIteration'];
  let started = false;
  let closed = false;
  let running: Promise<IterationResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let server: ListeningHTTPServer | undefined;
  let settleDone: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => {
    settleDone = { resolve, reject };
  });
  done.catch(() => {});

  interface SyncState {
    /** Blocks to work on (filters, deletion marks and duplicates applied; replica labels removed). */
    metas: BlockMeta[];
    deletionMarks: Map<string, DeletionMark>;
    noCompact: Map<string, NoCompactMark>;
    noDownsample: Set<string>;
    duplicates: Set<string>;
    partial: string[];
  }

  async function sync(signal: AbortSignal): Promise<SyncState> {
    let fetched: Awaited<ReturnType<typeof fetcher.fetch>>;
    try {
      fetched = await fetcher.fetch(signal);
    } catch (err) {
      blocksView = { ...blocksView, refreshedAt: now(), err: (err as Error).message };
      throw err;
    }
    const deletionMarks = new Map<string, DeletionMark>();
    const noCompact = new Map<string, NoCompactMark>();
    const noDownsample = new Set<string>();
    await forEachLimit([...fetched.metas.keys()], metaConcurrency, async (id) => {
      const [d, n, nd] = await Promise.all([
        readMarker<DeletionMark>(bucket, id, DELETION_MARK_FILENAME, signal),
        readMarker<NoCompactMark>(bucket, id, NO_COMPACT_MARK_FILENAME, signal),
        downsampling ? readMarker(bucket, id, NO_DOWNSAMPLE_MARK_FILENAME, signal) : undefined,
      ]);
      if (d) deletionMarks.set(id, d);
      if (n) noCompact.set(id, n);
      if (nd) noDownsample.add(id);
    });
    const t = now();
    const marks: (typeof blocksView)['marks'] = new Map();
    for (const [id, d] of deletionMarks) marks.set(id, { deletion: d });
    for (const [id, n] of noCompact) marks.set(id, { ...marks.get(id), noCompact: n });
    blocksView = { metas: [...fetched.metas.values()], marks, refreshedAt: t, err: null };
    // Blocks marked for deletion only recently stay visible: their replacement may not be synced
    // yet, and dropping them would let a compaction plan around a gap (Thanos's deleteDelay/2).
    let metas = [...fetched.metas.values()].filter((m) => {
      const d = deletionMarks.get(m.ulid);
      return !(d && t - d.deletion_time * 1000 > deleteDelayMs / 2);
    });
    metas = removeReplicaLabels(metas, replicaLabels);
    const duplicates = duplicateBlocks(metas);
    metas = metas.filter((m) => !duplicates.has(m.ulid));
    const partial = [...fetched.skipped].filter(([, s]) => s.state === 'no-meta-json').map(([id]) => id);
    updateQuarantine(metas, noCompact);
    return { metas, deletionMarks, noCompact, noDownsample, duplicates, partial };
  }

  function updateQuarantine(metas: readonly BlockMeta[], noCompact: ReadonlyMap<string, NoCompactMark>): void {
    const out: QuarantinedGroup[] = [];
    for (const g of groupBlocks(metas)) {
      const blocks = g.metas
        .map((m) => ({ m, mark: noCompact.get(m.ulid) }))
        .filter((x) => x.mark?.reason === QUARANTINE_REASON)
        .map((x) => ({
          ulid: x.m.ulid,
          details: x.mark?.details ?? '',
          markedAt: (x.mark?.no_compact_time ?? 0) * 1000,
        }));
      if (blocks.length > 0) out.push({ key: g.key, name: g.name, blocks });
    }
    quarantined = out;
    metrics.quarantinedGroups.set(out.length);
    metrics.halted.set(out.length > 0 ? 1 : 0);
  }

  async function markDeleted(id: string, details: string, result: IterationResult): Promise<void> {
    if (await markForDeletion(bucket, id, details, now())) {
      metrics.blocksMarked.inc({ marker: DELETION_MARK_FILENAME, reason: '' });
      logger.info('block has been marked for deletion', { block: id, details });
    }
    result.markedForDeletion.push(id);
  }

  async function freeSpaceCheck(dir: string, neededBytes: number, what: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const s = await statfs(dir);
    const free = Number(s.bavail) * Number(s.bsize);
    if (free < neededBytes) throw new InsufficientDiskSpaceError(dir, neededBytes, free, what);
  }

  const blockBytes = (m: BlockMeta): number => (m.thanos?.files ?? []).reduce((sum, f) => sum + (f.size_bytes ?? 0), 0);

  /** One compaction of a group; false when there is nothing to do. Mutates `g.metas`. */
  async function compactGroupOnce(
    g: BlockGroup,
    state: SyncState,
    result: IterationResult,
    signal: AbortSignal,
    phase: (phase: string) => void = () => {},
  ): Promise<boolean> {
    const res = String(g.resolution);
    // Blocks marked for deletion stay visible for a while (so nothing plans around a gap) but are
    // never compacted again: a retention-marked block merged into a newer one would outlive its
    // retention. Compaction sources are already gone from the group as duplicates.
    const exclude = new Set(
      g.metas.filter((m) => state.noCompact.has(m.ulid) || state.deletionMarks.has(m.ulid)).map((m) => m.ulid),
    );
    const considered = g.metas.filter((m) => !exclude.has(m.ulid));
    const overlaps = overlappingBlocks(considered);
    if (overlaps.length > 0 && !vertical) {
      const desc = overlaps
        .map((run) => run.map((m) => `${m.ulid} [${m.minTime}, ${m.maxTime})`).join(' overlaps '))
        .join('; ');
      throw new CompactionHaltError(
        g.name,
        overlaps.flat().map((m) => m.ulid),
        `pre compaction overlap check: overlaps found while gathering blocks. ${desc}`,
      );
    }
    const plan = await planWithIndexSizeLimit({
      maxIndexSizeBytes,
      exclude,
      plan: (ex) => planCompaction(g.metas, { ranges, exclude: ex }),
      indexSize: async (m) => listedIndexSize(m) ?? (await bucket.attributes(`${m.ulid}/index`, { signal })).size,
      markNoCompact: async (m, details) => {
        if (await markForNoCompact(bucket, m.ulid, INDEX_SIZE_EXCEEDING_REASON, details, now()))
          metrics.blocksMarked.inc({ marker: NO_COMPACT_MARK_FILENAME, reason: INDEX_SIZE_EXCEEDING_REASON });
        logger.info('block marked no-compact: the compacted index could exceed --compact.block-max-index-size', {
          block: m.ulid,
          group: g.name,
          limit_bytes: maxIndexSizeBytes,
        });
        state.noCompact.set(m.ulid, {
          id: m.ulid,
          version: 1,
          details,
          no_compact_time: Math.floor(now() / 1000),
          reason: INDEX_SIZE_EXCEEDING_REASON,
        });
      },
    });
    if (plan.length === 0) return false;
    metrics.compactionRunsStarted.inc({ resolution: res });
    const begin = now();
    logger.info('compaction available and planned', { group: g.name, plan: plan.map((m) => m.ulid).join(',') });
    const seen = new Set<string>();
    for (const m of plan)
      for (const s of m.compaction.sources ?? []) {
        if (seen.has(s) && !vertical)
          throw new CompactionHaltError(
            g.name,
            plan.map((p) => p.ulid),
            `overlapping sources detected for plan ${plan.map((p) => p.ulid).join(',')}`,
          );
        seen.add(s);
      }
    const groupDir = join(compactDir, g.key);
    const sourceBytes = plan.reduce((s, m) => s + blockBytes(m), 0);
    await freeSpaceCheck(groupDir, sourceBytes * 2, `compact group ${g.name}`);
    const dirs: string[] = [];
    let downloaded = 0;
    phase('download');
    for (const m of plan) {
      const dir = join(groupDir, m.ulid);
      downloaded += await withSpan(tracer, 'compaction_block_download', { block: m.ulid }, () =>
        downloadBlock(bucket, m.ulid, dir, filesConcurrency, signal),
      );
      // Thanos checks the index health of every input; opening the block reads and checks its
      // meta, index TOC, symbols and postings offsets, and the chunk segment headers.
      try {
        const b = await openBlock(dir, { signal });
        await b.close();
      } catch (err) {
        if (signal.aborted) throw err;
        throw new CompactionHaltError(
          g.name,
          [m.ulid],
          `block with not healthy index found ${dir}; Compaction level ${m.compaction.level}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      dirs.push(dir);
    }
    logger.info('downloaded and verified blocks; compacting blocks', {
      group: g.name,
      bytes: downloaded,
      duration_ms: now() - begin,
    });
    const compactBegin = now();
    phase('compact');
    let written: Awaited<ReturnType<typeof compactBlocks>>;
    const thanos = { labels: g.labels, downsample: { resolution: g.resolution }, source: 'compactor' };
    // Penalty deduplication only changes how overlapping chunks merge; adjacent blocks are
    // compacted the usual way (chunks copied byte for byte).
    const planOverlaps = overlappingBlocks([...plan].sort((a, b) => a.minTime - b.minTime)).length > 0;
    try {
      written = await withSpan(tracer, 'compaction', { group: g.name, blocks: plan.length }, () =>
        dedupFunc === 'penalty' && planOverlaps
          ? compactBlocksPenalty({ blockDirs: dirs, outDir: groupDir, thanos, signal })
          : compactBlocks({ blockDirs: dirs, outDir: groupDir, thanos, signal }),
      );
    } catch (err) {
      if (signal.aborted) throw err;
      const msg = (err as Error).message;
      const named = plan.filter((m) => msg.includes(m.ulid)).map((m) => m.ulid);
      throw new CompactionHaltError(
        g.name,
        named.length > 0 && err instanceof CorruptionError ? named : plan.map((m) => m.ulid),
        `compact blocks ${plan.map((m) => m.ulid).join(',')}: ${msg}`,
        { cause: err },
      );
    }
    if (!written) {
      logger.info('no compacted blocks, deleting source blocks', { group: g.name });
      for (const m of plan) await markDeleted(m.ulid, 'source of compacted block', result);
    } else {
      const newMeta = written.meta;
      if (!vertical) {
        const others = g.metas.filter((m) => !plan.includes(m));
        const clash = others.filter((m) => m.minTime < newMeta.maxTime && newMeta.minTime < m.maxTime);
        if (clash.length > 0)
          throw new CompactionHaltError(
            g.name,
            clash.map((m) => m.ulid),
            `resulted compacted block ${written.dir} overlaps with something: ${clash.map((m) => m.ulid).join(',')}`,
          );
      }
      logger.info('compacted blocks', {
        group: g.name,
        new: written.ulid,
        duration_ms: now() - compactBegin,
        overlapping_blocks: overlaps.length > 0,
        series: newMeta.stats.numSeries,
        samples: newMeta.stats.numSamples,
      });
      const uploadBegin = now();
      phase('upload');
      // meta.json goes last: until it is there, every reader treats the block as an upload in progress.
      const uploaded = await withSpan(tracer, 'compaction_block_upload', { block: written.ulid }, () =>
        uploadBlock(bucket, written.dir, {
          labels: g.labels,
          source: 'compactor',
          meta: newMeta,
          concurrency: filesConcurrency,
          hashFunc,
          signal,
        }),
      );
      logger.info('uploaded block', { result_block: written.ulid, duration_ms: now() - uploadBegin });
      metrics.compactions.inc({ resolution: res });
      if (overlaps.length > 0) metrics.verticalCompactions.inc({ resolution: res });
      result.compacted.push(written.ulid);
      // Only now, with the replacement in the bucket, are the sources marked for deletion.
      for (const m of plan) {
        await markDeleted(m.ulid, 'source of compacted block', result);
        metrics.garbageCollectedBlocks.inc();
      }
      g.metas = [
        ...g.metas.filter((m) => !plan.includes(m)),
        { ...uploaded, thanos: { ...uploaded.thanos!, labels: g.labels } },
      ].sort((a, b) => a.minTime - b.minTime);
    }
    if (!written) g.metas = g.metas.filter((m) => !plan.includes(m));
    await rm(groupDir, { recursive: true, force: true });
    metrics.compactionRunsCompleted.inc({ resolution: res });
    logger.info('finished compacting blocks', {
      group: g.name,
      duration_ms: now() - begin,
      source_blocks: plan.map((m) => m.ulid).join(','),
    });
    return true;
  }

  async function quarantine(err: CompactionHaltError, g: BlockGroup, result: IterationResult): Promise<void> {
    logger.error('critical error detected; quarantining group, other groups continue', {
      group: g.name,
      blocks: err.blocks.join(','),
      err: err.message,
    });
    for (const id of err.blocks) {
      if (await markForNoCompact(bucket, id, QUARANTINE_REASON, err.message, now()))
        metrics.blocksMarked.inc({ marker: NO_COMPACT_MARK_FILENAME, reason: QUARANTINE_REASON });
    }
    result.halted.push({ group: g.name, blocks: [...err.blocks], error: err.message });
  }

  async function compactAll(state: SyncState, result: IterationResult, signal: AbortSignal): Promise<void> {
    const groups = groupBlocks(state.metas).filter((g) => g.metas.length > 1);
    // Scratch of groups that no longer exist (or of an earlier crash) is removed first.
    await mkdir(compactDir, { recursive: true });
    const keep = new Set(groups.map((g) => g.key));
    for (const e of await readdir(compactDir))
      if (!keep.has(e)) await rm(join(compactDir, e), { recursive: true, force: true });
    let finished = 0;
    const step = (item: string, phase: string) =>
      progress({ step: 'compact', item, phase, done: finished, total: groups.length });
    step('', '');
    await forEachLimit(groups, Math.max(1, opts.compactConcurrency ?? 1), async (g) => {
      try {
        // One span per compaction of a group, as Thanos's "compaction_group".
        while (
          await withSpan(tracer, 'compaction_group', { group: g.name, resolution: g.resolution }, () =>
            compactGroupOnce(g, state, result, signal, (ph) => step(g.name, ph)),
          )
        )
          signal.throwIfAborted();
        finished++;
        step(g.name, 'done');
      } catch (err) {
        if (signal.aborted) throw err;
        metrics.compactionFailures.inc({ resolution: String(g.resolution) });
        finished++;
        step(g.name, 'failed');
        if (err instanceof CompactionHaltError) {
          await quarantine(err, g, result);
          return;
        }
        metrics.retried.inc();
        logger.error('retriable error', { group: g.name, err: (err as Error).message });
        result.errors.push({ what: `compact group ${g.name}`, error: (err as Error).message });
      }
    });
  }

  async function downsamplePass(state: SyncState, result: IterationResult, signal: AbortSignal): Promise<void> {
    const todo = downsampleCandidates(state.metas.filter((m) => !state.noDownsample.has(m.ulid)));
    progress({ step: 'downsample', item: '', phase: '', done: 0, total: todo.length });
    const r = await downsampleBlocks(bucket, todo, {
      dir: downsampleDir,
      logger,
      now,
      concurrency: opts.downsampleConcurrency ?? 1,
      blockFilesConcurrency: filesConcurrency,
      hashFunc,
      metrics,
      signal,
      onProgress: (p) =>
        progress({
          step: 'downsample',
          item: `${p.block} to ${p.resolution === RES_LEVEL_1 ? '5m' : '1h'}`,
          phase: p.phase,
          done: p.finished,
          total: p.total,
        }),
    });
    result.downsampled.push(...r.downsampled);
    for (const f of r.failed) {
      if (f.permanent) result.halted.push({ group: `downsample ${f.block}`, blocks: [f.block], error: f.error });
      else {
        metrics.retried.inc();
        result.errors.push({ what: `downsample block ${f.block}`, error: f.error });
      }
    }
  }

  const cleanupHooks: CleanupHooks = {
    onCleaned: () => metrics.blocksCleaned.inc(),
    onFailed: () => metrics.blockCleanupFailures.inc(),
    onPartialAttempt: () => metrics.partialUploadDeleteAttempts.inc(),
  };

  async function deleteMarked(state: SyncState, result: IterationResult, signal: AbortSignal): Promise<Set<string>> {
    const { deleted, errors } = await deleteMarkedBlocks(bucket, state.deletionMarks.values(), {
      deleteDelayMs,
      nowMs: now(),
      logger,
      signal,
      hooks: cleanupHooks,
    });
    result.deleted.push(...deleted);
    for (const e of errors) result.errors.push({ what: `delete block ${e.id}`, error: e.error });
    return new Set(deleted);
  }

  async function cleanPartial(state: SyncState, result: IterationResult, signal: AbortSignal): Promise<void> {
    const deleted = await cleanAbortedPartialUploads(bucket, state.partial, new Set(state.deletionMarks.keys()), {
      nowMs: now(),
      logger,
      signal,
      hooks: cleanupHooks,
    });
    result.deleted.push(...deleted);
  }

  async function iterate(signal: AbortSignal): Promise<IterationResult> {
    const result: IterationResult = {
      compacted: [],
      downsampled: [],
      markedForDeletion: [],
      deleted: [],
      halted: [],
      errors: [],
    };
    logger.info('start sync of metas');
    progress({ step: 'sync', item: '', phase: '', done: 0, total: 0 });
    let state = await sync(signal);
    const justDeleted = await deleteMarked(state, result, signal);
    // Garbage collection: blocks whose data a compacted block already holds (a crash between
    // upload and marking leaves both) are marked now.
    for (const id of state.duplicates) {
      if (state.deletionMarks.has(id) || justDeleted.has(id)) continue;
      logger.info('marking outdated block for deletion', { block: id });
      await markDeleted(id, 'outdated block', result);
      metrics.garbageCollectedBlocks.inc();
    }
    state.metas = state.metas.filter((m) => !justDeleted.has(m.ulid));
    logger.info('start of compactions');
    await compactAll(state, result, signal);
    logger.info('compaction iterations done');
    if (downsampling) {
      for (const pass of ['first', 'second']) {
        logger.info(`start ${pass} pass of downsampling`);
        state = await sync(signal);
        await downsamplePass(state, result, signal);
      }
      logger.info('downsampling iterations done');
    } else logger.info('downsampling was explicitly disabled');
    state = await sync(signal);
    progress({ step: 'retention', item: '', phase: '', done: 0, total: 0 });
    // Retention runs whatever happened above, so a stuck group never keeps data past its retention.
    const retained = await applyRetentionPolicy(bucket, state.metas, retention, {
      nowMs: now(),
      logger,
      onMarked: () => metrics.blocksMarked.inc({ marker: DELETION_MARK_FILENAME, reason: '' }),
    });
    result.markedForDeletion.push(...retained);
    progress({ step: 'cleanup', item: '', phase: '', done: 0, total: 0 });
    await cleanPartial(state, result, signal);
    // Deletions a delay of 0 allows happen in the same iteration, as Thanos's cleaner does next round.
    if (deleteDelayMs === 0 && result.markedForDeletion.length > 0) {
      state = await sync(signal);
      await deleteMarked(state, result, signal);
    }
    return result;
  }

  const lifecycleAbort = new AbortController();
  function runOnce(signal?: AbortSignal): Promise<IterationResult> {
    if (!running) {
      const s = signal ? AbortSignal.any([signal, lifecycleAbort.signal]) : lifecycleAbort.signal;
      const begin = now();
      running = iterate(s)
        .then((result) => {
          lastIteration = { endedAt: now(), result };
          if (result.errors.length === 0 && result.halted.length === 0) metrics.iterations.inc();
          logger.info('compaction iteration done', {
            duration_ms: now() - begin,
            compacted: result.compacted.length,
            downsampled: result.downsampled.length,
            marked_for_deletion: result.markedForDeletion.length,
            deleted: result.deleted.length,
            quarantined_groups: quarantined.length,
            errors: result.errors.length,
          });
          return result;
        })
        .finally(() => {
          running = undefined;
        });
    }
    return running;
  }

  function loop(): void {
    runOnce().then(
      (result) => {
        if (!(opts.wait ?? false)) {
          const problems = [...result.halted.map((h) => h.error), ...result.errors.map((e) => `${e.what}: ${e.error}`)];
          if (problems.length > 0)
            settleDone?.reject(new Error(`compaction finished with errors: ${problems.join('; ')}`));
          else settleDone?.resolve();
          return;
        }
        schedule();
      },
      (err: unknown) => {
        if (closed) return;
        if (!(opts.wait ?? false)) {
          settleDone?.reject(err);
          return;
        }
        metrics.retried.inc();
        logger.error('retriable error', { err: (err as Error).message });
        schedule();
      },
    );
  }
  function schedule(): void {
    if (closed) return;
    timer = setTimeout(loop, opts.waitIntervalMs ?? 300_000);
    timer.unref?.();
  }

  const base = createComponentHandler({
    registry,
    ready: () => true,
    handlers: [createUIHandler({ pages: ['blocks'], title: 'thanos-ts compact' })],
  });
  const handler: RequestHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/-/ready') {
      const reason = notReadyReason();
      res.writeHead(reason ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(reason ?? 'OK');
      return true;
    }
    if (path === '/status') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: status() }));
      return true;
    }
    if (path === '/api/v1/blocks') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(blocksJSON());
      return true;
    }
    return base(req, res);
  };
  function notReadyReason(): string | undefined {
    if (!started || closed) return 'NOT READY';
    if (quarantined.length === 0) return undefined;
    return `NOT READY: ${quarantined.length} compaction group(s) quarantined: ${quarantined
      .map((q) => `${q.name} (${q.blocks.map((b) => `${b.ulid}: ${b.details}`).join('; ')})`)
      .join(', ')}`;
  }
  /**
   * Thanos's /api/v1/blocks (the block viewer's BlocksInfo: label, blocks as meta.json, refreshedAt,
   * err) over the compactor's last sync, plus `marks`: the deletion and no-compact marks by ULID.
   */
  function blocksJSON(): string {
    const v = blocksView;
    const marks: Record<string, unknown> = {};
    for (const [id, m] of v.marks) marks[id] = m;
    const blocks = v.metas.map((m) => serializeBlockMeta(m)).join(',');
    return `{"status":"success","data":{"label":"","blocks":[${blocks}],"refreshedAt":${JSON.stringify(
      v.refreshedAt === undefined ? null : new Date(v.refreshedAt).toISOString(),
    )},"err":${JSON.stringify(v.err)},"marks":${JSON.stringify(marks)}}}`;
  }
  function status(): CompactorStatus {
    return {
      healthy: quarantined.length === 0,
      quarantined,
      ...(lastIteration ? { lastIteration } : {}),
    };
  }

  const lifecycle = createLifecycle('compactor', {
    async start(signal) {
      if (opts.httpAddress !== undefined) {
        // --http.config (TLS, basic auth, headers, rate limit) and request logging, as every component.
        server = await serveComponentHTTP(handler, opts.httpAddress, opts, logger, 'compact');
        logger.info('listening', { http: server.address });
      }
      signal.throwIfAborted();
      started = true;
      logger.info('starting compact node', { wait: opts.wait ?? false, vertical_compaction: vertical });
      loop();
    },
    async stop() {
      closed = true;
      if (timer) clearTimeout(timer);
      lifecycleAbort.abort(new DOMException('compactor closed', 'AbortError'));
      await running?.catch(() => undefined);
      await server?.close();
      settleDone?.resolve();
    },
  });

  return {
    ...lifecycle,
    done,
    runOnce,
    status,
    ready: () => started && !closed && quarantined.length === 0,
    handler,
    registry,
    metrics,
    get httpAddress() {
      return server?.address;
    },
  };
}
