// Chunk snapshots on shutdown: Prometheus's Head.ChunkSnapshot / loadChunkSnapshot (tsdb/
// head_wal.go, v2.42; tsdb/docs/format/memory_snapshot.md). A directory
// `chunk_snapshot.<last WAL segment, 6 digits>.<byte offset in it, 10 digits>` in the data dir,
// written with the WAL writer (same pages, CRCs and snappy), holding one record per series
// (type 1: ref, labels, then the open head chunk), one tombstones record (type 2) and exemplar
// records (type 3, which we neither write nor read). Closed chunks are not in it: they are in
// chunks_head. On open, the snapshot plus chunks_head plus the WAL after the named offset give
// the head back without replaying the WAL before it.
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { ThanosError } from '../errors.js';
import type { Head } from '../head/head.js';
import type { HeadChunk, MemSeries } from '../head/series.js';
import { compareStrings, Labels } from '../labels/labels.js';
import { readWALBatches } from '../wal/reader.js';
import { KIND_SNAPSHOT_SERIES, NO_CHUNK } from '../wal/replay-batch.js';
import { createReplayReader, type ReplayBatch, type ReplayReader, segmentBytes } from '../wal/replay-reader.js';
import { openWAL, type WAL } from '../wal/wal.js';

/** Prefix of chunk snapshot directory names. */
export const CHUNK_SNAPSHOT_PREFIX = 'chunk_snapshot.';

const RECORD_SNAPSHOT_SERIES = 1;
const RECORD_SNAPSHOT_TOMBSTONES = 2;
const RECORD_SNAPSHOT_EXEMPLARS = 3;
// Prometheus's tombstones.Encode version byte.
const TOMBSTONES_FORMAT_V1 = 1;
// Records go to the snapshot's WAL in batches of about this many bytes (Prometheus: 10 MB).
const FLUSH_BYTES = 10 * 1024 * 1024;
const TWO_32 = 4294967296;
// A snapshot is decoded on a worker thread from this size on (~1M series): below it, decoding in
// place with this file's decoder, which interns strings by their bytes and builds each series
// straight from the record, measured as fast as handing columns over (200k series, 37 MB).
const SNAPSHOT_WORKER_MIN_BYTES = 96 * 1024 * 1024;

/** A chunk snapshot does not hold what the format promises; the DB then replays the whole WAL. */
export class ChunkSnapshotError extends ThanosError {
  constructor(message: string, options?: ErrorOptions) {
    super('TSDB_CHUNK_SNAPSHOT', message, options);
  }
}

/** Directory name of the snapshot taken at WAL `segment`, byte `offset` (Prometheus's chunkSnapshotDir). */
export function chunkSnapshotDirName(segment: number, offset: number): string {
  return `${CHUNK_SNAPSHOT_PREFIX}${String(segment).padStart(6, '0')}.${String(offset).padStart(10, '0')}`;
}

/** A snapshot found in a data dir. */
export interface ChunkSnapshotRef {
  dir: string;
  segment: number;
  offset: number;
}

// Snapshot directories of `dataDir` (Prometheus's LastChunkSnapshot parsing): names that do not
// parse are ignored; a matching name that is not a directory is an error.
async function listChunkSnapshots(dataDir: string): Promise<ChunkSnapshotRef[]> {
  const out: ChunkSnapshotRef[] = [];
  for (const e of await readdir(dataDir, { withFileTypes: true })) {
    if (!e.name.startsWith(CHUNK_SNAPSHOT_PREFIX)) continue;
    const parts = e.name.slice(CHUNK_SNAPSHOT_PREFIX.length).split('.');
    if (parts.length !== 2 || !/^\d+$/.test(parts[0] as string) || !/^\d+$/.test(parts[1] as string)) continue;
    if (!e.isDirectory()) throw new ChunkSnapshotError(`chunk snapshot ${e.name} is not a directory`);
    out.push({ dir: join(dataDir, e.name), segment: Number(parts[0]), offset: Number(parts[1]) });
  }
  return out.sort((a, b) => a.segment - b.segment || a.offset - b.offset);
}

/** The newest chunk snapshot of `dataDir`, if any (Prometheus's LastChunkSnapshot). */
export async function lastChunkSnapshot(dataDir: string): Promise<ChunkSnapshotRef | undefined> {
  const all = await listChunkSnapshots(dataDir);
  return all[all.length - 1];
}

/**
 * Deletes the snapshots taken before WAL `segment`, byte `offset` (Prometheus's
 * DeleteChunkSnapshots). Returns the directories deleted.
 */
export async function deleteChunkSnapshots(dataDir: string, segment: number, offset: number): Promise<string[]> {
  const gone: string[] = [];
  for (const s of await listChunkSnapshots(dataDir)) {
    if (s.segment < segment || (s.segment === segment && s.offset < offset)) {
      await rm(s.dir, { recursive: true, force: true });
      gone.push(s.dir);
    }
  }
  return gone;
}

/** What writeChunkSnapshot wrote. */
export interface ChunkSnapshotStats {
  /** The snapshot directory; empty when nothing was written (nothing new since the last one). */
  dir: string;
  series: number;
}

/**
 * Writes a chunk snapshot of `head` into `dataDir`, named after the WAL's current segment and
 * offset, as Prometheus's Head.ChunkSnapshot: into `<name>.tmp`, renamed when complete, then the
 * older snapshots are deleted. Nothing is written when a snapshot at the same WAL position exists.
 * The head's closed chunks must already be in chunks_head (flushed and synced) for it to be of
 * use. Open chunks of any encoding (XOR, native histograms) are written as Prometheus does.
 */
export async function writeChunkSnapshot(head: Head, dataDir: string, wal: WAL): Promise<ChunkSnapshotStats> {
  const { segment, offset } = await wal.lastSegmentAndOffset();
  const last = await lastChunkSnapshot(dataDir);
  if (last !== undefined && last.segment === segment && last.offset === offset) return { dir: '', series: 0 };
  const dir = join(dataDir, chunkSnapshotDirName(segment, offset));
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  // Uncompressed whatever the WAL does: a record holds one series, too small for snappy to win
  // much, and a snappy call per record dominated loading. Readers handle both (the flag is per
  // record), Prometheus included.
  const w = await openWAL({ dir: tmp, compress: false });
  let series = 0;
  try {
    // Records are encoded back to back into one buffer, logged when it is full, then reused:
    // an allocation per series record dominated writing.
    const enc = new SnapshotEncoder(FLUSH_BYTES + 64 * 1024);
    const stones: { ref: number; mint: number; maxt: number }[] = [];
    for (const s of head.allSeries()) {
      enc.series(s.ref, s.labels, s.openChunk(), s.lastValue);
      series++;
      for (const iv of s.tombstones ?? []) stones.push({ ref: s.ref, mint: iv.minTime, maxt: iv.maxTime });
      if (enc.bytes > FLUSH_BYTES) {
        await w.log(enc.records);
        enc.reset();
      }
    }
    await w.log([...enc.records, encodeSnapshotTombstones(stones)]);
    await w.close();
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await w.close().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await deleteChunkSnapshots(dataDir, segment, offset);
  return { dir, series };
}

// Series records (Prometheus's encodeToSnapshotRecord): type 1, ref <8b>, the labels as a WAL
// series record has them (uvarint count, uvarint-prefixed names and values), chunk range <8b>
// (0, unused), whether a head chunk follows (uvarint), then the chunk: mint <8b>, maxt <8b>,
// encoding <1b>, uvarint-prefixed bytes, and the old 4-sample buffer of which only the last
// value is still written (three (t, v) pairs and a t of zeros, then the value).
class SnapshotEncoder {
  private buf: Uint8Array;
  private dv: DataView;
  private p = 0;
  records: Uint8Array[] = [];
  private readonly utf8 = new TextEncoder();

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }

  get bytes(): number {
    return this.p;
  }

  reset(): void {
    this.p = 0;
    this.records = [];
  }

  private reserve(n: number): void {
    if (this.p + n <= this.buf.length) return;
    // Records already handed out keep pointing into the old buffer until they are logged.
    this.buf = new Uint8Array(Math.max(this.buf.length, n * 2));
    this.dv = new DataView(this.buf.buffer);
    this.p = 0;
  }

  private uvarint(v: number): void {
    const b = this.buf;
    while (v >= 0x80) {
      b[this.p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.p++] = v;
  }

  private int64(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.dv.setInt32(this.p, hi);
    this.dv.setUint32(this.p + 4, v - hi * TWO_32);
    this.p += 8;
  }

  series(
    ref: number,
    labels: Labels,
    chunk: { minTime: number; maxTime: number; data: Uint8Array; encoding?: number } | undefined,
    lastValue: number,
  ): void {
    const flat = labels.toFlat();
    let size = 1 + 8 + 10 + 8 + 1 + (chunk ? 17 + 5 + chunk.data.length + 64 : 0);
    for (const x of flat) size += 5 + x.length * 3;
    // A record must sit in one buffer: start it in a fresh one when it may not fit.
    this.reserve(size);
    const start = this.p;
    const b = this.buf;
    b[this.p++] = RECORD_SNAPSHOT_SERIES;
    this.int64(ref);
    this.uvarint(flat.length >> 1);
    for (const x of flat) {
      let ascii = true;
      for (let i = 0; i < x.length; i++)
        if (x.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      if (ascii) {
        this.uvarint(x.length);
        for (let i = 0; i < x.length; i++) b[this.p++] = x.charCodeAt(i);
      } else {
        const u = this.utf8.encode(x);
        this.uvarint(u.length);
        b.set(u, this.p);
        this.p += u.length;
      }
    }
    this.int64(0); // chunk range
    if (chunk === undefined) {
      b[this.p++] = 0;
    } else {
      b[this.p++] = 1;
      this.int64(chunk.minTime);
      this.int64(chunk.maxTime);
      b[this.p++] = chunk.encoding ?? ChunkEncoding.XOR;
      this.uvarint(chunk.data.length);
      b.set(chunk.data, this.p);
      this.p += chunk.data.length;
      b.fill(0, this.p, this.p + 56);
      this.p += 56;
      this.dv.setFloat64(this.p, lastValue);
      this.p += 8;
    }
    this.records.push(b.subarray(start, this.p));
  }
}

function encodeSnapshotTombstones(stones: readonly { ref: number; mint: number; maxt: number }[]): Uint8Array {
  const body: number[] = [TOMBSTONES_FORMAT_V1];
  for (const s of stones) {
    putUvarint(body, s.ref);
    putUvarint(body, zigzag(s.mint));
    putUvarint(body, zigzag(s.maxt));
  }
  const len: number[] = [];
  putUvarint(len, body.length);
  return Uint8Array.from([RECORD_SNAPSHOT_TOMBSTONES, ...len, ...body]);
}

function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function putUvarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** What loadChunkSnapshot restored. */
export interface LoadedChunkSnapshot extends ChunkSnapshotRef {
  /** Series restored. */
  series: number;
  /**
   * The series whose snapshot head chunk is now their newest closed chunk (the last of
   * `chunks`), not yet in chunks_head: write those there (and set `diskRef`) before new chunks
   * are cut. (A list of series, not of series and chunk pairs: one object fewer per series.)
   */
  restored: MemSeries[];
}

/**
 * Loads the newest chunk snapshot of `dataDir` into an empty `head` (Prometheus's
 * loadChunkSnapshot, then loadMmappedChunks for its series): every series under its ref, with
 * its closed chunks from `mmapped` (chunks_head, by ref) and then the snapshot's head chunk
 * unless a chunk on disk reaches into it (it was cut after the snapshot), and the tombstones.
 * Returns undefined when there is no snapshot. Throws (ChunkSnapshotError, WalCorruptionError)
 * when it cannot be read completely; the head then holds part of it and must be discarded.
 */
export async function loadChunkSnapshot(
  head: Head,
  dataDir: string,
  mmapped?: ReadonlyMap<number, HeadChunk[]>,
  reader?: ReplayReader,
): Promise<LoadedChunkSnapshot | undefined> {
  const snap = await lastChunkSnapshot(dataDir);
  if (snap === undefined) return undefined;
  let series = 0;
  const strings = new StringTable();
  const restored: MemSeries[] = [];
  const r =
    reader ?? createReplayReader({ bytes: await segmentBytes([snap.dir]), minBytes: SNAPSHOT_WORKER_MIN_BYTES });
  // A record the batch decoder left as bytes: a tombstones or exemplars record, or a series
  // record it did not take apart (decoded here, with this file's errors).
  const apply = (rec: Uint8Array) => {
    const typ = rec[0];
    if (typ === RECORD_SNAPSHOT_SERIES) {
      decodeSnapshotSeries(head, rec, strings, mmapped, restored);
      series++;
    } else if (typ === RECORD_SNAPSHOT_TOMBSTONES) {
      decodeSnapshotTombstones(head, rec);
    } else if (typ === RECORD_SNAPSHOT_EXEMPLARS) {
      // Exemplars are not kept by this head.
    } else {
      // Prometheus's wording, typo included.
      throw new ChunkSnapshotError(`decode loop: unsuported snapshot record type 0b${(typ ?? 0).toString(2)}`);
    }
  };
  const lastValue = new Float64Array(1);
  const lastValueBytes = new Uint8Array(lastValue.buffer);
  const applyBatch = (b: ReplayBatch) => {
    const strs = b.strings;
    // Chunk bytes are views into the batch's buffer (a constructor call: subarray() looks up the
    // species constructor each time, which showed in profiles of 1M series).
    const buf = b.bytes.buffer;
    const base = b.bytes.byteOffset;
    const lv = b.lastValues;
    let li = 0;
    let si = 0;
    let bp = 0;
    for (let k = 0; k < b.records; k++) {
      const n = b.counts[k] as number;
      if (b.kinds[k] !== KIND_SNAPSHOT_SERIES) {
        apply(b.bytes.subarray(bp, bp + n));
        bp += n;
        continue;
      }
      const flat = new Array<string>(2 * (b.labelCounts[si] as number));
      for (let j = 0; j < flat.length; j++) flat[j] = strs[b.labelIds[li++] as number] as string;
      const enc = b.chunkEnc[si] as number;
      if (enc === NO_CHUNK) {
        restoreSnapshotSeries(head, b.seriesRefs[si] as number, Labels.fromSortedFlat(flat), mmapped, restored);
      } else {
        const len = b.chunkLens[si] as number;
        for (let q = 0; q < 8; q++) lastValueBytes[q] = lv[8 * si + q] as number;
        restoreSnapshotSeries(head, b.seriesRefs[si] as number, Labels.fromSortedFlat(flat), mmapped, restored, {
          mint: b.chunkTimes[2 * si] as number,
          maxt: b.chunkTimes[2 * si + 1] as number,
          encoding: enc,
          data: new Uint8Array(buf, base + bp, len),
          lastValue: lastValue[0] as number,
        });
        bp += len;
      }
      si++;
      series++;
    }
  };
  try {
    if (r.threaded) {
      for await (const b of r.read([{ dir: snap.dir, first: -1, last: -1 }], 'snapshot')) applyBatch(b);
    } else {
      for await (const batch of readWALBatches(snap.dir)) for (const e of batch) apply(e.record);
    }
  } finally {
    if (reader === undefined) await r.close();
  }
  return { ...snap, series, restored };
}

// Label strings of a snapshot repeat across its many one-series records: interned by their
// bytes (FNV-1a, open addressing), so decoding builds each distinct string once and series share
// them. Non-ASCII strings are decoded every time.
class StringTable {
  private strs: string[] = new Array<string>(4096).fill('');
  private used = new Uint8Array(4096);
  private mask = 4095;
  private count = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });

  get(b: Uint8Array, p: number, n: number): string {
    if (n === 0) return '';
    let h = 0x811c9dc5;
    let ascii = true;
    for (let i = p; i < p + n; i++) {
      const c = b[i] as number;
      if (c >= 0x80) ascii = false;
      h = Math.imul(h ^ c, 0x01000193);
    }
    if (!ascii) return this.utf8.decode(b.subarray(p, p + n));
    let slot = h & this.mask;
    for (;;) {
      if (this.used[slot] === 0) break;
      const s = this.strs[slot] as string;
      if (s.length === n) {
        let k = 0;
        while (k < n && s.charCodeAt(k) === b[p + k]) k++;
        if (k === n) return s;
      }
      slot = (slot + 1) & this.mask;
    }
    let str = '';
    for (let i = p; i < p + n; i++) str += String.fromCharCode(b[i] as number);
    this.used[slot] = 1;
    this.strs[slot] = str;
    if (++this.count * 2 > this.mask) this.grow();
    return str;
  }

  private grow(): void {
    const old = this.strs;
    const oldUsed = this.used;
    const size = (this.mask + 1) * 2;
    this.strs = new Array<string>(size).fill('');
    this.used = new Uint8Array(size);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      if (oldUsed[i] === 0) continue;
      const s = old[i] as string;
      let h = 0x811c9dc5;
      for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
      let slot = h & this.mask;
      while (this.used[slot] !== 0) slot = (slot + 1) & this.mask;
      this.used[slot] = 1;
      this.strs[slot] = s;
    }
  }
}

// Decoding state of one snapshot series record, reused across records (no closure or DataView
// per record: both showed in profiles of loading 200k series).
const dec: { b: Uint8Array; p: number; end: number } = { b: new Uint8Array(0), p: 0, end: 0 };
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

function fail(detail: string): never {
  throw new ChunkSnapshotError(`decode series record: ${detail}`);
}

function decUvarint(): number {
  const b = dec.b;
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 10; k++) {
    if (dec.p >= dec.end) fail('invalid size');
    const x = b[dec.p++] as number;
    v += (x & 0x7f) * mul;
    if (x < 0x80) return v;
    mul *= 128;
  }
  return fail('varint overflow');
}

function decUint32(b: Uint8Array, p: number): number {
  return (
    (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>> 0
  );
}

function decInt64(b: Uint8Array, p: number): number {
  return (decUint32(b, p) | 0) * TWO_32 + decUint32(b, p + 4);
}

function decFloat64BE(b: Uint8Array, p: number): number {
  // Little-endian hosts (the only ones Node ships for) store float64 bytes reversed.
  for (let k = 0; k < 8; k++) f64b[k] = b[p + 7 - k] as number;
  return f64[0] as number;
}

function decodeSnapshotSeries(
  head: Head,
  rec: Uint8Array,
  strings: StringTable,
  mmapped: ReadonlyMap<number, HeadChunk[]> | undefined,
  restored: MemSeries[],
): void {
  const end = rec.length;
  if (end < 9) fail('invalid size');
  dec.b = rec;
  dec.p = 9;
  dec.end = end;
  const ref = decUint32(rec, 1) * TWO_32 + decUint32(rec, 5);
  const n = decUvarint();
  if (n > end - dec.p) fail('invalid size');
  // Prometheus writes labels sorted without empty values; a foreign writer's are rebuilt.
  const flat: string[] = new Array<string>(2 * n);
  let ordered = true;
  for (let i = 0; i < 2 * n; i++) {
    const l = decUvarint();
    if (dec.p + l > end) fail('invalid size');
    flat[i] = strings.get(rec, dec.p, l);
    dec.p += l;
    if ((i & 1) === 1 ? l === 0 : i > 0 && compareStrings(flat[i - 2] as string, flat[i] as string) >= 0)
      ordered = false;
  }
  const labels = ordered
    ? Labels.fromSortedFlat(flat)
    : Labels.from(Array.from({ length: n }, (_, i) => [flat[2 * i], flat[2 * i + 1]] as [string, string]));
  if (dec.p + 9 > end) fail('invalid size');
  dec.p += 8; // chunk range, unused
  const exists = decUvarint();
  if (exists === 0) {
    if (dec.p !== end) fail(`unexpected ${end - dec.p} bytes left in entry`);
    restoreSnapshotSeries(head, ref, labels, mmapped, restored);
    return;
  }
  let p = dec.p;
  if (p + 17 > end) fail('invalid size');
  const mint = decInt64(rec, p);
  const maxt = decInt64(rec, p + 8);
  const enc = rec[p + 16] as number;
  dec.p = p + 17;
  const len = decUvarint();
  p = dec.p;
  if (p + len + 64 > end) fail('invalid size');
  const data = rec.subarray(p, p + len);
  p += len + 56;
  const lastValue = decFloat64BE(rec, p);
  p += 8;
  if (p !== end) fail(`unexpected ${end - p} bytes left in entry`);
  if (enc !== ChunkEncoding.XOR && enc !== ChunkEncoding.Histogram && enc !== ChunkEncoding.FloatHistogram)
    fail(`unknown chunk encoding ${enc}`);
  if (len < 2) fail('chunk shorter than its header');
  restoreSnapshotSeries(head, ref, labels, mmapped, restored, { mint, maxt, encoding: enc, data, lastValue });
}

// One snapshot series into the head: created under its ref, given its closed chunks from
// chunks_head, then its head chunk unless a chunk on disk reaches into it.
function restoreSnapshotSeries(
  head: Head,
  ref: number,
  labels: Labels,
  mmapped: ReadonlyMap<number, HeadChunk[]> | undefined,
  restored: MemSeries[],
  chunk?: { mint: number; maxt: number; encoding: number; data: Uint8Array; lastValue: number },
): void {
  const ms = head.getOrCreateWithRef(ref, labels);
  const disk = ms.ref === ref ? mmapped?.get(ref) : undefined;
  let lastDiskMaxt = Number.NEGATIVE_INFINITY;
  if (disk !== undefined && disk.length > 0) {
    ms.setMmappedChunks(disk);
    lastDiskMaxt = (disk[disk.length - 1] as HeadChunk).maxTime;
    head.updateMinMaxTime((disk[0] as HeadChunk).minTime, lastDiskMaxt);
  }
  // A second record with the labels of an earlier one (never written by Prometheus or by us):
  // the first one's head chunk stays.
  if (chunk === undefined || ms.ref !== ref) return;
  // A chunk on disk reaching into the head chunk was cut after the snapshot: it holds these samples.
  if (lastDiskMaxt >= chunk.mint) return;
  ms.restoreSnapshotChunk(chunk.mint, chunk.maxt, chunk.data, chunk.encoding, chunk.lastValue);
  restored.push(ms);
  head.updateMinMaxTime(chunk.mint, chunk.maxt);
}

function decodeSnapshotTombstones(head: Head, rec: Uint8Array): void {
  let p = 1;
  const uvarint = (): number => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (p >= rec.length) throw new ChunkSnapshotError('decode tombstones: invalid size');
      const b = rec[p++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new ChunkSnapshotError('decode tombstones: varint overflow');
  };
  const len = uvarint();
  const end = p + len;
  if (end > rec.length) throw new ChunkSnapshotError('decode tombstones: invalid size');
  if (len === 0 || rec[p] !== TOMBSTONES_FORMAT_V1)
    throw new ChunkSnapshotError(`decode tombstones: invalid tombstone format ${(rec[p] ?? 0).toString(16)}`);
  p++;
  const unzig = (u: number) => (u % 2 === 0 ? u / 2 : -(u + 1) / 2);
  while (p < end) {
    const ref = uvarint();
    const mint = unzig(uvarint());
    const maxt = unzig(uvarint());
    const ms = head.getByRef(ref);
    if (ms !== undefined) head.addTombstones(ms, [{ minTime: mint, maxTime: maxt }]);
  }
}
