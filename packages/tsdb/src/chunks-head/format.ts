// Prometheus's head chunk file format (tsdb/chunks/head_chunks.go, v2.42; drawn in
// tsdb/docs/format/head_chunks.md): files `chunks_head/000001`, `000002`, … each starting with
// magic 0x0130BC91, version 1 and 3 bytes of padding, then chunks:
//   series ref <8b BE> | mint <8b BE> | maxt <8b BE> | encoding <1b> | len <uvarint> | data | CRC32C <4b>
// The CRC (Castagnoli, as everywhere in the TSDB) covers everything from the series ref to the
// end of the data. A chunk's reference is file sequence << 32 | byte offset of its series ref.
import { crc32c } from '../encoding/crc32c.js';
import { HeadChunksCorruptionError } from './errors.js';

/** Magic number at the start of every head chunk file. */
export const MAGIC_HEAD_CHUNKS = 0x0130bc91;
/** The only head chunk file version. */
export const HEAD_CHUNKS_FORMAT_V1 = 1;
/** File header: magic, version, padding. */
export const HEAD_CHUNK_FILE_HEADER_SIZE = 8;
/** Prometheus's MaxHeadChunkFileSize: a chunk that would end past it goes to a new file, bytes. */
export const MAX_HEAD_CHUNK_FILE_SIZE: number = 128 * 1024 * 1024;
/** Series ref + mint + maxt + encoding + the longest uvarint Go reads (5) + CRC (Prometheus's MaxHeadChunkMetaSize). */
export const MAX_HEAD_CHUNK_META_SIZE = 8 + 16 + 1 + 5 + 4;

const TWO_32 = 4294967296;

/** A file's name for its sequence number: six digits, as Prometheus's segmentFile. */
export function headChunkFileName(seq: number): string {
  return String(seq).padStart(6, '0');
}

/** Packs a file sequence and byte offset into a chunk reference (Prometheus's ChunkDiskMapperRef). */
export function headChunkRef(seq: number, offset: number): number {
  return seq * TWO_32 + offset;
}

/** The file sequence and byte offset of a chunk reference. */
export function unpackHeadChunkRef(ref: number): { seq: number; offset: number } {
  const seq = Math.floor(ref / TWO_32);
  return { seq, offset: ref - seq * TWO_32 };
}

/** The 8-byte header every head chunk file starts with. */
export function headChunkFileHeader(): Uint8Array {
  const b = new Uint8Array(HEAD_CHUNK_FILE_HEADER_SIZE);
  new DataView(b.buffer).setUint32(0, MAGIC_HEAD_CHUNKS);
  b[4] = HEAD_CHUNKS_FORMAT_V1;
  return b;
}

/** Bytes one chunk takes in a file (Prometheus's bytesToWriteForChunk). */
export function headChunkEntrySize(dataLen: number): number {
  return 8 + 16 + 1 + uvarintSize(dataLen) + dataLen + 4;
}

function uvarintSize(n: number): number {
  let k = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

// Big-endian stores by hand: a DataView per chunk entry cost more than the entry's bytes.
function putUint32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = v >>> 16;
  b[off + 2] = v >>> 8;
  b[off + 3] = v;
}

function putInt64(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  putUint32(b, off, hi >>> 0);
  putUint32(b, off + 4, (v - hi * TWO_32) >>> 0);
}

function getInt64(dv: DataView, off: number): number {
  return dv.getInt32(off) * TWO_32 + dv.getUint32(off + 4);
}

/**
 * Writes one chunk entry at `off` of `out` (which must have headChunkEntrySize(data.length)
 * bytes there) and returns the offset after it.
 */
export function encodeHeadChunkEntry(
  out: Uint8Array,
  off: number,
  seriesRef: number,
  mint: number,
  maxt: number,
  encoding: number,
  data: Uint8Array,
): number {
  const start = off;
  putInt64(out, off, seriesRef);
  putInt64(out, off + 8, mint);
  putInt64(out, off + 16, maxt);
  out[off + 24] = encoding;
  off += 25;
  let n = data.length;
  while (n >= 0x80) {
    out[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[off++] = n;
  out.set(data, off);
  off += data.length;
  putUint32(out, off, crc32c(out, 0, start, off));
  return off + 4;
}

/**
 * Receives one chunk of a head chunk file: its series ref, its reference (file sequence << 32 |
 * offset), inclusive time range in ms, encoding, and bytes (a view into the file's contents).
 */
export type HeadChunkVisitor = (
  seriesRef: number,
  ref: number,
  mint: number,
  maxt: number,
  encoding: number,
  data: Uint8Array,
) => void;

/**
 * Checks a head chunk file's header (Prometheus's openMMapFiles): at least 8 bytes, the magic
 * and version 1. Throws HeadChunksCorruptionError with Prometheus's wording otherwise.
 */
export function checkHeadChunkFileHeader(dir: string, seq: number, buf: Uint8Array): void {
  if (buf.length < HEAD_CHUNK_FILE_HEADER_SIZE)
    throw new HeadChunksCorruptionError(dir, seq, 0, 'invalid size: invalid head chunk file header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const m = dv.getUint32(0);
  if (m !== MAGIC_HEAD_CHUNKS)
    throw new HeadChunksCorruptionError(dir, seq, 0, `invalid magic number ${m.toString(16)}`);
  if (buf[4] !== HEAD_CHUNKS_FORMAT_V1)
    throw new HeadChunksCorruptionError(dir, seq, 4, `invalid chunk format version ${buf[4]}`);
}

/**
 * Calls `fn` for every chunk of one head chunk file, in file order, checking each CRC, as
 * Prometheus's IterateAllChunks: a run of zeros too short for a chunk header, or a zero series
 * ref with zero mint and maxt (preallocated space), ends the file; anything else that does not
 * parse throws HeadChunksCorruptionError.
 */
export function iterateHeadChunkFile(dir: string, seq: number, buf: Uint8Array, fn: HeadChunkVisitor): void {
  checkHeadChunkFileHeader(dir, seq, buf);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = buf.length;
  let idx = HEAD_CHUNK_FILE_HEADER_SIZE;
  while (idx < end) {
    if (end - idx < MAX_HEAD_CHUNK_META_SIZE) {
      let zeros = true;
      for (let i = idx; i < end; i++)
        if (buf[i] !== 0) {
          zeros = false;
          break;
        }
      if (zeros) break;
      throw new HeadChunksCorruptionError(
        dir,
        seq,
        idx,
        `head chunk file has some unread data, but doesn't include enough bytes to read the chunk header - required:${idx + MAX_HEAD_CHUNK_META_SIZE}, available:${end}, file:${seq}`,
      );
    }
    const start = idx;
    const seriesRef = getInt64(dv, idx);
    const mint = getInt64(dv, idx + 8);
    const maxt = getInt64(dv, idx + 16);
    if (seriesRef === 0 && mint === 0 && maxt === 0) break;
    const encoding = buf[idx + 24] as number;
    idx += 25;
    let len = 0;
    let mul = 1;
    for (let k = 0; k < 5; k++) {
      const b = buf[idx++] as number;
      len += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    const dataStart = idx;
    idx += len;
    if (idx + 4 > end)
      throw new HeadChunksCorruptionError(
        dir,
        seq,
        start,
        `head chunk file doesn't include enough bytes to read the chunk header - required:${idx + 4}, available:${end}, file:${seq}`,
      );
    const sum = dv.getUint32(idx);
    const act = crc32c(buf, 0, start, idx);
    if (sum !== act)
      throw new HeadChunksCorruptionError(
        dir,
        seq,
        start,
        `checksum mismatch expected:${sum.toString(16).padStart(8, '0')}, actual:${act.toString(16).padStart(8, '0')}`,
      );
    idx += 4;
    fn(seriesRef, headChunkRef(seq, start), mint, maxt, encoding, buf.subarray(dataStart, idx - 4));
  }
}
