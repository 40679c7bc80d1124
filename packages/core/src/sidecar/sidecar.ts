import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { Labels } from '@thanos-ts/tsdb';
import { Gauge, type Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { type BoundServers, bindServers, type ComponentEndpoints, componentHandler } from '../component/serve.js';
import type { RequestHandler } from '../http/query-api.js';
import { serveSidecarAPIs } from '../infoapis/sidecar.js';
import { MAX_TIME, MIN_TIME, type StoreAPI } from '../storeapi/store-api.js';
import { NoExternalLabelsError, PrometheusAPIError } from './errors.js';
import { createPrometheusClient, type PrometheusClient } from './prometheus-client.js';
import { createPrometheusStore } from './prometheus-store.js';
import { createReloader, type Reloader, type ReloaderOptions } from './reloader.js';
import type { RemoteReadResponseType, RemoteReadStats } from './remote-read.js';
import { createShipper, type Shipper, type ShipperSyncResult } from './shipper.js';

/** Options of `createSidecar`. Durations are ms. */
export interface SidecarOptions extends ComponentOptions, ServingOptions {
  /** Prometheus's base URL (--prometheus.url). Default http://localhost:9090. */
  readonly prometheusUrl?: string;
  /** Prometheus's TSDB directory (--tsdb.path); needed to upload blocks. */
  readonly tsdbPath?: string;
  /** Where to upload blocks (--objstore.config); uploads are off without it. */
  readonly bucket?: Bucket;
  /**
   * External labels to use instead of the ones in Prometheus's configuration (which are read from
   * /api/v1/status/config and re-read every `getConfigInterval` when this is absent).
   */
  readonly externalLabels?: Labels | Record<string, string>;
  /**
   * Serve only data at or after this time, ms since the epoch (--min-time). A function is asked
   * again on every refresh, for a bound relative to now such as -2w.
   */
  readonly minTime?: number | (() => number);
  /** Upload compacted blocks too, once (--shipper.upload-compacted). */
  readonly uploadCompacted?: boolean;
  /** Upload even when Prometheus's min and max block durations differ (--shipper.ignore-unequal-block-size). */
  readonly ignoreUnequalBlockSize?: boolean;
  /** How long `start` waits for Prometheus to become ready, ms (--prometheus.ready_timeout). Default 600_000. */
  readonly readyTimeoutMs?: number;
  /** How often Prometheus's labels and min time are refreshed, ms (--prometheus.get_config_interval). Default 30_000. */
  readonly getConfigIntervalMs?: number;
  /** Timeout of each call to Prometheus's API, ms (--prometheus.get_config_timeout). Default 30_000. */
  readonly getConfigTimeoutMs?: number;
  /** How often the shipper looks for new blocks, ms. Default 30_000, as Thanos. */
  readonly shipIntervalMs?: number;
  /**
   * Watch Prometheus's configuration and rule files and reload it on change (Thanos's
   * --reloader.* flags); off unless a config file or watched directory is given.
   */
  readonly reloader?: Omit<ReloaderOptions, 'reloadUrl' | 'logger' | 'registry'>;
  /** Response types asked of remote read (default ['STREAMED_XOR_CHUNKS', 'SAMPLES']). */
  readonly acceptedResponseTypes?: readonly RemoteReadResponseType[];
  /** undici dispatcher for the calls to Prometheus (tests, proxies). Default: undici's global one. */
  readonly dispatcher?: Dispatcher;
  /** Called after each remote read with its counters. */
  readonly onRemoteRead?: (stats: RemoteReadStats & { series: number }) => void;
}

/**
 * A running sidecar: a StoreAPI over its Prometheus (usable in-process, or over gRPC when
 * `grpcAddress` is set) plus the shipper.
 */
export interface Sidecar extends StoreAPI, Lifecycle {
  /**
   * Starts the HTTP server (if any), waits for Prometheus (retrying with backoff up to
   * `readyTimeoutMs`), reads its version, min time and external labels, then starts the gRPC
   * server, the periodic refresh and the shipper. Rejects with NoExternalLabelsError when
   * Prometheus has no external labels and with PrometheusAPIError when it never became reachable.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops the loops and servers; waits for a running upload to finish or abort. Idempotent. */
  close(): Promise<void>;
  /** The HTTP endpoints (/metrics, /-/healthy, /-/ready) as a handler to mount elsewhere. */
  readonly handler: RequestHandler;
  /** The process is up (the HTTP server answers 200 on /-/healthy). */
  isHealthy(): boolean;
  /** Prometheus was reached and its external labels loaded on the last try (/-/ready). */
  isReady(): boolean;
  /** Current external labels. */
  externalLabels(): Labels;
  /** Time range served, ms. */
  timestamps(): { minTime: number; maxTime: number };
  /** Prometheus's version as it reported it. */
  prometheusVersion(): string;
  /** Runs one shipper pass now (undefined when uploads are off). */
  sync(signal?: AbortSignal): Promise<ShipperSyncResult | undefined>;
  readonly prometheus: PrometheusClient;
  readonly shipper: Shipper | undefined;
  /** The metrics registry (the one given, or the sidecar's own). */
  readonly registry: Registry;
  /** host:port the gRPC server listens on, once started. */
  readonly grpcAddress: string | undefined;
  /** host:port the HTTP server listens on, once started. */
  readonly httpAddress: string | undefined;
}

/**
 * Thanos's sidecar (cmd/thanos/sidecar.go): serves one Prometheus as a StoreAPI (remote read with
 * streamed XOR chunks, external labels on every series) and uploads its 2h blocks to a bucket.
 */
export function createSidecar(opts: SidecarOptions = {}): Sidecar {
  const { logger: log, registry, tracer } = resolveComponentOptions(opts);
  const prometheusUrl = opts.prometheusUrl ?? 'http://localhost:9090';
  const configTimeout = opts.getConfigTimeoutMs ?? 30_000;
  const prometheus = createPrometheusClient({
    url: prometheusUrl,
    timeout: configTimeout,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
  });
  const minTimeOpt = opts.minTime;
  const limitMinTime = (): number =>
    minTimeOpt === undefined ? MIN_TIME : typeof minTimeOpt === 'number' ? minTimeOpt : minTimeOpt();
  const fixedLabels =
    opts.externalLabels === undefined
      ? undefined
      : opts.externalLabels instanceof Labels
        ? opts.externalLabels
        : Labels.from(opts.externalLabels);

  let labels = fixedLabels ?? Labels.EMPTY;
  let minTime = limitMinTime();
  let version = '';
  let ready = false;
  let healthy = false;
  let closed = false;
  const stopper = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  let httpServer: BoundServers | undefined;
  let grpcServer: BoundServers | undefined;
  let shipping: Promise<unknown> = Promise.resolve();

  const promUp = new Gauge({
    name: 'thanos_sidecar_prometheus_up',
    help: 'Boolean indicator whether the sidecar can reach its Prometheus peer.',
    registers: [registry],
  });

  const store = createPrometheusStore({
    client: prometheus,
    externalLabels: () => labels,
    timestamps: () => ({ minTime, maxTime: MAX_TIME }),
    version: () => version,
    isReady: () => ready,
    ...(opts.acceptedResponseTypes ? { acceptedResponseTypes: opts.acceptedResponseTypes } : {}),
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    ...(opts.onRemoteRead ? { onRemoteRead: opts.onRemoteRead } : {}),
  });

  const shipper =
    opts.bucket && opts.tsdbPath
      ? createShipper({
          bucket: opts.bucket,
          dir: opts.tsdbPath,
          labels: () => labels.toRecord(),
          source: 'sidecar',
          uploadCompacted: opts.uploadCompacted ?? false,
          logger: log,
          registry,
        })
      : undefined;
  const reloader: Reloader | undefined =
    opts.reloader && (opts.reloader.configFile || (opts.reloader.watchedDirs?.length ?? 0) > 0)
      ? createReloader({ ...opts.reloader, reloadUrl: `${prometheus.url}/-/reload`, logger: log, registry })
      : undefined;
  if (opts.bucket && !opts.tsdbPath) log.warn('a bucket is configured but no --tsdb.path: uploads are disabled');
  if (!opts.bucket) log.info('no supported bucket was configured, uploads will be disabled');

  /** Reads min time and (unless fixed) external labels once. */
  async function refresh(signal: AbortSignal): Promise<void> {
    const lowest = await prometheus.lowestTimestamp(signal);
    const ext = fixedLabels ?? (await prometheus.externalLabels(signal));
    minTime = Math.max(limitMinTime(), lowest);
    labels = ext;
  }

  async function validateFlags(signal: AbortSignal): Promise<void> {
    const flags = await prometheus.flags(signal);
    if (!flags) {
      log.warn('failed to check Prometheus flags, due to potentially older Prometheus. No extra validation is done.');
      return;
    }
    const minBlock = flags['storage.tsdb.min-block-duration'];
    const maxBlock = flags['storage.tsdb.max-block-duration'];
    if (minBlock !== maxBlock) {
      const msg =
        `found that TSDB Max time is ${maxBlock} and Min time is ${minBlock}. ` +
        'Compaction needs to be disabled (storage.tsdb.min-block-duration = storage.tsdb.max-block-duration)';
      if (!opts.ignoreUnequalBlockSize) throw new PrometheusAPIError(prometheus.url, 200, msg);
      log.warn(`${msg}; uploading anyway (--shipper.ignore-unequal-block-size)`);
    }
    if (minBlock !== '2h') {
      log.warn('found that TSDB block time is not 2h. Only 2h block time is recommended.', { 'block-time': minBlock });
    }
  }

  async function waitForPrometheus(signal: AbortSignal): Promise<void> {
    const timeout = opts.readyTimeoutMs ?? 600_000;
    const deadline = Date.now() + timeout;
    let delay = 250;
    let lastErr: unknown;
    for (;;) {
      signal.throwIfAborted();
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(configTimeout)]);
      try {
        // buildinfo first: when Prometheus cannot be reached its error says why (refused, DNS, …).
        version = await prometheus.buildVersion(attempt);
        if (!(await prometheus.ready(attempt))) {
          throw new PrometheusAPIError(`${prometheus.url}/-/ready`, 503, 'Prometheus is not ready yet');
        }
        if (shipper) await validateFlags(attempt);
        await refresh(attempt);
        return;
      } catch (err) {
        if (signal.aborted) throw err;
        // A configuration problem does not fix itself by waiting.
        if (err instanceof PrometheusAPIError && err.status === 200) throw err;
        lastErr = err;
        log.warn('failed to reach Prometheus. Is it running? Retrying', { url: prometheus.url, err });
      }
      if (Date.now() + delay > deadline) {
        throw new PrometheusAPIError(
          prometheus.url,
          0,
          `Prometheus not reachable or not ready after ${Math.round(timeout / 1000)}s (--prometheus.url, --prometheus.ready_timeout): ${
            lastErr instanceof Error ? lastErr.message : String(lastErr)
          }`,
          { cause: lastErr },
        );
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  function every(ms: number, fn: () => Promise<void>): void {
    let busy = false;
    const t = setInterval(() => {
      if (busy || closed) return;
      busy = true;
      fn().finally(() => {
        busy = false;
      });
    }, ms);
    t.unref();
    timers.push(t);
  }

  function runSync(signal?: AbortSignal): Promise<ShipperSyncResult | undefined> {
    if (!shipper) return Promise.resolve(undefined);
    const s = signal ? AbortSignal.any([signal, stopper.signal]) : stopper.signal;
    const p = shipper.sync(s);
    shipping = p.catch(() => undefined);
    return p;
  }

  const endpoints: ComponentEndpoints = {
    registry,
    ready: () => ready,
    tracer,
    // StoreAPI plus Thanos's Metadata, Targets and Exemplars services from Prometheus, all
    // advertised in Info so a querier's /api/v1/metadata, targets and query_exemplars reach them.
    grpc: (server) => serveSidecarAPIs(sidecar, server, prometheusUrl, () => labels, { tracer }),
  };
  const lifecycle = createLifecycle('sidecar', { start: startSidecar, stop: stopSidecar });
  const sidecar: Sidecar = {
    ...lifecycle,
    handler: componentHandler(endpoints),
    info: (signal) => store.info(signal),
    series: (req, signal) => store.series(req, signal),
    labelNames: (req, signal) => store.labelNames(req, signal),
    labelValues: (req, signal) => store.labelValues(req, signal),
    prometheus,
    shipper,
    registry,
    get grpcAddress() {
      return grpcServer?.grpcAddress;
    },
    get httpAddress() {
      return httpServer?.httpAddress;
    },
    isHealthy: () => healthy,
    isReady: () => ready,
    externalLabels: () => labels,
    timestamps: () => ({ minTime, maxTime: MAX_TIME }),
    prometheusVersion: () => version,
    sync: runSync,
  };

  async function startSidecar(signal: AbortSignal): Promise<void> {
    const s = AbortSignal.any([signal, stopper.signal]);
    // HTTP comes up first so /-/healthy answers (and /-/ready says not ready) while Prometheus starts.
    httpServer = await bindServers({ ...opts, grpcAddress: undefined }, endpoints, log);
    healthy = true;
    if (shipper && opts.tsdbPath) {
      // A wrong --tsdb.path would otherwise just upload nothing (Thanos's IsWALDirAccessible).
      try {
        await access(join(opts.tsdbPath, 'wal'), fsConstants.R_OK | fsConstants.X_OK);
      } catch (err) {
        log.error(`--tsdb.path ${opts.tsdbPath}: no readable wal directory; is it Prometheus's --storage.tsdb.path?`, {
          err,
        });
      }
    }
    // Like Thanos, the reloader runs from the start: Prometheus may need the generated config to come up.
    reloader?.start().catch((err) => log.error('reloader: first apply failed, will retry', { err }));
    await waitForPrometheus(s);
    if (labels.size === 0) throw new NoExternalLabelsError(prometheus.url);
    ready = true;
    promUp.set(1);
    log.info('successfully loaded prometheus external labels', { external_labels: labels.toString() });

    grpcServer = await bindServers({ ...opts, httpAddress: undefined }, endpoints, log);

    // Heartbeat: Prometheus's external labels and min time can change (config reload, retention).
    every(opts.getConfigIntervalMs ?? 30_000, async () => {
      try {
        await refresh(AbortSignal.any([stopper.signal, AbortSignal.timeout(configTimeout)]));
        ready = true;
        promUp.set(1);
      } catch (err) {
        if (closed) return;
        log.warn('updating labels and timestamps failed', { err });
        ready = false;
        promUp.set(0);
      }
    });

    if (shipper) {
      const ship = async () => {
        try {
          const { uploaded } = (await runSync()) ?? { uploaded: [] };
          if (uploaded.length > 0) log.info('shipper uploaded blocks', { blocks: uploaded.join(',') });
        } catch (err) {
          if (!closed) log.warn('shipper sync failed', { err });
        }
      };
      void ship();
      every(opts.shipIntervalMs ?? 30_000, ship);
    }
  }

  async function stopSidecar(): Promise<void> {
    closed = true;
    ready = false;
    healthy = false;
    stopper.abort(new DOMException('sidecar closed', 'AbortError'));
    for (const t of timers) clearInterval(t);
    await reloader?.close();
    await shipping;
    await grpcServer?.close();
    await httpServer?.close();
  }
  return sidecar;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
