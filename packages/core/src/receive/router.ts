import { WriteError, type WriteFailureKind } from './errors.js';
import { type Hashring, hashSeries } from './hashring.js';
import type { WriteablePeer } from './peer.js';
import type { TenantSeries, WriteSeries } from './wire.js';
import { joinReasons } from './writer.js';

/** Options of {@link createRouter}. */
export interface RouterOptions {
  /** The current hashring (read on every request, so a reload applies to the next one). */
  hashring: () => Hashring;
  /** This receiver's address in the hashring (--receive.local-endpoint); undefined = router only. */
  localEndpoint: string | undefined;
  /** Copies of each series (--receive.replication-factor). */
  replicationFactor: number;
  /** Writes one tenant's series into the local TSDB; rejects with a WriteError. */
  writeLocal: (tenant: string, series: readonly WriteSeries[]) => Promise<void>;
  /** The connection to a peer. */
  peer: (address: string) => WriteablePeer;
  /** Deadline of one forward call, ms. */
  forwardTimeoutMs: number;
}

/**
 * Thanos's write quorum (Handler.writeQuorum): ⌊RF/2⌋+1, except 1 for RF=2 (Thanos changed that
 * so one of two replicas being down does not stop ingestion).
 */
export function writeQuorum(replicationFactor: number): number {
  return replicationFactor === 2 ? 1 : Math.floor(replicationFactor / 2) + 1;
}

/**
 * The error {@link Router.write} gives when every series of a request failed with `err` on all of
 * its `replicas` (and fewer than `quorum` settled otherwise): the rejected-sample reasons as they
 * are for a conflict or bad data, `quorum not reached` for what a retry may fix. Used by the
 * receiver's ingest-worker path, which writes locally without the router. @internal
 */
export function localWriteError(err: unknown, quorum: number, replicas: number): WriteError {
  const kind: WriteFailureKind = err instanceof WriteError ? err.kind : 'internal';
  const message = joinReasons([err instanceof Error ? err.message : String(err)]);
  if (kind === 'conflict' || kind === 'bad-data') return new WriteError(kind, message, { cause: err });
  return new WriteError(kind, `quorum not reached (${quorum} of ${replicas} replicas): ${message}`, { cause: err });
}

/** Pauses before retrying a forward that failed as unavailable, ms. */
const FORWARD_RETRY_DELAYS_MS: readonly number[] = [50, 200, 500];

interface Batch {
  readonly endpoint: string;
  readonly replica: number;
  readonly byTenant: Map<string, { series: WriteSeries[]; ids: number[] }>;
}

/** Routes write requests over the hashring: the local share to the TSDB, the rest to peers. */
export interface Router {
  /**
   * Writes `data` with `replica` (1-based; 0 when the request comes from a client and still has
   * to be replicated). Resolves when every series reached the write quorum; rejects with a
   * WriteError otherwise.
   */
  write(data: readonly TenantSeries[], replica: number): Promise<void>;
}

/**
 * Thanos's Handler.forward/fanoutForward: each series goes to the endpoint of each of its
 * replicas; a series succeeds when `quorum` replicas stored it. Unlike Thanos, a replica that
 * answered with a conflict (out of order, duplicate, too old, bad labels) counts as settled: when
 * successes plus conflicts reach the quorum the request gets 409, not 503, because no retry can
 * change those answers (Thanos can loop on 503 there). Only when fewer than the quorum settled
 * does the request fail with `unavailable` (or `internal` when no replica was unreachable).
 */
export function createRouter(opts: RouterOptions): Router {
  const rf = opts.replicationFactor;
  return {
    async write(data, replica) {
      if (replica > rf) throw new WriteError('bad-data', 'request replica exceeds receiver replication factor');
      const replicated = replica !== 0;
      const replicas = replicated ? [replica - 1] : Array.from({ length: rf }, (_, i) => i);
      const threshold = replicated ? 1 : writeQuorum(rf);
      const ring = opts.hashring();
      // One ring lookup per series and replica, one hash per series: a single-node ring needs none.
      const hashed = ring.nodes().length > 1;
      // Batches by endpoint, then by replica number.
      const byEndpoint = new Map<string, Batch[]>();
      const batches: Batch[] = [];
      let id = 0;
      for (const d of data)
        for (const s of d.series) {
          const hash = hashed ? hashSeries(d.tenant, s.labels) : 0n;
          for (const rn of replicas) {
            const endpoint = ring.getNForHash(d.tenant, hash, rn).address;
            let list = byEndpoint.get(endpoint);
            if (!list) {
              list = [];
              byEndpoint.set(endpoint, list);
            }
            let b = list[rn];
            if (!b) {
              b = { endpoint, replica: rn, byTenant: new Map() };
              list[rn] = b;
              batches.push(b);
            }
            let t = b.byTenant.get(d.tenant);
            if (!t) {
              t = { series: [], ids: [] };
              b.byTenant.set(d.tenant, t);
            }
            t.series.push(s);
            t.ids.push(id);
          }
          id++;
        }
      const n = id;
      const ok = new Uint8Array(n);
      const settled = new Uint8Array(n);
      const errs: { kind: WriteFailureKind; message: string }[][] = Array.from({ length: n }, () => []);

      const record = (ids: readonly number[], err: unknown) => {
        if (err === undefined) {
          for (const i of ids) {
            ok[i] = (ok[i] as number) + 1;
            settled[i] = (settled[i] as number) + 1;
          }
          return;
        }
        const kind: WriteFailureKind = err instanceof WriteError ? err.kind : 'internal';
        const message = err instanceof Error ? err.message : String(err);
        for (const i of ids) {
          (errs[i] as { kind: WriteFailureKind; message: string }[]).push({ kind, message });
          if (kind === 'conflict' || kind === 'bad-data') settled[i] = (settled[i] as number) + 1;
        }
      };

      await Promise.all(
        batches.map(async (b) => {
          const local = opts.localEndpoint !== undefined && b.endpoint === opts.localEndpoint;
          if (local) {
            // Tenants are written one by one, each in its own commit, and judged on their own.
            await Promise.all(
              [...b.byTenant].map(([tenant, t]) =>
                opts.writeLocal(tenant, t.series).then(
                  () => record(t.ids, undefined),
                  (err: unknown) => record(t.ids, err),
                ),
              ),
            );
            return;
          }
          const ids = [...b.byTenant.values()].flatMap((t) => t.ids);
          const req = {
            replica: b.replica + 1,
            data: [...b.byTenant].map(([tenant, t]) => ({ tenant, series: t.series })),
          };
          // A peer that is restarting or briefly unreachable gets a few more tries within the
          // forward timeout before its replica counts as failed.
          const deadline = Date.now() + opts.forwardTimeoutMs;
          for (let attempt = 0; ; attempt++) {
            try {
              await opts.peer(b.endpoint).remoteWrite(req, Math.max(1, deadline - Date.now()));
              record(ids, undefined);
              return;
            } catch (err) {
              const delay = FORWARD_RETRY_DELAYS_MS[attempt];
              const retry =
                err instanceof WriteError &&
                err.kind === 'unavailable' &&
                delay !== undefined &&
                Date.now() + delay < deadline;
              if (!retry) {
                record(ids, err);
                return;
              }
              await new Promise((r) => setTimeout(r, delay));
            }
          }
        }),
      );

      let worst: WriteFailureKind | undefined;
      const reasons: string[] = [];
      const rank: Record<WriteFailureKind, number> = { conflict: 1, 'bad-data': 2, internal: 3, unavailable: 4 };
      for (let i = 0; i < n; i++) {
        if ((ok[i] as number) >= threshold) continue;
        const e = errs[i] as { kind: WriteFailureKind; message: string }[];
        let kind: WriteFailureKind;
        if ((settled[i] as number) >= threshold) {
          kind = e.some((x) => x.kind === 'bad-data') ? 'bad-data' : 'conflict';
          for (const x of e) if (x.kind === 'conflict' || x.kind === 'bad-data') reasons.push(x.message);
        } else {
          kind = e.some((x) => x.kind === 'unavailable') || e.length === 0 ? 'unavailable' : 'internal';
          for (const x of e) if (x.kind === 'unavailable' || x.kind === 'internal') reasons.push(x.message);
        }
        if (worst === undefined || rank[kind] > rank[worst]) worst = kind;
      }
      if (worst !== undefined) {
        const detail = joinReasons(reasons);
        throw new WriteError(
          worst,
          worst === 'unavailable' || worst === 'internal'
            ? `quorum not reached (${threshold} of ${replicas.length} replicas): ${detail}`
            : detail,
        );
      }
    },
  };
}
