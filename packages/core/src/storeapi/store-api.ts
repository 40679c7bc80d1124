import type { Labels, Matcher } from '@thanos-ts/tsdb';

/** Encoding of one chunk's bytes (Thanos's storepb.Chunk.Encoding). */
export type ChunkEncoding = 'XOR' | 'HISTOGRAM' | 'FLOAT_HISTOGRAM';

/** One chunk's bytes as Prometheus's chunkenc wrote them, without the chunk-file framing. */
export interface Chunk {
  readonly type: ChunkEncoding;
  readonly data: Uint8Array;
  /** Optional xxhash of the data some stores send (Thanos's `hash`); 0 when absent. */
  readonly hash?: bigint;
}

/**
 * A chunk of one series over [minTime, maxTime] (ms, inclusive): `raw` for raw data, or for
 * downsampled blocks one XOR chunk per aggregate (count, sum, min, max, counter), exactly as
 * Thanos's storepb.AggrChunk.
 */
export interface AggrChunk {
  readonly minTime: number;
  readonly maxTime: number;
  readonly raw?: Chunk;
  readonly count?: Chunk;
  readonly sum?: Chunk;
  readonly min?: Chunk;
  readonly max?: Chunk;
  readonly counter?: Chunk;
}

/** A series with its chunks sorted by minTime (chunks may overlap when several sources hold it). */
export interface StoreSeries {
  readonly labels: Labels;
  readonly chunks: readonly AggrChunk[];
}

/** A protobuf message packed as google.protobuf.Any: the hints Thanos stores exchange. */
export interface AnyMessage {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

/** Downsampling aggregates a request may ask for (Thanos's storepb.Aggr). */
export type Aggr = 'RAW' | 'COUNT' | 'SUM' | 'MIN' | 'MAX' | 'COUNTER';

/**
 * What to do when one of several stores fails: WARN answers with what the rest returned plus a
 * warning, ABORT fails the whole request (Thanos's PartialResponseStrategy).
 */
export type PartialResponseStrategy = 'WARN' | 'ABORT';

/** Query hints a querier passes down to stores (Thanos's storepb.QueryHints). */
export interface QueryHints {
  readonly stepMillis?: number;
  readonly func?: string;
  readonly grouping?: { readonly by: boolean; readonly labels: readonly string[] };
  readonly rangeMillis?: number;
  readonly projectionLabels?: readonly string[];
  readonly projectionInclude?: boolean;
  readonly seriesHashLabelName?: string;
}

/** Sharding of a request over series (Thanos's storepb.ShardInfo). */
export interface ShardInfo {
  readonly shardIndex: number;
  readonly totalShards: number;
  readonly by: boolean;
  readonly labels: readonly string[];
}

/** A Series request, field for field Thanos's storepb.SeriesRequest. Times are ms, inclusive. */
export interface SeriesRequest {
  readonly minTime: number;
  readonly maxTime: number;
  readonly matchers: readonly Matcher[];
  /** Coarsest downsampling resolution acceptable, ms (0: raw only). */
  readonly maxResolutionWindow?: number;
  readonly aggregates?: readonly Aggr[];
  readonly partialResponseDisabled?: boolean;
  readonly partialResponseStrategy?: PartialResponseStrategy;
  /** Only labels are wanted: stores may answer with series without chunks. */
  readonly skipChunks?: boolean;
  readonly hints?: AnyMessage;
  readonly step?: number;
  readonly range?: number;
  readonly queryHints?: QueryHints;
  readonly shardInfo?: ShardInfo;
  /** Labels the store should drop from series (replica labels under deduplication), re-sorting. */
  readonly withoutReplicaLabels?: readonly string[];
  /** Maximum number of series to return (0: no limit). */
  readonly limit?: number;
  /** How many series a response may batch (0/1: one per response). */
  readonly responseBatchSize?: number;
}

/** One message of a Series stream: a series, a warning (partial failure) or store hints. */
export type SeriesResponse =
  | { readonly type: 'series'; readonly series: StoreSeries }
  | { readonly type: 'warning'; readonly warning: string }
  | { readonly type: 'hints'; readonly hints: AnyMessage };

/** A LabelNames request (Thanos's storepb.LabelNamesRequest). `start`/`end` are ms. */
export interface LabelNamesRequest {
  readonly start: number;
  readonly end: number;
  readonly matchers?: readonly Matcher[];
  readonly partialResponseDisabled?: boolean;
  readonly partialResponseStrategy?: PartialResponseStrategy;
  readonly hints?: AnyMessage;
  readonly withoutReplicaLabels?: readonly string[];
  readonly limit?: number;
}

/** Sorted label names with warnings from partial failures. */
export interface LabelNamesResponse {
  readonly names: string[];
  readonly warnings: string[];
  readonly hints?: AnyMessage;
}

/** A LabelValues request (Thanos's storepb.LabelValuesRequest). */
export interface LabelValuesRequest extends LabelNamesRequest {
  readonly label: string;
}

/** Sorted label values with warnings from partial failures. */
export interface LabelValuesResponse {
  readonly values: string[];
  readonly warnings: string[];
  readonly hints?: AnyMessage;
}

/** Which kind of Thanos component serves a StoreAPI (infopb ComponentType strings). */
export type ComponentType = 'query' | 'rule' | 'sidecar' | 'store' | 'receive' | 'debug' | 'unknown';

/** Labels and time range of one TSDB behind a store (Thanos's infopb.TSDBInfo). */
export interface TSDBInfo {
  readonly labels: Labels;
  readonly minTime: number;
  readonly maxTime: number;
}

/**
 * What a store holds: the external label sets of its data and the time range (ms, inclusive),
 * used by queriers to skip stores that cannot match a query.
 */
export interface StoreInfo {
  readonly labelSets: readonly Labels[];
  readonly minTime: number;
  readonly maxTime: number;
  readonly componentType: ComponentType;
  /** The store drops `withoutReplicaLabels` itself and keeps series sorted afterwards. */
  readonly supportsWithoutReplicaLabels?: boolean;
  readonly supportsSharding?: boolean;
  readonly tsdbInfos?: readonly TSDBInfo[];
}

/**
 * The contract every data holder speaks, in-process and over gRPC (Thanos's StoreAPI).
 * `series` streams: consumers `for await` and may stop early; producers release resources then.
 */
export interface StoreAPI {
  info(signal?: AbortSignal): Promise<StoreInfo>;
  series(req: SeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse>;
  labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse>;
  labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse>;
}

/** Smallest time a store can report (Go's math.MinInt64 as ms, rounded to a double). */
export const MIN_TIME = -(2 ** 63);
/** Largest time a store can report (Go's math.MaxInt64 as ms, rounded to a double). */
export const MAX_TIME = 2 ** 63;
