import { describe, expect, it } from 'vitest';
import { xxhash64, xxhash64String } from './xxhash.js';

// Vectors from cespare/xxhash's xxhash_test.go (TestAll, seed 0) and the XXH64 reference
// implementation's sanity values; the 63-byte input exercises the 32-byte stripes, the 8-byte,
// 4-byte and 1-byte tails.
const S63 = 'Call me Ishmael. Some years ago--never mind how long precisely-';

describe('xxhash64 (cespare/xxhash Sum64String)', () => {
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
