/**
 * XXH64 (seed 0) as Go's github.com/cespare/xxhash/v2 `Sum64String` computes it. Thanos picks the
 * memcached server for a key from this hash (pkg/cacheutil/memcached_server_selector.go), so it is
 * written out here, bit for bit, to make a mixed fleet of Thanos and thanos-ts processes agree on
 * where every key lives. Written from the XXH64 specification, not from cespare's code.
 *
 * 64-bit words are kept as two uint32 halves in plain numbers: BigInt arithmetic allocates at
 * every step and measured 1.5-4x slower per key, on every fetch and store with several servers.
 */

/** A 64-bit word as high and low uint32 halves. */
interface U64 {
  hi: number;
  lo: number;
}

const u64 = (hi: number, lo: number): U64 => ({ hi: hi >>> 0, lo: lo >>> 0 });
const P1 = u64(0x9e3779b1, 0x85ebca87);
const P2 = u64(0xc2b2ae3d, 0x27d4eb4f);
const P3 = u64(0x165667b1, 0x9e3779f9);
const P4 = u64(0x85ebca77, 0xc2b2ae63);
const P5 = u64(0x27d4eb2f, 0x165667c5);

/** a * b mod 2^64, written into `out`. */
function mul(out: U64, a: U64, b: U64): U64 {
  const a0 = a.lo & 0xffff;
  const a1 = a.lo >>> 16;
  const b0 = b.lo & 0xffff;
  const b1 = b.lo >>> 16;
  // The low halves' full 64-bit product from 16-bit partial products (each exact in a double).
  const mid = a0 * b1 + a1 * b0;
  const low = a0 * b0 + (mid % 65536) * 65536;
  const carry = Math.floor(low / 4294967296);
  const hi = a1 * b1 + Math.floor(mid / 65536) + carry + Math.imul(a.lo, b.hi) + Math.imul(a.hi, b.lo);
  out.hi = hi >>> 0;
  out.lo = low >>> 0;
  return out;
}

/** a + b mod 2^64, written into `out`. */
function add(out: U64, a: U64, b: U64): U64 {
  const lo = a.lo + b.lo;
  out.hi = (a.hi + b.hi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  out.lo = lo >>> 0;
  return out;
}

/** Rotates `x` left by r (1..31) in place. */
function rotl(x: U64, r: number): U64 {
  const hi = x.hi;
  x.hi = ((hi << r) | (x.lo >>> (32 - r))) >>> 0;
  x.lo = ((x.lo << r) | (hi >>> (32 - r))) >>> 0;
  return x;
}

function xor(x: U64, y: U64): U64 {
  x.hi = (x.hi ^ y.hi) >>> 0;
  x.lo = (x.lo ^ y.lo) >>> 0;
  return x;
}

/** x ^= x >> s, for 29 <= s <= 33. */
function xorShift(x: U64, s: number): void {
  const lo = s >= 32 ? x.hi >>> (s - 32) : ((x.lo >>> s) | (x.hi << (32 - s))) >>> 0;
  const hi = s >= 32 ? 0 : x.hi >>> s;
  x.hi = (x.hi ^ hi) >>> 0;
  x.lo = (x.lo ^ lo) >>> 0;
}

const tmp: U64 = { hi: 0, lo: 0 };

/** acc = rotl(acc + lane * P2, 31) * P1, in place. */
function round(acc: U64, lane: U64): U64 {
  add(acc, acc, mul(tmp, lane, P2));
  return mul(acc, rotl(acc, 31), P1);
}

const lane: U64 = { hi: 0, lo: 0 };

function readLane(view: DataView, p: number): U64 {
  lane.lo = view.getUint32(p, true);
  lane.hi = view.getUint32(p + 4, true);
  return lane;
}

/** acc = (acc ^ round(0, v)) * P1 + P4, in place. */
function mergeRound(acc: U64, v: U64): void {
  const r = { hi: 0, lo: 0 };
  round(r, v);
  xor(acc, r);
  add(acc, mul(acc, acc, P1), P4);
}

/**
 * XXH64 with seed 0 of `data`, as `{hi, lo}` uint32 halves. Pure apart from module scratch space;
 * safe to call from any number of callers (JavaScript runs it to completion).
 */
export function xxhash64Parts(data: Uint8Array): { hi: number; lo: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.length;
  let p = 0;
  const h: U64 = { hi: 0, lo: 0 };
  if (n >= 32) {
    const v1 = add({ hi: 0, lo: 0 }, P1, P2);
    const v2 = { ...P2 };
    const v3 = { hi: 0, lo: 0 };
    // 0 - P1 mod 2^64: two's complement of P1.
    const v4 = add({ hi: 0, lo: 0 }, { hi: ~P1.hi >>> 0, lo: ~P1.lo >>> 0 }, { hi: 0, lo: 1 });
    for (; p + 32 <= n; p += 32) {
      round(v1, readLane(view, p));
      round(v2, readLane(view, p + 8));
      round(v3, readLane(view, p + 16));
      round(v4, readLane(view, p + 24));
    }
    const r1 = rotl({ ...v1 }, 1);
    add(h, r1, rotl({ ...v2 }, 7));
    add(h, h, rotl({ ...v3 }, 12));
    add(h, h, rotl({ ...v4 }, 18));
    mergeRound(h, v1);
    mergeRound(h, v2);
    mergeRound(h, v3);
    mergeRound(h, v4);
  } else {
    h.hi = P5.hi;
    h.lo = P5.lo;
  }
  add(h, h, { hi: Math.floor(n / 4294967296), lo: n >>> 0 });
  const k = { hi: 0, lo: 0 };
  for (; p + 8 <= n; p += 8) {
    k.hi = 0;
    k.lo = 0;
    xor(h, round(k, readLane(view, p)));
    add(h, mul(h, rotl(h, 27), P1), P4);
  }
  if (p + 4 <= n) {
    xor(h, mul(k, { hi: 0, lo: view.getUint32(p, true) }, P1));
    add(h, mul(h, rotl(h, 23), P2), P3);
    p += 4;
  }
  for (; p < n; p++) {
    xor(h, mul(k, { hi: 0, lo: data[p] as number }, P5));
    mul(h, rotl(h, 11), P1);
  }
  xorShift(h, 33);
  mul(h, h, P2);
  xorShift(h, 29);
  mul(h, h, P3);
  xorShift(h, 32);
  return h;
}

/** XXH64 with seed 0 of `data`, as an unsigned 64-bit bigint. */
export function xxhash64(data: Uint8Array): bigint {
  const { hi, lo } = xxhash64Parts(data);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

const utf8 = new TextEncoder();

/** XXH64 (seed 0) of a string's UTF-8 bytes: Go's `xxhash.Sum64String`. */
export function xxhash64String(s: string): bigint {
  return xxhash64(utf8.encode(s));
}

/** {@link xxhash64String} as uint32 halves, without BigInt. */
export function xxhash64StringParts(s: string): { hi: number; lo: number } {
  return xxhash64Parts(utf8.encode(s));
}
