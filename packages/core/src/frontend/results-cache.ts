import { createHash } from 'node:crypto';
import type { Cache } from '../cache/cache.js';
import type { Logger } from '../log/logger.js';
import { emptyMatrix, extractMatrix, type MatrixResponse, mergeMatrices } from './matrix.js';
import { type RangeRequest, rangeCacheKey, withRange } from './range-request.js';
import { isCacheableQuery } from './split.js';

/** One cached stretch of a query's answer: every step timestamp in [start, end] is in `resp`. */
export interface Extent {
  start: number;
  end: number;
  resp: MatrixResponse;
}

/** What the downstream answered for one request, and whether it allows caching. */
export interface DownstreamAnswer {
  resp: MatrixResponse;
  /** False when the downstream said `Cache-Control: no-store`. */
  cacheable: boolean;
}

/** What {@link createResultsCache} needs. */
export interface ResultsCacheOptions {
  cache: Cache;
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
  query(r: RangeRequest, signal: AbortSignal): Promise<MatrixResponse>;
}

/**
 * Extents smaller than this are ignored when the request is larger (Cortex's minCacheExtent): a few
 * bigger downstream requests are cheaper than many tiny ones, and the new answer replaces them.
 */
const MIN_CACHE_EXTENT_MS = 5 * 60_000;

/**
 * Cortex's results cache (internal/cortex/querier/queryrange/results_cache.go) over thanos-ts's
 * `Cache`: per key (see rangeCacheKey) a list of extents; a request is answered from the extents it
 * overlaps plus downstream requests for the gaps, and the merged extents are written back. Recent
 * data (within max freshness) is never written, nor answers the downstream marked `no-store`, nor
 * queries whose `@` lies in the future or that use a negative offset.
 */
export function createResultsCache(opts: ResultsCacheOptions): ResultsCache {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  async function get(key: string, signal: AbortSignal): Promise<Extent[] | undefined> {
    const hashed = hashKey(key);
    const found = await opts.cache.fetch([hashed], signal);
    const buf = found.get(hashed);
    opts.onFetch?.(1, buf ? 1 : 0);
    if (!buf) return undefined;
    try {
      const doc = JSON.parse(decoder.decode(buf)) as { key?: string; extents?: Extent[] };
      // A hash collision or an entry of another format: treat as a miss and overwrite it.
      if (doc.key !== key || !Array.isArray(doc.extents)) return undefined;
      return doc.extents;
    } catch (err) {
      opts.logger.warn('error decoding cached response', { err: String(err) });
      return undefined;
    }
  }

  function put(key: string, extents: Extent[]): void {
    opts.cache.store(hashKey(key), encoder.encode(JSON.stringify({ key, extents })), opts.ttlMs);
  }

  function shouldCache(r: RangeRequest, a: DownstreamAnswer, maxCacheTime: number): boolean {
    return a.cacheable && isCacheableQuery(r.query, r.end, maxCacheTime);
  }

  /** The first timestamp of r's step grid at or after t. */
  function onGrid(r: RangeRequest, t: number): number {
    if (t <= r.start) return r.start;
    return r.start + Math.ceil((t - r.start) / r.step) * r.step;
  }

  /** Requests for the parts of r no usable extent covers, and the extents' share of the answer. */
  function partition(r: RangeRequest, extents: Extent[]): { requests: RangeRequest[]; cached: MatrixResponse[] } {
    const requests: RangeRequest[] = [];
    const cached: MatrixResponse[] = [];
    let start = r.start;
    for (const e of extents) {
      if (e.end < start || e.start > r.end) continue;
      if (r.start !== r.end && r.end - r.start > MIN_CACHE_EXTENT_MS && e.end - e.start < MIN_CACHE_EXTENT_MS) continue;
      if (start < e.start) requests.push(withRange(r, start, e.start));
      cached.push(extractMatrix(e.resp, start, r.end));
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
      acc.resp = mergeMatrices([acc.resp, e.resp]);
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
      else if (e.start <= limit) out.push({ start: e.start, end: limit, resp: extractMatrix(e.resp, e.start, limit) });
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
      const key = rangeCacheKey(r, opts.splitIntervalMs);
      const extents = await get(key, signal);
      let response: MatrixResponse;
      let toStore: Extent[] = [];
      if (!extents) {
        const a = await opts.next(r, signal);
        response = a.resp;
        if (shouldCache(r, a, maxCacheTime)) toStore = [{ start: r.start, end: r.end, resp: a.resp }];
      } else {
        const { requests, cached } = partition(r, extents);
        if (requests.length === 0) return cached.length > 0 ? mergeMatrices(cached) : emptyMatrix();
        const answers = await run(requests, signal);
        const all = [...extents];
        for (const [q, a] of answers)
          if (shouldCache(q, a, maxCacheTime)) all.push({ start: q.start, end: q.end, resp: a.resp });
        response = mergeMatrices([...cached, ...answers.map(([, a]) => a.resp)]);
        toStore = all.length > extents.length ? mergeExtents(r, all) : [];
      }
      const kept = withoutRecent(r, toStore);
      if (kept.length > 0) put(key, kept);
      return extractMatrix(response, r.start, r.end);
    },
  };
}

/** The backend key of a cache key: hex SHA-256, short and safe for memcached's key rules. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
