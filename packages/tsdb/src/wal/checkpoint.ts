// Checkpoints: a WAL of its own holding what a range of segments still matters for, so those
// segments can be deleted. Prometheus's tsdb/wlog/checkpoint.go (v2.42).
import { open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ThanosError } from '../errors.js';
import { readSegmentRanges, type SegmentRange } from './reader.js';
import {
  decodeRecord,
  encodeFloatHistogramSamplesRecords,
  encodeHistogramSamplesRecords,
  encodeSamplesRecord,
  encodeSeriesRecord,
  encodeTombstonesRecord,
  RECORD_EXEMPLARS,
  RECORD_METADATA,
  recordType,
} from './records.js';
import { openWAL } from './wal.js';

// Record types Prometheus filters in a checkpoint but this package does not decode yet: kept whole
// rather than lost. TODO: filter exemplars by mint, metadata to the latest per series.
const CARRIED_OVER: ReadonlySet<number> = new Set([RECORD_EXEMPLARS, RECORD_METADATA]);
const CHECKPOINT_PREFIX = 'checkpoint.';
// Records are handed to the checkpoint's WAL in batches of about this many bytes (Prometheus: 1 MB).
const FLUSH_BYTES = 1024 * 1024;

/** Options for {@link checkpoint}. */
export interface CheckpointOptions {
  /** First WAL segment to fold in (inclusive). Raised to one past the last checkpoint if one exists. */
  fromSegment: number;
  /** Last WAL segment to fold in (inclusive); the checkpoint is named after it. */
  toSegment: number;
  /** Whether series `ref` is still live; series records of other refs are dropped. */
  keep: (ref: number) => boolean;
  /** Samples with a timestamp (ms) below this, and tombstones ending below it, are dropped. */
  mint: number;
  /** Snappy-compress the checkpoint's records. Default true (Prometheus follows its WAL's setting). */
  compress?: boolean;
}

/** What {@link checkpoint} wrote. */
export interface CheckpointResult {
  /** The new checkpoint directory, `<walDir>/checkpoint.NNNNNNNN`. */
  dir: string;
  /** Series records dropped because `keep` said no. */
  droppedSeries: number;
  /** Samples dropped for being older than `mint`. */
  droppedSamples: number;
}

/** Directory name of checkpoint `index` (8 digits, as Prometheus's checkpointDir). */
export function checkpointDirName(index: number): string {
  return `${CHECKPOINT_PREFIX}${String(index).padStart(8, '0')}`;
}

async function listCheckpoints(walDir: string): Promise<{ name: string; index: number }[]> {
  const out: { name: string; index: number }[] = [];
  for (const e of await readdir(walDir, { withFileTypes: true })) {
    if (!e.name.startsWith(CHECKPOINT_PREFIX)) continue;
    if (!e.isDirectory()) {
      throw new ThanosError('TSDB_WAL_SEGMENTS', `${walDir}: checkpoint ${e.name} is not a directory`);
    }
    const suffix = e.name.slice(CHECKPOINT_PREFIX.length);
    // `checkpoint.00000012.tmp` (an unfinished one) is not a checkpoint.
    if (!/^\d+$/.test(suffix)) continue;
    out.push({ name: e.name, index: Number(suffix) });
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * The newest checkpoint in `walDir`: its directory and the last segment it covers, or undefined
 * when there is none. Replay reads it first, then WAL segments from `index + 1`.
 */
export async function lastCheckpoint(walDir: string): Promise<{ dir: string; index: number } | undefined> {
  const cps = await listCheckpoints(walDir);
  const last = cps[cps.length - 1];
  return last === undefined ? undefined : { dir: join(walDir, last.name), index: last.index };
}

/**
 * Writes a checkpoint of segments `[fromSegment, toSegment]` of the WAL in `walDir`, folding in
 * the newest existing checkpoint, as Prometheus's wlog.Checkpoint: series records keep only the
 * series `keep` accepts, samples keep only those at or after `mint`, tombstones keep those whose
 * interval reaches `mint`, native histogram samples only those at or after `mint`; exemplar and
 * metadata records are carried over whole (not yet filtered) and other unknown types are dropped. The result is written as a WAL in
 * `checkpoint.NNNNNNNN.tmp`, fsynced and renamed to `checkpoint.NNNNNNNN` (NNNNNNNN =
 * toSegment), and then older checkpoints are deleted, as Prometheus's head does after a
 * checkpoint. The caller deletes the WAL segments up to `toSegment` (WAL.truncate).
 * A corruption met while reading rejects with WalCorruptionError: a checkpoint cannot be
 * repaired, since the head would not know which series were lost.
 */
export async function checkpoint(walDir: string, opts: CheckpointOptions): Promise<CheckpointResult> {
  let from = opts.fromSegment;
  const ranges: SegmentRange[] = [];
  const prev = await lastCheckpoint(walDir);
  if (prev !== undefined) {
    const last = prev.index + 1;
    if (from > last) {
      throw new ThanosError(
        'TSDB_WAL_CHECKPOINT',
        `unexpected gap to last checkpoint. expected:${last}, requested:${from}`,
      );
    }
    // WAL segments below the checkpoint should not exist any more; ignore them if they do.
    from = last;
    ranges.push({ dir: prev.dir, first: -1, last: -1 });
  }
  ranges.push({ dir: walDir, first: from, last: opts.toSegment });

  const cpDir = join(walDir, checkpointDirName(opts.toSegment));
  const tmpDir = `${cpDir}.tmp`;
  await rm(tmpDir, { recursive: true, force: true });
  const cp = await openWAL({ dir: tmpDir, compress: opts.compress ?? true });
  let droppedSeries = 0;
  let droppedSamples = 0;
  try {
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    for await (const { record } of readSegmentRanges(ranges)) {
      let out: Uint8Array | undefined;
      const type = recordType(record);
      if (CARRIED_OVER.has(type)) {
        out = record;
      } else {
        const rec = decodeRecord(record);
        if (rec.type === 'series') {
          const kept = rec.series.filter((s) => opts.keep(s.ref));
          droppedSeries += rec.series.length - kept.length;
          if (kept.length > 0) out = encodeSeriesRecord(kept);
        } else if (rec.type === 'samples') {
          const kept = rec.samples.filter((s) => s.t >= opts.mint);
          droppedSamples += rec.samples.length - kept.length;
          if (kept.length > 0) out = encodeSamplesRecord(kept);
        } else if (rec.type === 'histograms') {
          const kept = rec.histograms.filter((s) => s.t >= opts.mint);
          droppedSamples += rec.histograms.length - kept.length;
          if (kept.length > 0) {
            const outs = encodeHistogramSamplesRecords(kept);
            for (const o of outs.slice(0, -1)) batch.push(o);
            out = outs[outs.length - 1];
          }
        } else if (rec.type === 'floatHistograms') {
          const kept = rec.histograms.filter((s) => s.t >= opts.mint);
          droppedSamples += rec.histograms.length - kept.length;
          if (kept.length > 0) {
            const outs = encodeFloatHistogramSamplesRecords(kept);
            for (const o of outs.slice(0, -1)) batch.push(o);
            out = outs[outs.length - 1];
          }
        } else if (rec.type === 'tombstones') {
          const kept = rec.tombstones.filter((s) => s.intervals.some((iv) => iv.maxTime >= opts.mint));
          if (kept.length > 0) out = encodeTombstonesRecord(kept);
        }
        // Unknown types: probably from a newer Prometheus; dropped, as Prometheus does.
      }
      if (out === undefined) continue;
      batch.push(out);
      batchBytes += out.length;
      if (batchBytes > FLUSH_BYTES) {
        await cp.log(batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await cp.log(batch);
    await cp.close();
    // The directory entry of the new segment must be durable before the rename publishes it.
    const dh = await open(tmpDir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    // Prometheus's fileutil.Replace: an existing checkpoint of the same index is replaced.
    await rm(cpDir, { recursive: true, force: true });
    await rename(tmpDir, cpDir);
  } catch (err) {
    await cp.close().catch(() => undefined);
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
  for (const c of await listCheckpoints(walDir)) {
    if (c.index >= opts.toSegment) break;
    await rm(join(walDir, c.name), { recursive: true, force: true });
  }
  return { dir: cpDir, droppedSeries, droppedSamples };
}
