import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { type BlockMeta, IndexReader, Labels } from '@thanos-ts/tsdb';
import { BucketRangeSource, type RequestCounter } from './bucket-range-source.js';
import { BucketChunkReader } from './chunk-reader.js';
import { CachingIndexRangeSource, type IndexCache } from './index-cache.js';
import {
  buildIndexHeader,
  INDEX_HEADER_FILENAME,
  type IndexHeader,
  IndexHeaderRangeSource,
  readIndexHeader,
  type SegmentFile,
  writeIndexHeader,
} from './index-header.js';

/** What a BucketBlock needs from its gateway. */
export interface BucketBlockOptions {
  bucket: Bucket;
  meta: BlockMeta;
  dataDir: string;
  indexCache?: IndexCache | undefined;
  counter: RequestCounter;
}

/**
 * One block of the bucket as the gateway serves it. `prepare` makes sure its index-header is on
 * local disk (building it from ranged reads and validating it); the index reader (symbols and
 * postings offset table in memory) is opened lazily on the first query and can be unloaded when
 * idle. Postings, series and chunks are always read from the bucket on demand.
 */
export class BucketBlock {
  readonly id: string;
  readonly extLabels: Labels;
  readonly resolution: number;
  /** `<ulid>/chunks`, for error messages (built once, not per chunk). */
  readonly chunksDir: string;
  /** Last time (ms) a query used the block. */
  lastUsed = 0;
  private segments: SegmentFile[] = [];
  private toc: IndexHeader['toc'] | undefined;
  private readerPromise: Promise<IndexReader> | undefined;
  private chunks: BucketChunkReader | undefined;
  private readonly headerPath: string;

  constructor(private readonly opts: BucketBlockOptions) {
    this.id = opts.meta.ulid;
    this.extLabels = Labels.from(opts.meta.thanos?.labels ?? {});
    this.resolution = opts.meta.thanos?.downsample.resolution ?? 0;
    this.chunksDir = `${this.id}/chunks`;
    this.headerPath = join(opts.dataDir, this.id, INDEX_HEADER_FILENAME);
  }

  get meta(): BlockMeta {
    return this.opts.meta;
  }

  /** Whether the index reader is in memory. */
  get loaded(): boolean {
    return this.readerPromise !== undefined;
  }

  /**
   * Ensures the index-header exists locally; builds it (3 ranged reads of the index plus a
   * chunks listing) when missing or damaged, and checks the symbol and postings offset tables
   * parse. Throws CorruptionError for a broken block.
   */
  async prepare(signal?: AbortSignal): Promise<void> {
    let header: IndexHeader | undefined;
    try {
      header = await readIndexHeader(this.headerPath);
    } catch {
      header = undefined; // damaged local copy: rebuild it
    }
    if (!header) {
      const segments = await this.listSegments(signal);
      header = await buildIndexHeader(this.remoteIndex(), segments, signal);
      // Parse once so a corrupt symbol table or postings offset table is found now, not mid-query.
      const check = await IndexReader.open(new IndexHeaderRangeSource(header, this.remoteIndex()), {
        preloadBelow: 0,
        ...(signal ? { signal } : {}),
      });
      await check.close();
      await writeIndexHeader(this.headerPath, header);
    }
    this.segments = header.segments;
    this.toc = header.toc;
  }

  private async listSegments(signal?: AbortSignal): Promise<SegmentFile[]> {
    const files = this.opts.meta.thanos?.files;
    const fromMeta = files?.filter((f) => f.rel_path.startsWith('chunks/') && f.size_bytes !== undefined);
    if (fromMeta && fromMeta.length > 0)
      return fromMeta
        .map((f) => ({ name: `${this.id}/${f.rel_path}`, size: f.size_bytes as number }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    const names: string[] = [];
    for await (const n of this.opts.bucket.iter(`${this.id}/chunks/`, signal ? { signal } : {}))
      if (!n.endsWith('/')) names.push(n);
    names.sort();
    return Promise.all(
      names.map(async (name) => ({
        name,
        size: (await this.opts.bucket.attributes(name, signal ? { signal } : {})).size,
      })),
    );
  }

  private remoteIndex(): BucketRangeSource {
    return new BucketRangeSource(this.opts.bucket, `${this.id}/index`, undefined, this.opts.counter);
  }

  /** The block's index reader, opened from the local index-header on first use. */
  indexReader(signal?: AbortSignal): Promise<IndexReader> {
    this.lastUsed = Date.now();
    if (!this.readerPromise) {
      const p = this.openReader(signal);
      this.readerPromise = p;
      p.catch(() => {
        if (this.readerPromise === p) this.readerPromise = undefined;
      });
    }
    return this.readerPromise;
  }

  private async openReader(requestSignal?: AbortSignal): Promise<IndexReader> {
    // Opening (and building the index-header) is the block's cost, not the first request's: a
    // fresh signal carries no request's downloaded-bytes limiter.
    const signal = requestSignal ? AbortSignal.any([requestSignal]) : undefined;
    let header: IndexHeader | undefined;
    try {
      header = await readIndexHeader(this.headerPath);
    } catch {
      // A damaged local copy says nothing about the block in the bucket: rebuild it, as
      // prepare does, rather than report the block as corrupted.
      await rm(this.headerPath, { force: true });
    }
    if (!header) {
      await this.prepare(signal);
      header = (await readIndexHeader(this.headerPath)) as IndexHeader;
    }
    const toc = header.toc;
    let remote: BucketRangeSource | CachingIndexRangeSource = new BucketRangeSource(
      this.opts.bucket,
      `${this.id}/index`,
      header.indexSize,
      this.opts.counter,
      (off) => (off >= toc.series && off < toc.labelIndices ? 'fetching series' : 'fetching postings'),
    );
    if (this.opts.indexCache) {
      remote = new CachingIndexRangeSource(remote, this.opts.indexCache, this.id, (off) => {
        if (off >= toc.series && off < toc.labelIndices) return 'Series';
        if (off >= toc.postings && off < toc.postingsTable) return 'Postings';
        return undefined;
      });
    }
    const source = new IndexHeaderRangeSource(header, remote);
    const reader = await IndexReader.open(source, { preloadBelow: 0, ...(signal ? { signal } : {}) });
    source.dropRegions();
    return reader;
  }

  /** The block's chunk reader over ranged reads of its segment files. */
  chunkReader(): BucketChunkReader {
    this.chunks ??= new BucketChunkReader(
      this.segments.map((s) => new BucketRangeSource(this.opts.bucket, s.name, s.size, this.opts.counter)),
      this.segments.map((s) => s.size),
      `${this.id}/`,
    );
    return this.chunks;
  }

  private inUse = 0;
  private closeWhenIdle = false;

  /** Marks the block as read by a request; pair with `release`. */
  acquire(): void {
    this.inUse++;
  }

  /** Ends a request's use; a block dropped meanwhile is closed once nobody reads it. */
  release(): void {
    this.inUse--;
    if (this.inUse === 0 && this.closeWhenIdle) void this.unload();
  }

  /** Closes the block now if no request reads it, otherwise when the last one finishes. */
  async drop(): Promise<void> {
    if (this.inUse > 0) this.closeWhenIdle = true;
    else await this.unload();
  }

  /** Whether a request is reading the block. */
  get busy(): boolean {
    return this.inUse > 0;
  }

  /** Drops the in-memory index reader (it is reopened from disk on the next query). */
  async unload(): Promise<void> {
    const p = this.readerPromise;
    this.readerPromise = undefined;
    this.chunks = undefined;
    if (p) await (await p.catch(() => undefined))?.close();
  }
}
