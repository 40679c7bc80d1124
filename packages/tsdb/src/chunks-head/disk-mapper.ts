import { type FileHandle, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { HeadChunksCorruptionError } from './errors.js';
import {
  encodeHeadChunkEntry,
  HEAD_CHUNK_FILE_HEADER_SIZE,
  headChunkEntrySize,
  headChunkFileHeader,
  headChunkFileName,
  headChunkRef,
  iterateHeadChunkFile,
  MAX_HEAD_CHUNK_FILE_SIZE,
} from './format.js';

/** Where a disk mapper reports write failures (a DBLogger fits). */
export interface HeadChunksLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A chunk found on disk, shaped as the head keeps closed chunks (HeadChunk): inclusive time
 * range in ms, bytes (a view into the file's contents), `encoding` absent for XOR, and its
 * reference (file sequence << 32 | offset).
 */
export interface LoadedHeadChunk {
  minTime: number;
  maxTime: number;
  data: Uint8Array;
  encoding?: ChunkEncoding;
  diskRef: number;
}

/** What {@link HeadChunkDiskMapper.loadAll} found. */
export interface LoadedHeadChunks {
  /** Chunks by series ref, each list in time order. */
  bySeries: Map<number, LoadedHeadChunk[]>;
  /** Chunks read. */
  chunks: number;
  /** The corruption that made files be deleted, if any (their data comes from the WAL instead). */
  corruption: Error | undefined;
}

// Pending chunk bytes are flushed to the file once this many are buffered (Prometheus's
// DefaultWriteBufferSize): chunks are cut synchronously while a commit is applied, and writing
// each one would put a syscall in the append path.
const WRITE_BUFFER_SIZE = 4 * 1024 * 1024;

/**
 * The `chunks_head/` files of a head (Prometheus's ChunkDiskMapper, minus the mmap): every chunk
 * the head cuts is appended to the current file in Prometheus's format, so a restart loads full
 * chunks from here and replays only the WAL samples after them, and Prometheus 2.42 can start on
 * the directory. The head keeps its chunks in memory as well; the files are read back only on
 * open. `writeChunk` is synchronous (bytes are buffered and flushed in the background in order);
 * `flush`/`close` wait for them. A failed write is logged, stops further writes and is kept in
 * `writeError` (the WAL still holds every sample; only a chunk snapshot must not rely on the files).
 */
export class HeadChunkDiskMapper {
  private fh: FileHandle | undefined;
  /** Sequence of the file being written, 0 before the first write. */
  private curSeq = 0;
  /** Bytes in the current file once everything pending is written. */
  private curOffset = 0;
  /** Cut a new file on the next write (after open, and after truncate with data in the current file). */
  private cutNext = true;
  private lastSeqOnDisk: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private stage: Uint8Array = new Uint8Array(0);
  private stagePos = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private files: number[];
  private closed = false;
  /** The first write error, if any; no chunk is written after it. */
  writeError: Error | undefined;

  private constructor(
    readonly dir: string,
    files: number[],
    private readonly logger: HeadChunksLogger | undefined,
  ) {
    this.files = files;
    this.lastSeqOnDisk = files.length > 0 ? (files[files.length - 1] as number) : 0;
  }

  /**
   * Opens `dir` (created when missing): lists the numbered files and, as Prometheus's
   * repairLastChunkFile, deletes a last file shorter than 4 bytes or starting with zeros (a
   * crash right after creating it). New chunks go to a new file after the last one.
   */
  static async open(dir: string, logger?: HeadChunksLogger): Promise<HeadChunkDiskMapper> {
    await mkdir(dir, { recursive: true });
    const files = await listHeadChunkFiles(dir);
    const last = files[files.length - 1];
    if (last !== undefined && last > 0) {
      const fh = await open(join(dir, headChunkFileName(last)), 'r');
      const buf = new Uint8Array(4);
      const { bytesRead } = await fh.read(buf, 0, 4, 0);
      await fh.close();
      if (bytesRead < 4 || (buf[0] === 0 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0)) {
        await rm(join(dir, headChunkFileName(last)), { force: true });
        files.pop();
      }
    }
    return new HeadChunkDiskMapper(dir, files, logger);
  }

  /**
   * Reads every chunk on disk (Prometheus's Head.loadMmappedChunks): chunks ending before
   * `minValidTime` are skipped. On a corrupt file, it and every later file are deleted and the
   * chunks of the earlier files are returned (DeleteCorrupted); on chunks of one series out of
   * time order, every file is deleted (Prometheus's fallback when DeleteCorrupted cannot help).
   */
  async loadAll(minValidTime: number): Promise<LoadedHeadChunks> {
    const bySeries = new Map<number, LoadedHeadChunk[]>();
    let chunks = 0;
    // Files must be numbered without gaps (openMMapFiles).
    for (let i = 1; i < this.files.length; i++) {
      if (this.files[i] !== (this.files[i - 1] as number) + 1) {
        const err = new Error(
          `found unsequential head chunk files ${headChunkFileName(this.files[i - 1] as number)} (index: ${this.files[i - 1]}) and ${headChunkFileName(this.files[i] as number)} (index: ${this.files[i]})`,
        );
        await this.deleteFrom(0);
        return { bySeries: new Map(), chunks: 0, corruption: err };
      }
    }
    for (const seq of this.files) {
      const buf = await readFile(join(this.dir, headChunkFileName(seq)));
      // A file's chunks are taken only once the whole file parsed (a corrupt one is dropped).
      const refs: number[] = [];
      const fileChunks: LoadedHeadChunk[] = [];
      try {
        iterateHeadChunkFile(this.dir, seq, buf, (seriesRef, ref, mint, maxt, encoding, data) => {
          // Out-of-order chunks (encoding with the 0x80 bit) belong to the WBL, which we do not keep.
          if (encoding >= 0x80 || maxt < minValidTime) return;
          refs.push(seriesRef);
          fileChunks.push(
            encoding === ChunkEncoding.XOR
              ? { minTime: mint, maxTime: maxt, data, diskRef: ref }
              : { minTime: mint, maxTime: maxt, data, encoding: encoding as ChunkEncoding, diskRef: ref },
          );
        });
      } catch (err) {
        if (!(err instanceof HeadChunksCorruptionError)) throw err;
        await this.deleteFrom(seq);
        return { bySeries, chunks, corruption: err };
      }
      for (let i = 0; i < fileChunks.length; i++) {
        const seriesRef = refs[i] as number;
        const c = fileChunks[i] as LoadedHeadChunk;
        let list = bySeries.get(seriesRef);
        if (list === undefined) {
          list = [];
          bySeries.set(seriesRef, list);
        }
        const prev = list[list.length - 1];
        if (prev !== undefined && prev.maxTime >= c.minTime) {
          const err = new Error(
            `out of sequence m-mapped chunk for series ref ${seriesRef}, last chunk: [${prev.minTime}, ${prev.maxTime}], new: [${c.minTime}, ${c.maxTime}]`,
          );
          await this.deleteFrom(0);
          return { bySeries: new Map(), chunks: 0, corruption: err };
        }
        list.push(c);
        chunks++;
      }
    }
    return { bySeries, chunks, corruption: undefined };
  }

  // Deletes the files with sequence >= from (all when 0).
  private async deleteFrom(from: number): Promise<void> {
    const keep: number[] = [];
    for (const seq of this.files) {
      if (seq >= from) await rm(join(this.dir, headChunkFileName(seq)), { force: true });
      else keep.push(seq);
    }
    this.files = keep;
    this.lastSeqOnDisk = keep.length > 0 ? (keep[keep.length - 1] as number) : 0;
  }

  /**
   * Queues one chunk for the current file and returns its reference (file sequence << 32 |
   * offset). Synchronous; the bytes reach the file in the background, in order. Returns 0 after
   * a write error or close (nothing is written then).
   */
  writeChunk(seriesRef: number, mint: number, maxt: number, encoding: number, data: Uint8Array): number {
    if (this.writeError !== undefined || this.closed) return 0;
    const size = headChunkEntrySize(data.length);
    if (this.cutNext || this.curSeq === 0 || this.curOffset + size > MAX_HEAD_CHUNK_FILE_SIZE) this.cut();
    const ref = headChunkRef(this.curSeq, this.curOffset);
    if (this.stagePos + size > this.stage.length) {
      this.sealStage();
      this.stage = new Uint8Array(Math.max(size, 256 * 1024));
    }
    this.stagePos = encodeHeadChunkEntry(this.stage, this.stagePos, seriesRef, mint, maxt, encoding, data);
    this.curOffset += size;
    this.pendingBytes += size;
    if (this.pendingBytes >= WRITE_BUFFER_SIZE) void this.flush().catch(() => undefined);
    return ref;
  }

  private sealStage(): void {
    if (this.stagePos === 0) return;
    this.pending.push(this.stage.subarray(0, this.stagePos));
    this.stage = this.stage.subarray(this.stagePos);
    this.stagePos = 0;
  }

  // Starts a new file (Prometheus's cut): what is pending goes to the old one first.
  private cut(): void {
    this.sealStage();
    const batch = this.takePending();
    const seq = Math.max(this.curSeq, this.lastSeqOnDisk) + 1;
    this.curSeq = seq;
    this.curOffset = HEAD_CHUNK_FILE_HEADER_SIZE;
    this.cutNext = false;
    this.files.push(seq);
    this.serial(async () => {
      if (batch.length > 0) await this.writeOut(batch);
      await this.finishFile();
      this.fh = await open(join(this.dir, headChunkFileName(seq)), 'wx');
      await this.fh.write(headChunkFileHeader());
    });
  }

  private takePending(): Uint8Array[] {
    const b = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    return b;
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(async () => {
      if (this.writeError !== undefined) return;
      try {
        await fn();
      } catch (err) {
        this.writeError = err as Error;
        this.logger?.error('write head chunks failed; chunk files stop here, the WAL keeps the samples', {
          dir: this.dir,
          err: (err as Error).message,
        });
      }
    });
    this.chain = run;
    return run;
  }

  private async writeOut(batch: Uint8Array[]): Promise<void> {
    const fh = this.fh;
    if (fh === undefined) return;
    let total = 0;
    for (const b of batch) total += b.length;
    let written = (await fh.writev(batch)).bytesWritten;
    if (written < total) {
      const all = Buffer.concat(batch);
      while (written < total) written += (await fh.write(all, written, total - written)).bytesWritten;
    }
  }

  private async finishFile(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh === undefined) return;
    await fh.sync();
    await fh.close();
  }

  /** Writes every queued chunk to the file (no fsync). Rejects with the write error, if any. */
  async flush(): Promise<void> {
    this.sealStage();
    const batch = this.takePending();
    await this.serial(() => this.writeOut(batch));
    if (this.writeError) throw this.writeError;
  }

  /**
   * Deletes every file with a sequence below `minSeq` except the current one (Prometheus's
   * ChunkDiskMapper.Truncate: the head passes the oldest file a live chunk is in), and makes the
   * next chunk start a new file when the current one holds chunks.
   */
  truncate(minSeq: number): Promise<void> {
    if (this.curSeq !== 0 && this.curOffset > HEAD_CHUNK_FILE_HEADER_SIZE) this.cutNext = true;
    const remove = this.files.filter((s) => s < minSeq && s !== this.curSeq);
    if (remove.length === 0) return Promise.resolve();
    this.files = this.files.filter((s) => !remove.includes(s));
    return this.serial(async () => {
      for (const s of remove) await rm(join(this.dir, headChunkFileName(s)), { force: true });
    });
  }

  /** Sequence numbers of the files on disk (or being written), ascending. */
  fileSequences(): readonly number[] {
    return this.files;
  }

  /** Writes what is queued, fsyncs and closes the current file. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) {
      await this.chain;
      return;
    }
    this.sealStage();
    const batch = this.takePending();
    this.closed = true;
    await this.serial(async () => {
      await this.writeOut(batch);
      await this.finishFile();
    });
    // A failed close still closes the file.
    await this.finishFile().catch(() => undefined);
  }
}

/** Sequence numbers of the head chunk files in `dir` (names that parse as integers), ascending. */
export async function listHeadChunkFiles(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: number[] = [];
  for (const n of names) if (/^\d+$/.test(n)) out.push(Number(n));
  return out.sort((a, b) => a - b);
}
