/**
 * Series that cross to an evaluation worker still encoded (a store's chunk bytes, for example)
 * and are decoded there, next to the evaluation, instead of on the caller's event loop. A
 * Queryable opts in by implementing `selectEncoded` ({@link EncodedQueryable}); the engine asks
 * for it only when it evaluates in a pool. The decoder is code of the Queryable's package, loaded
 * into the worker by module URL, so this package needs to know nothing of the encoding.
 */
import type { Labels, Matcher, Queryable, SelectHints, SeriesSamples } from '@thanos-ts/tsdb';

/**
 * Where an evaluation worker finds a {@link SeriesDecoder}: a module it can `import()` (a
 * `file:` URL) and the name the decoder is exported under. The module is imported once per
 * worker and must have no side effects that matter in a worker thread.
 */
export interface SeriesDecoderRef {
  readonly module: string;
  readonly name: string;
}

/** What a {@link SeriesDecoder} returns. */
export interface DecodedSeries {
  /** One entry per label set given to the decoder, in the same order. */
  readonly series: SeriesSamples[];
  /** Samples decoded (floats and histograms), for the query's stats. */
  readonly samples: number;
  /** Warnings for the query's answer (say, chunks left out). */
  readonly warnings: readonly string[];
}

/**
 * Decodes one encoded set in an evaluation worker. `labels` are the set's label sets, `payload`
 * what {@link EncodedSeriesSet.payload} carried (its transferred buffers arrive as the worker's
 * own). `stopped()` turns true once the query was canceled or timed out: a long decode should
 * check it now and then and return early (whatever it returns is discarded). Throwing fails the
 * query with that error's message.
 */
export type SeriesDecoder = (labels: readonly Labels[], payload: unknown, stopped: () => boolean) => DecodedSeries;

/** What the worker reports back for one encoded set once the query succeeded. */
export interface DecodeReport {
  readonly samples: number;
  readonly warnings: readonly string[];
}

/**
 * The answer of `selectEncoded`: label sets on the calling thread, samples still encoded.
 * Used for one query: its `transfer` buffers are moved to the worker (detached here).
 */
export interface EncodedSeriesSet {
  /** Marks the encoded form (a plain select answers with an array). */
  readonly encoded: true;
  /** One label set per series, sorted as a select's answer is. */
  readonly labels: readonly Labels[];
  readonly decoder: SeriesDecoderRef;
  /** Structured-cloneable input of the decoder; keep it to a few typed arrays. */
  readonly payload: unknown;
  /** ArrayBuffers inside `payload` to move to the worker rather than copy. Each at most once. */
  readonly transfer: readonly ArrayBuffer[];
  /**
   * Called on the calling thread with what the decoder reported, after the worker answered and
   * before the query's promise resolves. Not called when the query fails.
   */
  decoded?(report: DecodeReport): void;
}

/**
 * A Queryable that can also answer selects encoded, for decoding in the evaluation worker. An
 * engine with a pool calls `selectEncoded` instead of `select`; without one, `select`.
 */
export interface EncodedQueryable extends Queryable {
  /**
   * Like `select`, but may leave the samples encoded. Answering with a plain array is allowed
   * (when decoding here is cheaper, e.g. labels-only selects).
   */
  selectEncoded(
    matchers: readonly Matcher[],
    hints: SelectHints,
    signal?: AbortSignal,
  ): Promise<EncodedSeriesSet | SeriesSamples[]>;
}

/** Whether `q` implements {@link EncodedQueryable}. */
export function isEncodedQueryable(q: Queryable): q is EncodedQueryable {
  return typeof (q as Partial<EncodedQueryable>).selectEncoded === 'function';
}

/** Whether a select's answer is an {@link EncodedSeriesSet}. */
export function isEncodedSeriesSet(x: EncodedSeriesSet | readonly SeriesSamples[]): x is EncodedSeriesSet {
  return (x as Partial<EncodedSeriesSet>).encoded === true;
}
