import { CorruptionError } from '../errors.js';

import { appendXorSamples, XorWriterState } from './xor-writer.js';

// Scratch view to move between a float64 and its two 32-bit halves (little-endian platforms).
const f64 = new Float64Array(1);
// The halves as signed 32-bit integers: every bitwise operation below stays in int32, so optimized
// code never meets a uint32 above 2^31 it speculated was small (a sign bit set in a value's half
// used to deoptimize the decoder with "lost precision" a few thousand chunks in, costing another
// TurboFan compile of the whole loop).
const i32 = new Int32Array(f64.buffer);

const TWO_32 = 4294967296;

// Samples buffered by XorEncoder.append before one run of the shared encoding loop: large enough
// to amortise loading the loop's state, small enough to cost little memory per open chunk.
const BATCH = 16;

/**
 * Encodes float samples one at a time into Prometheus's XOR (Gorilla) chunk format, bit-identical
 * to tsdb/chunkenc/xor.go (see XorWriterState for the layout). Appends are buffered in small
 * batches and encoded by the same loop as encodeXorChunk, so both produce the same bytes at the
 * same speed; `bytes()`/`byteLength` encode whatever is buffered first.
 */
export class XorEncoder {
  private readonly state = new XorWriterState();
  private readonly pendingT = new Float64Array(BATCH);
  private readonly pendingV = new Float64Array(BATCH);
  private pending = 0;

  /** Number of samples appended. */
  get numSamples(): number {
    return this.state.count + this.pending;
  }

  /** Timestamp of the last sample (undefined when empty). */
  get lastTimestamp(): number | undefined {
    if (this.pending > 0) return this.pendingT[this.pending - 1];
    return this.state.count === 0 ? undefined : this.state.t;
  }

  /** Appends one sample; timestamps must increase (the format stores unsigned-wrapped deltas). */
  append(t: number, v: number): void {
    const i = this.pending;
    this.pendingT[i] = t;
    this.pendingV[i] = v;
    if (i + 1 < BATCH) {
      this.pending = i + 1;
      return;
    }
    appendXorSamples(this.state, this.pendingT, this.pendingV, 0, BATCH);
    this.pending = 0;
  }

  private flush(): void {
    if (this.pending === 0) return;
    appendXorSamples(this.state, this.pendingT, this.pendingV, 0, this.pending);
    this.pending = 0;
  }

  /** Current encoded size in bytes, as Prometheus's bstream would report it. */
  get byteLength(): number {
    this.flush();
    return this.state.byteLength;
  }

  /** The chunk bytes so far (a copy); appending may continue afterwards. */
  bytes(): Uint8Array {
    this.flush();
    return this.state.bytes();
  }

  /** Starts a new, empty chunk, reusing the buffer. */
  reset(): void {
    this.pending = 0;
    this.state.reset();
  }
}

// Reusable padded copy of the chunk being decoded, so bit reads never go out of bounds.
let scratch = new Uint8Array(4096);
let scratchView = new DataView(scratch.buffer);

// Up to 32 bits at bit position `pos` (like bitstream's peekBits), with one big-endian 32-bit load.
// As an int32: 32 bits with the top one set come back negative (see i32).
function peek(dv: DataView, buf: Uint8Array, pos: number, n: number): number {
  const i = pos >>> 3;
  const s = pos & 7;
  const x = (dv.getInt32(i) << s) | ((buf[i + 4] as number) >>> (8 - s));
  return (x >>> (32 - n)) | 0;
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
  return decodeXorRange(chunk, 0, chunk.length, timestamps, values, offset, file, fileOffset);
}

/**
 * decodeXorInto for the chunk held in bytes `[start, end)` of `src`, for instance a chunk's data
 * inside segment bytes read into memory.
 */
export function decodeXorRange(
  src: Uint8Array,
  start: number,
  end: number,
  timestamps: Float64Array,
  values: Float64Array,
  offset = 0,
  file = 'chunk',
  fileOffset = 0,
): number {
  const len = end - start;
  if (len < 2) return 0;
  const total = ((src[start] as number) << 8) | (src[start + 1] as number);
  if (total === 0) return 0;
  if (scratch.length < len + 32) {
    scratch = new Uint8Array(Math.max(len + 32, scratch.length * 2));
    scratchView = new DataView(scratch.buffer);
  }
  const buf = scratch;
  const dv = scratchView;
  buf.set(start === 0 && end === src.length ? src : src.subarray(start, end));
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
  i32[0] = vLo;
  i32[1] = vHi;
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
    // The 32 bits at `pos` hold a sample's whole timestamp field unless it is a 64-bit one, and
    // a value's header with its significant bits when they are few: one load each, written out
    // here rather than through peek() because until V8 has optimized the loop (most of a short
    // process's life) every peek() is a real call.
    if (i > 1) {
      const q = pos >>> 3;
      const s = pos & 7;
      const w = (dv.getInt32(q) << s) | ((buf[q + 4] as number) >>> (8 - s));
      if (w >= 0) {
        // 0: same delta.
        pos += 1;
      } else if (w >>> 28 !== 0b1111) {
        // 10, 110 or 1110, then 14, 17 or 20 bits: two's complement with Prometheus's asymmetric
        // range (-8191…8192, …).
        const head = w >>> 28;
        const k = head < 0b1100 ? 2 : head < 0b1110 ? 3 : 4;
        const width = k === 2 ? 14 : k === 3 ? 17 : 20;
        let bits = (w << k) >>> (32 - width);
        if (bits > 1 << (width - 1)) bits -= 1 << width;
        tDelta += bits;
        pos += k + width;
      } else {
        const hi = peek(dv, buf, pos + 4, 32);
        const lo = peek(dv, buf, pos + 36, 32) >>> 0;
        tDelta += hi * TWO_32 + lo;
        pos += 68;
      }
      t += tDelta;
    }
    // Value: 0 = unchanged, 10 = reuse leading/trailing, 11 = new 5-bit leading, 6-bit length.
    const q = pos >>> 3;
    const s = pos & 7;
    const w = (dv.getInt32(q) << s) | ((buf[q + 4] as number) >>> (8 - s));
    if (w >= 0) {
      pos += 1;
    } else {
      let mbits: number;
      let used: number;
      if ((w & 0x40000000) === 0) {
        used = 2;
        mbits = 64 - leading - trailing;
      } else {
        const lm = (w << 2) >>> 21;
        leading = lm >>> 6;
        mbits = lm & 63;
        if (mbits === 0) mbits = 64;
        trailing = 64 - leading - mbits;
        if (trailing < 0) throw new CorruptionError(file, fileOffset, `invalid XOR value header in sample ${i}`);
        used = 13;
      }
      // The significant bits as (mh, ml), then shifted left by `trailing` into the XOR.
      let mh = 0;
      let ml: number;
      if (used + mbits <= 32) {
        ml = ((w << used) >>> (32 - mbits)) | 0;
        pos += used + mbits;
      } else {
        // Longer: the high part (bits past 32) from a window at pos, the low 32 or fewer from a
        // window right after it. Written out like the windows above (not peek()).
        pos += used;
        const hiBits = mbits > 32 ? mbits - 32 : 0;
        let wq = pos >>> 3;
        let ws = pos & 7;
        if (hiBits > 0) {
          const wh = (dv.getInt32(wq) << ws) | ((buf[wq + 4] as number) >>> (8 - ws));
          mh = (wh >>> (32 - hiBits)) | 0;
          wq = (pos + hiBits) >>> 3;
          ws = (pos + hiBits) & 7;
        }
        const wl = (dv.getInt32(wq) << ws) | ((buf[wq + 4] as number) >>> (8 - ws));
        ml = (wl >>> (32 - (mbits - hiBits))) | 0;
        pos += mbits;
      }
      if (trailing === 0) {
        vHi ^= mh;
        vLo ^= ml;
      } else if (trailing >= 32) {
        vHi ^= ml << (trailing - 32);
      } else {
        vLo ^= ml << trailing;
        vHi ^= (mh << trailing) | (ml >>> (32 - trailing));
      }
    }
    if (pos > endBits) throw truncated(file, fileOffset, i);
    i32[0] = vLo;
    i32[1] = vHi;
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

// Type feedback for every branch of the encoding and decoding loops, gathered once at load from a
// made-up chunk: every timestamp bucket and every kind of value XOR. V8 optimizes a loop for the
// branches it has seen run; a branch first taken afterwards (a 20-bit timestamp jump after a gap,
// a value XOR confined to the low half) throws the optimized loop away and compiles it again. In
// a fresh process compacting 2 blocks that was 2-3 TurboFan compiles per loop, measured at
// 10-100 ms of CPU each; this chunk takes well under a millisecond.
primeXorLoops();

function primeXorLoops(): void {
  const dods = [0, 1, -1, 8192, -8191, 8193, -8192, 65536, -65535, 65537, -65536, 524288, -524287, 524289, -524288];
  dods.push(2 ** 33, -(2 ** 33), 0, 0, 0, 0, 0);
  const vals = [0, 0, 5e-324, 1, 2, 4, 0.1, 0.7, -3.3, 1.0000000000000002, -1, Number.NaN, Number.POSITIVE_INFINITY];
  vals.push(Number.NEGATIVE_INFINITY, 123456.789, 123456.789, 1e300, -1e-300, 42, 43, 44.5, 44.75);
  const n = Math.min(dods.length, vals.length) + 1;
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  let t = 1_700_000_000_000;
  let delta = 2 ** 35;
  for (let i = 0; i < n; i++) {
    if (i > 1) delta += dods[i - 2] as number;
    if (i > 0) t += delta;
    ts[i] = t;
    vs[i] = vals[i % vals.length] as number;
  }
  const st = new XorWriterState(16);
  const outT = new Float64Array(n);
  const outV = new Float64Array(n);
  // V8 allocates a function's feedback vector only after several calls (8 in Node 24), and
  // records nothing before: a single call would teach it nothing.
  for (let round = 0; round < 12; round++) {
    // In pieces, as XorEncoder feeds the loop: first sample, second, then the rest.
    st.reset();
    appendXorSamples(st, ts, vs, 0, 1);
    appendXorSamples(st, ts, vs, 1, 2);
    appendXorSamples(st, ts, vs, 2, n);
    const bytes = new Uint8Array(st.byteLength);
    st.writeTo(bytes, 0);
    decodeXorRange(bytes, 0, bytes.length, outT, outV);
  }
}
