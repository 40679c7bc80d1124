import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { splitHostPort } from './address.js';
import { type Cache, type CacheStats, emptyStats } from './cache.js';
import { CacheConnectionError, findCRLF, PipelinedConnection, type ReplyParser } from './pipelined-connection.js';

/** Memcached client options: the keys of Thanos's memcached `config:` block that apply here. */
export interface MemcachedOptions {
  /** `host:port` list; keys are spread over them with jump consistent hashing. */
  addresses: readonly string[];
  /** Per-request timeout in ms (Thanos `timeout`, default 500ms). */
  timeoutMs?: number;
  /** Values larger than this are not stored (Thanos `max_item_size`, default 1 MiB). */
  maxItemSizeBytes?: number;
  /** Keys per `get` command (Thanos `max_get_multi_batch_size`, default 0 = all at once). */
  maxGetMultiBatchSize?: number;
}

const ONE_DAY_S = 24 * 3600;

/**
 * A memcached cache over the text protocol on node:net, one pipelined connection per server.
 * Sets use `noreply`; a server that is down or restarting turns into misses.
 */
export function createMemcachedCache(opts: MemcachedOptions): Cache {
  if (opts.addresses.length === 0) throw new InvalidArgumentError('no memcached addresses provided');
  const timeoutMs = opts.timeoutMs ?? 500;
  const maxItemSize = opts.maxItemSizeBytes ?? 1024 * 1024;
  const batch = opts.maxGetMultiBatchSize && opts.maxGetMultiBatchSize > 0 ? opts.maxGetMultiBatchSize : Infinity;
  const servers = opts.addresses.map((addr) => {
    const { host, port } = splitHostPort(addr);
    return new PipelinedConnection(host, port, timeoutMs);
  });
  const counters: CacheStats = emptyStats();

  const serverFor = (key: string): PipelinedConnection =>
    servers[servers.length === 1 ? 0 : jumpHash(fnv1a64(key), servers.length)] as PipelinedConnection;

  return {
    name: 'MEMCACHED',
    async fetch(keys) {
      counters.requests += keys.length;
      const out = new Map<string, Uint8Array>();
      const byServer = new Map<PipelinedConnection, string[]>();
      for (const key of keys) {
        const s = serverFor(safeKey(key));
        const list = byServer.get(s);
        if (list) list.push(key);
        else byServer.set(s, [key]);
      }
      const jobs: Promise<void>[] = [];
      for (const [server, list] of byServer) {
        for (let i = 0; i < list.length; i += batch === Infinity ? list.length : batch) {
          const part = list.slice(i, i + (batch === Infinity ? list.length : batch));
          const wire = new Map(part.map((k) => [safeKey(k), k]));
          jobs.push(
            server
              .request(Buffer.from(`get ${[...wire.keys()].join(' ')}\r\n`), parseGetReply)
              .then((found) => {
                for (const [k, v] of found) {
                  const orig = wire.get(k);
                  if (orig !== undefined) out.set(orig, v);
                }
              })
              .catch(() => {
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
      if (value.length > maxItemSize) return;
      const k = safeKey(key);
      // memcached treats expirations above 30 days as absolute unix times.
      let exp = ttlMs > 0 ? Math.max(1, Math.ceil(ttlMs / 1000)) : ONE_DAY_S;
      if (exp > 30 * ONE_DAY_S) exp = Math.floor(Date.now() / 1000) + exp;
      counters.stores++;
      const head = Buffer.from(`set ${k} 0 ${exp} ${value.length} noreply\r\n`);
      serverFor(k)
        .request(Buffer.concat([head, value, CRLF]), null)
        .catch(() => {
          counters.errors++;
        });
    },
    stats: () => ({ ...counters }),
    async close() {
      for (const s of servers) s.close();
    },
  };
}

const CRLF = Buffer.from('\r\n');

/** Parses `VALUE <key> <flags> <bytes> [cas]\r\n<data>\r\n`… `END\r\n`. */
const parseGetReply: ReplyParser<Map<string, Uint8Array>> = (buf, offset) => {
  const found = new Map<string, Uint8Array>();
  let at = offset;
  for (;;) {
    const eol = findCRLF(buf, at);
    if (eol < 0) return undefined;
    const line = buf.toString('latin1', at, eol);
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

/** Memcached keys are at most 250 bytes without spaces or control characters: hash anything else. */
function safeKey(key: string): string {
  if (key.length <= 200 && !/[\s\x00-\x1f\x7f]/.test(key) && Buffer.byteLength(key) === key.length) return key;
  return `h:${createHash('sha256').update(key).digest('base64url')}`;
}

/** 64-bit FNV-1a of a string's UTF-16 code units, as a bigint. */
function fnv1a64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

/** Lamping & Veach's jump consistent hash: a bucket in [0, n) that moves little when n changes. */
function jumpHash(key: bigint, n: number): number {
  let b = -1;
  let j = 0;
  let k = key;
  while (j < n) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & 0xffffffffffffffffn;
    j = Math.floor(((b + 1) * 2 ** 31) / Number((k >> 33n) + 1n));
  }
  return b;
}
