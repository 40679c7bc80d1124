import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { parse as parseYaml } from 'yaml';
import type { Cache } from './cache.js';
import { createInMemoryCache } from './inmemory.js';
import { createMemcachedCache } from './memcached.js';
import { createRedisCache } from './redis.js';

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

const ITEMS: readonly IndexCacheItem[] = ['Postings', 'Series', 'ExpandedPostings'];

/**
 * Parses Thanos's index-cache YAML (`type: IN-MEMORY|MEMCACHED|REDIS`, `config`, `enabled_items`,
 * `ttl`) and creates the backend. Unknown keys and types are errors naming `flag`.
 */
export function parseIndexCacheConfig(text: string, flag = '--index-cache.config'): IndexCacheConfig {
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
    cache: createBackend(doc.type, doc.config, flag, 250 * 1024 * 1024),
    ttlMs: ttlMs || 24 * 3600_000,
    enabledItems: enabled,
  };
}

/** Parses Thanos's caching-bucket YAML and creates the backend; defaults are Thanos's. */
export function parseCachingBucketConfig(text: string, flag = '--store.caching-bucket.config'): CachingBucketConfig {
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
    cache: createBackend(doc.type, doc.config, flag, 1024 * 1024 * 1024),
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

function createBackend(type: unknown, config: unknown, flag: string, defaultInMemorySize: number): Cache {
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
    case 'MEMCACHED': {
      const addresses = c.addresses;
      if (!Array.isArray(addresses) || addresses.length === 0 || !addresses.every((a) => typeof a === 'string'))
        throw new InvalidArgumentError(`${flag}: no memcached addresses provided (config.addresses)`);
      return createMemcachedCache({
        addresses: addresses.map((a) => a.replace(/^dns(srv)?\+/, '')),
        ...(c.timeout !== undefined ? { timeoutMs: durationField(c.timeout, `${flag}: config.timeout`) || 500 } : {}),
        ...(c.max_item_size !== undefined
          ? { maxItemSizeBytes: parseBytes(c.max_item_size, `${flag}: config.max_item_size`) }
          : {}),
        ...(typeof c.max_get_multi_batch_size === 'number' ? { maxGetMultiBatchSize: c.max_get_multi_batch_size } : {}),
      });
    }
    case 'REDIS': {
      if (typeof c.addr !== 'string' || c.addr === '')
        throw new InvalidArgumentError(`${flag}: no redis addr provided (config.addr)`);
      if (c.tls_enabled === true)
        throw new InvalidArgumentError(`${flag}: config.tls_enabled is not supported by thanos-ts yet`);
      return createRedisCache({
        addr: c.addr,
        ...(typeof c.username === 'string' && c.username ? { username: c.username } : {}),
        ...(typeof c.password === 'string' && c.password ? { password: c.password } : {}),
        ...(typeof c.db === 'number' ? { db: c.db } : {}),
        ...(typeof c.prefix === 'string' ? { prefix: c.prefix } : {}),
        ...(c.read_timeout !== undefined
          ? { timeoutMs: durationField(c.read_timeout, `${flag}: config.read_timeout`) || 3000 }
          : {}),
        ...(typeof c.get_multi_batch_size === 'number' ? { getMultiBatchSize: c.get_multi_batch_size } : {}),
      });
    }
    default:
      throw new InvalidArgumentError(
        `${flag}: cache with type ${type} is not supported (want IN-MEMORY, MEMCACHED or REDIS)`,
      );
  }
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

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3600_000,
  d: 86400_000,
  w: 7 * 86400_000,
  y: 365 * 86400_000,
};

/**
 * Parses a Go/Prometheus duration (`500ms`, `1h30m`, `1.5s`, `2d`, `0`) into milliseconds;
 * throws InvalidArgumentError naming `where` otherwise.
 */
export function parseDuration(text: string, where: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/y;
  let at = 0;
  let total = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) throw new InvalidArgumentError(`${where}: invalid duration ${JSON.stringify(text)}`);
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    at = re.lastIndex;
  }
  if (s.length === 0) throw new InvalidArgumentError(`${where}: empty duration`);
  return total;
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
