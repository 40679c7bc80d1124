import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, isObjNotFoundErr, withTracing } from '@thanos-ts/objstore';
import {
  CorruptionError,
  compareLabels,
  compareStrings,
  InvalidArgumentError,
  type Labels,
  parseBlockMeta,
} from '@thanos-ts/tsdb';
import type { Registry } from 'prom-client';
import type { Cache } from '../cache/cache.js';
import { createCachingBucket } from '../cache/caching-bucket.js';
import type { CachingBucketConfig } from '../cache/config.js';
import { createInMemoryCache } from '../cache/inmemory.js';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { type BoundServers, bindServers, type ComponentEndpoints, componentHandler } from '../component/serve.js';
import { Gate } from '../concurrency/gate.js';
import { forEachLimit } from '../concurrency/limit.js';
import { createTimeSlice } from '../concurrency/time-slice.js';
import type { RequestHandler } from '../http/query-api.js';
import { serveStoreAPI } from '../storeapi/grpc-server.js';
import {
  type LabelNamesRequest,
  type LabelNamesResponse,
  type LabelValuesRequest,
  type LabelValuesResponse,
  MAX_TIME,
  MIN_TIME,
  type SeriesRequest,
  type SeriesResponse,
  type StoreAPI,
  type StoreInfo,
} from '../storeapi/store-api.js';
import { bucketSpanner } from '../tracing/context.js';
import { BucketBlock } from './bucket-block.js';
import type { RequestCounter } from './bucket-range-source.js';
import type { IndexCache } from './index-cache.js';
import {
  BytesLimiter,
  checkMatcherLimits,
  guardMatcherLimits,
  RequestLimiter,
  type RequestLimits,
  StoreLimitError,
  signalWithBytesLimiter,
} from './limits.js';
import { createLoadedBlocksHandler } from './loaded.js';
import { createMetaFetcher, type FetchResult, type MetaFilters, type SyncState } from './meta-fetcher.js';
import { createStoreMetrics, type StoreMetrics } from './metrics.js';
import { forEachSeriesLabels, postingsForMatchersSliced } from './postings.js';
import { blockMatchers, isBlockDamage, seriesOverBlocks } from './series.js';
import { resolveTime } from './time-range.js';

/** Options of createStoreGateway; every field but `bucket` and `dataDir` has a default. */
export interface StoreGatewayOptions extends ComponentOptions, ServingOptions {
  /** The bucket holding the blocks. */
  bucket: Bucket;
  /** Local directory for index-headers (safe to delete; rebuilt from the bucket). */
  dataDir: string;
  /** Interval between bucket syncs, ms (--sync-block-duration). Default 180_000; 0 syncs once, at start. */
  syncIntervalMs?: number;
  /** Block filters: time range, relabel selector, consistency delay, deletion marks. */
  filters?: MetaFilters;
  /** Blocks prepared in parallel during a sync (--block-sync-concurrency). Default 20. */
  blockSyncConcurrency?: number;
  /** meta.json reads in parallel (--block-meta-fetch-concurrency). Default 32. */
  metaFetchConcurrency?: number;
  /** Index cache for postings and series (--index-cache.config). Default: in-memory, 250 MiB. */
  indexCache?: IndexCache | Cache;
  /** Caching bucket for chunks, meta.json and the block listing (--store.caching-bucket.config). */
  cachingBucket?: CachingBucketConfig;
  /**
   * Per-request limits: series and samples (--store.limits.request-series / request-samples,
   * default unlimited), matchers per request (default 1000) and regex bytes (default 1 MiB).
   */
  limits?: RequestLimits;
  /** Unload a block's index reader after this long unused, ms; 0 keeps them. Default 300_000. */
  idleUnloadAfterMs?: number;
  /** Blocks queried in parallel within one request. Default 16. */
  blockQueryConcurrency?: number;
  /** Series calls served at once; the rest wait (--store.grpc.series-max-concurrency). Default 20. */
  maxConcurrentSeries?: number;
}

/** One served block as /loaded lists it. */
export interface ServedBlock {
  ulid: string;
  minTime: number;
  maxTime: number;
  resolution: number;
  labels: Record<string, string>;
  numSeries: number | undefined;
  /** Whether the index reader is in memory right now (lazy loading). */
  loaded: boolean;
  lastUsed: number;
}

/** A block the gateway does not serve, as /loaded lists it. */
export interface SkippedBlock {
  ulid: string;
  state: SyncState | 'load-failed' | 'corrupted';
  /** What was wrong, naming the file (and byte offset) where there is one. */
  error?: string;
}

/** A store gateway (Thanos's `store`): a StoreAPI over the blocks of a bucket. */
export interface StoreGateway extends StoreAPI, Lifecycle {
  /**
   * Runs the first sync, binds the servers asked for (gRPC StoreAPI; HTTP /metrics, /-/ready,
   * /loaded), then syncs every `syncIntervalMs` until closed.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Syncs once now: picks up new blocks, drops deleted or filtered ones. */
  sync(signal?: AbortSignal): Promise<FetchResult>;
  /** Blocks currently served, oldest first. */
  blocks(): ServedBlock[];
  /**
   * Blocks not served and why: skipped at the last sync (partial uploads, invalid meta.json,
   * filtered), failed to load (`load-failed`), or found damaged while serving (`corrupted`, not
   * served again until its meta.json changes).
   */
  skippedBlocks(): SkippedBlock[];
  /** Object-storage requests made so far (ranged reads). */
  readonly requests: Readonly<RequestCounter>;
  readonly metrics: StoreMetrics;
  /** Whether the first sync has finished (and the gateway is not closed). */
  ready(): boolean;
  /** Stops serving and syncing, lets running requests finish, unloads blocks and closes caches. Idempotent. */
  close(): Promise<void>;
  /** The HTTP endpoints (/metrics, /-/healthy, /-/ready, /loaded) as a handler to mount elsewhere. */
  readonly handler: RequestHandler;
  /** The metrics registry (the one given, or the gateway's own). */
  readonly registry: Registry;
  /** Bound HTTP address once started with `httpAddress`. */
  readonly httpAddress: string | undefined;
  /** Bound gRPC address once started with `grpcAddress`. */
  readonly grpcAddress: string | undefined;
}

const RESOLUTIONS = [3_600_000, 300_000, 0];

/** Creates a store gateway; no I/O until `start`. */
export function createStoreGateway(opts: StoreGatewayOptions): StoreGateway {
  const { logger, registry, tracer } = resolveComponentOptions(opts);
  const counter: RequestCounter = { getRange: 0, bytes: 0 };
  // Bucket operations are spans only when a tracer was given: the default one would cost a
  // no-op span per ranged read for nothing.
  const traced = opts.tracer ? withTracing(opts.bucket, bucketSpanner(tracer)) : opts.bucket;
  const bucket = opts.cachingBucket ? createCachingBucket(traced, opts.cachingBucket) : traced;
  const allItems = new Set(['Postings', 'Series', 'ExpandedPostings'] as const);
  const configuredIndexCache: IndexCache =
    opts.indexCache === undefined
      ? { cache: createInMemoryCache(), ttlMs: 0, enabledItems: allItems }
      : 'fetch' in opts.indexCache
        ? { cache: opts.indexCache, ttlMs: 24 * 3600_000, enabledItems: allItems }
        : opts.indexCache;
  const metrics = createStoreMetrics(
    registry,
    { index: configuredIndexCache.cache, bucket: opts.cachingBucket?.cache },
    counter,
  );
  const indexCache: IndexCache = {
    ...configuredIndexCache,
    observe: (item, hit) => {
      metrics.indexCacheRequests.inc({ item_type: item });
      if (hit) metrics.indexCacheHits.inc({ item_type: item });
    },
  };
  const fetcher = createMetaFetcher({
    bucket,
    concurrency: opts.metaFetchConcurrency ?? 32,
    ...(opts.filters ? { filters: opts.filters } : {}),
  });
  const blocks = new Map<string, BucketBlock>();
  const failed = new Map<string, string>();
  // Blocks found damaged while serving, with the meta.json they had: a block is served again
  // only once its meta.json differs (re-uploaded or repaired), as its files are immutable.
  const corrupted = new Map<string, { error: string; meta: string; block: BucketBlock }>();
  let skipped = new Map<string, { state: SyncState; error?: string }>();
  let timer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let isReady = false;
  let closed = false;
  let syncing: Promise<FetchResult> | undefined;
  const limits = opts.limits ?? {};
  const concurrency = opts.blockQueryConcurrency ?? 16;
  const seriesGate = new Gate(opts.maxConcurrentSeries ?? 20);

  /** Stops serving a block found damaged while answering a request; returns the query warning. */
  function onDamage(block: BucketBlock, err: Error): string {
    const where = err instanceof CorruptionError ? { file: err.file, offset: err.offset } : {};
    if (!corrupted.has(block.id) && blocks.get(block.id) === block) {
      corrupted.set(block.id, { error: err.message, meta: JSON.stringify(block.meta), block });
      blocks.delete(block.id);
      metrics.blockLoadFailures.inc();
      metrics.corruptedBlocks.inc();
      metrics.blocksCorrupted.set(corrupted.size);
      metrics.blocksLoaded.set(blocks.size);
      logger.error('corrupted block; not served until its meta.json changes', { block: block.id, ...where, err });
      // Requests already reading it finish; new ones no longer see it.
      void block.drop();
    }
    return corruptedWarning(block.id, err.message);
  }

  function corruptedWarning(id: string, error: string): string {
    return `store gateway: block ${id} is corrupted and not served: ${error}`;
  }

  /** Lets a corrupted block back in when its meta.json changed (or it is gone). */
  async function recheckCorrupted(signal?: AbortSignal): Promise<void> {
    await forEachLimit([...corrupted], opts.metaFetchConcurrency ?? 32, async ([id, c]) => {
      let now: string | undefined;
      try {
        now = JSON.stringify(
          parseBlockMeta(new TextDecoder().decode(await bucket.get(`${id}/meta.json`, signal ? { signal } : {}))),
        );
      } catch (err) {
        if (!isObjNotFoundErr(err) && !(err instanceof CorruptionError)) return; // bucket trouble: ask again later
      }
      if (now === c.meta) return;
      corrupted.delete(id);
      fetcher.forget(id);
      // The index-header was built from the old files.
      await rm(join(opts.dataDir, id), { recursive: true, force: true });
      logger.info('corrupted block changed in the bucket; loading it again', { block: id });
    });
    metrics.blocksCorrupted.set(corrupted.size);
  }

  async function doSync(signal?: AbortSignal): Promise<FetchResult> {
    metrics.metaSyncs.inc();
    if (corrupted.size > 0) await recheckCorrupted(signal);
    let result: FetchResult;
    try {
      result = await fetcher.fetch(signal);
    } catch (err) {
      metrics.metaSyncFailures.inc();
      logger.error('failed to sync block metadata', { err });
      throw err;
    }
    for (const [state, n] of Object.entries(result.counts)) metrics.metaSynced.set({ state }, n);
    for (const [id, s] of result.skipped) {
      if ((s.state === 'corrupted-meta-json' || s.state === 'failed') && !skipped.has(id))
        logger.error('skipping block with unreadable or invalid meta.json', { block: id, err: s.error });
    }
    skipped = result.skipped;
    const toAdd = [...result.metas.values()].filter((m) => !blocks.has(m.ulid) && !corrupted.has(m.ulid));
    await forEachLimit(toAdd, opts.blockSyncConcurrency ?? 20, async (meta) => {
      metrics.blockLoads.inc();
      const block = new BucketBlock({ bucket, meta, dataDir: opts.dataDir, indexCache, counter });
      try {
        await block.prepare(signal);
        blocks.set(meta.ulid, block);
        failed.delete(meta.ulid);
      } catch (err) {
        metrics.blockLoadFailures.inc();
        if (!failed.has(meta.ulid))
          logger.error('skipping block that failed to load; other blocks keep serving', { block: meta.ulid, err });
        failed.set(meta.ulid, (err as Error).message);
      }
    });
    for (const [id, block] of blocks) {
      if (result.metas.has(id)) continue;
      blocks.delete(id);
      metrics.blockDrops.inc();
      // Requests already reading the block finish first; new ones no longer see it.
      await block.drop();
      await rm(join(opts.dataDir, id), { recursive: true, force: true });
      logger.info('dropped block', { block: id });
    }
    for (const id of failed.keys()) if (!result.metas.has(id)) failed.delete(id);
    for (const id of corrupted.keys()) if (!result.metas.has(id)) corrupted.delete(id);
    metrics.blocksCorrupted.set(corrupted.size);
    metrics.blocksLoaded.set(blocks.size);
    return result;
  }

  function sync(signal?: AbortSignal): Promise<FetchResult> {
    // One sync at a time: a periodic sync and an explicit one share the same run.
    if (!syncing) {
      syncing = doSync(signal).finally(() => {
        syncing = undefined;
      });
    }
    return syncing;
  }

  function unloadIdle(): void {
    const idle = opts.idleUnloadAfterMs ?? 300_000;
    if (idle <= 0) return;
    const now = Date.now();
    for (const b of blocks.values()) {
      if (b.loaded && !b.busy && now - b.lastUsed > idle) {
        metrics.lazyUnloads.inc();
        void b.unload();
      }
    }
  }

  /** Blocks for [mint, maxt] at the coarsest allowed resolution, gaps filled with finer ones (Thanos getFor). */
  function blocksFor(mint: number, maxt: number, maxResolution: number): BucketBlock[] {
    const byRes = new Map<number, BucketBlock[]>();
    for (const b of blocks.values()) {
      const list = byRes.get(b.resolution) ?? [];
      list.push(b);
      byRes.set(b.resolution, list);
    }
    for (const list of byRes.values()) list.sort((a, b) => a.meta.minTime - b.meta.minTime);
    const levels = RESOLUTIONS.filter((r) => r <= maxResolution);
    for (const r of byRes.keys()) if (!RESOLUTIONS.includes(r) && r <= maxResolution) levels.push(r);
    levels.sort((a, b) => b - a);
    const getFor = (from: number, to: number, level: number): BucketBlock[] => {
      if (from > to || level >= levels.length) return [];
      const out: BucketBlock[] = [];
      let start = from;
      for (const b of byRes.get(levels[level] as number) ?? []) {
        if (b.meta.maxTime <= from) continue;
        if (b.meta.minTime > to) break;
        out.push(...getFor(start, b.meta.minTime - 1, level + 1));
        out.push(b);
        start = b.meta.maxTime;
      }
      out.push(...getFor(start, to, level + 1));
      return out;
    };
    return getFor(mint, maxt, 0);
  }

  /** The time range --min-time/--max-time allow now (relative bounds move with the clock). */
  function servedRange(): [number, number] {
    const now = Date.now();
    return [
      opts.filters?.minTime ? resolveTime(opts.filters.minTime, now) : -Infinity,
      opts.filters?.maxTime ? resolveTime(opts.filters.maxTime, now) : Infinity,
    ];
  }

  /**
   * Runs one block's part of a label request; a block found damaged is reported (and no longer
   * served) and its part skipped with a warning, so the other blocks still answer.
   */
  /**
   * The signal a request's reads carry: charged to a fresh downloaded-bytes budget when
   * --store.grpc.downloaded-bytes-limit is set (the caller's signal unchanged otherwise).
   */
  function bytesSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
    const limit = limits.downloadedBytesPerRequest ?? 0;
    if (limit <= 0) return signal;
    return signalWithBytesLimiter(
      signal,
      new BytesLimiter(limit, () => metrics.queriesDropped.inc({ reason: 'bytes' })),
    );
  }

  async function usingBlock(b: BucketBlock, fn: () => Promise<void>, warnings?: string[]): Promise<void> {
    b.acquire();
    try {
      await fn();
    } catch (err) {
      if (!warnings || !isBlockDamage(err)) throw err;
      warnings.push(onDamage(b, err));
    } finally {
      b.release();
    }
  }

  function markUsed(list: BucketBlock[]): void {
    for (const b of list) if (!b.loaded) metrics.lazyLoads.inc();
  }

  let servers: BoundServers | undefined;
  const lifecycle = createLifecycle('store gateway', {
    async start(signal) {
      // Servers first, as Thanos's store: /-/healthy answers and /-/ready says "not ready" while
      // the first sync runs, so probes and operators can tell a warming gateway from a dead one.
      servers = await bindServers(opts, endpoints, logger);
      await sync(signal);
      signal.throwIfAborted();
      isReady = true;
      const interval = opts.syncIntervalMs ?? 180_000;
      const loop = () => {
        if (closed || interval <= 0) return;
        timer = setTimeout(() => {
          sync().then(loop, (err) => {
            logger.warn('periodic sync failed; retrying next interval', { err });
            loop();
          });
        }, interval);
        timer.unref?.();
      };
      loop();
      idleTimer = setInterval(unloadIdle, Math.max(1000, Math.min(60_000, (opts.idleUnloadAfterMs ?? 300_000) / 2)));
      idleTimer.unref?.();
    },
    async stop() {
      isReady = false;
      closed = true;
      if (timer) clearTimeout(timer);
      if (idleTimer) clearInterval(idleTimer);
      await servers?.close();
      await syncing?.catch(() => undefined);
      for (const b of blocks.values()) await b.unload();
      blocks.clear();
      await indexCache.cache.close();
      await opts.cachingBucket?.cache.close();
    },
  });

  const gateway: StoreGateway = {
    ...lifecycle,
    requests: counter,
    metrics,
    registry,
    ready: () => isReady,
    get handler() {
      return handler;
    },
    get httpAddress() {
      return servers?.httpAddress;
    },
    get grpcAddress() {
      return servers?.grpcAddress;
    },

    sync,

    blocks() {
      return [...blocks.values()]
        .sort((a, b) => a.meta.minTime - b.meta.minTime || compareStrings(a.id, b.id))
        .map((b) => ({
          ulid: b.id,
          minTime: b.meta.minTime,
          maxTime: b.meta.maxTime,
          resolution: b.resolution,
          labels: b.extLabels.toRecord(),
          numSeries: b.meta.stats.numSeries,
          loaded: b.loaded,
          lastUsed: b.lastUsed,
        }));
    },

    skippedBlocks() {
      const out: SkippedBlock[] = [];
      for (const [ulid, s] of skipped) out.push({ ulid, ...s });
      for (const [ulid, error] of failed) out.push({ ulid, state: 'load-failed', error });
      for (const [ulid, c] of corrupted) out.push({ ulid, state: 'corrupted', error: c.error });
      return out.sort((a, b) => compareStrings(a.ulid, b.ulid));
    },

    async info() {
      const sets = new Map<string, Labels>();
      let minTime = Infinity;
      let maxTime = -Infinity;
      for (const b of blocks.values()) {
        sets.set(b.extLabels.key(), b.extLabels);
        minTime = Math.min(minTime, b.meta.minTime);
        maxTime = Math.max(maxTime, b.meta.maxTime - 1);
      }
      const labelSets = [...sets.values()].sort(compareLabels);
      const [lo, hi] = servedRange();
      return {
        labelSets,
        minTime: blocks.size === 0 ? MAX_TIME : Math.max(minTime, lo),
        maxTime: blocks.size === 0 ? MIN_TIME : Math.min(maxTime, hi),
        componentType: 'store',
        supportsWithoutReplicaLabels: true,
        // Series requests keep only their shard's series (selectBlockSeries), before chunks are read.
        supportsSharding: true,
        tsdbInfos: labelSets.map((labels) => {
          let lo = Infinity;
          let hi = -Infinity;
          for (const b of blocks.values())
            if (b.extLabels.equals(labels)) {
              lo = Math.min(lo, b.meta.minTime);
              hi = Math.max(hi, b.meta.maxTime - 1);
            }
          return { labels, minTime: lo, maxTime: hi };
        }),
      } satisfies StoreInfo;
    },

    async *series(request: SeriesRequest, signal?: AbortSignal): AsyncIterable<SeriesResponse> {
      metrics.seriesRequests.inc();
      try {
        // Thanos's text for a Series call without matchers (pkg/store/tsdb.go), InvalidArgument.
        if (request.matchers.length === 0)
          throw new InvalidArgumentError('no matchers specified (excluding external labels)');
        checkMatcherLimits(request.matchers, limits);
      } catch (err) {
        metrics.queriesDropped.inc({ reason: 'matchers' });
        throw err;
      }
      // Like Thanos, never serve data outside --min-time/--max-time, even from a block overlapping them.
      const [lo, hi] = servedRange();
      const req =
        request.minTime < lo || request.maxTime > hi
          ? { ...request, minTime: Math.max(request.minTime, lo), maxTime: Math.min(request.maxTime, hi) }
          : request;
      if (req.minTime > req.maxTime) return;
      const selected = blocksFor(req.minTime, req.maxTime, req.maxResolutionWindow ?? 0).filter(
        (b) => blockMatchers(b, req.matchers) !== undefined,
      );
      // Data a corrupted block held is missing from the answer: say so on every request it
      // would have served, not only the one that found the damage.
      for (const [id, c] of corrupted) {
        const m = c.block.meta;
        if (m.minTime <= req.maxTime && m.maxTime > req.minTime && blockMatchers(c.block, req.matchers))
          yield { type: 'warning', warning: corruptedWarning(id, c.error) };
      }
      markUsed(selected);
      await seriesGate.acquire(signal);
      for (const b of selected) b.acquire();
      try {
        yield* seriesOverBlocks(selected, req, new RequestLimiter(limits), {
          concurrency,
          signal: bytesSignal(signal),
          onDamage,
          tracer,
        });
      } catch (err) {
        // Bytes are counted by the limiter itself, which also serves LabelNames and LabelValues.
        if (err instanceof StoreLimitError && err.kind !== 'bytes') metrics.queriesDropped.inc({ reason: err.kind });
        throw err;
      } finally {
        for (const b of selected) b.release();
        seriesGate.release();
      }
    },

    async labelNames(req: LabelNamesRequest, requestSignal?: AbortSignal): Promise<LabelNamesResponse> {
      checkMatcherLimits(req.matchers, limits);
      const signal = bytesSignal(requestSignal);
      const slice = createTimeSlice();
      const names = new Set<string>();
      const warnings: string[] = [];
      await forEachLimit(blocksFor(req.start, req.end, Number.MAX_SAFE_INTEGER), concurrency, (b) =>
        usingBlock(
          b,
          async () => {
            const ms = blockMatchers(b, req.matchers ?? []);
            if (!ms) return;
            const reader = await b.indexReader(signal);
            let any = false;
            if (ms.length === 0)
              for (const n of reader.labelNames()) {
                names.add(n);
                any = true;
              }
            else {
              const refs = await postingsForMatchersSliced(reader, ms, slice, signal);
              await forEachSeriesLabels(reader, refs, slice, signal, (labels) => {
                for (const l of labels) {
                  names.add(l.name);
                  any = true;
                }
              });
            }
            // External labels are names of the block's series only when some series matched.
            if (any) for (const l of b.extLabels) names.add(l.name);
          },
          warnings,
        ),
      );
      for (const r of req.withoutReplicaLabels ?? []) names.delete(r);
      let out = [...names].sort(compareStrings);
      if (req.limit && req.limit > 0) out = out.slice(0, req.limit);
      return { names: out, warnings };
    },

    async labelValues(req: LabelValuesRequest, requestSignal?: AbortSignal): Promise<LabelValuesResponse> {
      if (req.label === '') throw new InvalidArgumentError('label name parameter cannot be empty');
      checkMatcherLimits(req.matchers, limits);
      const signal = bytesSignal(requestSignal);
      const slice = createTimeSlice();
      const values = new Set<string>();
      const warnings: string[] = [];
      await forEachLimit(blocksFor(req.start, req.end, Number.MAX_SAFE_INTEGER), concurrency, (b) =>
        usingBlock(
          b,
          async () => {
            const ms = blockMatchers(b, req.matchers ?? []);
            if (!ms) return;
            const reader = await b.indexReader(signal);
            if (b.extLabels.has(req.label)) {
              // The external label wins over any series label of the same name.
              const refs =
                ms.length === 0
                  ? await reader.allPostings(signal)
                  : await postingsForMatchersSliced(reader, ms, slice, signal);
              if (refs.length > 0) values.add(b.extLabels.get(req.label));
              return;
            }
            if (ms.length === 0) for (const v of reader.labelValues(req.label)) values.add(v);
            else {
              const refs = await postingsForMatchersSliced(reader, ms, slice, signal);
              await forEachSeriesLabels(reader, refs, slice, signal, (labels) => {
                const v = labels.get(req.label);
                if (v !== '') values.add(v);
              });
            }
          },
          warnings,
        ),
      );
      let out = [...values].sort(compareStrings);
      if (req.limit && req.limit > 0) out = out.slice(0, req.limit);
      return { values: out, warnings };
    },
  };
  const endpoints: ComponentEndpoints = {
    registry,
    tracer,
    ready: () => isReady,
    handlers: [createLoadedBlocksHandler(gateway)],
    // Matcher limits are checked on the wire too, before decoding compiles every regex.
    grpc: (server) => serveStoreAPI(gateway, guardMatcherLimits(server, limits), { tracer }),
  };
  const handler = componentHandler(endpoints);
  return gateway;
}
