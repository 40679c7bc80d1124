import { createMemoryBucket } from '@thanos-ts/objstore';
import { describe, expect, it } from 'vitest';
import { createCachingBucket } from './caching-bucket.js';
import { parseCachingBucketConfig } from './config.js';

describe('caching bucket (in-memory cache over an in-memory bucket)', () => {
  it('returns exactly the bytes of the object for any range, and serves repeats from the cache', async () => {
    const inner = createMemoryBucket();
    const data = new Uint8Array(50_000).map((_, i) => (i * 7919) % 251);
    await inner.upload('01HF8000000000000000000RAW/chunks/000001', data);
    await inner.upload('01HF8000000000000000000RAW/meta.json', new TextEncoder().encode('{"x":1}'));
    const config = parseCachingBucketConfig(
      'type: IN-MEMORY\nchunk_subrange_size: 1000\nmax_chunks_get_range_requests: 2\n',
    );
    let ranges = 0;
    const counting = {
      ...inner,
      getRange: (...a: Parameters<typeof inner.getRange>) => {
        ranges++;
        return inner.getRange(...a);
      },
    };
    const bucket = createCachingBucket(counting, config);
    const name = '01HF8000000000000000000RAW/chunks/000001';
    let seed = 7;
    const rand = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    for (let k = 0; k < 200; k++) {
      const off = Math.floor(rand() * 52_000);
      const len = Math.floor(rand() * 6000);
      const got = await bucket.getRange(name, off, len);
      expect(new Uint8Array(got), `${off}+${len}`).toEqual(
        data.subarray(Math.min(off, data.length), Math.min(data.length, off + len)),
      );
    }
    expect(new Uint8Array(await bucket.getRange(name, 49_990, -1))).toEqual(data.subarray(49_990));
    const before = ranges;
    await bucket.getRange(name, 0, 50_000);
    await bucket.getRange(name, 0, 50_000);
    expect(ranges - before).toBeLessThanOrEqual(2);
    expect(config.cache.stats().hits).toBeGreaterThan(0);
    expect(new TextDecoder().decode(await bucket.get('01HF8000000000000000000RAW/meta.json'))).toBe('{"x":1}');
    expect(await bucket.exists('01HF8000000000000000000RAW/meta.json')).toBe(true);
    const listed: string[] = [];
    for await (const n of bucket.iter('')) listed.push(n);
    expect(listed).toEqual(['01HF8000000000000000000RAW/']);
  });
});
