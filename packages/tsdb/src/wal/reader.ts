// Reading WAL segments back into records, as Prometheus's tsdb/wlog/reader.go (v2.42) over its
// segmentBufReader: segments are one byte stream in which a short last page reads as zeros,
// fragments are checked (CRC32C, order) and reassembled, and snappy records are decompressed.
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { uncompressSync } from 'snappy';
import { crc32c } from '../encoding/crc32c.js';
import { ThanosError } from '../errors.js';
import { WalCorruptionError } from './errors.js';
import { listSegments, segmentFileName, WAL_PAGE_SIZE, WAL_RECORD_HEADER_SIZE } from './segments.js';
import { openWALAtSegment } from './wal.js';

/** A record read from a WAL, with where it ended. */
export interface WalEntry {
  /** Index of the segment holding the record. */
  segment: number;
  /**
   * Byte offset in the segment just past the record's last fragment (Prometheus's
   * `Reader.Offset()` after `Next()`). A corruption at offset O loses exactly the records whose
   * `offset` is ≥ O.
   */
  offset: number;
  /** The record, decompressed. The bytes stay valid after the iteration moves on. */
  record: Uint8Array;
}

/** Segments `[first, last]` of one directory; -1 leaves that end open. @internal */
export interface SegmentRange {
  dir: string;
  first: number;
  last: number;
  /** Byte offset in segment `first` to start reading at (Prometheus's NewSegmentBufReaderWithOffset). Default 0. */
  firstOffset?: number;
}

const FRAG_PAGE_TERM = 0;
const FRAG_FULL = 1;
const FRAG_FIRST = 2;
const FRAG_MIDDLE = 3;
const FRAG_LAST = 4;
const TYPE_MASK = 0x07;
const SNAPPY_FLAG = 0x08;
// Prometheus 3 flags zstd-compressed records with this bit; 2.42 never sets it.
const ZSTD_FLAG = 0x10;
// Bytes read from a segment at a time: whole pages, as Prometheus's 16-page bufio.Reader.
const READ_WINDOW = 32 * WAL_PAGE_SIZE;

/**
 * Reads the records of the WAL in `dir`, oldest first, over segments `[fromSegment, toSegment]`
 * (both inclusive; default all), from byte `fromOffset` of the first one (a chunk snapshot's
 * offset; default 0). The stream ends by throwing WalCorruptionError
 * (`TSDB_WAL_CORRUPT`, with `segment` and `offset`) on a bad checksum, a fragment out of order,
 * non-zero page padding, a bad snappy block, or a torn last record; pass that error to
 * {@link repairWAL}. Files are closed when the loop ends, breaks or throws.
 */
export function readWAL(
  dir: string,
  opts: { fromSegment?: number; toSegment?: number; fromOffset?: number } = {},
): AsyncIterable<WalEntry> {
  return readSegmentRanges([
    { dir, first: opts.fromSegment ?? -1, last: opts.toSegment ?? -1, firstOffset: opts.fromOffset ?? 0 },
  ]);
}

/**
 * Reads several segment ranges as one stream (a checkpoint followed by WAL segments), as
 * Prometheus's NewSegmentsRangeReader: a record torn at the end of one range is detected at the
 * start of the next.
 * @internal
 */
export async function* readSegmentRanges(ranges: readonly SegmentRange[]): AsyncGenerator<WalEntry> {
  for await (const batch of readSegmentRangeBatches(ranges)) yield* batch;
}

/**
 * As readSegmentRanges, but yields the records in batches: every record whose bytes are in the
 * window already read, so a WAL of many small records (a chunk snapshot holds one per series)
 * costs one await per window instead of one per record.
 * @internal
 */
export async function* readSegmentRangeBatches(ranges: readonly SegmentRange[]): AsyncGenerator<WalEntry[]> {
  const segs: { dir: string; index: number; offset: number }[] = [];
  for (const r of ranges) {
    for (const s of await listSegments(r.dir)) {
      if (r.first >= 0 && s.index < r.first) continue;
      if (r.last >= 0 && s.index > r.last) break;
      segs.push({ dir: r.dir, index: s.index, offset: s.index === r.first ? (r.firstOffset ?? 0) : 0 });
    }
  }
  const asm = new Assembler();
  let lastSeg: { dir: string; index: number } | undefined;
  let lastOffset = 0;
  for (const seg of segs) {
    const reader = await SegmentReader.open(seg.dir, seg.index);
    // Offsets are absolute in the segment, so page boundaries stay where they are.
    reader.consumed = seg.offset;
    try {
      let batch: WalEntry[] = [];
      for (;;) {
        let rec: Uint8Array | undefined | typeof NEED_BYTES;
        try {
          rec = reader.tryNext(asm);
        } catch (err) {
          // The records before a corruption are delivered before the error, as one at a time.
          if (batch.length > 0) yield batch;
          throw err;
        }
        if (rec === NEED_BYTES) {
          if (batch.length > 0) {
            yield batch;
            batch = [];
          }
          await reader.fill();
          continue;
        }
        if (rec === undefined) break;
        batch.push({ segment: seg.index, offset: reader.consumed, record: rec });
      }
      if (batch.length > 0) yield batch;
    } finally {
      await reader.close();
    }
    lastSeg = seg;
    lastOffset = reader.consumed;
  }
  // A crash between writing a record's first fragments and its last leaves it torn.
  if (lastSeg !== undefined && (asm.lastType === FRAG_FIRST || asm.lastType === FRAG_MIDDLE)) {
    throw new WalCorruptionError(lastSeg.dir, lastSeg.index, lastOffset, 'last record is torn');
  }
}

/**
 * Like readWAL, in batches of records (see readSegmentRangeBatches); same order, offsets and
 * errors.
 */
export function readWALBatches(
  dir: string,
  opts: { fromSegment?: number; toSegment?: number; fromOffset?: number } = {},
): AsyncIterable<WalEntry[]> {
  return readSegmentRangeBatches([
    { dir, first: opts.fromSegment ?? -1, last: opts.toSegment ?? -1, firstOffset: opts.fromOffset ?? 0 },
  ]);
}

// tryNext's answer when the window lacks the bytes of the next fragment: call fill() and retry.
const NEED_BYTES: unique symbol = Symbol('need bytes');

/** Fragment reassembly state; it carries across segments as Prometheus's Reader does. */
class Assembler {
  /** Fragments of the record being assembled (compressed bytes when flagged). */
  parts: Uint8Array[] = [];
  /** Content fragments seen for the current record (Prometheus's `i`). */
  count = 0;
  /** Type of the last fragment read, padding included (Prometheus's curRecTyp). */
  lastType = FRAG_PAGE_TERM;
  compressed = false;
}

/** One segment file read in page-aligned windows; bytes past its end read as zero up to the page. */
class SegmentReader {
  /** Bytes of the segment consumed so far (Prometheus's segmentBufReader.off). */
  consumed = 0;
  private win: Uint8Array = new Uint8Array(0);
  /** Segment offset of win[0]. */
  private winStart = 0;
  private fileEnd = 0;

  private constructor(
    private readonly fh: FileHandle,
    private readonly size: number,
    readonly dir: string,
    readonly index: number,
  ) {
    // Prometheus pads a short last page with zeros and reads no further in this segment.
    this.fileEnd = Math.ceil(size / WAL_PAGE_SIZE) * WAL_PAGE_SIZE;
  }

  /** Opens segment `index` of `dir`; `path` overrides the file read (repair reads a renamed copy). */
  static async open(dir: string, index: number, path = join(dir, segmentFileName(index))): Promise<SegmentReader> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      return new SegmentReader(fh, size, dir, index);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  private corrupt(detail: string, options?: ErrorOptions): never {
    throw new WalCorruptionError(this.dir, this.index, this.consumed, detail, options);
  }

  /**
   * Makes `n` bytes from `pos` available in the window, reading a new window when needed. Returns
   * how many are available, fewer only at the (padded) end of the segment.
   */
  private async ensure(pos: number, n: number): Promise<number> {
    const have = this.winStart + this.win.length - pos;
    if (have >= n) return n;
    const avail = Math.min(n, this.fileEnd - pos);
    if (have >= avail) return avail;
    // A fresh buffer each time: records handed out are views into the old one. Bytes beyond
    // the file stay zero, which is Prometheus's virtual padding of a torn last page.
    const len = Math.min(Math.max(READ_WINDOW, n), this.fileEnd - pos);
    const next = new Uint8Array(len);
    const keep = Math.max(0, have);
    if (keep > 0) next.set(this.win.subarray(pos - this.winStart));
    let filled = keep;
    const want = Math.min(len, this.size - pos);
    while (filled < want) {
      const { bytesRead } = await this.fh.read(next, filled, want - filled, pos + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.win = next;
    this.winStart = pos;
    return avail;
  }

  /** Bytes tryNext asked for: from `needPos`, `needLen` of them. */
  private needPos = 0;
  private needLen = 0;

  // How many of `n` bytes from `pos` the window holds, or -1 when it must be filled first. Fewer
  // than n only at the (padded) end of the segment.
  private inWindow(pos: number, n: number): number {
    const want = Math.min(n, this.fileEnd - pos);
    if (pos >= this.winStart && this.winStart + this.win.length - pos >= want) return want;
    this.needPos = pos;
    this.needLen = n;
    return -1;
  }

  /** Reads the window tryNext asked for. */
  async fill(): Promise<void> {
    await this.ensure(this.needPos, this.needLen);
  }

  /** The next whole record of this segment, or undefined at its end. */
  async nextRecord(asm: Assembler): Promise<Uint8Array | undefined> {
    for (;;) {
      const r = this.tryNext(asm);
      if (r !== NEED_BYTES) return r;
      await this.fill();
    }
  }

  /**
   * The next whole record from the bytes already read, undefined at the end of the segment, or
   * NEED_BYTES when the window must be filled first (nothing is consumed then; call fill() and
   * try again).
   */
  tryNext(asm: Assembler): Uint8Array | undefined | typeof NEED_BYTES {
    for (;;) {
      const pos = this.consumed;
      if (pos >= this.fileEnd) return undefined;
      if (this.inWindow(pos, WAL_RECORD_HEADER_SIZE) < 0) return NEED_BYTES;
      const b = this.win;
      const at = pos - this.winStart;
      const head = b[at] as number;
      const typ = head & TYPE_MASK;
      asm.lastType = typ;
      if (typ === FRAG_PAGE_TERM) {
        // The rest of the page is padding; check it is all zeros, as Prometheus does.
        const k = WAL_PAGE_SIZE - ((pos + 1) % WAL_PAGE_SIZE);
        if (k === WAL_PAGE_SIZE) {
          this.consumed = pos + 1;
          continue;
        }
        if (this.inWindow(pos, 1 + k) < 0) return NEED_BYTES;
        this.consumed = pos + 1 + k;
        for (let i = at + 1; i <= at + k; i++) {
          if (b[i] !== 0) this.corrupt('unexpected non-zero byte in padded page');
        }
        continue;
      }
      if (this.fileEnd - pos < WAL_RECORD_HEADER_SIZE) {
        this.consumed = this.fileEnd;
        this.corrupt('read remaining header: unexpected EOF');
      }
      const length = ((b[at + 1] as number) << 8) | (b[at + 2] as number);
      const crc =
        (((b[at + 3] as number) << 24) |
          ((b[at + 4] as number) << 16) |
          ((b[at + 5] as number) << 8) |
          (b[at + 6] as number)) >>>
        0;
      if (length > WAL_PAGE_SIZE - WAL_RECORD_HEADER_SIZE) {
        this.consumed = pos + WAL_RECORD_HEADER_SIZE;
        this.corrupt(`invalid record size ${length}`);
      }
      const got = this.inWindow(pos, WAL_RECORD_HEADER_SIZE + length);
      if (got < 0) return NEED_BYTES;
      if (got < WAL_RECORD_HEADER_SIZE + length) {
        this.consumed = pos + got;
        this.corrupt('unexpected EOF');
      }
      const start = at + WAL_RECORD_HEADER_SIZE;
      const end = start + length;
      this.consumed = pos + WAL_RECORD_HEADER_SIZE + length;
      const c = crc32c(b, 0, start, end);
      if (c !== crc) this.corrupt(`unexpected checksum ${c.toString(16)}, expected ${crc.toString(16)}`);
      if (head & ZSTD_FLAG) this.corrupt('zstd-compressed record (Prometheus 3 WAL) is not supported');

      // Fragment order (Prometheus's validateRecord).
      switch (typ) {
        case FRAG_FULL:
          if (asm.count !== 0) this.corrupt('unexpected full record');
          break;
        case FRAG_FIRST:
          if (asm.count !== 0) this.corrupt('unexpected first record, dropping buffer');
          break;
        case FRAG_MIDDLE:
          if (asm.count === 0) this.corrupt('unexpected middle record, dropping buffer');
          break;
        case FRAG_LAST:
          if (asm.count === 0) this.corrupt('unexpected last record, dropping buffer');
          break;
        default:
          this.corrupt(`unexpected record type ${typ}`);
      }
      const part = b.subarray(start, end);
      if (typ === FRAG_FULL) {
        return (head & SNAPPY_FLAG) !== 0 ? this.decompress(part) : part;
      }
      if (asm.count === 0) asm.compressed = (head & SNAPPY_FLAG) !== 0;
      asm.parts.push(part);
      asm.count++;
      if (typ === FRAG_LAST) {
        const whole = concat(asm.parts);
        const compressed = asm.compressed;
        asm.parts = [];
        asm.count = 0;
        return compressed ? this.decompress(whole) : whole;
      }
    }
  }

  private decompress(data: Uint8Array): Uint8Array {
    if (data.length === 0) return data;
    try {
      return uncompressSync(data, { asBuffer: true }) as Buffer;
    } catch (err) {
      return this.corrupt(`snappy: corrupt input (${(err as Error).message})`, { cause: err });
    }
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Repairs a WAL after readWAL threw `err`, as Prometheus's WL.Repair: every segment after the
 * corrupt one is deleted, and the corrupt segment is rewritten with the records that ended
 * before `err.offset`, then padded to a whole page. Everything else is lost: records may depend
 * on each other, so nothing after a corruption is trusted. Call it with no WAL open on `dir`
 * (then openWAL continues after the repaired segment). `err` must come from a read of `dir`
 * itself, not of a checkpoint: a corrupt checkpoint cannot be repaired.
 */
export async function repairWAL(dir: string, err: WalCorruptionError): Promise<void> {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== 'TSDB_WAL_CORRUPT') {
    throw new ThanosError('TSDB_WAL_REPAIR', 'cannot handle error', { cause: err });
  }
  if (typeof err.segment !== 'number' || err.segment < 0)
    throw new ThanosError('TSDB_WAL_REPAIR', 'corruption error does not specify position');
  for (const s of await listSegments(dir)) {
    if (s.index > err.segment) await rm(join(dir, s.name));
  }
  const file = join(dir, segmentFileName(err.segment));
  const tmp = `${file}.repair`;
  await rename(file, tmp);
  const writer = await openWALAtSegment(dir, err.segment, true);
  try {
    // Re-log the records as they are; compression of the rewritten records follows the writer,
    // which readers handle either way.
    const src = await SegmentReader.open(dir, err.segment, tmp);
    try {
      const asm = new Assembler();
      for (;;) {
        let rec: Uint8Array | undefined;
        try {
          rec = await src.nextRecord(asm);
        } catch {
          break; // the corruption itself; everything before it is already re-logged
        }
        if (rec === undefined || src.consumed >= err.offset) break;
        await writer.log([rec]);
      }
    } finally {
      await src.close();
    }
    await writer.padPage();
  } finally {
    await writer.close();
  }
  await rm(tmp);
}
