import type { EndpointStatus } from '../query/endpoint-set.js';
import type { GrpcClientTLSOptions } from '../tls/grpc-tls.js';
import type { InfoAPIsEndpoint } from './fanout.js';
import { type AdvertisedInfoAPIs, connectInfoAPIs, type RemoteInfoAPIs } from './grpc.js';

/** Options of {@link createInfoAPIsEndpointSet}. */
export interface InfoAPIsEndpointSetOptions {
  /** The querier's endpoints (its endpoint set's `statuses()`); only healthy ones dialled by address are asked. */
  statuses: () => readonly EndpointStatus[];
  /** TLS for the gRPC connections (the querier's --grpc-client-tls-*). */
  tls?: GrpcClientTLSOptions;
  /** How long an endpoint's advertised APIs are trusted before Info is asked again, ms. Default 5000 (Thanos's endpoint refresh). */
  refreshIntervalMs?: number;
  /** Deadline of one Info call, ms. Default 5000. */
  infoTimeoutMs?: number;
}

/** The querier's endpoints with the Metadata/Targets/Exemplars APIs each advertises in its Info. */
export interface InfoAPIsEndpointSet {
  /** Endpoints advertising at least one of the APIs; asks Info of those not asked within the refresh interval. */
  endpoints(): Promise<InfoAPIsEndpoint[]>;
  /** Closes every connection. */
  close(): void;
}

const ADDRESS = /^(?:[^\s/]+|\[[0-9a-fA-F:.]+\]):\d+$/;

interface Entry {
  remote: RemoteInfoAPIs;
  advertised?: AdvertisedInfoAPIs;
  checkedAt: number;
  pending?: Promise<void>;
}

/**
 * Keeps one gRPC connection per endpoint of the querier and what it advertises (Info's
 * metric_metadata, targets and exemplars fields, which the StoreAPI's Info decoding leaves out).
 * An endpoint whose Info fails is left out until it answers again; vanished endpoints are closed.
 */
export function createInfoAPIsEndpointSet(opts: InfoAPIsEndpointSetOptions): InfoAPIsEndpointSet {
  const entries = new Map<string, Entry>();
  const every = opts.refreshIntervalMs ?? 5000;

  function check(e: Entry): Promise<void> {
    e.pending ??= e.remote
      .advertised(AbortSignal.timeout(opts.infoTimeoutMs ?? 5000))
      .then(
        (a) => {
          e.advertised = a;
        },
        () => {
          e.advertised = undefined;
        },
      )
      .finally(() => {
        e.checkedAt = Date.now();
        e.pending = undefined;
      });
    return e.pending;
  }

  return {
    async endpoints() {
      const healthy = opts.statuses().filter((s) => s.healthy && ADDRESS.test(s.name));
      const names = new Set(healthy.map((s) => s.name));
      for (const [name, e] of entries)
        if (!names.has(name)) {
          e.remote.close();
          entries.delete(name);
        }
      const now = Date.now();
      const waits: Promise<void>[] = [];
      for (const s of healthy) {
        let e = entries.get(s.name);
        if (!e) {
          e = { remote: connectInfoAPIs(s.name, { tls: opts.tls, infoTimeoutMs: opts.infoTimeoutMs }), checkedAt: 0 };
          entries.set(s.name, e);
        }
        if (now - e.checkedAt >= every) waits.push(check(e));
      }
      await Promise.all(waits);
      const out: InfoAPIsEndpoint[] = [];
      for (const s of healthy) {
        const e = entries.get(s.name);
        const a = e?.advertised;
        if (!e || !a || !(a.metadata || a.targets || a.exemplars)) continue;
        out.push({
          name: s.name,
          labelSets: s.info?.labelSets ?? [],
          supportsExternalLabels: s.info?.componentType === 'query',
          ...(a.metadata ? { metadata: e.remote } : {}),
          ...(a.targets ? { targets: e.remote } : {}),
          ...(a.exemplars ? { exemplars: e.remote } : {}),
        });
      }
      return out;
    },
    close() {
      for (const e of entries.values()) e.remote.close();
      entries.clear();
    },
  };
}
