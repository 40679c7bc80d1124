import type { Tracer } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import type { GrpcServerTLSOptions } from '../tls/grpc-tls.js';
import { defaultTracer, ensureContextManager } from '../tracing/context.js';
import type { RequestLoggingConfig } from './request-logging.js';
import type { WebConfig } from './web-config.js';

/**
 * What every component takes from its embedder, with the same defaults everywhere: no log lines,
 * a private metrics registry and the wall clock.
 */
export interface ComponentOptions {
  /** Where log lines go. Default: nowhere (library code never prints; the CLI passes a logfmt logger). */
  logger?: Logger;
  /** prom-client registry for the component's metrics, served at /metrics. Default: a new one. */
  registry?: Registry;
  /** Clock, ms since the epoch. Default `Date.now`; tests inject their own. */
  now?: () => number;
  /**
   * OpenTelemetry tracer for the component's spans (HTTP requests, PromQL, StoreAPI calls, bucket
   * operations), e.g. `createTracing(config).tracer` from `@thanos-ts/core/tracing` or your own
   * SDK's. Default: the global OpenTelemetry API's tracer, a no-op (no cost) unless the process
   * registered a TracerProvider.
   */
  tracer?: Tracer;
}

/**
 * Where a component listens when it runs as its own process. Every field is optional: an embedded
 * component binds nothing and is used in-process (it is a StoreAPI, and `handler` can be mounted in
 * an existing HTTP server).
 */
export interface ServingOptions {
  /** HTTP listen address, host:port (--http-address); port 0 picks a free one. Default: no HTTP server. */
  httpAddress?: string;
  /** gRPC listen address, host:port (--grpc-address); port 0 picks a free one. Default: no gRPC server. */
  grpcAddress?: string;
  /** TLS of the gRPC server (--grpc-server-tls-cert/-key/-client-ca/-min-version). */
  grpcServerTLS?: GrpcServerTLSOptions;
  /**
   * Age after which the gRPC server asks a client to reconnect (GOAWAY; open calls finish), so
   * connections spread over new replicas and TLS is renegotiated, ms
   * (--grpc-server-max-connection-age). Default: unlimited in the library; the CLI's default is
   * Thanos's 60m.
   */
  grpcMaxConnectionAgeMs?: number;
  /**
   * How long `close()` lets in-flight HTTP requests finish before cutting them, ms
   * (--http-grace-period). Default 120_000, as Thanos; 0 cuts at once.
   */
  httpGracePeriodMs?: number;
  /** The same for gRPC calls and streams, ms (--grpc-grace-period). Default 120_000, as Thanos. */
  grpcGracePeriodMs?: number;
  /**
   * TLS, basic authentication, extra headers and a rate limit for every HTTP endpoint (--http.config,
   * Prometheus exporter-toolkit's web config; read one with `readWebConfigFile`). Default: plain
   * HTTP, open to all.
   */
  webConfig?: WebConfig;
  /**
   * Which HTTP requests and gRPC calls are logged (--request.logging-config; parse Thanos's YAML with
   * `parseRequestLoggingConfig`). Default: none, as Thanos without the flag.
   */
  requestLogging?: RequestLoggingConfig;
}

/** The defaults of {@link ComponentOptions} filled in. */
export interface ResolvedComponentOptions {
  logger: Logger;
  registry: Registry;
  now: () => number;
  tracer: Tracer;
}

/**
 * Fills in the shared defaults of {@link ComponentOptions}. A given tracer also gets an
 * AsyncLocalStorage context manager when the process has none, so its spans nest.
 */
export function resolveComponentOptions(opts: ComponentOptions): ResolvedComponentOptions {
  if (opts.tracer) ensureContextManager();
  return {
    logger: opts.logger ?? NOP_LOGGER,
    registry: opts.registry ?? new Registry(),
    now: opts.now ?? Date.now,
    tracer: opts.tracer ?? defaultTracer(),
  };
}

/** Thanos's --http-grace-period and --grpc-grace-period default, ms. */
export const DEFAULT_GRACE_PERIOD_MS = 120_000;

/**
 * The one lifecycle every component has (STYLE.md "Public API"): `createX(opts)` does no I/O,
 * `start()` does it and resolves when ready to serve, `close()` is graceful, bounded and idempotent,
 * and `await using` calls `close()`.
 */
export interface Lifecycle extends AsyncDisposable {
  /**
   * Binds ports, syncs, starts loops; resolves once the component can serve. Rejects (after
   * releasing what it opened) when it cannot start or `signal` aborts. Calling it twice returns the
   * first call's promise; calling it after `close()` rejects.
   */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops serving, lets in-flight work finish within the grace period, releases everything. Safe to call twice. */
  close(): Promise<void>;
}

/** What a component's body provides to {@link createLifecycle}. */
export interface LifecycleHooks {
  /** Does the component's I/O. Whatever it opened before failing is released by `stop`. */
  start(signal: AbortSignal): Promise<void>;
  /** Releases everything `start` opened (also a partly finished start). Called once. */
  stop(): Promise<void>;
}

/** Error from `start()` after `close()`. */
export class ComponentClosedError extends Error {
  readonly code = 'CORE_COMPONENT_CLOSED';
  constructor(what: string) {
    super(`${what}: start after close`);
    this.name = 'ComponentClosedError';
  }
}

/**
 * Wraps a component's start/stop in the shared lifecycle semantics: one start, one stop, close
 * during start aborts the start first, `[Symbol.asyncDispose]` closes.
 */
export function createLifecycle(what: string, hooks: LifecycleHooks): Lifecycle {
  const abort = new AbortController();
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      abort.abort(new DOMException(`${what} closed`, 'AbortError'));
      // Let a start in progress unwind before releasing what it opened.
      await starting?.catch(() => {});
      await hooks.stop();
    })();
    return closing;
  };
  return {
    start(signal?: AbortSignal): Promise<void> {
      if (closing) return Promise.reject(new ComponentClosedError(what));
      starting ??= hooks.start(signal ? AbortSignal.any([signal, abort.signal]) : abort.signal);
      return starting;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Resolves as `work` does, or rejects with the signal's reason as soon as it aborts; for start
 * steps that cannot be cancelled themselves (a first health round), so close() need not wait them out.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
