import { xxhash64StringParts } from './xxhash.js';

/**
 * Lamping & Veach's jump consistent hash, exactly as Thanos's pkg/cacheutil/jump_hash.go (from
 * dgryski/go-jump) computes it: a bucket in [0, buckets) that moves for only 1/n of keys when a
 * bucket is added. The float steps keep Go's association, `(b+1) * (2^31 / ((key>>33)+1))`, so
 * the rounding, and thus the bucket, is the same as Go's. `buckets` must be >= 1.
 */
export function jumpHash(key: bigint, buckets: number): number {
  return jumpHashParts(Number(key >> 32n) >>> 0, Number(key & 0xffffffffn) >>> 0, buckets);
}

// 2862933555777941757, go-jump's LCG multiplier, as uint32 halves and 16-bit pieces of the low half.
const M_HI = 0x27bb2ee6;
const M_LO = 0x87b0b0fd;
const M_LO0 = M_LO & 0xffff;
const M_LO1 = M_LO >>> 16;

/** {@link jumpHash} over a key given as uint32 halves, without BigInt. */
export function jumpHashParts(keyHi: number, keyLo: number, buckets: number): number {
  let hi = keyHi >>> 0;
  let lo = keyLo >>> 0;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // key = key * M + 1 (mod 2^64), from 16-bit partial products that stay exact in doubles.
    const a0 = lo & 0xffff;
    const a1 = lo >>> 16;
    const mid = a0 * M_LO1 + a1 * M_LO0;
    const low = a0 * M_LO0 + (mid % 65536) * 65536 + 1;
    const carry = Math.floor(low / 4294967296);
    hi = (a1 * M_LO1 + Math.floor(mid / 65536) + carry + Math.imul(lo, M_HI) + Math.imul(hi, M_LO)) >>> 0;
    lo = low >>> 0;
    j = Math.trunc((b + 1) * (2147483648 / ((hi >>> 1) + 1)));
  }
  return b;
}

const CHUNK = /\d+|\D+/g;
const MAX_INT64 = 9223372036854775807n;

/** Go's strconv.Atoi on a chunk: a base-10 integer fitting int64, else undefined. */
function atoi(chunk: string): bigint | undefined {
  if (!/^\d+$/.test(chunk)) return undefined;
  const v = BigInt(chunk);
  return v > MAX_INT64 ? undefined : v;
}

/** Go's byte-wise string `<` (UTF-16 order differs from UTF-8 order above U+FFFF). */
function goLess(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;
}

/**
 * facette/natsort's `Compare(a, b)`: whether `a` precedes `b` in natural order. Strings split into
 * runs of digits and non-digits; two numeric runs compare as integers, anything else byte-wise.
 * Like the Go original it answers true for equal strings, and for runs equal as numbers but not
 * as text ("1" and "01") when it reaches the end of `a`.
 */
export function naturalLess(a: string, b: string): boolean {
  const ca = a.match(CHUNK) ?? [];
  const cb = b.match(CHUNK) ?? [];
  for (let i = 0; i < ca.length; i++) {
    if (i >= cb.length) return false;
    const x = ca[i] as string;
    const y = cb[i] as string;
    const xi = atoi(x);
    const yi = atoi(y);
    const same = xi !== undefined && yi !== undefined ? xi === yi : x === y;
    if (!same) return xi !== undefined && yi !== undefined ? xi < yi : goLess(x, y);
    if (i === ca.length - 1) return true;
    if (i === cb.length - 1) return false;
  }
  return false;
}

/**
 * Sorts server addresses in natural order, as Thanos's MemcachedJumpHashSelector.SetServers does
 * with natsort.Sort before hashing keys onto them. Where natsort calls two different strings each
 * less than the other ("a1" and "a01"), Go's unstable sort leaves their order undefined; here they
 * fall back to byte order so the result is at least deterministic. Returns a new array.
 */
export function sortServersNaturally(servers: readonly string[]): string[] {
  return [...servers].sort((a, b) => {
    if (a === b) return 0;
    const ab = naturalLess(a, b);
    const ba = naturalLess(b, a);
    if (ab !== ba) return ab ? -1 : 1;
    return goLess(a, b) ? -1 : 1;
  });
}

/**
 * Index of the server that owns `key` among `sortedServers` (already in natural order): jump
 * hash over the XXH64 of the key, Thanos's pickServerWithJumpHash. One server needs no hashing.
 * Throws RangeError when there are no servers.
 */
export function pickServerIndex(key: string, serverCount: number): number {
  if (serverCount <= 0) throw new RangeError('no memcached servers');
  if (serverCount === 1) return 0;
  const h = xxhash64StringParts(key);
  return jumpHashParts(h.hi, h.lo, serverCount);
}
