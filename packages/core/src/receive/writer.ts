import {
  type DB,
  DuplicateSampleError,
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

/**
 * Appends series into one tenant's TSDB in one commit, as Thanos's receive Writer.Write: invalid
 * label sets and samples the head refuses (out of order, duplicate, out of bounds, too old) are
 * skipped and counted, everything else is committed; the skipped ones come back as one
 * WriteError in `error` (`conflict`, or `bad-data` for names Prometheus would not accept).
 * Resolves only once the commit is in the WAL. A WAL failure rejects with an `internal` WriteError.
 *
 * `tooFarInFutureMs` > 0 rejects samples more than that ahead of `now()` as out of bounds
 * (Thanos's --tsdb.too-far-in-future.time-window).
 */
export async function writeSeries(
  db: DB,
  series: readonly WriteSeries[],
  opts: { tooFarInFutureMs?: number; now?: () => number } = {},
): Promise<WriteResult> {
  const tracker = new ErrorTracker();
  const app = db.appender();
  const futureBound = opts.tooFarInFutureMs ? (opts.now ?? Date.now)() + opts.tooFarInFutureMs : Infinity;
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
      if (t > futureBound) {
        tracker.add('out of bounds', 'samples', 'conflict');
        continue;
      }
      try {
        ref = app.append(ref, t, v);
        appended++;
      } catch (err) {
        const reason = sampleReason(err);
        if (reason === undefined) {
          await app.rollback();
          throw new WriteError('internal', `append sample: ${(err as Error).message}`, { cause: err });
        }
        tracker.add(reason, 'samples', 'conflict');
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
        if (reason === undefined) {
          await app.rollback();
          throw new WriteError('internal', `append histogram sample: ${(err as Error).message}`, { cause: err });
        }
        tracker.add(reason, 'samples', 'conflict');
      }
    }
  }
  try {
    await app.commit();
  } catch (err) {
    throw new WriteError('internal', `commit samples: ${(err as Error).message}`, { cause: err });
  }
  return { appended, rejected: tracker.total, error: tracker.error() };
}
