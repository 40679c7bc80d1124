import type { FloatHistogram } from '../histogram/types.js';
import type { Labels } from '../labels/labels.js';
import type { Matcher } from '../labels/matcher.js';

/**
 * What a reader of data may tell the storage about the query it serves, so the storage can skip
 * work (Prometheus's SelectHints). Times are milliseconds since the epoch, inclusive.
 */
export interface SelectHints {
  /** Earliest timestamp needed. */
  start: number;
  /** Latest timestamp needed. */
  end: number;
  /** Evaluation step of a range query, ms (0 for instant queries). */
  step?: number;
  /** Function wrapping the selector, e.g. 'rate' (lets downsampled data pick an aggregate). */
  func?: string;
  /** Range of a range-vector selector, ms. */
  range?: number;
  /** Grouping labels of an enclosing aggregation, when any. */
  grouping?: readonly string[];
  /** Whether `grouping` is a `by` (true) or `without` (false) list. */
  by?: boolean;
  /** Only labels are needed, no samples (e.g. for the series API). */
  labelsOnly?: boolean;
}

/**
 * One series with its float samples decoded into columns, sorted by timestamp. Timestamps are ms
 * since the epoch stored as doubles (exact up to 2^53). Staleness markers stay in `values` as
 * Prometheus's StaleNaN bit pattern (see `isStaleNaN`).
 */
export interface SeriesSamples {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /**
   * Native histogram samples of the series, when it has any: a second sorted column pair whose
   * timestamps never repeat one of `timestamps` (a series may switch between floats and
   * histograms over time, as in Prometheus). Integer histograms arrive converted to float
   * histograms, as Prometheus's engine reads them. Absent for float-only series.
   */
  readonly histograms?: HistogramSamples;
}

/**
 * Native histogram samples in columns, sorted by timestamp (ms since the epoch as doubles). A
 * histogram whose `sum` has the StaleNaN bit pattern is a staleness marker, as in Prometheus.
 */
export interface HistogramSamples {
  readonly timestamps: Float64Array;
  readonly values: readonly FloatHistogram[];
}

/**
 * The small read interface the PromQL engine evaluates over, satisfied by in-memory storage,
 * blocks, and remote StoreAPIs alike. Results are sorted by labels (compareLabels).
 */
export interface Queryable {
  /** Series matching every matcher, with samples in [hints.start, hints.end]. */
  select(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<SeriesSamples[]>;
  /** Sorted label names of series matching the matchers (all series when none). */
  labelNames(matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<string[]>;
  /** Sorted values of `name` over series matching the matchers. */
  labelValues(name: string, matchers: readonly Matcher[], hints: SelectHints, signal?: AbortSignal): Promise<string[]>;
}
