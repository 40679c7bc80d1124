import type { UploadBody } from './bucket.js';
import { ObjstoreInvalidArgumentError } from './errors.js';

/**
 * Yields an upload body as byte chunks, whatever its shape. Node streams in object mode may
 * yield strings or Buffers; both are accepted as bytes so a `fs.createReadStream` just works.
 */
export async function* bodyChunks(body: UploadBody, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    signal?.throwIfAborted();
    yield body;
    return;
  }
  for await (const chunk of body as AsyncIterable<unknown>) {
    signal?.throwIfAborted();
    if (chunk instanceof Uint8Array) yield chunk;
    else if (typeof chunk === 'string') yield Buffer.from(chunk);
    else throw new ObjstoreInvalidArgumentError(`upload body yielded a ${typeof chunk}, want Uint8Array chunks`);
  }
}

/** Reads a whole upload body into one array (used where a backend needs the full object). */
export async function collectBody(body: UploadBody, signal?: AbortSignal): Promise<Uint8Array> {
  signal?.throwIfAborted();
  if (body instanceof Uint8Array) return body;
  const chunks: Uint8Array[] = [];
  for await (const chunk of bodyChunks(body, signal)) chunks.push(chunk);
  return concatBytes(chunks);
}

/** Concatenates chunks without copying when there is only one. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Re-chunks a byte stream into parts of exactly `size` bytes (the last may be shorter), each
 * copied into its own buffer so a caller may keep several in flight at once (S3 multipart parts,
 * Azure block blob blocks).
 */
export async function* fixedSizeParts(chunks: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let part = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of chunks) {
    let at = 0;
    while (at < chunk.byteLength) {
      const n = Math.min(size - filled, chunk.byteLength - at);
      part.set(chunk.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === size) {
        yield part;
        part = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield part.subarray(0, filled);
}
