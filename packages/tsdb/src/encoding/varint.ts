/** Appends Go-compatible uvarint bytes of a non-negative integer (exact below 2^53) to `out`. */
export function putUvarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** Appends Go-compatible zig-zag varint bytes of an integer (exact for |v| < 2^52). */
export function putVarint(out: number[], v: number): void {
  putUvarint(out, v >= 0 ? v * 2 : -v * 2 - 1);
}

/** Number of bytes the uvarint encoding of v takes. */
export function uvarintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}
