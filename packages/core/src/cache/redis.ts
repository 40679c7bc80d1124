import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Cluster, type RedisOptions as IORedisOptions, Redis } from 'ioredis';
import { Gate } from '../concurrency/gate.js';
import { splitHostPort } from './address.js';
import { AsyncQueue } from './async-queue.js';
import { type Cache, type CacheStats, emptyStats } from './cache.js';

/** TLS towards redis: Thanos's redis `tls_config`. */
export interface RedisTLSOptions {
  /** PEM CA bundle to verify the server with; the system roots when absent. */
  caFile?: string;
  /** Client certificate (mTLS); needs `keyFile`. */
  certFile?: string;
  /** Client key (mTLS); needs `certFile`. */
  keyFile?: string;
  /** Name to verify the server certificate against (and to send as SNI) instead of the host dialled. */
  serverName?: string;
  /** Accept any server certificate. */
  insecureSkipVerify?: boolean;
  /** Lowest TLS version: `1.0`, `1.1`, `1.2` or `1.3`. Default: Node's (1.2). */
  minVersion?: string;
}

/**
 * Redis client options: Thanos's redis `config:` block (pkg/cacheutil/redis_client.go) with its
 * defaults, served by ioredis.
 */
export interface RedisOptions {
  /**
   * `host:port` of the server. Several, comma-separated, are the seed nodes of a redis cluster;
   * with `masterName` they are the sentinels instead.
   */
  addr: string;
  /** ACL user name (redis >= 6). */
  username?: string;
  password?: string;
  /** Database selected after connecting (Thanos `db`). Default 0; must be 0 for a cluster. */
  db?: number;
  /** Prefix added to every key (Thanos `prefix`). Default none. */
  prefix?: string;
  /** Connect timeout in ms (Thanos `dial_timeout`). Default 5000. */
  dialTimeoutMs?: number;
  /** Ms a fetch may take before it counts as misses (Thanos `read_timeout`). Default 3000; 0: no limit. */
  readTimeoutMs?: number;
  /** Ms a store may take (Thanos `write_timeout`). Default 3000; 0: no limit. */
  writeTimeoutMs?: number;
  /** Keys per MGET (Thanos `get_multi_batch_size`). Default 100; 0: one MGET for all keys. */
  getMultiBatchSize?: number;
  /** MGETs in flight at once (Thanos `max_get_multi_concurrency`). Default 100; 0: unlimited. */
  maxGetMultiConcurrency?: number;
  /** Stores running at once (Thanos `max_async_concurrency`). Default 20. */
  maxAsyncConcurrency?: number;
  /** Stores waiting to run; more are dropped (Thanos `max_async_buffer_size`). Default 10000. */
  maxAsyncBufferSize?: number;
  /** Use TLS (Thanos `tls_enabled` with `tls_config`); absent: plain TCP. */
  tls?: RedisTLSOptions;
  /** Sentinel master set name (Thanos `master_name`): `addr` then lists the sentinels. */
  masterName?: string;
  /** TTL in ms for stores given `ttlMs` 0 (query-frontend `expiration`). Default 24h. */
  expirationMs?: number;
}

const TLS_VERSIONS: Record<string, ConnectionOptions['minVersion']> = {
  '1.0': 'TLSv1',
  '1.1': 'TLSv1.1',
  '1.2': 'TLSv1.2',
  '1.3': 'TLSv1.3',
};

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`redis tls_config: cannot read ${what} ${JSON.stringify(file)}`, { cause: err });
  }
}

/** Node TLS options for a redis {@link RedisTLSOptions}, as Thanos's tls.NewClientConfig builds them. */
function tlsOptions(t: RedisTLSOptions): ConnectionOptions {
  if (((t.certFile ?? '') !== '') !== ((t.keyFile ?? '') !== ''))
    throw new InvalidArgumentError('both client key and certificate must be provided');
  const out: ConnectionOptions = {};
  if (t.caFile) out.ca = readPem(t.caFile, 'ca_file');
  if (t.certFile && t.keyFile) {
    out.cert = readPem(t.certFile, 'cert_file');
    out.key = readPem(t.keyFile, 'key_file');
  }
  if (t.serverName) out.servername = t.serverName;
  if (t.insecureSkipVerify) {
    out.rejectUnauthorized = false;
    out.checkServerIdentity = () => undefined;
  }
  if (t.minVersion) {
    const v = TLS_VERSIONS[t.minVersion];
    if (!v)
      throw new InvalidArgumentError(
        `tls_config.min_version invalid: unknown TLS version: ${t.minVersion} (want 1.0, 1.1, 1.2 or 1.3)`,
      );
    out.minVersion = v;
  }
  return out;
}

/**
 * A redis cache over ioredis: a single server, a cluster (several comma-separated `addr`s) or a
 * sentinel-managed master (`masterName`). Lookups are batched MGETs (per-key GETs, pipelined per
 * node, on a cluster, where one MGET may not span slots); stores are `SET … PX` through a bounded
 * async queue. Builds without I/O and connects on first use; an unreachable or restarting server
 * turns into misses.
 */
export function createRedisCache(opts: RedisOptions): Cache {
  const addrs = opts.addr
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (addrs.length === 0) throw new InvalidArgumentError('no redis addr provided');
  const nodes = addrs.map((a) => splitHostPort(a));
  const prefix = opts.prefix ?? '';
  const batch = opts.getMultiBatchSize ?? 100;
  const getConcurrency = opts.maxGetMultiConcurrency ?? 100;
  const gate = getConcurrency > 0 ? new Gate(getConcurrency) : undefined;
  const readTimeoutMs = opts.readTimeoutMs ?? 3000;
  const writeTimeoutMs = opts.writeTimeoutMs ?? 3000;
  const defaultTtlMs = opts.expirationMs && opts.expirationMs > 0 ? opts.expirationMs : 24 * 3600_000;
  const writes = new AsyncQueue(
    Math.max(1, opts.maxAsyncBufferSize ?? 10000),
    Math.max(1, opts.maxAsyncConcurrency ?? 20),
  );
  const tls = opts.tls ? tlsOptions(opts.tls) : undefined;
  const isCluster = addrs.length > 1 && !opts.masterName;
  if (isCluster && opts.db)
    throw new InvalidArgumentError('redis db must be 0 for a redis cluster (addr lists several nodes)');

  // A cache must not wait for a dead server: commands queued while (re)connecting fail after one
  // reconnection attempt, and every command has a deadline.
  const retry = (times: number) => Math.min(times * 100, 2000);
  const common = {
    lazyConnect: true,
    connectTimeout: opts.dialTimeoutMs ?? 5000,
    maxRetriesPerRequest: 1,
    ...(readTimeoutMs > 0 || writeTimeoutMs > 0 ? { commandTimeout: Math.max(readTimeoutMs, writeTimeoutMs) } : {}),
    ...(opts.username ? { username: opts.username } : {}),
    ...(opts.password ? { password: opts.password } : {}),
    ...(tls ? { tls } : {}),
  } satisfies IORedisOptions;
  const client: Redis | Cluster = isCluster
    ? new Cluster(nodes, {
        lazyConnect: true,
        enableAutoPipelining: true,
        clusterRetryStrategy: retry,
        redisOptions: common,
        ...(tls ? { dnsLookup: (host, cb) => cb(null, host) } : {}),
      })
    : opts.masterName
      ? new Redis({
          ...common,
          retryStrategy: retry,
          sentinels: nodes,
          name: opts.masterName,
          ...(opts.db ? { db: opts.db } : {}),
          ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
        })
      : new Redis({
          ...common,
          retryStrategy: retry,
          host: nodes[0]?.host as string,
          port: nodes[0]?.port as number,
          ...(opts.db ? { db: opts.db } : {}),
        });
  const counters: CacheStats = emptyStats();
  // ioredis reports connection trouble as 'error' events; the failed commands are counted below.
  client.on('error', () => {});
  let closed = false;

  const getBatch = async (wire: string[]): Promise<(Buffer | null)[]> => {
    if (client instanceof Cluster) return Promise.all(wire.map((k) => client.getBuffer(k)));
    return client.mgetBuffer(...wire);
  };
  const withDeadline = <T>(p: Promise<T>, ms: number): Promise<T> => {
    if (ms <= 0) return p;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis: no answer within ${ms}ms`)), ms);
    });
    return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
  };

  return {
    name: 'REDIS',
    async fetch(keys, signal) {
      counters.requests += keys.length;
      const out = new Map<string, Uint8Array>();
      if (keys.length === 0 || closed || signal?.aborted) return out;
      const step = batch > 0 ? batch : keys.length;
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < keys.length; i += step) {
        const part = keys.slice(i, i + step);
        const run = async () => {
          const reply = await withDeadline(getBatch(part.map((k) => prefix + k)), readTimeoutMs);
          reply.forEach((v, j) => {
            if (v) out.set(part[j] as string, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
          });
        };
        jobs.push(
          (gate ? gate.run(run, signal) : run()).catch(() => {
            counters.errors++;
          }),
        );
      }
      await Promise.all(jobs);
      counters.hits += out.size;
      return out;
    },
    store(key, value, ttlMs) {
      if (closed) return;
      const ms = Math.max(1, Math.ceil(ttlMs > 0 ? ttlMs : defaultTtlMs));
      const queued = writes.enqueue(async () => {
        try {
          const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
          await withDeadline(client.set(prefix + key, v, 'PX', ms), writeTimeoutMs);
        } catch (err) {
          counters.errors++;
          throw err;
        }
      });
      if (queued) counters.stores++;
      else counters.errors++;
    },
    stats: () => ({ ...counters }),
    async close() {
      if (closed) return;
      await writes.close();
      closed = true;
      if (client.status === 'wait' || client.status === 'end') client.disconnect();
      else await client.quit().catch(() => client.disconnect());
    },
  };
}
