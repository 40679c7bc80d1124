import type { HistogramSamples, Labels, Queryable } from '@thanos-ts/tsdb';
import type { FloatHistogram } from '@thanos-ts/tsdb/histogram';

// The querier's view of the PromQL engine. Shapes match @thanos-ts/promql's QueryResult so its
// engine plugs in directly; any engine with these two methods can be injected.

/** One element of an instant vector. `t` in ms. */
export interface EngineSample {
  readonly metric: Labels;
  readonly t: number;
  readonly f: number;
  /** The native histogram value, when the element is a histogram sample (then `f` is unused). */
  readonly h?: FloatHistogram;
}

/** One series of a matrix as parallel columns. */
export interface EngineSeries {
  readonly metric: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Native histogram points, in their own sorted columns; absent when the series has none. */
  readonly histograms?: HistogramSamples;
}

/** A PromQL result value. */
export type EngineValue =
  | { readonly type: 'vector'; readonly samples: readonly EngineSample[] }
  | { readonly type: 'matrix'; readonly series: readonly EngineSeries[] }
  | { readonly type: 'scalar'; readonly t: number; readonly v: number }
  | { readonly type: 'string'; readonly t: number; readonly v: string };

/** A result with PromQL's warning and info annotations. */
export interface EngineResult {
  readonly result: EngineValue;
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
}

/** Per-query engine settings. */
export interface EngineQueryOptions {
  signal?: AbortSignal;
  /** ms; the engine's default (5m) when absent. */
  lookbackDelta?: number;
}

/** What the querier needs from a PromQL engine. Times are ms since the epoch. */
export interface QueryEngine {
  instantQuery(queryable: Queryable, expr: string, time: number, opts?: EngineQueryOptions): Promise<EngineResult>;
  rangeQuery(
    queryable: Queryable,
    expr: string,
    start: number,
    end: number,
    step: number,
    opts?: EngineQueryOptions,
  ): Promise<EngineResult>;
}
