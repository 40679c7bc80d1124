import { parse as parseYaml } from 'yaml';
import type { Cache } from '../cache/cache.js';
import {
  type CacheBackendOptions,
  parseBytes,
  parseDuration,
  parseMemcachedClientConfig,
  parseRedisClientConfig,
} from '../cache/config.js';
import { createInMemoryCache } from '../cache/inmemory.js';
import { createMemcachedCache } from '../cache/memcached.js';
import { createRedisCache } from '../cache/redis.js';
import { snappyDecode, snappyEncode } from '../sidecar/prompb/snappy.js';
import { FrontendConfigError } from './errors.js';

/**
 * A parsed `--query-range.response-cache-config` or `--labels.response-cache-config`
 * (Thanos's pkg/queryfrontend/config.go CacheProviderConfig).
 */
export interface ResponseCacheConfig {
  /** The backend; `undefined` when the YAML configures no usable cache (IN-MEMORY with no size). */
  cache: Cache | undefined;
  /** Backend name as Thanos's cortex cache names it in metrics: `fifocache`, `memcache` or `redis`. */
  name: string;
  /** Why the cache is off, when `cache` is undefined (for a log line). */
  warning?: string;
}

/**
 * Parses Thanos's response cache YAML:
 * ```yaml
 * type: IN-MEMORY            # or MEMCACHED, REDIS (case-insensitive)
 * config:
 *   max_size: 1GB            # IN-MEMORY: total bytes; max_size_items: entries; validity: TTL
 * ```
 * MEMCACHED and REDIS take the same client blocks as the store gateway's caches plus `expiration`
 * (default 24h, 0 means 24h as in Thanos). IN-MEMORY with neither `max_size` nor
 * `max_size_items` creates no cache, as Thanos's FIFO cache does (with a warning).
 * Errors name `flag`.
 */
export function parseResponseCacheConfig(
  text: string,
  flag = '--query-range.response-cache-config',
  backend: CacheBackendOptions = {},
): ResponseCacheConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new FrontendConfigError(`${flag}: parsing config YAML file: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new FrontendConfigError(`${flag}: parsing config YAML file: expected a mapping`);
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (k !== 'type' && k !== 'config')
      throw new FrontendConfigError(
        `${flag}: parsing config YAML file: field ${k} not found in type queryfrontend.CacheProviderConfig`,
      );
  const type = typeof d.type === 'string' ? d.type : '';
  const raw = d.config ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new FrontendConfigError(`${flag}: config must be a mapping`);
  const c = raw as Record<string, unknown>;
  try {
    switch (type.toUpperCase()) {
      case 'IN-MEMORY':
        return inMemory(c, flag);
      case 'MEMCACHED':
        return {
          name: 'memcache',
          cache: createMemcachedCache({
            ...parseMemcachedClientConfig(c, `${flag}: config`),
            ...(backend.resolver ? { resolver: backend.resolver } : {}),
          }),
        };
      case 'REDIS':
        return { name: 'redis', cache: createRedisCache(parseRedisClientConfig(c, `${flag}: config`)) };
      default:
        throw new FrontendConfigError(`${flag}: response cache with type ${type} is not supported`);
    }
  } catch (err) {
    if (err instanceof FrontendConfigError) throw err;
    throw new FrontendConfigError((err as Error).message, { cause: err });
  }
}

function inMemory(c: Record<string, unknown>, flag: string): ResponseCacheConfig {
  for (const k of Object.keys(c))
    if (!['max_size', 'max_size_items', 'validity'].includes(k))
      throw new FrontendConfigError(
        `${flag}: config: field ${k} not found (allowed: max_size, max_size_items, validity)`,
      );
  const maxSizeBytes =
    c.max_size === undefined || c.max_size === '' ? 0 : parseBytes(c.max_size, `${flag}: config.max_size`);
  const items = c.max_size_items ?? 0;
  if (typeof items !== 'number' || !Number.isInteger(items) || items < 0)
    throw new FrontendConfigError(`${flag}: config.max_size_items must be a non-negative integer`);
  let validityMs = 0;
  if (c.validity !== undefined && c.validity !== 0) {
    if (typeof c.validity !== 'string') throw new FrontendConfigError(`${flag}: config.validity: invalid duration`);
    validityMs = parseDuration(c.validity, `${flag}: config.validity`);
  }
  if (maxSizeBytes === 0 && items === 0)
    return {
      name: 'fifocache',
      cache: undefined,
      warning: 'neither max_size nor max_size_items is set: the response cache is off',
    };
  return { name: 'fifocache', cache: createBoundedCache({ maxSizeBytes, maxItems: items, validityMs }) };
}

/** Options of {@link createBoundedCache}. */
export interface BoundedCacheOptions {
  /** Total bytes of keys and values held; 0: no byte bound. */
  maxSizeBytes: number;
  /** Entries held; 0: no count bound. At least one bound must be set. */
  maxItems: number;
  /** How long an entry stays valid, ms; 0: until evicted. */
  validityMs: number;
}

/**
 * The IN-MEMORY response cache: the shared in-process LRU (cache/inmemory.ts) bounded by bytes
 * and/or entries with an optional validity, standing in for Thanos's FIFO cache (which evicts the
 * oldest entry; LRU keeps the used ones).
 */
export function createBoundedCache(opts: BoundedCacheOptions): Cache {
  return createInMemoryCache({
    maxSizeBytes: opts.maxSizeBytes,
    maxItemSizeBytes: opts.maxSizeBytes,
    maxItems: opts.maxItems,
    validityMs: opts.validityMs,
  });
}

/** Results cache compression (--cache-compression-type): `snappy`, or '' for none. */
export type CacheCompression = '' | 'snappy';

/** Checks a --cache-compression-type value; Cortex's "unsupported compression type" otherwise. */
export function parseCacheCompression(value: string): CacheCompression {
  if (value === '' || value === 'snappy') return value;
  throw new FrontendConfigError(`unsupported compression type: ${value}`);
}

/**
 * Snappy (block format) around a cache, as Cortex's snappyCache: values are compressed before
 * they are stored and decompressed when fetched; an entry that does not decode is a miss. Stats
 * and close are the backend's.
 */
export function withSnappy(next: Cache): Cache {
  return {
    name: next.name,
    async fetch(keys, signal) {
      const found = await next.fetch(keys, signal);
      const out = new Map<string, Uint8Array>();
      for (const [k, v] of found) {
        try {
          out.set(k, snappyDecode(v));
        } catch {
          // A corrupt or uncompressed entry (written before compression was turned on): a miss,
          // and the fresh answer overwrites it.
        }
      }
      return out;
    },
    store(key, value, ttlMs) {
      next.store(key, snappyEncode(value), ttlMs);
    },
    stats: () => next.stats(),
    close: () => next.close(),
  };
}
