import { describe, expect, it } from 'vitest';
import { jumpHash, naturalLess, pickServerIndex, sortServersNaturally } from './server-selector.js';

// Expected buckets were computed with an independent Python rendering of the Go definitions
// (cespare/xxhash Sum64String, Thanos's jump_hash.go with Go's float64 steps), not with this code.
describe('memcached server selection (Thanos MemcachedJumpHashSelector)', () => {
  it.each([
    { key: 'P:01HQZ2V3KJ8M4Q6W7T9XREDY5B:ce1c5e1a', hash: 0x3e9d4651d832557fn, want: [1, 2, 4, 9] },
    { key: 'S:01HQZ2V3KJ8M4Q6W7T9XREDY5B:1234', hash: 0x197070ca5a91d143n, want: [0, 2, 2, 2] },
    { key: 'subrange:01J0/chunks/000001:0:16000', hash: 0xd298eae35e10fc64n, want: [1, 2, 4, 4] },
    { key: 'a', hash: 0xd24ec4f1a98c6e5bn, want: [1, 1, 1, 8] },
    { key: '', hash: 0xef46db3751d8e999n, want: [1, 2, 2, 7] },
    { key: 'é', hash: 0x17d757dfb8b46f78n, want: [0, 0, 0, 0] },
    { key: 'x'.repeat(100), hash: 0x92f0de5a88a3c094n, want: [1, 1, 4, 7] },
    { key: 'attrs:01HQZ2V3KJ8M4Q6W7T9XREDY5B/meta.json', hash: 0x575f7778f3752195n, want: [1, 1, 4, 9] },
  ])('key $key', ({ key, hash, want }) => {
    const got = [2, 3, 5, 10].map((n) => pickServerIndex(key, n));
    expect(got).toEqual(want);
    expect([2, 3, 5, 10].map((n) => jumpHash(hash, n))).toEqual(want);
    expect(pickServerIndex(key, 1)).toBe(0);
  });

  it('jump hash over uint32 halves equals the BigInt rendering of go-jump', () => {
    const reference = (key: bigint, n: number) => {
      let b = -1n;
      let j = 0n;
      let k = key;
      while (j < BigInt(n)) {
        b = j;
        k = (k * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
        j = BigInt(Math.trunc(Number(b + 1n) * (2147483648 / Number((k >> 33n) + 1n))));
      }
      return Number(b);
    };
    for (let i = 0n; i < 500n; i++) {
      const key = (i * 0x9e3779b97f4a7c15n + 0xdeadbeefn * i * i) & 0xffffffffffffffffn;
      for (const n of [2, 3, 7, 100, 1000]) expect(jumpHash(key, n)).toBe(reference(key, n));
    }
  });

  it('jump hash moves only the keys that go to a new server', () => {
    for (let i = 0n; i < 2000n; i++) {
      const key = i * 0x9e3779b97f4a7c15n;
      const before = jumpHash(key, 7);
      const after = jumpHash(key, 8);
      expect(after === before || after === 7).toBe(true);
    }
  });

  it('refuses an empty server list', () => {
    expect(() => pickServerIndex('a', 0)).toThrow(RangeError);
  });
});

describe('natural order of server addresses (facette/natsort)', () => {
  it.each([
    {
      name: 'IPv4 addresses compare octets as numbers',
      in: ['10.0.0.10:11211', '10.0.0.9:11211', '10.0.0.1:11211', '10.0.0.2:11211'],
      want: ['10.0.0.1:11211', '10.0.0.2:11211', '10.0.0.9:11211', '10.0.0.10:11211'],
    },
    {
      name: 'statefulset pod names',
      in: ['memcached-10.memcached:11211', 'memcached-2.memcached:11211', 'memcached-1.memcached:11211'],
      want: ['memcached-1.memcached:11211', 'memcached-2.memcached:11211', 'memcached-10.memcached:11211'],
    },
    {
      name: 'ports compare as numbers',
      in: ['127.0.0.1:9000', '127.0.0.1:11211', '127.0.0.1:10000'],
      want: ['127.0.0.1:9000', '127.0.0.1:10000', '127.0.0.1:11211'],
    },
    {
      name: 'a prefix sorts first; text runs compare byte-wise',
      in: ['b', 'a1', 'a', 'B'],
      want: ['B', 'a', 'a1', 'b'],
    },
  ])('$name', ({ in: input, want }) => {
    expect(sortServersNaturally(input)).toEqual(want);
  });

  it('answers like natsort.Compare, including its quirks', () => {
    expect(naturalLess('a2', 'a10')).toBe(true);
    expect(naturalLess('a10', 'a2')).toBe(false);
    expect(naturalLess('x', 'x')).toBe(true);
    expect(naturalLess('a1', 'a01')).toBe(true);
    expect(naturalLess('a01', 'a1')).toBe(true);
    expect(naturalLess('', 'a')).toBe(false);
    // A run too long for int64 compares as text, as strconv.Atoi fails on it in Go.
    expect(naturalLess('a99999999999999999999', 'a100000000000000000000')).toBe(false);
  });
});
