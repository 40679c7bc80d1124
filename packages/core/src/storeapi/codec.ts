import { compareStrings, InvalidArgumentError, Labels, Matcher, type MatchType } from '@thanos-ts/tsdb';
import protobuf from 'protobufjs';
import type {
  Aggr,
  AggrChunk,
  AnyMessage,
  Chunk,
  ChunkEncoding,
  ComponentType,
  LabelNamesRequest,
  LabelNamesResponse,
  LabelValuesRequest,
  LabelValuesResponse,
  PartialResponseStrategy,
  SeriesRequest,
  SeriesResponse,
  StoreInfo,
  StoreSeries,
} from './store-api.js';

// Conversions between the StoreAPI's TypeScript shapes and the plain objects protobufjs encodes
// and decodes (camelCase field names, enums as numbers, int64 as Long or number).

// protobufjs decodes int64 into long.js instances; its bundled constructor avoids a direct dependency.
// biome-ignore lint/suspicious/noExplicitAny: long.js's static API is not in protobufjs's typings.
const Long: any = protobuf.util.Long;
type Long = protobuf.Long;
type LongLike = number | Long | null | undefined;
// biome-ignore lint/suspicious/noExplicitAny: protobufjs messages are untyped plain objects.
type Pb = any;

const TWO_63 = 2 ** 63;

/** An int64 from protobufjs (Long or number) as a JS number (exact up to 2^53). */
export function toNumber(v: LongLike): number {
  if (v == null) return 0;
  if (typeof v === 'number') return v;
  return (Long.fromValue(v) as { toNumber(): number }).toNumber();
}

/** A JS number as an int64 for protobufjs, clamped to Go's int64 range (math.MaxInt64 rounds up as a double). */
export function toInt64(v: number | undefined): number | Long {
  if (v === undefined || !Number.isFinite(v)) {
    if (v === Number.POSITIVE_INFINITY) return Long.MAX_VALUE;
    if (v === Number.NEGATIVE_INFINITY) return Long.MIN_VALUE;
    return 0;
  }
  if (v >= TWO_63) return Long.MAX_VALUE;
  if (v <= -TWO_63) return Long.MIN_VALUE;
  return Math.trunc(v);
}

const MATCH_TYPES: MatchType[] = ['=', '!=', '=~', '!~'];
const ENCODINGS: ChunkEncoding[] = ['XOR', 'HISTOGRAM', 'FLOAT_HISTOGRAM'];
const AGGRS: Aggr[] = ['RAW', 'COUNT', 'SUM', 'MIN', 'MAX', 'COUNTER'];
const STRATEGIES: PartialResponseStrategy[] = ['WARN', 'ABORT'];
const STORE_TYPES: ComponentType[] = ['unknown', 'query', 'rule', 'sidecar', 'store', 'receive', 'debug'];

/** Matchers as storepb.LabelMatcher objects. */
export function matchersToPb(matchers: readonly Matcher[] | undefined): Pb[] {
  return (matchers ?? []).map((m) => ({ type: MATCH_TYPES.indexOf(m.type), name: m.name, value: m.value }));
}

/** storepb.LabelMatcher objects as Matchers; a bad regex or type is an InvalidArgumentError. */
export function matchersFromPb(list: Pb[] | undefined): Matcher[] {
  return (list ?? []).map((m: Pb) => {
    const type = MATCH_TYPES[m.type ?? 0];
    if (type === undefined) throw new InvalidArgumentError(`unknown label matcher type ${m.type}`);
    return new Matcher(type, m.name ?? '', m.value ?? '');
  });
}

/** Labels as repeated labelpb.Label. */
export function labelsToPb(labels: Labels): Pb[] {
  const flat = labels.toFlat();
  const out: Pb[] = new Array(flat.length >> 1);
  for (let i = 0; i < flat.length; i += 2) out[i >> 1] = { name: flat[i], value: flat[i + 1] };
  return out;
}

/** repeated labelpb.Label as Labels; trusts sorted input (as Thanos sends it) but checks. */
export function labelsFromPb(list: Pb[] | undefined): Labels {
  if (!list || list.length === 0) return Labels.EMPTY;
  const flat: string[] = new Array(list.length * 2);
  let sorted = true;
  for (let i = 0; i < list.length; i++) {
    const name = list[i].name as string;
    flat[2 * i] = name;
    flat[2 * i + 1] = list[i].value as string;
    if (sorted && i > 0 && compareStrings(flat[2 * i - 2] as string, name) >= 0) sorted = false;
    if (flat[2 * i + 1] === '') sorted = false;
  }
  if (sorted) return Labels.fromSortedFlat(flat);
  return Labels.from(list.map((l: Pb) => [l.name as string, l.value as string] as const));
}

function chunkToPb(c: Chunk | undefined): Pb | undefined {
  if (!c) return undefined;
  const out: Pb = { type: ENCODINGS.indexOf(c.type), data: c.data };
  if (c.hash) out.hash = Long.fromString(c.hash.toString(), true);
  return out;
}

function chunkFromPb(c: Pb | null | undefined): Chunk | undefined {
  if (!c) return undefined;
  const type = ENCODINGS[c.type ?? 0] ?? 'XOR';
  const h = c.hash;
  const hash =
    h && !(typeof h === 'number' && h === 0) && !(typeof h === 'object' && h.low === 0 && h.high === 0)
      ? BigInt(h.toString())
      : undefined;
  return hash === undefined ? { type, data: c.data ?? new Uint8Array(0) } : { type, data: c.data, hash };
}

/** A series as storepb.Series. */
export function seriesToPb(s: StoreSeries): Pb {
  return {
    labels: labelsToPb(s.labels),
    chunks: s.chunks.map((c: AggrChunk) => ({
      minTime: toInt64(c.minTime),
      maxTime: toInt64(c.maxTime),
      raw: chunkToPb(c.raw),
      count: chunkToPb(c.count),
      sum: chunkToPb(c.sum),
      min: chunkToPb(c.min),
      max: chunkToPb(c.max),
      counter: chunkToPb(c.counter),
    })),
  };
}

/** storepb.Series as a series. */
export function seriesFromPb(s: Pb): StoreSeries {
  const chunks: AggrChunk[] = (s.chunks ?? []).map((c: Pb) => {
    const out: { -readonly [K in keyof AggrChunk]: AggrChunk[K] } = {
      minTime: toNumber(c.minTime),
      maxTime: toNumber(c.maxTime),
    };
    if (c.raw) out.raw = chunkFromPb(c.raw);
    if (c.count) out.count = chunkFromPb(c.count);
    if (c.sum) out.sum = chunkFromPb(c.sum);
    if (c.min) out.min = chunkFromPb(c.min);
    if (c.max) out.max = chunkFromPb(c.max);
    if (c.counter) out.counter = chunkFromPb(c.counter);
    return out;
  });
  return { labels: labelsFromPb(s.labels), chunks };
}

function anyToPb(a: AnyMessage | undefined): Pb | undefined {
  // protobufjs's bundled well-known types keep proto field names (type_url), not camelCase.
  return a ? { type_url: a.typeUrl, value: a.value } : undefined;
}

function anyFromPb(a: Pb | null | undefined): AnyMessage | undefined {
  if (!a) return undefined;
  return { typeUrl: a.type_url ?? a.typeUrl ?? '', value: a.value ?? new Uint8Array(0) };
}

/** A SeriesResponse as storepb.SeriesResponse. */
export function seriesResponseToPb(r: SeriesResponse): Pb {
  switch (r.type) {
    case 'series':
      return { series: seriesToPb(r.series) };
    case 'warning':
      return { warning: r.warning };
    case 'hints':
      return { hints: anyToPb(r.hints) };
  }
}

/** storepb.SeriesResponse as zero or more SeriesResponses (a batch unpacks into its series). */
export function seriesResponsesFromPb(r: Pb): SeriesResponse[] {
  switch (r.result) {
    case 'series':
      return [{ type: 'series', series: seriesFromPb(r.series) }];
    case 'warning':
      return [{ type: 'warning', warning: r.warning as string }];
    case 'hints':
      return [{ type: 'hints', hints: anyFromPb(r.hints) as AnyMessage }];
    case 'batch':
      return (r.batch?.series ?? []).map((s: Pb) => ({ type: 'series', series: seriesFromPb(s) }) as SeriesResponse);
    default:
      return [];
  }
}

/** A SeriesRequest as storepb.SeriesRequest. */
export function seriesRequestToPb(r: SeriesRequest): Pb {
  const q = r.queryHints;
  return {
    minTime: toInt64(r.minTime),
    maxTime: toInt64(r.maxTime),
    matchers: matchersToPb(r.matchers),
    maxResolutionWindow: toInt64(r.maxResolutionWindow ?? 0),
    aggregates: (r.aggregates ?? []).map((a) => AGGRS.indexOf(a)),
    partialResponseDisabled: r.partialResponseDisabled ?? false,
    partialResponseStrategy: STRATEGIES.indexOf(r.partialResponseStrategy ?? 'WARN'),
    skipChunks: r.skipChunks ?? false,
    hints: anyToPb(r.hints),
    step: toInt64(r.step ?? 0),
    range: toInt64(r.range ?? 0),
    queryHints: q
      ? {
          stepMillis: toInt64(q.stepMillis ?? 0),
          func: q.func ? { name: q.func } : undefined,
          grouping: q.grouping ? { by: q.grouping.by, labels: [...q.grouping.labels] } : undefined,
          range: q.rangeMillis ? { millis: toInt64(q.rangeMillis) } : undefined,
          projectionLabels: [...(q.projectionLabels ?? [])],
          projectionInclude: q.projectionInclude ?? false,
          seriesHashLabelName: q.seriesHashLabelName ?? '',
        }
      : undefined,
    shardInfo: r.shardInfo
      ? {
          shardIndex: toInt64(r.shardInfo.shardIndex),
          totalShards: toInt64(r.shardInfo.totalShards),
          by: r.shardInfo.by,
          labels: [...r.shardInfo.labels],
        }
      : undefined,
    withoutReplicaLabels: [...(r.withoutReplicaLabels ?? [])],
    limit: toInt64(r.limit ?? 0),
    responseBatchSize: toInt64(r.responseBatchSize ?? 0),
  };
}

/** storepb.SeriesRequest as a SeriesRequest. */
export function seriesRequestFromPb(r: Pb): SeriesRequest {
  const q = r.queryHints;
  return {
    minTime: toNumber(r.minTime),
    maxTime: toNumber(r.maxTime),
    matchers: matchersFromPb(r.matchers),
    maxResolutionWindow: toNumber(r.maxResolutionWindow),
    aggregates: (r.aggregates ?? []).map((a: number) => AGGRS[a] ?? 'RAW'),
    partialResponseDisabled: r.partialResponseDisabled ?? false,
    partialResponseStrategy: STRATEGIES[r.partialResponseStrategy ?? 0] ?? 'WARN',
    skipChunks: r.skipChunks ?? false,
    hints: anyFromPb(r.hints),
    step: toNumber(r.step),
    range: toNumber(r.range),
    queryHints: q
      ? {
          stepMillis: toNumber(q.stepMillis),
          func: q.func?.name || undefined,
          grouping: q.grouping ? { by: q.grouping.by ?? false, labels: q.grouping.labels ?? [] } : undefined,
          rangeMillis: q.range ? toNumber(q.range.millis) : undefined,
          projectionLabels: q.projectionLabels ?? [],
          projectionInclude: q.projectionInclude ?? false,
          seriesHashLabelName: q.seriesHashLabelName ?? '',
        }
      : undefined,
    shardInfo: r.shardInfo
      ? {
          shardIndex: toNumber(r.shardInfo.shardIndex),
          totalShards: toNumber(r.shardInfo.totalShards),
          by: r.shardInfo.by ?? false,
          labels: r.shardInfo.labels ?? [],
        }
      : undefined,
    withoutReplicaLabels: r.withoutReplicaLabels ?? [],
    limit: toNumber(r.limit),
    responseBatchSize: toNumber(r.responseBatchSize),
  };
}

/** A LabelNamesRequest as storepb.LabelNamesRequest. */
export function labelNamesRequestToPb(r: LabelNamesRequest): Pb {
  return {
    partialResponseDisabled: r.partialResponseDisabled ?? false,
    partialResponseStrategy: STRATEGIES.indexOf(r.partialResponseStrategy ?? 'WARN'),
    start: toInt64(r.start),
    end: toInt64(r.end),
    hints: anyToPb(r.hints),
    matchers: matchersToPb(r.matchers),
    withoutReplicaLabels: [...(r.withoutReplicaLabels ?? [])],
    limit: toInt64(r.limit ?? 0),
  };
}

/** storepb.LabelNamesRequest as a LabelNamesRequest. */
export function labelNamesRequestFromPb(r: Pb): LabelNamesRequest {
  return {
    partialResponseDisabled: r.partialResponseDisabled ?? false,
    partialResponseStrategy: STRATEGIES[r.partialResponseStrategy ?? 0] ?? 'WARN',
    start: toNumber(r.start),
    end: toNumber(r.end),
    hints: anyFromPb(r.hints),
    matchers: matchersFromPb(r.matchers),
    withoutReplicaLabels: r.withoutReplicaLabels ?? [],
    limit: toNumber(r.limit),
  };
}

/** A LabelValuesRequest as storepb.LabelValuesRequest. */
export function labelValuesRequestToPb(r: LabelValuesRequest): Pb {
  return { ...labelNamesRequestToPb(r), label: r.label };
}

/** storepb.LabelValuesRequest as a LabelValuesRequest. */
export function labelValuesRequestFromPb(r: Pb): LabelValuesRequest {
  return { ...labelNamesRequestFromPb(r), label: r.label ?? '' };
}

/** Label names/values responses to and from protobuf. */
export function labelNamesResponseToPb(r: LabelNamesResponse): Pb {
  return { names: r.names, warnings: r.warnings, hints: anyToPb(r.hints) };
}
/** storepb.LabelNamesResponse as a LabelNamesResponse. */
export function labelNamesResponseFromPb(r: Pb): LabelNamesResponse {
  const hints = anyFromPb(r.hints);
  return hints
    ? { names: r.names ?? [], warnings: r.warnings ?? [], hints }
    : { names: r.names ?? [], warnings: r.warnings ?? [] };
}
/** A LabelValuesResponse as storepb.LabelValuesResponse. */
export function labelValuesResponseToPb(r: LabelValuesResponse): Pb {
  return { values: r.values, warnings: r.warnings, hints: anyToPb(r.hints) };
}
/** storepb.LabelValuesResponse as a LabelValuesResponse. */
export function labelValuesResponseFromPb(r: Pb): LabelValuesResponse {
  const hints = anyFromPb(r.hints);
  return hints
    ? { values: r.values ?? [], warnings: r.warnings ?? [], hints }
    : { values: r.values ?? [], warnings: r.warnings ?? [] };
}

/** StoreInfo as infopb.InfoResponse (the Info service). */
export function infoToPb(info: StoreInfo): Pb {
  return {
    labelSets: info.labelSets.map((ls) => ({ labels: labelsToPb(ls) })),
    ComponentType: info.componentType,
    store: {
      minTime: toInt64(info.minTime),
      maxTime: toInt64(info.maxTime),
      supportsSharding: info.supportsSharding ?? false,
      supportsWithoutReplicaLabels: info.supportsWithoutReplicaLabels ?? false,
      tsdbInfos: (info.tsdbInfos ?? []).map((t) => ({
        labels: { labels: labelsToPb(t.labels) },
        minTime: toInt64(t.minTime),
        maxTime: toInt64(t.maxTime),
      })),
    },
    query: info.componentType === 'query' ? {} : undefined,
  };
}

/** infopb.InfoResponse as StoreInfo (an endpoint without `store` serves no series: empty range). */
export function infoFromPb(r: Pb): StoreInfo {
  const comp = (r.ComponentType || r.componentType || 'unknown') as string;
  const componentType = (STORE_TYPES as string[]).includes(comp) ? (comp as ComponentType) : 'unknown';
  const store = r.store;
  return {
    labelSets: (r.labelSets ?? []).map((ls: Pb) => labelsFromPb(ls.labels)),
    minTime: store ? toNumber(store.minTime) : 0,
    maxTime: store ? toNumber(store.maxTime) : -1,
    componentType,
    supportsWithoutReplicaLabels: store?.supportsWithoutReplicaLabels ?? false,
    supportsSharding: store?.supportsSharding ?? false,
    tsdbInfos: (store?.tsdbInfos ?? []).map((t: Pb) => ({
      labels: labelsFromPb(t.labels?.labels),
      minTime: toNumber(t.minTime),
      maxTime: toNumber(t.maxTime),
    })),
  };
}

/** StoreInfo as the legacy storepb.InfoResponse (Store.Info, Thanos before v0.32). */
export function legacyInfoToPb(info: StoreInfo): Pb {
  return {
    labels: info.labelSets.length === 1 ? labelsToPb(info.labelSets[0] as Labels) : [],
    minTime: toInt64(info.minTime),
    maxTime: toInt64(info.maxTime),
    storeType: Math.max(0, STORE_TYPES.indexOf(info.componentType)),
    labelSets: info.labelSets.map((ls) => ({ labels: labelsToPb(ls) })),
  };
}

/** Legacy storepb.InfoResponse as StoreInfo. */
export function legacyInfoFromPb(r: Pb): StoreInfo {
  const labelSets: Labels[] = (r.labelSets ?? []).map((ls: Pb) => labelsFromPb(ls.labels));
  if (labelSets.length === 0 && (r.labels ?? []).length > 0) labelSets.push(labelsFromPb(r.labels));
  return {
    labelSets,
    minTime: toNumber(r.minTime),
    maxTime: toNumber(r.maxTime),
    componentType: STORE_TYPES[r.storeType ?? 0] ?? 'unknown',
  };
}
