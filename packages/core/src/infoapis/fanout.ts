import { inspect, parseExpr } from '@thanos-ts/promql';
import { compareLabels, compareStrings, InvalidArgumentError, type Labels, type Matcher } from '@thanos-ts/tsdb';
import type { PartialResponseStrategy } from '../storeapi/store-api.js';
import { InfoAPIError } from './errors.js';
import type {
  ActiveTarget,
  DroppedTarget,
  Exemplar,
  ExemplarData,
  ExemplarsAPI,
  ExemplarsRequest,
  MetadataAPI,
  MetricMetadata,
  MetricMetadataRequest,
  TargetDiscovery,
  TargetsAPI,
  TargetsRequest,
  WithWarnings,
} from './types.js';

/** One endpoint of the querier as the fan-out sees it: the APIs it advertises. */
export interface InfoAPIsEndpoint {
  /** Shown in warnings and errors (its address). */
  readonly name: string;
  /** Its external label sets (Info's label_sets), to route exemplar queries. */
  readonly labelSets: readonly Labels[];
  /**
   * The endpoint takes matchers on external labels itself (a querier); otherwise matchers on its
   * external label names are left out of the exemplar query, as Prometheus knows no such labels.
   */
  readonly supportsExternalLabels?: boolean;
  readonly metadata?: MetadataAPI;
  readonly targets?: TargetsAPI;
  readonly exemplars?: ExemplarsAPI;
}

/** Options of {@link createInfoAPIsFanout}. */
export interface InfoAPIsFanoutOptions {
  /** The endpoints to ask, read on every call (e.g. {@link InfoAPIsEndpointSet.endpoints}). */
  endpoints: () => readonly InfoAPIsEndpoint[] | Promise<readonly InfoAPIsEndpoint[]>;
  /** Labels removed before deduplicating targets and exemplars (Thanos's --query.replica-label). Default none. */
  replicaLabels?: readonly string[];
}

/** The querier's merged view of every endpoint's Metadata, Targets and Exemplars. */
export interface InfoAPIsFanout extends MetadataAPI, TargetsAPI, ExemplarsAPI {}

/**
 * Runs `call` on every endpoint concurrently. A failure is a warning under the WARN strategy and
 * fails the whole call under ABORT (Thanos's proxies); warnings endpoints send are kept.
 */
async function fanOut<A, T>(
  endpoints: readonly { name: string; api: A }[],
  strategy: PartialResponseStrategy,
  what: string,
  call: (api: A) => Promise<WithWarnings<T>>,
): Promise<{ results: T[]; warnings: string[] }> {
  const settled = await Promise.allSettled(endpoints.map((e) => call(e.api)));
  const results: T[] = [];
  const warnings: string[] = [];
  for (let i = 0; i < settled.length; i++) {
    const s = settled[i] as PromiseSettledResult<WithWarnings<T>>;
    const name = (endpoints[i] as { name: string }).name;
    if (s.status === 'fulfilled') {
      results.push(s.value.data);
      warnings.push(...s.value.warnings);
      continue;
    }
    const msg = `fetching ${what} from ${name}: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`;
    if (strategy === 'ABORT') throw new InfoAPIError(apiOf(what), msg, { cause: s.reason });
    warnings.push(msg);
  }
  return { results, warnings };
}

function apiOf(what: string): 'metadata' | 'targets' | 'exemplars' {
  return what.startsWith('metric') ? 'metadata' : what === 'targets' ? 'targets' : 'exemplars';
}

function sameMeta(a: { type: string; help: string; unit: string }, b: { type: string; help: string; unit: string }) {
  return a.type === b.type && a.help === b.help && a.unit === b.unit;
}

/**
 * Merges metadata maps as Thanos's querier does: a metric's entries are the union of every
 * endpoint's distinct ones; with `limit` > 0 at most that many metrics are kept (the first
 * seen), 0 keeps none, negative no limit.
 */
export function mergeMetadata(results: readonly MetricMetadata[], limit = -1): MetricMetadata {
  const out: MetricMetadata = {};
  if (limit === 0) return out;
  let count = 0;
  for (const r of results)
    for (const [name, metas] of Object.entries(r)) {
      const have = out[name];
      if (!have) {
        if (limit < 0 || count < limit) {
          out[name] = [...metas];
          count++;
        }
        continue;
      }
      for (const m of metas) if (!have.some((h) => sameMeta(h, m))) have.push(m);
    }
  return out;
}

const HEALTH_ORDER = { down: 0, up: 1, unknown: 2 } as const;

function compareActive(a: ActiveTarget, b: ActiveTarget): number {
  return (
    compareStrings(a.scrapeUrl, b.scrapeUrl) ||
    compareStrings(a.scrapePool, b.scrapePool) ||
    compareLabels(a.discoveredLabels, b.discoveredLabels) ||
    compareLabels(a.labels, b.labels)
  );
}

/** Thanos's CompareState: healthier first by enum order (down < up < unknown), then the newest scrape. */
function compareState(a: ActiveTarget, b: ActiveTarget): number {
  const d = HEALTH_ORDER[a.health] - HEALTH_ORDER[b.health];
  if (d !== 0) return d;
  if (a.lastScrape < b.lastScrape) return 1;
  if (a.lastScrape > b.lastScrape) return -1;
  return 0;
}

/**
 * Deduplicates targets as Thanos's querier does: replica labels are removed from their label
 * sets, then targets equal in scrape URL, scrape pool, discovered labels and labels are one —
 * for active targets the one with the lowest health (down before up) and the latest scrape is kept.
 * The result is sorted by scrape URL.
 */
export function dedupTargets(t: TargetDiscovery, replicaLabels: readonly string[] = []): TargetDiscovery {
  const active = t.activeTargets
    .map((a) => ({
      ...a,
      discoveredLabels: a.discoveredLabels.without(replicaLabels),
      labels: a.labels.without(replicaLabels),
    }))
    .sort((a, b) => compareActive(a, b) || compareState(a, b));
  const activeOut: ActiveTarget[] = [];
  for (const a of active) {
    const last = activeOut[activeOut.length - 1];
    if (last && compareActive(last, a) === 0) continue; // sorted: the first of a run wins CompareState
    activeOut.push(a);
  }
  const dropped = t.droppedTargets
    .map((d) => ({ discoveredLabels: d.discoveredLabels.without(replicaLabels) }))
    .sort((a, b) => compareLabels(a.discoveredLabels, b.discoveredLabels));
  const droppedOut: DroppedTarget[] = [];
  for (const d of dropped) {
    const last = droppedOut[droppedOut.length - 1];
    if (last && compareLabels(last.discoveredLabels, d.discoveredLabels) === 0) continue;
    droppedOut.push(d);
  }
  return { activeTargets: activeOut, droppedTargets: droppedOut };
}

function compareExemplar(a: Exemplar, b: Exemplar): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  const d = compareLabels(a.labels, b.labels);
  if (d !== 0) return d;
  return a.value === b.value || (Number.isNaN(a.value) && Number.isNaN(b.value)) ? 0 : a.value < b.value ? -1 : 1;
}

/**
 * Deduplicates exemplars as Thanos's querier does: replica labels are removed from the series
 * labels, series with equal labels are merged, their exemplars sorted by timestamp and equal ones
 * (timestamp, labels, value) kept once; series without exemplars are dropped. Sorted by series labels.
 */
export function dedupExemplars(data: readonly ExemplarData[], replicaLabels: readonly string[] = []): ExemplarData[] {
  const byKey = new Map<string, ExemplarData>();
  for (const d of data) {
    if (d.exemplars.length === 0) continue;
    const seriesLabels = d.seriesLabels.without(replicaLabels);
    const key = seriesLabels.key();
    const have = byKey.get(key);
    if (have) have.exemplars.push(...d.exemplars);
    else byKey.set(key, { seriesLabels, exemplars: [...d.exemplars] });
  }
  const out = [...byKey.values()];
  for (const d of out) {
    d.exemplars.sort(compareExemplar);
    d.exemplars = d.exemplars.filter((e, i, all) => i === 0 || compareExemplar(all[i - 1] as Exemplar, e) !== 0);
  }
  return out.sort((a, b) => compareLabels(a.seriesLabels, b.seriesLabels));
}

/** The matchers of every selector in a PromQL expression (Prometheus's parser.ExtractSelectors). */
export function extractSelectors(query: string): Matcher[][] {
  const expr = parseExpr(query);
  const out: Matcher[][] = [];
  inspect(expr, (node) => {
    if (node.type === 'VectorSelector') out.push(node.matchers);
  });
  return out;
}

/** Thanos's store.LabelSetsMatch: some label set does not contradict the matchers (no sets: true). */
function labelSetsMatch(matchers: readonly Matcher[], sets: readonly Labels[]): boolean {
  if (sets.length === 0) return true;
  return sets.some((ls) => matchers.every((m) => !ls.has(m.name) || m.matches(ls.get(m.name))));
}

// Thanos's text (pkg/exemplars/proxy.go), answered as InvalidArgument.
const NO_MATCHERS = 'no matchers specified (excluding external labels)';

/**
 * The exemplar query sent to one endpoint, as Thanos's exemplars proxy builds it: each selector
 * the endpoint's label sets can match, without matchers on its external label names (unless it
 * takes them), joined with '+'. Undefined when no selector matches the endpoint.
 */
export function exemplarQueryFor(selectors: readonly Matcher[][], e: InfoAPIsEndpoint): string | undefined {
  const parts: string[] = [];
  for (const ms of selectors) {
    if (!labelSetsMatch(ms, e.labelSets)) continue;
    const kept = ms.filter((m) => e.supportsExternalLabels || !e.labelSets.some((ls) => ls.get(m.name) !== ''));
    parts.push(`{${kept.map(String).join(', ')}}`);
  }
  return parts.length > 0 ? parts.join('+') : undefined;
}

/**
 * The querier's Metadata, Targets and Exemplars over its endpoints: every endpoint advertising
 * the API is asked concurrently, then the answers are merged and deduplicated as Thanos's querier
 * does ({@link mergeMetadata}, {@link dedupTargets}, {@link dedupExemplars}). Under the 'WARN'
 * strategy a failing endpoint becomes a warning; under 'ABORT' (the default) the call fails.
 */
export function createInfoAPIsFanout(opts: InfoAPIsFanoutOptions): InfoAPIsFanout {
  const replicaLabels = opts.replicaLabels ?? [];
  return {
    async metricMetadata(req: MetricMetadataRequest, signal?: AbortSignal) {
      const eps = (await opts.endpoints()).flatMap((e) => (e.metadata ? [{ name: e.name, api: e.metadata }] : []));
      const { results, warnings } = await fanOut(
        eps,
        req.partialResponseStrategy ?? 'ABORT',
        'metric metadata',
        (api) => api.metricMetadata(req, signal),
      );
      return { data: mergeMetadata(results, req.limit ?? -1), warnings };
    },

    async targets(req: TargetsRequest, signal?: AbortSignal) {
      const eps = (await opts.endpoints()).flatMap((e) => (e.targets ? [{ name: e.name, api: e.targets }] : []));
      const { results, warnings } = await fanOut(eps, req.partialResponseStrategy ?? 'ABORT', 'targets', (api) =>
        api.targets(req, signal),
      );
      const all: TargetDiscovery = { activeTargets: [], droppedTargets: [] };
      for (const r of results) {
        all.activeTargets.push(...r.activeTargets);
        all.droppedTargets.push(...r.droppedTargets);
      }
      return { data: dedupTargets(all, replicaLabels), warnings };
    },

    async exemplars(req: ExemplarsRequest, signal?: AbortSignal) {
      const selectors = extractSelectors(req.query);
      if (selectors.length === 0 || selectors.every((s) => s.length === 0)) throw new InvalidArgumentError(NO_MATCHERS);
      const eps: { name: string; api: { api: ExemplarsAPI; query: string } }[] = [];
      for (const e of await opts.endpoints()) {
        if (!e.exemplars) continue;
        const query = exemplarQueryFor(selectors, e);
        if (query !== undefined) eps.push({ name: e.name, api: { api: e.exemplars, query } });
      }
      const { results, warnings } = await fanOut(eps, req.partialResponseStrategy ?? 'ABORT', 'exemplars', (x) =>
        x.api.exemplars({ ...req, query: x.query }, signal),
      );
      return { data: dedupExemplars(results.flat(), replicaLabels), warnings };
    },
  };
}
