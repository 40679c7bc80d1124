import { Labels } from '../labels/labels.js';
import {
  AppenderClosedError,
  CommitSampleLimitError,
  DuplicateSampleError,
  InvalidSampleError,
  OutOfBoundsError,
  OutOfOrderSampleError,
  TooOldSampleError,
  UnknownSeriesRefError,
  WalWriteError,
} from './errors.js';
import type { Head, HeadSampleRecord, HeadSeriesRecord } from './head.js';
import { type MemSeries, sameFloatBits } from './series.js';

/** Where a sample can go, as Prometheus's memSeries.appendable decides. */
enum Verdict {
  InOrder = 0,
  OutOfOrder = 1,
  /** Exact duplicate of the newest sample: accepted and silently dropped. */
  Duplicate = 2,
  ErrOutOfOrder = 3,
  ErrDuplicate = 4,
  ErrOutOfBounds = 5,
  ErrTooOld = 6,
}

function appendable(s: MemSeries, t: number, v: number, headMaxt: number, minValid: number, window: number): Verdict {
  if (t >= minValid) {
    if (!s.hasHeadChunk() && s.chunks.length === 0) return Verdict.InOrder;
    const msMaxt = s.maxTime();
    if (t > msMaxt) return Verdict.InOrder;
    if (t === msMaxt) {
      // Exact duplicates are allowed (federation sends them); another value is an error. Only the
      // newest in-order sample is checked, as in Prometheus.
      return sameFloatBits(s.lastValue, v) ? Verdict.Duplicate : Verdict.ErrDuplicate;
    }
  }
  if (window > 0 && t >= headMaxt - window) return Verdict.OutOfOrder;
  if (window > 0) return Verdict.ErrTooOld;
  if (t < minValid) return Verdict.ErrOutOfBounds;
  return Verdict.ErrOutOfOrder;
}

/**
 * A batch of appends to a head (Prometheus's headAppender). `append` validates each sample
 * against the committed state and queues it; `commit` logs the batch (series, then samples) to
 * the head's log and only then applies it to memory, re-checking each sample as Prometheus does
 * (a sample made invalid by a concurrent commit is dropped and counted). Use once: after commit
 * or rollback the appender is closed.
 */
export class HeadAppender {
  private readonly newSeries: HeadSeriesRecord[] = [];
  private readonly samples: HeadSampleRecord[] = [];
  private readonly sampleSeries: MemSeries[] = [];
  private ready = false;
  private minValidTime = 0;
  private headMaxt = 0;
  private closed = false;
  /** Earliest and latest timestamp appended, ms. */
  mint = Number.POSITIVE_INFINITY;
  maxt = Number.NEGATIVE_INFINITY;

  constructor(private readonly head: Head) {
    if (!head.uninitialized) this.init();
  }

  private init(): void {
    this.minValidTime = this.head.appendableMinValidTime();
    this.headMaxt = this.head.maxTime;
    this.ready = true;
  }

  /** Samples queued so far. */
  get length(): number {
    return this.samples.length;
  }

  /**
   * Queues one float sample for the series `refOrLabels` (a ref returned by an earlier append, or
   * its labels) at `t` ms. Returns the series ref to use for the next append. Throws a SampleError
   * (`out of order sample`, `duplicate sample for timestamp`, `out of bounds`, `too old sample`) for
   * a sample the head cannot take, UnknownSeriesRefError, SeriesLimitError or
   * CommitSampleLimitError; the appender stays usable after any of them.
   */
  append(refOrLabels: number | Labels, t: number, v: number): number {
    if (this.closed) throw new AppenderClosedError();
    const head = this.head;
    if (!this.ready) {
      // The first sample of an empty head sets its time range (Prometheus's initAppender).
      head.initTime(t);
      this.init();
    }
    const window = head.outOfOrderTimeWindow;
    if (window === 0 && t < this.minValidTime) {
      throw new OutOfBoundsError(typeof refOrLabels === 'number' ? `ref ${refOrLabels}` : refOrLabels.toString(), t);
    }
    if (head.maxSamplesPerCommit > 0 && this.samples.length >= head.maxSamplesPerCommit) {
      throw new CommitSampleLimitError(head.maxSamplesPerCommit);
    }
    let s: MemSeries | undefined;
    if (typeof refOrLabels === 'number') {
      s = head.getByRef(refOrLabels);
      if (s === undefined) throw new UnknownSeriesRefError(refOrLabels);
    } else {
      s = head.getByLabels(refOrLabels);
      if (s === undefined) {
        const labels = validLabels(refOrLabels, t);
        const r = head.getOrCreate(labels);
        s = r.series;
        if (r.created) this.newSeries.push({ ref: s.ref, labels: s.labels });
      }
    }
    switch (appendable(s, t, v, this.headMaxt, this.minValidTime, window)) {
      case Verdict.ErrOutOfOrder:
        throw new OutOfOrderSampleError(s.labels.toString(), t);
      case Verdict.ErrDuplicate:
        throw new DuplicateSampleError(s.labels.toString(), t);
      case Verdict.ErrOutOfBounds:
        throw new OutOfBoundsError(s.labels.toString(), t);
      case Verdict.ErrTooOld:
        throw new TooOldSampleError(s.labels.toString(), t);
      default:
    }
    s.pending++;
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
    this.samples.push({ ref: s.ref, t, v });
    this.sampleSeries.push(s);
    return s.ref;
  }

  /**
   * Makes the batch durable (the head's log, when it has one) and visible. Resolves once both are
   * done; a log failure rejects with WalWriteError and applies nothing. Samples that a concurrent
   * commit made invalid meanwhile are dropped, as in Prometheus.
   */
  async commit(): Promise<void> {
    if (this.closed) throw new AppenderClosedError();
    this.closed = true;
    const head = this.head;
    try {
      if (head.walLog && (this.newSeries.length > 0 || this.samples.length > 0)) {
        await head.walLog.log(this.newSeries, this.samples);
      }
    } catch (err) {
      this.release();
      throw new WalWriteError(err);
    }
    const window = head.outOfOrderTimeWindow;
    const chunkRange = head.chunkRange;
    let appended = 0;
    let ooo = 0;
    let rejected = 0;
    let inMint = Number.POSITIVE_INFINITY;
    let inMaxt = Number.NEGATIVE_INFINITY;
    const samples = this.samples;
    const series = this.sampleSeries;
    for (let i = 0; i < samples.length; i++) {
      const smp = samples[i] as HeadSampleRecord;
      const s = series[i] as MemSeries;
      s.pending--;
      const verdict = appendable(s, smp.t, smp.v, this.headMaxt, this.minValidTime, window);
      if (verdict === Verdict.InOrder) {
        if (s.append(smp.t, smp.v, chunkRange)) {
          appended++;
          if (smp.t < inMint) inMint = smp.t;
          if (smp.t > inMaxt) inMaxt = smp.t;
        } else rejected++;
      } else if (verdict === Verdict.OutOfOrder) {
        if (s.insertOutOfOrder(smp.t, smp.v)) {
          // Out-of-order data does not move the head's in-order range (Prometheus tracks it apart).
          appended++;
          ooo++;
        } else rejected++;
      } else if (verdict !== Verdict.Duplicate) {
        rejected++;
      }
    }
    if (inMint !== Number.POSITIVE_INFINITY) head.updateMinMaxTime(inMint, inMaxt);
    head.recordCommit(appended, ooo, rejected);
  }

  /**
   * Drops the queued samples. Series created by this appender stay in the head (as in
   * Prometheus), so they are still logged. Safe to call once; later calls throw AppenderClosedError.
   */
  async rollback(): Promise<void> {
    if (this.closed) throw new AppenderClosedError();
    this.closed = true;
    this.release();
    if (this.head.walLog && this.newSeries.length > 0) {
      try {
        await this.head.walLog.log(this.newSeries, []);
      } catch (err) {
        throw new WalWriteError(err);
      }
    }
  }

  private release(): void {
    for (const s of this.sampleSeries) s.pending--;
    this.samples.length = 0;
    this.sampleSeries.length = 0;
  }
}

// Prometheus drops empty values (our Labels never hold them) and rejects an empty label set; the
// Labels type cannot hold a duplicate name, so that check has nothing left to catch here.
function validLabels(labels: Labels, t: number): Labels {
  if (labels.size === 0) throw new InvalidSampleError('{}', t, 'empty labelset');
  return labels instanceof Labels ? labels : Labels.from(labels);
}
