// @thanos-ts/core/cache: the caches the store gateway and the query frontend use, configured
// with Thanos's YAML (IN-MEMORY, MEMCACHED, REDIS).
export type { Cache, CacheStats } from './cache.js';
export { createCachingBucket } from './caching-bucket.js';
export {
  type CacheBackendOptions,
  type CachingBucketConfig,
  type IndexCacheConfig,
  type IndexCacheItem,
  parseBytes,
  parseCachingBucketConfig,
  parseIndexCacheConfig,
  parseMemcachedClientConfig,
  parseRedisClientConfig,
} from './config.js';
export { createInMemoryCache, type InMemoryCacheOptions } from './inmemory.js';
export { createMemcachedCache, type MemcachedCache, type MemcachedOptions } from './memcached.js';
export { createRedisCache, type RedisOptions, type RedisTLSOptions } from './redis.js';
