import {
  type ByteRangeSource,
  CorruptionError,
  chunkRefOffset,
  chunkRefSegment,
  parseChunkAt,
  type RawChunk,
  segmentFileName,
} from '@thanos-ts/tsdb';
import type { TimeSlice } from '../concurrency/time-slice.js';

/** Chunks closer than this are fetched in one ranged read (Thanos's partitioner gap, 512 KiB). */
export const CHUNK_RANGE_MAX_GAP = 512 * 1024;
/** Bytes read past a chunk's start before its length is known (Thanos's EstimatedMaxChunkSize). */
export const ESTIMATED_MAX_CHUNK_SIZE = 16_000;
/** Chunks parsed (and checksummed) between two checks of the caller's time slice. */
const CHUNKS_PER_CHECK = 64;

/** One ranged read of a segment file and the positions (in the caller's ref list) it serves. */
export interface ChunkRange {
  segment: number;
  start: number;
  end: number;
  positions: number[];
}

/**
 * Groups chunk references into ranged reads like Thanos's gap-based partitioner: per segment,
 * sorted by offset, a new read starts when the next chunk begins more than `maxGap` bytes after
 * the current read's estimated end. Each read extends `ESTIMATED_MAX_CHUNK_SIZE` past its last
 * chunk start (cut at the segment size).
 */
export function partitionChunkRefs(
  refs: readonly number[],
  segmentSizes: readonly number[],
  maxGap = CHUNK_RANGE_MAX_GAP,
): ChunkRange[] {
  const order = refs.map((_, i) => i).sort((a, b) => (refs[a] as number) - (refs[b] as number));
  const out: ChunkRange[] = [];
  let cur: ChunkRange | undefined;
  for (const i of order) {
    const ref = refs[i] as number;
    const segment = chunkRefSegment(ref);
    const off = chunkRefOffset(ref);
    const size = segmentSizes[segment] ?? 0;
    const end = Math.min(size, off + ESTIMATED_MAX_CHUNK_SIZE);
    if (cur && cur.segment === segment && off <= cur.end + maxGap) {
      cur.end = Math.max(cur.end, end);
      cur.positions.push(i);
    } else {
      cur = { segment, start: off, end, positions: [i] };
      out.push(cur);
    }
  }
  return out;
}

/**
 * Reads chunks of one block from its segment files in object storage with as few ranged reads
 * as Thanos makes (gap-based partitioning, reads in parallel), parsing and checksumming each
 * chunk with tsdb's `parseChunkAt`. A chunk longer than the estimate is fetched again exactly.
 * Unlike tsdb's ChunkSegmentReader it does not read segment headers first (one request fewer
 * per segment); the block's index-header build already listed the segments.
 */
export class BucketChunkReader {
  constructor(
    private readonly segments: readonly ByteRangeSource[],
    private readonly sizes: readonly number[],
    /** Prefix of segment names in errors, e.g. `<ulid>/` (so a missing segment names its block). */
    private readonly dir = '',
  ) {}

  /**
   * Reads the chunks of `refs`, returned in the same order. With `slice`, parsing yields to the
   * event loop when the slice is used up (a ranged read can hold tens of thousands of chunks).
   */
  async readChunks(refs: readonly number[], signal?: AbortSignal, slice?: TimeSlice): Promise<RawChunk[]> {
    const out: RawChunk[] = new Array(refs.length);
    const parts = partitionChunkRefs(refs, this.sizes);
    await Promise.all(
      parts.map(async (part) => {
        const source = this.segments[part.segment];
        if (!source)
          throw new CorruptionError(
            `${this.dir}chunks/${segmentFileName(part.segment + 1)}`,
            0,
            `segment ${part.segment + 1} does not exist`,
          );
        const bytes = await source.read(part.start, part.end - part.start, signal);
        for (let p = 0; p < part.positions.length; p++) {
          if (slice && p % CHUNKS_PER_CHECK === CHUNKS_PER_CHECK - 1) {
            const turn = slice.check();
            if (turn) await turn;
          }
          const i = part.positions[p] as number;
          const off = chunkRefOffset(refs[i] as number);
          let chunk = parseChunkAt(bytes, off - part.start, source.name, off, false);
          if (!chunk) {
            // Longer than the estimate (or cut by the segment end): read exactly this chunk.
            const size = this.sizes[part.segment] as number;
            const exact = await source.read(
              off,
              Math.min(size - off, 10 + 1 + 4 + lengthAt(await source.read(off, Math.min(10, size - off), signal))),
              signal,
            );
            chunk = parseChunkAt(exact, 0, source.name, off, true) as RawChunk;
          }
          out[i] = chunk;
        }
      }),
    );
    return out;
  }
}

/** The uvarint length at the start of a chunk (0 when unreadable; parseChunkAt reports it). */
function lengthAt(b: Uint8Array): number {
  let len = 0;
  let mul = 1;
  for (let k = 0; k < b.length && k < 10; k++) {
    const x = b[k] as number;
    len += (x & 0x7f) * mul;
    mul *= 128;
    if (x < 0x80) return len;
  }
  return 0;
}
