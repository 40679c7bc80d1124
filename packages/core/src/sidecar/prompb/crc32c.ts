/**
 * CRC32 with the Castagnoli polynomial, as Prometheus checksums each streamed remote-read frame
 * (storage/remote/chunked.go). Kept here because @thanos-ts/tsdb does not export its own copy;
 * switch to it once it does.
 */
const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32C of `data[start, end)`. */
export function frameCrc32c(data: Uint8Array, start = 0, end = data.length): number {
  const t = TABLE;
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = (t[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
