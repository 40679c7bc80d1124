// @thanos-ts/core/cache: the caches the store gateway (and later the query frontend) use.
export type { Cache, CacheStats } from './cache.js';
export { createCachingBucket } from './caching-bucket.js';
export {
  type CachingBucketConfig,
  type IndexCacheConfig,
  type IndexCacheItem,
  parseBytes,
  parseCachingBucketConfig,
  parseIndexCacheConfig,
} from './config.js';
export { createInMemoryCache, type InMemoryCacheOptions } from './inmemory.js';
export { createMemcachedCache, type MemcachedOptions } from './memcached.js';
export { createRedisCache, type RedisOptions } from './redis.js';
