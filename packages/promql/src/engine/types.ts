import type { Labels } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';

/** One element of an instant vector result. */
export interface Sample {
  readonly metric: Labels;
  /** Evaluation timestamp, ms. */
  readonly t: number;
  /** The float value (0 when the sample is a histogram). */
  readonly f: number;
  /** The native histogram value, when the sample is one. */
  readonly h?: FloatHistogram;
}

/** An instant vector: what an instant query over a vector expression returns. */
export interface Vector {
  readonly type: 'vector';
  readonly samples: Sample[];
}

/** One series of a matrix: timestamps (ms) and float values as parallel columns. */
export interface Series {
  readonly metric: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Native histogram points of the series (timestamps ms, sorted), when it has any. */
  readonly histograms?: { readonly timestamps: Float64Array; readonly values: readonly FloatHistogram[] };
}

/** A matrix: what range queries (and instant queries over range vectors) return, sorted by labels. */
export interface Matrix {
  readonly type: 'matrix';
  readonly series: Series[];
}

/** A scalar result. */
export interface Scalar {
  readonly type: 'scalar';
  readonly t: number;
  readonly v: number;
}

/** A string result (only a top-level string literal produces one). */
export interface StringValue {
  readonly type: 'string';
  readonly t: number;
  readonly v: string;
}

/** Any query result value. */
export type QueryValue = Vector | Matrix | Scalar | StringValue;

/** What `instantQuery`/`rangeQuery` resolve to. */
export interface QueryResult {
  readonly result: QueryValue;
  /** `PromQL warning: …` annotations. */
  readonly warnings: string[];
  /** `PromQL info: …` annotations. */
  readonly infos: string[];
}

/**
 * Evaluation grid: `n` timestamps `start + i*step`. An instant evaluation is a grid of one.
 * @internal
 */
export interface Grid {
  readonly start: number;
  readonly step: number;
  readonly n: number;
}

/**
 * An instant-vector series during evaluation: one value column over the grid and a presence
 * column (a step without a sample is 0). `dropName` is Prometheus 3's delayed name removal: the
 * `__name__` label goes at the very end of evaluation.
 * @internal
 */
export interface StepSeries {
  labels: Labels;
  values: Float64Array;
  present: Uint8Array;
  dropName: boolean;
  /**
   * Native histogram values per step, when the series has any: a present step whose entry is
   * defined holds that histogram instead of a float (its `values` entry is then 0).
   */
  hists?: (FloatHistogram | undefined)[];
}

/** Raw samples of one series for range functions, staleness markers removed. @internal */
export interface RawSeries {
  labels: Labels;
  ts: Float64Array;
  vs: Float64Array;
  dropName: boolean;
  /** Native histogram samples, sorted, in their own columns (never at a time of `ts`). */
  hts?: Float64Array;
  hvs?: FloatHistogram[];
}

/** Intermediate values of the evaluator. @internal */
export type EvalValue =
  | { kind: 'vector'; series: StepSeries[] }
  | { kind: 'scalar'; values: Float64Array }
  | { kind: 'string'; value: string }
  | { kind: 'matrix'; series: RawSeries[] };
