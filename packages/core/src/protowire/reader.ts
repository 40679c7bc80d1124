import { WireDecodeError } from '../errors.js';

const TWO_32 = 4294967296;

/**
 * A minimal protobuf wire-format reader for the hot decoders (StoreAPI series, remote-read
 * frames), which read straight into our own types instead of protobufjs's objects. Every read is
 * bounded by `end`; malformed input raises a WireDecodeError naming the message and byte offset.
 */
export class ProtoReader {
  pos = 0;
  end: number;
  private readonly text: Buffer;

  /** `message` names what is decoded, for errors (e.g. 'SeriesResponse'). */
  constructor(
    readonly buf: Uint8Array,
    private readonly message: string,
  ) {
    this.end = buf.length;
    this.text = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Throws the WireDecodeError every malformed read ends in. */
  fail(detail: string): never {
    throw new WireDecodeError(this.message, this.pos, detail);
  }

  /** A varint of up to 32 bits (tags, lengths, enums). */
  uint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift === 28) result |= (b & 0x0f) << 28;
      if (b < 0x80) return result >>> 0;
      shift += 7;
      if (shift > 63) this.fail('varint too long');
    }
  }

  /** A two's-complement int64 varint as a double (exact within ±2^53, like every ms timestamp). */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = buf[this.pos++] as number;
      if (shift < 28) lo |= (b & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >>> 4;
      } else hi |= (b & 0x7f) << (shift - 32);
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) this.fail('varint too long');
    }
    return (hi | 0) * TWO_32 + (lo >>> 0);
  }

  /** A uint64 varint exactly, as a bigint (rare fields such as chunk hashes). */
  uint64(): bigint {
    const start = this.pos;
    this.skip(0);
    let v = 0n;
    let shift = 0n;
    for (let p = start; p < this.pos; p++) {
      v |= BigInt((this.buf[p] as number) & 0x7f) << shift;
      shift += 7n;
    }
    return v;
  }

  /** Reads the length of an embedded message and returns where it ends (checked against the bound). */
  messageEnd(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.end) this.fail('embedded message past the end');
    return end;
  }

  /** A length-delimited bytes field, as a view of the buffer (no copy). */
  bytes(): Uint8Array {
    const end = this.messageEnd();
    const start = this.pos;
    this.pos = end;
    return this.buf.subarray(start, end);
  }

  /** A length-delimited string field. */
  string(): string {
    const end = this.messageEnd();
    return this.stringUntil(end);
  }

  /** UTF-8 text from the current position to `end` (when the length was read already). */
  stringUntil(end: number): string {
    const start = this.pos;
    this.pos = end;
    return this.text.toString('utf8', start, end);
  }

  /** Skips a field of the given wire type. */
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.int64();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.messageEnd();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) this.fail('field past the end');
  }
}
