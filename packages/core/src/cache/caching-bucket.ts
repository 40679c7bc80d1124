import type { Readable } from 'node:stream';
import type { Bucket, IterOptions, ObjectAttributes, OperationOptions, UploadBody } from '@thanos-ts/objstore';
import type { CachingBucketConfig } from './config.js';

const CHUNK_FILE_RE = /^[^/]+\/chunks\/\d+$/;
const META_FILE_RE = /^[^/]+\/meta\.json$/;
const EXISTS = new Uint8Array([1]);
const MISSING = new Uint8Array([0]);

/**
 * Wraps a bucket with Thanos's caching bucket (--store.caching-bucket.config): ranged reads of
 * chunk segment files are cached in fixed subranges (`chunk_subrange_size`) with the missing
 * ones fetched in at most `max_chunks_get_range_requests` merged requests; meta.json contents and
 * existence, chunk file sizes and the root listing are cached with their TTLs. Everything else
 * passes through. Cache failures are misses.
 */
export function createCachingBucket(inner: Bucket, config: CachingBucketConfig): Bucket {
  const { cache } = config;
  const enc = new TextEncoder();
  const dec = new TextDecoder();

  async function cachedSize(name: string, opts?: OperationOptions): Promise<number> {
    const key = `attrs:${inner.name}:${name}`;
    const hit = (await cache.fetch([key], opts?.signal)).get(key);
    if (hit && hit.length === 8) return Number(new DataView(hit.buffer, hit.byteOffset, 8).getBigUint64(0));
    const attrs = await inner.attributes(name, opts);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(attrs.size));
    cache.store(key, b, config.chunkObjectAttrsTtlMs);
    return attrs.size;
  }

  async function chunkRange(
    name: string,
    offset: number,
    length: number,
    opts?: OperationOptions,
  ): Promise<Uint8Array> {
    const size = await cachedSize(name, opts);
    const end = length < 0 ? size : Math.min(size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const sub = config.chunkSubrangeSize;
    const first = Math.floor(offset / sub);
    const last = Math.floor((end - 1) / sub);
    const keys: string[] = [];
    for (let i = first; i <= last; i++)
      keys.push(`subrange:${inner.name}:${name}:${i * sub}:${Math.min(size, (i + 1) * sub)}`);
    const found = await cache.fetch(keys, opts?.signal);
    const parts = new Map<number, Uint8Array>();
    const missing: number[] = [];
    for (let i = first; i <= last; i++) {
      const v = found.get(keys[i - first] as string);
      const want = Math.min(size, (i + 1) * sub) - i * sub;
      if (v && v.length === want) parts.set(i, v);
      else missing.push(i);
    }
    if (missing.length > 0) {
      for (const [from, to] of mergeRuns(missing, config.maxChunksGetRangeRequests)) {
        const start = from * sub;
        const stop = Math.min(size, (to + 1) * sub);
        const bytes = await inner.getRange(name, start, stop - start, opts);
        for (let i = from; i <= to; i++) {
          const s = i * sub - start;
          const piece = bytes.subarray(s, Math.min(bytes.length, s + sub));
          const copy = new Uint8Array(piece);
          parts.set(i, copy);
          if (missing.includes(i)) cache.store(keys[i - first] as string, copy, config.chunkSubrangeTtlMs);
        }
      }
    }
    const out = new Uint8Array(end - offset);
    for (let i = first; i <= last; i++) {
      const p = parts.get(i) as Uint8Array;
      const pStart = i * sub;
      const from = Math.max(offset, pStart);
      const to = Math.min(end, pStart + p.length);
      if (to > from) out.set(p.subarray(from - pStart, to - pStart), from - offset);
    }
    return out;
  }

  return {
    name: inner.name,
    provider: inner.provider,
    async get(name, opts) {
      if (!META_FILE_RE.test(name)) return inner.get(name, opts);
      const key = `content:${inner.name}:${name}`;
      const hit = (await cache.fetch([key], opts?.signal)).get(key);
      if (hit) return hit;
      const body = await inner.get(name, opts);
      if (body.length <= config.metafileMaxSize) cache.store(key, body, config.metafileContentTtlMs);
      return body;
    },
    getStream(name: string, opts?: OperationOptions): Promise<Readable> {
      return inner.getStream(name, opts);
    },
    getRange(name, offset, length, opts) {
      if (!CHUNK_FILE_RE.test(name)) return inner.getRange(name, offset, length, opts);
      return chunkRange(name, offset, length, opts);
    },
    upload(name: string, body: UploadBody, opts?: OperationOptions) {
      return inner.upload(name, body, opts);
    },
    delete(name: string, opts?: OperationOptions) {
      return inner.delete(name, opts);
    },
    async exists(name, opts) {
      if (!META_FILE_RE.test(name)) return inner.exists(name, opts);
      const key = `exists:${inner.name}:${name}`;
      const hit = (await cache.fetch([key], opts?.signal)).get(key);
      if (hit && hit.length === 1) return hit[0] === 1;
      const ok = await inner.exists(name, opts);
      cache.store(key, ok ? EXISTS : MISSING, ok ? config.metafileExistsTtlMs : config.metafileDoesntExistTtlMs);
      return ok;
    },
    attributes(name: string, opts?: OperationOptions): Promise<ObjectAttributes> {
      return inner.attributes(name, opts);
    },
    async *iter(dir: string, opts?: IterOptions) {
      if ((dir !== '' && dir !== '/') || opts?.recursive) {
        yield* inner.iter(dir, opts);
        return;
      }
      const key = `iter:${inner.name}:`;
      const hit = (await cache.fetch([key], opts?.signal)).get(key);
      if (hit) {
        yield* JSON.parse(dec.decode(hit)) as string[];
        return;
      }
      const names: string[] = [];
      for await (const n of inner.iter(dir, opts)) names.push(n);
      cache.store(key, enc.encode(JSON.stringify(names)), config.blocksIterTtlMs);
      yield* names;
    },
    close() {
      return inner.close();
    },
  };
}

/**
 * Groups sorted subrange indexes into at most `maxRequests` runs [from, to] (0: unlimited),
 * joining across the smallest gaps first so that few requests cover all missing pieces.
 */
export function mergeRuns(sorted: readonly number[], maxRequests: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const i of sorted) {
    const last = runs[runs.length - 1];
    if (last && last[1] + 1 === i) last[1] = i;
    else runs.push([i, i]);
  }
  while (maxRequests > 0 && runs.length > maxRequests) {
    let best = 0;
    let bestGap = Infinity;
    for (let j = 0; j + 1 < runs.length; j++) {
      const gap = (runs[j + 1] as [number, number])[0] - (runs[j] as [number, number])[1];
      if (gap < bestGap) {
        bestGap = gap;
        best = j;
      }
    }
    const a = runs[best] as [number, number];
    const b = runs[best + 1] as [number, number];
    runs.splice(best, 2, [a[0], b[1]]);
  }
  return runs;
}
