import { splitHostPort } from './address.js';
import { type Cache, type CacheStats, emptyStats } from './cache.js';
import { CacheConnectionError, findCRLF, PipelinedConnection, type ReplyParser } from './pipelined-connection.js';

/** Redis client options: the keys of Thanos's redis `config:` block that apply here. */
export interface RedisOptions {
  /** `host:port` of the server (Thanos `addr`). */
  addr: string;
  username?: string;
  password?: string;
  /** Database index selected after connecting (Thanos `db`). */
  db?: number;
  /** Per-request timeout in ms (Thanos `read_timeout`, default 3s). */
  timeoutMs?: number;
  /** Keys per MGET (Thanos `get_multi_batch_size`, default 100). */
  getMultiBatchSize?: number;
  /** Prefix added to every key. */
  prefix?: string;
}

type RespValue = string | Buffer | null | number | RespValue[] | Error;

/**
 * A redis cache speaking RESP2 over node:net with one pipelined connection: MGET for lookups,
 * SET … PX for stores. An unreachable or restarting server turns into misses.
 */
export function createRedisCache(opts: RedisOptions): Cache {
  const { host, port } = splitHostPort(opts.addr);
  const prefix = opts.prefix ?? '';
  const batch = opts.getMultiBatchSize && opts.getMultiBatchSize > 0 ? opts.getMultiBatchSize : 100;
  const handshake = () => {
    const out: Array<{ bytes: Buffer; parse: ReplyParser<unknown> }> = [];
    if (opts.password)
      out.push({
        bytes: encodeCommand(opts.username ? ['AUTH', opts.username, opts.password] : ['AUTH', opts.password]),
        parse: parseResp,
      });
    if (opts.db) out.push({ bytes: encodeCommand(['SELECT', String(opts.db)]), parse: parseResp });
    return out;
  };
  const conn = new PipelinedConnection(host, port, opts.timeoutMs ?? 3000, handshake);
  const counters: CacheStats = emptyStats();
  return {
    name: 'REDIS',
    async fetch(keys) {
      counters.requests += keys.length;
      const out = new Map<string, Uint8Array>();
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < keys.length; i += batch) {
        const part = keys.slice(i, i + batch);
        jobs.push(
          conn
            .request(encodeCommand(['MGET', ...part.map((k) => prefix + k)]), parseResp)
            .then((reply) => {
              if (!Array.isArray(reply)) throw new CacheConnectionError('redis: MGET did not answer an array');
              reply.forEach((v, j) => {
                if (Buffer.isBuffer(v)) out.set(part[j] as string, new Uint8Array(v));
              });
            })
            .catch(() => {
              counters.errors++;
            }),
        );
      }
      await Promise.all(jobs);
      counters.hits += out.size;
      return out;
    },
    store(key, value, ttlMs) {
      counters.stores++;
      const args: Array<string | Uint8Array> = ['SET', prefix + key, value];
      if (ttlMs > 0) args.push('PX', String(Math.ceil(ttlMs)));
      conn.request(encodeCommand(args), parseResp).catch(() => {
        counters.errors++;
      });
    },
    stats: () => ({ ...counters }),
    async close() {
      conn.close();
    },
  };
}

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.length);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Parses one RESP2 value; an error reply (`-ERR …`) becomes an Error value. */
export const parseResp: ReplyParser<RespValue> = (buf, offset) => {
  const eol = findCRLF(buf, offset);
  if (eol < 0) return undefined;
  const kind = buf[offset];
  const line = buf.toString('latin1', offset + 1, eol);
  switch (kind) {
    case 0x2b: // +
      return { value: line, end: eol + 2 };
    case 0x2d: // -
      return { value: new Error(line), end: eol + 2 };
    case 0x3a: // :
      return { value: Number(line), end: eol + 2 };
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return undefined;
      return { value: buf.subarray(eol + 2, eol + 2 + n), end: eol + 2 + n + 2 };
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return { value: null, end: eol + 2 };
      const items: RespValue[] = [];
      let at = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parseResp(buf, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new CacheConnectionError(`redis: unexpected reply byte ${kind}`);
  }
};
