import type { ByteRangeSource } from '@thanos-ts/tsdb';
import type { Cache } from '../cache/cache.js';
import type { IndexCacheItem } from '../cache/config.js';
import { bytesLimiterOf } from './limits.js';

/** The index cache as the gateway uses it: a backend, a TTL and which item kinds to cache. */
export interface IndexCache {
  cache: Cache;
  ttlMs: number;
  enabledItems: ReadonlySet<IndexCacheItem>;
  /** Called on every lookup (the gateway counts them as Thanos's index cache metrics). */
  observe?: (item: IndexCacheItem, hit: boolean) => void;
}

/**
 * Caches the index reads a query makes: postings lists and series entries, keyed by block,
 * offset and length. tsdb's IndexReader issues the same ranges for the same matchers and
 * series, so a repeated query is answered without touching the bucket. `kindAt` tells which
 * section an offset belongs to so `enabled_items` can be honoured.
 */
export class CachingIndexRangeSource implements ByteRangeSource {
  constructor(
    private readonly remote: ByteRangeSource,
    private readonly index: IndexCache,
    private readonly blockId: string,
    private readonly kindAt: (offset: number) => IndexCacheItem | undefined,
  ) {}

  get name(): string {
    return this.remote.name;
  }

  size(): Promise<number> {
    return this.remote.size();
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const kind = this.kindAt(offset);
    if (kind === undefined || !this.index.enabledItems.has(kind)) return this.remote.read(offset, length, signal);
    const key = `${kind === 'Postings' ? 'P' : 'S'}:${this.blockId}:${offset}:${length}`;
    const hit = (await this.index.cache.fetch([key], signal)).get(key);
    this.index.observe?.(kind, hit !== undefined);
    if (hit) {
      // Thanos counts bytes from the index cache as touched against the same limit.
      bytesLimiterOf(signal)?.reserve(
        hit.length,
        `loading ${kind === 'Postings' ? 'postings' : 'series'} from index cache`,
      );
      return hit;
    }
    const bytes = await this.remote.read(offset, length, signal);
    this.index.cache.store(key, bytes, this.index.ttlMs);
    return bytes;
  }
}
