import {
  type DB,
  DuplicateSampleError,
  type HeadAppender,
  Labels,
  OutOfBoundsError,
  OutOfOrderSampleError,
  STALE_NAN,
  TooOldSampleError,
} from '@thanos-ts/tsdb';
import {
  EXPONENTIAL_SCHEMA_MAX,
  type FloatHistogram,
  type Histogram,
  HistogramError,
  isExponentialSchemaReserved,
  reduceFloatHistogramResolution,
  reduceHistogramResolution,
} from '@thanos-ts/tsdb/histogram';
import { WriteError, type WriteFailureKind } from './errors.js';
import type { IngestBatch } from './ingest-batch.js';
import type { WireLabel, WriteSeries } from './wire.js';

// Label-set errors, Thanos's texts (pkg/store/labelpb/label.go).
const ERR_OUT_OF_ORDER_LABELS = 'out of order labels';
const ERR_EMPTY_LABELS = 'label set contains a label with empty name or value';
const ERR_DUPLICATE_LABELS = 'label set contains duplicate label names';
// Checks Thanos leaves to Prometheus's own validation; ours, so bad names never reach a block.
const ERR_INVALID_LABEL_NAME = 'label set contains an invalid label name';
const ERR_NO_METRIC_NAME = 'label set has no __name__ label';
const ERR_INVALID_UTF8 = 'label set contains a label value that is not valid UTF-8';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Every text {@link validateLabels} returns (ingest workers send an index into this list). @internal */
export const LABEL_SET_ERRORS: readonly string[] = [
  ERR_OUT_OF_ORDER_LABELS,
  ERR_EMPTY_LABELS,
  ERR_DUPLICATE_LABELS,
  ERR_INVALID_LABEL_NAME,
  ERR_NO_METRIC_NAME,
  ERR_INVALID_UTF8,
];

/**
 * Why a label set cannot be stored, or undefined when it can: Thanos's labelpb.ValidateLabels
 * (non-empty names and values, sorted, no duplicates), then Prometheus's label-name syntax and a
 * metric name.
 */
export function validateLabels(labels: readonly WireLabel[]): string | undefined {
  if (labels.length === 0) return ERR_EMPTY_LABELS;
  let prev = '';
  let hasName = false;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as WireLabel;
    if (l.name === '' || l.value === '') return ERR_EMPTY_LABELS;
    if (i > 0) {
      if (l.name === prev) return ERR_DUPLICATE_LABELS;
      if (l.name < prev) return ERR_OUT_OF_ORDER_LABELS;
    }
    prev = l.name;
    if (l.name === '__name__') hasName = true;
    else if (!LABEL_NAME.test(l.name)) return ERR_INVALID_LABEL_NAME;
    // Decoding replaced invalid UTF-8 with U+FFFD; Prometheus rejects such values.
    if (l.value.includes('\ufffd')) return ERR_INVALID_UTF8;
  }
  return hasName ? undefined : ERR_NO_METRIC_NAME;
}

const LABEL_CONFLICTS = new Set([ERR_OUT_OF_ORDER_LABELS, ERR_EMPTY_LABELS, ERR_DUPLICATE_LABELS]);

/** What one write into a tenant's TSDB did. */
export interface WriteResult {
  /** Samples appended and committed to the WAL. */
  appended: number;
  /** Series skipped for invalid labels plus samples rejected by the head. */
  rejected: number;
  /** What was rejected, worded as Thanos does; undefined when everything was stored. */
  error: WriteError | undefined;
}

/**
 * Collects rejected series and samples per reason and words them as Thanos's writeErrorTracker
 * does: `add 2 samples: out of order sample`.
 */
class ErrorTracker {
  private readonly counts = new Map<string, { what: 'series' | 'samples'; n: number; kind: WriteFailureKind }>();
  total = 0;

  add(reason: string, what: 'series' | 'samples', kind: WriteFailureKind, n = 1): void {
    const c = this.counts.get(reason);
    if (c) c.n += n;
    else this.counts.set(reason, { what, n, kind });
    this.total += n;
  }

  error(): WriteError | undefined {
    if (this.counts.size === 0) return undefined;
    const reasons: string[] = [];
    let kind: WriteFailureKind = 'conflict';
    for (const [reason, c] of this.counts) {
      reasons.push(`add ${c.n} ${c.what}: ${reason}`);
      if (c.kind === 'bad-data') kind = 'bad-data';
    }
    return new WriteError(kind, joinReasons(reasons));
  }
}

/** Thanos's errorSet text: sorted unique reasons joined with `; `, prefixed by the count when several. */
export function joinReasons(reasons: Iterable<string>): string {
  const unique = [...new Set(reasons)].sort();
  return unique.length > 1 ? `${unique.length} errors: ${unique.join('; ')}` : (unique[0] ?? '');
}

function sampleReason(err: unknown): string | undefined {
  if (
    err instanceof OutOfOrderSampleError ||
    err instanceof DuplicateSampleError ||
    err instanceof OutOfBoundsError ||
    err instanceof TooOldSampleError
  )
    return err.message;
  return undefined;
}

/**
 * A histogram with a schema the head can store: schemas 9..52 (reserved for higher resolutions,
 * sent by newer clients and OTLP scales above 8) are reduced to 8 by merging buckets, as
 * Prometheus 3's remote-write appender does (storage/remote/write_handler.go); other schemas are
 * left for validation to accept or refuse. Throws HistogramError when spans and buckets disagree.
 */
function storableHistogram(h: Histogram): Histogram {
  return h.schema > EXPONENTIAL_SCHEMA_MAX && isExponentialSchemaReserved(h.schema)
    ? reduceHistogramResolution(h, EXPONENTIAL_SCHEMA_MAX)
    : h;
}

/** storableHistogram for a float histogram. */
function storableFloatHistogram(h: FloatHistogram): FloatHistogram {
  return h.schema > EXPONENTIAL_SCHEMA_MAX && isExponentialSchemaReserved(h.schema)
    ? reduceFloatHistogramResolution(h, EXPONENTIAL_SCHEMA_MAX)
    : h;
}

/** Options of {@link writeSeries} and {@link GroupWriter}. */
export interface WriteSeriesOptions {
  /**
   * Samples more than this ahead of `now()` are rejected as out of bounds, ms (Thanos's
   * --tsdb.too-far-in-future.time-window). Default 0: no check.
   */
  tooFarInFutureMs?: number;
  /** Clock, ms since the epoch. Default Date.now. */
  now?: () => number;
}

/**
 * Queues `series` into `app`, counting what is refused in `tracker`; returns the samples queued.
 * Throws (an `internal` WriteError) only for errors that are not about a sample, leaving what it
 * queued in `app`: the caller rolls the appender back.
 */
function appendSeries(
  app: HeadAppender,
  series: readonly WriteSeries[],
  tracker: ErrorTracker,
  futureBound: number,
): number {
  let appended = 0;
  for (const s of series) {
    const bad = validateLabels(s.labels);
    if (bad) {
      tracker.add(bad, 'series', LABEL_CONFLICTS.has(bad) ? 'conflict' : 'bad-data');
      continue;
    }
    const flat: string[] = new Array(s.labels.length * 2);
    for (let i = 0; i < s.labels.length; i++) {
      const l = s.labels[i] as WireLabel;
      flat[2 * i] = l.name;
      flat[2 * i + 1] = l.value;
    }
    let ref: number | Labels = Labels.fromSortedFlat(flat);
    const ts = s.timestamps;
    const vs = s.values;
    const stale = s.staleAt;
    let nextStale = 0;
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i] as number;
      let v = vs[i] as number;
      if (stale !== undefined && stale[nextStale] === i) {
        nextStale++;
        v = STALE_NAN;
      }
      const got = appendSample(app, ref, t, v, tracker, futureBound);
      if (got !== undefined) {
        ref = got;
        appended++;
      }
    }
    // Native histograms, appended in order after the float samples (Prometheus's appender takes
    // both for one series; a histogram older than the series' newest sample is out of order).
    for (const wh of s.nativeHistograms ?? []) {
      if (wh.t > futureBound) {
        tracker.add('out of bounds', 'samples', 'conflict');
        continue;
      }
      try {
        ref = wh.h
          ? app.appendHistogram(ref, wh.t, storableHistogram(wh.h))
          : app.appendFloatHistogram(ref, wh.t, storableFloatHistogram(wh.fh as FloatHistogram));
        appended++;
      } catch (err) {
        if (err instanceof HistogramError) {
          tracker.add(err.message, 'samples', 'bad-data');
          continue;
        }
        const reason = sampleReason(err);
        if (reason === undefined)
          throw new WriteError('internal', `append histogram sample: ${(err as Error).message}`, { cause: err });
        tracker.add(reason, 'samples', 'conflict');
      }
    }
  }
  return appended;
}

/** Series `i`'s key hash cut to 30 bits, so Map keys stay small integers (no boxed numbers). */
const smiHash = (batch: IngestBatch, i: number): number => batch.hash(i) & 0x3fffffff;

/**
 * Head refs of the series a tenant's writes resolved before, by the hash of their label key
 * (IngestBatch), so the main thread appends by ref instead of building, hashing and comparing
 * label sets. A hit is checked against the labels of the head's own series, byte for byte, so
 * the cache keeps no strings (a few bytes per series) and a hash collision or a series the head
 * dropped (truncation garbage-collects series; refs are never reused) is a miss, resolved by
 * labels. One per DB: a tenant closed or pruned gets a new DB and so a new cache. Bounded:
 * cleared when it holds more than twice the head's series (plus slack), which only churned
 * series can cause. @internal
 */
export class SeriesRefCache {
  /** Refs by key hash; an array for the rare hashes several series share. */
  private readonly byHash = new Map<number, number | number[]>();
  private size = 0;

  constructor(private readonly db: DB) {}

  /** The ref of series `i` of `batch` if it is cached and the head still has that series. */
  get(batch: IngestBatch, i: number): number | undefined {
    const h = smiHash(batch, i);
    const e = this.byHash.get(h);
    if (e === undefined) return undefined;
    if (typeof e === 'number') {
      const s = this.db.head.getByRef(e);
      if (s !== undefined) return batch.keyEquals(i, s.labels.toFlat()) ? e : undefined;
      this.byHash.delete(h);
      this.size--;
      return undefined;
    }
    for (let k = 0; k < e.length; k++) {
      const s = this.db.head.getByRef(e[k] as number);
      if (s === undefined) {
        // Dropped by the head: forget it.
        e.splice(k--, 1);
        this.size--;
      } else if (batch.keyEquals(i, s.labels.toFlat())) return e[k];
    }
    return undefined;
  }

  /** Remembers `ref` for series `i` of `batch` (a miss of {@link get}). */
  set(batch: IngestBatch, i: number, ref: number): void {
    if (this.size >= 2 * this.db.head.numSeries + 1024) {
      this.byHash.clear();
      this.size = 0;
    }
    const h = smiHash(batch, i);
    const e = this.byHash.get(h);
    if (e === undefined) this.byHash.set(h, ref);
    else if (typeof e === 'number') this.byHash.set(h, [e, ref]);
    else e.push(ref);
    this.size++;
  }
}

/**
 * appendSeries for a request decoded by an ingest worker: the same checks, reasons and counts,
 * with series resolved through `cache`.
 */
function appendIngestBatch(
  app: HeadAppender,
  batch: IngestBatch,
  cache: SeriesRefCache,
  tracker: ErrorTracker,
  futureBound: number,
): number {
  let appended = 0;
  for (let i = 0; i < batch.series; i++) {
    const bad = batch.labelError(i);
    if (bad) {
      tracker.add(bad, 'series', LABEL_CONFLICTS.has(bad) ? 'conflict' : 'bad-data');
      continue;
    }
    const cached = cache.get(batch, i);
    let ref: number | Labels = cached ?? Labels.fromSortedFlat(batch.flatLabels(i));
    const end = batch.sampleEnd(i);
    for (let j = batch.sampleStart(i); j < end; j++) {
      const got = appendSample(app, ref, batch.timestamp(j), batch.value(j), tracker, futureBound);
      if (got !== undefined) {
        ref = got;
        appended++;
      }
    }
    if (cached === undefined && typeof ref === 'number') cache.set(batch, i, ref);
  }
  return appended;
}

/**
 * Queues one float sample into `app`; returns the series ref, or undefined when the sample is
 * refused (too far in the future, or by the head), counted in `tracker`. Throws an `internal`
 * WriteError for errors that are not about the sample.
 */
function appendSample(
  app: HeadAppender,
  ref: number | Labels,
  t: number,
  v: number,
  tracker: ErrorTracker,
  futureBound: number,
): number | undefined {
  if (t > futureBound) {
    tracker.add('out of bounds', 'samples', 'conflict');
    return undefined;
  }
  try {
    return app.append(ref, t, v);
  } catch (err) {
    const reason = sampleReason(err);
    if (reason === undefined)
      throw new WriteError('internal', `append sample: ${(err as Error).message}`, { cause: err });
    tracker.add(reason, 'samples', 'conflict');
    return undefined;
  }
}

function futureBoundOf(opts: WriteSeriesOptions): number {
  return opts.tooFarInFutureMs ? (opts.now ?? Date.now)() + opts.tooFarInFutureMs : Number.POSITIVE_INFINITY;
}

/**
 * Appends series into one tenant's TSDB in one commit, as Thanos's receive Writer.Write: invalid
 * label sets and samples the head refuses (out of order, duplicate, out of bounds, too old) are
 * skipped and counted, everything else is committed; the skipped ones come back as one
 * WriteError in `error` (`conflict`, or `bad-data` for names Prometheus would not accept).
 * Resolves only once the commit is in the WAL. A WAL failure rejects with an `internal` WriteError.
 */
export async function writeSeries(
  db: DB,
  series: readonly WriteSeries[],
  opts: WriteSeriesOptions = {},
): Promise<WriteResult> {
  const tracker = new ErrorTracker();
  const app = db.appender();
  let appended: number;
  try {
    appended = appendSeries(app, series, tracker, futureBoundOf(opts));
  } catch (err) {
    await app.rollback();
    throw err;
  }
  try {
    await app.commit();
  } catch (err) {
    throw new WriteError('internal', `commit samples: ${(err as Error).message}`, { cause: err });
  }
  return { appended, rejected: tracker.total, error: tracker.error() };
}

/** Writes sharing one appender and one commit. */
interface CommitGroup {
  readonly app: HeadAppender;
  /** Settles when the group's commit is in the WAL (or failed). */
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit of concurrent writes into one TSDB: {@link writeSeries} semantics per write, but
 * writes share appenders. The open appender is committed at the end of the event-loop turn
 * (setImmediate), so requests whose bodies completed in the same turn share it; writes that
 * arrive while a commit is being written to the WAL share the next one. They cost one WAL write
 * and one wait instead of queueing one write each behind each other.
 * Each write still resolves only once its own samples are in the WAL, with its own result and
 * error text; a WAL failure fails every write of that commit with an `internal` WriteError.
 * A write that fails for a reason other than its samples (an `internal` WriteError while
 * appending) rolls back the whole group, so nothing of any rejected write is stored; the other
 * writes of that group fail with `internal` too (the sender retries them).
 */
export class GroupWriter {
  /** The group taking appends, committed at the end of the turn once no commit is in flight. */
  private open: CommitGroup | undefined;
  private committing = false;
  private scheduled = false;

  constructor(
    private readonly db: DB,
    private readonly opts: WriteSeriesOptions = {},
  ) {}

  /** Appends `series` to the open group and resolves once that group is committed. */
  write(series: readonly WriteSeries[]): Promise<WriteResult> {
    return this.run((app, tracker, futureBound) => appendSeries(app, series, tracker, futureBound));
  }

  /**
   * As {@link write} for a request decoded by an ingest worker, resolving series through `cache`
   * (one per DB). @internal
   */
  writeBatch(batch: IngestBatch, cache: SeriesRefCache): Promise<WriteResult> {
    return this.run((app, tracker, futureBound) => appendIngestBatch(app, batch, cache, tracker, futureBound));
  }

  private async run(
    append: (app: HeadAppender, tracker: ErrorTracker, futureBound: number) => number,
  ): Promise<WriteResult> {
    const tracker = new ErrorTracker();
    // db.appender() throws once the DB is closing: that is the caller's `unavailable`.
    const group = this.open ?? this.newGroup();
    let appended: number;
    try {
      appended = append(group.app, tracker, futureBoundOf(this.opts));
    } catch (err) {
      // The appender holds this write's partial appends: drop the group (later writes start a
      // new one) and fail everyone in it.
      if (this.open === group) this.open = undefined;
      group.reject(
        new WriteError('internal', `write committed together with a failed one: ${(err as Error).message}`, {
          cause: err,
        }),
      );
      await group.app.rollback().catch(() => undefined);
      throw err;
    }
    this.schedule();
    await group.done;
    return { appended, rejected: tracker.total, error: tracker.error() };
  }

  private newGroup(): CommitGroup {
    const app = this.db.appender();
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A group can be rejected before anyone awaits it (the failing write is its only member).
    done.catch(() => undefined);
    const group: CommitGroup = { app, done, resolve, reject };
    this.open = group;
    return group;
  }

  /**
   * Commits the open group at the end of this event-loop turn, after the I/O callbacks of the turn
   * (other requests) had their chance to join it; a commit in flight schedules it when it ends.
   */
  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.commitNext();
    });
  }

  private commitNext(): void {
    const group = this.open;
    if (this.committing || group === undefined) return;
    this.open = undefined;
    this.committing = true;
    group.app.commit().then(
      () => {
        this.committing = false;
        group.resolve();
        this.schedule();
      },
      (err: unknown) => {
        this.committing = false;
        group.reject(new WriteError('internal', `commit samples: ${(err as Error).message}`, { cause: err }));
        this.schedule();
      },
    );
  }
}
