import { CorruptionError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * A bounds-checked cursor over bytes of one file. Every read past the end throws a
 * CorruptionError naming the file and the absolute offset, never a RangeError.
 */
export class Decbuf {
  pos: number;

  /** `base` is the file offset of bytes[0], `start`/`end` the window the cursor may read. */
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
    readonly base: number,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  /** Bytes left in the window. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Absolute file offset of the cursor. */
  get offset(): number {
    return this.base + this.pos;
  }

  fail(detail: string): never {
    throw new CorruptionError(this.file, this.base + this.pos, detail);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) this.fail(`unexpected end of data reading ${what}`);
  }

  be32(): number {
    this.need(4, 'uint32');
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return (
      (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>>
      0
    );
  }

  be64(): number {
    const hi = this.be32();
    const lo = this.be32();
    return hi * 4294967296 + lo;
  }

  byte(): number {
    this.need(1, 'byte');
    return this.bytes[this.pos++] as number;
  }

  uvarint(): number {
    const b = this.bytes;
    let p = this.pos;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= this.end) this.fail('unexpected end of data reading uvarint');
      const x = b[p++] as number;
      v += (x & 0x7f) * mul;
      if (x < 0x80) {
        this.pos = p;
        return v;
      }
      mul *= 128;
    }
    return this.fail('uvarint overflows 64 bits');
  }

  /**
   * A uvarint read as Go's `int64(d.Uvarint64())`: values of 2^63 and more (10-byte varints) wrap to
   * negative numbers, exactly. Prometheus writes chunk start deltas this way, and they are negative
   * for a chunk that starts before the previous one ends (overlapping or out-of-order chunks).
   */
  uvarintInt64(): number {
    const start = this.pos;
    const v = this.uvarint();
    if (this.pos - start < 10) return v;
    return uvarintAsInt64(this.bytes, start, this.pos);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** A length-prefixed (uvarint) UTF-8 string. */
  uvarintString(): string {
    const n = this.uvarint();
    this.need(n, 'string');
    const p = this.pos;
    this.pos = p + n;
    return decodeString(this.bytes, p, n);
  }

  skip(n: number): void {
    this.need(n, 'bytes');
    this.pos += n;
  }
}

/** Decodes UTF-8 bytes; pure-ASCII strings (the common case) avoid TextDecoder. */
export function decodeString(b: Uint8Array, p: number, n: number): string {
  if (n < 32) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if ((b[p + i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(b[p + i] as number);
      return s;
    }
  }
  return utf8.decode(b.subarray(p, p + n));
}

/**
 * The uvarint in bytes[start, end) as Go's int64(uint64): exact for the 10-byte varints (≥ 2^63)
 * that a float sum cannot hold. Rare (negative deltas only), so bigint is fine here.
 */
export function uvarintAsInt64(bytes: Uint8Array, start: number, end: number): number {
  let u = 0n;
  let shift = 0n;
  for (let p = start; p < end; p++) {
    u |= BigInt((bytes[p] as number) & 0x7f) << shift;
    shift += 7n;
  }
  return Number(BigInt.asIntN(64, u));
}
