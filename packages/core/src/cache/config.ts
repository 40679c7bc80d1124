import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { DurationSyntaxError, goQuote, parseGoDuration } from '@thanos-ts/tsdb/goformat';
import { parse as parseYaml } from 'yaml';
import type { DNSResolver } from '../discovery/dns.js';
import type { Cache } from './cache.js';
import { createInMemoryCache } from './inmemory.js';
import { createMemcachedCache, type MemcachedOptions } from './memcached.js';
import { createRedisCache, type RedisOptions, type RedisTLSOptions } from './redis.js';

/** Index-cache item kinds Thanos lets `enabled_items` choose from. */
export type IndexCacheItem = 'Postings' | 'Series' | 'ExpandedPostings';

/** A parsed `--index-cache.config`: the backend, TTL for remote backends and the enabled item kinds. */
export interface IndexCacheConfig {
  cache: Cache;
  ttlMs: number;
  enabledItems: ReadonlySet<IndexCacheItem>;
}

/** A parsed `--store.caching-bucket.config` (Thanos's CachingWithBackendConfig, with its defaults). */
export interface CachingBucketConfig {
  cache: Cache;
  chunkSubrangeSize: number;
  maxChunksGetRangeRequests: number;
  metafileMaxSize: number;
  chunkObjectAttrsTtlMs: number;
  chunkSubrangeTtlMs: number;
  blocksIterTtlMs: number;
  metafileExistsTtlMs: number;
  metafileDoesntExistTtlMs: number;
  metafileContentTtlMs: number;
}

/** What a cache config's backend may need beyond its YAML. */
export interface CacheBackendOptions {
  /** DNS for memcached's `dns+`/`dnssrv+` addresses. Default: the system resolver. */
  resolver?: DNSResolver;
}

const ITEMS: readonly IndexCacheItem[] = ['Postings', 'Series', 'ExpandedPostings'];

/**
 * Parses Thanos's index-cache YAML (`type: IN-MEMORY|MEMCACHED|REDIS`, `config`, `enabled_items`,
 * `ttl`) and creates the backend. Unknown keys and types are errors naming `flag`.
 */
export function parseIndexCacheConfig(
  text: string,
  flag = '--index-cache.config',
  backend: CacheBackendOptions = {},
): IndexCacheConfig {
  const doc = parseDoc(text, flag);
  checkKeys(doc, ['type', 'config', 'enabled_items', 'ttl'], flag);
  const ttlMs = doc.ttl === undefined ? 24 * 3600_000 : durationField(doc.ttl, `${flag}: ttl`);
  const enabled = new Set<IndexCacheItem>();
  if (doc.enabled_items !== undefined && doc.enabled_items !== null) {
    if (!Array.isArray(doc.enabled_items)) throw new InvalidArgumentError(`${flag}: enabled_items must be a list`);
    for (const item of doc.enabled_items) {
      if (!ITEMS.includes(item as IndexCacheItem))
        throw new InvalidArgumentError(
          `${flag}: unsupported item type ${JSON.stringify(item)} in enabled_items (want one of ${ITEMS.join(', ')})`,
        );
      enabled.add(item as IndexCacheItem);
    }
  }
  if (enabled.size === 0) for (const i of ITEMS) enabled.add(i);
  return {
    cache: createBackend(doc.type, doc.config, flag, 250 * 1024 * 1024, backend),
    ttlMs: ttlMs || 24 * 3600_000,
    enabledItems: enabled,
  };
}

/** Parses Thanos's caching-bucket YAML and creates the backend; defaults are Thanos's. */
export function parseCachingBucketConfig(
  text: string,
  flag = '--store.caching-bucket.config',
  backend: CacheBackendOptions = {},
): CachingBucketConfig {
  const doc = parseDoc(text, flag);
  checkKeys(
    doc,
    [
      'type',
      'config',
      'chunk_subrange_size',
      'max_chunks_get_range_requests',
      'metafile_max_size',
      'chunk_object_attrs_ttl',
      'chunk_subrange_ttl',
      'blocks_iter_ttl',
      'metafile_exists_ttl',
      'metafile_doesnt_exist_ttl',
      'metafile_content_ttl',
    ],
    flag,
  );
  const dur = (key: string, dflt: number) =>
    doc[key] === undefined ? dflt : durationField(doc[key], `${flag}: ${key}`);
  const int = (key: string, dflt: number) => {
    const v = doc[key];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new InvalidArgumentError(`${flag}: ${key} must be an integer`);
    return v;
  };
  const subrange = int('chunk_subrange_size', 16000);
  if (subrange <= 0) throw new InvalidArgumentError(`${flag}: chunk_subrange_size must be positive`);
  return {
    cache: createBackend(doc.type, doc.config, flag, 1024 * 1024 * 1024, backend),
    chunkSubrangeSize: subrange,
    maxChunksGetRangeRequests: int('max_chunks_get_range_requests', 3),
    metafileMaxSize:
      doc.metafile_max_size === undefined
        ? 1024 * 1024
        : parseBytes(doc.metafile_max_size, `${flag}: metafile_max_size`),
    chunkObjectAttrsTtlMs: dur('chunk_object_attrs_ttl', 24 * 3600_000),
    chunkSubrangeTtlMs: dur('chunk_subrange_ttl', 24 * 3600_000),
    blocksIterTtlMs: dur('blocks_iter_ttl', 5 * 60_000),
    metafileExistsTtlMs: dur('metafile_exists_ttl', 2 * 3600_000),
    metafileDoesntExistTtlMs: dur('metafile_doesnt_exist_ttl', 15 * 60_000),
    metafileContentTtlMs: dur('metafile_content_ttl', 24 * 3600_000),
  };
}

function createBackend(
  type: unknown,
  config: unknown,
  flag: string,
  defaultInMemorySize: number,
  backend: CacheBackendOptions,
): Cache {
  if (typeof type !== 'string') throw new InvalidArgumentError(`${flag}: missing type (IN-MEMORY, MEMCACHED or REDIS)`);
  const cfg = config === undefined || config === null ? {} : config;
  if (typeof cfg !== 'object' || Array.isArray(cfg))
    throw new InvalidArgumentError(`${flag}: config must be a mapping`);
  const c = cfg as Record<string, unknown>;
  switch (type.toUpperCase()) {
    case 'IN-MEMORY': {
      checkKeys(c, ['max_size', 'max_item_size'], `${flag} config`);
      const maxSize =
        c.max_size === undefined ? defaultInMemorySize : parseBytes(c.max_size, `${flag}: config.max_size`);
      const maxItem =
        c.max_item_size === undefined
          ? Math.floor(maxSize / 2)
          : parseBytes(c.max_item_size, `${flag}: config.max_item_size`);
      if (maxItem > maxSize)
        throw new InvalidArgumentError(
          `${flag}: max item size (${maxItem}) cannot be bigger than overall cache size (${maxSize})`,
        );
      return createInMemoryCache({
        maxSizeBytes: maxSize || defaultInMemorySize,
        maxItemSizeBytes: maxItem || Math.floor((maxSize || defaultInMemorySize) / 2),
      });
    }
    case 'MEMCACHED':
      return createMemcachedCache({
        ...parseMemcachedClientConfig(c, flag),
        ...(backend.resolver ? { resolver: backend.resolver } : {}),
      });
    case 'REDIS':
      return createRedisCache(parseRedisClientConfig(c, flag));
    default:
      throw new InvalidArgumentError(
        `${flag}: cache with type ${type} is not supported (want IN-MEMORY, MEMCACHED or REDIS)`,
      );
  }
}

const MEMCACHED_KEYS = [
  'addresses',
  'timeout',
  'max_idle_connections',
  'max_async_concurrency',
  'max_async_buffer_size',
  'max_get_multi_concurrency',
  'max_item_size',
  'max_get_multi_batch_size',
  'dns_provider_update_interval',
  'auto_discovery',
  'set_async_circuit_breaker_config',
  'expiration',
] as const;

/**
 * Reads Thanos's memcached client block (pkg/cacheutil/memcached_client.go MemcachedClientConfig,
 * plus the query-frontend's `expiration`) into {@link MemcachedOptions}, with Thanos's defaults
 * and validation messages. `max_idle_connections` is accepted but has no effect: thanos-ts keeps
 * one pipelined connection per server. `where` prefixes every error. Unknown keys are errors.
 */
export function parseMemcachedClientConfig(c: Record<string, unknown>, where: string): MemcachedOptions {
  checkKeys(c, MEMCACHED_KEYS, where);
  const f = fields(c, where);
  const addresses = c.addresses;
  if (addresses === undefined || addresses === null || (Array.isArray(addresses) && addresses.length === 0))
    throw new InvalidArgumentError(`${where}: no memcached addresses provided`);
  if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string' && a !== ''))
    throw new InvalidArgumentError(`${where}: addresses must be a list of host:port strings`);
  f.int('max_idle_connections', 100);
  if (f.bool('auto_discovery', false))
    throw new InvalidArgumentError(
      `${where}: auto_discovery (ElastiCache cluster discovery) is not supported by thanos-ts`,
    );
  circuitBreaker(c.set_async_circuit_breaker_config, `${where}: set_async_circuit_breaker_config`);
  const updateMs = f.duration('dns_provider_update_interval', 10_000);
  if (updateMs <= 0) throw new InvalidArgumentError(`${where}: DNS provider update interval must be positive`);
  const asyncConcurrency = f.int('max_async_concurrency', 20);
  if (asyncConcurrency <= 0) throw new InvalidArgumentError(`${where}: max async concurrency must be positive`);
  return {
    addresses: addresses as string[],
    timeoutMs: f.duration('timeout', 500),
    maxAsyncConcurrency: asyncConcurrency,
    maxAsyncBufferSize: f.int('max_async_buffer_size', 10000),
    maxGetMultiConcurrency: f.int('max_get_multi_concurrency', 100),
    maxItemSizeBytes:
      c.max_item_size === undefined ? 1024 * 1024 : parseBytes(c.max_item_size, `${where}: max_item_size`),
    maxGetMultiBatchSize: f.int('max_get_multi_batch_size', 0),
    dnsProviderUpdateIntervalMs: updateMs,
    expirationMs: f.duration('expiration', 24 * 3600_000) || 24 * 3600_000,
  };
}

const REDIS_KEYS = [
  'addr',
  'prefix',
  'username',
  'password',
  'db',
  'dial_timeout',
  'read_timeout',
  'write_timeout',
  // go-redis era keys (Thanos < 0.31): accepted so older files still load; ioredis multiplexes
  // one connection per node, so there is no pool to size.
  'pool_size',
  'min_idle_conns',
  'idle_timeout',
  'max_conn_age',
  'max_get_multi_concurrency',
  'get_multi_batch_size',
  'max_set_multi_concurrency',
  'set_multi_batch_size',
  'tls_enabled',
  'tls_config',
  'cache_size',
  'master_name',
  'max_async_buffer_size',
  'max_async_concurrency',
  'set_async_circuit_breaker_config',
  'expiration',
] as const;

const TLS_KEYS = ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify', 'min_version'] as const;

/**
 * Reads Thanos's redis client block (pkg/cacheutil/redis_client.go RedisClientConfig, plus the
 * query-frontend's `expiration`) into {@link RedisOptions}, with Thanos's defaults and validation
 * messages. `addr` with commas is a cluster, `master_name` makes `addr` the sentinels. Accepted
 * without effect: `pool_size`, `min_idle_conns`, `idle_timeout`, `max_conn_age` (no pool) and
 * `max_set_multi_concurrency`, `set_multi_batch_size` (stores go one key at a time). Refused:
 * `cache_size` other than 0 (ioredis has no client-side caching) and an enabled circuit breaker.
 */
export function parseRedisClientConfig(c: Record<string, unknown>, where: string): RedisOptions {
  checkKeys(c, REDIS_KEYS, where);
  const f = fields(c, where);
  const addr = f.str('addr', '');
  if (addr === '') throw new InvalidArgumentError(`${where}: no redis addr provided`);
  for (const k of ['pool_size', 'min_idle_conns', 'max_set_multi_concurrency', 'set_multi_batch_size']) f.int(k, 0);
  for (const k of ['idle_timeout', 'max_conn_age']) f.duration(k, 0);
  if (c.cache_size !== undefined && parseBytes(c.cache_size, `${where}: cache_size`) !== 0)
    throw new InvalidArgumentError(
      `${where}: cache_size: client-side caching is not supported by thanos-ts (ioredis has none); set 0`,
    );
  circuitBreaker(c.set_async_circuit_breaker_config, `${where}: set_async_circuit_breaker_config`);
  let tls: RedisTLSOptions | undefined;
  if (f.bool('tls_enabled', false)) {
    const t = mapping(c.tls_config, `${where}: tls_config`);
    checkKeys(t, TLS_KEYS, `${where}: tls_config`);
    const tf = fields(t, `${where}: tls_config`);
    tls = {
      caFile: tf.str('ca_file', ''),
      certFile: tf.str('cert_file', ''),
      keyFile: tf.str('key_file', ''),
      serverName: tf.str('server_name', ''),
      insecureSkipVerify: tf.bool('insecure_skip_verify', false),
      minVersion: tf.str('min_version', ''),
    };
    if ((tls.certFile !== '') !== (tls.keyFile !== ''))
      throw new InvalidArgumentError(`${where}: both client key and certificate must be provided`);
  } else if (c.tls_config !== undefined && c.tls_config !== null) {
    checkKeys(mapping(c.tls_config, `${where}: tls_config`), TLS_KEYS, `${where}: tls_config`);
  }
  const masterName = f.str('master_name', '');
  return {
    addr,
    prefix: f.str('prefix', ''),
    username: f.str('username', ''),
    password: f.str('password', ''),
    db: f.int('db', 0),
    dialTimeoutMs: f.duration('dial_timeout', 5000),
    readTimeoutMs: f.duration('read_timeout', 3000),
    writeTimeoutMs: f.duration('write_timeout', 3000),
    maxGetMultiConcurrency: f.int('max_get_multi_concurrency', 100),
    getMultiBatchSize: f.int('get_multi_batch_size', 100),
    maxAsyncBufferSize: f.int('max_async_buffer_size', 10000),
    maxAsyncConcurrency: f.int('max_async_concurrency', 20),
    expirationMs: f.duration('expiration', 24 * 3600_000) || 24 * 3600_000,
    ...(tls ? { tls } : {}),
    ...(masterName ? { masterName } : {}),
  };
}

const BREAKER_KEYS = [
  'enabled',
  'half_open_max_requests',
  'open_duration',
  'min_requests',
  'consecutive_failures',
  'failure_percent',
] as const;

/** Checks Thanos's `set_async_circuit_breaker_config`; thanos-ts has no breaker, so it must stay disabled. */
function circuitBreaker(v: unknown, where: string): void {
  if (v === undefined || v === null) return;
  const c = mapping(v, where);
  checkKeys(c, BREAKER_KEYS, where);
  const f = fields(c, where);
  for (const k of ['half_open_max_requests', 'min_requests', 'consecutive_failures']) f.int(k, 0);
  f.duration('open_duration', 0);
  if (c.failure_percent !== undefined && typeof c.failure_percent !== 'number')
    throw new InvalidArgumentError(`${where}: failure_percent must be a number`);
  if (f.bool('enabled', false))
    throw new InvalidArgumentError(`${where}: enabled: the set-async circuit breaker is not supported by thanos-ts`);
}

function mapping(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`${where}: must be a mapping`);
  return v as Record<string, unknown>;
}

/** Typed readers for one YAML mapping: each returns `dflt` when the key is absent or null. */
function fields(c: Record<string, unknown>, where: string) {
  const absent = (k: string) => c[k] === undefined || c[k] === null;
  return {
    int(k: string, dflt: number): number {
      if (absent(k)) return dflt;
      const v = c[k];
      if (typeof v !== 'number' || !Number.isInteger(v))
        throw new InvalidArgumentError(`${where}: ${k} must be an integer, got ${JSON.stringify(v)}`);
      return v;
    },
    str(k: string, dflt: string): string {
      if (absent(k)) return dflt;
      const v = c[k];
      if (typeof v !== 'string')
        throw new InvalidArgumentError(`${where}: ${k} must be a string, got ${JSON.stringify(v)}`);
      return v;
    },
    bool(k: string, dflt: boolean): boolean {
      if (absent(k)) return dflt;
      const v = c[k];
      if (typeof v !== 'boolean')
        throw new InvalidArgumentError(`${where}: ${k} must be true or false, got ${JSON.stringify(v)}`);
      return v;
    },
    duration(k: string, dflt: number): number {
      return absent(k) ? dflt : durationField(c[k], `${where}: ${k}`);
    },
  };
}

function parseDoc(text: string, flag: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: parsing config YAML: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new InvalidArgumentError(`${flag}: parsing config YAML: expected a mapping`);
  return doc as Record<string, unknown>;
}

function checkKeys(doc: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(doc)) {
    if (!allowed.includes(k))
      throw new InvalidArgumentError(`${where}: field ${k} not found (allowed: ${allowed.join(', ')})`);
  }
}

/**
 * Parses a Go time.Duration (`500ms`, `1h30m`, `1.5s`, `0`) into milliseconds, as Thanos's cache
 * client configs declare their timeouts; throws InvalidArgumentError naming `where` otherwise.
 */
export function parseDuration(text: string, where: string): number {
  try {
    return parseGoDuration(text.trim());
  } catch (err) {
    if (!(err instanceof DurationSyntaxError)) throw err;
    throw new InvalidArgumentError(`${where}: invalid duration ${goQuote(text)}: ${err.message}`);
  }
}

function durationField(v: unknown, where: string): number {
  if (typeof v === 'number' && v === 0) return 0;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${where}: invalid duration ${JSON.stringify(v)}`);
  return parseDuration(v, where);
}

const BYTE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1024,
  KIB: 1024,
  MB: 1024 ** 2,
  MIB: 1024 ** 2,
  GB: 1024 ** 3,
  GIB: 1024 ** 3,
  TB: 1024 ** 4,
  TIB: 1024 ** 4,
};

/** Parses a base-2 byte size like Thanos's model.Bytes (`250MB` = 250 MiB, `1GiB`, or a plain number). */
export function parseBytes(v: unknown, where: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${where}: invalid size ${JSON.stringify(v)}`);
  const re = /(\d+(?:\.\d+)?)([KMGT]i?B|B)/iy;
  let at = 0;
  let total = 0;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw new InvalidArgumentError(`${where}: invalid size ${JSON.stringify(v)} (want e.g. 250MB)`);
    total += Number(m[1]) * (BYTE_UNITS[(m[2] as string).toUpperCase()] as number);
    at = re.lastIndex;
  }
  if (s.length === 0) throw new InvalidArgumentError(`${where}: empty size`);
  return Math.floor(total);
}
