import { mkdir, readdir, rm, statfs } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { type BlockMeta, CorruptionError, InvalidArgumentError } from '@thanos-ts/tsdb';
import {
  DownsampleError,
  downsampleBlock,
  RES_LEVEL_1,
  RES_LEVEL_1_DOWNSAMPLE_RANGE,
  RES_LEVEL_2,
  RES_LEVEL_2_DOWNSAMPLE_RANGE,
} from '@thanos-ts/tsdb/downsample';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { HashFunc } from '../block/hash.js';
import { uploadBlock } from '../block/upload.js';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { serveComponentHTTP } from '../component/http-server.js';
import { forEachLimit } from '../concurrency/limit.js';
import { createComponentHandler, type ListeningHTTPServer } from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';
import type { Logger } from '../log/logger.js';
import { createMetaFetcher } from '../store/meta-fetcher.js';
import { InsufficientDiskSpaceError } from './errors.js';
import { duplicateBlocks, resolutionOf } from './groups.js';
import {
  downloadBlock,
  markForNoDownsample,
  NO_DOWNSAMPLE_MARK_FILENAME,
  QUARANTINE_REASON,
  readMarker,
} from './markers.js';

/** The downsampling metrics (Thanos's names, shared by `compact` and `tools bucket downsample`). */
export interface DownsampleMetrics {
  downsamples: Counter<'resolution'>;
  downsampleFailures: Counter<'resolution'>;
  downsampleDuration: Histogram<'resolution'>;
}

/** Registers Thanos's three downsampling metrics on `registry` (what `tools bucket downsample` exposes). */
export function createDownsampleMetrics(registry: Registry): DownsampleMetrics {
  const registers = [registry];
  return {
    downsamples: new Counter({
      name: 'thanos_compact_downsample_total',
      help: 'Total number of downsampling attempts.',
      labelNames: ['resolution'],
      registers,
    }),
    downsampleFailures: new Counter({
      name: 'thanos_compact_downsample_failures_total',
      help: 'Total number of failed downsampling attempts.',
      labelNames: ['resolution'],
      registers,
    }),
    downsampleDuration: new Histogram({
      name: 'thanos_compact_downsample_duration_seconds',
      help: 'Duration of downsample runs',
      labelNames: ['resolution'],
      buckets: [60, 300, 900, 1800, 3600, 7200, 14400],
      registers,
    }),
  };
}

/**
 * The blocks a downsampling pass works on, sorted by ULID (Thanos's downsampleBucket rules): a
 * raw block of at least 40h whose sources are not all in some 5m block, and a 5m block of at
 * least 10d whose sources are not all in some 1h block. 1h blocks are never downsampled.
 */
export function downsampleCandidates(metas: readonly BlockMeta[]): BlockMeta[] {
  const sources5m = new Set<string>();
  const sources1h = new Set<string>();
  for (const m of metas) {
    const r = resolutionOf(m);
    const into = r === RES_LEVEL_1 ? sources5m : r === RES_LEVEL_2 ? sources1h : undefined;
    for (const s of into ? (m.compaction.sources ?? []) : []) into?.add(s);
  }
  return metas
    .filter((m) => {
      const r = resolutionOf(m);
      const sources = m.compaction.sources ?? [m.ulid];
      // Only downsample once roughly two output chunks per series come out of the block; this
      // must match the block sizes compaction makes, or some data is never downsampled.
      if (r === 0)
        return !sources.every((s) => sources5m.has(s)) && m.maxTime - m.minTime >= RES_LEVEL_1_DOWNSAMPLE_RANGE;
      if (r === RES_LEVEL_1)
        return !sources.every((s) => sources1h.has(s)) && m.maxTime - m.minTime >= RES_LEVEL_2_DOWNSAMPLE_RANGE;
      return false;
    })
    .sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
}

/** What one block's downsampling is doing, for progress displays. */
export interface DownsampleProgress {
  /** The block being downsampled. */
  block: string;
  /** Target resolution, ms. */
  resolution: number;
  phase: 'download' | 'downsample' | 'upload' | 'done' | 'failed';
  /** Blocks of this pass finished (done or failed) so far, and in all. */
  finished: number;
  total: number;
}

/** Options of {@link downsampleBlocks}. */
export interface DownsampleBlocksOptions {
  /** Scratch directory; each source block is downloaded to `<dir>/<ulid>` and removed after. */
  dir: string;
  logger: Logger;
  /** Current time, ms (log durations). */
  now: () => number;
  /** Blocks downsampled at once (--downsample.concurrency). Default 1. */
  concurrency?: number;
  /** Files of one block downloaded/uploaded at once (--block-files-concurrency). Default 1. */
  blockFilesConcurrency?: number;
  /** Hash recorded in the uploaded blocks' meta.json (--hash-func). Default '' (none). */
  hashFunc?: HashFunc;
  metrics?: DownsampleMetrics;
  signal?: AbortSignal;
  /** Called at each phase of each block. */
  onProgress?: (p: DownsampleProgress) => void;
}

/** What {@link downsampleBlocks} did. */
export interface DownsampleBlocksResult {
  /** ULIDs of the uploaded downsampled blocks. */
  downsampled: string[];
  /**
   * Blocks that failed. `permanent` failures (corrupt input, a downsampling error) would fail the
   * same way again: the block got a no-downsample mark. The others are retried next pass.
   */
  failed: Array<{ block: string; error: string; permanent: boolean }>;
}

async function freeSpaceCheck(dir: string, neededBytes: number, what: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const s = await statfs(dir);
  const free = Number(s.bavail) * Number(s.bsize);
  if (free < neededBytes) throw new InsufficientDiskSpaceError(dir, neededBytes, free, what);
}

const blockBytes = (m: BlockMeta): number => (m.thanos?.files ?? []).reduce((sum, f) => sum + (f.size_bytes ?? 0), 0);

/**
 * Downsamples `blocks` (normally {@link downsampleCandidates}) one per worker: downloads the
 * block, streams it through tsdb's downsampleBlock into the next resolution and uploads the
 * result, meta.json last. The source block is left alone (retention removes it). A block that
 * cannot be downsampled gets a no-downsample mark with the reason, so later passes skip it.
 * Never throws for one block's failure; throws only when `signal` aborts.
 */
export async function downsampleBlocks(
  bucket: Bucket,
  blocks: readonly BlockMeta[],
  opts: DownsampleBlocksOptions,
): Promise<DownsampleBlocksResult> {
  const { logger, now, signal } = opts;
  const filesConcurrency = Math.max(1, opts.blockFilesConcurrency ?? 1);
  const result: DownsampleBlocksResult = { downsampled: [], failed: [] };
  await mkdir(opts.dir, { recursive: true });
  // Leftovers of a crashed pass: nothing in the scratch directory is reused.
  for (const e of await readdir(opts.dir)) await rm(join(opts.dir, e), { recursive: true, force: true });
  let finished = 0;
  await forEachLimit([...blocks], Math.max(1, opts.concurrency ?? 1), async (m) => {
    const inRes = resolutionOf(m);
    const target = inRes === 0 ? RES_LEVEL_1 : RES_LEVEL_2;
    const label = { resolution: String(inRes) };
    const progress = (phase: DownsampleProgress['phase']) =>
      opts.onProgress?.({ block: m.ulid, resolution: target, phase, finished, total: blocks.length });
    const bdir = join(opts.dir, m.ulid);
    const begin = now();
    try {
      progress('download');
      await freeSpaceCheck(opts.dir, blockBytes(m) * 2, `downsample block ${m.ulid}`);
      await downloadBlock(bucket, m.ulid, bdir, filesConcurrency, signal);
      logger.info('downloaded block', { id: m.ulid, duration_ms: now() - begin });
      progress('downsample');
      const dsBegin = now();
      const out = await downsampleBlock({
        blockDir: bdir,
        outDir: opts.dir,
        resolution: target,
        labels: m.thanos?.labels ?? {},
        ...(signal ? { signal } : {}),
        onEmptySeries: (series) => logger.warn('empty chunks happened, skip series', { series }),
      });
      opts.metrics?.downsamples.inc(label);
      opts.metrics?.downsampleDuration.observe(label, (now() - dsBegin) / 1000);
      if (out) {
        logger.info('downsampled block', {
          from: m.ulid,
          to: out.ulid,
          resolution: target,
          samples_read: out.samplesRead,
          duration_ms: now() - dsBegin,
        });
        progress('upload');
        await uploadBlock(bucket, out.dir, {
          labels: m.thanos?.labels ?? {},
          source: 'compactor',
          meta: out.meta,
          concurrency: filesConcurrency,
          hashFunc: opts.hashFunc ?? '',
          ...(signal ? { signal } : {}),
        });
        logger.info('uploaded block', { id: out.ulid });
        result.downsampled.push(out.ulid);
        await rm(out.dir, { recursive: true, force: true });
      }
      finished++;
      progress('done');
    } catch (err) {
      if (signal?.aborted) throw err;
      opts.metrics?.downsampleFailures.inc(label);
      const error = (err as Error).message;
      if (err instanceof DownsampleError || err instanceof CorruptionError) {
        // Downsampling it again would fail the same way every pass: exclude the block.
        logger.error('block cannot be downsampled; marked no-downsample', { block: m.ulid, err: error });
        await markForNoDownsample(bucket, m.ulid, QUARANTINE_REASON, error, now());
        result.failed.push({ block: m.ulid, error, permanent: true });
      } else {
        logger.error('retriable error', { block: m.ulid, err: error });
        result.failed.push({ block: m.ulid, error, permanent: false });
      }
      finished++;
      progress('failed');
    } finally {
      await rm(bdir, { recursive: true, force: true });
    }
  });
  return result;
}

/** Options of {@link createBucketDownsampler}; defaults are Thanos's `tools bucket downsample` flags. */
export interface BucketDownsamplerOptions extends ComponentOptions, ServingOptions {
  bucket: Bucket;
  /** Scratch directory for downloads and downsampling (--data-dir). */
  dataDir: string;
  /** Pause between runs, ms (--wait-interval). Default 300_000; each run is two passes, as Thanos. */
  waitIntervalMs?: number;
  /** Blocks downsampled at once (--downsample.concurrency). Default 1. */
  downsampleConcurrency?: number;
  /** Files of one block downloaded/uploaded at once (--block-files-concurrency). Default 1. */
  blockFilesConcurrency?: number;
  /** Hash of produced files in meta.json (--hash-func): '' (default) or 'SHA256'. */
  hashFunc?: HashFunc;
  /** meta.json and marker reads at once. Default 32 (Thanos's fetcher concurrency). */
  blockMetaFetchConcurrency?: number;
}

/** What one run of the downsampler did (both passes). */
export interface DownsampleRunResult extends DownsampleBlocksResult {
  /** Blocks considered (after the duplicate and no-downsample filters), summed over passes. */
  candidates: number;
}

/** `tools bucket downsample`: downsamples every eligible block of a bucket every wait interval. */
export interface BucketDownsampler extends Lifecycle {
  /** Binds the HTTP server (if asked) and starts the loop; resolves once ready. */
  start(signal?: AbortSignal): Promise<void>;
  /** One run now: sync, first pass, sync, second pass (so raw → 5m → 1h in one run). One at a time. */
  runOnce(signal?: AbortSignal): Promise<DownsampleRunResult>;
  /** Started, not closed, and the last run had no failure. */
  ready(): boolean;
  /** /metrics, /-/healthy and /-/ready (503 naming the failed blocks after a run with failures). */
  readonly handler: RequestHandler;
  readonly registry: Registry;
  readonly httpAddress: string | undefined;
}

/** Creates the bucket downsampler; validates options, no I/O until `start` or `runOnce`. */
export function createBucketDownsampler(opts: BucketDownsamplerOptions): BucketDownsampler {
  const { logger, registry, now } = resolveComponentOptions(opts);
  const { bucket } = opts;
  const hashFunc = opts.hashFunc ?? '';
  if (hashFunc !== '' && hashFunc !== 'SHA256')
    throw new InvalidArgumentError(`--hash-func: want "" or "SHA256", got ${JSON.stringify(hashFunc)}`);
  const waitIntervalMs = opts.waitIntervalMs ?? 300_000;
  if (!(waitIntervalMs > 0))
    throw new InvalidArgumentError(`--wait-interval: want a duration > 0, got ${waitIntervalMs}ms`);
  const metaConcurrency = Math.max(1, opts.blockMetaFetchConcurrency ?? 32);
  const metrics = createDownsampleMetrics(registry);
  // Thanos's downsampler applies only the deduplicate and no-downsample filters: no consistency
  // delay, and blocks marked for deletion still count (raw blocks past their retention must be
  // downsampled before they go).
  const fetcher = createMetaFetcher({
    bucket,
    concurrency: metaConcurrency,
    now,
    filters: { consistencyDelayMs: 0, ignoreDeletionMarksDelayMs: Number.POSITIVE_INFINITY },
  });
  let started = false;
  let closed = false;
  let lastFailure: string | undefined;
  let running: Promise<DownsampleRunResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let server: ListeningHTTPServer | undefined;
  const abort = new AbortController();

  async function pass(signal: AbortSignal, which: string): Promise<DownsampleRunResult> {
    logger.info(`start ${which} pass of downsampling`);
    const fetched = await fetcher.fetch(signal);
    let metas = [...fetched.metas.values()];
    const dups = duplicateBlocks(metas);
    metas = metas.filter((m) => !dups.has(m.ulid));
    const marked = new Set<string>();
    await forEachLimit(metas, metaConcurrency, async (m) => {
      if (await readMarker(bucket, m.ulid, NO_DOWNSAMPLE_MARK_FILENAME, signal)) marked.add(m.ulid);
    });
    for (const m of metas) {
      metrics.downsamples.inc({ resolution: String(resolutionOf(m)) }, 0);
      metrics.downsampleFailures.inc({ resolution: String(resolutionOf(m)) }, 0);
    }
    const todo = downsampleCandidates(metas.filter((m) => !marked.has(m.ulid)));
    const r = await downsampleBlocks(bucket, todo, {
      dir: join(opts.dataDir, 'downsample'),
      logger,
      now,
      concurrency: opts.downsampleConcurrency ?? 1,
      blockFilesConcurrency: opts.blockFilesConcurrency ?? 1,
      hashFunc,
      metrics,
      signal,
    });
    return { ...r, candidates: todo.length };
  }

  function runOnce(signal?: AbortSignal): Promise<DownsampleRunResult> {
    if (!running) {
      const s = signal ? AbortSignal.any([signal, abort.signal]) : abort.signal;
      const begin = now();
      running = (async () => {
        const first = await pass(s, 'first');
        const second = await pass(s, 'second');
        const result: DownsampleRunResult = {
          downsampled: [...first.downsampled, ...second.downsampled],
          failed: [...first.failed, ...second.failed],
          candidates: first.candidates + second.candidates,
        };
        lastFailure =
          result.failed.length > 0
            ? `downsampling failed for ${result.failed.map((f) => `${f.block}: ${f.error}`).join('; ')}`
            : undefined;
        logger.info('downsampling iteration done', {
          duration_ms: now() - begin,
          downsampled: result.downsampled.length,
          failed: result.failed.length,
        });
        return result;
      })().finally(() => {
        running = undefined;
      });
    }
    return running;
  }

  function loop(): void {
    runOnce().then(
      () => schedule(),
      (err: unknown) => {
        if (closed) return;
        lastFailure = `downsampling failed: ${(err as Error).message}`;
        logger.error('downsampling failed; retrying after the wait interval', { err: (err as Error).message });
        schedule();
      },
    );
  }
  function schedule(): void {
    if (closed) return;
    timer = setTimeout(loop, waitIntervalMs);
    timer.unref?.();
  }

  const base = createComponentHandler({ registry, ready: () => true });
  const handler: RequestHandler = async (req: IncomingMessage, res: ServerResponse) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname === '/-/ready') {
      const reason = !started || closed ? 'NOT READY' : lastFailure ? `NOT READY: ${lastFailure}` : undefined;
      res.writeHead(reason ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(reason ?? 'OK');
      return true;
    }
    return base(req, res);
  };

  const lifecycle = createLifecycle('bucket downsampler', {
    async start(signal) {
      if (opts.httpAddress !== undefined) {
        // --http.config (TLS, basic auth, headers, rate limit) and request logging, as every component.
        server = await serveComponentHTTP(handler, opts.httpAddress, opts, logger, 'downsample');
        logger.info('listening', { http: server.address });
      }
      signal.throwIfAborted();
      started = true;
      logger.info('starting downsample node');
      loop();
    },
    async stop() {
      closed = true;
      if (timer) clearTimeout(timer);
      abort.abort(new DOMException('downsampler closed', 'AbortError'));
      await running?.catch(() => undefined);
      await server?.close();
    },
  });

  return {
    ...lifecycle,
    runOnce,
    ready: () => started && !closed && lastFailure === undefined,
    handler,
    registry,
    get httpAddress() {
      return server?.address;
    },
  };
}
