import { createHash } from 'node:crypto';
import type { ParseOptions } from '@thanos-ts/promql';
import type { Cache } from '../cache/cache.js';
import type { Logger } from '../log/logger.js';
import { decodeExtents, encodeExtents } from './extent-codec.js';
import type { SampleStats } from './matrix.js';
import { type RangeRequest, rangeCacheKey, rangeStepIndexKey, stepPhase, withRange } from './range-request.js';
import { extractRawMatrix, mergeRawMatrices, type RawMatrix } from './raw-matrix.js';
import { isCacheableQuery } from './split.js';

/** One cached stretch of a query's answer: every step timestamp in [start, end] is in `resp`. */
export interface Extent {
  start: number;
  end: number;
  resp: RawMatrix;
}

/** What the downstream answered for one request, and whether it allows caching. */
export interface DownstreamAnswer {
  resp: RawMatrix;
  /** False when the downstream said `Cache-Control: no-store`. */
  cacheable: boolean;
  /** The downstream's sample statistics, when the piece was asked with `stats=all`. Never cached. */
  samples?: SampleStats;
}

/** What {@link createResultsCache} needs. */
export interface ResultsCacheOptions {
  cache: Cache;
  /** Which PromQL the frontend reads, for the `@`/offset cacheability checks. Default: stable PromQL. */
  parse?: ParseOptions;
  /** TTL passed to `Cache.store`, ms; 0: the backend's own (memcached/redis `expiration`). */
  ttlMs: number;
  /** The split interval the key buckets starts by, ms (> 0). */
  splitIntervalMs: number;
  /** Answers newer than now minus this are never cached, ms (--query-range.response-cache-max-freshness). */
  maxFreshnessMs: number;
  now: () => number;
  /** Sends one request downstream (with retries and the parallelism bound). */
  next: (r: RangeRequest, signal: AbortSignal) => Promise<DownstreamAnswer>;
  logger: Logger;
  /** Counts looked-up keys and hits (cortex_cache_fetched_keys_total / cortex_cache_hits_total). */
  onFetch?: (requested: number, hits: number) => void;
}

/** The results cache in front of the downstream for one split piece at a time. */
export interface ResultsCache {
  /** Answers one split piece from cached extents, asking the downstream only for what is missing. */
  query(r: RangeRequest, signal: AbortSignal): Promise<RawMatrix>;
}

/**
 * Extents smaller than this are ignored when the request is larger (Cortex's minCacheExtent): a few
 * bigger downstream requests are cheaper than many tiny ones, and the new answer replaces them.
 */
const MIN_CACHE_EXTENT_MS = 5 * 60_000;

/** Thanos's commonQuerySteps (pkg/queryfrontend/cache.go): the steps dashboards use, coarsest first. */
const COMMON_STEPS = [
  12 * 3600_000,
  6 * 3600_000,
  3 * 3600_000,
  2 * 3600_000,
  3600_000,
  30 * 60_000,
  15 * 60_000,
  10 * 60_000,
  5 * 60_000,
  2 * 60_000,
  60_000,
  30_000,
  20_000,
  15_000,
  10_000,
  5_000,
  1_000,
];

/**
 * Cortex's results cache (internal/cortex/querier/queryrange/results_cache.go) over thanos-ts's
 * `Cache`: per key (see rangeCacheKey) a list of extents; a request is answered from the extents it
 * overlaps plus downstream requests for the gaps, and the merged extents are written back. Recent
 * data (within max freshness) is never written, nor answers the downstream marked `no-store`, nor
 * queries whose `@` lies in the future or that use a negative offset.
 */
export function createResultsCache(opts: ResultsCacheOptions): ResultsCache {
  /** The split interval r's key is bucketed by. */
  const intervalOf = (r: RangeRequest): number => r.splitIntervalMs ?? opts.splitIntervalMs;

  /** The entries of `keys` the cache holds, in `keys`' order (one round trip, counted). */
  async function fetchEntries(keys: string[], signal: AbortSignal): Promise<(Uint8Array | undefined)[]> {
    const hashed = keys.map(hashKey);
    const found = await opts.cache.fetch(hashed, signal);
    opts.onFetch?.(hashed.length, found.size);
    return hashed.map((h) => found.get(h));
  }

  /** The extents of the first of `keys` the cache holds (one round trip for all of them). */
  async function getFirst(keys: string[], signal: AbortSignal): Promise<Extent[] | undefined> {
    if (keys.length === 0) return undefined;
    const found = await fetchEntries(keys, signal);
    for (let i = 0; i < keys.length; i++) {
      const buf = found[i];
      if (!buf) continue;
      try {
        // A hash collision or an entry of another format: a miss (overwritten by this answer).
        const extents = decodeExtents(buf, keys[i] as string);
        if (extents) return extents;
      } catch (err) {
        opts.logger.warn('error decoding cached response', { err: String(err) });
      }
    }
    return undefined;
  }

  /**
   * The finer-step entries of r's query and interval the step index lists (`step/phase`), or an
   * empty set when there is no index yet. Fetched only when r's own key missed.
   */
  async function getStepIndex(key: string, signal: AbortSignal): Promise<Set<string>> {
    const [buf] = await fetchEntries([key], signal);
    if (!buf) return new Set();
    try {
      const doc = JSON.parse(UTF8.decode(buf)) as { key?: unknown; steps?: unknown };
      // A hash collision or another format: no index (rewritten with this request's step).
      if (doc.key !== key || !Array.isArray(doc.steps)) return new Set();
      return new Set(doc.steps.filter((x): x is string => typeof x === 'string'));
    } catch {
      return new Set();
    }
  }

  function putStepIndex(key: string, steps: Set<string>): void {
    opts.cache.store(hashKey(key), Buffer.from(JSON.stringify({ key, steps: [...steps] })), opts.ttlMs);
  }

  /**
   * Keys of the same query at a finer common dashboard step that divides this one (Thanos's
   * GenerateCacheKeyAlternatives), coarsest first: Grafana's presets ask the same panel at 15s, 1m,
   * 5m, … and a finer answer holds every timestamp of a coarser one on the same grid. Unlike Thanos,
   * which looks up every finer common step (nine keys for a 10m step, nearly all missing), only the
   * steps the step index lists are looked up.
   */
  function alternativeKeys(r: RangeRequest, listed: Set<string>): string[] {
    const keys: string[] = [];
    for (const s of COMMON_STEPS) {
      if (s >= r.step || r.step % s !== 0) continue;
      const finer = { ...r, step: s };
      if (listed.has(stepName(finer))) keys.push(rangeCacheKey(finer, intervalOf(r)));
    }
    return keys;
  }

  function put(key: string, extents: Extent[]): void {
    opts.cache.store(hashKey(key), encodeExtents(key, extents), opts.ttlMs);
  }

  function shouldCache(r: RangeRequest, a: DownstreamAnswer, maxCacheTime: number): boolean {
    return a.cacheable && isCacheableQuery(r.query, r.end, maxCacheTime, false, opts.parse);
  }

  /** The first timestamp of r's step grid at or after t. */
  function onGrid(r: RangeRequest, t: number): number {
    if (t <= r.start) return r.start;
    return r.start + Math.ceil((t - r.start) / r.step) * r.step;
  }

  /**
   * Extents of a finer step on the same grid, reduced to the timestamps of `r`'s step: each keeps
   * every one of r's timestamps in its range, so it is an extent of r's own.
   */
  function thinToGrid(r: RangeRequest, extents: Extent[]): Extent[] {
    const out: Extent[] = [];
    for (const e of extents) {
      const first = e.start + ((((r.start - e.start) % r.step) + r.step) % r.step);
      if (first > e.end) continue;
      out.push({ start: first, end: e.end, resp: extractRawMatrix(e.resp, first, e.end, r.step) });
    }
    return out;
  }

  /** Requests for the parts of r no usable extent covers, and the extents' share of the answer. */
  function partition(r: RangeRequest, extents: Extent[]): { requests: RangeRequest[]; cached: RawMatrix[] } {
    const requests: RangeRequest[] = [];
    const cached: RawMatrix[] = [];
    let start = r.start;
    for (const e of extents) {
      if (e.end < start || e.start > r.end) continue;
      if (r.start !== r.end && r.end - r.start > MIN_CACHE_EXTENT_MS && e.end - e.start < MIN_CACHE_EXTENT_MS) continue;
      if (start < e.start) requests.push(withRange(r, start, e.start));
      cached.push(extractRawMatrix(e.resp, start, r.end));
      // Cortex continues at the extent's end itself; when that end was not on this request's step
      // grid (an unaligned request wrote it) the gap request would evaluate at the wrong times, so
      // continue at the next grid timestamp instead.
      start = Math.max(start, onGrid(r, e.end));
    }
    if (start < r.end || (start === r.end && cached.length > 0 && !covers(extents, r.end)))
      requests.push(withRange(r, start, r.end));
    if (r.start === r.end && cached.length === 0) requests.push(r);
    return { requests, cached };
  }

  function covers(extents: Extent[], t: number): boolean {
    return extents.some((e) => e.start <= t && t <= e.end);
  }

  function mergeExtents(r: RangeRequest, extents: Extent[]): Extent[] {
    extents.sort((a, b) => (a.start === b.start ? b.end - a.end : a.start - b.start));
    const out: Extent[] = [];
    let acc: Extent | undefined;
    for (const e of extents) {
      if (!acc) {
        acc = { ...e };
        continue;
      }
      if (acc.end + r.step < e.start) {
        out.push(acc);
        acc = { ...e };
        continue;
      }
      if (acc.end >= e.end) continue;
      acc.resp = mergeRawMatrices([acc.resp, e.resp]);
      acc.end = e.end;
    }
    if (acc) out.push(acc);
    return out;
  }

  /** Cuts extents back so nothing newer than max freshness is stored (filterRecentExtents). */
  function withoutRecent(r: RangeRequest, extents: Extent[]): Extent[] {
    const limit = Math.floor((opts.now() - opts.maxFreshnessMs) / r.step) * r.step;
    const out: Extent[] = [];
    for (const e of extents) {
      if (e.end <= limit) out.push(e);
      else if (e.start <= limit)
        out.push({ start: e.start, end: limit, resp: extractRawMatrix(e.resp, e.start, limit) });
    }
    return out;
  }

  async function run(requests: RangeRequest[], signal: AbortSignal): Promise<[RangeRequest, DownstreamAnswer][]> {
    return Promise.all(requests.map(async (q) => [q, await opts.next(q, signal)] as [RangeRequest, DownstreamAnswer]));
  }

  return {
    async query(r, signal) {
      const maxCacheTime = opts.now() - opts.maxFreshnessMs;
      if (r.noStore || r.start > maxCacheTime) return (await opts.next(r, signal)).resp;
      const key = rangeCacheKey(r, intervalOf(r));
      let extents = await getFirst([key], signal);
      // A finer step's entry answers this one too (Thanos's alternative keys). Unlike Thanos, which
      // writes nothing back then, its extents are thinned to this request's step grid and stored
      // under this request's own key with whatever had to be fetched, so the next refresh of this
      // preset is a direct hit.
      let alternative = false;
      // The step index, when r's key missed and r's step is one a coarser step may reuse.
      let index: { key: string; listed: Set<string> } | undefined;
      if (!extents && COMMON_STEPS.includes(r.step)) {
        const indexKey = rangeStepIndexKey(r, intervalOf(r));
        index = { key: indexKey, listed: await getStepIndex(indexKey, signal) };
        const keys = alternativeKeys(r, index.listed);
        // The coarsest finer entry is the smallest to read; the others only if it is gone.
        const alt = (await getFirst(keys.slice(0, 1), signal)) ?? (await getFirst(keys.slice(1), signal));
        if (alt) {
          alternative = true;
          extents = thinToGrid(r, alt);
        }
      }
      let response: RawMatrix;
      let toStore: Extent[] = [];
      if (!extents) {
        const a = await opts.next(r, signal);
        response = a.resp;
        if (shouldCache(r, a, maxCacheTime)) toStore = [{ start: r.start, end: r.end, resp: a.resp }];
      } else {
        const { requests, cached } = partition(r, extents);
        const answers = requests.length > 0 ? await run(requests, signal) : [];
        const all = [...extents];
        for (const [q, a] of answers)
          if (shouldCache(q, a, maxCacheTime)) all.push({ start: q.start, end: q.end, resp: a.resp });
        response = mergeRawMatrices([...cached, ...answers.map(([, a]) => a.resp)]);
        if (all.length > extents.length || (alternative && all.length > 0)) toStore = mergeExtents(r, all);
      }
      const kept = withoutRecent(r, toStore);
      if (kept.length > 0) {
        put(key, kept);
        const name = stepName(r);
        if (index && !index.listed.has(name)) putStepIndex(index.key, index.listed.add(name));
      }
      return extractRawMatrix(response, r.start, r.end);
    },
  };
}

const UTF8 = new TextDecoder();

/** How the step index names an entry: its step and phase (`60000/0`). */
function stepName(r: RangeRequest): string {
  return `${r.step}/${stepPhase(r)}`;
}

/** The backend key of a cache key: hex SHA-256, short and safe for memcached's key rules. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
