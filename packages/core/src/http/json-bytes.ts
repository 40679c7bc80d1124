/**
 * A growable byte buffer for large JSON answers. Sample timestamps and values are ASCII and are
 * copied byte by byte: building a week of minutely points by string concatenation left the
 * encoding mostly garbage collection (a rope string per sample), and the UTF-8 conversion of the
 * finished string cost as much again.
 */
export class JSONBytes {
  private buf: Buffer;
  private n = 0;

  /** `initialBytes`: the first buffer's size (default 64 KiB); sized right, the answer is never copied to grow. */
  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
  }

  /** Bytes written so far. */
  get length(): number {
    return this.n;
  }

  private ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.n + extra));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }

  /** Writes a string known to be ASCII. */
  ascii(s: string): void {
    const len = s.length;
    this.ensure(len);
    const b = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) b[n++] = s.charCodeAt(i);
    this.n = n;
  }

  /**
   * Writes `s` as a JSON string: copied between quotes when it needs no escaping and is ASCII
   * (sample values always are), JSON.stringify's text otherwise.
   */
  quoted(s: string): void {
    const len = s.length;
    this.ensure(len + 2);
    const b = this.buf;
    const start = this.n;
    let n = start;
    b[n++] = 0x22;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.n = start;
        this.text(JSON.stringify(s));
        return;
      }
      b[n++] = c;
    }
    b[n++] = 0x22;
    this.n = n;
  }

  /** Writes one byte (an ASCII separator such as `,`). */
  byte(c: number): void {
    this.ensure(1);
    this.buf[this.n++] = c;
  }

  /** Copies bytes [from, to) of `src`, which must already be JSON text. */
  raw(src: Uint8Array, from: number, to: number): void {
    const len = to - from;
    this.ensure(len);
    this.buf.set(src.subarray(from, to), this.n);
    this.n += len;
  }

  /** Writes any string as UTF-8. */
  text(s: string): void {
    this.ensure(3 * s.length);
    this.n += this.buf.write(s, this.n, 'utf8');
  }

  /**
   * Writes float sample pairs `from` to `to` (exclusive) as Prometheus's API does,
   * `[<t>,"<v>"],[<t>,"<v>"]…` without the enclosing brackets, with `time(t)` and `value(v)`
   * giving each side's ASCII text. One bounds check for the whole run and no call per separator:
   * this loop is most of a large range answer's encoding.
   */
  pairs(
    timestamps: ArrayLike<number>,
    values: ArrayLike<number>,
    from: number,
    to: number,
    time: (t: number) => string,
    value: (v: number) => string,
  ): void {
    // A timestamp is at most 21 characters (sign, 16 digits, '.', 3 digits), a value at most 24
    // ('-', 17 digits, '.', 'e-308'), plus 6 separators.
    this.ensure((to - from) * 52);
    const b = this.buf;
    let p = this.n;
    for (let j = from; j < to; j++) {
      if (j > from) b[p++] = 0x2c; // ,
      b[p++] = 0x5b; // [
      const t = time(timestamps[j] as number);
      for (let i = 0; i < t.length; i++) b[p++] = t.charCodeAt(i);
      b[p++] = 0x2c; // ,
      b[p++] = 0x22; // "
      const v = value(values[j] as number);
      for (let i = 0; i < v.length; i++) b[p++] = v.charCodeAt(i);
      b[p++] = 0x22; // "
      b[p++] = 0x5d; // ]
    }
    this.n = p;
  }

  /** The bytes written (a view of the buffer). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}
