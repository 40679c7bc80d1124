import { type FileHandle, open } from 'node:fs/promises';

/**
 * Random access to the bytes of one file of a block: a local file, or an object in a bucket (the
 * store gateway plugs a ranged GET in here). Reads past the end return fewer bytes.
 */
export interface ByteRangeSource {
  /** Name used in error messages (a path or object key). */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Up to `length` bytes from `offset`. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Releases the underlying handle, if any. */
  close?(): Promise<void>;
}

/** A ByteRangeSource over a local file, read with positioned reads on one FileHandle. */
export class FileRangeSource implements ByteRangeSource {
  private fhPromise: Promise<FileHandle> | undefined;
  private cachedSize: number | undefined;

  constructor(readonly name: string) {}

  private handle(): Promise<FileHandle> {
    this.fhPromise ??= open(this.name, 'r');
    return this.fhPromise;
  }

  async size(): Promise<number> {
    if (this.cachedSize === undefined) this.cachedSize = (await (await this.handle()).stat()).size;
    return this.cachedSize;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const fh = await this.handle();
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, done);
  }

  async close(): Promise<void> {
    const p = this.fhPromise;
    this.fhPromise = undefined;
    if (p) await (await p).close();
  }
}

/** A ByteRangeSource over bytes already in memory (tests, small files, cached objects). */
export class BytesRangeSource implements ByteRangeSource {
  constructor(
    readonly name: string,
    private readonly bytes: Uint8Array,
  ) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    return this.bytes.subarray(offset, Math.min(this.bytes.length, offset + length));
  }
}
