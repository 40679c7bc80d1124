import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlockReader, openBlock } from '../block/reader.js';
import { DEFAULT_BLOCK_DURATION, type SeriesToWrite, writeBlock } from '../block/writer.js';
import { rangeForTimestamp } from '../chunkenc/chunk.js';
import { HeadChunkDiskMapper } from '../chunks-head/disk-mapper.js';
import { InvalidArgumentError } from '../errors.js';
import type { HeadAppender } from '../head/appender.js';
import { ClosedError } from '../head/errors.js';
import { Head, type HeadHistogramRecord, type HeadSampleRecord, type HeadSeriesRecord } from '../head/head.js';
import type { HeadChunk, MemSeries } from '../head/series.js';
import type { Queryable } from '../storage/queryable.js';
import { checkpoint } from '../wal/checkpoint.js';
import { repairWAL } from '../wal/reader.js';
import {
  encodeFloatHistogramSamplesRecords,
  encodeHistogramSamplesRecords,
  encodeSamplesRecord,
  encodeSeriesRecord,
  type RefFloatHistogramSample,
  type RefHistogramSample,
} from '../wal/records.js';
import { openWAL, type WAL } from '../wal/wal.js';
import { BlockSet, beyondTimeRetention, deleteBlockDir, listBlockDirs, removeTmpDirs } from './blocks.js';
import {
  deleteChunkSnapshots,
  type LoadedChunkSnapshot,
  loadChunkSnapshot,
  writeChunkSnapshot,
} from './chunk-snapshot.js';
import { createDBQueryable } from './queryable.js';
import { replayWAL, type WalReplayResult } from './replay.js';

/** Structured logger a DB reports to; @thanos-ts/core's Logger fits. */
export interface DBLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const NOP_LOGGER: DBLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Prometheus's default time retention, 15 days in ms. */
export const DEFAULT_RETENTION_MS: number = 15 * 24 * 3600_000;

/** Options for {@link openDB}. */
export interface DBOptions {
  /** Data directory, laid out as Prometheus's: `wal/`, `chunks_head/`, one directory per block. Created when missing. */
  dir: string;
  /** Block duration (and the head's chunk range), ms. Default 2h, as Prometheus's min block duration. */
  blockDurationMs?: number;
  /**
   * Blocks whose maxTime is more than this behind the newest block's maxTime are deleted, ms
   * (Prometheus's --storage.tsdb.retention.time). Default 15d; 0 keeps every block.
   */
  retentionMs?: number;
  /**
   * Of the blocks beyond retention (their ULIDs), the ones that may be deleted now; the others are
   * kept and asked about again at the next compaction. Thanos's receiver passes its shipper's
   * uploaded list here, so a block the bucket has not got yet is never deleted (tsdb.Options
   * BlocksToDelete). Default: all of them.
   */
  blocksToDelete?: (beyondRetention: readonly string[]) => readonly string[] | Promise<readonly string[]>;
  /** Out-of-order window, ms; see HeadOptions.outOfOrderTimeWindowMs. Default 0 (rejected). */
  outOfOrderTimeWindowMs?: number;
  /** WAL segment size, bytes, a multiple of 32 KiB. Default 128 MiB, as Prometheus. */
  walSegmentSizeBytes?: number;
  /** Snappy-compress WAL records, as Prometheus's --storage.tsdb.wal-compression (default true). */
  walCompression?: boolean;
  /** Maximum series in the head (TSDB_SERIES_LIMIT). 0 = no limit (default). */
  maxSeries?: number;
  /** Maximum samples per commit (TSDB_SAMPLES_PER_COMMIT_LIMIT). 0 = no limit (default). */
  maxSamplesPerCommit?: number;
  /** Where the DB logs replay, repair, compaction and retention. Default: nowhere. */
  logger?: DBLogger;
  /**
   * Take a chunk snapshot on close() and start from it on open (Prometheus's
   * `--enable-feature=memory-snapshot-on-shutdown`). On close, after the head's chunks are in
   * `chunks_head/`, every series with its open chunk and the tombstones are written to
   * `chunk_snapshot.<WAL segment>.<offset>` in the data dir (Prometheus's format, so Prometheus
   * 2.42 with the feature reads it, and we read its snapshots). On open, the newest snapshot is
   * loaded and only the WAL after its segment/offset is replayed, so a cleanly closed DB is ready
   * in a fraction of a full replay. A snapshot that cannot be read (corrupt, an unknown record
   * type, chunks_head files corrupt) is ignored with a warning and the whole
   * WAL is replayed: no sample is lost. A crash leaves the previous snapshot, which stays valid
   * (the WAL after it is replayed). Ignored, with a warning, when `outOfOrderTimeWindowMs` > 0
   * (out-of-order samples live only in the WAL here). Default false.
   */
  enableMemorySnapshotOnShutdown?: boolean;
}

/** What compactHead did. */
export interface CompactHeadResult {
  /** Blocks written, oldest first (out-of-order blocks included). */
  blocks: string[];
  /** WAL checkpoint written, if the WAL was truncated. */
  checkpoint: number | undefined;
  /** Blocks deleted by retention afterwards. */
  deleted: string[];
}

/**
 * A Prometheus-compatible TSDB on a local directory (Prometheus's tsdb.DB): a head fed by
 * appenders whose commits are logged to the WAL first, persisted blocks, head compaction into
 * blocks, and time retention. A data dir written by Prometheus 2.42 opens here and the other way
 * round.
 */
export interface DB extends AsyncDisposable {
  /** The data directory. */
  readonly dir: string;
  /** The in-memory head (for stats and tools; append through `appender()`). */
  readonly head: Head;
  /** What replaying the WAL on open found (including a repaired corruption). */
  readonly walReplay: WalReplayResult;
  /** The blocks currently served, sorted by minTime. */
  blocks(): readonly BlockReader[];
  /**
   * A new appender. A commit resolves once the batch is in the WAL and in the head; from then on
   * it survives a crash of this process. Throws ClosedError after close().
   */
  appender(): HeadAppender;
  /** A Queryable over head and blocks, merged (see createDBQueryable). */
  queryable(): Queryable;
  /**
   * Persists the head while it spans more than 1.5 block durations: the oldest block range goes
   * to a block, is dropped from memory, and the WAL is checkpointed and truncated, as Prometheus's
   * DB.Compact does for the head. Then applies retention. Calls are serialized.
   */
  compactHead(): Promise<CompactHeadResult>;
  /** fsyncs the WAL's current segment. */
  syncWAL(): Promise<void>;
  /** Waits for a running compaction, closes the WAL and the blocks. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens (or creates) a TSDB directory: removes what a crash left half-done, opens the blocks,
 * applies retention, replays the WAL checkpoint and segments into the head (repairing a corrupt
 * or torn WAL at the first bad record, keeping everything before it, with a warning that names
 * segment and offset), then opens the WAL for new commits in a fresh segment.
 */
export async function openDB(opts: DBOptions): Promise<DB> {
  const blockDuration = opts.blockDurationMs ?? DEFAULT_BLOCK_DURATION;
  if (!(blockDuration > 0)) throw new InvalidArgumentError(`blockDurationMs must be positive, got ${blockDuration}`);
  const retention = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  const logger = opts.logger ?? NOP_LOGGER;
  const dir = opts.dir;
  const walDir = join(dir, 'wal');
  await mkdir(dir, { recursive: true });
  for (const name of await removeTmpDirs(dir)) logger.info('removed leftover temporary directory', { dir: name });
  await mkdir(walDir, { recursive: true });
  await mkdir(join(dir, 'chunks_head'), { recursive: true });
  const oooWindow = opts.outOfOrderTimeWindowMs ?? 0;
  // Out-of-order samples are replayed from the WAL only (no WBL): chunks_head and snapshots,
  // which let replay skip WAL samples, are off with a window.
  const useDiskChunks = oooWindow === 0;
  let snapshotOnShutdown = opts.enableMemorySnapshotOnShutdown ?? false;
  if (snapshotOnShutdown && !useDiskChunks) {
    logger.warn('memory snapshot on shutdown is not supported with an out-of-order window; disabled', {
      outOfOrderTimeWindowMs: oooWindow,
    });
    snapshotOnShutdown = false;
  }

  const blocks = new BlockSet();
  try {
    for (const d of await listBlockDirs(dir)) blocks.add(await openBlock(d));
  } catch (err) {
    await blocks.remove(blocks.list);
    throw err;
  }
  await deleteBeyondRetention(dir, blocks, retention, opts.blocksToDelete, logger);

  let wal: WAL | undefined;
  const chunkMapper = useDiskChunks ? await HeadChunkDiskMapper.open(join(dir, 'chunks_head'), logger) : undefined;
  const newHead = () =>
    new Head({
      chunkRangeMs: blockDuration,
      chunkSink: chunkMapper,
      outOfOrderTimeWindowMs: oooWindow,
      maxSeries: opts.maxSeries ?? 0,
      maxSamplesPerCommit: opts.maxSamplesPerCommit ?? 0,
      log: {
        async log(
          series: readonly HeadSeriesRecord[],
          samples: readonly HeadSampleRecord[],
          histograms?: readonly HeadHistogramRecord[],
          histogramAt?: readonly number[],
        ) {
          if (wal === undefined) throw new ClosedError('WAL');
          const recs: Uint8Array[] = [];
          if (series.length > 0) recs.push(encodeSeriesRecord(series));
          if (!histograms || histograms.length === 0) {
            if (samples.length > 0) recs.push(encodeSamplesRecord(samples));
          } else {
            // Runs of floats and histograms in append order, so replay switches types as the commit did.
            let f = 0;
            let h = 0;
            while (f < samples.length || h < histograms.length) {
              const fe =
                h < histograms.length ? Math.min(histogramAt?.[h] ?? samples.length, samples.length) : samples.length;
              if (fe > f) recs.push(encodeSamplesRecord(samples.slice(f, fe)));
              f = fe;
              let he = h;
              while (he < histograms.length && (histogramAt?.[he] ?? samples.length) <= f) he++;
              if (he === h && f >= samples.length) he = histograms.length;
              if (he > h) recs.push(...encodeHistogramRecords(histograms.slice(h, he)));
              h = he;
            }
          }
          await wal.log(recs);
        },
      },
    });
  const blocksMaxt = blocks.list.reduce((m, b) => Math.max(m, b.meta.maxTime), Number.NEGATIVE_INFINITY);
  let head = newHead();
  head.setMinValidTime(blocksMaxt);
  const replayStart = performance.now();
  // Prometheus's Head.Init: chunk snapshot, then the chunks in chunks_head, then the WAL after them.
  let mmapped: Map<number, HeadChunk[]> | undefined;
  let snapshot: LoadedChunkSnapshot | undefined;
  let restoredPending: MemSeries[] = [];
  if (chunkMapper !== undefined) {
    const loaded = await chunkMapper.loadAll(blocksMaxt);
    if (loaded.corruption !== undefined) {
      logger.warn('loading on-disk chunks failed; their files were deleted and the WAL is replayed for them', {
        err: loaded.corruption.message,
      });
    }
    // Loaded chunks are shaped as the head's closed chunks: handed over as they are.
    mmapped = loaded.bySeries as Map<number, HeadChunk[]>;
    if (snapshotOnShutdown && loaded.corruption === undefined) {
      try {
        snapshot = await loadChunkSnapshot(head, dir, mmapped);
      } catch (err) {
        logger.warn('failed to load chunk snapshot; replaying the whole WAL', { err: (err as Error).message });
        head = newHead();
        head.setMinValidTime(blocksMaxt);
        snapshot = undefined;
      }
      if (snapshot !== undefined) {
        logger.info('chunk snapshot loaded', { dir: snapshot.dir, series: snapshot.series });
        // Their restored head chunks go to chunks_head later (MemSeries.writeRestoredChunk): at
        // 1M series, writing them here was a tenth of the time to ready.
        restoredPending = snapshot.restored;
        snapshot.restored = [];
      }
    }
  }
  const replay = await replayWAL(head, walDir, {
    ...(mmapped ? { mmappedChunks: mmapped } : {}),
    ...(snapshot ? { snapshot: { segment: snapshot.segment, offset: snapshot.offset } } : {}),
  });
  // Loading chunks and a snapshot can take the head's mint below the valid range (Head.Init).
  if (!head.uninitialized && head.minTime < blocksMaxt) head.truncateMemory(blocksMaxt);
  if (replay.corruption) {
    const c = replay.corruption;
    logger.warn('encountered WAL read error, attempting repair', {
      segment: c.segment,
      offset: c.offset,
      err: c.message,
    });
    await repairWAL(walDir, c);
  }
  logger.info('WAL replay completed', {
    durationMs: Math.round(performance.now() - replayStart),
    snapshot: snapshot?.dir,
    checkpoint: replay.checkpoint,
    records: replay.records,
    samples: replay.samples,
    series: head.numSeries,
  });
  // As Prometheus's reload after open: an empty head starts where the blocks end.
  if (head.uninitialized && blocksMaxt !== Number.NEGATIVE_INFINITY) head.truncateMemory(blocksMaxt);
  wal = await openWAL({
    dir: walDir,
    ...(opts.walSegmentSizeBytes === undefined ? {} : { segmentSizeBytes: opts.walSegmentSizeBytes }),
    compress: opts.walCompression ?? true,
  });
  return new LocalDB(dir, head, wal, blocks, replay, chunkMapper, restoredPending, {
    blockDuration,
    retention,
    blocksToDelete: opts.blocksToDelete,
    logger,
    snapshotOnShutdown,
  });
}

/**
 * Deletes the blocks beyond `retention` that `blocksToDelete` allows (all by default); returns
 * their ULIDs. A block held back is logged and stays served.
 */
async function deleteBeyondRetention(
  dir: string,
  blocks: BlockSet,
  retention: number,
  blocksToDelete: DBOptions['blocksToDelete'],
  logger: DBLogger,
): Promise<string[]> {
  let expired = beyondTimeRetention(blocks.list, retention);
  if (expired.length === 0) return [];
  if (blocksToDelete) {
    const allowed = new Set(await blocksToDelete(expired.map((b) => b.meta.ulid)));
    for (const b of expired)
      if (!allowed.has(b.meta.ulid))
        logger.info('keeping block beyond retention until it may be deleted', { block: b.meta.ulid });
    expired = expired.filter((b) => allowed.has(b.meta.ulid));
  }
  for (const b of expired) logger.info('deleting block beyond retention', { block: b.meta.ulid });
  await blocks.remove(expired);
  for (const b of expired) await deleteBlockDir(join(dir, b.meta.ulid));
  return expired.map((b) => b.meta.ulid);
}

class LocalDB implements DB {
  private closing: Promise<void> | undefined;
  private compaction: Promise<unknown> = Promise.resolve();
  private lastWalTruncation = Number.NEGATIVE_INFINITY;

  constructor(
    readonly dir: string,
    readonly head: Head,
    private readonly wal: WAL,
    private readonly blockSet: BlockSet,
    readonly walReplay: WalReplayResult,
    private readonly chunkMapper: HeadChunkDiskMapper | undefined,
    /** Series whose snapshot-restored chunk may not be in chunks_head yet. */
    private restoredPending: MemSeries[],
    private readonly opts: {
      blockDuration: number;
      retention: number;
      blocksToDelete: DBOptions['blocksToDelete'];
      logger: DBLogger;
      snapshotOnShutdown: boolean;
    },
  ) {}

  blocks(): readonly BlockReader[] {
    return this.blockSet.list;
  }

  appender(): HeadAppender {
    if (this.closing) throw new ClosedError('DB');
    return this.head.appender();
  }

  queryable(): Queryable {
    return createDBQueryable(this.head, this.blockSet);
  }

  syncWAL(): Promise<void> {
    return this.wal.sync();
  }

  compactHead(): Promise<CompactHeadResult> {
    if (this.closing) return Promise.reject(new ClosedError('DB'));
    const run = this.compaction.then(() => this.compactHeadNow());
    this.compaction = run.catch(() => undefined);
    return run;
  }

  private async compactHeadNow(): Promise<CompactHeadResult> {
    const head = this.head;
    const range = this.opts.blockDuration;
    const written: string[] = [];
    let lastBlockMaxt = Number.NEGATIVE_INFINITY;
    while (head.compactable()) {
      const mint = head.minTime;
      const maxt = rangeForTimestamp(mint, range);
      // Out-of-order samples older than the head's range overlap persisted blocks: they go to
      // blocks of their own, one per block range (Prometheus's compactOOOHead), before truncation.
      const oooMint = head.minOutOfOrderTime();
      for (let a = Math.floor(oooMint / range) * range; a < mint; a += range) {
        const b = await this.persist(head.rangeSeries(a, Math.min(a + range, mint) - 1), {});
        if (b) written.push(b);
      }
      // Block intervals are half-open [mint, maxt); chunk ranges are closed, hence maxt - 1.
      const b = await this.persist(head.rangeSeries(mint, maxt - 1), { minTime: mint, maxTime: maxt });
      if (b) written.push(b);
      const { last } = await this.wal.segmentRange();
      head.truncateMemory(maxt, last);
      // Prometheus's truncateSeriesAndChunkDiskMapper: files before the oldest live chunk go.
      if (this.chunkMapper !== undefined) await this.chunkMapper.truncate(head.minChunkFileSeq());
      lastBlockMaxt = maxt;
    }
    const cp = await this.truncateWAL(lastBlockMaxt);
    const deleted = await deleteBeyondRetention(
      this.dir,
      this.blockSet,
      this.opts.retention,
      this.opts.blocksToDelete,
      this.opts.logger,
    );
    return { blocks: written, checkpoint: cp, deleted };
  }

  private async persist(
    series: Iterable<SeriesToWrite>,
    bounds: { minTime?: number; maxTime?: number },
  ): Promise<string | undefined> {
    const res = await writeBlock(series, { outDir: this.dir, chunkRange: this.opts.blockDuration, ...bounds });
    if (res === undefined) return undefined;
    this.blockSet.add(await openBlock(res.dir));
    this.opts.logger.info('write block', {
      ulid: res.ulid,
      mint: res.meta.minTime,
      maxt: res.meta.maxTime,
      series: res.meta.stats.numSeries,
    });
    return res.ulid;
  }

  // Prometheus's Head.truncateWAL: start a new segment, checkpoint the older two thirds of the
  // segments (keeping live series and samples at or after mint), delete them.
  private async truncateWAL(mint: number): Promise<number | undefined> {
    if (mint <= this.lastWalTruncation) return undefined;
    this.lastWalTruncation = mint;
    const { first, last: lastSeg } = await this.wal.segmentRange();
    await this.wal.nextSegment();
    let last = lastSeg - 1; // never the segment being written
    if (last < 0) return undefined;
    last = first + Math.trunc(((last - first) * 2) / 3);
    if (last <= first) return undefined;
    const head = this.head;
    await checkpoint(this.wal.dir, {
      fromSegment: first,
      toSegment: last,
      keep: (ref) => head.getByRef(ref) !== undefined || head.deleted.has(ref),
      mint,
    });
    await this.wal.truncate(last + 1);
    // A snapshot taken before the checkpoint would be loaded with the checkpoint's data on top;
    // Prometheus keeps it, we drop it so a restart never mixes the two. The chunks restored from
    // it must be in chunks_head first: the checkpoint no longer has their samples.
    this.writeRestoredChunks();
    const stale = await deleteChunkSnapshots(this.dir, last + 1, 0);
    for (const d of stale) this.opts.logger.info('deleted chunk snapshot older than the WAL checkpoint', { dir: d });
    for (const [ref, seg] of head.deleted) if (seg < first) head.deleted.delete(ref);
    this.opts.logger.info('WAL checkpoint complete', { first, last });
    return last;
  }

  // Writes the snapshot-restored chunks not yet in chunks_head (see MemSeries.writeRestoredChunk).
  private writeRestoredChunks(): void {
    for (const ms of this.restoredPending) ms.writeRestoredChunk();
    this.restoredPending = [];
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.compaction;
      // As Prometheus's Head.Close: chunks to disk first, then the snapshot (only if every
      // chunk reached chunks_head, or the snapshot would skip WAL samples held nowhere else).
      let chunksOk = false;
      if (this.chunkMapper !== undefined) {
        try {
          this.writeRestoredChunks();
          await this.chunkMapper.close();
          chunksOk = this.chunkMapper.writeError === undefined;
        } catch (err) {
          this.opts.logger.error('close head chunks', { err: (err as Error).message });
        }
      }
      if (this.opts.snapshotOnShutdown) {
        if (!chunksOk) {
          this.opts.logger.warn('skipping chunk snapshot: head chunks were not all written', {});
        } else {
          const t0 = performance.now();
          try {
            const st = await writeChunkSnapshot(this.head, this.dir, this.wal);
            this.opts.logger.info('chunk snapshot complete', {
              durationMs: Math.round(performance.now() - t0),
              series: st.series,
              dir: st.dir,
            });
          } catch (err) {
            this.opts.logger.error('chunk snapshot', { err: (err as Error).message });
          }
        }
      }
      await this.wal.close();
      await this.blockSet.remove(this.blockSet.list);
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// A commit's histogram samples as WAL records: integer ones (types 7/9), then float ones (8/10),
// as Prometheus's headAppender.log writes them.
function encodeHistogramRecords(hs: readonly HeadHistogramRecord[]): Uint8Array[] {
  const ints: RefHistogramSample[] = [];
  const floats: RefFloatHistogramSample[] = [];
  for (const x of hs) {
    if (x.fh) floats.push({ ref: x.ref, t: x.t, fh: x.fh });
    else if (x.h) ints.push({ ref: x.ref, t: x.t, h: x.h });
  }
  const out: Uint8Array[] = [];
  if (ints.length > 0) out.push(...encodeHistogramSamplesRecords(ints));
  if (floats.length > 0) out.push(...encodeFloatHistogramSamplesRecords(floats));
  return out;
}
