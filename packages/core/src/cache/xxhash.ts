/**
 * XXH64 (seed 0) as Go's github.com/cespare/xxhash/v2 `Sum64String` computes it. Thanos picks the
 * memcached server for a key from this hash (pkg/cacheutil/memcached_server_selector.go), so it is
 * written out here, bit for bit, to make a mixed fleet of Thanos and thanos-ts processes agree on
 * where every key lives. Written from the XXH64 specification, not from cespare's code.
 */

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const MASK = 0xffffffffffffffffn;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;
const mul = (a: bigint, b: bigint): bigint => (a * b) & MASK;

function round(acc: bigint, lane: bigint): bigint {
  return mul(rotl((acc + mul(lane, P2)) & MASK, 31n), P1);
}

function mergeRound(acc: bigint, v: bigint): bigint {
  return (mul(acc ^ round(0n, v), P1) + P4) & MASK;
}

/** XXH64 with seed 0 of `data`, as an unsigned 64-bit bigint. Pure; safe to call concurrently. */
export function xxhash64(data: Uint8Array): bigint {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.length;
  let p = 0;
  let h: bigint;
  if (n >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (0n - P1) & MASK;
    for (; p + 32 <= n; p += 32) {
      v1 = round(v1, view.getBigUint64(p, true));
      v2 = round(v2, view.getBigUint64(p + 8, true));
      v3 = round(v3, view.getBigUint64(p + 16, true));
      v4 = round(v4, view.getBigUint64(p + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    h = mergeRound(h, v1);
    h = mergeRound(h, v2);
    h = mergeRound(h, v3);
    h = mergeRound(h, v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & MASK;
  for (; p + 8 <= n; p += 8) {
    h ^= round(0n, view.getBigUint64(p, true));
    h = (mul(rotl(h, 27n), P1) + P4) & MASK;
  }
  if (p + 4 <= n) {
    h ^= mul(BigInt(view.getUint32(p, true)), P1);
    h = (mul(rotl(h, 23n), P2) + P3) & MASK;
    p += 4;
  }
  for (; p < n; p++) {
    h ^= mul(BigInt(data[p] as number), P5);
    h = mul(rotl(h, 11n), P1);
  }
  h ^= h >> 33n;
  h = mul(h, P2);
  h ^= h >> 29n;
  h = mul(h, P3);
  h ^= h >> 32n;
  return h;
}

const utf8 = new TextEncoder();

/** XXH64 (seed 0) of a string's UTF-8 bytes: Go's `xxhash.Sum64String`. */
export function xxhash64String(s: string): bigint {
  return xxhash64(utf8.encode(s));
}
