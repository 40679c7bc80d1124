// The Bucket contract suite over the Bucket implementations core adds (objstore's own run in
// packages/objstore/test).
import { createCachingBucket, createInMemoryCache, parseCachingBucketConfig } from '@thanos-ts/core/cache';
import { createMemoryBucket } from '@thanos-ts/objstore';
import { describeBucket } from '@thanos-ts/objstore/testing';

// Thanos's caching bucket over an in-memory bucket with an in-memory cache. Small subranges make
// the suite's ranged reads span several cached pieces.
describeBucket(
  'caching bucket (in-memory cache over an in-memory bucket)',
  async () => {
    const config = {
      ...parseCachingBucketConfig('type: IN-MEMORY\nchunk_subrange_size: 1000\nmax_chunks_get_range_requests: 2\n'),
      cache: createInMemoryCache(),
    };
    const bucket = createCachingBucket(createMemoryBucket(), config);
    return {
      bucket,
      close: async () => {
        await config.cache.close();
        await bucket.close();
      },
    };
  },
  // The root listing is cached for blocks_iter_ttl (5m by default), as in Thanos.
  { cachedRootListing: true },
);
