import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { Gate } from '../concurrency/gate.js';
import { createDNSResolver, type DNSResolver, parseAddress, resolveAddress } from '../discovery/dns.js';
import { splitHostPort } from './address.js';
import { AsyncQueue } from './async-queue.js';
import { type Cache, type CacheStats, emptyStats } from './cache.js';
import { CacheConnectionError, findCRLF, PipelinedConnection, type ReplyParser } from './pipelined-connection.js';
import { pickServerIndex, sortServersNaturally } from './server-selector.js';

/**
 * Memcached client options: Thanos's memcached `config:` block (pkg/cacheutil/memcached_client.go),
 * with its defaults.
 */
export interface MemcachedOptions {
  /**
   * Server addresses: `host:port`, or `dns+host:port` / `dnssrv+_service._proto.name` /
   * `dnssrvnoa+name` resolved through DNS and re-resolved every `dnsProviderUpdateIntervalMs`.
   * A key lives on one server, picked as Thanos picks it (jump hash over XXH64 of the key, servers
   * in natural order), so Thanos and thanos-ts processes sharing the servers share keys.
   */
  addresses: readonly string[];
  /** Per-request timeout in ms (Thanos `timeout`). Default 500. */
  timeoutMs?: number;
  /** Values larger than this are not stored (Thanos `max_item_size`). Default 1 MiB; 0: no limit. */
  maxItemSizeBytes?: number;
  /** Keys per `get` command (Thanos `max_get_multi_batch_size`). Default 0: all keys of a server at once. */
  maxGetMultiBatchSize?: number;
  /** `get` commands in flight at once (Thanos `max_get_multi_concurrency`). Default 100; 0: unlimited. */
  maxGetMultiConcurrency?: number;
  /** Stores running at once (Thanos `max_async_concurrency`). Default 20; must be positive. */
  maxAsyncConcurrency?: number;
  /** Stores waiting to run; more are dropped (Thanos `max_async_buffer_size`). Default 10000. */
  maxAsyncBufferSize?: number;
  /** Ms between DNS re-resolutions of prefixed addresses (Thanos `dns_provider_update_interval`). Default 10000. */
  dnsProviderUpdateIntervalMs?: number;
  /** TTL in ms for stores given `ttlMs` 0 (query-frontend `expiration`). Default 24h. */
  expirationMs?: number;
  /** DNS lookups for prefixed addresses. Default: the system resolver. */
  resolver?: DNSResolver;
}

/** A memcached {@link Cache} that also exposes its current server list. */
export interface MemcachedCache extends Cache {
  /** Resolved servers in the natural order keys are hashed onto (duplicates weigh more). */
  servers(): readonly string[];
  /**
   * Re-resolves the configured addresses now (the periodic refresh does the same). A failed
   * lookup keeps that address's previous servers, as Thanos's dns.Provider does. Safe to call
   * concurrently with fetches.
   */
  resolveServers(): Promise<void>;
}

const ONE_DAY_MS = 24 * 3600_000;
const THIRTY_DAYS_S = 30 * 24 * 3600;

/**
 * A memcached cache over the text protocol, one pipelined connection per server. Builds without
 * I/O; the first fetch or store resolves DNS addresses and connects. Sets use `noreply` and run
 * through a bounded async queue; a server that is down or restarting turns into misses.
 */
export function createMemcachedCache(opts: MemcachedOptions): MemcachedCache {
  if (opts.addresses.length === 0) throw new InvalidArgumentError('no memcached addresses provided');
  const timeoutMs = opts.timeoutMs ?? 500;
  const maxItemSize = opts.maxItemSizeBytes ?? 1024 * 1024;
  const batch = opts.maxGetMultiBatchSize && opts.maxGetMultiBatchSize > 0 ? opts.maxGetMultiBatchSize : Infinity;
  const getConcurrency = opts.maxGetMultiConcurrency ?? 100;
  const gate = getConcurrency > 0 ? new Gate(getConcurrency) : undefined;
  const asyncConcurrency = opts.maxAsyncConcurrency ?? 20;
  if (asyncConcurrency <= 0) throw new InvalidArgumentError('max async concurrency must be positive');
  const writes = new AsyncQueue(Math.max(1, opts.maxAsyncBufferSize ?? 10000), asyncConcurrency);
  const updateMs = opts.dnsProviderUpdateIntervalMs ?? 10_000;
  if (updateMs <= 0) throw new InvalidArgumentError('DNS provider update interval must be positive');
  const defaultTtlMs = opts.expirationMs && opts.expirationMs > 0 ? opts.expirationMs : ONE_DAY_MS;
  const parsed = opts.addresses.map((a) => ({ address: a, ...parseAddress(a) }));
  for (const p of parsed) if (p.kind === 'static' || p.kind === 'dns') splitHostPort(p.target);
  const dynamic = parsed.some((p) => p.kind !== 'static');
  let resolver = opts.resolver;

  const counters: CacheStats = emptyStats();
  const conns = new Map<string, PipelinedConnection>();
  const resolved = new Map<string, string[]>();
  let sorted: string[] = [];
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let firstResolve: Promise<void> | undefined;

  const setServers = () => {
    sorted = sortServersNaturally([...resolved.values()].flat());
    const keep = new Set(sorted);
    for (const [addr, conn] of conns) {
      if (!keep.has(addr)) {
        conn.close();
        conns.delete(addr);
      }
    }
  };
  const connFor = (addr: string): PipelinedConnection => {
    let c = conns.get(addr);
    if (!c) {
      const { host, port } = splitHostPort(addr);
      c = new PipelinedConnection(host, port, timeoutMs);
      conns.set(addr, c);
    }
    return c;
  };

  // Thanos's dns.Provider.Resolve: every address is looked up; one that fails keeps its old
  // servers, and entries for addresses no longer configured are dropped only when all succeeded.
  const resolveServers = async (): Promise<void> => {
    resolver ??= createDNSResolver();
    const r = resolver;
    const results = await Promise.all(
      parsed.map(async (p) => {
        try {
          return { address: p.address, servers: await resolveAddress(p.address, r) };
        } catch {
          return { address: p.address, servers: undefined };
        }
      }),
    );
    if (closed) return;
    for (const { address, servers } of results) {
      if (servers !== undefined) resolved.set(address, servers);
      else counters.errors++;
    }
    setServers();
  };

  if (!dynamic) {
    for (const p of parsed) resolved.set(p.address, [p.target]);
    setServers();
  }
  const ready = (): Promise<void> | undefined => {
    if (!dynamic || closed) return undefined;
    if (!firstResolve) {
      firstResolve = resolveServers();
      timer = setInterval(() => void resolveServers(), updateMs);
      timer.unref?.();
    }
    return firstResolve;
  };

  const serverFor = (wireKey: string): string | undefined =>
    sorted.length === 0 ? undefined : sorted[pickServerIndex(wireKey, sorted.length)];

  const cache: MemcachedCache = {
    name: 'MEMCACHED',
    async fetch(keys, signal) {
      counters.requests += keys.length;
      const out = new Map<string, Uint8Array>();
      if (keys.length === 0 || closed || signal?.aborted) return out;
      await ready();
      const byServer = new Map<string, Map<string, string>>();
      for (const key of keys) {
        const wire = safeKey(key);
        const server = serverFor(wire);
        if (server === undefined) {
          counters.errors++;
          return out;
        }
        let m = byServer.get(server);
        if (!m) {
          m = new Map();
          byServer.set(server, m);
        }
        m.set(wire, key);
      }
      const jobs: Promise<void>[] = [];
      for (const [server, wireToKey] of byServer) {
        const wires = [...wireToKey.keys()];
        const step = batch === Infinity ? wires.length : batch;
        for (let i = 0; i < wires.length; i += step) {
          const part = wires.slice(i, i + step);
          const run = async () => {
            const found = await connFor(server).request(Buffer.from(`get ${part.join(' ')}\r\n`), parseGetReply);
            for (const [k, v] of found) {
              const orig = wireToKey.get(k);
              if (orig !== undefined) out.set(orig, v);
            }
          };
          jobs.push(
            (gate ? gate.run(run, signal) : run()).catch(() => {
              counters.errors++;
            }),
          );
        }
      }
      await Promise.all(jobs);
      counters.hits += out.size;
      return out;
    },
    store(key, value, ttlMs) {
      if (closed || (maxItemSize > 0 && value.length > maxItemSize)) return;
      const queued = writes.enqueue(async () => {
        await ready();
        const wire = safeKey(key);
        const server = serverFor(wire);
        if (server === undefined) throw new CacheConnectionError('no memcached servers resolved');
        // memcached reads expirations above 30 days as absolute unix times; Thanos always sends
        // an absolute time, which memcached treats the same way.
        let exp = Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : defaultTtlMs) / 1000));
        if (exp > THIRTY_DAYS_S) exp += Math.floor(Date.now() / 1000);
        const head = Buffer.from(`set ${wire} 0 ${exp} ${value.length} noreply\r\n`);
        await connFor(server).request(Buffer.concat([head, value, CRLF]), null);
      });
      if (queued) counters.stores++;
      else counters.errors++;
    },
    stats: () => ({ ...counters }),
    servers: () => [...sorted],
    resolveServers,
    async close() {
      if (closed) return;
      if (timer) clearInterval(timer);
      await writes.close();
      closed = true;
      for (const c of conns.values()) c.close();
      conns.clear();
    },
  };
  return cache;
}

const CRLF = Buffer.from('\r\n');

/** Parses `VALUE <key> <flags> <bytes> [cas]\r\n<data>\r\n`… `END\r\n`. */
const parseGetReply: ReplyParser<Map<string, Uint8Array>> = (buf, offset) => {
  const found = new Map<string, Uint8Array>();
  let at = offset;
  for (;;) {
    const eol = findCRLF(buf, at);
    if (eol < 0) return undefined;
    const line = buf.toString('utf8', at, eol);
    if (line === 'END') return { value: found, end: eol + 2 };
    if (!line.startsWith('VALUE '))
      throw new CacheConnectionError(`memcached: unexpected reply ${JSON.stringify(line.slice(0, 100))}`);
    const parts = line.split(' ');
    const size = Number(parts[3]);
    if (!Number.isInteger(size) || size < 0)
      throw new CacheConnectionError(`memcached: bad VALUE line ${JSON.stringify(line)}`);
    const dataStart = eol + 2;
    if (buf.length < dataStart + size + 2) return undefined;
    // Copy: the receive buffer is reused for later replies.
    found.set(parts[1] as string, new Uint8Array(buf.subarray(dataStart, dataStart + size)));
    at = dataStart + size + 2;
  }
};

/**
 * The key sent to memcached. Keys memcached accepts (at most 250 bytes, no byte at or below
 * space, no DEL: gomemcache's legalKey) go as they are, so Thanos and thanos-ts agree on them.
 * Anything else, which Thanos would reject as malformed, is replaced by a hash of itself.
 */
function safeKey(key: string): string {
  if (key.length <= 250 && Buffer.byteLength(key) <= 250 && !/[\x00-\x20\x7f]/.test(key)) return key;
  return `h:${createHash('sha256').update(key).digest('base64url')}`;
}
