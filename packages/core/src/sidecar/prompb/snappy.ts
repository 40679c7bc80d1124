import { compressSync, uncompressSync } from 'snappy';

/**
 * Snappy block format (not the framing format), as remote read requests, SAMPLES responses and
 * remote-write bodies use. Backed by the native `snappy` package (napi-rs prebuilt binaries).
 */
export function snappyEncode(data: Uint8Array): Uint8Array {
  return compressSync(data);
}

/** Decodes a snappy block; throws on corrupt input. */
export function snappyDecode(data: Uint8Array): Uint8Array {
  return uncompressSync(data, { asBuffer: true }) as Buffer;
}
