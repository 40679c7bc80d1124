import { LRUCache } from 'lru-cache';
import { type Cache, type CacheStats, emptyStats } from './cache.js';

/** Options of the in-process LRU cache (Thanos's IN-MEMORY `max_size` / `max_item_size`). */
export interface InMemoryCacheOptions {
  /** Total bytes held; least recently used entries go first. Default 250 MiB. */
  maxSizeBytes?: number;
  /** Larger values are not stored. Default 125 MiB (at most `maxSizeBytes`). */
  maxItemSizeBytes?: number;
  /**
   * Most entries held; 0 (the default) bounds by bytes only. With `maxSizeBytes: 0` the cache is
   * bounded by entries only (the query frontend's `max_size_items`).
   */
  maxItems?: number;
  /** How long an entry stays valid, ms (the query frontend's `validity`); 0 (default): until evicted. */
  validityMs?: number;
}

/** Creates an in-process LRU byte cache bounded by total size (keys count toward it). */
export function createInMemoryCache(opts: InMemoryCacheOptions = {}): Cache {
  const maxSize = opts.maxSizeBytes ?? 250 * 1024 * 1024;
  const maxItems = opts.maxItems ?? 0;
  if (maxSize <= 0 && maxItems <= 0) throw new RangeError('in-memory cache: set maxSizeBytes or maxItems');
  const maxItemSize =
    maxSize > 0 ? Math.min(opts.maxItemSizeBytes ?? 125 * 1024 * 1024, maxSize) : Number.POSITIVE_INFINITY;
  const lru = new LRUCache<string, Uint8Array>({
    ...(maxSize > 0
      ? {
          maxSize,
          maxEntrySize: maxItemSize,
          sizeCalculation: (value: Uint8Array, key: string) => Math.max(1, value.length + key.length),
        }
      : {}),
    ...(maxItems > 0 ? { max: maxItems } : {}),
    ...(opts.validityMs && opts.validityMs > 0 ? { ttl: opts.validityMs } : {}),
    ttlAutopurge: false,
  } as LRUCache.Options<string, Uint8Array, unknown>);
  const counters: CacheStats = emptyStats();
  return {
    name: 'IN-MEMORY',
    async fetch(keys) {
      counters.requests += keys.length;
      const out = new Map<string, Uint8Array>();
      for (const key of keys) {
        const v = lru.get(key);
        if (v !== undefined) out.set(key, v);
      }
      counters.hits += out.size;
      return out;
    },
    store(key, value, ttlMs) {
      if (value.length + key.length > maxItemSize) return;
      counters.stores++;
      // A view into a larger buffer (Node's pooled small Buffers, a merged read) would keep all of
      // that buffer alive while being counted at its own length: store a compact copy instead.
      const own =
        value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : new Uint8Array(value);
      lru.set(key, own, ttlMs > 0 ? { ttl: ttlMs } : {});
    },
    stats: () => ({ ...counters }),
    async close() {
      lru.clear();
    },
  };
}
