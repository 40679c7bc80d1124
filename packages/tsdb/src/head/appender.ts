import type { FloatHistogram, Histogram } from '../histogram/types.js';
import { validateFloatHistogram, validateHistogram } from '../histogram/validate.js';
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
import type { Head, HeadHistogramRecord, HeadSampleRecord, HeadSeriesRecord } from './head.js';
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
      return s.lastHistogram === undefined && sameFloatBits(s.lastValue, v) ? Verdict.Duplicate : Verdict.ErrDuplicate;
    }
  }
  if (window > 0 && t >= headMaxt - window) return Verdict.OutOfOrder;
  if (window > 0) return Verdict.ErrTooOld;
  if (t < minValid) return Verdict.ErrOutOfBounds;
  return Verdict.ErrOutOfOrder;
}

// Prometheus 2.42's memSeries.appendableHistogram: in order only (out-of-order native histograms
// came with Prometheus 2.50), an equal histogram at the newest timestamp is a duplicate to drop.
function appendableHistogram(
  s: MemSeries,
  t: number,
  h: Histogram | FloatHistogram,
  float: boolean,
  minValid: number,
): Verdict {
  if (t < minValid) return Verdict.ErrOutOfBounds;
  if (!s.hasHeadChunk() && s.chunks.length === 0) return Verdict.InOrder;
  const msMaxt = s.maxTime();
  if (t > msMaxt) return Verdict.InOrder;
  if (t < msMaxt) return Verdict.ErrOutOfOrder;
  return s.sameAsLastHistogram(h, float) ? Verdict.Duplicate : Verdict.ErrDuplicate;
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
  private readonly histograms: HeadHistogramRecord[] = [];
  private readonly histogramSeries: MemSeries[] = [];
  /** For each queued histogram, the number of floats queued before it (commit keeps the order). */
  private readonly histogramAt: number[] = [];
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

  /** Samples queued so far (floats and histograms). */
  get length(): number {
    return this.samples.length + this.histograms.length;
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
    if (head.maxSamplesPerCommit > 0 && this.length >= head.maxSamplesPerCommit) {
      throw new CommitSampleLimitError(head.maxSamplesPerCommit);
    }
    const s = this.seriesFor(refOrLabels, t);
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
   * Queues one integer native histogram sample (Prometheus's AppendHistogram with a Histogram) for
   * the series `refOrLabels` at `t` ms; returns the series ref. `h` is validated first
   * (HistogramError, e.g. `histogram has 3 positive buckets but spans announce 4`... with
   * Prometheus's texts) and must not be modified until commit. Native histograms are appended in
   * order only, whatever the out-of-order window: throws OutOfOrderSampleError for one older than
   * the series' newest sample, DuplicateSampleError for a different sample at the same time (an
   * equal one is dropped silently), OutOfBoundsError before the appendable window, and the
   * errors of `append`. A change of schema, zero threshold or a counter reset starts a new chunk,
   * as in Prometheus. A stale marker is a histogram whose `sum` is StaleNaN.
   */
  appendHistogram(refOrLabels: number | Labels, t: number, h: Histogram): number {
    return this.queueHistogram(refOrLabels, t, h, false);
  }

  /** Like appendHistogram for a float histogram (Prometheus's AppendHistogram with a FloatHistogram). */
  appendFloatHistogram(refOrLabels: number | Labels, t: number, fh: FloatHistogram): number {
    return this.queueHistogram(refOrLabels, t, fh, true);
  }

  private queueHistogram(
    refOrLabels: number | Labels,
    t: number,
    h: Histogram | FloatHistogram,
    float: boolean,
  ): number {
    if (this.closed) throw new AppenderClosedError();
    const head = this.head;
    if (!this.ready) {
      head.initTime(t);
      this.init();
    }
    if (t < this.minValidTime) {
      throw new OutOfBoundsError(typeof refOrLabels === 'number' ? `ref ${refOrLabels}` : refOrLabels.toString(), t);
    }
    const invalid = float ? validateFloatHistogram(h as FloatHistogram) : validateHistogram(h as Histogram);
    if (invalid) throw invalid;
    if (head.maxSamplesPerCommit > 0 && this.length >= head.maxSamplesPerCommit) {
      throw new CommitSampleLimitError(head.maxSamplesPerCommit);
    }
    const s = this.seriesFor(refOrLabels, t);
    switch (appendableHistogram(s, t, h, float, this.minValidTime)) {
      case Verdict.ErrOutOfOrder:
        throw new OutOfOrderSampleError(s.labels.toString(), t);
      case Verdict.ErrDuplicate:
        throw new DuplicateSampleError(s.labels.toString(), t);
      case Verdict.ErrOutOfBounds:
        throw new OutOfBoundsError(s.labels.toString(), t);
      default:
    }
    s.pending++;
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
    this.histograms.push(float ? { ref: s.ref, t, fh: h as FloatHistogram } : { ref: s.ref, t, h: h as Histogram });
    this.histogramSeries.push(s);
    this.histogramAt.push(this.samples.length);
    return s.ref;
  }

  private seriesFor(refOrLabels: number | Labels, t: number): MemSeries {
    const head = this.head;
    if (typeof refOrLabels === 'number') {
      const s = head.getByRef(refOrLabels);
      if (s === undefined) throw new UnknownSeriesRefError(refOrLabels);
      return s;
    }
    let s = head.getByLabels(refOrLabels);
    if (s === undefined) {
      const labels = validLabels(refOrLabels, t);
      const r = head.getOrCreate(labels);
      s = r.series;
      if (r.created) this.newSeries.push({ ref: s.ref, labels: s.labels });
    }
    return s;
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
      if (head.walLog && (this.newSeries.length > 0 || this.samples.length > 0 || this.histograms.length > 0)) {
        if (this.histograms.length > 0)
          await head.walLog.log(this.newSeries, this.samples, this.histograms, this.histogramAt);
        else await head.walLog.log(this.newSeries, this.samples);
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
    // Samples are applied in the order they were appended, floats and histograms interleaved (as
    // Prometheus 3's append batches do), so a series may switch type within one commit.
    const hs = this.histograms;
    const hSeries = this.histogramSeries;
    const hAt = this.histogramAt;
    let hi = 0;
    let nextH = hs.length > 0 ? (hAt[0] as number) : Number.POSITIVE_INFINITY;
    const applyHistogramsUpTo = (floatsDone: number) => {
      while (hi < hs.length && nextH <= floatsDone) {
        const rec = hs[hi] as HeadHistogramRecord;
        const s = hSeries[hi] as MemSeries;
        s.pending--;
        const float = rec.fh !== undefined;
        const h = (rec.fh ?? rec.h) as Histogram | FloatHistogram;
        const verdict = appendableHistogram(s, rec.t, h, float, this.minValidTime);
        if (verdict === Verdict.InOrder && s.appendHistogram(rec.t, h, float, chunkRange)) {
          appended++;
          if (rec.t < inMint) inMint = rec.t;
          if (rec.t > inMaxt) inMaxt = rec.t;
        } else if (verdict !== Verdict.Duplicate) rejected++;
        hi++;
        nextH = hi < hs.length ? (hAt[hi] as number) : Number.POSITIVE_INFINITY;
      }
    };
    for (let i = 0; i < samples.length; i++) {
      if (nextH <= i) applyHistogramsUpTo(i);
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
    applyHistogramsUpTo(Number.POSITIVE_INFINITY);
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
    for (const s of this.histogramSeries) s.pending--;
    this.samples.length = 0;
    this.sampleSeries.length = 0;
    this.histograms.length = 0;
    this.histogramSeries.length = 0;
    this.histogramAt.length = 0;
  }
}

// Prometheus drops empty values (our Labels never hold them) and rejects an empty label set; the
// Labels type cannot hold a duplicate name, so that check has nothing left to catch here.
function validLabels(labels: Labels, t: number): Labels {
  if (labels.size === 0) throw new InvalidSampleError('{}', t, 'empty labelset');
  return labels instanceof Labels ? labels : Labels.from(labels);
}
