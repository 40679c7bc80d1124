import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncodedChunk } from '../chunkenc/chunk.js';
import { crc32c } from '../encoding/crc32c.js';
import {
  CHUNKS_FORMAT_V1,
  CHUNKS_MAGIC,
  chunkRef,
  DEFAULT_SEGMENT_SIZE,
  SEGMENT_HEADER_SIZE,
  segmentFileName,
} from './segment.js';

const BUFFER_SIZE = 2 * 1024 * 1024;
const MAX_LEN_FIELD = 10;

// What chunks.Writer reserves for the records: a 10-byte length field each.
function estimatedSize(recs: ChunkRecords): number {
  let total = 0;
  for (let i = 0; i < recs.count; i++) total += MAX_LEN_FIELD + 1 + (recs.dataLen[i] as number) + 4;
  return total;
}

function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}

async function writeFully(fh: FileHandle, buf: Uint8Array, len: number, pos: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const { bytesWritten } = await fh.write(buf, off, len - off, pos + off);
    off += bytesWritten;
  }
}

/**
 * One series' chunks as complete segment records held in memory (see
 * ChunkSegmentWriter.writeRecords). Reusable: only `[0, count)` is read.
 */
export interface ChunkRecords {
  /** Number of chunks. */
  count: number;
  /** Per chunk, the bytes holding its record. */
  bytes: Uint8Array[];
  /** Per chunk, the offset in `bytes[k]` of its length field. */
  recStart: Int32Array;
  /** Per chunk, the offset in `bytes[k]` of its encoding byte (data and CRC follow). */
  encAt: Int32Array;
  /** Per chunk, the length of its data (without encoding byte and CRC). */
  dataLen: Int32Array;
}

/**
 * Writes chunks into `<dir>/000001`, `000002`, … like Prometheus's chunks.Writer: each chunk is
 * uvarint length, encoding byte, data and CRC32C over encoding+data. One series' chunks go to
 * one segment unless they alone exceed the limit; sizes are estimated with a 10-byte length field
 * exactly as Prometheus does, so segment boundaries match its own.
 */
export class ChunkSegmentWriter {
  private fh: FileHandle | undefined;
  private seq = -1;
  private n = 0;
  private filePos = 0;
  private buf = new Uint8Array(BUFFER_SIZE);
  private bufLen = 0;
  private readonly files: string[] = [];
  private spare = new Uint8Array(0);
  private writing: Promise<void> | undefined;
  private sizes = new Int32Array(64);
  private cutAt = new Int32Array(4);

  constructor(
    private readonly dir: string,
    private readonly segmentSize = DEFAULT_SEGMENT_SIZE,
  ) {}

  /** Segment file names written so far. */
  get segmentFiles(): readonly string[] {
    return this.files;
  }

  /**
   * Writes one series' chunks and returns their references (one per chunk, in order).
   */
  async writeChunks(chunks: readonly EncodedChunk[]): Promise<number[]> {
    const refs: number[] = new Array(chunks.length);
    const sizes = this.sizesFor(chunks.length);
    for (let i = 0; i < chunks.length; i++) sizes[i] = (chunks[i] as EncodedChunk).data.length;
    const cuts = this.planCuts(sizes, chunks.length);
    if (this.n === 0) await this.cut();
    let nextCut = 0;
    for (let i = 0; i < chunks.length; i++) {
      if (nextCut < cuts && this.cutAt[nextCut] === i) {
        nextCut++;
        await this.cut();
      }
      refs[i] = await this.writeOne(chunks[i] as EncodedChunk);
    }
    return refs;
  }

  /**
   * Writes one series' chunks that are already in segment form in memory (as read from another
   * block's segment files): chunk k is its encoding byte at `recs.encAt[k]` in `recs.bytes[k]`,
   * then `recs.dataLen[k]` bytes of data and its 4-byte CRC32C. The bytes written are exactly what
   * writeChunks writes for the same chunks, but adjacent records are copied in one piece and the
   * CRC is copied, not recomputed (Prometheus's compactor does not verify chunk checksums either;
   * a damaged chunk keeps a CRC that says so). References go to `refs[0, recs.count)`.
   */
  async writeRecords(recs: ChunkRecords, refs: Float64Array): Promise<void> {
    if (this.tryWriteRecords(recs, refs)) return;
    const total = estimatedSize(recs);
    if ((this.n === 0 ? SEGMENT_HEADER_SIZE : this.n) + total > this.segmentSize) {
      await this.writeRecordsCutting(recs, refs);
      return;
    }
    if (this.n === 0) await this.cut();
    if (this.bufLen + total > this.buf.length) {
      await this.flush();
      if (total > this.buf.length) this.buf = new Uint8Array(total);
    }
    this.copyRecords(recs, refs);
  }

  /**
   * writeRecords when no I/O is due: when the series fits the current segment and the write
   * buffer, copies it and returns true; otherwise writes nothing and returns false (then call
   * writeRecords). Lets a caller skip an await per series.
   */
  tryWriteRecords(recs: ChunkRecords, refs: Float64Array): boolean {
    if (this.n === 0) return false;
    const total = estimatedSize(recs);
    if (this.n + total > this.segmentSize || this.bufLen + total > this.buf.length) return false;
    this.copyRecords(recs, refs);
    return true;
  }

  // Copies runs of adjacent records at once; the caller made sure they fit.
  private copyRecords(recs: ChunkRecords, refs: Float64Array): void {
    const count = recs.count;
    const { bytes, recStart, encAt, dataLen } = recs;
    const buf = this.buf;
    let p = this.bufLen;
    let i = 0;
    while (i < count) {
      const src = bytes[i] as Uint8Array;
      const from = recStart[i] as number;
      let end = from;
      let j = i;
      // A record is copied as it is when its length field is the minimal varint we would write.
      while (j < count && bytes[j] === src && recStart[j] === end) {
        const len = dataLen[j] as number;
        const e = encAt[j] as number;
        if (e - end !== uvarintSize(len)) break;
        refs[j] = chunkRef(this.seq, this.n + (end - from));
        end = e + 1 + len + 4;
        j++;
      }
      if (j > i) {
        buf.set(src.subarray(from, end), p);
        p += end - from;
        this.n += end - from;
        i = j;
        continue;
      }
      // A padded length field: rewrite it.
      refs[i] = chunkRef(this.seq, this.n);
      const start = p;
      let l = dataLen[i] as number;
      while (l >= 0x80) {
        buf[p++] = (l & 0x7f) | 0x80;
        l >>>= 7;
      }
      buf[p++] = l;
      const e = encAt[i] as number;
      buf.set(src.subarray(e, e + 1 + (dataLen[i] as number) + 4), p);
      p += 1 + (dataLen[i] as number) + 4;
      this.n += p - start;
      i++;
    }
    this.bufLen = p;
  }

  // writeRecords for a series that may cut a new segment: chunk by chunk, as writeChunks.
  private async writeRecordsCutting(recs: ChunkRecords, refs: Float64Array): Promise<void> {
    const count = recs.count;
    const sizes = this.sizesFor(count);
    for (let i = 0; i < count; i++) sizes[i] = recs.dataLen[i] as number;
    const cuts = this.planCuts(sizes, count);
    if (this.n === 0) await this.cut();
    let nextCut = 0;
    for (let i = 0; i < count; i++) {
      if (nextCut < cuts && this.cutAt[nextCut] === i) {
        nextCut++;
        await this.cut();
      }
      const len = recs.dataLen[i] as number;
      const need = MAX_LEN_FIELD + 1 + len + 4;
      if (this.bufLen + need > this.buf.length) {
        await this.flush();
        if (need > this.buf.length) this.buf = new Uint8Array(need);
      }
      refs[i] = chunkRef(this.seq, this.n);
      const buf = this.buf;
      let p = this.bufLen;
      let l = len;
      while (l >= 0x80) {
        buf[p++] = (l & 0x7f) | 0x80;
        l >>>= 7;
      }
      buf[p++] = l;
      const at = recs.encAt[i] as number;
      // Encoding byte, data and CRC are contiguous in the source, as in ours.
      buf.set((recs.bytes[i] as Uint8Array).subarray(at, at + 1 + len + 4), p);
      p += 1 + len + 4;
      this.n += p - this.bufLen;
      this.bufLen = p;
    }
  }

  private sizesFor(count: number): Int32Array {
    if (this.sizes.length < count) this.sizes = new Int32Array(Math.max(count, this.sizes.length * 2));
    return this.sizes;
  }

  /**
   * Where chunks.Writer.WriteChunks cuts a new segment inside one series' chunks of data lengths
   * `dataLens[0, count)`: fills `cutAt` with the chunk indexes a new segment starts before and
   * returns how many there are (usually none). Sizes are estimated with a 10-byte length field, as
   * Prometheus does, so segment boundaries match its own.
   */
  private planCuts(dataLens: Int32Array, count: number): number {
    let cuts = 0;
    let batchSize = 0;
    let firstBatch = true;
    for (let i = 0; i < count; i++) {
      const size = MAX_LEN_FIELD + 1 + (dataLens[i] as number) + 4;
      batchSize += size;
      let cut = i !== 0 && batchSize + SEGMENT_HEADER_SIZE > this.segmentSize;
      if (firstBatch && this.n > SEGMENT_HEADER_SIZE) {
        cut = batchSize + this.n > this.segmentSize;
        if (cut) firstBatch = false;
      }
      if (cut) {
        if (cuts === this.cutAt.length) {
          const next = new Int32Array(cuts * 2);
          next.set(this.cutAt);
          this.cutAt = next;
        }
        this.cutAt[cuts++] = i;
        batchSize = size;
      }
    }
    return cuts;
  }

  private async writeOne(chunk: EncodedChunk): Promise<number> {
    const ref = chunkRef(this.seq, this.n);
    const data = chunk.data;
    const need = MAX_LEN_FIELD + 1 + data.length + 4;
    if (this.bufLen + need > this.buf.length) await this.flush();
    if (need > this.buf.length) this.buf = new Uint8Array(need);
    const buf = this.buf;
    let p = this.bufLen;
    let len = data.length;
    while (len >= 0x80) {
      buf[p++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    buf[p++] = len;
    const encAt = p;
    buf[p++] = chunk.encoding;
    buf.set(data, p);
    p += data.length;
    const crc = crc32c(buf, 0, encAt, p);
    buf[p++] = crc >>> 24;
    buf[p++] = (crc >>> 16) & 0xff;
    buf[p++] = (crc >>> 8) & 0xff;
    buf[p++] = crc & 0xff;
    this.n += p - this.bufLen;
    this.bufLen = p;
    return ref;
  }

  // Hands the buffer to the file and goes on in the other one: the write runs while the next
  // buffer fills, and is awaited before the one after (or at the end of the segment).
  private async flush(): Promise<void> {
    await this.settle();
    if (!this.fh || this.bufLen === 0) return;
    const fh = this.fh;
    const buf = this.buf;
    const len = this.bufLen;
    const pos = this.filePos;
    this.filePos += len;
    this.writing = writeFully(fh, buf, len, pos);
    this.writing.catch(() => {});
    this.buf = this.spare.length >= buf.length ? this.spare : new Uint8Array(buf.length);
    this.spare = buf;
    this.bufLen = 0;
  }

  private async settle(): Promise<void> {
    const w = this.writing;
    this.writing = undefined;
    if (w) await w;
  }

  private async finalizeTail(): Promise<void> {
    if (!this.fh) {
      await this.settle();
      return;
    }
    await this.flush();
    await this.settle();
    await this.fh.sync();
    await this.fh.close();
    this.fh = undefined;
  }

  private async cut(): Promise<void> {
    await this.finalizeTail();
    if (this.seq < 0) await mkdir(this.dir, { recursive: true });
    this.seq++;
    const name = segmentFileName(this.seq + 1);
    this.fh = await open(join(this.dir, name), 'w');
    this.files.push(name);
    const header = this.buf;
    header.fill(0, 0, SEGMENT_HEADER_SIZE);
    header[0] = CHUNKS_MAGIC >>> 24;
    header[1] = (CHUNKS_MAGIC >>> 16) & 0xff;
    header[2] = (CHUNKS_MAGIC >>> 8) & 0xff;
    header[3] = CHUNKS_MAGIC & 0xff;
    header[4] = CHUNKS_FORMAT_V1;
    this.bufLen = SEGMENT_HEADER_SIZE;
    this.filePos = 0;
    this.n = SEGMENT_HEADER_SIZE;
  }

  /** Flushes, fsyncs and closes the current segment. Creates the chunks dir even when empty. */
  async close(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.finalizeTail();
  }
}
