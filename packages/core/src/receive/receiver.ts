import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SpanKind } from '@opentelemetry/api';
import type { Bucket } from '@thanos-ts/objstore';
import { type DB, DEFAULT_BLOCK_DURATION, DEFAULT_RETENTION_MS, InvalidArgumentError, Labels } from '@thanos-ts/tsdb';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { serveComponentHTTP } from '../component/http-server.js';
import { type BoundServers, bindServers, componentHandler } from '../component/serve.js';
import { availableCores } from '../concurrency/cores.js';
import { Gate } from '../concurrency/gate.js';
import { type ListeningHTTPServer, listenHTTP } from '../http/http-server.js';
import { instrumentHandler } from '../http/instrument.js';
import type { RequestHandler } from '../http/query-api.js';
import { createProxyStore, NO_STORES_MATCHED } from '../query/proxy.js';
import { snappyDecode } from '../sidecar/prompb/snappy.js';
import { limitStoreSeries } from '../store/limited-store.js';
import type { RelabelRule } from '../store/relabel.js';
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
import { extractTraceContext, withSpan } from '../tracing/context.js';
import { DecodeRequestError, InvalidTenantError, LimitError, ReceiveConfigError, WriteError } from './errors.js';
import {
  createMultiHashring,
  createSingleNodeHashring,
  type Hashring,
  type HashringAlgorithm,
  type HashringConfig,
  parseHashringsConfig,
} from './hashring.js';
import type { IngestBatch } from './ingest-batch.js';
import { createIngestPool, type IngestPool, resolveIngestWorker } from './ingest-pool.js';
import {
  checkCounts,
  checkHeadSeries,
  checkSize,
  type LimitsConfig,
  NO_LIMITS,
  type TenantLimits,
  tenantLimits,
} from './limits.js';
import {
  createMultiTSDB,
  type MultiTSDB,
  type PruneResult,
  type TenantDB,
  tenantTimeRange,
  validateTenant,
} from './multi-tsdb.js';
import { decodeOTLPRequest, joinOTLPErrors, OTLP_PATH, translateOTLP } from './otlp.js';
import { connectWriteablePeer, type PeerTLSOptions, serveWriteable, type WriteablePeer } from './peer.js';
import { createRouter, localWriteError, type Router } from './router.js';
import { relabelSeries, splitTenants } from './series-transform.js';
import {
  checkRemoteWriteServerTLS,
  listenHTTPS,
  type RemoteWriteServerTLS,
  TENANT_CERTIFICATE_FIELDS,
  type TenantCertificateField,
  tenantFromCertificate,
} from './tls-server.js';
import { decodeWriteRequest, decodeWriteRequestV2, type WriteSeries } from './wire.js';
import { GroupWriter, SeriesRefCache, type WriteResult } from './writer.js';

/** Thanos's default tenant header (tenancy.DefaultTenantHeader). */
export const DEFAULT_TENANT_HEADER = 'THANOS-TENANT';
/** Thanos's default tenant (tenancy.DefaultTenant). */
export const DEFAULT_TENANT_ID = 'default-tenant';
/** Thanos's default tenant label (tenancy.DefaultTenantLabel). */
export const DEFAULT_TENANT_LABEL = 'tenant_id';
/** Thanos's default replica header (receive.DefaultReplicaHeader). */
export const DEFAULT_REPLICA_HEADER = 'THANOS-REPLICA';
/** Path of the remote-write endpoint, as Thanos's. */
export const REMOTE_WRITE_PATH = '/api/v1/receive';

/** Options of {@link createReceiver}. Durations are ms, sizes bytes. */
export interface ReceiverOptions extends ComponentOptions, ServingOptions {
  /** Directory with one TSDB per tenant (--tsdb.path). Required. */
  tsdbPath: string;
  /**
   * Where the remote-write HTTP server listens, host:port (--remote-write.address; the CLI's
   * default is Thanos's 0.0.0.0:19291). Default: none — mount `handler` or `writeHandler` instead.
   */
  remoteWriteAddress?: string;
  /** Labels added to every tenant's series and blocks (--label). Default none. */
  externalLabels?: Labels | Record<string, string>;
  /**
   * Series and samples one StoreAPI Series call may return (--store.limits.request-series,
   * --store.limits.request-samples; samples counted as 120 per chunk, as Thanos). Over a limit the
   * call fails with RESOURCE_EXHAUSTED naming the flag. Default: no limits (Thanos's 0).
   */
  storeLimits?: { seriesPerRequest?: number; samplesPerRequest?: number };
  /** Bucket new blocks are uploaded to, per tenant (--objstore.config-file). Default: no uploads. */
  bucket?: Bucket;
  /** Local blocks older than this are deleted, ms (--tsdb.retention). Default 15d; 0 keeps all. */
  retentionMs?: number;
  /** Block duration, ms (Thanos's hidden --tsdb.min-block-duration). Default 2h. */
  blockDurationMs?: number;
  /** Out-of-order samples this much older than a series' newest are accepted, ms (--tsdb.out-of-order.time-window). Default 0 (rejected). */
  outOfOrderTimeWindowMs?: number;
  /**
   * Snapshot each tenant's in-memory chunks when the receiver closes, so a restart reads the
   * snapshot and replays only the WAL after it (Thanos's hidden, experimental
   * --tsdb.memory-snapshot-on-shutdown; the tsdb's enableMemorySnapshotOnShutdown, ignored with
   * an out-of-order window). A crash still replays the WAL. Default false.
   */
  memorySnapshotOnShutdown?: boolean;
  /** Samples this far ahead of now are rejected as out of bounds, ms (--tsdb.too-far-in-future.time-window). Default 0 (no check). */
  tooFarInFutureMs?: number;
  /** Header naming the tenant (--receive.tenant-header). Default THANOS-TENANT. */
  tenantHeader?: string;
  /** Tenant of requests without the header (--receive.default-tenant-id). Default default-tenant. */
  defaultTenantId?: string;
  /** External label naming the tenant (--receive.tenant-label-name). Default tenant_id. */
  tenantLabelName?: string;
  /** Header carrying the replica number of a replicated request (--receive.replica-header). Default THANOS-REPLICA. */
  replicaHeader?: string;
  /** Hashrings, as parsed from the JSON file; alternative to `hashringsFile` (--receive.hashrings). */
  hashrings?: readonly HashringConfig[];
  /** Hashrings JSON file, watched and re-read on change (--receive.hashrings-file). */
  hashringsFile?: string;
  /** Fallback re-read interval of `hashringsFile`, ms (--receive.hashrings-file-refresh-interval). Default 300_000. */
  hashringsFileRefreshIntervalMs?: number;
  /** Default algorithm of the hashrings (--receive.hashrings-algorithm). Default hashmod. */
  hashringsAlgorithm?: HashringAlgorithm;
  /**
   * This receiver's address as the hashrings list it (--receive.local-endpoint). Without
   * hashrings everything is stored locally; with hashrings but without this, the receiver only
   * routes (Thanos's RouterOnly mode).
   */
  localEndpoint?: string;
  /** Copies of each series (--receive.replication-factor). Default 1. */
  replicationFactor?: number;
  /** Deadline of a forward to a peer, ms (Thanos's hidden --receive-forward-timeout). Default 5_000. */
  forwardTimeoutMs?: number;
  /** TLS of the remote-write server (--remote-write.server-tls-*). Default plaintext HTTP. */
  remoteWriteServerTLS?: RemoteWriteServerTLS;
  /**
   * Prometheus relabel rules applied to every series of a remote-write or OTLP request before it
   * is routed (--receive.relabel-config(-file), parsed with parseRelabelConfig). Series the rules
   * drop are not stored; a request left empty is answered 200. Forwarded writes from peers are
   * not relabelled again. Default none.
   */
  relabelConfigs?: readonly RelabelRule[];
  /**
   * Label whose value names the tenant of each series, taking precedence over the tenant header;
   * it is removed from the series (--receive.split-tenant-label-name). Default '' (off).
   */
  splitTenantLabelName?: string;
  /** Write a `target_info` series per OTLP resource (--receive.otlp-enable-target-info). Default true. */
  otlpEnableTargetInfo?: boolean;
  /** OTLP resource attributes added as labels to every series (--receive.otlp-promote-resource-attributes). Default none. */
  otlpPromoteResourceAttributes?: readonly string[];
  /** TLS towards peer receivers (--remote-write.client-tls-*, with minVersion). Default plaintext. */
  peerTLS?: PeerTLSOptions;
  /**
   * Take the tenant of HTTP writes from this field of the client's TLS certificate instead of the
   * tenant header (--receive.tenant-certificate-field, as Thanos): the first Organization, the
   * first OrganizationalUnit or the CommonName. Needs `remoteWriteServerTLS` with a client CA (or
   * a TLS server of your own that asks for client certificates); a request without a certificate
   * or without that field is refused with 400. Default: off (the header decides).
   */
  tenantCertificateField?: TenantCertificateField;
  /** Per-tenant limits (--receive.limits-config-file, parsed with parseLimitsConfig). Default none. */
  limits?: LimitsConfig;
  /**
   * Largest request body accepted, bytes, compressed and decompressed; larger ones get 413.
   * Default 64 MiB (Thanos has no such cap; one keeps a bad client from exhausting memory). 0 = none.
   */
  maxRequestBytes?: number;
  /**
   * Memory ceiling, bytes of resident set size: while the process is above it, remote writes are
   * shed with 429 (the sender retries later) instead of the process growing until it is
   * OOM-killed. A thanos-ts addition (--receive.memory-limit). Default 0: no ceiling.
   */
  memoryLimitBytes?: number;
  /**
   * How often heads are cut into blocks and new blocks shipped, ms. Default 30_000; 0 = only via
   * `flush()`, and idle tenants are then pruned only via `prune()` too.
   */
  flushIntervalMs?: number;
}

/**
 * How the receiver spreads remote-write decoding over threads; thanos-ts tuning with no Thanos
 * flag, so apart from {@link ReceiverOptions} (whose fields each have a CLI flag).
 */
export interface ReceiverIngestOptions {
  /**
   * Worker threads that decompress, decode and validate remote-write 1.0 requests, so ingest uses
   * more than one core; the main thread then only appends to the heads. Used for requests whose
   * every series is stored here (no hashring peers, replication factor 1, no relabelling or
   * tenant splitting); other requests, remote write 2.0 and native histograms are decoded on the
   * main thread. Started by `start()`, stopped by `close()`; a worker that dies fails only its
   * requests in flight, with 503. Default: one less than the cores (availableCores: the CPU affinity bounded by a cgroup CPU quota), at
   * most 4; 0 = none (everything on the main thread).
   */
  ingestWorkers?: number;
  /**
   * Compressed remote-write bodies smaller than this, bytes, are decoded on the main thread,
   * where they cost less than the hand-over to a worker. Default 2_048; 0 sends all to workers.
   */
  ingestWorkerMinBytes?: number;
  /**
   * A pool to decode on instead of one of `ingestWorkers` threads; the receiver starts and
   * closes it as its own. @internal (tests inject one to crash its workers)
   */
  ingestPool?: IngestPool;
}

/** One in-process write (what `write()` takes): a tenant and its series. */
export interface ReceiverWrite {
  /** Tenant; default the receiver's default tenant. */
  tenant?: string;
  timeseries: WriteSeries[];
}

/**
 * Thanos's receiver: remote write in, one TSDB per tenant, hashring routing with replication,
 * blocks out to a bucket; itself a StoreAPI over every tenant's head and local blocks.
 */
export interface Receiver extends StoreAPI, Lifecycle {
  /**
   * /api/v1/receive plus /metrics, /-/healthy and /-/ready, as a handler to mount in an existing
   * node:http server; resolves false for other paths.
   */
  readonly handler: RequestHandler;
  /**
   * The remote-write endpoint alone, answering whatever path it is mounted at (node:http,
   * Express, Fastify's raw request and response). Always ends the response.
   */
  readonly writeHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** The OTLP metrics endpoint alone (Thanos's POST /api/v1/otlp), mountable like `writeHandler`. */
  readonly otlpHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /**
   * Stores series from code that already holds them, through the same routing, limits and
   * status semantics as remote write. Rejects with WriteError, LimitError or InvalidTenantError.
   */
  write(request: ReceiverWrite): Promise<void>;
  /** Cuts heads into blocks where due, applies retention and ships new blocks now. */
  flush(signal?: AbortSignal): Promise<{ blocks: number; uploaded: number }>;
  /**
   * Flushes and closes idle tenants now, after any running flush (Thanos's MultiTSDB.Prune, rule
   * in `pruneAction`): a tenant whose head's newest sample is more than 1.5 block durations older
   * than `now()` has its whole head written to blocks (shipped by the next flush); one whose
   * newest sample is more than `retentionMs` old also has its blocks shipped when a bucket is set,
   * and once all are in the bucket its TSDB is closed, its directory removed and it leaves the
   * StoreAPI's label sets. A later write re-opens it. Rejects (AggregateError of
   * PruneTenantError) when some tenant could not be done; that tenant keeps being served and is
   * retried next time. Nothing happens with `retentionMs` 0. Runs on its own every 2 block
   * durations, at wall-clock multiples of that interval, as Thanos.
   */
  prune(signal?: AbortSignal): Promise<PruneResult>;
  /** Tenants with an open TSDB. */
  tenants(): string[];
  readonly registry: Registry;
  readonly httpAddress: string | undefined;
  readonly grpcAddress: string | undefined;
  /** host:port of the remote-write server, once started with `remoteWriteAddress`. */
  readonly remoteWriteAddress: string | undefined;
  /** Started, hashring loaded, not closed. */
  ready(): boolean;
}

class HTTPError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function headerOf(req: IncomingMessage, name: string): string {
  const v = req.headers[name.toLowerCase()];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (max > 0 && size > max) {
      throw new LimitError('max-request-bytes', 413, `write request too large: over ${max} bytes (max request bytes)`);
    }
    chunks.push(c);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/** Creates a receiver; no I/O until `start()`. */
export function createReceiver(opts: ReceiverOptions & ReceiverIngestOptions): Receiver {
  if (!opts.tsdbPath) throw new InvalidArgumentError('createReceiver: tsdbPath (--tsdb.path) is required');
  const { logger: log, registry, now, tracer } = resolveComponentOptions(opts);
  const rf = opts.replicationFactor ?? 1;
  if (!Number.isInteger(rf) || rf < 1)
    throw new InvalidArgumentError(`--receive.replication-factor must be a positive integer, got ${rf}`);
  const tenantHeader = opts.tenantHeader ?? DEFAULT_TENANT_HEADER;
  const defaultTenant = opts.defaultTenantId ?? DEFAULT_TENANT_ID;
  const replicaHeader = opts.replicaHeader ?? DEFAULT_REPLICA_HEADER;
  const maxRequestBytes = opts.maxRequestBytes ?? 64 << 20;
  const limits = opts.limits ?? NO_LIMITS;
  const gate = limits.maxConcurrency > 0 ? new Gate(limits.maxConcurrency) : undefined;
  const ingestWorkers = opts.ingestWorkers ?? Math.min(4, Math.max(1, availableCores() - 1));
  if (!Number.isInteger(ingestWorkers) || ingestWorkers < 0)
    throw new InvalidArgumentError(
      `createReceiver: ingestWorkers must be a non-negative integer, got ${ingestWorkers}`,
    );
  const workerMinBytes = opts.ingestWorkerMinBytes ?? 2_048;
  // The pool is made in start() (finding its worker file is I/O); a build without the worker
  // file decodes everything on the main thread.
  let pool: IngestPool | undefined = opts.ingestPool;
  let poolOnline = false;
  let poolStarting: Promise<void> | undefined;
  const makePool = (): IngestPool | undefined => {
    if (pool !== undefined || ingestWorkers === 0) return pool;
    if (resolveIngestWorker() === undefined) {
      log.warn('ingest worker file not found; decoding remote writes on the main thread', { url: import.meta.url });
      return undefined;
    }
    return createIngestPool({
      size: ingestWorkers,
      onWorkerExit: (code, replaced) =>
        log.warn('ingest worker exited; its requests in flight failed with 503', { code, replaced }),
    });
  };
  const externalLabels =
    opts.externalLabels instanceof Labels ? opts.externalLabels : Labels.from(opts.externalLabels ?? {});
  const tenantLabel = opts.tenantLabelName ?? DEFAULT_TENANT_LABEL;
  if (opts.remoteWriteServerTLS) checkRemoteWriteServerTLS(opts.remoteWriteServerTLS);
  const certField = opts.tenantCertificateField;
  if (certField !== undefined && !TENANT_CERTIFICATE_FIELDS.includes(certField))
    throw new InvalidArgumentError(
      `--receive.tenant-certificate-field: must be one of ${TENANT_CERTIFICATE_FIELDS.join(', ')}, got ${JSON.stringify(certField)}`,
    );
  if (externalLabels.has(tenantLabel))
    throw new InvalidArgumentError(`--label ${tenantLabel} clashes with --receive.tenant-label-name`);

  const tsdbs: MultiTSDB = createMultiTSDB({
    dir: opts.tsdbPath,
    externalLabels,
    tenantLabelName: tenantLabel,
    blockDurationMs: opts.blockDurationMs ?? DEFAULT_BLOCK_DURATION,
    retentionMs: opts.retentionMs ?? DEFAULT_RETENTION_MS,
    outOfOrderTimeWindowMs: opts.outOfOrderTimeWindowMs ?? 0,
    memorySnapshotOnShutdown: opts.memorySnapshotOnShutdown ?? false,
    bucket: opts.bucket,
    logger: log,
  });

  // Metrics (names as Thanos's receive where it has them).
  const samplesIn = new Counter({
    name: 'thanos_receive_write_samples_total',
    help: 'Samples in remote-write requests, by response code and tenant.',
    labelNames: ['code', 'tenant'],
    registers: [registry],
  });
  const seriesIn = new Counter({
    name: 'thanos_receive_write_timeseries_total',
    help: 'Series in remote-write requests, by response code and tenant.',
    labelNames: ['code', 'tenant'],
    registers: [registry],
  });
  const forwardDuration = new Histogram({
    name: 'thanos_receive_write_duration_seconds',
    help: 'Time to handle one write request (routing, replication, WAL commit).',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const configSuccess = new Gauge({
    name: 'thanos_receive_config_last_reload_successful',
    help: 'Whether the last hashring configuration file reload attempt was successful.',
    registers: [registry],
  });
  const configChanges = new Counter({
    name: 'thanos_receive_hashrings_file_changes_total',
    help: 'The number of times the hashrings configuration file has changed.',
    registers: [registry],
  });
  const flushFailures = new Counter({
    name: 'thanos_receive_flush_failures_total',
    help: 'Head compaction or block shipping rounds that failed.',
    registers: [registry],
  });
  const prunedTenants = new Counter({
    name: 'thanos_receive_pruned_tenants_total',
    help: 'Idle tenants whose TSDB was closed and removed (their blocks shipped first when a bucket is set).',
    registers: [registry],
  });
  const pruneFailures = new Counter({
    name: 'thanos_receive_prune_failures_total',
    help: 'Idle tenants that could not be pruned (kept and retried at the next prune).',
    registers: [registry],
  });
  const degradedGauge = new Gauge({
    name: 'thanos_receive_degraded',
    help: '1 while a background loop (hashring reload, head compaction, block shipping, idle tenant pruning) is failing.',
    registers: [registry],
  });
  new Gauge({
    name: 'thanos_receive_head_series',
    help: 'Series in the heads of open tenants.',
    labelNames: ['tenant'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of tsdbs.tenants()) this.set({ tenant: t.tenant }, t.db.head.numSeries);
    },
  });

  new Gauge({
    name: 'thanos_receive_ingest_workers',
    help: 'Ingest worker threads decoding remote writes (0: decoding on the main thread).',
    registers: [registry],
    collect() {
      this.set(poolOnline && pool !== undefined ? pool.threads() : 0);
    },
  });
  const workerDecoded = new Counter({
    name: 'thanos_receive_ingest_worker_requests_total',
    help: 'Remote-write requests decompressed and decoded by an ingest worker thread instead of the main thread.',
    registers: [registry],
  });
  const hashringConfigured = opts.hashrings !== undefined || opts.hashringsFile !== undefined;
  // Without hashrings every series is local: a one-node ring naming this receiver.
  const localEndpoint = hashringConfigured ? opts.localEndpoint : (opts.localEndpoint ?? 'local');
  let ring: Hashring | undefined = hashringConfigured ? undefined : createSingleNodeHashring(localEndpoint as string);
  let ringText = '';
  const degraded = new Map<string, string>();
  const setDegraded = (what: string, reason: string | undefined) => {
    if (reason === undefined) degraded.delete(what);
    else degraded.set(what, reason);
    degradedGauge.set(degraded.size > 0 ? 1 : 0);
  };

  const buildRing = (configs: readonly HashringConfig[]): Hashring =>
    createMultiHashring(configs, { algorithm: opts.hashringsAlgorithm ?? 'hashmod', replicationFactor: rf });
  if (opts.hashrings) ring = buildRing(opts.hashrings);

  async function reloadHashrings(): Promise<void> {
    const file = opts.hashringsFile;
    if (!file) return;
    try {
      const text = await readFile(file, 'utf8');
      if (text === ringText && ring) return;
      const next = buildRing(parseHashringsConfig(text, file));
      if (ring) configChanges.inc();
      ring = next;
      ringText = text;
      configSuccess.set(1);
      setDegraded('hashring', undefined);
      log.info('hashring configuration loaded', {
        file,
        nodes: next
          .nodes()
          .map((n) => n.address)
          .join(','),
      });
    } catch (err) {
      configSuccess.set(0);
      const reason = `hashrings file ${file}: ${(err as Error).message}`;
      setDegraded('hashring', reason);
      log.error('reload hashrings file', { file, err: (err as Error).message });
      if (!ring) throw err instanceof ReceiveConfigError ? err : new ReceiveConfigError(file, (err as Error).message);
    }
  }

  const peers = new Map<string, WriteablePeer>();
  const peer = (address: string): WriteablePeer => {
    let p = peers.get(address);
    if (!p) {
      p = connectWriteablePeer(address, opts.peerTLS);
      peers.set(address, p);
    }
    return p;
  };

  // One group committer per tenant TSDB: concurrent writes to a tenant share WAL writes.
  const writers = new WeakMap<DB, GroupWriter>();
  // Label key to head ref per tenant TSDB, for requests decoded by ingest workers.
  const refCaches = new WeakMap<DB, SeriesRefCache>();

  const writeLocal = (tenant: string, series: readonly WriteSeries[]): Promise<void> =>
    writeTenant(tenant, (w) => w.write(series));

  /** Writes into one tenant's TSDB through its group writer; rejects with a WriteError. */
  async function writeTenant(tenant: string, write: (w: GroupWriter, db: DB) => Promise<WriteResult>): Promise<void> {
    try {
      validateTenant(tenant);
    } catch (err) {
      throw new WriteError('bad-data', (err as Error).message);
    }
    let opened = false;
    // use(): counted in flight, so the tenant is not pruned under this write; a write arriving
    // while it is pruned waits and lands in the re-opened TSDB.
    const r = await tsdbs
      .use(tenant, (t: TenantDB) => {
        opened = true;
        let w = writers.get(t.db);
        if (!w) {
          w = new GroupWriter(t.db, {
            ...(opts.tooFarInFutureMs ? { tooFarInFutureMs: opts.tooFarInFutureMs } : {}),
            now,
          });
          writers.set(t.db, w);
        }
        return write(w, t.db);
      })
      .catch((err: unknown) => {
        if (opened) throw err;
        if (err instanceof InvalidTenantError) throw new WriteError('bad-data', err.message);
        throw new WriteError('unavailable', `open tsdb of tenant ${tenant}: ${(err as Error).message}`, { cause: err });
      });
    if (r.error) {
      log.debug('samples rejected', { tenant, rejected: r.rejected, err: r.error.message });
      throw r.error;
    }
  }

  const router: Router = createRouter({
    hashring: () => {
      if (!ring) throw new WriteError('unavailable', 'hashring not loaded yet');
      return ring;
    },
    localEndpoint,
    replicationFactor: rf,
    writeLocal,
    peer,
    forwardTimeoutMs: opts.forwardTimeoutMs ?? 5_000,
  });

  let isReady = false;
  let closed = false;

  function activeSeries(tenant: string): number {
    return tsdbs.tenants().find((t) => t.tenant === tenant)?.db.head.numSeries ?? 0;
  }

  const relabelRules = opts.relabelConfigs ?? [];
  const splitLabel = opts.splitTenantLabelName ?? '';

  /**
   * Limits (on the request as sent, as Thanos), relabelling, then routing; shared by HTTP, OTLP
   * and in-process writes.
   */
  async function ingest(tenant: string, input: WriteSeries[], replica: number): Promise<void> {
    if (!isReady) throw new WriteError('unavailable', 'target not ready');
    const lim = tenantLimits(limits, tenant);
    let samples = 0;
    for (const s of input) samples += s.timestamps.length;
    checkCounts(lim, tenant, input.length, samples);
    const series = relabelSeries(input, relabelRules);
    // Everything dropped by relabelling: nothing to store, and nothing wrong with the request.
    if (series.length === 0) return;
    const started = performance.now();
    let code = '200';
    try {
      await router.write(splitTenants([{ tenant, series }], splitLabel), replica);
    } catch (err) {
      code = String(err instanceof WriteError ? err.status : 500);
      throw err;
    } finally {
      forwardDuration.observe((performance.now() - started) / 1000);
      samplesIn.inc({ code, tenant }, samples);
      seriesIn.inc({ code, tenant }, series.length);
    }
  }

  /**
   * ingest() for a request decoded by an ingest worker; only called when every series is stored
   * here (see {@link workerEligible}), so routing reduces to the local write, and its errors are
   * worded as the router words a local write that failed on its only replica.
   */
  async function ingestBatch(tenant: string, batch: IngestBatch, replica: number): Promise<void> {
    if (!isReady) throw new WriteError('unavailable', 'target not ready');
    checkCounts(tenantLimits(limits, tenant), tenant, batch.series, batch.samples);
    const started = performance.now();
    let code = '200';
    try {
      if (replica > rf) throw new WriteError('bad-data', 'request replica exceeds receiver replication factor');
      await writeTenant(tenant, (w, db) => {
        let cache = refCaches.get(db);
        if (!cache) {
          cache = new SeriesRefCache(db);
          refCaches.set(db, cache);
        }
        return w.writeBatch(batch, cache);
      }).catch((err: unknown) => {
        throw localWriteError(err, 1, 1);
      });
    } catch (err) {
      code = String(err instanceof WriteError ? err.status : 500);
      throw err;
    } finally {
      forwardDuration.observe((performance.now() - started) / 1000);
      samplesIn.inc({ code, tenant }, batch.samples);
      seriesIn.inc({ code, tenant }, batch.series);
    }
  }

  /**
   * Whether a remote-write request of `tenant` may be decoded by an ingest worker: version 1.0,
   * big enough, and every series stored here as it is (no relabelling, no tenant splitting, a
   * one-node hashring naming this receiver, replication factor 1).
   */
  function workerEligible(req: IncomingMessage, tenant: string, bytes: number): boolean {
    if (pool === undefined || !poolOnline || !isReady || bytes < workerMinBytes || rf !== 1 || pool.threads() === 0)
      return false;
    if (relabelRules.length > 0 || splitLabel !== '') return false;
    if (headerOf(req, 'x-prometheus-remote-write-version') === '2.0.0') return false;
    if (ring === undefined || localEndpoint === undefined) return false;
    const nodes = ring.nodes();
    if (nodes.length !== 1 || nodes[0]?.address !== localEndpoint) return false;
    try {
      // A ring config may leave a tenant without a ring: the router words that error.
      return ring.getNForHash(tenant, 0n, 0).address === localEndpoint;
    } catch {
      return false;
    }
  }

  /** Thanos's GetTenantFromHTTP: the tenant header, the default header, the default tenant — or the client certificate. */
  function tenantOf(req: IncomingMessage): string {
    let tenant = headerOf(req, tenantHeader);
    if (tenant === '') tenant = headerOf(req, DEFAULT_TENANT_HEADER);
    if (tenant === '') tenant = defaultTenant;
    if (certField !== undefined) {
      try {
        // Hard tenancy: with the option on, a missing certificate field fails the request.
        tenant = tenantFromCertificate(req, certField);
      } catch (err) {
        throw new HTTPError(400, (err as Error).message);
      }
    }
    validateTenant(tenant);
    return tenant;
  }

  const memoryLimit = opts.memoryLimitBytes ?? 0;
  const shed = new Counter({
    name: 'thanos_receive_shed_requests_total',
    help: 'Write requests refused with 429 because the process was above --receive.memory-limit.',
    registers: [registry],
  });
  function checkMemory(): void {
    if (memoryLimit <= 0) return;
    const rss = process.memoryUsage.rss();
    if (rss > memoryLimit) {
      shed.inc();
      throw new LimitError(
        'memory-limit',
        429,
        `receiver memory above limit: ${rss} bytes resident, limit ${memoryLimit} bytes (--receive.memory-limit); retry later`,
      );
    }
  }

  /**
   * The checks every HTTP write starts with, in Thanos's order: method, memory ceiling, tenant,
   * active series, declared size; then reads the body within the size limits.
   */
  async function admit(req: IncomingMessage, what: string): Promise<{ tenant: string; body: Buffer }> {
    if (req.method !== 'POST') throw new HTTPError(405, `method ${req.method} not allowed; ${what} is POST`);
    checkMemory();
    const tenant = tenantOf(req);
    const lim = tenantLimits(limits, tenant);
    checkHeadSeries(lim, tenant, activeSeries(tenant));
    const declared = Number(headerOf(req, 'content-length') || -1);
    if (declared >= 0) {
      checkSize(lim, tenant, declared);
      if (maxRequestBytes > 0 && declared > maxRequestBytes)
        throw new LimitError(
          'max-request-bytes',
          413,
          `write request too large: ${declared} bytes, over ${maxRequestBytes} bytes (max request bytes)`,
        );
    }
    const body = await readBody(req, maxRequestBytes);
    checkSize(lim, tenant, body.length);
    return { tenant, body };
  }

  /** Thanos's determineRWVersion: 2 only with X-Prometheus-Remote-Write-Version 2.0.0 and the v2 content type. */
  function remoteWriteVersion(req: IncomingMessage): 1 | 2 {
    if (headerOf(req, 'x-prometheus-remote-write-version') !== '2.0.0') return 1;
    const ct = headerOf(req, 'content-type');
    if (ct === '') throw new HTTPError(400, 'missing Content-Type header');
    if (ct === 'application/x-protobuf;proto=io.prometheus.write.v2.Request') return 2;
    if (ct === 'application/x-protobuf' || ct === 'application/x-protobuf;proto=prometheus.WriteRequest') return 1;
    throw new HTTPError(400, 'required headers Content-Type and/or X-Prometheus-Remote-Write-Version not found');
  }

  function replicaOf(req: IncomingMessage): number {
    const rawReplica = headerOf(req, replicaHeader);
    if (rawReplica === '') return 0;
    const replica = Number(rawReplica);
    if (!/^\d+$/.test(rawReplica) || !Number.isSafeInteger(replica))
      throw new HTTPError(400, 'could not parse replica header');
    return replica;
  }

  /** The limits on a decompressed body, in the order Thanos checks them. */
  function checkDecodedSize(lim: TenantLimits, tenant: string, rawBytes: number): void {
    checkSize(lim, tenant, rawBytes);
    if (maxRequestBytes > 0 && rawBytes > maxRequestBytes)
      throw new LimitError(
        'max-request-bytes',
        413,
        `write request too large: ${rawBytes} bytes after snappy decoding, over ${maxRequestBytes} bytes (max request bytes)`,
      );
  }

  /** Remote write 1.0 or 2.0; resolves with the response headers of a 2.0 request. */
  async function handleWrite(req: IncomingMessage): Promise<Record<string, string> | undefined> {
    const { tenant, body: compressed } = await admit(req, 'remote write');
    if (workerEligible(req, tenant, compressed.length)) return handleWriteInWorker(req, tenant, compressed);
    return handleWriteInline(req, tenant, compressed);
  }

  /**
   * handleWriteInline with decompression, decoding and label validation on an ingest worker:
   * the same checks in the same order, with the same answers.
   */
  async function handleWriteInWorker(
    req: IncomingMessage,
    tenant: string,
    compressed: Buffer,
  ): Promise<Record<string, string> | undefined> {
    const lim = tenantLimits(limits, tenant);
    const sizeLimit = lim.request.sizeBytesLimit ?? 0;
    const maxRaw =
      sizeLimit > 0 && maxRequestBytes > 0
        ? Math.min(sizeLimit, maxRequestBytes)
        : Math.max(sizeLimit, maxRequestBytes);
    const r = await (pool as IngestPool).decode(compressed, maxRaw);
    if (r.type !== 'inline') workerDecoded.inc();
    if (r.type === 'snappy-error') throw new HTTPError(400, `snappy decode error: ${r.message}`);
    checkDecodedSize(lim, tenant, r.rawBytes);
    if (r.type === 'inline') return handleWriteInline(req, tenant, compressed);
    if (r.type === 'decode-error') throw new DecodeRequestError(r.message);
    const replica = replicaOf(req);
    if (r.batch.series === 0) return undefined;
    await ingestBatch(tenant, r.batch, replica);
    return undefined;
  }

  /** Remote write 1.0 or 2.0 decoded on this thread. */
  async function handleWriteInline(
    req: IncomingMessage,
    tenant: string,
    compressed: Buffer,
  ): Promise<Record<string, string> | undefined> {
    const lim = tenantLimits(limits, tenant);
    let raw: Uint8Array;
    try {
      raw = snappyDecode(compressed);
    } catch (err) {
      throw new HTTPError(400, `snappy decode error: ${(err as Error).message}`);
    }
    checkDecodedSize(lim, tenant, raw.length);
    if (remoteWriteVersion(req) === 2) {
      const v2 = decodeWriteRequestV2(raw);
      const replica = replicaOf(req);
      if (v2.series.length > 0) await ingest(tenant, v2.series, replica);
      // As Thanos: everything in the request counts as written once the request succeeded.
      return {
        'X-Prometheus-Remote-Write-Samples-Written': String(v2.samples),
        'X-Prometheus-Remote-Write-Histograms-Written': String(v2.histograms),
        'X-Prometheus-Remote-Write-Exemplars-Written': String(v2.exemplars),
      };
    }
    const series = decodeWriteRequest(raw);
    const replica = replicaOf(req);
    // An empty request (or metadata only) is accepted, as Thanos does for forward compatibility.
    if (series.length === 0) return undefined;
    await ingest(tenant, series, replica);
    return undefined;
  }

  const otlpSettings = {
    enableTargetInfo: opts.otlpEnableTargetInfo ?? true,
    promoteResourceAttributes: opts.otlpPromoteResourceAttributes ?? [],
  };

  /** Thanos's receiveOTLPHTTP: OTLP metrics (protobuf or JSON, optionally gzip) to series. */
  async function handleOTLP(req: IncomingMessage): Promise<undefined> {
    const { tenant, body } = await admit(req, 'OTLP ingestion');
    let raw: Uint8Array = body;
    const encoding = headerOf(req, 'content-encoding');
    if (encoding === 'gzip') {
      try {
        raw = gunzipSync(body, maxRequestBytes > 0 ? { maxOutputLength: maxRequestBytes } : {});
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ERR_BUFFER_TOO_LARGE')
          throw new LimitError(
            'max-request-bytes',
            413,
            `write request too large: over ${maxRequestBytes} bytes after gzip decoding (max request bytes)`,
          );
        throw new HTTPError(400, e.message);
      }
    } else if (encoding !== '')
      throw new HTTPError(400, `unsupported compression: ${encoding}. Only "gzip" or no compression supported`);
    const resources = decodeOTLPRequest(raw, headerOf(req, 'content-type'));
    const t = translateOTLP(resources, otlpSettings);
    if (t.errors.length > 0) throw new HTTPError(400, joinOTLPErrors(t.errors));
    const replica = replicaOf(req);
    if (t.series.length === 0) return undefined;
    await ingest(tenant, t.series, replica);
    return undefined;
  }

  function statusOf(err: unknown): number {
    if (err instanceof HTTPError) return err.status;
    if (err instanceof WriteError) return err.status;
    if (err instanceof LimitError) return err.status;
    if (err instanceof DecodeRequestError || err instanceof InvalidTenantError) return 400;
    return 500;
  }

  const serveWrite = async (
    handle: (req: IncomingMessage) => Promise<Record<string, string> | undefined>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> => {
    let status = 200;
    let body = '';
    let headers: Record<string, string> | undefined;
    try {
      // Thanos's write gate (write.global.max_concurrency): later requests wait their turn.
      headers = gate ? await gate.run(() => handle(req)) : await handle(req);
    } catch (err) {
      status = statusOf(err);
      body = err instanceof Error ? err.message : String(err);
      if (status >= 500) log.error('write request failed', { status, err: body });
      else log.debug('write request rejected', { status, err: body });
      // The body may be unread (early rejection): drain it so keep-alive connections stay usable.
      if (!req.readableEnded) req.resume();
    }
    if (res.headersSent) return;
    if (status === 200) {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(`${body}\n`);
  };

  // One server span per write request (Thanos's receive_http), continuing the sender's traceparent.
  const traced =
    <T>(name: string, handle: (req: IncomingMessage) => Promise<T>) =>
    (req: IncomingMessage) =>
      withSpan(tracer, name, { 'http.route': req.url ?? '' }, () => handle(req), {
        kind: SpanKind.SERVER,
        parent: extractTraceContext(req.headers),
      });
  const writeHandler = (req: IncomingMessage, res: ServerResponse) =>
    serveWrite(traced('receive_http', handleWrite), req, res);
  const otlpHandler = (req: IncomingMessage, res: ServerResponse) =>
    serveWrite(traced('receive_otlp_http', handleOTLP), req, res);

  const receiveRoute = instrumentHandler(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === REMOTE_WRITE_PATH) await writeHandler(req, res);
    else if (path === OTLP_PATH) await otlpHandler(req, res);
    else return false;
    return true;
  }, registry);

  // /-/ready with the reason when not ready, before the shared handler's plain answer.
  const readyRoute: RequestHandler = async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/-/ready' || (isReady && degraded.size === 0)) return false;
    const reasons = isReady ? [...degraded.values()] : ['receiver not started or closed', ...degraded.values()];
    // Degraded background loops do not stop ingestion: report them, but stay ready.
    const status = isReady ? 200 : 503;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${isReady ? 'OK, degraded' : 'NOT READY'}: ${reasons.join('; ')}\n`);
    return true;
  };

  // The StoreAPI over every tenant.
  const endpoints = () =>
    tsdbs.tenants().map((t) => {
      const range = tenantTimeRange(t);
      const info: StoreInfo = {
        labelSets: [t.labels],
        minTime: range.minTime,
        maxTime: range.maxTime,
        componentType: 'receive',
        supportsWithoutReplicaLabels: true,
        // Each tenant's store (createLocalStore) keeps only the requested shard's series itself.
        supportsSharding: true,
      };
      return { name: `tenant ${t.tenant}`, store: t.store, info };
    });
  const proxy = createProxyStore({ endpoints, componentType: 'receive' });
  // A request whose matchers or time range rule out every tenant has an empty answer, not a
  // warning: Thanos's proxy only logs that at debug level, and the querier above says it itself.
  const isNoMatch = (w: string): boolean => {
    if (!w.startsWith(NO_STORES_MATCHED)) return false;
    log.debug('no tenant matched a store request', { warning: w });
    return true;
  };
  const store: StoreAPI = {
    async info(): Promise<StoreInfo> {
      const eps = endpoints();
      // An empty receiver still advertises every time: data may arrive before a querier's next Info round.
      const min = eps.length === 0 ? MIN_TIME : eps.reduce((m, e) => Math.min(m, e.info.minTime), MAX_TIME);
      return {
        labelSets: eps.map((e) => e.info.labelSets[0] as Labels),
        minTime: min,
        maxTime: MAX_TIME,
        componentType: 'receive',
        supportsWithoutReplicaLabels: true,
        supportsSharding: true,
        tsdbInfos: eps.map((e) => ({
          labels: e.info.labelSets[0] as Labels,
          minTime: e.info.minTime,
          maxTime: MAX_TIME,
        })),
      };
    },
    async *series(req: SeriesRequest, signal?: AbortSignal): AsyncGenerator<SeriesResponse> {
      // No tenant yet means no data, not a warning about missing stores.
      if (tsdbs.tenants().length === 0) return;
      for await (const msg of proxy.series(req, signal)) {
        if (msg.type === 'warning' && isNoMatch(msg.warning)) continue;
        yield msg;
      }
    },
    async labelNames(req: LabelNamesRequest, signal?: AbortSignal): Promise<LabelNamesResponse> {
      if (tsdbs.tenants().length === 0) return { names: [], warnings: [] };
      const r = await proxy.labelNames(req, signal);
      return { ...r, warnings: r.warnings.filter((w) => !isNoMatch(w)) };
    },
    async labelValues(req: LabelValuesRequest, signal?: AbortSignal): Promise<LabelValuesResponse> {
      if (tsdbs.tenants().length === 0) return { values: [], warnings: [] };
      const r = await proxy.labelValues(req, signal);
      return { ...r, warnings: r.warnings.filter((w) => !isNoMatch(w)) };
    },
  };

  // What queriers reach (gRPC and in-process): the tenants' stores behind Thanos's Series limits.
  const limitedStore = limitStoreSeries(store, { ...opts.storeLimits, registry });

  const served = {
    registry,
    ready: () => isReady,
    tracer,
    handlers: [receiveRoute],
    grpc: (server: Parameters<typeof serveStoreAPI>[1]) => {
      serveStoreAPI(limitedStore, server, { tracer });
      serveWriteable(
        server,
        (req) => {
          if (!isReady) return Promise.reject(new WriteError('unavailable', 'target not ready'));
          return router.write(splitTenants(req.data, splitLabel), req.replica);
        },
        tracer,
      );
    },
  };
  const baseHandler = componentHandler(served);
  const handler: RequestHandler = async (req, res) => (await readyRoute(req, res)) || baseHandler(req, res);

  let servers: BoundServers | undefined;
  let rwServer: ListeningHTTPServer | undefined;
  let httpServer: ListeningHTTPServer | undefined;
  let watcher: FSWatcher | undefined;
  const timers: NodeJS.Timeout[] = [];
  let flushing: Promise<unknown> = Promise.resolve();

  async function flush(signal?: AbortSignal): Promise<{ blocks: number; uploaded: number }> {
    const run = flushing.then(() => tsdbs.flush(signal));
    flushing = run.catch(() => undefined);
    try {
      const r = await run;
      setDegraded('flush', undefined);
      if (r.blocks > 0 || r.uploaded > 0) log.info('flushed heads', r);
      return r;
    } catch (err) {
      flushFailures.inc();
      setDegraded('flush', `head compaction or upload: ${(err as Error).message}`);
      log.error('flush heads and ship blocks', { err: (err as Error).message });
      throw err;
    }
  }

  const retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
  const blockDurationMs = opts.blockDurationMs ?? DEFAULT_BLOCK_DURATION;

  // Aborted by close(), so a scheduled prune stops between tenants and uploads instead of
  // holding the shutdown (an interrupted tenant is re-opened from disk; nothing is lost).
  const background = new AbortController();

  async function prune(signal?: AbortSignal): Promise<PruneResult> {
    // After a running flush (and before the next): both compact and ship the same TSDBs.
    const run = flushing.then(() => tsdbs.prune(now(), signal));
    flushing = run.catch(() => undefined);
    const started = performance.now();
    try {
      const r = await run;
      setDegraded('prune', undefined);
      prunedTenants.inc(r.pruned.length);
      log.info('pruning job completed', {
        pruned_tenants_count: r.pruned.length,
        pruned_tenants: r.pruned.join(','),
        flushed_tenants: r.flushed.join(','),
        took_seconds: (performance.now() - started) / 1000,
      });
      return r;
    } catch (err) {
      const failed = err instanceof AggregateError ? err.errors.length : 1;
      pruneFailures.inc(failed);
      setDegraded('prune', `prune idle tenants: ${(err as Error).message}`);
      log.error('prune idle tenants', { err: (err as Error).message });
      throw err;
    }
  }

  // Thanos's receive.go: a check every minute that prunes when the wall-clock minute of the day
  // is a multiple of two block durations (every 4h at 00:00, 04:00, … with 2h blocks).
  function pruneScheduled(): void {
    const intervalMin = Math.floor((2 * blockDurationMs) / 60_000);
    const d = new Date(now());
    const minuteOfDay = d.getUTCHours() * 60 + d.getUTCMinutes();
    // Go would divide by zero under a minute; run every minute instead.
    if (intervalMin > 0 && minuteOfDay % intervalMin !== 0) return;
    void prune(background.signal).catch(() => {});
  }

  const lifecycle = createLifecycle('receiver', {
    async start(signal) {
      await reloadHashrings();
      signal.throwIfAborted();
      await tsdbs.openExisting();
      signal.throwIfAborted();
      // HTTP is bound here rather than by bindServers so /-/ready can say why it is not ready.
      servers = await bindServers({ ...opts, httpAddress: undefined }, served, log);
      if (opts.httpAddress !== undefined)
        httpServer = await serveComponentHTTP(handler, opts.httpAddress, opts, log, 'receive');
      if (opts.remoteWriteAddress !== undefined) {
        const grace = opts.httpGracePeriodMs ?? 120_000;
        rwServer = opts.remoteWriteServerTLS
          ? await listenHTTPS(opts.remoteWriteAddress, handler, opts.remoteWriteServerTLS, grace, log)
          : await listenHTTP(opts.remoteWriteAddress, handler, { gracePeriodMs: grace });
        log.info('listening for remote write', {
          address: rwServer.address,
          path: REMOTE_WRITE_PATH,
          tls: opts.remoteWriteServerTLS !== undefined,
        });
      }
      // The ingest workers start once the receiver serves: requests decode on the main thread
      // until they are online. Starting them during the WAL replay took a core from it (the
      // replay runs on two threads), and awaiting them delayed readiness for no sample.
      pool = makePool();
      poolStarting = pool?.start().then(
        () => {
          poolOnline = !closed;
        },
        (err: unknown) => {
          if (!closed)
            log.warn('ingest workers did not start; decoding remote writes on the main thread', {
              err: (err as Error).message,
            });
        },
      );
      if (opts.hashringsFile) {
        const file = opts.hashringsFile;
        let debounce: NodeJS.Timeout | undefined;
        // The directory, not the file: Kubernetes swaps ConfigMap files by renaming a symlink.
        watcher = watch(dirname(file), (_event, name) => {
          if (name !== null && name !== basename(file) && !name.startsWith('..')) return;
          clearTimeout(debounce);
          debounce = setTimeout(() => void reloadHashrings().catch(() => {}), 100);
        });
        watcher.on('error', (err) => log.warn('watch hashrings file', { file, err: err.message }));
        timers.push(
          setInterval(
            () => void reloadHashrings().catch(() => {}),
            opts.hashringsFileRefreshIntervalMs ?? 300_000,
          ).unref(),
        );
      }
      const every = opts.flushIntervalMs ?? 30_000;
      if (every > 0) timers.push(setInterval(() => void flush().catch(() => {}), every).unref());
      if (every > 0 && retentionMs > 0) timers.push(setInterval(pruneScheduled, 60_000).unref());
      isReady = true;
    },
    async stop() {
      isReady = false;
      closed = true;
      for (const t of timers) clearInterval(t);
      background.abort();
      watcher?.close();
      await Promise.all([servers?.close(), rwServer?.close(), httpServer?.close()]);
      for (const p of peers.values()) p.close();
      await flushing;
      // Closing the pool also ends a start still under way (its workers exit before online).
      poolOnline = false;
      await pool?.close();
      await poolStarting;
      await tsdbs.close();
    },
  });

  return {
    ...limitedStore,
    ...lifecycle,
    handler,
    writeHandler,
    otlpHandler,
    write: async (request) => {
      const tenant = request.tenant ?? defaultTenant;
      validateTenant(tenant);
      if (closed) throw new WriteError('unavailable', 'receiver closed');
      await ingest(tenant, request.timeseries, 0);
    },
    flush,
    prune,
    tenants: () => tsdbs.tenants().map((t) => t.tenant),
    registry,
    ready: () => isReady,
    get httpAddress() {
      return httpServer?.address;
    },
    get grpcAddress() {
      return servers?.grpcAddress;
    },
    get remoteWriteAddress() {
      return rwServer?.address;
    },
  };
}
