import { glob, readFile, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
import type { Bucket } from '@thanos-ts/objstore';
import { type DB, Labels, openDB, type Queryable } from '@thanos-ts/tsdb';
import { createUIHandler } from '@thanos-ts/ui';
import { Counter, type Registry } from 'prom-client';
import { uploadBlock } from '../block/upload.js';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
} from '../component/component.js';
import { serveComponentHTTP } from '../component/http-server.js';
import { type BoundServers, bindServers, componentHandler } from '../component/serve.js';
import type { DNSResolver } from '../discovery/dns.js';
import type { ListeningHTTPServer } from '../http/http-server.js';
import type { RequestHandler } from '../http/query-api.js';
import { SHIPPER_META_FILENAME } from '../sidecar/shipper.js';
import type { RelabelRule } from '../store/relabel.js';
import { serveStoreAPI } from '../storeapi/grpc-server.js';
import { createLocalStore } from '../storeapi/local-store.js';
import type { StoreAPI } from '../storeapi/store-api.js';
import { createRulesAPIHandler } from './api.js';
import {
  type AlertmanagerEndpointConfig,
  buildAlertmanagerConfig,
  buildQueryConfigFromAddresses,
  createEndpointGroup,
  createHTTPClient,
  type EndpointGroup,
  type HTTPClient,
  type HTTPClientConfig,
  type HTTPEndpointsConfig,
  type QueryEndpointConfig,
} from './clients.js';
import { RuleFileError, RuleQueryError } from './errors.js';
import { RuleGroup } from './group.js';
import { createRuleMetrics, type RuleMetrics } from './metrics.js';
import { type AlertmanagerSet, createNotifier } from './notifier.js';
import {
  failoverQueryFunc,
  failoverRestoreQueryable,
  type QueryEndpointSet,
  type RuleQueryFunc,
} from './query-func.js';
import { createRemoteWriter, type RemoteWriteConfig, type RemoteWriter } from './remote-write.js';
import { type RuleGroupConfig, readRuleFile } from './rule-file.js';
import {
  type RulesGroup,
  type RulesRequestType,
  rulerRuleGroups,
  serveRulesAPI,
  withRulesInfo,
} from './rules-service.js';

/** Options of {@link createRuler}. */
export interface RulerOptions extends ComponentOptions, ServingOptions {
  /** Rule files or globs (--rule-file, repeatable). A glob matching nothing adds no file. */
  ruleFiles: readonly string[];
  /** Directory of the ruler's TSDB (--data-dir). */
  dataDir: string;
  /** Interval of groups that set none, ms (--eval-interval). Default 60_000. */
  evalIntervalMs?: number;
  /** Query offset of groups that set none, ms (--rule-query-offset). Default 0. */
  queryOffsetMs?: number;
  /**
   * Remote-write receivers (--remote-write.config, from `parseRemoteWriteConfig`). Non-empty makes
   * the ruler stateless, as Thanos: rule results are sent there (with the external labels) instead
   * of a local TSDB, so no blocks are written or uploaded and the StoreAPI serves no series.
   * Default none: the ruler keeps its own TSDB.
   */
  remoteWrite?: readonly RemoteWriteConfig[];
  /**
   * Step of the range queries a stateless ruler sends its query API servers to restore `for`
   * state, ms (--query.default-step). Default 1_000. Unused with a local TSDB or an in-process
   * `query` (then nothing is restored).
   */
  queryDefaultStepMs?: number;
  /** Labels dropped from those answers before matching alerts (--restore-ignored-label). Default none. */
  restoreIgnoredLabels?: readonly string[];
  /** Labels of this ruler (--label): on its StoreAPI series, uploaded blocks and sent alerts. Default none. */
  externalLabels?: Record<string, string>;
  /** In-process evaluation (an embedded querier via `querierQueryFunc`). Takes precedence over `queryURLs`. */
  query?: RuleQueryFunc;
  /**
   * Prometheus-compatible query API addresses (--query): `host:port`, `http(s)://host:port/prefix`,
   * `dns+host:port`, `dnssrv+_http._tcp.name`. With the other query sources, tried in random order
   * until one answers (Thanos's failover).
   */
  queryURLs?: readonly string[];
  /** File SD files or globs of query API addresses (--query.sd-files). Default none. */
  querySDFiles?: readonly string[];
  /** File SD re-read interval without file events, ms (--query.sd-interval). Default 300_000. */
  querySDIntervalMs?: number;
  /** DNS re-resolution interval of query addresses, ms (--query.sd-dns-interval). Default 30_000. */
  queryDNSIntervalMs?: number;
  /** Query endpoint sets from --query.config; replaces `queryURLs` and `querySDFiles`. */
  queryConfig?: readonly QueryEndpointConfig[];
  /** HTTP method for the query API (--query.http-method). Default 'POST'. */
  queryHttpMethod?: 'GET' | 'POST';
  /**
   * Alertmanager URLs (--alertmanagers.url): `http://am:9093/prefix`, `dns+http://am:9093`,
   * `dnssrv+http://_web._tcp.am`; user info is basic auth. Default none: alerts are evaluated but not sent.
   */
  alertmanagerURLs?: readonly string[];
  /** Alertmanager sets from --alertmanagers.config; replaces `alertmanagerURLs`. */
  alertmanagersConfig?: readonly AlertmanagerEndpointConfig[];
  /** DNS re-resolution interval of Alertmanager addresses, ms (--alertmanagers.sd-dns-interval). Default 30_000. */
  alertmanagersDNSIntervalMs?: number;
  /** Timeout of one send to an Alertmanager given by URL, ms (--alertmanagers.send-timeout). Default 10_000. */
  alertmanagerSendTimeoutMs?: number;
  /** Relabel rules applied to alerts before sending, after --alert.label-drop (--alert.relabel-config). Default none. */
  alertRelabelConfig?: readonly RelabelRule[];
  /** DNS resolver for `dns+` / `dnssrv+` addresses (tests). Default: the system's. */
  resolver?: DNSResolver;
  /** Base of alerts' generatorURL (--alert.query-url). Default: this ruler's HTTP address. */
  alertQueryURL?: string;
  /** Labels dropped from alerts before sending (--alert.label-drop). Default none. */
  alertLabelDrop?: readonly string[];
  /** Least time between resends of a firing alert, ms (--resend-delay). Default 60_000. */
  resendDelayMs?: number;
  /** Alerts with `for` shorter than this are not restored; restored ones fire no sooner than this, ms (--for-grace-period). Default 600_000. */
  forGracePeriodMs?: number;
  /** Longest outage for which `for` state is restored, ms (--for-outage-tolerance). Default 3_600_000. */
  forOutageToleranceMs?: number;
  /** Bucket to upload the ruler's blocks to (--objstore.config-file). Default: none, blocks stay local. */
  bucket?: Bucket;
  /** Local block retention, ms (--tsdb.retention). Default 172_800_000 (48h), as Thanos; 0 keeps all. */
  tsdbRetentionMs?: number;
  /** Block duration, ms (--tsdb.block-duration). Default 7_200_000 (2h). */
  tsdbBlockDurationMs?: number;
  /** How often the head is cut into blocks and blocks are shipped, ms. Default 60_000; 0 only at close. */
  shipIntervalMs?: number;
  /** Consecutive evaluations of a group in which every rule failed before the ruler reports not ready. Default 3; 0 never. */
  failedEvaluationsBeforeNotReady?: number;
}

/** A ruler (Thanos's `rule`): evaluates rule files, writes a TSDB served as a StoreAPI, sends alerts. */
export interface Ruler extends StoreAPI, Lifecycle {
  /** Opens the TSDB, loads the rule files (rejecting on invalid ones), binds servers and starts evaluating. */
  start(signal?: AbortSignal): Promise<void>;
  /** Stops evaluating, flushes sends, cuts and ships blocks, closes the TSDB. Idempotent. */
  close(): Promise<void>;
  /** Re-reads the rule files; alert state of unchanged rules is kept. Rejects (keeping the old rules) on invalid files. */
  reload(): Promise<void>;
  /** Running groups. */
  groups(): readonly RuleGroup[];
  /** The groups as the Rules API answers them (rule labels with external labels), filtered by type. Default 'ALL'. */
  ruleGroups(type?: RulesRequestType): RulesGroup[];
  /** Whether started and not degraded by failing evaluations. */
  ready(): boolean;
  /** Why the ruler is not ready, or undefined. */
  notReadyReason(): string | undefined;
  /** HTTP endpoints: /metrics, /-/healthy, /-/ready, /-/reload, /api/v1/rules, /api/v1/alerts. */
  readonly handler: RequestHandler;
  readonly registry: Registry;
  readonly metrics: RuleMetrics;
  readonly httpAddress: string | undefined;
  readonly grpcAddress: string | undefined;
  /** The ruler's TSDB once started. */
  readonly db: DB | undefined;
}

/** Expands --rule-file globs into a sorted, de-duplicated file list. */
export async function expandRuleFiles(patterns: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of patterns) {
    if (!/[*?[]/.test(p)) {
      out.add(p);
      continue;
    }
    for await (const f of glob(p)) out.add(f);
  }
  return [...out].sort();
}

/** Creates a ruler; no I/O until `start`. */
export function createRuler(opts: RulerOptions): Ruler {
  const { logger, registry, now, tracer } = resolveComponentOptions(opts);
  const metrics = createRuleMetrics(registry);
  const externalLabels = opts.externalLabels ?? {};
  const failLimit = opts.failedEvaluationsBeforeNotReady ?? 3;
  let db: DB | undefined;
  const writer: RemoteWriter | undefined =
    (opts.remoteWrite?.length ?? 0) > 0
      ? createRemoteWriter({ configs: opts.remoteWrite ?? [], externalLabels, registry, logger })
      : undefined;
  let servers: BoundServers | undefined;
  let http: ListeningHTTPServer | undefined;
  let groups = new Map<string, RuleGroup>();
  let started = false;
  let loadedOnce = false;
  let reloading: Promise<void> = Promise.resolve();
  const failingRounds = new Map<string, number>();
  let shipTimer: NodeJS.Timeout | undefined;
  let shipping: Promise<void> = Promise.resolve();

  const dbQueryable: Queryable = {
    select: (m, h, s) => (db ? db.queryable().select(m, h, s) : Promise.resolve([])),
    labelNames: (m, h, s) => (db ? db.queryable().labelNames(m, h, s) : Promise.resolve([])),
    labelValues: (n, m, h, s) => (db ? db.queryable().labelValues(n, m, h, s) : Promise.resolve([])),
  };
  const store = createLocalStore({
    queryable: dbQueryable,
    externalLabels: Labels.from(externalLabels),
    componentType: 'rule',
  });

  // Endpoint configs are checked here (no I/O); groups and clients are made in start().
  const queryConfigs: QueryEndpointConfig[] = opts.query
    ? []
    : opts.queryConfig
      ? [...opts.queryConfig]
      : [
          ...buildQueryConfigFromAddresses(opts.queryURLs ?? []),
          ...((opts.querySDFiles ?? []).length > 0
            ? [
                {
                  httpConfig: {},
                  endpoints: {
                    staticAddresses: [],
                    fileSDConfigs: [
                      { files: [...(opts.querySDFiles ?? [])], refreshIntervalMs: opts.querySDIntervalMs ?? 300_000 },
                    ],
                    scheme: 'http' as const,
                    pathPrefix: '',
                  },
                },
              ]
            : []),
        ];
  const amConfigs: AlertmanagerEndpointConfig[] = opts.alertmanagersConfig
    ? [...opts.alertmanagersConfig]
    : (opts.alertmanagerURLs ?? []).map((u) => buildAlertmanagerConfig(u, opts.alertmanagerSendTimeoutMs ?? 10_000));
  const querySets: QueryEndpointSet[] = [];
  const amSets: AlertmanagerSet[] = [];
  const endpointGroups: EndpointGroup[] = [];
  const clients: HTTPClient[] = [];
  const duplicatedQuery = new Counter({
    name: 'thanos_rule_duplicated_query_addresses_total',
    help: 'The number of times a duplicated query addresses is detected from the different configs in rule.',
    registers: [registry],
  });

  const query: RuleQueryFunc =
    opts.query ??
    (() => {
      const f = failoverQueryFunc({
        sets: querySets,
        method: opts.queryHttpMethod ?? 'POST',
        logger,
        onDuplicate: () => duplicatedQuery.inc(),
      });
      return (expr, t, q) => {
        if (queryConfigs.length === 0)
          return Promise.reject(
            new RuleQueryError('no query endpoint configured (--query, --query.sd-files, --query.config)'),
          );
        return f(expr, t, q);
      };
    })();

  async function startEndpoints(): Promise<void> {
    const make = (
      endpoints: HTTPEndpointsConfig,
      httpConfig: HTTPClientConfig,
      name: string,
      dnsIntervalMs: number,
    ) => {
      const client = createHTTPClient(httpConfig);
      clients.push(client);
      const group = createEndpointGroup({
        endpoints,
        name,
        dnsIntervalMs,
        logger,
        ...(opts.resolver ? { resolver: opts.resolver } : {}),
      });
      endpointGroups.push(group);
      return { client, group };
    };
    for (const c of queryConfigs)
      querySets.push(make(c.endpoints, c.httpConfig, 'query', opts.queryDNSIntervalMs ?? 30_000));
    for (const c of amConfigs) {
      const { client, group } = make(
        c.endpoints,
        c.httpConfig,
        'alertmanager',
        opts.alertmanagersDNSIntervalMs ?? 30_000,
      );
      amSets.push({ urls: () => group.urls(), client, timeoutMs: c.timeoutMs, apiVersion: c.apiVersion });
    }
    if (amConfigs.length === 0) logger.warn('no alertmanager configured');
    await Promise.all(endpointGroups.map((g) => g.start()));
  }

  // Stateless: `for` state comes back from the query API servers (Thanos's promClientsQueryable);
  // otherwise from the ruler's own TSDB.
  const restoreQueryable: Queryable =
    writer && !opts.query
      ? failoverRestoreQueryable({
          sets: querySets,
          method: opts.queryHttpMethod ?? 'POST',
          stepMs: opts.queryDefaultStepMs ?? 1000,
          ignoredLabels: opts.restoreIgnoredLabels ?? [],
          logger,
        })
      : dbQueryable;

  let httpAddress: string | undefined;
  const notifier = createNotifier({
    sets: amSets,
    ...(opts.alertmanagerSendTimeoutMs !== undefined ? { sendTimeoutMs: opts.alertmanagerSendTimeoutMs } : {}),
    externalLabels,
    dropLabels: opts.alertLabelDrop ?? [],
    ...(opts.alertRelabelConfig ? { relabel: opts.alertRelabelConfig } : {}),
    get queryURL() {
      return opts.alertQueryURL ?? (httpAddress ? `http://${httpAddress}` : '');
    },
    metrics,
    logger,
  });

  function notReadyReason(): string | undefined {
    if (!started) return 'not started';
    if (failLimit <= 0) return undefined;
    const bad = [...failingRounds].filter(([, n]) => n >= failLimit).map(([k]) => k);
    if (bad.length > 0) return `rule evaluations failing in groups: ${bad.join(', ')}`;
    return undefined;
  }

  function newGroup(cfg: RuleGroupConfig, restore: boolean): RuleGroup {
    return new RuleGroup(
      cfg,
      {
        query,
        appender: () => {
          if (writer) return writer.appender();
          if (!db) throw new Error('ruler tsdb is not open');
          return db.appender();
        },
        queryable: restoreQueryable,
        externalLabels,
        get externalURL() {
          return opts.alertQueryURL ?? (httpAddress ? `http://${httpAddress}` : '');
        },
        defaultIntervalMs: opts.evalIntervalMs ?? 60_000,
        defaultQueryOffsetMs: opts.queryOffsetMs ?? 0,
        forGracePeriodMs: opts.forGracePeriodMs ?? 600_000,
        forOutageToleranceMs: opts.forOutageToleranceMs ?? 3_600_000,
        resendDelayMs: opts.resendDelayMs ?? 60_000,
        notify: (alerts, expr) => notifier.send(alerts, expr),
        onEvaluated: (g, failed) => {
          const wasReady = notReadyReason() === undefined;
          if (failed > 0 && failed === g.rules.length) failingRounds.set(g.key, (failingRounds.get(g.key) ?? 0) + 1);
          else failingRounds.delete(g.key);
          const reason = notReadyReason();
          metrics.evaluationsFailing.set(reason && started ? 1 : 0);
          if (wasReady && reason) logger.error('ruler not ready: rule evaluations keep failing', { reason });
          if (!wasReady && !reason && started) logger.info('rule evaluations recovered; ruler ready again');
        },
        metrics,
        logger,
        tracer,
        now,
      },
      restore,
    );
  }

  async function load(): Promise<void> {
    const files = await expandRuleFiles(opts.ruleFiles);
    const configs: RuleGroupConfig[] = [];
    const problems: RuleFileError[] = [];
    for (const f of files) {
      try {
        configs.push(...(await readRuleFile(f)));
      } catch (err) {
        if (err instanceof RuleFileError) problems.push(err);
        else throw err;
      }
    }
    if (problems.length > 0) {
      metrics.configLastReloadSuccessful.set(0);
      const first = problems[0] as RuleFileError;
      throw new RuleFileError(
        first.file,
        problems.flatMap((p) => (p === first ? p.errors : p.errors.map((e) => `(${p.file}) ${e}`))),
      );
    }
    // Prometheus restores `for` state only for groups loaded at startup.
    const restore = !loadedOnce;
    const next = new Map<string, RuleGroup>();
    const toStart: RuleGroup[] = [];
    const toStop: RuleGroup[] = [];
    for (const cfg of configs) {
      const g = newGroup(cfg, restore);
      const old = groups.get(g.key);
      if (old?.equals(g)) {
        next.set(g.key, old);
        continue;
      }
      if (old) {
        await old.stop();
        g.copyState(old);
      }
      next.set(g.key, g);
      toStart.push(g);
    }
    for (const [k, g] of groups) if (!next.has(k)) toStop.push(g);
    for (const g of toStop) {
      await g.stop();
      await g.markStale(now());
      failingRounds.delete(g.key);
    }
    groups = next;
    loadedOnce = true;
    for (const g of toStart) g.start();
    metrics.configLastReloadSuccessful.set(1);
    metrics.configLastReloadSuccessTimestamp.set(now() / 1000);
    logger.info('rule files loaded', { files: files.length, groups: groups.size });
  }

  function reload(): Promise<void> {
    // One reload at a time; a reload during another waits for it.
    reloading = reloading.catch(() => {}).then(load);
    return reloading;
  }

  async function ship(): Promise<void> {
    if (!db) return;
    const result = await db.compactHead();
    if (!opts.bucket) return;
    if (Object.keys(externalLabels).length === 0) {
      if (result.blocks.length > 0) logger.warn('not uploading blocks: the ruler has no external labels (--label)');
      return;
    }
    const stateFile = join(opts.dataDir, SHIPPER_META_FILENAME);
    let uploaded: string[] = [];
    try {
      uploaded = (JSON.parse(await readFile(stateFile, 'utf8')) as { uploaded?: string[] }).uploaded ?? [];
    } catch {
      // No shipper state yet.
    }
    const done = new Set(uploaded);
    for (const b of db.blocks()) {
      const id = b.meta.ulid;
      if (done.has(id)) continue;
      await uploadBlock(opts.bucket, join(opts.dataDir, id), { labels: externalLabels, source: 'ruler', meta: b.meta });
      done.add(id);
      logger.info('uploaded block', { block: id });
      await writeFile(stateFile, JSON.stringify({ version: 1, uploaded: [...done].sort() }, null, 1));
    }
  }

  function shipSafely(): Promise<void> {
    shipping = shipping.then(() =>
      ship().catch((err: unknown) => logger.error('shipping blocks failed', { err: (err as Error).message })),
    );
    return shipping;
  }

  const reloadHandler: RequestHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/-/reload') return false;
    if (req.method !== 'POST' && req.method !== 'PUT') {
      res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Only POST or PUT requests allowed\n');
      return true;
    }
    try {
      await reload();
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('');
    } catch (err) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`failed to reload config: ${(err as Error).message}\n`);
    }
    return true;
  };
  const inner = componentHandler({
    registry,
    tracer,
    ready: () => notReadyReason() === undefined,
    handlers: [
      reloadHandler,
      createRulesAPIHandler(() => [...groups.values()]),
      createUIHandler({ pages: ['rules', 'alerts'], title: 'thanos-ts rule' }),
    ],
  });
  const handler: RequestHandler = async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const reason = notReadyReason();
    if (path === '/-/ready' && reason !== undefined) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`NOT READY: ${reason}\n`);
      return true;
    }
    return inner(req, res);
  };

  /** The ruler's gRPC services: StoreAPI, Rules, and an Info answer that advertises both. */
  function serveGrpc(server: Server): void {
    serveRulesAPI(server, (type) => rulerRuleGroups([...groups.values()], externalLabels, type));
    serveStoreAPI(store, server, { tracer, extendInfo: withRulesInfo });
  }

  const lifecycle = createLifecycle('ruler', {
    async start(signal) {
      if (writer)
        logger.info('remote write enabled: stateless mode, rule results are not stored locally', {
          receivers: (opts.remoteWrite ?? []).map((c) => c.url),
        });
      else
        db = await openDB({
          dir: opts.dataDir,
          blockDurationMs: opts.tsdbBlockDurationMs ?? 7_200_000,
          retentionMs: opts.tsdbRetentionMs ?? 172_800_000,
          logger,
        });
      signal.throwIfAborted();
      await startEndpoints();
      if (opts.httpAddress !== undefined) {
        http = await serveComponentHTTP(handler, opts.httpAddress, opts, logger, 'rule');
        httpAddress = http.address;
      }
      servers = await bindServers(
        { ...opts, httpAddress: undefined },
        { registry, ready: () => notReadyReason() === undefined, grpc: serveGrpc },
        logger,
      );
      signal.throwIfAborted();
      await reload();
      started = true;
      const every = opts.shipIntervalMs ?? 60_000;
      if (every > 0 && !writer) {
        shipTimer = setInterval(() => void shipSafely(), every);
        shipTimer.unref();
      }
    },
    async stop() {
      started = false;
      clearInterval(shipTimer);
      await reloading.catch(() => {});
      await Promise.all([...groups.values()].map((g) => g.stop()));
      await notifier.flush();
      // The last evaluations' samples (and stale markers) go out within the HTTP grace period.
      await writer?.close(opts.httpGracePeriodMs ?? 120_000);
      for (const g of endpointGroups) g.close();
      endpointGroups.length = 0;
      querySets.length = 0;
      amSets.length = 0;
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await Promise.all([http?.close(), servers?.close()]);
      await shipping;
      if (db) {
        await shipSafely();
        await db.close();
      }
    },
  });

  return {
    ...lifecycle,
    info: (s) => store.info(s),
    series: (r, s) => store.series(r, s),
    labelNames: (r, s) => store.labelNames(r, s),
    labelValues: (r, s) => store.labelValues(r, s),
    reload,
    groups: () => [...groups.values()],
    ruleGroups: (type = 'ALL') => rulerRuleGroups([...groups.values()], externalLabels, type),
    ready: () => notReadyReason() === undefined,
    notReadyReason,
    handler,
    registry,
    metrics,
    get httpAddress() {
      return http?.address;
    },
    get grpcAddress() {
      return servers?.grpcAddress;
    },
    get db() {
      return db;
    },
  };
}
