import type { Labels } from '@thanos-ts/tsdb';
import type { PartialResponseStrategy } from '../storeapi/store-api.js';

/** One metadata entry of a metric (Prometheus's /api/v1/metadata item, Thanos's metadatapb.Meta). */
export interface MetricMeta {
  readonly type: string;
  readonly help: string;
  readonly unit: string;
}

/** Metadata entries by metric name. */
export type MetricMetadata = Record<string, MetricMeta[]>;

/** Thanos's metadatapb.MetricMetadataRequest. */
export interface MetricMetadataRequest {
  /** Only this metric; '' or absent: every metric. */
  readonly metric?: string;
  /** At most this many metrics; negative or absent: no limit, 0: none. */
  readonly limit?: number;
  /** Default 'ABORT'. */
  readonly partialResponseStrategy?: PartialResponseStrategy;
}

/** Prometheus's target health. */
export type TargetHealth = 'up' | 'down' | 'unknown';

/** A target being scraped (Thanos's targetspb.ActiveTarget). */
export interface ActiveTarget {
  readonly discoveredLabels: Labels;
  readonly labels: Labels;
  readonly scrapePool: string;
  readonly scrapeUrl: string;
  readonly globalUrl: string;
  readonly lastError: string;
  /** Start of the last scrape, ms since the epoch (0: never scraped). */
  readonly lastScrape: number;
  /** Duration of the last scrape, seconds. */
  readonly lastScrapeDuration: number;
  readonly health: TargetHealth;
}

/** A target relabelling dropped (Thanos's targetspb.DroppedTarget). */
export interface DroppedTarget {
  readonly discoveredLabels: Labels;
}

/** Thanos's targetspb.TargetDiscovery. */
export interface TargetDiscovery {
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
}

/** Which targets to list (Thanos's TargetsRequest.State). */
export type TargetsState = 'any' | 'active' | 'dropped';

/** Thanos's targetspb.TargetsRequest. */
export interface TargetsRequest {
  /** Default 'any'. */
  readonly state?: TargetsState;
  /** Default 'ABORT'. */
  readonly partialResponseStrategy?: PartialResponseStrategy;
}

/** One exemplar (Thanos's exemplarspb.Exemplar). */
export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  /** ms since the epoch. */
  readonly ts: number;
}

/** Exemplars of one series (Thanos's exemplarspb.ExemplarData). */
export interface ExemplarData {
  seriesLabels: Labels;
  exemplars: Exemplar[];
}

/** Thanos's exemplarspb.ExemplarsRequest. */
export interface ExemplarsRequest {
  /** A PromQL expression; exemplars of the series its selectors select. */
  readonly query: string;
  /** ms since the epoch. */
  readonly start: number;
  /** ms since the epoch. */
  readonly end: number;
  /** Default 'ABORT'. */
  readonly partialResponseStrategy?: PartialResponseStrategy;
}

/** What an API call answers: its data and warnings (partial responses). */
export interface WithWarnings<T> {
  data: T;
  warnings: string[];
}

/** Thanos's Metadata service, in-process. */
export interface MetadataAPI {
  metricMetadata(req: MetricMetadataRequest, signal?: AbortSignal): Promise<WithWarnings<MetricMetadata>>;
}

/** Thanos's Targets service, in-process. */
export interface TargetsAPI {
  targets(req: TargetsRequest, signal?: AbortSignal): Promise<WithWarnings<TargetDiscovery>>;
}

/** Thanos's Exemplars service, in-process. */
export interface ExemplarsAPI {
  exemplars(req: ExemplarsRequest, signal?: AbortSignal): Promise<WithWarnings<ExemplarData[]>>;
}
