/**
 * Bit-level writer reproducing Prometheus's bstream (tsdb/chunkenc/bstream.go) byte for byte,
 * including its one quirk: a whole byte written at a byte boundary leaves an extra, still empty
 * byte at the end of the stream. Chunks therefore have exactly the length Prometheus gives them.
 */
export class BitWriter {
  private buf: Uint8Array;
  /** Bits written after the fixed prefix. */
  private pos = 0;
  /** Whether the last write was a whole-byte write that started on a byte boundary. */
  private trailingEmptyByte = false;

  /** `prefix` bytes are reserved at the start (the XOR chunk's 2-byte sample count). */
  constructor(
    private readonly prefix: number,
    initialCapacity = 128,
  ) {
    this.buf = new Uint8Array(Math.max(initialCapacity, prefix + 16));
  }

  /** Raw backing array; bytes [0, length) are the stream. */
  get array(): Uint8Array {
    return this.buf;
  }

  /** Length of the stream in bytes, prefix included, as Prometheus's bstream would report it. */
  get length(): number {
    const bits = this.pos;
    const whole = (bits + 7) >>> 3;
    return this.prefix + whole + ((bits & 7) === 0 && this.trailingEmptyByte ? 1 : 0);
  }

  /** Bits written so far (without the prefix). */
  get bitLength(): number {
    return this.pos;
  }

  private ensure(bits: number): void {
    const need = this.prefix + ((this.pos + bits + 7) >>> 3) + 9;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf);
    this.buf = next;
  }

  /** Writes one bit. */
  writeBit(bit: number): void {
    this.ensure(1);
    if (bit) {
      const p = this.pos;
      const i = this.prefix + (p >>> 3);
      this.buf[i] = (this.buf[i] as number) | (0x80 >>> (p & 7));
    }
    this.pos++;
    this.trailingEmptyByte = false;
  }

  /** Writes the `n` (0 < n ≤ 32) low bits of `v`, most significant first. */
  writeBits(v: number, n: number): void {
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    const aligned = (p & 7) === 0;
    let left = n;
    while (left > 0) {
      const i = this.prefix + (p >>> 3);
      const free = 8 - (p & 7);
      const take = Math.min(left, free);
      const bits = (v >>> (left - take)) & ((1 << take) - 1);
      buf[i] = (buf[i] as number) | (bits << (free - take));
      p += take;
      left -= take;
    }
    this.pos = p;
    // bstream.writeBits writes whole bytes via writeByte, which appends a fresh byte each time.
    this.trailingEmptyByte = aligned && (n & 7) === 0;
  }

  /** Writes a 64-bit quantity given as two 32-bit halves, keeping the low `n` (≤ 64) bits. */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n <= 32) {
      this.writeBits(lo, n);
      return;
    }
    const aligned = (this.pos & 7) === 0;
    this.writeBits(hi, n - 32);
    this.writeBits(lo, 32);
    this.trailingEmptyByte = aligned && (n & 7) === 0;
  }

  /** Writes whole bytes (the varints of the first two samples). */
  writeBytes(bytes: ArrayLike<number>, count: number): void {
    const aligned = (this.pos & 7) === 0;
    for (let i = 0; i < count; i++) this.writeBits(bytes[i] as number, 8);
    this.trailingEmptyByte = aligned && count > 0;
  }

  /** Copies the stream (prefix included) into a new array of exactly `length` bytes. */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/**
 * Reads up to 32 bits at bit position `pos` of `buf`. `buf` must have at least 5 readable bytes
 * past the position (callers pad their copy), so no bounds checks happen here.
 */
export function peekBits(buf: Uint8Array, pos: number, n: number): number {
  const i = pos >>> 3;
  const s = pos & 7;
  const w =
    ((buf[i] as number) << 24) |
    ((buf[i + 1] as number) << 16) |
    ((buf[i + 2] as number) << 8) |
    (buf[i + 3] as number);
  const x = (w << s) | ((buf[i + 4] as number) >>> (8 - s));
  return x >>> (32 - n);
}
