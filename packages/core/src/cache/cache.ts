/**
 * A byte cache shared by the store gateway's index cache and caching bucket. Every backend
 * (in-memory LRU, memcached, redis) degrades to misses when it fails: a cache never turns a
 * query into an error.
 */
export interface Cache {
  /** Backend name for logs and metrics (`IN-MEMORY`, `MEMCACHED`, `REDIS`). */
  readonly name: string;
  /** Looks keys up; missing, expired or unreachable entries are simply absent from the result. */
  fetch(keys: readonly string[], signal?: AbortSignal): Promise<Map<string, Uint8Array>>;
  /** Stores a value for `ttlMs` (0: backend default). Fire-and-forget; failures are counted, not thrown. */
  store(key: string, value: Uint8Array, ttlMs: number): void;
  /** Hit/miss counters since creation (also exported as metrics by the owner). */
  stats(): CacheStats;
  /** Closes connections; later calls are misses. */
  close(): Promise<void>;
}

/** Counters every cache keeps: requested keys, hits, failed backend operations. */
export interface CacheStats {
  requests: number;
  hits: number;
  errors: number;
  stores: number;
}

/** Fresh zeroed counters. */
export function emptyStats(): CacheStats {
  return { requests: 0, hits: 0, errors: 0, stores: 0 };
}
