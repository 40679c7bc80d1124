import type { Interval } from '../block/tombstones.js';
import { DEFAULT_BLOCK_DURATION, type SeriesToWrite } from '../block/writer.js';
import type { FloatHistogram, Histogram } from '../histogram/types.js';
import { foldLabelsHash, LABELS_HASH_SEED } from '../labels/hash.js';
import { compareLabels, type Labels } from '../labels/labels.js';
import type { Queryable } from '../storage/queryable.js';
import { HeadAppender } from './appender.js';
import { SeriesLimitError } from './errors.js';
import { HashIndex } from './hash-index.js';
import { MemPostings } from './postings.js';
import { createHeadQueryable } from './queryable.js';
import { RefMap } from './ref-map.js';
import { type HeadChunkSink, MemSeries, SeriesNumbers } from './series.js';

/** A new series as the head logs it (shape of the WAL's RefSeries). */
export interface HeadSeriesRecord {
  ref: number;
  labels: Labels;
}

/** A sample as the head logs it (shape of the WAL's RefSample): series ref, ms, value. */
export interface HeadSampleRecord {
  ref: number;
  t: number;
  v: number;
}

/**
 * A native histogram sample as the head logs it (shape of the WAL's RefHistogramSample or
 * RefFloatHistogramSample): exactly one of `h` (integer) and `fh` (float) is set.
 */
export interface HeadHistogramRecord {
  ref: number;
  /** Timestamp, ms. */
  t: number;
  h?: Histogram;
  fh?: FloatHistogram;
}

/**
 * Where a head makes commits durable before applying them (the WAL, in a DB). `log` resolves once
 * the records are written; a rejection fails the commit and nothing of it is applied.
 * `histograms` holds the commit's native histogram samples (absent or empty when it has none);
 * `histogramAt[i]` is the number of `samples` appended before `histograms[i]`, so a log can keep
 * the append order (a replay then applies a series' switch between floats and histograms as the
 * commit did).
 */
export interface HeadLog {
  log(
    series: readonly HeadSeriesRecord[],
    samples: readonly HeadSampleRecord[],
    histograms?: readonly HeadHistogramRecord[],
    histogramAt?: readonly number[],
  ): Promise<void>;
}

/** Options for {@link createHead}. */
export interface HeadOptions {
  /**
   * Chunk range, ms: head chunks never cross a multiple of it, and the appendable window is half
   * of it behind the newest sample. Prometheus uses the minimum block duration. Default 2h.
   */
  chunkRangeMs?: number;
  /**
   * How far behind the newest sample of the head an out-of-order sample may be, ms. Default 0:
   * out-of-order samples are rejected ("out of order sample"), as Prometheus's default.
   */
  outOfOrderTimeWindowMs?: number;
  /** Maximum number of series in the head; creating one more fails with TSDB_SERIES_LIMIT. 0 = no limit (default). */
  maxSeries?: number;
  /** Maximum samples one appender may hold before commit (TSDB_SAMPLES_PER_COMMIT_LIMIT). 0 = no limit (default). */
  maxSamplesPerCommit?: number;
  /** Samples older than this are out of bounds, ms (e.g. the newest block's maxTime). Default: none. */
  minValidTime?: number;
  /** Durable log for commits; without it the head is memory only. */
  log?: HeadLog;
  /**
   * Where closed in-order chunks are written as they are cut (a HeadChunkDiskMapper on
   * `chunks_head/`, in a DB). Default: nowhere.
   */
  chunkSink?: HeadChunkSink;
}

/** Counters of a head since it was created (Prometheus's prometheus_tsdb_head_* metrics). */
export interface HeadStats {
  numSeries: number;
  numChunks: number;
  /** Inclusive time range of the head's data, ms; +Infinity/-Infinity while empty. */
  minTime: number;
  maxTime: number;
  samplesAppended: number;
  outOfOrderSamplesAppended: number;
  seriesCreated: number;
  seriesRemoved: number;
  /** Samples dropped at commit (out of order, out of bounds, too old, or duplicates). */
  samplesRejectedAtCommit: number;
}

/** Internal: 32-bit FNV-1a of the labels as a signed int32, used to bucket series; see Head.getByLabels. */
// FNV-1a over the label names and values with separators: a cheap 32-bit hash that only selects a
// bucket; equality of the labels decides, so collisions cost a comparison, never a wrong series.
// Signed, so it stays a small integer in V8 (an unsigned one above 2^31 is a boxed double, an
// extra object per series and a slower Map key).
export function hashLabels(labels: Labels): number {
  const flat = labels.toFlat();
  let h = LABELS_HASH_SEED;
  for (let i = 0; i < flat.length; i++) h = foldLabelsHash(h, flat[i] as string);
  return h | 0;
}

/**
 * The in-memory head of a TSDB (Prometheus's tsdb.Head): series with stable refs, XOR chunks cut
 * like Prometheus, a postings index, appenders with commit/rollback, truncation, and a Queryable.
 * All methods are synchronous except commits (which await the log); JavaScript's single thread
 * makes each commit's application to memory atomic for readers.
 */
export class Head {
  readonly chunkRange: number;
  readonly outOfOrderTimeWindow: number;
  readonly maxSeries: number;
  readonly maxSamplesPerCommit: number;
  /** The log commits go to, if any. */
  readonly walLog: HeadLog | undefined;
  /** Where cut chunks are written, if anywhere. */
  readonly chunkSink: HeadChunkSink | undefined;
  private readonly byRef = new RefMap<MemSeries>();
  private readonly byHash = new HashIndex<MemSeries>((ref) => this.byRef.get(ref));
  readonly postings: MemPostings = new MemPostings();
  private readonly nums = new SeriesNumbers();
  private lastSeriesId = 0;
  private minT = Number.POSITIVE_INFINITY;
  private maxT = Number.NEGATIVE_INFINITY;
  private minValid: number;
  /** Series removed by garbage collection, with the WAL segment current then (kept in checkpoints). */
  readonly deleted: Map<number, number> = new Map();
  private counters = {
    samplesAppended: 0,
    outOfOrderSamplesAppended: 0,
    seriesCreated: 0,
    seriesRemoved: 0,
    samplesRejectedAtCommit: 0,
  };

  constructor(opts: HeadOptions = {}) {
    this.chunkRange = opts.chunkRangeMs ?? DEFAULT_BLOCK_DURATION;
    this.outOfOrderTimeWindow = opts.outOfOrderTimeWindowMs ?? 0;
    this.maxSeries = opts.maxSeries ?? 0;
    this.maxSamplesPerCommit = opts.maxSamplesPerCommit ?? 0;
    this.minValid = opts.minValidTime ?? Number.NEGATIVE_INFINITY;
    this.walLog = opts.log;
    this.chunkSink = opts.chunkSink;
  }

  /** Oldest timestamp in the head, ms (+Infinity while empty). */
  get minTime(): number {
    return this.minT;
  }

  /** Newest timestamp in the head, ms (-Infinity while empty). */
  get maxTime(): number {
    return this.maxT;
  }

  /** Samples before this are out of bounds, ms. */
  get minValidTime(): number {
    return this.minValid;
  }

  /** Number of series. */
  get numSeries(): number {
    return this.byRef.size;
  }

  /** Whether no sample was appended yet (Prometheus's `MinTime() == math.MaxInt64`). */
  get uninitialized(): boolean {
    return this.minT === Number.POSITIVE_INFINITY;
  }

  /** Counters and sizes. */
  stats(): HeadStats {
    let numChunks = 0;
    for (const s of this.byRef.values()) numChunks += s.numChunks();
    return { ...this.counters, numSeries: this.byRef.size, numChunks, minTime: this.minT, maxTime: this.maxT };
  }

  /** A new appender. Appenders are cheap; use one per batch and commit or roll it back. */
  appender(): HeadAppender {
    return new HeadAppender(this);
  }

  /** Sets the head's time range from the first sample (Prometheus's initTime). */
  initTime(t: number): void {
    if (this.minT !== Number.POSITIVE_INFINITY) return;
    this.minT = t;
    if (this.maxT === Number.NEGATIVE_INFINITY) this.maxT = t;
  }

  /**
   * Minimum timestamp an appender accepts in order (Prometheus's appendableMinValidTime): half a
   * chunk range behind the newest sample, so nothing lands in the range being compacted, and never
   * before the newest persisted block.
   */
  appendableMinValidTime(): number {
    return Math.max(this.maxT - this.chunkRange / 2, this.minValid);
  }

  /** Whether the head spans more than 1.5 chunk ranges, so its oldest range can be persisted. */
  compactable(): boolean {
    return this.maxT - this.minT > (this.chunkRange / 2) * 3;
  }

  /** Extends the head's time range. */
  updateMinMaxTime(mint: number, maxt: number): void {
    if (mint < this.minT) this.minT = mint;
    if (maxt > this.maxT) this.maxT = maxt;
  }

  /** Sets the minimum valid time, ms (e.g. after a block was persisted). */
  setMinValidTime(t: number): void {
    this.minValid = t;
  }

  /** The series with this ref, if the head has it. */
  getByRef(ref: number): MemSeries | undefined {
    return this.byRef.get(ref);
  }

  /** The series with exactly these labels, if the head has it. */
  getByLabels(labels: Labels, hash = hashLabels(labels)): MemSeries | undefined {
    return this.byHash.get(hash, labels);
  }

  /**
   * The series with these labels, created with the next ref when missing. `created` tells which.
   * Throws SeriesLimitError past maxSeries.
   */
  getOrCreate(labels: Labels): { series: MemSeries; created: boolean } {
    const hash = hashLabels(labels);
    const found = this.getByLabels(labels, hash);
    if (found) return { series: found, created: false };
    if (this.maxSeries > 0 && this.byRef.size >= this.maxSeries)
      throw new SeriesLimitError(this.maxSeries, labels.toString());
    return { series: this.insert(++this.lastSeriesId, labels, hash), created: true };
  }

  /**
   * For WAL replay: the series with these labels under `ref`. When the labels already exist under
   * another ref (a series logged twice), returns that series so the caller maps `ref` onto it.
   * `hash`: hashLabels(labels), when the caller has it already (the replay worker computes it).
   */
  getOrCreateWithRef(ref: number, labels: Labels, hash: number = hashLabels(labels)): MemSeries {
    if (ref > this.lastSeriesId) this.lastSeriesId = ref;
    const found = this.getByLabels(labels, hash);
    if (found) return found;
    return this.insert(ref, labels, hash);
  }

  private insert(ref: number, labels: Labels, hash: number): MemSeries {
    const s = new MemSeries(ref, labels, hash, this.chunkSink, this.nums);
    this.byRef.set(ref, s);
    this.byHash.add(hash, s);
    this.postings.add(ref, labels);
    this.counters.seriesCreated++;
    return s;
  }

  /** Internal: counts from a commit. */
  recordCommit(appended: number, oooAppended: number, rejected: number): void {
    this.counters.samplesAppended += appended;
    this.counters.outOfOrderSamplesAppended += oooAppended;
    this.counters.samplesRejectedAtCommit += rejected;
  }

  /**
   * Appends a replayed sample (no validation against the appendable window beyond minValidTime,
   * as Prometheus's WAL replay): in order, or into the out-of-order chunks when the window allows.
   * Returns whether it was kept.
   */
  replaySample(s: MemSeries, t: number, v: number): boolean {
    if (t < this.minValid && this.outOfOrderTimeWindow === 0) return false;
    if (t >= this.minValid && s.append(t, v, this.chunkRange)) {
      this.updateMinMaxTime(t, t);
      return true;
    }
    if (this.outOfOrderTimeWindow > 0 && t >= this.maxT - this.outOfOrderTimeWindow) return s.insertOutOfOrder(t, v);
    return false;
  }

  /**
   * Appends a replayed native histogram sample (`float`: `h` is a FloatHistogram) in order, as
   * replaySample does for floats; out-of-order histograms are not kept (Prometheus 2.42 has none).
   * Returns whether it was kept.
   */
  replayHistogram(s: MemSeries, t: number, h: Histogram | FloatHistogram, float: boolean): boolean {
    if (t < this.minValid) return false;
    if (!s.appendHistogram(t, h, float, this.chunkRange)) return false;
    this.updateMinMaxTime(t, t);
    return true;
  }

  /** Applies a deletion (WAL tombstone record) to a series: its samples in the intervals are hidden. */
  addTombstones(s: MemSeries, intervals: readonly Interval[]): void {
    s.tombstones = [...(s.tombstones ?? []), ...intervals];
  }

  /**
   * Removes data before mint from memory (Prometheus's truncateMemory): chunks ending before mint
   * go, and series left without data (and not pending in an appender) are deleted, remembered in
   * `deleted` with `walSegment` for the next checkpoint. Raises minTime/minValidTime to mint.
   */
  truncateMemory(mint: number, walSegment = 0): void {
    const initialize = this.uninitialized;
    if (this.minT >= mint && !initialize) return;
    this.minT = mint;
    this.minValid = Math.max(this.minValid, mint);
    if (this.maxT < mint) this.maxT = mint;
    if (initialize) return;
    const gone = new Map<number, Labels>();
    let actualMint = Number.POSITIVE_INFINITY;
    for (const s of this.byRef.values()) {
      s.truncateChunksBefore(mint);
      if (s.empty()) {
        if (s.pending > 0) continue;
        gone.set(s.ref, s.labels);
        continue;
      }
      const m = s.minTime();
      if (m < actualMint) actualMint = m;
    }
    for (const ref of gone.keys()) {
      const s = this.byRef.get(ref) as MemSeries;
      this.byRef.delete(ref);
      this.byHash.delete(s.hash, s);
      s.release();
      this.deleted.set(ref, walSegment);
    }
    this.postings.delete(gone);
    this.counters.seriesRemoved += gone.size;
    // As truncateSeriesAndChunkDiskMapper: when the data left starts later than asked, the head
    // starts there (but never inside the appendable window).
    if (actualMint !== Number.POSITIVE_INFINITY && actualMint > this.minT) {
      const appendable = this.appendableMinValidTime();
      const t = Math.min(actualMint, appendable);
      this.minT = t;
      this.minValid = Math.max(this.minValid, t);
    }
  }

  /**
   * Series with samples in [mint, maxt], sorted by labels, samples decoded lazily one series at a
   * time: what a block of that range holds (Prometheus's RangeHead as read by the compactor).
   */
  *rangeSeries(mint: number, maxt: number, opts: { withOutOfOrder?: boolean } = {}): Generator<SeriesToWrite> {
    const withOoo = opts.withOutOfOrder ?? true;
    const list: MemSeries[] = [];
    for (const s of this.byRef.values()) {
      if (s.empty()) continue;
      list.push(s);
    }
    list.sort((a, b) => compareLabels(a.labels, b.labels));
    for (const s of list) {
      const { timestamps, values } = s.samples(mint, maxt, withOoo);
      const histogramChunks = s.histogramChunks(mint, maxt, this.chunkRange);
      if (histogramChunks.length > 0) yield { labels: s.labels, timestamps, values, histogramChunks };
      else if (timestamps.length > 0) yield { labels: s.labels, timestamps, values };
    }
  }

  /**
   * Sequence of the oldest `chunks_head` file a live chunk is in (Prometheus's minMmapFile from
   * gc): files below it can be deleted. +Infinity when no chunk is on disk.
   */
  minChunkFileSeq(): number {
    let m = Number.POSITIVE_INFINITY;
    for (const s of this.byRef.values()) {
      const q = s.firstChunkFileSeq();
      if (q < m) m = q;
    }
    return m;
  }

  /** Oldest out-of-order sample time in the head, ms (+Infinity when none). */
  minOutOfOrderTime(): number {
    let m = Number.POSITIVE_INFINITY;
    for (const s of this.byRef.values()) if (s.ooo !== undefined) m = Math.min(m, s.ooo.minTime());
    return m;
  }

  /** Every series (for the queryable and tools); do not mutate. */
  allSeries(): IterableIterator<MemSeries> {
    return this.byRef.values();
  }

  /** A Queryable over the head's current data (the PromQL engine's read contract). */
  queryable(): Queryable {
    return createHeadQueryable(this);
  }
}

/** Creates an empty in-memory head. No I/O. */
export function createHead(opts: HeadOptions = {}): Head {
  return new Head(opts);
}
