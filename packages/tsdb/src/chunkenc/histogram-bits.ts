// Bit-level reading and writing shared by the histogram and float histogram chunks: Prometheus's
// varbit integers (tsdb/chunkenc/varbit.go), the XOR float encoding with per-field
// leading/trailing state (xorWrite/xorRead in xor.go), and a reader that turns running past the
// end of a chunk into a CorruptionError instead of a wrong answer.
import { CorruptionError } from '../errors.js';
import type { BitWriter } from './bitstream.js';

const TWO_32 = 4294967296;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

// Go's bitRange(x, nbits): -(2^(nbits-1)-1) <= x <= 2^(nbits-1).
function bitRange(x: number, nbits: number): boolean {
  const h = 2 ** (nbits - 1);
  return -(h - 1) <= x && x <= h;
}

/**
 * Writes a signed integer in Prometheus's varbit encoding (putVarbitInt): 0 as one 0 bit, then
 * prefixes 10, 110, …, 11111110, 11111111 for 3, 6, 9, 12, 18, 25, 56 and 64 value bits (two's
 * complement). Exact for |v| < 2^53.
 */
export function putVarbitInt(w: BitWriter, v: number): void {
  if (v === 0) {
    w.writeBit(0);
  } else if (bitRange(v, 3)) {
    w.writeBits(0b10, 2);
    w.writeBits(v, 3);
  } else if (bitRange(v, 6)) {
    w.writeBits(0b110, 3);
    w.writeBits(v, 6);
  } else if (bitRange(v, 9)) {
    w.writeBits(0b1110, 4);
    w.writeBits(v, 9);
  } else if (bitRange(v, 12)) {
    w.writeBits(0b11110, 5);
    w.writeBits(v, 12);
  } else if (bitRange(v, 18)) {
    w.writeBits(0b111110, 6);
    w.writeBits(v, 18);
  } else if (bitRange(v, 25)) {
    w.writeBits(0b1111110, 7);
    w.writeBits(v, 25);
  } else if (bitRange(v, 56)) {
    w.writeBits(0b11111110, 8);
    const hi = Math.floor(v / TWO_32);
    w.writeBits64(hi, (v - hi * TWO_32) >>> 0, 56);
  } else {
    w.writeBits(0b11111111, 8);
    const hi = Math.floor(v / TWO_32);
    w.writeBits64(hi, (v - hi * TWO_32) >>> 0, 64);
  }
}

/** Writes a non-negative integer in varbit encoding (putVarbitUint): same buckets, no sign. */
export function putVarbitUint(w: BitWriter, v: number): void {
  if (v === 0) {
    w.writeBit(0);
  } else if (v < 2 ** 3) {
    w.writeBits(0b10, 2);
    w.writeBits(v, 3);
  } else if (v < 2 ** 6) {
    w.writeBits(0b110, 3);
    w.writeBits(v, 6);
  } else if (v < 2 ** 9) {
    w.writeBits(0b1110, 4);
    w.writeBits(v, 9);
  } else if (v < 2 ** 12) {
    w.writeBits(0b11110, 5);
    w.writeBits(v, 12);
  } else if (v < 2 ** 18) {
    w.writeBits(0b111110, 6);
    w.writeBits(v, 18);
  } else if (v < 2 ** 25) {
    w.writeBits(0b1111110, 7);
    w.writeBits(v, 25);
  } else if (v < 2 ** 56) {
    w.writeBits(0b11111110, 8);
    const hi = Math.floor(v / TWO_32);
    w.writeBits64(hi, (v - hi * TWO_32) >>> 0, 56);
  } else {
    w.writeBits(0b11111111, 8);
    const hi = Math.floor(v / TWO_32);
    w.writeBits64(hi, (v - hi * TWO_32) >>> 0, 64);
  }
}

/** Writes the raw 64 bits of a float64. */
export function putFloat64(w: BitWriter, v: number): void {
  f64[0] = v;
  w.writeBits64(u32[1] as number, u32[0] as number, 64);
}

/** Leading/trailing-zero state of one XOR-encoded field; `leading` 0xff means "none yet". */
export interface XorState {
  value: number;
  leading: number;
  trailing: number;
}

/**
 * Writes `v` XOR'd against `s.value` as Prometheus's xorWrite does (0 = same value; 10 = reuse
 * the previous leading/trailing window; 11 + 5-bit leading + 6-bit length + bits), updating the
 * window in `s` (not `s.value`, which the caller owns).
 */
export function putXor(w: BitWriter, v: number, s: XorState): void {
  f64[0] = v;
  const nLo = u32[0] as number;
  const nHi = u32[1] as number;
  f64[0] = s.value;
  const dHi = (nHi ^ (u32[1] as number)) >>> 0;
  const dLo = (nLo ^ (u32[0] as number)) >>> 0;
  if (dHi === 0 && dLo === 0) {
    w.writeBit(0);
    return;
  }
  w.writeBit(1);
  let nl = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
  const nt = dLo !== 0 ? 31 - Math.clz32(dLo & -dLo) : 63 - Math.clz32(dHi & -dHi);
  // Prometheus clamps leading zeros to 31 so that the count fits in 5 bits.
  if (nl >= 32) nl = 31;
  let leading = s.leading;
  let trailing = s.trailing;
  if (leading !== 0xff && nl >= leading && nt >= trailing) {
    w.writeBit(0);
  } else {
    leading = nl;
    trailing = nt;
    s.leading = nl;
    s.trailing = nt;
    w.writeBit(1);
    w.writeBits(nl, 5);
    // 64 significant bits do not fit in 6 bits and are written as 0 (never needed otherwise).
    w.writeBits((64 - nl - nt) & 0x3f, 6);
  }
  const sig = 64 - leading - trailing;
  // The XOR shifted right by `trailing`; its low `sig` bits are written.
  let sh: number;
  let sl: number;
  if (trailing === 0) {
    sh = dHi;
    sl = dLo;
  } else if (trailing >= 32) {
    sh = 0;
    sl = dHi >>> (trailing - 32);
  } else {
    sl = ((dLo >>> trailing) | (dHi << (32 - trailing))) >>> 0;
    sh = dHi >>> trailing;
  }
  w.writeBits64(sh, sl, sig);
}

// Value bits of the varbit buckets, by the number of leading 1 bits of the prefix (1..8).
const VARBIT_SIZES = [0, 3, 6, 9, 12, 18, 25, 56, 64];
// 2^(sz-1) and 2^sz by value bits, for the sign of small varbits.
const VARBIT_HALF: number[] = [];
const VARBIT_FULL: number[] = [];
for (let sz = 0; sz <= 25; sz++) {
  VARBIT_HALF[sz] = 2 ** (sz - 1);
  VARBIT_FULL[sz] = 2 ** sz;
}

// What a reader reads before its first reset (shared: readers are made per series).
const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(NO_BYTES.buffer);

/**
 * Reads a histogram chunk's bit stream. Reads go straight to the chunk's bytes (no copy); the
 * last few bytes are read one at a time with zeros past the end, so reads never go out of
 * bounds, and `check()` throws CorruptionError(file, offset) once the position is past the end of
 * the chunk. Reusable via `reset`.
 */
export class HistogramBitReader {
  private bytes: Uint8Array = NO_BYTES;
  private dv: DataView = NO_VIEW;
  // Byte index below which a 5-byte window is inside the chunk (the fast path of peek32).
  private fastEnd = 0;
  /** Bit position. */
  pos = 0;
  /** Bits in the chunk. */
  end = 0;
  file = 'chunk';
  fileOffset = 0;

  /** Starts reading `bytes` at bit position `startBit`. */
  reset(bytes: Uint8Array, startBit: number, file = 'chunk', fileOffset = 0): void {
    if (bytes !== this.bytes) this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.bytes = bytes;
    this.fastEnd = bytes.length - 4;
    this.pos = startBit;
    this.end = bytes.length * 8;
    this.file = file;
    this.fileOffset = fileOffset;
  }

  /** Throws CorruptionError when reading went past the end of the chunk. */
  check(what: string): void {
    if (this.pos > this.end) throw this.truncated(what);
  }

  /**
   * Throws CorruptionError when more than a byte is left after the last sample: the chunk's
   * spans announced fewer buckets than its samples hold, so every field was read misaligned.
   * (Up to 8 bits are normal: Prometheus's bstream.writeByte leaves a whole empty byte when it
   * writes at a byte boundary.)
   */
  checkEnd(): void {
    const left = this.end - this.pos;
    if (left > 8) {
      throw new CorruptionError(
        this.file,
        this.fileOffset,
        `histogram chunk has ${left} bits left after its last sample (buckets not matching spans)`,
      );
    }
  }

  /** The error for a chunk that ends inside `what`. */
  truncated(what: string): CorruptionError {
    return new CorruptionError(this.file, this.fileOffset, `histogram chunk truncated in ${what}`);
  }

  /** Up to 32 bits at the current position, without advancing. */
  peek(n: number): number {
    return this.peek32() >>> (32 - n);
  }

  /** Reads n (1..32) bits as an unsigned number. */
  readBits(n: number): number {
    const v = this.peek(n);
    this.pos += n;
    return v;
  }

  /** Reads one whole byte (the zero threshold's first byte). */
  readByte(): number {
    return this.readBits(8);
  }

  /** Reads a raw float64. */
  readFloat64(): number {
    u32[1] = this.readBits(32);
    u32[0] = this.readBits(32);
    return f64[0] as number;
  }

  /** Reads a varbit-encoded signed integer (readVarbitInt). */
  readVarbitInt(): number {
    // One 32-bit window holds the prefix and the value for every bucket up to 25 value bits.
    const w = this.peek32();
    if (w >= 0) {
      this.pos += 1;
      return 0;
    }
    const ones = Math.clz32(~w);
    if (ones <= 6) {
      const sz = VARBIT_SIZES[ones] as number;
      const plen = ones + 1;
      const bits = (w << plen) >>> (32 - sz);
      this.pos += plen + sz;
      // Values above 2^(sz-1) are negative (two's complement in sz bits).
      return bits > (VARBIT_HALF[sz] as number) ? bits - (VARBIT_FULL[sz] as number) : bits;
    }
    this.pos += ones === 8 ? 8 : ones + 1;
    const sz = VARBIT_SIZES[ones] as number;
    const hi = this.readBits(sz - 32);
    const lo = this.readBits(32);
    if (sz === 64) return (hi | 0) * TWO_32 + lo;
    // 56-bit two's complement: values above 2^55 are negative. Subtracting on the high half keeps
    // the result exact whenever it is below 2^53 in magnitude.
    if (hi > 2 ** 23 || (hi === 2 ** 23 && lo > 0)) return (hi - 2 ** 24) * TWO_32 + lo;
    return hi * TWO_32 + lo;
  }

  // 32 bits at the current position as a signed int32 (the first bit is the sign); zeros past the
  // end of the chunk.
  private peek32(): number {
    const p = this.pos;
    const i = p >>> 3;
    const s = p & 7;
    if (i < this.fastEnd) return (this.dv.getUint32(i) << s) | ((this.bytes[i + 4] as number) >>> (8 - s));
    return this.peek32Tail(i, s);
  }

  // 32 bits at bit position p (see peek32).
  private peekAt(p: number): number {
    const i = p >>> 3;
    const s = p & 7;
    if (i < this.fastEnd) return (this.dv.getUint32(i) << s) | ((this.bytes[i + 4] as number) >>> (8 - s));
    return this.peek32Tail(i, s);
  }

  // peek32 within the last 5 bytes of the chunk or past its end.
  private peek32Tail(i: number, s: number): number {
    const b = this.bytes;
    const n = b.length;
    let x = 0;
    for (let k = 0; k < 4; k++) x = (x << 8) | (i + k < n ? (b[i + k] as number) : 0);
    const last = i + 4 < n ? (b[i + 4] as number) : 0;
    return (x << s) | (last >>> (8 - s));
  }

  /** Reads a varbit-encoded unsigned integer (readVarbitUint). */
  readVarbitUint(): number {
    const p = this.peek(8);
    if (p < 0x80) {
      this.pos += 1;
      return 0;
    }
    const ones = Math.clz32(~(p << 24));
    this.pos += ones === 8 ? 8 : ones + 1;
    const sz = VARBIT_SIZES[ones] as number;
    if (sz <= 25) return this.readBits(sz);
    const hi = this.readBits(sz - 32);
    return hi * TWO_32 + this.readBits(32);
  }

  /** Reads an XOR-encoded float into `s.value`, updating its leading/trailing window (xorRead). */
  readXor(s: XorState): void {
    const h = this.peek(2);
    if (h < 2) {
      this.pos += 1;
      return;
    }
    let mbits: number;
    let trailing: number;
    if (h === 2) {
      this.pos += 2;
      trailing = s.trailing;
      mbits = 64 - s.leading - trailing;
    } else {
      const lm = this.peek(13) & 0x7ff;
      this.pos += 13;
      const leading = lm >>> 6;
      mbits = lm & 63;
      if (mbits === 0) mbits = 64;
      trailing = 64 - leading - mbits;
      if (trailing < 0) throw new CorruptionError(this.file, this.fileOffset, 'invalid XOR value header');
      s.leading = leading;
      s.trailing = trailing;
    }
    if (mbits <= 0 || mbits > 64) throw new CorruptionError(this.file, this.fileOffset, 'invalid XOR value header');
    f64[0] = s.value;
    let vHi = u32[1] as number;
    let vLo = u32[0] as number;
    if (mbits <= 32) {
      const m = this.readBits(mbits);
      if (trailing >= 32) {
        vHi = (vHi ^ (m << (trailing - 32))) >>> 0;
      } else if (trailing + mbits <= 32) {
        vLo = (vLo ^ (m << trailing)) >>> 0;
      } else {
        vLo = (vLo ^ (m << trailing)) >>> 0;
        vHi = (vHi ^ (m >>> (32 - trailing))) >>> 0;
      }
    } else {
      const mh = this.readBits(mbits - 32);
      const ml = this.readBits(32);
      if (trailing === 0) {
        vHi = (vHi ^ mh) >>> 0;
        vLo = (vLo ^ ml) >>> 0;
      } else {
        vLo = (vLo ^ (ml << trailing)) >>> 0;
        vHi = (vHi ^ ((mh << trailing) | (ml >>> (32 - trailing)))) >>> 0;
      }
    }
    u32[1] = vHi;
    u32[0] = vLo;
    s.value = f64[0] as number;
  }

  /**
   * readXor over a field kept as bits: `st[o]`, `st[o + 1]` hold the high and low 32 bits of the
   * value (int32 bit patterns), `st[o + 2]`, `st[o + 3]` its leading and trailing window. Decoders
   * that skip samples never turn the bits into a float (see xorStateValue).
   */
  readXorBits(st: Int32Array, o: number): void {
    const w = this.peek32();
    if (w >= 0) {
      // Control bit 0: same value.
      this.pos += 1;
      return;
    }
    let mbits: number;
    let trailing: number;
    if ((w & 0x40000000) === 0) {
      // 10: the previous window.
      this.pos += 2;
      trailing = st[o + 3] as number;
      mbits = 64 - (st[o + 2] as number) - trailing;
    } else {
      // 11: 5 bits of leading zeros and 6 bits of length (0 meaning 64).
      const lm = (w >>> 19) & 0x7ff;
      this.pos += 13;
      const leading = lm >>> 6;
      mbits = lm & 63;
      if (mbits === 0) mbits = 64;
      trailing = 64 - leading - mbits;
      if (trailing < 0) throw new CorruptionError(this.file, this.fileOffset, 'invalid XOR value header');
      st[o + 2] = leading;
      st[o + 3] = trailing;
    }
    if (mbits <= 0 || mbits > 64) throw new CorruptionError(this.file, this.fileOffset, 'invalid XOR value header');
    if (mbits <= 32) {
      const m = this.readBits(mbits);
      if (trailing >= 32) st[o] = (st[o] as number) ^ (m << (trailing - 32));
      else if (trailing + mbits <= 32) st[o + 1] = (st[o + 1] as number) ^ (m << trailing);
      else {
        st[o + 1] = (st[o + 1] as number) ^ (m << trailing);
        st[o] = (st[o] as number) ^ (m >>> (32 - trailing));
      }
    } else {
      const mh = this.readBits(mbits - 32);
      const ml = this.readBits(32);
      if (trailing === 0) {
        st[o] = (st[o] as number) ^ mh;
        st[o + 1] = (st[o + 1] as number) ^ ml;
      } else {
        st[o + 1] = (st[o + 1] as number) ^ (ml << trailing);
        st[o] = (st[o] as number) ^ ((mh << trailing) | (ml >>> (32 - trailing)));
      }
    }
  }

  /**
   * readXorBits for the fields at offsets `from`, `from + 4`, … below `to` of `st`, in one loop
   * with the bit position in a local: the decoding of a sample's buckets is the hot loop of every
   * histogram query. The value bits come out of the 32-bit window that held the control bits
   * whenever they fit there.
   */
  readXorFields(st: Int32Array, from: number, to: number): void {
    const dv = this.dv;
    const b = this.bytes;
    const fastEnd = this.fastEnd;
    let p = this.pos;
    for (let o = from; o < to; o += 4) {
      const i = p >>> 3;
      const s = p & 7;
      let w = i < fastEnd ? (dv.getUint32(i) << s) | ((b[i + 4] as number) >>> (8 - s)) : this.peek32Tail(i, s);
      if (w >= 0) {
        p += 1;
        continue;
      }
      let mbits: number;
      let trailing: number;
      let avail: number;
      if ((w & 0x40000000) === 0) {
        trailing = st[o + 3] as number;
        mbits = 64 - (st[o + 2] as number) - trailing;
        p += 2;
        w <<= 2;
        avail = 30;
      } else {
        const lm = (w >>> 19) & 0x7ff;
        const leading = lm >>> 6;
        mbits = lm & 63;
        if (mbits === 0) mbits = 64;
        trailing = 64 - leading - mbits;
        if (trailing < 0) throw this.badXorHeader();
        st[o + 2] = leading;
        st[o + 3] = trailing;
        p += 13;
        w <<= 13;
        avail = 19;
      }
      if (mbits <= 0 || mbits > 64) throw this.badXorHeader();
      if (mbits <= 32) {
        let m: number;
        if (mbits <= avail) m = w >>> (32 - mbits);
        else m = this.peekAt(p) >>> (32 - mbits);
        p += mbits;
        if (trailing >= 32) st[o] = (st[o] as number) ^ (m << (trailing - 32));
        else if (trailing + mbits <= 32) st[o + 1] = (st[o + 1] as number) ^ (m << trailing);
        else {
          st[o + 1] = (st[o + 1] as number) ^ (m << trailing);
          st[o] = (st[o] as number) ^ (m >>> (32 - trailing));
        }
      } else {
        const mh = this.peekAt(p) >>> (64 - mbits);
        p += mbits - 32;
        const ml = this.peekAt(p);
        p += 32;
        if (trailing === 0) {
          st[o] = (st[o] as number) ^ mh;
          st[o + 1] = (st[o + 1] as number) ^ ml;
        } else {
          st[o + 1] = (st[o + 1] as number) ^ (ml << trailing);
          st[o] = (st[o] as number) ^ ((mh << trailing) | (ml >>> (32 - trailing)));
        }
      }
    }
    this.pos = p;
  }

  private badXorHeader(): CorruptionError {
    return new CorruptionError(this.file, this.fileOffset, 'invalid XOR value header');
  }

  /** Reads a raw float64 into `st[o]` (high bits) and `st[o + 1]` (low bits); see readXorBits. */
  readFloat64Bits(st: Int32Array, o: number): void {
    st[o] = this.readBits(32);
    st[o + 1] = this.readBits(32);
  }
}

const i32 = new Int32Array(f64.buffer);

/** The float64 whose bits `st[o]` (high) and `st[o + 1]` (low) hold; see readXorBits. */
export function xorStateValue(st: Int32Array, o: number): number {
  i32[1] = st[o] as number;
  i32[0] = st[o + 1] as number;
  return f64[0] as number;
}
