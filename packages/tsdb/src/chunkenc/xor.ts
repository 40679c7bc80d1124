import { CorruptionError } from '../errors.js';

// Scratch view to move between a float64 and its two 32-bit halves (little-endian platforms).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

const TWO_32 = 4294967296;

/**
 * Encodes float samples into Prometheus's XOR (Gorilla) chunk format, bit-identical to
 * tsdb/chunkenc/xor.go: 2-byte big-endian sample count, first timestamp as varint, first value as
 * raw 64 bits, second timestamp delta as uvarint, then delta-of-delta buckets (1, 2+14, 3+17,
 * 4+20, 4+64 bits) and XOR'd values with Prometheus's leading/trailing-zero reuse rule.
 * Bits collect in a 32-bit accumulator that is stored a word at a time (the hot path).
 */
export class XorEncoder {
  private buf = new Uint8Array(256);
  /** Bytes of whole words stored in `buf` (after the 2-byte header). */
  private byteLen = 2;
  /** Pending bits, right-aligned, `accBits` of them (< 32). */
  private acc = 0;
  private accBits = 0;
  /** See BitWriter: Go's bstream leaves an empty byte after a byte-aligned whole-byte write. */
  private trailingEmptyByte = false;
  private count = 0;
  private t = 0;
  private tDelta = 0;
  private vHi = 0;
  private vLo = 0;
  private leading = 0xff;
  private trailing = 0;
  private readonly varint = new Uint8Array(10);

  /** Number of samples appended. */
  get numSamples(): number {
    return this.count;
  }

  /** Timestamp of the last sample (undefined when empty). */
  get lastTimestamp(): number | undefined {
    return this.count === 0 ? undefined : this.t;
  }

  // Appends the low n (1..32) bits of v.
  private bits(v: number, n: number): void {
    const free = 32 - this.accBits;
    if (n < free) {
      this.acc = (this.acc << n) | (v & ((1 << n) - 1));
      this.accBits += n;
      return;
    }
    const rest = n - free;
    // free ≥ 1 here; when free is 32 the accumulator is empty and `acc << 32` must not be used.
    const word = free === 32 ? v >>> rest : (this.acc << free) | ((v >>> rest) & ((1 << free) - 1));
    let b = this.buf;
    const p = this.byteLen;
    if (p + 8 > b.length) {
      const next = new Uint8Array(b.length * 2);
      next.set(b.subarray(0, p));
      this.buf = b = next;
    }
    b[p] = word >>> 24;
    b[p + 1] = (word >>> 16) & 0xff;
    b[p + 2] = (word >>> 8) & 0xff;
    b[p + 3] = word & 0xff;
    this.byteLen = p + 4;
    this.acc = rest === 0 ? 0 : v & ((1 << rest) - 1);
    this.accBits = rest;
  }

  private bits64(hi: number, lo: number, n: number): void {
    if (n <= 32) {
      this.bits(lo, n);
    } else {
      this.bits(hi, n - 32);
      this.bits(lo, 32);
    }
  }

  /** Appends one sample; timestamps must increase (the format stores unsigned-wrapped deltas). */
  append(t: number, v: number): void {
    f64[0] = v;
    const lo = u32[0] as number;
    const hi = u32[1] as number;
    const n = this.count;
    if (n === 0) {
      const k = putVarint(this.varint, t);
      for (let i = 0; i < k; i++) this.bits(this.varint[i] as number, 8);
      this.bits64(hi, lo, 64);
      this.trailingEmptyByte = true;
    } else if (n === 1) {
      const delta = t - this.t;
      const k = putUvarint64(this.varint, delta);
      for (let i = 0; i < k; i++) this.bits(this.varint[i] as number, 8);
      this.tDelta = delta;
      this.writeValue(hi, lo);
    } else {
      const delta = t - this.t;
      const dod = delta - this.tDelta;
      const aligned = (this.accBits & 7) === 0;
      if (dod === 0) {
        this.bits(0, 1);
      } else if (dod >= -8191 && dod <= 8192) {
        this.bits((0b10 << 14) | (dod & 0x3fff), 16);
        this.trailingEmptyByte = aligned;
      } else if (dod >= -65535 && dod <= 65536) {
        this.bits((0b110 << 17) | (dod & 0x1ffff), 20);
      } else if (dod >= -524287 && dod <= 524288) {
        this.bits((0b1110 << 20) | (dod & 0xfffff), 24);
        this.trailingEmptyByte = aligned;
      } else {
        this.bits(0b1111, 4);
        const dhi = Math.floor(dod / TWO_32);
        this.bits64(dhi | 0, (dod - dhi * TWO_32) >>> 0, 64);
      }
      this.tDelta = delta;
      this.writeValue(hi, lo);
    }
    this.t = t;
    this.vHi = hi;
    this.vLo = lo;
    this.count = n + 1;
  }

  private writeValue(hi: number, lo: number): void {
    const dHi = (hi ^ this.vHi) >>> 0;
    const dLo = (lo ^ this.vLo) >>> 0;
    if (dHi === 0 && dLo === 0) {
      this.bits(0, 1);
      this.trailingEmptyByte = false;
      return;
    }
    let leading = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    const trailing = dLo !== 0 ? ctz32(dLo) : 32 + ctz32(dHi);
    // Prometheus clamps leading zeros to 31 so the count fits in 5 bits.
    if (leading >= 32) leading = 31;
    let shift: number;
    let sig: number;
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      this.bits(0b10, 2);
      shift = this.trailing;
      sig = 64 - this.leading - this.trailing;
    } else {
      this.leading = leading;
      this.trailing = trailing;
      sig = 64 - leading - trailing;
      // 11, 5-bit leading, 6-bit length (64 is written as 0; readers map it back).
      this.bits((0b11 << 11) | (leading << 6) | (sig & 0x3f), 13);
      shift = trailing;
    }
    const aligned = (this.accBits & 7) === 0;
    let sh: number;
    let sl: number;
    if (shift === 0) {
      sh = dHi;
      sl = dLo;
    } else if (shift >= 32) {
      sh = 0;
      sl = dHi >>> (shift - 32);
    } else {
      sl = ((dLo >>> shift) | (dHi << (32 - shift))) >>> 0;
      sh = dHi >>> shift;
    }
    this.bits64(sh, sl, sig);
    this.trailingEmptyByte = aligned && (sig & 7) === 0;
  }

  /** Current encoded size in bytes, as Prometheus's bstream would report it. */
  get byteLength(): number {
    const bits = this.accBits;
    return this.byteLen + ((bits + 7) >>> 3) + ((bits & 7) === 0 && this.trailingEmptyByte ? 1 : 0);
  }

  /** The chunk bytes so far (a copy). */
  bytes(): Uint8Array {
    const len = this.byteLength;
    const out = allocChunkBytes(len);
    out.set(this.buf.subarray(0, this.byteLen));
    out[0] = this.count >>> 8;
    out[1] = this.count & 0xff;
    // Pending bits, left-aligned into the following bytes.
    let p = this.byteLen;
    const bits = this.accBits;
    if (bits > 0) {
      const word = (this.acc << (32 - bits)) >>> 0;
      for (let k = 0; k < bits; k += 8) out[p++] = (word >>> (24 - k)) & 0xff;
    }
    return out;
  }

  /** Starts a new, empty chunk, reusing the buffer. */
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
  const out = slab.subarray(slabPos, slabPos + n);
  slabPos += n;
  return out;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Internal: Go varint bytes of v into buf; returns the length. */
export function putVarint(buf: Uint8Array, v: number): number {
  // Zig-zag encoding as Go's binary.PutVarint; exact for |v| < 2^52.
  return putUvarint64(buf, v >= 0 ? v * 2 : -v * 2 - 1);
}

/** Internal: Go uvarint bytes of v (negative: as uint64) into buf; returns the length. */
export function putUvarint64(buf: Uint8Array, v: number): number {
  if (v < 0) {
    // A negative delta is written as its uint64 two's complement, as Go does.
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
  while (v >= 0x80) {
    buf[i++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[i++] = v;
  return i;
}

// Reusable padded copy of the chunk being decoded, so bit reads never go out of bounds.
let scratch = new Uint8Array(4096);
let scratchView = new DataView(scratch.buffer);

// Up to 32 bits at bit position `pos` (like bitstream's peekBits), with one big-endian 32-bit load.
function peek(dv: DataView, buf: Uint8Array, pos: number, n: number): number {
  const i = pos >>> 3;
  const s = pos & 7;
  const x = (dv.getUint32(i) << s) | ((buf[i + 4] as number) >>> (8 - s));
  return x >>> (32 - n);
}

/** Number of samples in an XOR chunk (its 2-byte big-endian header). */
export function xorNumSamples(chunk: Uint8Array): number {
  if (chunk.length < 2) return 0;
  return ((chunk[0] as number) << 8) | (chunk[1] as number);
}

/**
 * Decodes a whole XOR chunk into `timestamps`/`values` starting at `offset` and returns the number
 * of samples. The arrays must have room for xorNumSamples(chunk) more entries. Allocates nothing
 * per sample. Throws CorruptionError(file, fileOffset) when the chunk is truncated.
 */
export function decodeXorInto(
  chunk: Uint8Array,
  timestamps: Float64Array,
  values: Float64Array,
  offset = 0,
  file = 'chunk',
  fileOffset = 0,
): number {
  const total = xorNumSamples(chunk);
  if (total === 0) return 0;
  const len = chunk.length;
  if (scratch.length < len + 32) {
    scratch = new Uint8Array(Math.max(len + 32, scratch.length * 2));
    scratchView = new DataView(scratch.buffer);
  }
  const buf = scratch;
  const dv = scratchView;
  buf.set(chunk);
  buf.fill(0, len, len + 32);
  const endBits = len * 8;
  let pos = 16;
  // First sample: varint timestamp, raw 64-bit value (both byte aligned).
  let p = 2;
  let shiftMul = 1;
  let u = 0;
  for (;;) {
    if (p >= len || p > 11) throw truncated(file, fileOffset, 0);
    const b = buf[p++] as number;
    u += (b & 0x7f) * shiftMul;
    shiftMul *= 128;
    if (b < 0x80) break;
  }
  let t = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  pos = p * 8;
  let vHi = peek(dv, buf, pos, 32);
  let vLo = peek(dv, buf, pos + 32, 32);
  pos += 64;
  if (pos > endBits) throw truncated(file, fileOffset, 0);
  u32[0] = vLo;
  u32[1] = vHi;
  timestamps[offset] = t;
  values[offset] = f64[0] as number;
  if (total === 1) return 1;
  // Second sample: uvarint delta.
  p = pos >>> 3;
  u = 0;
  shiftMul = 1;
  let nb = 0;
  for (;;) {
    if (p >= len || nb >= 10) throw truncated(file, fileOffset, 1);
    const b = buf[p++] as number;
    u += (b & 0x7f) * shiftMul;
    shiftMul *= 128;
    nb++;
    if (b < 0x80) break;
  }
  // Deltas ≥ 2^63 are negative deltas wrapped to uint64.
  if (u >= 2 ** 63) u = uvarintSlow(buf, (pos >>> 3) | 0, nb);
  let tDelta = u;
  pos = p * 8;
  t += tDelta;
  let leading = 0;
  let trailing = 0;
  let out = offset + 1;
  for (let i = 1; i < total; i++) {
    if (i > 1) {
      let dod = 0;
      const head = peek(dv, buf, pos, 4);
      if (head < 0b1000) {
        pos += 1;
      } else if (head < 0b1100) {
        // 10 + 14 bits
        let bits = peek(dv, buf, pos + 2, 14);
        if (bits > 8192) bits -= 16384;
        dod = bits;
        pos += 16;
      } else if (head < 0b1110) {
        let bits = peek(dv, buf, pos + 3, 17);
        if (bits > 65536) bits -= 131072;
        dod = bits;
        pos += 20;
      } else if (head === 0b1110) {
        let bits = peek(dv, buf, pos + 4, 20);
        if (bits > 524288) bits -= 1048576;
        dod = bits;
        pos += 24;
      } else {
        const hi = peek(dv, buf, pos + 4, 32) | 0;
        const lo = peek(dv, buf, pos + 36, 32);
        dod = hi * TWO_32 + lo;
        pos += 68;
      }
      tDelta += dod;
      t += tDelta;
    }
    // Value: 0 = unchanged, 10 = reuse leading/trailing, 11 = new 5-bit leading, 6-bit length.
    const vh = peek(dv, buf, pos, 2);
    if (vh < 2) {
      pos += 1;
    } else {
      let mbits: number;
      if (vh === 2) {
        pos += 2;
        mbits = 64 - leading - trailing;
      } else {
        const lm = peek(dv, buf, pos + 2, 11);
        leading = lm >>> 6;
        mbits = lm & 63;
        pos += 13;
        if (mbits === 0) mbits = 64;
        trailing = 64 - leading - mbits;
        if (trailing < 0) throw new CorruptionError(file, fileOffset, `invalid XOR value header in sample ${i}`);
      }
      if (mbits <= 32) {
        const m = peek(dv, buf, pos, mbits);
        pos += mbits;
        if (trailing >= 32) {
          vHi = (vHi ^ (m << (trailing - 32))) >>> 0;
        } else if (trailing + mbits <= 32) {
          vLo = (vLo ^ (m << trailing)) >>> 0;
        } else {
          vLo = (vLo ^ (m << trailing)) >>> 0;
          vHi = (vHi ^ (m >>> (32 - trailing))) >>> 0;
        }
      } else {
        const mh = peek(dv, buf, pos, mbits - 32);
        const ml = peek(dv, buf, pos + mbits - 32, 32);
        pos += mbits;
        if (trailing === 0) {
          vHi = (vHi ^ mh) >>> 0;
          vLo = (vLo ^ ml) >>> 0;
        } else {
          vLo = (vLo ^ (ml << trailing)) >>> 0;
          vHi = (vHi ^ ((mh << trailing) | (ml >>> (32 - trailing)))) >>> 0;
        }
      }
    }
    if (pos > endBits) throw truncated(file, fileOffset, i);
    u32[0] = vLo;
    u32[1] = vHi;
    timestamps[out] = t;
    values[out] = f64[0] as number;
    out++;
  }
  return total;
}

function uvarintSlow(buf: Uint8Array, p: number, nb: number): number {
  let v = 0n;
  for (let i = nb - 1; i >= 0; i--) v = (v << 7n) | BigInt((buf[p + i] as number) & 0x7f);
  return Number(BigInt.asIntN(64, v));
}

function truncated(file: string, offset: number, sample: number): CorruptionError {
  return new CorruptionError(file, offset, `XOR chunk truncated in sample ${sample}`);
}

/**
 * An XOR chunk kept as bytes until someone iterates it. `iterator()` decodes the whole chunk once
 * into reusable columns (chunks hold ≤ a few hundred samples), then `next`/`seek` walk them.
 */
export class XorChunk {
  constructor(readonly bytes: Uint8Array) {}

  /** Samples in the chunk, from its header. */
  get numSamples(): number {
    return xorNumSamples(this.bytes);
  }

  /** Decodes into columns; see decodeXorInto. */
  decodeInto(timestamps: Float64Array, values: Float64Array, offset = 0): number {
    return decodeXorInto(this.bytes, timestamps, values, offset);
  }

  /** A sample iterator with seek. */
  iterator(): XorIterator {
    return new XorIterator(this.bytes);
  }
}

/**
 * Iterates one XOR chunk: `next()` advances and says whether a sample is there, `seek(t)` moves to
 * the first sample with timestamp ≥ t (never backwards, as Prometheus's Seek), `t`/`v` read it.
 */
export class XorIterator {
  private ts: Float64Array;
  private vs: Float64Array;
  private n = -1;
  private i = -1;

  constructor(
    private readonly chunk: Uint8Array,
    private readonly file = 'chunk',
    private readonly fileOffset = 0,
  ) {
    const cap = xorNumSamples(chunk);
    this.ts = new Float64Array(cap);
    this.vs = new Float64Array(cap);
  }

  private load(): void {
    if (this.n < 0) this.n = decodeXorInto(this.chunk, this.ts, this.vs, 0, this.file, this.fileOffset);
  }

  /** Advances to the next sample; false at the end. */
  next(): boolean {
    this.load();
    if (this.i < this.n) this.i++;
    return this.i < this.n;
  }

  /** Advances to the first sample with timestamp ≥ t; false when there is none. */
  seek(t: number): boolean {
    this.load();
    let i = Math.max(this.i, 0);
    if (i < this.n && (this.ts[i] as number) >= t) {
      this.i = i;
      return true;
    }
    let lo = i;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ts[mid] as number) < t) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
    this.i = i;
    return i < this.n;
  }

  /** Timestamp of the current sample. */
  get t(): number {
    return this.ts[this.i] as number;
  }

  /** Value of the current sample. */
  get v(): number {
    return this.vs[this.i] as number;
  }
}
