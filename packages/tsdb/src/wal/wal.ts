// The WAL writer: Prometheus's tsdb/wlog/wlog.go (v2.42) page and segment logic. Records are
// cut into fragments that fit 32 KiB pages; pages fill segments; a record never crosses a
// segment. docs/formats/wal.md draws the layout.
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { crc32c } from '../encoding/crc32c.js';
import { InvalidArgumentError, ThanosError } from '../errors.js';
import {
  listSegments,
  segmentFileName,
  WAL_DEFAULT_SEGMENT_SIZE,
  WAL_PAGE_SIZE,
  WAL_RECORD_HEADER_SIZE,
} from './segments.js';

/** Options for {@link openWAL}. */
export interface WALOptions {
  /** WAL directory (`<data dir>/wal` in Prometheus); created when missing. */
  dir: string;
  /**
   * Segment size in bytes; a multiple of 32 KiB. Default 128 MiB (Prometheus's default). A
   * record larger than a whole segment still goes into one segment, which then grows past it.
   */
  segmentSizeBytes?: number;
  /**
   * Snappy-compress each record when that makes it smaller, flagging its fragments. Default
   * true, as Prometheus 2.42's `--storage.tsdb.wal-compression`. Readers handle both.
   */
  compress?: boolean;
}

/**
 * An open write-ahead log. Calls are serialized internally, so concurrent `log()` calls are safe
 * and land in call order. After `close()` every method but `close()` and `segmentRange()` rejects.
 */
export interface WAL extends AsyncDisposable {
  /** The WAL directory. */
  readonly dir: string;
  /**
   * Appends records in order and writes them to the current segment (without fsync). Each
   * record is snappy-compressed when enabled and smaller, then cut into full/first/middle/last
   * fragments with CRC32C. A record that does not fit the rest of the segment starts a new one.
   */
  log(records: readonly Uint8Array[]): Promise<void>;
  /** fsyncs the current segment. */
  sync(): Promise<void>;
  /**
   * Pads and closes the current page, fsyncs and closes the current segment and starts the next
   * one. Returns the new segment's index.
   */
  nextSegment(): Promise<number>;
  /** First and last segment index in the directory; `{ first: -1, last: -1 }` when none. */
  segmentRange(): Promise<{ first: number; last: number }>;
  /**
   * The current segment's index and the byte offset just past the last record logged to it
   * (Prometheus's LastSegmentAndOffset): what a chunk snapshot is named after.
   */
  lastSegmentAndOffset(): Promise<{ segment: number; offset: number }>;
  /** Whether records are snappy-compressed. */
  readonly compressed: boolean;
  /** Deletes every segment whose index is below `beforeSegment` (Prometheus's WL.Truncate). */
  truncate(beforeSegment: number): Promise<void>;
  /** Pads the last page, fsyncs and closes the current segment. Safe to call twice. */
  close(): Promise<void>;
}

// Header byte: [4 bits unused][1 bit snappy][3 bits fragment type] (wlog.go snappyMask).
const SNAPPY_FLAG = 1 << 3;
const FRAG_FULL = 1;
const FRAG_FIRST = 2;
const FRAG_MIDDLE = 3;
const FRAG_LAST = 4;

/**
 * Opens a WAL for appending: creates `dir` if needed and, as Prometheus does on start, creates a
 * fresh segment numbered one past the last existing one (0 in an empty directory). Existing
 * segments are left as they are; read them with readWAL first.
 */
export async function openWAL(opts: WALOptions): Promise<WAL> {
  const segmentSize = opts.segmentSizeBytes ?? WAL_DEFAULT_SEGMENT_SIZE;
  if (!Number.isInteger(segmentSize) || segmentSize <= 0 || segmentSize % WAL_PAGE_SIZE !== 0) {
    throw new InvalidArgumentError(
      `invalid segment size ${segmentSize}: must be a positive multiple of ${WAL_PAGE_SIZE} bytes`,
    );
  }
  await mkdir(opts.dir, { recursive: true });
  const segs = await listSegments(opts.dir);
  const next = segs.length === 0 ? 0 : (segs[segs.length - 1]?.index as number) + 1;
  const w = new SegmentedWriter(opts.dir, segmentSize, opts.compress ?? true);
  await w.openSegment(next);
  return w;
}

/**
 * Opens segment `index` of `dir` for appending, creating it when missing; a torn last page is
 * padded with zeros first (Prometheus's OpenWriteSegment). Used by repair, which rewrites one
 * segment in place.
 * @internal
 */
export async function openWALAtSegment(dir: string, index: number, compress: boolean): Promise<SegmentedWriter> {
  const w = new SegmentedWriter(dir, WAL_DEFAULT_SEGMENT_SIZE, compress);
  await w.openSegment(index);
  return w;
}

/** @internal The WAL implementation; see {@link WAL}. */
export class SegmentedWriter implements WAL {
  private fh: FileHandle | undefined;
  private segment = -1;
  /** Whole pages already in the current segment file. */
  private donePages = 0;
  private readonly page = new Uint8Array(WAL_PAGE_SIZE);
  /** Bytes of `page` in use. */
  private alloc = 0;
  /** Bytes of `page` already handed to `pending` (written or about to be). */
  private flushed = 0;
  /** Copies of page bytes waiting for one writev at the end of the operation. */
  private pending: Uint8Array[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly segmentSize: number,
    private readonly compress: boolean,
  ) {}

  /** Runs `fn` after every earlier call has finished, so file state is touched by one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private checkOpen(): void {
    if (this.closed) throw new ThanosError('TSDB_WAL_CLOSED', `${this.dir}: wlog is closed`);
  }

  async openSegment(index: number): Promise<void> {
    const fh = await open(join(this.dir, segmentFileName(index)), 'a');
    const size = (await fh.stat()).size;
    if (size % WAL_PAGE_SIZE !== 0) {
      // A torn last page (crash mid-write): pad it so new records start on a fresh page. A
      // record torn inside it is reported by the next full read (wlog.go OpenWriteSegment).
      await fh.write(new Uint8Array(WAL_PAGE_SIZE - (size % WAL_PAGE_SIZE)));
    }
    this.fh = fh;
    this.segment = index;
    this.donePages = Math.ceil(size / WAL_PAGE_SIZE);
  }

  log(records: readonly Uint8Array[]): Promise<void> {
    return this.serial(async () => {
      this.checkOpen();
      for (const rec of records) await this.logOne(rec);
      // Like Prometheus, the batch's last page is written even when not full, so the records
      // reach the OS now; the page stays open for the next batch.
      if (this.alloc > this.flushed) this.flushPage(false);
      await this.writePending();
    });
  }

  private async logOne(input: Uint8Array): Promise<void> {
    if (WAL_PAGE_SIZE - this.alloc < WAL_RECORD_HEADER_SIZE) this.flushPage(true);
    let rec = input;
    let compressed = false;
    if (this.compress && rec.length > 0) {
      const c = compressSync(rec);
      if (c.length < rec.length) {
        rec = c;
        compressed = true;
      }
    }
    // Free space left in this segment: the rest of this page plus every page still unwritten.
    const pagesPerSegment = this.segmentSize / WAL_PAGE_SIZE;
    const left =
      WAL_PAGE_SIZE -
      this.alloc -
      WAL_RECORD_HEADER_SIZE +
      (WAL_PAGE_SIZE - WAL_RECORD_HEADER_SIZE) * (pagesPerSegment - this.donePages - 1);
    if (rec.length > left) await this.cutSegment();

    const page = this.page;
    let off = 0;
    // One pass at least, so an empty record is written as an empty full fragment.
    for (let i = 0; i === 0 || off < rec.length; i++) {
      const n = Math.min(rec.length - off, WAL_PAGE_SIZE - this.alloc - WAL_RECORD_HEADER_SIZE);
      const last = off + n === rec.length;
      let typ = i === 0 ? (last ? FRAG_FULL : FRAG_FIRST) : last ? FRAG_LAST : FRAG_MIDDLE;
      if (compressed) typ |= SNAPPY_FLAG;
      const h = this.alloc;
      const crc = crc32c(rec, 0, off, off + n);
      page[h] = typ;
      page[h + 1] = n >>> 8;
      page[h + 2] = n & 0xff;
      page[h + 3] = crc >>> 24;
      page[h + 4] = (crc >>> 16) & 0xff;
      page[h + 5] = (crc >>> 8) & 0xff;
      page[h + 6] = crc & 0xff;
      page.set(rec.subarray(off, off + n), h + WAL_RECORD_HEADER_SIZE);
      this.alloc = h + WAL_RECORD_HEADER_SIZE + n;
      off += n;
      if (WAL_PAGE_SIZE - this.alloc < WAL_RECORD_HEADER_SIZE) this.flushPage(true);
    }
  }

  /**
   * Queues the page's unwritten bytes. With `clear` (or when no header fits any more) the page
   * is completed: its tail stays zero, which readers take as "rest of page empty".
   */
  private flushPage(clear: boolean): void {
    const full = clear || WAL_PAGE_SIZE - this.alloc < WAL_RECORD_HEADER_SIZE;
    const end = full ? WAL_PAGE_SIZE : this.alloc;
    if (end > this.flushed) this.pending.push(this.page.slice(this.flushed, end));
    this.flushed = end;
    if (full) {
      this.page.fill(0);
      this.alloc = 0;
      this.flushed = 0;
      this.donePages++;
    }
  }

  private async writePending(): Promise<void> {
    const fh = this.fh;
    if (this.pending.length === 0 || fh === undefined) return;
    const bufs = this.pending;
    this.pending = [];
    // Node's writev with 'a' mode appends every buffer in order; it may return short on huge
    // batches, so keep going until all bytes are out.
    let total = 0;
    for (const b of bufs) total += b.length;
    let written = (await fh.writev(bufs)).bytesWritten;
    if (written < total) {
      const rest = Buffer.concat(bufs).subarray(written);
      while (written < total) written += (await fh.write(rest, written - (total - rest.length))).bytesWritten;
    }
  }

  private async cutSegment(): Promise<number> {
    // Only a page holding data is flushed: an empty one would add a page of zeros.
    if (this.alloc > 0) this.flushPage(true);
    await this.writePending();
    const prev = this.fh;
    await this.openSegment(this.segment + 1);
    if (prev !== undefined) {
      await prev.sync();
      await prev.close();
    }
    return this.segment;
  }

  /** Completes the current page with zeros and writes it (repair ends the segment this way). */
  padPage(): Promise<void> {
    return this.serial(async () => {
      this.flushPage(true);
      await this.writePending();
    });
  }

  sync(): Promise<void> {
    return this.serial(async () => {
      this.checkOpen();
      await this.fh?.sync();
    });
  }

  nextSegment(): Promise<number> {
    return this.serial(async () => {
      this.checkOpen();
      return this.cutSegment();
    });
  }

  get compressed(): boolean {
    return this.compress;
  }

  lastSegmentAndOffset(): Promise<{ segment: number; offset: number }> {
    return this.serial(async () => ({ segment: this.segment, offset: this.donePages * WAL_PAGE_SIZE + this.alloc }));
  }

  async segmentRange(): Promise<{ first: number; last: number }> {
    const segs = await listSegments(this.dir);
    if (segs.length === 0) return { first: -1, last: -1 };
    return { first: (segs[0] as { index: number }).index, last: (segs[segs.length - 1] as { index: number }).index };
  }

  truncate(beforeSegment: number): Promise<void> {
    return this.serial(async () => {
      this.checkOpen();
      for (const s of await listSegments(this.dir)) {
        if (s.index >= beforeSegment) break;
        await rm(join(this.dir, s.name));
      }
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      const fh = this.fh;
      this.fh = undefined;
      if (fh === undefined) return;
      try {
        // Never flush an empty page: a page of zeros would read as a finished page if the
        // segment were appended to again.
        if (this.alloc > 0) this.flushPage(true);
        if (this.pending.length > 0) {
          this.fh = fh;
          await this.writePending();
          this.fh = undefined;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
