import { createEvaluationPool, type EvaluationPool } from '@thanos-ts/promql';
import { createUIHandler, type UIRequestHandler } from '@thanos-ts/ui';
import { Gauge, type Registry } from 'prom-client';
import {
  type ComponentOptions,
  createLifecycle,
  type Lifecycle,
  resolveComponentOptions,
  type ServingOptions,
  untilAborted,
} from '../component/component.js';
import { type BoundServers, bindServers, componentHandler } from '../component/serve.js';
import { availableCores } from '../concurrency/cores.js';
import type { DNSResolver } from '../discovery/dns.js';
import { createEndpointDiscovery } from '../discovery/endpoint-discovery.js';
import { instrumentHandler } from '../http/instrument.js';
import { type BuildInfo, createQueryAPIHandler, type RequestHandler } from '../http/query-api.js';
import { createInfoAPIsEndpointSet } from '../infoapis/endpoints.js';
import { createInfoAPIsFanout } from '../infoapis/fanout.js';
import { createInfoAPIsHandler } from '../infoapis/http.js';
import { createStatusHandler } from '../infoapis/status.js';
import { serveStoreAPI } from '../storeapi/grpc-server.js';
import type { StoreAPI } from '../storeapi/store-api.js';
import type { GrpcClientTLSOptions } from '../tls/grpc-tls.js';
import { storeSeriesDecoder } from './encoded-series.js';
import { createEndpointSet, type NamedStore } from './endpoint-set.js';
import { createQueryCore, type QueryCore, type QueryCoreOptions } from './query-core.js';
import { createRulesFanout, localRulesEndpoint, type RulesEndpoint } from './rules-fanout.js';

/** Options of {@link createQuerier}. Durations are ms. */
export interface QuerierOptions extends QueryCoreOptions, ComponentOptions, ServingOptions {
  /**
   * StoreAPIs to query: in-process objects, named ones, or addresses (--endpoint): `host:port`,
   * `dns+host:port`, `dnssrv+name`, `dnssrvnoa+name`, re-resolved every `dnsIntervalMs`.
   */
  endpoints?: readonly (StoreAPI | NamedStore | string)[];
  /** File SD files listing endpoint addresses (--store.sd-files), watched and re-read. */
  fileSDFiles?: readonly string[];
  /** File SD re-read interval, ms (--store.sd-interval). Default 300_000. */
  fileSDIntervalMs?: number;
  /** DNS re-resolution interval, ms (--store.sd-dns-interval). Default 30_000. */
  dnsIntervalMs?: number;
  /** Resolver for dns+/dnssrv+ addresses. Default: the system's. */
  resolver?: DNSResolver;
  /** TLS for dialled endpoints (--grpc-client-tls-*). */
  tls?: GrpcClientTLSOptions;
  /** Step of range queries sent without one, ms (--query.default-step). Default 1_000. */
  defaultStepMs?: number;
  /** What /api/v1/status/buildinfo reports. */
  buildInfo?: Partial<BuildInfo>;
  /**
   * Most worker threads evaluating PromQL (and decoding the fetched chunks) off the event loop,
   * so one heavy query never delays other requests or health checks. Available cores + 1 are
   * started with the querier; more start while queries wait for one and stop after a minute
   * idle, so a light query runs beside heavy ones instead of queueing behind them. Default:
   * maxConcurrent (--query.max-concurrent, 20); 0 evaluates on the event loop (as before
   * thanos-ts had workers; for tiny embedded uses).
   */
  evaluationWorkers?: number;
  /**
   * Most heavy queries (steps × fetched series ≥ 50,000) evaluated at once; a further heavy one
   * waits for one to end, while lighter ones never wait (see the evaluation pool's
   * `maxHeavyRunning`). Default: the cores + 1 (availableCores: the CPU affinity bounded by a
   * cgroup CPU quota).
   */
  maxHeavyEvaluations?: number;
  /**
   * External URL of this querier (--alert.query-url): the rules and alerts pages link rule and
   * alert expressions to `<alertQueryURL>/graph`. Default `http://localhost:<port of the bound
   * HTTP address>` (Thanos takes the port of --http-address), or `http://localhost:10902` when not
   * serving HTTP itself.
   */
  alertQueryURL?: string;
  /**
   * The command-line flags to show at `/api/v1/status/flags` (name without `--` → value), as
   * Thanos's querier shows its flags. Default: none (an embedded querier has no command line).
   */
  statusFlags?: Readonly<Record<string, string>>;
  /**
   * Path the API and pages are served under (--web.route-prefix), e.g. `/thanos`; `/` and
   * `/thanos` itself redirect to `/thanos/graph`. /metrics and /-/* stay at the root.
   * Default: `externalPrefix` (Thanos); '' is the root.
   */
  routePrefix?: string;
  /**
   * Prefix of the pages' links and API calls (--web.external-prefix), for a reverse proxy that
   * strips it before forwarding. Default '': links under `routePrefix`.
   */
  externalPrefix?: string;
  /**
   * Request header naming the links' prefix per request (--web.prefix-header, e.g.
   * `X-Forwarded-Prefix`); ignored when `externalPrefix` is set. Default '': none.
   */
  prefixHeader?: string;
}

/** `/x/` → `/x`, `/` and '' → '' (Thanos trims slashes and serves the root as ''). */
function normalizePrefix(p: string | undefined): string {
  const trimmed = (p ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

/** Distinct link prefixes kept with their own page handler; past this, the least recent one is dropped. */
const MAX_LINK_PREFIXES = 16;

/**
 * Thanos's querier: PromQL over every matching StoreAPI, merged and deduplicated, with the
 * Prometheus HTTP API, and itself a StoreAPI (over gRPC when `grpcAddress` is set).
 */
export interface Querier extends QueryCore, Lifecycle {
  /**
   * The HTTP API (/api/v1/*, /metrics, /-/healthy, /-/ready) and the web pages (/, /graph,
   * /stores, /rules, /alerts) as a request handler, to mount in
   * an existing node:http server; resolves false for paths it does not serve.
   */
  readonly handler: RequestHandler;
  /** The metrics registry (the one given, or the querier's own). */
  readonly registry: Registry;
  /** Bound HTTP address (host:port) once started with `httpAddress`. */
  readonly httpAddress: string | undefined;
  /** Bound gRPC address (host:port) once started with `grpcAddress`. */
  readonly grpcAddress: string | undefined;
  /** True once started and until closed (/-/ready). */
  ready(): boolean;
}

/**
 * Creates a querier; no I/O until `start()`, which resolves endpoints (awaiting the first health
 * round), then binds the servers asked for.
 */
export function createQuerier(opts: QuerierOptions = {}): Querier {
  const { logger, registry, tracer } = resolveComponentOptions(opts);
  const endpointsGauge = new Gauge({
    name: 'thanos_store_nodes_grpc_connections',
    help: 'Number of gRPC connection to Store APIs. Opened connection means healthy store APIs available for Querier.',
    labelNames: ['store_type'],
    registers: [registry],
  });
  const inProcess = (opts.endpoints ?? []).filter((e): e is StoreAPI | NamedStore => typeof e !== 'string');
  const addresses = (opts.endpoints ?? []).filter((e): e is string => typeof e === 'string');
  const discovery = createEndpointDiscovery({
    addresses,
    fileSDFiles: opts.fileSDFiles,
    fileSDInterval: opts.fileSDIntervalMs,
    dnsInterval: opts.dnsIntervalMs,
    resolver: opts.resolver,
    onError: (source, err) => logger.warn('endpoint discovery failed', { source, err: String(err) }),
    onChange: (found) => {
      logger.info('endpoints changed', { addresses: found });
      void endpointSet.refresh();
    },
  });
  const endpointSet = createEndpointSet({
    static: inProcess,
    discover: () => discovery.addresses(),
    tls: opts.tls,
    refreshInterval: opts.endpointRefreshIntervalMs,
    onRefresh: (statuses) => {
      endpointsGauge.reset();
      for (const s of statuses) if (s.healthy && s.info) endpointsGauge.inc({ store_type: s.info.componentType });
    },
  });
  // In-process rulers (anything with ruleGroups, e.g. the quick start's) answer the rules and
  // alerts APIs directly; remote endpoints are asked over gRPC when their Info advertises rules.
  const localRulers: RulesEndpoint[] = [];
  for (const e of inProcess) {
    const store = 'store' in e ? e.store : e;
    const name = 'store' in e ? e.name : 'in-process';
    if (hasRuleGroups(store)) localRulers.push(localRulesEndpoint(store, name));
  }
  const rulesFanout = createRulesFanout({
    endpoints: () => [
      ...localRulers,
      ...endpointSet
        .statuses()
        .filter((s) => s.healthy)
        .map((s) => s.name),
    ],
    tls: opts.tls,
    replicaLabels: opts.replicaLabels,
    partialResponse: opts.partialResponse,
    logger,
  });
  // Metadata, targets and exemplars: asked of the endpoints whose Info advertises them (sidecars).
  const infoSet = createInfoAPIsEndpointSet({ statuses: () => endpointSet.statuses(), tls: opts.tls });
  const infoFan = createInfoAPIsFanout({ endpoints: () => infoSet.endpoints(), replicaLabels: opts.replicaLabels });
  const externalPrefix = normalizePrefix(opts.externalPrefix);
  const routePrefix = normalizePrefix(opts.routePrefix === undefined ? opts.externalPrefix : opts.routePrefix);
  const prefixHeader = (opts.prefixHeader ?? '').toLowerCase();
  const workers = opts.evaluationWorkers ?? opts.maxConcurrent ?? 20;
  let pool: EvaluationPool | undefined;
  // What the evaluation workers are doing: a heavy query waiting shows here before it times out.
  new Gauge({
    name: 'thanos_ts_query_evaluations',
    help: 'PromQL evaluations in the worker threads: running, or waiting for a worker or for a heavy evaluation to end.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'running' }, pool?.running ?? 0);
      this.set({ state: 'waiting' }, pool?.queued ?? 0);
    },
  });
  new Gauge({
    name: 'thanos_ts_query_heavy_evaluations_max',
    help: 'Most heavy PromQL evaluations run at once; further ones wait (0: no worker threads).',
    registers: [registry],
    collect() {
      this.set(pool?.maxHeavyRunning ?? 0);
    },
  });
  const core = createQueryCore({ ...opts, endpointSet, evaluationPool: () => pool, tracer, registry });
  let isReady = false;
  let servers: BoundServers | undefined;
  const apiHandlers: RequestHandler[] = [
    // /api/v1/rules and /api/v1/alerts, fanned out to rulers; before the query API's 404s.
    rulesFanout.handler,
    createInfoAPIsHandler({
      metadata: infoFan,
      targets: infoFan,
      exemplars: infoFan,
      partialResponse: opts.partialResponse ?? true,
    }),
    createStatusHandler({ flags: opts.statusFlags ?? {} }),
    instrumentHandler(
      createQueryAPIHandler({
        querier: core,
        defaultStepMs: opts.defaultStepMs,
        now: opts.now,
        buildInfo: opts.buildInfo,
      }),
      registry,
    ),
  ];
  // Thanos's cmd/thanos/query.go: with no --alert.query-url, localhost and the HTTP port.
  const alertQueryURL = (): string => {
    if (opts.alertQueryURL !== undefined && opts.alertQueryURL !== '') return opts.alertQueryURL;
    const addr = servers?.httpAddress ?? opts.httpAddress;
    const colon = addr?.lastIndexOf(':') ?? -1;
    return addr !== undefined && colon !== -1 ? `http://localhost:${addr.slice(colon + 1)}` : 'http://localhost:10902';
  };
  // One page handler per link prefix (the route prefix, --web.external-prefix, or the prefix a
  // proxy sends in --web.prefix-header), so the pages' links and API calls go where the browser
  // reaches them (as the bucket web does).
  const pageHandlers = new Map<string, UIRequestHandler>();
  function pagesFor(linkPrefix: string): UIRequestHandler {
    let h = pageHandlers.get(linkPrefix);
    if (h) {
      pageHandlers.delete(linkPrefix);
      pageHandlers.set(linkPrefix, h);
      return h;
    }
    h = createUIHandler({
      pages: ['query', 'stores', 'rules', 'alerts'],
      title: 'thanos-ts query',
      routePrefix: linkPrefix,
      queryURL: alertQueryURL(),
    });
    pageHandlers.set(linkPrefix, h);
    if (pageHandlers.size > MAX_LINK_PREFIXES) pageHandlers.delete(pageHandlers.keys().next().value as string);
    return h;
  }
  function linkPrefixOf(req: Parameters<RequestHandler>[0]): string {
    if (externalPrefix !== '') return externalPrefix;
    if (prefixHeader !== '') {
      const v = req.headers[prefixHeader];
      if (typeof v === 'string' && v !== '') return normalizePrefix(v);
    }
    return routePrefix;
  }
  const routed: RequestHandler = async (req, res) => {
    const original = req.url;
    const url = new URL(original ?? '/', 'http://localhost');
    let path = url.pathname;
    if (routePrefix !== '') {
      // Thanos redirects the root and the bare prefix to the graph page under the prefix.
      if (path === '/' || path === routePrefix) {
        res.writeHead(302, { Location: `${routePrefix}/graph` });
        res.end();
        return true;
      }
      if (!path.startsWith(`${routePrefix}/`)) return false;
      path = path.slice(routePrefix.length);
    }
    try {
      req.url = `${path}${url.search}`;
      for (const h of apiHandlers) if (await h(req, res)) return true;
      // The web pages (query and graph, stores, rules, alerts), after the API so /api/v1/* stays its own.
      const linkPrefix = linkPrefixOf(req);
      req.url = `${linkPrefix}${path}${url.search}`;
      return await pagesFor(linkPrefix)(req, res);
    } finally {
      req.url = original;
    }
  };
  const endpoints = {
    registry,
    tracer,
    ready: () => isReady,
    handlers: [routed],
    grpc: (server: Parameters<typeof serveStoreAPI>[1]) => serveStoreAPI(core, server, { tracer }),
  };
  const lifecycle = createLifecycle('querier', {
    async start(signal) {
      if (workers > 0 && opts.engine === undefined)
        pool = createEvaluationPool({
          size: workers,
          // One more than the cores: two heavy queries on a 2-core machine still leave a worker
          // ready for a light one without starting a thread (tens of ms; seconds from source).
          minSize: Math.min(workers, availableCores() + 1),
          maxQueue: opts.maxConcurrent ?? 20,
          // As many heavy evaluations at once as the cores (and one more, so one is always being
          // set up): more only share the cores at a cost in CPU. Light queries are not held back.
          maxHeavyRunning: Math.min(workers, opts.maxHeavyEvaluations ?? availableCores() + 1),
          decoders: [storeSeriesDecoder()].filter((d) => d !== null),
        });
      // Thanos warns whenever the two differ once the route prefix has defaulted to the external one.
      if (routePrefix !== externalPrefix)
        logger.warn(
          'different values for --web.route-prefix and --web.external-prefix detected, web UI may not work without a reverse-proxy.',
        );
      await untilAborted(discovery.start(), signal);
      await untilAborted(endpointSet.start(), signal);
      servers = await bindServers(opts, endpoints, logger);
      isReady = true;
    },
    async stop() {
      isReady = false;
      await servers?.close();
      discovery.close();
      await endpointSet.close();
      rulesFanout.close();
      infoSet.close();
      await pool?.close();
    },
  });
  return {
    ...core,
    ...lifecycle,
    handler: componentHandler(endpoints),
    registry,
    ready: () => isReady,
    get httpAddress() {
      return servers?.httpAddress;
    },
    get grpcAddress() {
      return servers?.grpcAddress;
    },
  };
}

function hasRuleGroups(store: StoreAPI): store is StoreAPI & Parameters<typeof localRulesEndpoint>[0] {
  return typeof (store as { ruleGroups?: unknown }).ruleGroups === 'function';
}
