import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ulid as newUlid } from 'ulid';
import { cutXorChunks } from '../chunkenc/chunk.js';
import { DEFAULT_SEGMENT_SIZE } from '../chunks/segment.js';
import { ChunkSegmentWriter } from '../chunks/segment-writer.js';
import { InvalidArgumentError } from '../errors.js';
import { IndexWriter } from '../index/writer.js';
import { compareLabels, type Labels } from '../labels/labels.js';
import { type BlockMeta, syncDir, type ThanosMeta, writeBlockMeta } from './meta.js';
import { writeTombstones } from './tombstones.js';

/** Prometheus's default block duration, 2h in ms. */
export const DEFAULT_BLOCK_DURATION = 2 * 60 * 60 * 1000;

/** One series to write: labels and its samples sorted by time. */
export interface SeriesToWrite {
  labels: Labels;
  timestamps: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** Options for writeBlock. */
export interface WriteBlockOptions {
  /** Directory the block directory is created in. */
  outDir: string;
  /** Block ULID; a new one by default. */
  ulid?: string;
  /**
   * Chunk range the chunk cutter aligns chunk ends to, ms. Default 2 × DEFAULT_BLOCK_DURATION,
   * which is what promtool's backfill uses, so chunks are cut where promtool cuts them.
   */
  chunkRange?: number;
  /** Override meta minTime/maxTime (default: first sample, last sample + 1, as Prometheus). */
  minTime?: number;
  maxTime?: number;
  /** Compaction level (default 1) and sources (default [ulid]). */
  compactionLevel?: number;
  sources?: string[];
  /** Thanos section to add to meta.json. */
  thanos?: ThanosMeta;
  /** Maximum chunk segment size, bytes (default 512 MiB). */
  segmentSize?: number;
  signal?: AbortSignal;
}

/** Result of writeBlock. */
export interface WrittenBlock {
  ulid: string;
  dir: string;
  meta: BlockMeta;
}

/**
 * Writes one block from a stream of series sorted by labels. Everything goes to
 * `<outDir>/<ulid>.tmp-for-creation` first (chunks, index, tombstones, then meta.json last), is
 * fsynced, and the directory is renamed to `<outDir>/<ulid>` only at the end, so a partly written
 * block never looks complete. Series without samples are left out, as Prometheus does. Returns
 * undefined when no series had samples (Prometheus's ErrNoSeriesAppended).
 */
export async function writeBlock(
  series: Iterable<SeriesToWrite> | AsyncIterable<SeriesToWrite>,
  opts: WriteBlockOptions,
): Promise<WrittenBlock | undefined> {
  const id = opts.ulid ?? newUlid();
  const tmp = join(opts.outDir, `${id}.tmp-for-creation`);
  const final = join(opts.outDir, id);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const chunkRange = opts.chunkRange ?? 2 * DEFAULT_BLOCK_DURATION;
    const chunkWriter = new ChunkSegmentWriter(join(tmp, 'chunks'), opts.segmentSize ?? DEFAULT_SEGMENT_SIZE);
    const index = await IndexWriter.create(join(tmp, 'index'));
    let numSamples = 0;
    let numSeries = 0;
    let numChunks = 0;
    let minTime = Number.POSITIVE_INFINITY;
    let maxTime = Number.NEGATIVE_INFINITY;
    let last: Labels | undefined;
    try {
      for await (const s of series) {
        opts.signal?.throwIfAborted();
        if (last && compareLabels(s.labels, last) <= 0) {
          throw new InvalidArgumentError(
            `series not sorted by labels: ${s.labels.toString()} after ${last.toString()}`,
          );
        }
        last = s.labels;
        const chunks = cutXorChunks(s.timestamps, s.values, chunkRange);
        if (chunks.length === 0) continue;
        const refs = await chunkWriter.writeChunks(chunks);
        index.addSeries(
          s.labels,
          chunks.map((c, i) => ({ minTime: c.minTime, maxTime: c.maxTime, ref: refs[i] as number })),
        );
        for (const c of chunks) {
          numSamples += ((c.data[0] as number) << 8) | (c.data[1] as number);
          if (c.minTime < minTime) minTime = c.minTime;
          if (c.maxTime > maxTime) maxTime = c.maxTime;
        }
        numChunks += chunks.length;
        numSeries++;
      }
    } finally {
      await chunkWriter.close();
      await index.close();
    }
    if (numSeries === 0) {
      await rm(tmp, { recursive: true, force: true });
      return undefined;
    }
    await writeTombstones(tmp);
    const meta: BlockMeta = {
      ulid: id,
      minTime: opts.minTime ?? minTime,
      maxTime: opts.maxTime ?? maxTime + 1,
      stats: { numSamples, numSeries, numChunks },
      compaction: { level: opts.compactionLevel ?? 1, sources: opts.sources ?? [id] },
      version: 1,
    };
    if (opts.thanos) {
      const files = [];
      for (const f of chunkWriter.segmentFiles) {
        files.push({ rel_path: `chunks/${f}`, size_bytes: (await stat(join(tmp, 'chunks', f))).size });
      }
      files.push({ rel_path: 'index', size_bytes: (await stat(join(tmp, 'index'))).size });
      files.push({ rel_path: 'meta.json' });
      meta.thanos = { ...opts.thanos, files: opts.thanos.files ?? files };
    }
    await writeBlockMeta(tmp, meta);
    await syncDir(join(tmp, 'chunks'));
    await syncDir(tmp);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    await syncDir(opts.outDir);
    return { ulid: id, dir: final, meta };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
