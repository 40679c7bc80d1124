import { describe, expect, it } from 'vitest';
import { xxhash64, xxhash64String } from './xxhash.js';

// Vectors from cespare/xxhash's xxhash_test.go (TestAll, seed 0) and the XXH64 reference
// implementation's sanity values; the 63-byte input exercises the 32-byte stripes, the 8-byte,
// 4-byte and 1-byte tails.
const S63 = 'Call me Ishmael. Some years ago--never mind how long precisely-';

// The XXH64 definition in BigInt arithmetic: slow but plainly right, an oracle for the
// split-word implementation over inputs of every length and byte value.
function referenceXXH64(b: Uint8Array): bigint {
  const M = (1n << 64n) - 1n;
  const [P1, P2, P3, P4, P5] = [
    0x9e3779b185ebca87n,
    0xc2b2ae3d27d4eb4fn,
    0x165667b19e3779f9n,
    0x85ebca77c2b2ae63n,
    0x27d4eb2f165667c5n,
  ];
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const rnd = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
  const merge = (acc: bigint, v: bigint) => ((acc ^ rnd(0n, v)) * P1 + P4) & M;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 0;
  let h: bigint;
  if (b.length >= 32) {
    const acc = [(P1 + P2) & M, P2, 0n, (0n - P1) & M];
    for (; p + 32 <= b.length; p += 32)
      for (let i = 0; i < 4; i++) acc[i] = rnd(acc[i] as bigint, v.getBigUint64(p + 8 * i, true));
    const [a, c, d, e] = acc as [bigint, bigint, bigint, bigint];
    h = (rotl(a, 1n) + rotl(c, 7n) + rotl(d, 12n) + rotl(e, 18n)) & M;
    for (const x of acc) h = merge(h, x);
  } else h = P5;
  h = (h + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) h = (rotl(h ^ rnd(0n, v.getBigUint64(p, true)), 27n) * P1 + P4) & M;
  if (p + 4 <= b.length) {
    h = (rotl(h ^ ((BigInt(v.getUint32(p, true)) * P1) & M), 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < b.length; p++) h = (rotl(h ^ ((BigInt(b[p] as number) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  return h ^ (h >> 32n);
}

describe('xxhash64 (cespare/xxhash Sum64String)', () => {
  it('agrees with a BigInt rendering of the definition on 2,000 pseudo-random inputs', () => {
    let seed = 12345;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    for (let i = 0; i < 2000; i++) {
      const data = new Uint8Array(i % 131).map(() => next() & 0xff);
      expect(xxhash64(data)).toBe(referenceXXH64(data));
    }
  });

  it.each([
    { name: 'empty', input: '', want: 0xef46db3751d8e999n },
    { name: 'a', input: 'a', want: 0xd24ec4f1a98c6e5bn },
    { name: 'as', input: 'as', want: 0x1c330fb2d66be179n },
    { name: 'asd', input: 'asd', want: 0x631c37ce72a97393n },
    { name: 'asdf', input: 'asdf', want: 0x415872f599cea71en },
    { name: '63 bytes', input: S63, want: 0x02a2e85470d6fd96n },
  ])('$name', ({ input, want }) => {
    expect(xxhash64String(input)).toBe(want);
  });

  it('hashes UTF-8 bytes, not UTF-16 code units', () => {
    // Vector from an independent Python XXH64 over the UTF-8 bytes c3 a9.
    expect(xxhash64String('é')).toBe(0x17d757dfb8b46f78n);
    expect(xxhash64(new Uint8Array([0xc3, 0xa9]))).toBe(0x17d757dfb8b46f78n);
    expect(xxhash64(new Uint8Array([0xe9]))).not.toBe(0x17d757dfb8b46f78n);
  });
});
