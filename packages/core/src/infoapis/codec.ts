import { labelsFromPb, labelsToPb, toInt64, toNumber } from '../storeapi/codec.js';
import type { PartialResponseStrategy } from '../storeapi/store-api.js';
import type {
  ActiveTarget,
  DroppedTarget,
  ExemplarData,
  ExemplarsRequest,
  MetricMetadata,
  MetricMetadataRequest,
  TargetDiscovery,
  TargetHealth,
  TargetsRequest,
  TargetsState,
} from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: protobufjs plain objects.
type Pb = any;

function strategyFromPb(v: unknown): PartialResponseStrategy {
  return v === 1 || v === 'ABORT' ? 'ABORT' : 'WARN';
}

function strategyToPb(v: PartialResponseStrategy | undefined): number {
  return v === 'WARN' ? 0 : 1;
}

const HEALTH: TargetHealth[] = ['down', 'up', 'unknown'];
const STATES: TargetsState[] = ['any', 'active', 'dropped'];

/** MetricMetadataRequest to its protobuf object (absent limit: -1, no limit, as Thanos's HTTP API sends). */
export function metadataRequestToPb(r: MetricMetadataRequest): Pb {
  return {
    metric: r.metric ?? '',
    limit: r.limit ?? -1,
    partialResponseStrategy: strategyToPb(r.partialResponseStrategy),
  };
}

/** metadatapb.MetricMetadataRequest as MetricMetadataRequest. */
export function metadataRequestFromPb(p: Pb): MetricMetadataRequest {
  return {
    metric: p.metric ?? '',
    limit: p.limit ?? 0,
    partialResponseStrategy: strategyFromPb(p.partialResponseStrategy),
  };
}

/** MetricMetadata as metadatapb.MetricMetadata. */
export function metadataToPb(m: MetricMetadata): Pb {
  const metadata: Record<string, Pb> = {};
  for (const [k, metas] of Object.entries(m)) metadata[k] = { metas: metas.map((x) => ({ ...x })) };
  return { metadata };
}

/** metadatapb.MetricMetadata as MetricMetadata. */
export function metadataFromPb(p: Pb): MetricMetadata {
  const out: MetricMetadata = {};
  for (const [k, v] of Object.entries((p?.metadata ?? {}) as Record<string, Pb>))
    out[k] = (v.metas ?? []).map((m: Pb) => ({ type: m.type ?? '', help: m.help ?? '', unit: m.unit ?? '' }));
  return out;
}

/** TargetsRequest to its protobuf object. */
export function targetsRequestToPb(r: TargetsRequest): Pb {
  return {
    state: STATES.indexOf(r.state ?? 'any'),
    partialResponseStrategy: strategyToPb(r.partialResponseStrategy),
  };
}

/** targetspb.TargetsRequest as TargetsRequest. */
export function targetsRequestFromPb(p: Pb): TargetsRequest {
  const i = typeof p.state === 'number' ? p.state : ['ANY', 'ACTIVE', 'DROPPED'].indexOf(p.state ?? 'ANY');
  return { state: STATES[i] ?? 'any', partialResponseStrategy: strategyFromPb(p.partialResponseStrategy) };
}

/** TargetDiscovery as targetspb.TargetDiscovery. */
export function targetsToPb(t: TargetDiscovery): Pb {
  return {
    activeTargets: t.activeTargets.map((a) => ({
      discoveredLabels: { labels: labelsToPb(a.discoveredLabels) },
      labels: { labels: labelsToPb(a.labels) },
      scrapePool: a.scrapePool,
      scrapeUrl: a.scrapeUrl,
      globalUrl: a.globalUrl,
      lastError: a.lastError,
      lastScrape: { seconds: toInt64(Math.floor(a.lastScrape / 1000)), nanos: (a.lastScrape % 1000) * 1e6 },
      lastScrapeDuration: a.lastScrapeDuration,
      health: HEALTH.indexOf(a.health),
    })),
    droppedTargets: t.droppedTargets.map((d) => ({ discoveredLabels: { labels: labelsToPb(d.discoveredLabels) } })),
  };
}

/** targetspb.TargetDiscovery as TargetDiscovery. */
export function targetsFromPb(p: Pb): TargetDiscovery {
  const activeTargets: ActiveTarget[] = (p?.activeTargets ?? []).map((a: Pb) => ({
    discoveredLabels: labelsFromPb(a.discoveredLabels?.labels),
    labels: labelsFromPb(a.labels?.labels),
    scrapePool: a.scrapePool ?? '',
    scrapeUrl: a.scrapeUrl ?? '',
    globalUrl: a.globalUrl ?? '',
    lastError: a.lastError ?? '',
    lastScrape: a.lastScrape
      ? toNumber(a.lastScrape.seconds ?? 0) * 1000 + Math.floor((a.lastScrape.nanos ?? 0) / 1e6)
      : 0,
    lastScrapeDuration: a.lastScrapeDuration ?? 0,
    health:
      typeof a.health === 'number'
        ? (HEALTH[a.health] ?? 'unknown')
        : (String(a.health ?? 'DOWN').toLowerCase() as TargetHealth),
  }));
  const droppedTargets: DroppedTarget[] = (p?.droppedTargets ?? []).map((d: Pb) => ({
    discoveredLabels: labelsFromPb(d.discoveredLabels?.labels),
  }));
  return { activeTargets, droppedTargets };
}

/** ExemplarsRequest to its protobuf object. */
export function exemplarsRequestToPb(r: ExemplarsRequest): Pb {
  return {
    query: r.query,
    start: toInt64(r.start),
    end: toInt64(r.end),
    partialResponseStrategy: strategyToPb(r.partialResponseStrategy),
  };
}

/** exemplarspb.ExemplarsRequest as ExemplarsRequest. */
export function exemplarsRequestFromPb(p: Pb): ExemplarsRequest {
  return {
    query: p.query ?? '',
    start: toNumber(p.start ?? 0),
    end: toNumber(p.end ?? 0),
    partialResponseStrategy: strategyFromPb(p.partialResponseStrategy),
  };
}

/** ExemplarData as exemplarspb.ExemplarData. */
export function exemplarDataToPb(d: ExemplarData): Pb {
  return {
    seriesLabels: { labels: labelsToPb(d.seriesLabels) },
    exemplars: d.exemplars.map((e) => ({
      labels: { labels: labelsToPb(e.labels) },
      value: e.value,
      ts: toInt64(e.ts),
    })),
  };
}

/** exemplarspb.ExemplarData as ExemplarData. */
export function exemplarDataFromPb(p: Pb): ExemplarData {
  return {
    seriesLabels: labelsFromPb(p?.seriesLabels?.labels),
    exemplars: (p?.exemplars ?? []).map((e: Pb) => ({
      labels: labelsFromPb(e.labels?.labels),
      value: e.value ?? 0,
      ts: toNumber(e.ts ?? 0),
    })),
  };
}
