import { type FileHandle, open } from 'node:fs/promises';
import type { ByteRangeSource } from '../block/range-source.js';

/**
 * A ByteRangeSource that can also read into a buffer the caller keeps: compaction reads a block's
 * segments window by window, and fresh buffers for each window cost more (page faults on new
 * memory) than the reads themselves.
 */
export interface ByteRangeSourceInto extends ByteRangeSource {
  /** Reads up to `target.length` bytes from `offset` into `target`; returns how many (fewer at the end). */
  readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<number>;
}

/** Whether `s` can read into a caller's buffer. */
export function canReadInto(s: ByteRangeSource): s is ByteRangeSourceInto {
  return typeof (s as Partial<ByteRangeSourceInto>).readInto === 'function';
}

/**
 * A local chunk segment file read with positioned reads on one FileHandle (opened on first use),
 * into fresh buffers (`read`) or the caller's (`readInto`). FileRangeSource without the extra.
 */
export class SegmentFileSource implements ByteRangeSourceInto {
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
    const buf = new Uint8Array(length);
    const n = await this.readInto(offset, buf, signal);
    return n === length ? buf : buf.subarray(0, n);
  }

  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    const fh = await this.handle();
    let done = 0;
    while (done < target.length) {
      const { bytesRead } = await fh.read(target, done, target.length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async close(): Promise<void> {
    const p = this.fhPromise;
    this.fhPromise = undefined;
    if (p) await (await p).close();
  }
}
