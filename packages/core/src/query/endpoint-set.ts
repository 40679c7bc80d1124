import { connectStoreAPI, type RemoteStoreAPI } from '../storeapi/grpc-client.js';
import { MAX_TIME, MIN_TIME, type StoreAPI, type StoreInfo } from '../storeapi/store-api.js';
import type { GrpcClientTLSOptions } from '../tls/grpc-tls.js';
import type { ProxyEndpoint } from './proxy.js';

/** A StoreAPI given in-process, with the name it shows in warnings and /api/v1/stores. */
export interface NamedStore {
  name: string;
  store: StoreAPI;
}

/** Options of `createEndpointSet`. */
export interface EndpointSetOptions {
  /** Endpoints always present: StoreAPI objects, named StoreAPIs or gRPC addresses (host:port). */
  static?: readonly (StoreAPI | NamedStore | string)[];
  /** Addresses found by service discovery, asked on every refresh (DNS, file SD). */
  discover?: () => readonly string[];
  /** TLS for dialled addresses. */
  tls?: GrpcClientTLSOptions;
  /** How often endpoints are asked for Info, ms. Default 5 s (Thanos's endpoint refresh). */
  refreshInterval?: number;
  /** Deadline of one Info call, ms. Default 5 s (Thanos's --endpoint.info-timeout). */
  infoTimeout?: number;
  /** Called after each refresh, e.g. to update metrics. */
  onRefresh?: (statuses: readonly EndpointStatus[]) => void;
}

/** What /api/v1/stores shows for one endpoint. */
export interface EndpointStatus {
  readonly name: string;
  readonly healthy: boolean;
  readonly lastCheck: Date | undefined;
  readonly lastError: string | null;
  /** When it stopped answering Info (first failed check since it was last healthy); undefined while healthy. */
  readonly unhealthySince: Date | undefined;
  /** The last Info it answered (kept while unhealthy, to show what is missing). */
  readonly info: StoreInfo | undefined;
}

/** The endpoints a querier fans out to, kept healthy by periodic Info calls. */
export interface EndpointSet {
  /** Runs a first refresh (so the first query sees every reachable endpoint), then refreshes periodically. */
  start(): Promise<void>;
  /** Asks every endpoint for Info now, adds newly discovered ones and drops vanished ones. */
  refresh(): Promise<void>;
  /**
   * Every checked endpoint with its latest info. Unhealthy ones carry `unhealthy` (since when,
   * last error): a proxy never queries them but names them when a request finds no store.
   */
  endpoints(): ProxyEndpoint[];
  /** Every known endpoint, healthy or not. */
  statuses(): EndpointStatus[];
  close(): Promise<void>;
}

interface Entry {
  name: string;
  store: StoreAPI;
  remote?: RemoteStoreAPI;
  static: boolean;
  info?: StoreInfo;
  healthy: boolean;
  lastCheck?: Date;
  lastError: string | null;
  unhealthySince?: Date | undefined;
}

/** Info of an endpoint that never answered: no labels, an empty time range. */
const NEVER_REACHED: StoreInfo = { labelSets: [], minTime: MAX_TIME, maxTime: MIN_TIME, componentType: 'unknown' };

function isNamed(x: StoreAPI | NamedStore): x is NamedStore {
  return typeof (x as NamedStore).name === 'string' && typeof (x as NamedStore).store === 'object';
}

/**
 * Keeps the set of StoreAPI endpoints: static ones and those service discovery reports. An
 * endpoint failing Info is left out of queries (and shown unhealthy) until it answers again; an
 * address discovery no longer reports is closed and forgotten.
 */
export function createEndpointSet(opts: EndpointSetOptions): EndpointSet {
  const entries = new Map<string, Entry>();
  const refreshInterval = opts.refreshInterval ?? 5000;
  const infoTimeout = opts.infoTimeout ?? 5000;
  let timer: ReturnType<typeof setInterval> | undefined;
  let inProcess = 0;

  function addAddress(address: string, isStatic: boolean): void {
    if (entries.has(address)) return;
    const remote = connectStoreAPI(address, { tls: opts.tls });
    entries.set(address, { name: address, store: remote, remote, static: isStatic, healthy: false, lastError: null });
  }

  for (const s of opts.static ?? []) {
    if (typeof s === 'string') addAddress(s, true);
    else if (isNamed(s))
      entries.set(s.name, { name: s.name, store: s.store, static: true, healthy: false, lastError: null });
    else {
      const name = `in-process-${inProcess++}`;
      entries.set(name, { name, store: s, static: true, healthy: false, lastError: null });
    }
  }

  async function check(e: Entry): Promise<void> {
    const signal = AbortSignal.timeout(infoTimeout);
    try {
      e.info = await Promise.race([
        e.store.info(signal),
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      ]);
      e.healthy = true;
      e.lastError = null;
      e.unhealthySince = undefined;
    } catch (err) {
      e.healthy = false;
      e.lastError = err instanceof Error ? err.message : String(err);
      e.unhealthySince ??= new Date();
    }
    e.lastCheck = new Date();
  }

  let running: Promise<void> | undefined;
  async function refreshOnce(): Promise<void> {
    if (opts.discover) {
      const wanted = new Set(opts.discover());
      for (const a of wanted) addAddress(a, false);
      for (const [name, e] of entries) {
        if (!e.static && !wanted.has(name)) {
          e.remote?.close();
          entries.delete(name);
        }
      }
    }
    await Promise.all([...entries.values()].map(check));
    opts.onRefresh?.(statuses());
  }

  function statuses(): EndpointStatus[] {
    return [...entries.values()].map((e) => ({
      name: e.name,
      healthy: e.healthy,
      lastCheck: e.lastCheck,
      lastError: e.lastError,
      unhealthySince: e.unhealthySince,
      info: e.info,
    }));
  }

  return {
    async start() {
      await this.refresh();
      timer ??= setInterval(() => {
        this.refresh().catch(() => undefined);
      }, refreshInterval);
      timer.unref?.();
    },
    refresh() {
      // Concurrent callers share one refresh instead of stacking Info calls.
      running ??= refreshOnce().finally(() => {
        running = undefined;
      });
      return running;
    },
    endpoints() {
      const out: ProxyEndpoint[] = [];
      for (const e of entries.values()) {
        if (e.healthy && e.info) out.push({ name: e.name, store: e.store, info: e.info });
        else if (!e.healthy && e.lastCheck)
          out.push({
            name: e.name,
            store: e.store,
            info: e.info ?? NEVER_REACHED,
            unhealthy: { since: e.unhealthySince ?? e.lastCheck, lastError: e.lastError },
          });
      }
      return out;
    },
    statuses,
    async close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
      for (const e of entries.values()) e.remote?.close();
    },
  };
}
