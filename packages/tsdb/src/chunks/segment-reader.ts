import type { ByteRangeSource } from '../block/range-source.js';
import type { ChunkEncoding } from '../chunkenc/chunk.js';
import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';
import { CHUNKS_FORMAT_V1, CHUNKS_MAGIC, chunkRefOffset, chunkRefSegment, SEGMENT_HEADER_SIZE } from './segment.js';
import { canReadInto } from './segment-file.js';

/** A chunk read from a segment: its encoding and data bytes (a view, not decoded). */
export interface RawChunk {
  encoding: ChunkEncoding;
  data: Uint8Array;
}

/** Reads are merged when chunks are closer than this, trading some extra bytes for fewer reads. */
const MAX_GAP = 64 * 1024;
const MAX_RANGE = 16 * 1024 * 1024;
/** Largest size a chunk is assumed to have before it is read (see ChunkSegmentReader.sizeGuess). */
const MAX_SIZE_GUESS = 64 * 1024;

/**
 * Reads chunks by reference from a block's segment files (any ByteRangeSource: local files or
 * object storage). Checks each segment's magic and version on open and each chunk's CRC32C.
 */
export class ChunkSegmentReader {
  /**
   * Bytes assumed for a chunk whose size is not known before it is read: 1 KiB (a float chunk of
   * 120 samples fits), grown to the largest chunk met so far up to 64 KiB, so blocks of native
   * histogram chunks stop needing a second read per range.
   */
  private sizeGuess = 1024;

  private constructor(
    private readonly segments: readonly ByteRangeSource[],
    private readonly sizes: readonly number[],
  ) {}

  /** Opens the segments (ordered 000001, 000002, …) and validates their headers. */
  static async open(segments: readonly ByteRangeSource[], signal?: AbortSignal): Promise<ChunkSegmentReader> {
    const sizes: number[] = [];
    for (const s of segments) {
      const size = await s.size();
      const h = await s.read(0, SEGMENT_HEADER_SIZE, signal);
      if (h.length < SEGMENT_HEADER_SIZE) {
        throw new CorruptionError(s.name, h.length, `segment header too short (${h.length} bytes)`);
      }
      const magic = ((h[0] as number) << 24) | ((h[1] as number) << 16) | ((h[2] as number) << 8) | (h[3] as number);
      if (magic >>> 0 !== CHUNKS_MAGIC) {
        throw new CorruptionError(s.name, 0, `invalid magic number 0x${(magic >>> 0).toString(16)}`);
      }
      if (h[4] !== CHUNKS_FORMAT_V1) throw new CorruptionError(s.name, 4, `invalid chunk format version ${h[4]}`);
      sizes.push(size);
    }
    return new ChunkSegmentReader(segments, sizes);
  }

  /** Total size in bytes of all segments. */
  get size(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /** Number of segment files. */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Name of segment `seg` (0-based) for error messages. */
  segmentName(seg: number): string {
    return this.segments[seg]?.name ?? `chunks/${String(seg + 1).padStart(6, '0')}`;
  }

  /**
   * Raw bytes `[start, end)` of segment `seg` (0-based), clamped to its size, without parsing or
   * checks: for callers that walk many chunks of one region themselves (compaction), with
   * chunkRecordAt. Throws a CorruptionError when the segment does not exist.
   */
  async readRange(seg: number, start: number, end: number, signal?: AbortSignal): Promise<Uint8Array> {
    const source = this.segments[seg];
    if (!source) throw new CorruptionError(this.segmentName(seg), 0, `segment ${seg + 1} does not exist`);
    const to = Math.min(end, this.sizes[seg] as number);
    if (to <= start) return new Uint8Array(0);
    return source.read(start, to - start, signal);
  }

  /**
   * Like readRange into `target` (which it fills from `start`, up to the segment's end), without
   * allocating when the source can read into a buffer; returns the bytes read, a view of `target`
   * or, for other sources, their own.
   */
  async readRangeInto(seg: number, start: number, target: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const source = this.segments[seg];
    if (!source) throw new CorruptionError(this.segmentName(seg), 0, `segment ${seg + 1} does not exist`);
    const len = Math.min(target.length, (this.sizes[seg] as number) - start);
    if (len <= 0) return target.subarray(0, 0);
    if (!canReadInto(source)) return source.read(start, len, signal);
    const n = await source.readInto(start, target.subarray(0, len), signal);
    return target.subarray(0, n);
  }

  /** Reads one chunk. Prefer readChunks for many. */
  async chunk(ref: number, signal?: AbortSignal): Promise<RawChunk> {
    return (await this.readChunks([ref], signal))[0] as RawChunk;
  }

  /**
   * Reads many chunks with as few range reads as possible: references are sorted per segment and
   * nearby ones are fetched in one read. Results are in the order of `refs`.
   */
  async readChunks(refs: readonly number[], signal?: AbortSignal): Promise<RawChunk[]> {
    const out: RawChunk[] = new Array(refs.length);
    const order = refs.map((_, i) => i).sort((a, b) => (refs[a] as number) - (refs[b] as number));
    let i = 0;
    while (i < order.length) {
      const first = refs[order[i] as number] as number;
      const seg = chunkRefSegment(first);
      const source = this.segments[seg];
      if (!source)
        throw new CorruptionError(
          `chunks/${String(seg + 1).padStart(6, '0')}`,
          0,
          `segment ${seg + 1} does not exist (ref ${first})`,
        );
      const segSize = this.sizes[seg] as number;
      const start = chunkRefOffset(first);
      // Extend the range over following chunks in the same segment while gaps are small.
      let j = i + 1;
      const guess = this.sizeGuess;
      let endGuess = start + guess;
      while (j < order.length) {
        const r = refs[order[j] as number] as number;
        if (chunkRefSegment(r) !== seg) break;
        const off = chunkRefOffset(r);
        if (off - endGuess > MAX_GAP || off + guess - start > MAX_RANGE) break;
        endGuess = Math.max(endGuess, off + guess);
        j++;
      }
      let end = Math.min(segSize, endGuess);
      let bytes = await source.read(start, end - start, signal);
      for (let k = i; k < j; k++) {
        const idx = order[k] as number;
        const ref = refs[idx] as number;
        const off = chunkRefOffset(ref);
        let parsed = parseChunkAt(bytes, off - start, source.name, off, false);
        if (parsed === undefined) {
          // The chunk is larger than our guess: read exactly enough and retry this chunk.
          const need = peekChunkSize(bytes, off - start, source.name, off, segSize);
          if (off + need > segSize)
            throw new CorruptionError(source.name, off, `chunk of ${need} bytes exceeds segment size ${segSize}`);
          // Only the missing tail is read (the range before it is in hand), and later ranges
          // assume chunks this large.
          const newEnd = Math.max(end, off + need);
          const tail = await source.read(end, newEnd - end, signal);
          const grown = new Uint8Array(newEnd - start);
          grown.set(bytes.subarray(0, end - start), 0);
          grown.set(tail, end - start);
          bytes = grown;
          end = newEnd;
          this.sizeGuess = Math.min(MAX_SIZE_GUESS, Math.max(this.sizeGuess, need));
          parsed = parseChunkAt(bytes, off - start, source.name, off, true) as RawChunk;
        }
        out[idx] = parsed;
      }
      i = j;
    }
    return out;
  }

  /** Closes every segment source. */
  async close(): Promise<void> {
    for (const s of this.segments) await s.close?.();
  }
}

function peekChunkSize(bytes: Uint8Array, p: number, file: string, fileOffset: number, segSize: number): number {
  let len = 0;
  let mul = 1;
  let q = p;
  for (let k = 0; k < 10; k++) {
    if (q >= bytes.length) {
      throw new CorruptionError(file, fileOffset, `chunk length runs past end of segment (size ${segSize})`);
    }
    const b = bytes[q++] as number;
    len += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) return q - p + 1 + len + 4;
  }
  throw new CorruptionError(file, fileOffset, 'invalid chunk length varint');
}

/**
 * Locates the chunk record at `p` in `bytes` without checking its CRC: sets `out[0]` to the
 * offset of its encoding byte and `out[1]` to its data length. Returns false when `bytes` ends
 * before the record does (read up to `out[0] + 1 + out[1] + 4` and retry), with `out[0]` = -1 when
 * it ends inside the length field; throws a CorruptionError for a bad length field (`fileOffset`
 * is where `p` lies in `file`).
 */
export function chunkRecordAt(
  bytes: Uint8Array,
  p: number,
  file: string,
  fileOffset: number,
  out: Int32Array,
): boolean {
  let len = 0;
  let mul = 1;
  let q = p;
  for (let k = 0; ; k++) {
    if (k >= 10 || len > 0x7fffffff) throw new CorruptionError(file, fileOffset, 'invalid chunk length varint');
    if (q >= bytes.length) {
      out[0] = -1;
      return false;
    }
    const b = bytes[q++] as number;
    len += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) break;
  }
  out[0] = q;
  out[1] = len;
  return q + 1 + len + 4 <= bytes.length;
}

/**
 * Parses the chunk at `p` in `bytes` (`fileOffset` is where `p` lies in the file, for errors).
 * Returns undefined when `bytes` ends early and `final` is false; otherwise throws a
 * CorruptionError for truncation, a bad length or a CRC mismatch.
 */
export function parseChunkAt(
  bytes: Uint8Array,
  p: number,
  file: string,
  fileOffset: number,
  final = true,
): RawChunk | undefined {
  let len = 0;
  let mul = 1;
  let q = p;
  for (let k = 0; ; k++) {
    if (k >= 10) throw new CorruptionError(file, fileOffset, 'invalid chunk length varint');
    if (q >= bytes.length) {
      if (!final) return undefined;
      throw new CorruptionError(file, fileOffset, 'chunk truncated in length field');
    }
    const b = bytes[q++] as number;
    len += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) break;
  }
  const encAt = q;
  const end = encAt + 1 + len + 4;
  if (end > bytes.length) {
    if (!final) return undefined;
    throw new CorruptionError(
      file,
      fileOffset,
      `chunk of ${len} bytes truncated (only ${bytes.length - p} bytes left)`,
    );
  }
  const want =
    (((bytes[end - 4] as number) << 24) |
      ((bytes[end - 3] as number) << 16) |
      ((bytes[end - 2] as number) << 8) |
      (bytes[end - 1] as number)) >>>
    0;
  const got = crc32c(bytes, 0, encAt, end - 4);
  if (got !== want) {
    throw new CorruptionError(
      file,
      fileOffset,
      `checksum mismatch: expected 0x${want.toString(16)}, got 0x${got.toString(16)}`,
    );
  }
  return { encoding: bytes[encAt] as ChunkEncoding, data: bytes.subarray(encAt + 1, end - 4) };
}
