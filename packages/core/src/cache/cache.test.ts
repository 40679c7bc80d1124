import { programAvailable, startMemcached, startRedis } from '@thanos-ts/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cache } from './cache.js';
import { mergeRuns } from './caching-bucket.js';
import { parseBytes, parseCachingBucketConfig, parseDuration, parseIndexCacheConfig } from './config.js';
import { createInMemoryCache } from './inmemory.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

async function roundTrip(cache: Cache): Promise<void> {
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  cache.store('a', bytes('alpha'), 60_000);
  cache.store('key with spaces and a very long tail '.repeat(10), bytes('spaced'), 60_000);
  cache.store('big', big, 60_000);
  // Stores are fire-and-forget; a fetch on the same pipelined connection is answered after them.
  const got = await cache.fetch(['a', 'missing', 'key with spaces and a very long tail '.repeat(10), 'big']);
  expect(text(got.get('a'))).toBe('alpha');
  expect(got.has('missing')).toBe(false);
  expect(text(got.get('key with spaces and a very long tail '.repeat(10)))).toBe('spaced');
  expect(got.get('big')).toEqual(big);
  const stats = cache.stats();
  expect(stats.requests).toBe(4);
  expect(stats.hits).toBe(3);
}

describe('in-memory cache', () => {
  it('stores, evicts by size and skips items over max item size', async () => {
    const c = createInMemoryCache({ maxSizeBytes: 1000, maxItemSizeBytes: 400 });
    c.store('x', new Uint8Array(500), 0);
    c.store('a', new Uint8Array(300), 0);
    c.store('b', new Uint8Array(300), 0);
    c.store('c', new Uint8Array(300), 0);
    c.store('d', new Uint8Array(300), 0);
    const got = await c.fetch(['x', 'a', 'b', 'c', 'd']);
    expect(got.has('x')).toBe(false);
    expect(got.has('a')).toBe(false);
    expect([...got.keys()]).toEqual(['b', 'c', 'd']);
  });
});

describe('config parsing', () => {
  it('parses sizes and durations like Thanos', () => {
    expect(parseBytes('250MB', 'x')).toBe(250 * 1024 * 1024);
    expect(parseBytes('1GiB', 'x')).toBe(1024 ** 3);
    expect(parseDuration('1h30m', 'x')).toBe(5_400_000);
    expect(parseDuration('500ms', 'x')).toBe(500);
    expect(() => parseDuration('5 minutes', 'x')).toThrow(/invalid duration/);
  });
  it('rejects unknown types and keys with the flag name', () => {
    expect(() => parseIndexCacheConfig('type: FOO')).toThrow(
      /--index-cache.config: cache with type FOO is not supported/,
    );
    expect(() => parseIndexCacheConfig('type: IN-MEMORY\nfoo: 1')).toThrow(/field foo not found/);
    expect(() => parseIndexCacheConfig('type: MEMCACHED\nconfig: {}')).toThrow(/no memcached addresses/);
    expect(() => parseIndexCacheConfig('type: IN-MEMORY\nenabled_items: [Chunks]')).toThrow(/unsupported item type/);
    expect(() => parseCachingBucketConfig('type: REDIS\nconfig: {}')).toThrow(
      /--store.caching-bucket.config: no redis addr/,
    );
  });
  it('applies Thanos defaults to the caching bucket', () => {
    const c = parseCachingBucketConfig('type: IN-MEMORY\nconfig:\n  max_size: 10MB\n');
    expect(c.chunkSubrangeSize).toBe(16000);
    expect(c.maxChunksGetRangeRequests).toBe(3);
    expect(c.blocksIterTtlMs).toBe(300_000);
  });
  it('merges subrange runs to at most N requests', () => {
    expect(mergeRuns([1, 2, 3, 7, 8, 20], 0)).toEqual([
      [1, 3],
      [7, 8],
      [20, 20],
    ]);
    expect(mergeRuns([1, 2, 3, 7, 8, 20], 2)).toEqual([
      [1, 8],
      [20, 20],
    ]);
  });
});

describe.skipIf(!programAvailable('memcached'))('memcached cache (real memcached)', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });
  it('round-trips values and degrades to misses while the server is down', async () => {
    const server = await startMemcached();
    const cache = parseIndexCacheConfig(`type: MEMCACHED\nconfig:\n  addresses: ["127.0.0.1:${server.port}"]\n`).cache;
    stops.push(() => cache.close());
    await roundTrip(cache);
    await server.stop();
    const down = await cache.fetch(['a']);
    expect(down.size).toBe(0);
    expect(cache.stats().errors).toBeGreaterThan(0);
    const again = await startMemcached({ port: server.port });
    stops.push(() => again.stop());
    cache.store('a', bytes('back'), 60_000);
    expect(text((await cache.fetch(['a'])).get('a'))).toBe('back');
  });
});

describe.skipIf(!programAvailable('redis-server'))('redis cache (real redis)', () => {
  const stops: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const s of stops) await s();
  });
  it('round-trips values and degrades to misses while the server is down', async () => {
    const server = await startRedis();
    const cache = parseIndexCacheConfig(`type: REDIS\nconfig:\n  addr: "127.0.0.1:${server.port}"\n  db: 2\n`).cache;
    stops.push(() => cache.close());
    await roundTrip(cache);
    await server.stop();
    expect((await cache.fetch(['a'])).size).toBe(0);
    const again = await startRedis({ port: server.port });
    stops.push(() => again.stop());
    cache.store('a', bytes('back'), 60_000);
    expect(text((await cache.fetch(['a'])).get('a'))).toBe('back');
  });
});
