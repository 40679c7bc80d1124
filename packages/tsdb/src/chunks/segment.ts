/** Magic number at the start of every chunk segment file. */
export const CHUNKS_MAGIC = 0x85bd40dd;
/** Segment file format version. */
export const CHUNKS_FORMAT_V1 = 1;
/** Magic (4) + version (1) + padding (3). */
export const SEGMENT_HEADER_SIZE = 8;
/** Prometheus's default maximum segment size, 512 MiB. */
export const DEFAULT_SEGMENT_SIZE = 512 * 1024 * 1024;

const TWO_32 = 4294967296;

/** A block chunk reference: segment sequence (0-based) in the upper 32 bits, offset in the lower. */
export function chunkRef(segment: number, offset: number): number {
  return segment * TWO_32 + offset;
}

/** Segment sequence number (0-based) of a chunk reference. */
export function chunkRefSegment(ref: number): number {
  return Math.floor(ref / TWO_32);
}

/** Byte offset inside its segment of a chunk reference. */
export function chunkRefOffset(ref: number): number {
  return ref % TWO_32;
}

/** File name of the segment with 1-based sequence number `n` (000001, 000002, …). */
export function segmentFileName(n: number): string {
  return String(n).padStart(6, '0');
}
