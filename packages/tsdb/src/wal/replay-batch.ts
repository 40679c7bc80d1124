// Records of a WAL or a chunk snapshot, decoded into flat typed arrays that can cross a thread
// boundary without a copy (see replay-reader.ts). A replay spends most of its main-thread time
// making series; reading pages, checking CRCs, decompressing and parsing records can happen on
// another thread, so the head is fed columns instead of bytes. The bytes and their meaning are
// Prometheus's (records.ts, db/chunk-snapshot.ts); a record this decoder does not take apart (a
// type it leaves to the caller, or bytes it finds malformed) travels as raw bytes, so the caller's
// own decoder handles it and throws its usual error.
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { foldLabelsHash, LABELS_HASH_SEED } from '../labels/hash.js';
import { compareStrings } from '../labels/labels.js';
import { decodeSamplesInto, RECORD_SAMPLES, RECORD_SERIES, type SampleColumns } from './records.js';

/** A record passed as its bytes (see {@link DecodedBatch.counts}). @internal */
export const KIND_RAW = 0;
/** A WAL series record (type 1): its series in the series columns. @internal */
export const KIND_SERIES = 1;
/** A WAL samples record (type 2): its samples in the sample columns. @internal */
export const KIND_SAMPLES = 2;
/** A chunk snapshot series record (type 1 of a snapshot): one series and its head chunk. @internal */
export const KIND_SNAPSHOT_SERIES = 3;

/** What the records are: WAL segments (and checkpoints) or a chunk snapshot. @internal */
export type DecodeMode = 'wal' | 'snapshot';

/** Chunk encoding byte meaning "no head chunk" in {@link DecodedBatch.chunkEnc}. @internal */
export const NO_CHUNK = 255;

/**
 * Records decoded into columns, in order. Record `i` is `kinds[i]`; `counts[i]` is how many
 * series (KIND_SERIES, 1 for KIND_SNAPSHOT_SERIES) or samples (KIND_SAMPLES) it put in the
 * columns, or its byte length in `bytes` (KIND_RAW). Each column is consumed front to back.
 * Label strings are ids into the reader's string table (`strings`, which grows batch by batch).
 * @internal
 */
export interface DecodedBatch {
  records: number;
  kinds: Uint8Array;
  counts: Uint32Array;
  /** Per series: ref, number of labels. */
  seriesRefs: Float64Array;
  labelCounts: Uint32Array;
  /** Per series: hashLabels of its labels, as uint32 (`| 0` gives hashLabels's value). */
  seriesHashes: Uint32Array;
  /** Per label: name id, value id. */
  labelIds: Uint32Array;
  /** Strings first seen in this batch; their ids follow the previous batches'. */
  newStrings: string[];
  /** Per snapshot series: head chunk mint and maxt, ms (when it has one). */
  chunkTimes: Float64Array;
  /** Per snapshot series: head chunk encoding, or NO_CHUNK. */
  chunkEnc: Uint8Array;
  /** Per snapshot series: the last value's 8 bytes in host (little-endian) order. */
  lastValues: Uint8Array;
  /** Per snapshot series: head chunk byte length in `bytes`. */
  chunkLens: Uint32Array;
  /** Per sample: series ref, timestamp (ms), value. */
  sampleRefs: Float64Array;
  sampleTs: Float64Array;
  sampleValues: Float64Array;
  /** Raw records and head chunk bytes, in record order. */
  bytes: Uint8Array;
}

// Growable typed columns: a batch is a few MB, so doubling from a modest start is cheap.
class F64 {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  reserve(k: number): void {
    if (this.n + k <= this.a.length) return;
    const b = new Float64Array(Math.max(this.a.length * 2, this.n + k));
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  take(): Float64Array {
    const out = this.a.subarray(0, this.n);
    this.a = new Float64Array(this.a.length);
    this.n = 0;
    return out;
  }
}

class U32 {
  a = new Uint32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
  take(): Uint32Array {
    const out = this.a.subarray(0, this.n);
    this.a = new Uint32Array(this.a.length);
    this.n = 0;
    return out;
  }
}

class U8 {
  a = new Uint8Array(4096);
  n = 0;
  reserve(k: number): void {
    if (this.n + k <= this.a.length) return;
    const b = new Uint8Array(Math.max(this.a.length * 2, this.n + k));
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
  push(v: number): void {
    this.reserve(1);
    this.a[this.n++] = v;
  }
  append(src: Uint8Array, from: number, to: number): void {
    this.reserve(to - from);
    this.a.set(src.subarray(from, to), this.n);
    this.n += to - from;
  }
  take(): Uint8Array {
    const out = this.a.subarray(0, this.n);
    this.a = new Uint8Array(this.a.length);
    this.n = 0;
    return out;
  }
}

// A batch is handed over once it holds this many record bytes or records: large enough that the
// per-batch message costs nothing, small enough that the two threads overlap from the start.
const BATCH_BYTES = 2 * 1024 * 1024;
const BATCH_RECORDS = 16_384;
const TWO_32 = 4294967296;

// Thrown inside the decoder when a record's bytes are not what the fast path expects; the record
// then goes raw.
class NotDecoded extends Error {}
const NOT_DECODED = new NotDecoded();

// ASCII strings by their bytes (FNV-1a, open addressing): a label string repeated across many
// series costs a hash and a comparison, not a new string and a Map lookup (the first version of
// this decoder did that, and lost to decoding in place).
class AsciiStrings {
  private slots = new Int32Array(4096).fill(-1);
  private mask = 4095;
  private count = 0;
  /** The string made by the last lookup that added one. */
  last = '';

  private readonly strings: string[];

  constructor(strings: string[]) {
    this.strings = strings;
  }

  /**
   * The id of the ASCII string in b[p, p+n): an existing one, or `strings.length` for a new one
   * (then in `last`, for the caller to push). -1 when the bytes are not all ASCII.
   */
  lookup(b: Uint8Array, p: number, n: number): number {
    let h = 0x811c9dc5;
    for (let i = p; i < p + n; i++) {
      const c = b[i] as number;
      if (c >= 0x80) return -1;
      h = Math.imul(h ^ c, 0x01000193);
    }
    const strings = this.strings;
    let slot = h & this.mask;
    for (;;) {
      const id = this.slots[slot] as number;
      if (id < 0) break;
      const s = strings[id] as string;
      if (s.length === n) {
        let k = 0;
        while (k < n && s.charCodeAt(k) === b[p + k]) k++;
        if (k === n) return id;
      }
      slot = (slot + 1) & this.mask;
    }
    // Short strings from char codes (no Buffer object); long ones through Buffer, as apply()
    // spreads its argument on the stack.
    this.last =
      n <= 512
        ? String.fromCharCode.apply(null, b.subarray(p, p + n) as unknown as number[])
        : Buffer.from(b.buffer, b.byteOffset + p, n).toString('latin1');
    const id = strings.length;
    this.slots[slot] = id;
    if (++this.count * 2 > this.mask) this.grow();
    return id;
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    // Ids up to the one being added; its string is in `last` until the caller pushes it.
    const n = this.strings.length;
    for (let id = 0; id <= n; id++) {
      const s = id === n ? this.last : (this.strings[id] as string);
      let h = 0x811c9dc5;
      let ascii = true;
      for (let k = 0; k < s.length; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) ascii = false;
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (!ascii) continue;
      let slot = h & this.mask;
      while ((this.slots[slot] as number) >= 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = id;
    }
  }
}

/** Builds {@link DecodedBatch}es from records, one reader's worth. @internal */
export class BatchBuilder {
  private kinds = new U8();
  private counts = new U32();
  private seriesRefs = new F64();
  private labelCounts = new U32();
  private seriesHashes = new U32();
  private labelIds = new U32();
  private newStrings: string[] = [];
  private chunkTimes = new F64();
  private chunkEnc = new U8();
  private lastValues = new U8();
  private chunkLens = new U32();
  private sampleRefs = new F64();
  private sampleTs = new F64();
  private sampleValues = new F64();
  private bytes = new U8();
  private recordBytes = 0;
  private cols: SampleColumns | undefined;
  // The string table: every distinct label string gets the next id, sent once. ASCII strings
  // (nearly all) are found by their bytes, without making a string; others through a Map.
  private readonly strings: string[] = [];
  private readonly ascii = new AsciiStrings(this.strings);
  private readonly ids = new Map<string, number>();
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  // Cursor over the record being decoded.
  private b: Uint8Array = new Uint8Array(0);
  private p = 0;
  private end = 0;

  private readonly mode: DecodeMode;
  private readonly batchBytes: number;
  // Size of the batch being built: from `firstBatchBytes`, doubling per batch up to batchBytes.
  private currentBatchBytes: number;

  /**
   * `batchBytes`: record bytes after which a batch is full (default 2 MiB; smaller batches let a
   * caller look up between them sooner, as the replay reader does while its worker starts).
   * `firstBatchBytes` (default `batchBytes`): the first batch's size; each next one is twice
   * the previous, up to `batchBytes`, so a consumer waiting for the first batch waits less.
   */
  constructor(mode: DecodeMode, batchBytes: number = BATCH_BYTES, firstBatchBytes: number = batchBytes) {
    this.mode = mode;
    this.batchBytes = batchBytes;
    this.currentBatchBytes = Math.min(firstBatchBytes, batchBytes);
  }

  /** Records added since the last take(). */
  get records(): number {
    return this.kinds.n;
  }

  /** Whether the batch should be handed over. */
  full(): boolean {
    return this.recordBytes >= this.currentBatchBytes || this.kinds.n >= BATCH_RECORDS;
  }

  /** Decodes one record into the batch (or keeps its bytes). */
  add(rec: Uint8Array): void {
    this.recordBytes += rec.length;
    const type = rec.length === 0 ? -1 : (rec[0] as number);
    if (this.mode === 'snapshot') {
      if (type === 1 && this.tryAdd(rec, KIND_SNAPSHOT_SERIES)) return;
    } else if (type === RECORD_SAMPLES) {
      if (this.addSamples(rec)) return;
    } else if (type === RECORD_SERIES) {
      if (this.tryAdd(rec, KIND_SERIES)) return;
    }
    this.kinds.push(KIND_RAW);
    this.counts.push(rec.length);
    this.bytes.append(rec, 0, rec.length);
  }

  /** The batch so far, and the buffers to transfer with it; the builder starts a new one. */
  take(): { batch: DecodedBatch; transfer: ArrayBuffer[] } {
    const batch: DecodedBatch = {
      records: this.kinds.n,
      kinds: this.kinds.take(),
      counts: this.counts.take(),
      seriesRefs: this.seriesRefs.take(),
      labelCounts: this.labelCounts.take(),
      seriesHashes: this.seriesHashes.take(),
      labelIds: this.labelIds.take(),
      newStrings: this.newStrings,
      chunkTimes: this.chunkTimes.take(),
      chunkEnc: this.chunkEnc.take(),
      lastValues: this.lastValues.take(),
      chunkLens: this.chunkLens.take(),
      sampleRefs: this.sampleRefs.take(),
      sampleTs: this.sampleTs.take(),
      sampleValues: this.sampleValues.take(),
      bytes: this.bytes.take(),
    };
    this.newStrings = [];
    this.recordBytes = 0;
    this.currentBatchBytes = Math.min(this.currentBatchBytes * 2, this.batchBytes);
    const transfer: ArrayBuffer[] = [];
    for (const v of Object.values(batch))
      if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer) transfer.push(v.buffer);
    return { batch, transfer };
  }

  private addSamples(rec: Uint8Array): boolean {
    try {
      this.cols = decodeSamplesInto(rec, this.cols);
    } catch {
      return false;
    }
    const c = this.cols;
    const n = c.length;
    this.sampleRefs.reserve(n);
    this.sampleTs.reserve(n);
    this.sampleValues.reserve(n);
    this.sampleRefs.a.set(c.refs.subarray(0, n), this.sampleRefs.n);
    this.sampleTs.a.set(c.ts.subarray(0, n), this.sampleTs.n);
    this.sampleValues.a.set(c.values.subarray(0, n), this.sampleValues.n);
    this.sampleRefs.n += n;
    this.sampleTs.n += n;
    this.sampleValues.n += n;
    this.kinds.push(KIND_SAMPLES);
    this.counts.push(n);
    return true;
  }

  // Decodes a series record of either kind; on bytes the fast path does not take, undoes what it
  // added and returns false (the record then goes raw).
  private tryAdd(rec: Uint8Array, kind: typeof KIND_SERIES | typeof KIND_SNAPSHOT_SERIES): boolean {
    const mark = [
      this.seriesRefs.n,
      this.labelCounts.n,
      this.seriesHashes.n,
      this.labelIds.n,
      this.chunkTimes.n,
      this.chunkEnc.n,
      this.lastValues.n,
      this.chunkLens.n,
      this.bytes.n,
    ] as const;
    this.b = rec;
    this.p = 1;
    this.end = rec.length;
    let n: number;
    try {
      n = kind === KIND_SERIES ? this.walSeries() : this.snapshotSeries();
    } catch (err) {
      if (err !== NOT_DECODED) throw err;
      this.seriesRefs.n = mark[0];
      this.labelCounts.n = mark[1];
      this.seriesHashes.n = mark[2];
      this.labelIds.n = mark[3];
      this.chunkTimes.n = mark[4];
      this.chunkEnc.n = mark[5];
      this.lastValues.n = mark[6];
      this.chunkLens.n = mark[7];
      this.bytes.n = mark[8];
      return false;
    }
    this.kinds.push(kind);
    this.counts.push(n);
    return true;
  }

  // Prometheus's Decoder.Series: per series ref <8b>, uvarint label count, uvarint-prefixed names
  // and values. Labels must come sorted and without empty values (as Prometheus writes them);
  // anything else is left to records.ts, which rebuilds them.
  private walSeries(): number {
    let count = 0;
    while (this.p < this.end) {
      if (this.p + 8 > this.end) throw NOT_DECODED;
      this.seriesRefs.push(this.u32(this.p) * TWO_32 + this.u32(this.p + 4));
      this.p += 8;
      this.labels(false);
      count++;
    }
    return count;
  }

  // A chunk snapshot series record (db/chunk-snapshot.ts): ref <8b>, labels as in a WAL series
  // record, chunk range <8b>, whether a head chunk follows, then mint <8b>, maxt <8b>, encoding
  // <1b>, uvarint-prefixed chunk bytes, 56 unused bytes and the last value <8b>.
  private snapshotSeries(): number {
    if (this.end < 9) throw NOT_DECODED;
    this.seriesRefs.push(this.u32(1) * TWO_32 + this.u32(5));
    this.p = 9;
    this.labels(true);
    if (this.p + 9 > this.end) throw NOT_DECODED;
    this.p += 8;
    const exists = this.uvarint();
    if (exists === 0) {
      if (this.p !== this.end) throw NOT_DECODED;
      this.chunkTimes.push(0);
      this.chunkTimes.push(0);
      this.chunkEnc.push(NO_CHUNK);
      this.lastValues.reserve(8);
      this.lastValues.n += 8;
      this.chunkLens.push(0);
      return 1;
    }
    const b = this.b;
    let p = this.p;
    if (p + 17 > this.end) throw NOT_DECODED;
    const mint = (this.u32(p) | 0) * TWO_32 + this.u32(p + 4);
    const maxt = (this.u32(p + 8) | 0) * TWO_32 + this.u32(p + 12);
    const enc = b[p + 16] as number;
    this.p = p + 17;
    const len = this.uvarint();
    p = this.p;
    if (p + len + 64 !== this.end || len < 2) throw NOT_DECODED;
    if (enc !== ChunkEncoding.XOR && enc !== ChunkEncoding.Histogram && enc !== ChunkEncoding.FloatHistogram)
      throw NOT_DECODED;
    this.chunkTimes.push(mint);
    this.chunkTimes.push(maxt);
    this.chunkEnc.push(enc);
    this.chunkLens.push(len);
    this.bytes.append(b, p, p + len);
    // Big endian on disk, host order here (every platform Node ships for is little endian).
    const v = p + len + 56;
    this.lastValues.reserve(8);
    const lv = this.lastValues.a;
    const at = this.lastValues.n;
    for (let k = 0; k < 8; k++) lv[at + k] = b[v + 7 - k] as number;
    this.lastValues.n += 8;
    return 1;
  }

  private labels(snapshot: boolean): void {
    const n = this.uvarint();
    if (n > this.end - this.p) throw NOT_DECODED;
    this.labelCounts.push(n);
    let prev = '';
    // The head's hash of the labels, computed here rather than on the main thread.
    let h = LABELS_HASH_SEED;
    for (let i = 0; i < n; i++) {
      const name = this.str(snapshot);
      const value = this.str(snapshot);
      if (value === '' || (i > 0 && compareStrings(prev, name) >= 0)) throw NOT_DECODED;
      prev = name;
      h = foldLabelsHash(foldLabelsHash(h, name), value);
    }
    this.seriesHashes.push(h >>> 0);
  }

  // Reads a uvarint-prefixed string, adds its id to labelIds and returns it.
  private str(snapshot: boolean): string {
    const l = this.uvarint();
    const p = this.p;
    if (p + l > this.end) throw NOT_DECODED;
    this.p = p + l;
    const b = this.b;
    let id = this.ascii.lookup(b, p, l);
    if (id < 0) {
      let s: string;
      if (snapshot) {
        // As the snapshot decoder: invalid UTF-8 is an error there, so leave it to it.
        try {
          s = this.utf8.decode(b.subarray(p, p + l));
        } catch {
          throw NOT_DECODED;
        }
      } else {
        s = Buffer.from(b.buffer, b.byteOffset + p, l).toString('utf8');
      }
      id = this.ids.get(s) ?? -1;
      if (id < 0) {
        id = this.strings.length;
        this.ids.set(s, id);
        this.strings.push(s);
        this.newStrings.push(s);
      }
    } else if (id === this.strings.length) {
      // The ASCII table just made it.
      const s = this.ascii.last;
      this.strings.push(s);
      this.newStrings.push(s);
    }
    this.labelIds.push(id);
    return this.strings[id] as string;
  }

  private uvarint(): number {
    const b = this.b;
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (this.p >= this.end) throw NOT_DECODED;
      const x = b[this.p++] as number;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
    throw NOT_DECODED;
  }

  private u32(p: number): number {
    const b = this.b;
    return (
      (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>>
      0
    );
  }
}
