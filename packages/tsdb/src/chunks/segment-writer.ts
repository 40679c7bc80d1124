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

const BUFFER_SIZE = 8 * 1024 * 1024;
const MAX_LEN_FIELD = 10;

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
    // Split into batches the way chunks.Writer.WriteChunks does.
    const batches: [number, number][] = [[0, 0]];
    let batchSize = 0;
    let batchStart = 0;
    let firstBatch = true;
    for (let i = 0; i < chunks.length; i++) {
      const size = MAX_LEN_FIELD + 1 + (chunks[i] as EncodedChunk).data.length + 4;
      batchSize += size;
      let cut = i !== 0 && batchSize + SEGMENT_HEADER_SIZE > this.segmentSize;
      if (firstBatch && this.n > SEGMENT_HEADER_SIZE) {
        cut = batchSize + this.n > this.segmentSize;
        if (cut) firstBatch = false;
      }
      if (cut) {
        batchStart = i;
        batches.push([i, i]);
        batchSize = size;
      }
      (batches[batches.length - 1] as [number, number])[0] = batchStart;
      (batches[batches.length - 1] as [number, number])[1] = i + 1;
    }
    if (this.n === 0) await this.cut();
    for (let b = 0; b < batches.length; b++) {
      const [from, to] = batches[b] as [number, number];
      for (let i = from; i < to; i++) refs[i] = await this.writeOne(chunks[i] as EncodedChunk);
      if (b < batches.length - 1) await this.cut();
    }
    return refs;
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

  private async flush(): Promise<void> {
    if (!this.fh || this.bufLen === 0) return;
    let off = 0;
    while (off < this.bufLen) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.bufLen - off, this.filePos);
      off += bytesWritten;
      this.filePos += bytesWritten;
    }
    this.bufLen = 0;
  }

  private async finalizeTail(): Promise<void> {
    if (!this.fh) return;
    await this.flush();
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
