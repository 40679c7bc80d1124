import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { Bucket } from '@thanos-ts/objstore';
import { type BlockMeta, InvalidArgumentError, isULID, META_FILENAME, serializeBlockMeta } from '@thanos-ts/tsdb';
import { goQuote } from '@thanos-ts/tsdb/goformat';
import { createUIHandler, type UIRequestHandler } from '@thanos-ts/ui';
import type { Registry } from 'prom-client';
import { duplicateBlocks } from '../compact/groups.js';
import {
  DELETION_MARK_FILENAME,
  type DeletionMark,
  markForDeletion,
  markForNoCompact,
  NO_COMPACT_MARK_FILENAME,
  type NoCompactMark,
  readMarker,
} from '../compact/markers.js';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
  untilAborted,
} from '../component/component.js';
import { serveComponentHTTP } from '../component/http-server.js';
import { forEachLimit } from '../concurrency/limit.js';
import { createComponentHandler, type ListeningHTTPServer } from '../http/http-server.js';
import { readForm } from '../http/params.js';
import type { RequestHandler } from '../http/query-api.js';
import { createMetaFetcher, type MetaFilters } from '../store/meta-fetcher.js';
import { recordError, withSpan } from '../tracing/context.js';
import { BucketWebRefreshTimeoutError } from './errors.js';
import { type BucketWebMetrics, createBucketWebMetrics } from './metrics.js';

/** Thanos's `--refresh` default: 30 minutes. */
export const DEFAULT_REFRESH_INTERVAL_MS = 30 * 60_000;
/** Thanos's `--timeout` default: 5 minutes. */
export const DEFAULT_REFRESH_TIMEOUT_MS = 5 * 60_000;
/** How soon a failed refresh is retried: Thanos's runutil.RetryWithLog interval, 1 minute. */
export const DEFAULT_RETRY_INTERVAL_MS = 60_000;
/** no-compact-mark.json reason of marks made from the page or API (Thanos's metadata.ManualNoCompactReason). */
export const MANUAL_NO_COMPACT_REASON = 'manual';

/** Options of {@link createBucketWeb}: Thanos's `tools bucket web` flags. */
export interface BucketWebOptions
  extends ComponentOptions,
    Omit<ServingOptions, 'grpcAddress' | 'grpcServerTLS' | 'grpcGracePeriodMs'> {
  /** The bucket whose blocks are shown (--objstore.config). Not closed by the component. */
  bucket: Bucket;
  /** How often the blocks view is refreshed from the bucket, ms (--refresh). Default 30 min; must be > 0. */
  refreshIntervalMs?: number;
  /** Longest one refresh may take, ms (--timeout); it then fails and is retried. Default 5 min; 0: no limit. */
  timeoutMs?: number;
  /**
   * How soon a failed refresh is retried, ms (Thanos retries every minute). Default 60_000, capped by
   * `refreshIntervalMs`. Not a Thanos flag.
   */
  retryIntervalMs?: number;
  /** External label used as the group title on the page (--label), returned as `label`. Default ''. */
  label?: string;
  /**
   * Blocks to show: --min-time/--max-time and --selector.relabel-config (over external labels and
   * `__block_id`). Default: every block.
   */
  filters?: Pick<MetaFilters, 'minTime' | 'maxTime' | 'relabel'>;
  /** meta.json files read in parallel during a refresh. Default 32 (Thanos's block.FetcherConcurrency). */
  metaFetchConcurrency?: number;
  /**
   * Path prefix the pages and API are served under (--web.route-prefix), e.g. `/bucket`. Default:
   * `externalPrefix`, as Thanos. `/` or '' is the root.
   */
  routePrefix?: string;
  /**
   * Prefix of the links and API calls in the pages (--web.external-prefix), for a reverse proxy that
   * strips a sub-path before forwarding. Default '': links under `routePrefix`.
   */
  externalPrefix?: string;
  /**
   * Request header carrying the link prefix per request (--web.prefix-header, e.g.
   * `X-Forwarded-Prefix`); ignored when `externalPrefix` is set. Default '': none.
   */
  prefixHeader?: string;
  /** Do not send CORS headers on API answers (--web.disable-cors). Default false: any origin allowed. */
  disableCORS?: boolean;
  /** Refuse `POST /api/v1/blocks/mark` (--disable-admin-operations). Default false. */
  disableAdminOperations?: boolean;
}

/** Deletion and no-compact marks of one block (thanos-ts's `marks` beside Thanos's BlocksInfo). */
export interface BlockMarks {
  deletion?: DeletionMark;
  noCompact?: NoCompactMark;
}

/** What `/api/v1/blocks` answers in `data` (Thanos's BlocksInfo, plus `marks`). */
export interface BlocksView {
  /** The `--label` value. */
  label: string;
  /** Blocks of the last successful refresh (kept when a later one fails), sorted by ULID. */
  blocks: BlockMeta[];
  /** When the last refresh ended (successful or not), ms since the epoch; undefined before the first. */
  refreshedAt: number | undefined;
  /** Why the last refresh failed; null when it succeeded. */
  err: string | null;
  /** Marks by ULID, for blocks that have any. */
  marks: Map<string, BlockMarks>;
}

/** Thanos's `tools bucket web`: a refreshed view of a bucket's blocks, served as JSON and as a page. */
export interface BucketWeb extends Lifecycle {
  /**
   * Binds the HTTP server (when `httpAddress` is set), runs the first refresh (bounded by `timeoutMs`;
   * a failure makes the component degraded, not the start fail), then refreshes every
   * `refreshIntervalMs`.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Refreshes the view now (joins a refresh in progress). Resolves false when it failed (see `view().err`). */
  refresh(signal?: AbortSignal): Promise<boolean>;
  /** The current blocks view. */
  view(): BlocksView;
  /** Started, not closed, and the last refresh succeeded. */
  ready(): boolean;
  /**
   * /metrics, /-/healthy, /-/ready (503 with the reason while the last refresh failed), and under the
   * route prefix: GET /api/v1/blocks, POST /api/v1/blocks/mark and the blocks page at / and /blocks.
   */
  readonly handler: RequestHandler;
  readonly registry: Registry;
  readonly metrics: BucketWebMetrics;
  /** host:port the HTTP server bound, once started with `httpAddress`. */
  readonly httpAddress: string | undefined;
}

/** `/x/` → `/x`, `/` and '' → '' (Thanos trims slashes and serves the root as ''). */
function normalizePrefix(p: string | undefined): string {
  const trimmed = (p ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

/** Thanos's api.SetCORS headers. */
const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Headers': 'Accept, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Date',
};

/** Distinct link prefixes kept with their own page handler; past this, the least recent one is dropped. */
const MAX_LINK_PREFIXES = 16;

/** Creates a bucket web component; validates options, no I/O until `start`. */
export function createBucketWeb(opts: BucketWebOptions): BucketWeb {
  const { logger, registry, now, tracer } = resolveComponentOptions(opts);
  const { bucket } = opts;
  const refreshIntervalMs = opts.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  if (!(refreshIntervalMs > 0))
    throw new InvalidArgumentError(`--refresh: must be positive, got ${refreshIntervalMs}ms`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS;
  if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`--timeout: must not be negative, got ${timeoutMs}ms`);
  const retryIntervalMs = Math.min(opts.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS, refreshIntervalMs);
  const concurrency = Math.max(1, opts.metaFetchConcurrency ?? 32);
  const label = opts.label ?? '';
  const externalPrefix = normalizePrefix(opts.externalPrefix);
  const routePrefix = normalizePrefix(opts.routePrefix === undefined ? opts.externalPrefix : opts.routePrefix);
  const prefixHeader = (opts.prefixHeader ?? '').toLowerCase();
  const disableCORS = opts.disableCORS ?? false;
  const disableAdmin = opts.disableAdminOperations ?? false;
  const metrics = createBucketWebMetrics(registry);
  const fetcher = createMetaFetcher({
    bucket,
    concurrency,
    now,
    // Thanos's bucket web filters by time and labels and deduplicates; it neither waits for fresh
    // blocks nor hides ones marked for deletion (the page shows the marks instead).
    filters: { ...(opts.filters ?? {}), consistencyDelayMs: 0, ignoreDeletionMarksDelayMs: Number.POSITIVE_INFINITY },
  });

  let view: BlocksView = { label, blocks: [], refreshedAt: undefined, err: null, marks: new Map() };
  let started = false;
  let closed = false;
  let running: Promise<boolean> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let server: ListeningHTTPServer | undefined;
  const loopAbort = new AbortController();

  async function readMarks(id: string, signal?: AbortSignal): Promise<BlockMarks | undefined> {
    const [deletion, noCompact] = await Promise.all([
      readMarker<DeletionMark>(bucket, id, DELETION_MARK_FILENAME, signal),
      readMarker<NoCompactMark>(bucket, id, NO_COMPACT_MARK_FILENAME, signal),
    ]);
    if (!deletion && !noCompact) return undefined;
    return { ...(deletion ? { deletion } : {}), ...(noCompact ? { noCompact } : {}) };
  }

  // One span per refresh (the bucket reads under it get their own spans from a traced bucket).
  function doRefresh(outer: AbortSignal | undefined): Promise<boolean> {
    return withSpan(tracer, 'bucket_web_refresh', undefined, (span) => refreshIn(span, outer));
  }

  async function refreshIn(span: Span, outer: AbortSignal | undefined): Promise<boolean> {
    const t0 = now();
    metrics.syncs.inc();
    const timeout = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    const signals = [outer, timeout, loopAbort.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = AbortSignal.any(signals);
    try {
      const fetched = await fetcher.fetch(signal);
      const metas = [...fetched.metas.values()];
      const duplicates = duplicateBlocks(metas);
      const shown = metas.filter((m) => !duplicates.has(m.ulid));
      shown.sort((a, b) => (a.ulid < b.ulid ? -1 : a.ulid > b.ulid ? 1 : 0));
      const marks = new Map<string, BlockMarks>();
      await forEachLimit(
        shown.map((m) => m.ulid),
        concurrency,
        async (id) => {
          const m = await readMarks(id, signal);
          if (m) marks.set(id, m);
        },
      );
      signal.throwIfAborted();
      for (const [state, n] of Object.entries(fetched.counts)) metrics.synced.set({ state }, n);
      metrics.synced.set({ state: 'loaded' }, shown.length);
      metrics.synced.set({ state: 'duplicate' }, duplicates.size);
      const t = now();
      view = { label, blocks: shown, refreshedAt: t, err: null, marks };
      span.setAttribute('blocks', shown.length);
      metrics.lastSuccess.set(t / 1000);
      metrics.degraded.set(0);
      logger.debug('refreshed blocks view', { blocks: shown.length, duration_ms: t - t0 });
      return true;
    } catch (err) {
      const e =
        timeout?.aborted && !outer?.aborted && !loopAbort.signal.aborted
          ? new BucketWebRefreshTimeoutError(timeoutMs)
          : (err as Error);
      // Closing is not a failed refresh.
      if (loopAbort.signal.aborted || outer?.aborted) throw e;
      recordError(span, e);
      metrics.syncFailures.inc();
      metrics.degraded.set(1);
      // Thanos keeps the last good view and records the error beside it.
      view = { ...view, refreshedAt: now(), err: e.message };
      logger.warn('refreshing the blocks view failed; serving the last good view', { err: e.message });
      return false;
    }
  }

  function refresh(signal?: AbortSignal): Promise<boolean> {
    running ??= doRefresh(signal).finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(ok: boolean): void {
    if (closed) return;
    timer = setTimeout(
      () => {
        refresh().then(schedule, () => {});
      },
      ok ? refreshIntervalMs : retryIntervalMs,
    );
    timer.unref?.();
  }

  function notReadyReason(): string | undefined {
    if (!started || closed) return 'NOT READY';
    if (view.err !== null) return `NOT READY: refreshing the blocks view from the bucket failed: ${view.err}`;
    return undefined;
  }

  function blocksJSON(v: BlocksView): string {
    const marks: Record<string, BlockMarks> = {};
    for (const [id, m] of v.marks) marks[id] = m;
    return `{"label":${JSON.stringify(v.label)},"blocks":[${v.blocks.map(serializeBlockMeta).join(',')}],"refreshedAt":${JSON.stringify(
      v.refreshedAt === undefined ? null : new Date(v.refreshedAt).toISOString(),
    )},"err":${JSON.stringify(v.err)},"marks":${JSON.stringify(marks)}}`;
  }

  function writeJSON(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...(disableCORS ? {} : CORS_HEADERS),
    });
    res.end(body);
  }

  const badData = (res: ServerResponse, msg: string) =>
    writeJSON(res, 400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: msg }));

  async function mark(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (disableAdmin) return badData(res, 'Admin operations are disabled');
    let form: Awaited<ReturnType<typeof readForm>>;
    try {
      form = await readForm(req, url);
    } catch (err) {
      return badData(res, (err as Error).message);
    }
    const id = form.get('id');
    const action = form.get('action');
    const detail = form.get('detail');
    if (id === '') return badData(res, 'ID cannot be empty');
    if (action === '') return badData(res, 'Action cannot be empty');
    // The texts of Go's oklog/ulid Parse errors, as Thanos wraps them.
    if (id.length !== 26)
      return badData(res, `ULID ${goQuote(id)} is not valid: ulid: bad data size when unmarshaling`);
    if (!isULID(id))
      return badData(res, `ULID ${goQuote(id)} is not valid: ulid: bad data characters when unmarshaling`);
    if (action !== 'DELETION' && action !== 'NO_COMPACTION') return badData(res, `not supported marker ${action}`);
    // Unlike Thanos, a mark for a block that is not in the bucket is refused: it would only leave a
    // stray marker object behind (a typo in the ULID).
    if (!(await bucket.exists(`${id}/${META_FILENAME}`)))
      return badData(res, `block ${id} not found in the bucket: no ${id}/${META_FILENAME}`);
    const t = now();
    const made =
      action === 'DELETION'
        ? await markForDeletion(bucket, id, detail, t)
        : await markForNoCompact(bucket, id, MANUAL_NO_COMPACT_REASON, detail, t);
    if (!made) logger.warn('requested mark already exists', { block: id, action });
    else logger.info('block marked', { block: id, action, detail });
    const marks = await readMarks(id);
    const next = new Map(view.marks);
    if (marks) next.set(id, marks);
    view = { ...view, marks: next };
    writeJSON(res, 200, '{"status":"success"}');
  }

  // One page handler per link prefix (the route prefix, --web.external-prefix, or the prefix a
  // proxy sends in --web.prefix-header), so the pages' links and API calls go where the browser can reach them.
  const pageHandlers = new Map<string, UIRequestHandler>();
  function pagesFor(linkPrefix: string): UIRequestHandler {
    let h = pageHandlers.get(linkPrefix);
    if (h) {
      pageHandlers.delete(linkPrefix);
      pageHandlers.set(linkPrefix, h);
      return h;
    }
    h = createUIHandler({ pages: ['blocks'], title: 'thanos-ts bucket', routePrefix: linkPrefix });
    pageHandlers.set(linkPrefix, h);
    if (pageHandlers.size > MAX_LINK_PREFIXES) pageHandlers.delete(pageHandlers.keys().next().value as string);
    return h;
  }
  function linkPrefixOf(req: IncomingMessage): string {
    if (externalPrefix !== '') return externalPrefix;
    if (prefixHeader !== '') {
      const v = req.headers[prefixHeader];
      if (typeof v === 'string' && v !== '') return normalizePrefix(v);
    }
    return routePrefix;
  }

  const routed: RequestHandler = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = url.pathname;
    if (routePrefix !== '') {
      // Thanos redirects the root and the bare prefix to the prefix with a slash.
      if (path === '/' || path === routePrefix) {
        res.writeHead(302, { Location: `${routePrefix}/` });
        res.end();
        return true;
      }
      if (!path.startsWith(`${routePrefix}/`)) return false;
      path = path.slice(routePrefix.length);
    }
    if (path === '/api/v1/blocks' || path === '/api/v1/blocks/mark') {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, disableCORS ? {} : CORS_HEADERS);
        res.end();
        return true;
      }
      if (path === '/api/v1/blocks/mark') {
        if (req.method !== 'POST') {
          res.writeHead(405, { Allow: 'POST, OPTIONS' });
          res.end();
          return true;
        }
        await mark(req, res, url);
        return true;
      }
      // Thanos's bucket web never loads blocks, so its "loaded" view is always empty.
      const v: BlocksView =
        url.searchParams.get('view') === 'loaded'
          ? { label, blocks: [], refreshedAt: undefined, err: null, marks: new Map() }
          : view;
      writeJSON(res, 200, `{"status":"success","data":${blocksJSON(v)}}`);
      return true;
    }
    const linkPrefix = linkPrefixOf(req);
    const original = req.url;
    req.url = `${linkPrefix}${path}${url.search}`;
    try {
      return await pagesFor(linkPrefix)(req, res);
    } finally {
      req.url = original;
    }
  };
  const base = createComponentHandler({ registry, ready: () => true, handlers: [routed] });
  const handler: RequestHandler = async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/-/ready') {
      const reason = notReadyReason();
      res.writeHead(reason ? 503 : 200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(reason ?? 'OK');
      return true;
    }
    return base(req, res);
  };

  const lifecycle = createLifecycle('bucket web', {
    async start(signal) {
      if (refreshIntervalMs < 5 * 60_000)
        logger.warn('Refreshing more often than 5m could lead to large data transfers');
      if (timeoutMs > 0 && timeoutMs < 60_000) logger.warn('Timeout less than 1m could lead to frequent failures');
      if (timeoutMs > 0 && refreshIntervalMs < timeoutMs * 2)
        logger.warn('Refresh interval should be at least 2 times the timeout');
      if (externalPrefix !== '' && routePrefix !== externalPrefix)
        logger.warn(
          'different values for --web.route-prefix and --web.external-prefix detected, web UI may not work without a reverse-proxy.',
        );
      if (opts.httpAddress !== undefined) {
        server = await serveComponentHTTP(handler, opts.httpAddress, opts, logger, 'bucket-web');
        logger.info('listening', { http: server.address });
      }
      signal.throwIfAborted();
      const ok = await untilAborted(refresh(signal), signal);
      started = true;
      schedule(ok);
    },
    async stop() {
      closed = true;
      if (timer) clearTimeout(timer);
      loopAbort.abort(new DOMException('bucket web closed', 'AbortError'));
      await running?.catch(() => {});
      await server?.close();
    },
  });

  return {
    ...lifecycle,
    refresh,
    view: () => view,
    ready: () => notReadyReason() === undefined,
    handler,
    registry,
    metrics,
    get httpAddress() {
      return server?.address;
    },
  };
}
