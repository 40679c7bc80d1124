import type { Bucket } from '@thanos-ts/objstore';
import type { ByteRangeSource } from '@thanos-ts/tsdb';
import { bytesLimiterOf } from './limits.js';

/** Counts object-storage requests made through range sources (for metrics and benchmarks). */
export interface RequestCounter {
  getRange: number;
  bytes: number;
}

/**
 * A ByteRangeSource over one object in a bucket: every read is a ranged GET. The size comes from
 * `attributes` once (or is given, e.g. from meta.json's `thanos.files`).
 */
export class BucketRangeSource implements ByteRangeSource {
  private sizePromise: Promise<number> | undefined;

  constructor(
    private readonly bucket: Bucket,
    readonly name: string,
    knownSize?: number,
    private readonly counter?: RequestCounter,
    /**
     * What a read at an offset fetches, in Thanos's words (`fetching postings`), for the
     * request's downloaded-bytes limit; reads are charged to the limiter their signal carries.
     */
    private readonly fetching: (offset: number) => string = () => 'fetching chunks',
  ) {
    if (knownSize !== undefined) this.sizePromise = Promise.resolve(knownSize);
  }

  size(): Promise<number> {
    this.sizePromise ??= this.bucket.attributes(this.name).then((a) => a.size);
    return this.sizePromise;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    bytesLimiterOf(signal)?.reserve(length, this.fetching(offset));
    if (this.counter) {
      this.counter.getRange++;
      this.counter.bytes += length;
    }
    return this.bucket.getRange(this.name, offset, length, signal ? { signal } : {});
  }
}
