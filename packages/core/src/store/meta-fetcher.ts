import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import { type BlockMeta, blockIdOfDir, DELETION_MARK_FILENAME, parseBlockMeta, ulidTime } from '@thanos-ts/tsdb';
import { forEachLimit, forEachLimitAsync } from '../concurrency/limit.js';
import { type RelabelRule, relabel } from './relabel.js';
import { resolveTime, type TimeOrDuration } from './time-range.js';

/** Name of the marker file a compactor writes before deleting a block. */
export { DELETION_MARK_FILENAME };
/** The pseudo label carrying the block ULID during --selector.relabel-config. */
export const BLOCK_ID_LABEL = '__block_id';

/** Why a block in the bucket is not served (Thanos's `thanos_blocks_meta_synced{state}` values). */
export type SyncState =
  | 'loaded'
  | 'no-meta-json'
  | 'corrupted-meta-json'
  | 'failed'
  | 'too-fresh'
  | 'time-excluded'
  | 'label-excluded'
  | 'marked-for-deletion';

/** Filters applied after meta.json files are read, as Thanos's store gateway chains them. */
export interface MetaFilters {
  /** Serve only blocks overlapping [minTime, maxTime] (--min-time/--max-time). */
  minTime?: TimeOrDuration;
  maxTime?: TimeOrDuration;
  /** --selector.relabel-config: rules over external labels plus `__block_id`; empty result drops the block. */
  relabel?: readonly RelabelRule[];
  /** --consistency-delay (ms): skip blocks younger than this unless a compactor made them. */
  consistencyDelayMs?: number;
  /** --ignore-deletion-marks-delay (ms): skip blocks marked for deletion longer ago than this. Default 24h. */
  ignoreDeletionMarksDelayMs?: number;
}

/** Result of one sync of the bucket's block metadata. */
export interface FetchResult {
  /** Blocks to serve, by ULID. */
  metas: Map<string, BlockMeta>;
  /** Blocks not served, with the reason. */
  skipped: Map<string, { state: SyncState; error?: string }>;
  /** Count per state, including `loaded`. */
  counts: Record<SyncState, number>;
}

/** Options of createMetaFetcher. */
export interface MetaFetcherOptions {
  bucket: Bucket;
  /** Parallel meta.json / deletion-mark reads (--block-meta-fetch-concurrency, default 32). */
  concurrency?: number;
  filters?: MetaFilters;
  /** Current time source (tests). */
  now?: () => number;
}

/** Reads block metadata from a bucket and applies the store gateway's filters. */
export interface MetaFetcher {
  fetch(signal?: AbortSignal): Promise<FetchResult>;
  /** Drops the cached meta.json of block `id`, so the next fetch reads it again (it changed). */
  forget(id: string): void;
}

/**
 * Checks what parsing cannot: a time range that ends before it starts, a negative downsampling
 * resolution, a compaction level below 1. Returns why the meta is unusable, or undefined.
 * (Unknown `version` values are already refused by tsdb's parseBlockMeta.)
 */
export function metaSanityError(meta: BlockMeta): string | undefined {
  if (meta.minTime > meta.maxTime) return `minTime ${meta.minTime} is after maxTime ${meta.maxTime}`;
  const res = meta.thanos?.downsample.resolution ?? 0;
  if (res < 0) return `negative downsample resolution ${res}`;
  if (meta.compaction.level < 1) return `compaction level ${meta.compaction.level} is below 1`;
  return undefined;
}

const COMPACTOR_SOURCES = new Set(['compactor', 'compactor.repair', 'bucket.repair']);

/**
 * Creates a fetcher that lists block directories, reads each meta.json (keeping parsed metas in
 * memory: meta.json is immutable, so a block is read once), and filters. A directory without
 * meta.json is a partial upload; an unparsable one is corrupt; both are reported, not thrown.
 */
export function createMetaFetcher(opts: MetaFetcherOptions): MetaFetcher {
  const { bucket } = opts;
  const concurrency = Math.max(1, opts.concurrency ?? 32);
  const filters = opts.filters ?? {};
  const now = opts.now ?? Date.now;
  const known = new Map<string, BlockMeta>();
  const dec = new TextDecoder();

  async function readMeta(
    id: string,
    signal?: AbortSignal,
  ): Promise<{ meta?: BlockMeta; state?: SyncState; error?: string }> {
    const cached = known.get(id);
    if (cached) return { meta: cached };
    let text: string;
    try {
      text = dec.decode(await bucket.get(`${id}/meta.json`, signal ? { signal } : {}));
    } catch (err) {
      if (isObjNotFoundErr(err)) return { state: 'no-meta-json' };
      return { state: 'failed', error: (err as Error).message };
    }
    try {
      const meta = parseBlockMeta(text, `${id}/meta.json`);
      if (meta.ulid !== id) return { state: 'corrupted-meta-json', error: `${id}/meta.json names block ${meta.ulid}` };
      const insane = metaSanityError(meta);
      // Not cached: a fixed meta.json is picked up at the next sync.
      if (insane) return { state: 'corrupted-meta-json', error: `${id}/meta.json: ${insane}` };
      known.set(id, meta);
      return { meta };
    } catch (err) {
      return { state: 'corrupted-meta-json', error: (err as Error).message };
    }
  }

  async function deletionTime(id: string, signal?: AbortSignal): Promise<number | undefined> {
    let body: Uint8Array;
    try {
      body = await bucket.get(`${id}/${DELETION_MARK_FILENAME}`, signal ? { signal } : {});
    } catch (err) {
      if (isObjNotFoundErr(err)) return undefined;
      throw err;
    }
    try {
      const mark = JSON.parse(dec.decode(body)) as { deletion_time?: unknown };
      return typeof mark.deletion_time === 'number' ? mark.deletion_time * 1000 : undefined;
    } catch {
      // Thanos logs and ignores a partially written deletion-mark.json.
      return undefined;
    }
  }

  return {
    forget(id) {
      known.delete(id);
    },
    async fetch(signal) {
      const ids: string[] = [];
      const metas = new Map<string, BlockMeta>();
      const skipped = new Map<string, { state: SyncState; error?: string }>();
      // meta.json reads start while the listing goes on: listing 10,000 block directories takes
      // seconds on some backends, and waiting for it before the first read would add them up.
      async function* blockIds(): AsyncGenerator<string> {
        for await (const name of bucket.iter('', signal ? { signal } : {})) {
          const id = blockIdOfDir(name);
          if (id) {
            ids.push(id);
            yield id;
          }
        }
      }
      await forEachLimitAsync(blockIds(), concurrency, async (id) => {
        const r = await readMeta(id, signal);
        if (r.meta) metas.set(id, r.meta);
        else skipped.set(id, { state: r.state as SyncState, ...(r.error ? { error: r.error } : {}) });
      });
      const present = new Set(ids);
      for (const id of known.keys()) if (!present.has(id)) known.delete(id);

      const t = now();
      const minTime = filters.minTime ? resolveTime(filters.minTime, t) : -Infinity;
      const maxTime = filters.maxTime ? resolveTime(filters.maxTime, t) : Infinity;
      for (const [id, meta] of metas) {
        let state: SyncState | undefined;
        if (meta.maxTime < minTime || meta.minTime > maxTime) state = 'time-excluded';
        else if (filters.relabel && filters.relabel.length > 0) {
          const lset = { ...(meta.thanos?.labels ?? {}), [BLOCK_ID_LABEL]: id };
          if (relabel(lset, filters.relabel) === undefined) state = 'label-excluded';
        }
        if (!state && (filters.consistencyDelayMs ?? 0) > 0) {
          const uploaded = meta.thanos?.upload_time ? Date.parse(meta.thanos.upload_time) : ulidTime(id);
          const fresh = t - uploaded < (filters.consistencyDelayMs as number);
          if (fresh && !COMPACTOR_SOURCES.has(meta.thanos?.source ?? '')) state = 'too-fresh';
        }
        if (state) {
          metas.delete(id);
          skipped.set(id, { state });
        }
      }
      const delay = filters.ignoreDeletionMarksDelayMs ?? 24 * 3600_000;
      // An infinite delay never filters (the compactor, bucket web and tools read marks themselves):
      // then no deletion-mark.json is read at all, a third of a large bucket's reads per sync.
      const marks = Number.isFinite(delay) ? [...metas.keys()] : [];
      await forEachLimit(marks, concurrency, async (id) => {
        const at = await deletionTime(id, signal);
        if (at !== undefined && t - at > delay) {
          metas.delete(id);
          skipped.set(id, { state: 'marked-for-deletion' });
        }
      });
      const counts = Object.fromEntries(
        (
          [
            'loaded',
            'no-meta-json',
            'corrupted-meta-json',
            'failed',
            'too-fresh',
            'time-excluded',
            'label-excluded',
            'marked-for-deletion',
          ] as const
        ).map((s) => [s, 0]),
      ) as Record<SyncState, number>;
      counts.loaded = metas.size;
      for (const s of skipped.values()) counts[s.state]++;
      return { metas, skipped, counts };
    },
  };
}
