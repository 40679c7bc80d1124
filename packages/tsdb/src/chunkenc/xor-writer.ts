// The one XOR (Gorilla) encoding loop, shared by XorEncoder.append and encodeXorChunk.
//
// Why it is shaped like this (measured on Node 24, 1M samples): the per-sample state (previous
// timestamp, delta, value halves, leading/trailing window) lives in locals for a whole run of
// samples, which TurboFan keeps in registers. Encoding sample by sample with that state in object
// fields ran at ~18M samples/s; with everything in module variables, ~15M; this loop, ~30M.
// Bits collect in a 32-bit accumulator stored a word at a time: no per-bit work, no DataView, no
// bigint on the hot path. Callers that get samples one at a time (XorEncoder) batch them.

// Scratch view to move between a float64 and its two 32-bit halves (little-endian platforms). The
// halves are read signed and every operation on them stays in int32: optimized code that had only
// seen small halves deoptimized ("lost precision") on the first one with its top bit set, and
// recompiling the loop cost more than the encoding itself in a short-lived process.
const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const TWO_32 = 4294967296;

/**
 * Internal: the resumable state of one XOR chunk being written. Bit-identical to Prometheus's
 * tsdb/chunkenc/xor.go + bstream.go: 2-byte big-endian sample count, first timestamp as varint,
 * first value as raw 64 bits, second timestamp delta as uvarint, then delta-of-delta buckets
 * (1, 2+14, 3+17, 4+20, 4+64 bits) and XOR'd values with Prometheus's leading/trailing reuse rule.
 */
export class XorWriterState {
  /** Whole 32-bit words written so far, after the 2-byte header (the count is set on output). */
  buf: Uint8Array;
  /** Bytes of `buf` in use (header included). */
  byteLen = 2;
  /** Pending bits, right-aligned, `accBits` of them (< 32). */
  acc = 0;
  accBits = 0;
  /** Go's bstream leaves an empty byte after a byte-aligned whole-byte write; see BitWriter. */
  trailingEmptyByte = false;
  count = 0;
  t = 0;
  tDelta = 0;
  vHi = 0;
  vLo = 0;
  /** Leading/trailing zeros of the last stored XOR; 0xff = none yet. */
  leading = 0xff;
  trailing = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  /** Starts a new, empty chunk, keeping the buffer. */
  reset(): void {
    this.byteLen = 2;
    this.acc = 0;
    this.accBits = 0;
    this.trailingEmptyByte = false;
    this.count = 0;
    this.t = 0;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.leading = 0xff;
    this.trailing = 0;
  }

  /** Encoded size in bytes, as Prometheus's bstream would report it. */
  get byteLength(): number {
    const bits = this.accBits;
    return this.byteLen + ((bits + 7) >>> 3) + ((bits & 7) === 0 && this.trailingEmptyByte ? 1 : 0);
  }

  /** The chunk bytes so far, in a fresh slab-carved array (see allocChunkBytes). */
  bytes(): Uint8Array {
    const res = allocChunkBytes(this.byteLength);
    this.writeTo(res, 0);
    return res;
  }

  /**
   * Writes the chunk bytes so far (byteLength of them) into `dst` from `at`, which must have room;
   * returns the offset after them. Lets a caller put the chunk straight into a segment record.
   */
  writeTo(dst: Uint8Array, at: number): number {
    const len = this.byteLength;
    const bp = this.byteLen;
    dst.set(bp === this.buf.length ? this.buf : this.buf.subarray(0, bp), at);
    dst[at] = this.count >>> 8;
    dst[at + 1] = this.count & 0xff;
    // Pending bits, left-aligned into the following bytes.
    let p = at + bp;
    const bits = this.accBits;
    if (bits > 0) {
      const word = (this.acc << (32 - bits)) >>> 0;
      for (let k = 0; k < bits; k += 8) dst[p++] = (word >>> (24 - k)) & 0xff;
    }
    // The optional trailing empty byte.
    for (; p < at + len; p++) dst[p] = 0;
    return p;
  }
}

// Bit writer registers, valid only during one appendXorSamples call (which is synchronous).
const EMPTY = new Uint8Array(0);
let out: Uint8Array = EMPTY;
let bp = 0;
let acc = 0;
let accBits = 0;

// Appends the low n (1..32) bits of v. The masks look redundant (callers pass fitting values),
// yet a mask-free put with the capacity check hoisted to once per sample ran ~10% slower.
function put(v: number, n: number): void {
  const free = 32 - accBits;
  if (n < free) {
    acc = (acc << n) | (v & ((1 << n) - 1));
    accBits += n;
    return;
  }
  const rest = n - free;
  // free is 32 only when the accumulator is empty (and n is 32): JS would shift by 0, not 32.
  const word = free === 32 ? v >>> rest : (acc << free) | ((v >>> rest) & ((1 << free) - 1));
  if (bp + 4 > out.length) grow();
  // Uint8Array stores keep the low 8 bits.
  out[bp] = word >>> 24;
  out[bp + 1] = word >>> 16;
  out[bp + 2] = word >>> 8;
  out[bp + 3] = word;
  bp += 4;
  acc = rest === 0 ? 0 : v & ((1 << rest) - 1);
  accBits = rest;
}

function grow(): void {
  const next = new Uint8Array(Math.max(64, out.length * 2));
  next.set(out.subarray(0, bp));
  out = next;
}

// Whole bytes of a varint: the first two samples' timestamps.
function putVarintBytes(buf: Uint8Array, k: number): void {
  for (let i = 0; i < k; i++) put(buf[i] as number, 8);
}

const varint = new Uint8Array(10);

/**
 * Internal: appends samples [start, end) of the columns to `s`. Timestamps must increase (the
 * format stores unsigned-wrapped deltas). Allocates nothing unless the buffer must grow.
 */
export function appendXorSamples(
  s: XorWriterState,
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  start: number,
  end: number,
): void {
  if (end <= start) return;
  out = s.buf;
  bp = s.byteLen;
  acc = s.acc;
  accBits = s.accBits;
  let trailingEmptyByte = s.trailingEmptyByte;
  let t = s.t;
  let tDelta = s.tDelta;
  let vHi = s.vHi;
  let vLo = s.vLo;
  let leading = s.leading;
  let trailing = s.trailing;
  let idx = start;
  let n = s.count;
  if (n === 0) {
    t = timestamps[idx] as number;
    f64[0] = values[idx] as number;
    vLo = i32[0] as number;
    vHi = i32[1] as number;
    putVarintBytes(varint, putVarint(varint, t));
    put(vHi, 32);
    put(vLo, 32);
    trailingEmptyByte = true;
    idx++;
    n = 1;
  }
  for (; idx < end; idx++) {
    const nt = timestamps[idx] as number;
    const delta = nt - t;
    // The timestamp's bits (code, bits) are held back and written with the value's header by one
    // put when both fit 32 bits: until V8 has optimized the loop every put is a real call, and
    // once it has, fewer inlined copies made it quicker to optimize.
    let code = 0;
    let bits = 0;
    if (n === 1) {
      // Second sample of the chunk: the delta itself, as a uvarint.
      putVarintBytes(varint, putUvarint64(varint, delta));
      n = 2;
    } else {
      const dod = delta - tDelta;
      if (dod === 0) {
        bits = 1;
      } else if (dod >= -8191 && dod <= 8192) {
        code = (0b10 << 14) | (dod & 0x3fff);
        bits = 16;
      } else if (dod >= -65535 && dod <= 65536) {
        code = (0b110 << 17) | (dod & 0x1ffff);
        bits = 20;
      } else if (dod >= -524287 && dod <= 524288) {
        code = (0b1110 << 20) | (dod & 0xfffff);
        bits = 24;
      } else {
        put(0b1111, 4);
        const dhi = Math.floor(dod / TWO_32);
        put(dhi | 0, 32);
        code = (dod - dhi * TWO_32) | 0;
        bits = 32;
      }
      // No trailingEmptyByte update: the value written next always decides it.
    }
    tDelta = delta;
    t = nt;
    f64[0] = values[idx] as number;
    const lo = i32[0] as number;
    const hi = i32[1] as number;
    const dHi = hi ^ vHi;
    const dLo = lo ^ vLo;
    vHi = hi;
    vLo = lo;
    if (dHi === 0 && dLo === 0) {
      // 0: the same value. (bits < 32 here unless the delta took 64 bits.)
      if (bits === 32) {
        put(code, 32);
        put(0, 1);
      } else {
        put(code << 1, bits + 1);
      }
      trailingEmptyByte = false;
      continue;
    }
    let nl = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    // Trailing zeros via the lowest set bit.
    const ntz = dLo !== 0 ? 31 - Math.clz32(dLo & -dLo) : 63 - Math.clz32(dHi & -dHi);
    // Prometheus clamps leading zeros to 31 so the count fits in 5 bits.
    if (nl >= 32) nl = 31;
    let head = 0b10;
    let headBits = 2;
    if (!(leading !== 0xff && nl >= leading && ntz >= trailing)) {
      // Not 10 (reuse the previous leading/trailing window) but 11, 5-bit leading, 6-bit length
      // (64 is written as 0; readers map it back).
      leading = nl;
      trailing = ntz;
      head = (0b11 << 11) | (nl << 6) | ((64 - nl - ntz) & 0x3f);
      headBits = 13;
    }
    if (bits + headBits <= 32) {
      put((code << headBits) | head, bits + headBits);
    } else {
      put(code, bits);
      put(head, headBits);
    }
    const sig = 64 - leading - trailing;
    const aligned = (accBits & 7) === 0;
    // The XOR shifted right by `trailing`: its significant bits are the low `sig` of (sh, sl).
    let sh: number;
    let sl: number;
    if (trailing === 0) {
      sh = dHi;
      sl = dLo;
    } else if (trailing >= 32) {
      sh = 0;
      sl = (dHi >>> (trailing - 32)) | 0;
    } else {
      sl = (dLo >>> trailing) | (dHi << (32 - trailing));
      sh = (dHi >>> trailing) | 0;
    }
    if (sig > 32) put(sh, sig - 32);
    put(sl, Math.min(sig, 32));
    trailingEmptyByte = aligned && (sig & 7) === 0;
  }
  s.buf = out;
  s.byteLen = bp;
  s.acc = acc;
  s.accBits = accBits;
  s.trailingEmptyByte = trailingEmptyByte;
  s.count += end - start;
  s.t = t;
  s.tDelta = tDelta;
  s.vHi = vHi;
  s.vLo = vLo;
  s.leading = leading;
  s.trailing = trailing;
  // Drop the reference so an idle module does not pin the last encoder's buffer.
  out = EMPTY;
}

// Chunks are small and many: carve them out of shared 64 KiB slabs instead of allocating an
// ArrayBuffer each (allocation dominated encoding in profiles). Slabs are never reused.
let slab = new Uint8Array(65536);
let slabPos = 0;
/** Internal: chunk-sized byte arrays carved from shared slabs. */
export function allocChunkBytes(n: number): Uint8Array {
  if (n > 4096) return new Uint8Array(n);
  if (slabPos + n > slab.length) {
    slab = new Uint8Array(65536);
    slabPos = 0;
  }
  const res = slab.subarray(slabPos, slabPos + n);
  slabPos += n;
  return res;
}

/** Internal: Go varint bytes of v into buf; returns the length. */
export function putVarint(buf: Uint8Array, v: number): number {
  // Zig-zag encoding as Go's binary.PutVarint; exact for |v| < 2^52.
  return putUvarint64(buf, v >= 0 ? v * 2 : -v * 2 - 1);
}

/** Internal: Go uvarint bytes of v (negative: as uint64) into buf; returns the length. */
export function putUvarint64(buf: Uint8Array, v: number): number {
  if (v < 0) {
    // A negative delta is written as its uint64 two's complement, as Go does (rare: only a
    // chunk's second sample can hit this, so bigint is fine here).
    let b = BigInt.asUintN(64, BigInt(v));
    let i = 0;
    while (b >= 0x80n) {
      buf[i++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    buf[i++] = Number(b);
    return i;
  }
  let i = 0;
  while (v >= 0x80000000) {
    buf[i++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  // Below 2^31 (every delta of a chunk's second sample in practice): integer shifts, no division.
  while (v >= 0x80) {
    buf[i++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[i++] = v;
  return i;
}
