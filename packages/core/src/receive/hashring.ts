import { xxhash64, xxhash64String } from '../cache/xxhash.js';
import { InsufficientNodesError, ReceiveConfigError } from './errors.js';
import type { WireLabel } from './wire.js';

/** How series are spread over a hashring's endpoints (--receive.hashrings-algorithm). */
export type HashringAlgorithm = 'hashmod' | 'ketama';

/** The algorithms, in Thanos's order; hashmod is the default. */
export const HASHRING_ALGORITHMS: readonly HashringAlgorithm[] = ['hashmod', 'ketama'];

/** Ketama sections per endpoint (Thanos's SectionsPerNode). */
export const SECTIONS_PER_NODE = 1000;

/** One receiver in a hashring: its gRPC address (host:port) and optional availability zone. */
export interface HashringEndpoint {
  readonly address: string;
  readonly az?: string;
}

/** One entry of the hashrings file, as Thanos's HashringConfig JSON. */
export interface HashringConfig {
  /** Name, for logs and metrics. */
  readonly hashring?: string;
  /** Tenants this ring serves; absent or empty means every tenant (a catch-all ring). */
  readonly tenants?: readonly string[];
  /** `exact` (default) or `glob` (path.Match patterns) for `tenants`. */
  readonly tenantMatcherType?: 'exact' | 'glob';
  readonly endpoints: readonly HashringEndpoint[];
  /** Overrides --receive.hashrings-algorithm for this ring. */
  readonly algorithm?: HashringAlgorithm;
}

/** Picks the endpoint of the `n`th replica (0-based) of a series of a tenant. */
export interface Hashring {
  getN(tenant: string, labels: readonly WireLabel[], n: number): HashringEndpoint;
  /** As getN with the series' {@link hashSeries} already computed (one hash for all replicas). */
  getNForHash(tenant: string, hash: bigint, n: number): HashringEndpoint;
  /** Every endpoint, sorted by address. */
  nodes(): readonly HashringEndpoint[];
}

const SEP = 0xff;

/**
 * Thanos's labelpb.HashWithPrefix: xxhash64 of `tenant 0xff (name 0xff value 0xff)*`, as an
 * unsigned 64-bit bigint, so a series lands on the same receiver as in Thanos.
 */
export function hashSeries(tenant: string, labels: readonly WireLabel[]): bigint {
  let size = Buffer.byteLength(tenant) + 1;
  for (const l of labels) size += Buffer.byteLength(l.name) + Buffer.byteLength(l.value) + 2;
  const buf = Buffer.allocUnsafe(size);
  let p = buf.write(tenant, 0, 'utf8');
  buf[p++] = SEP;
  for (const l of labels) {
    p += buf.write(l.name, p, 'utf8');
    buf[p++] = SEP;
    p += buf.write(l.value, p, 'utf8');
    buf[p++] = SEP;
  }
  return xxhash64(buf);
}

function byAddress(a: HashringEndpoint, b: HashringEndpoint): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : 0;
}

/** Thanos's simpleHashring: endpoints sorted by address, replica n at (hash + n) mod len. */
export function createHashmodHashring(endpoints: readonly HashringEndpoint[]): Hashring {
  if (endpoints.some((e) => e.az)) {
    throw new ReceiveConfigError(
      'hashring',
      'Hashmod algorithm does not support AZ aware hashring configuration. Either use Ketama or remove AZ configuration.',
    );
  }
  const sorted = [...endpoints].sort(byAddress);
  const len = BigInt(sorted.length);
  const getNForHash = (_tenant: string, hash: bigint, n: number): HashringEndpoint => {
    if (n >= sorted.length) throw new InsufficientNodesError(sorted.length, n + 1);
    return sorted[Number(BigInt.asUintN(64, hash + BigInt(n)) % len)] as HashringEndpoint;
  };
  return {
    getN: (tenant, labels, n) => getNForHash(tenant, hashSeries(tenant, labels), n),
    getNForHash,
    nodes: () => sorted,
  };
}

/**
 * Thanos's ketamaHashring: SECTIONS_PER_NODE points per endpoint on a ring at
 * xxhash64(`address:i`), i = 1..1000; a series goes to the first section at or after its hash,
 * and its replicas to the next distinct endpoints clockwise (spread over availability zones when
 * they are set). Adding an endpoint moves about 1/N of the series.
 */
export function createKetamaHashring(
  endpoints: readonly HashringEndpoint[],
  replicationFactor: number,
  /** Points per endpoint on the ring; Thanos always uses 1000 (its tests use fewer). */
  sectionsPerNode: number = SECTIONS_PER_NODE,
): Hashring {
  if (endpoints.length < replicationFactor) {
    throw new ReceiveConfigError('hashring', 'ketama: amount of endpoints needs to be larger than replication factor');
  }
  const n = endpoints.length * sectionsPerNode;
  const hashes = new BigUint64Array(n);
  const owner = new Uint32Array(n);
  const order: { hash: bigint; endpoint: number }[] = [];
  endpoints.forEach((e, idx) => {
    for (let i = 1; i <= sectionsPerNode; i++) order.push({ hash: xxhash64String(`${e.address}:${i}`), endpoint: idx });
  });
  // Go's sort.Sort is not stable; equal hashes between endpoints would need a 64-bit collision.
  order.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  order.forEach((s, i) => {
    hashes[i] = s.hash;
    owner[i] = s.endpoint;
  });
  const azs = new Set(endpoints.map((e) => e.az ?? ''));
  // Replicas of each section (Thanos's calculateSectionReplicas), computed lazily: most rings see
  // few distinct sections per second, and 1000 × N sections × RF up front costs start-up time.
  const replicas = new Map<number, number[]>();
  const replicasOf = (i: number): number[] => {
    let reps = replicas.get(i);
    if (reps) return reps;
    reps = [];
    const spread = new Map<string, number>();
    for (const az of azs) spread.set(az, 0);
    for (let j = i; reps.length < replicationFactor; j = (j + 1) % n) {
      const ep = owner[j] as number;
      if (reps.includes(ep)) continue;
      const az = endpoints[ep]?.az ?? '';
      if (spread.size > 1) {
        const least = Math.min(...spread.values());
        const here = spread.get(az) ?? 0;
        if (here > 0 && here > least) continue;
      }
      reps.push(ep);
      spread.set(az, (spread.get(az) ?? 0) + 1);
    }
    replicas.set(i, reps);
    return reps;
  };
  const sorted = [...endpoints].sort(byAddress);
  const getNForHash = (_tenant: string, v: bigint, rep: number): HashringEndpoint => {
    if (rep >= endpoints.length) throw new InsufficientNodesError(endpoints.length, rep + 1);
    // First section whose hash is >= v (sort.Search), wrapping to 0.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((hashes[mid] as bigint) >= v) hi = mid;
      else lo = mid + 1;
    }
    const i = lo === n ? 0 : lo;
    const reps = replicasOf(i);
    const ep = reps[rep];
    // A replica beyond the replication factor the ring was built for (Thanos would index out of range).
    if (ep === undefined) throw new InsufficientNodesError(reps.length, rep + 1);
    return endpoints[ep] as HashringEndpoint;
  };
  return {
    getN: (tenant, labels, rep) => getNForHash(tenant, hashSeries(tenant, labels), rep),
    getNForHash,
    nodes: () => sorted,
  };
}

/** A hashring that always answers with the one local endpoint (Thanos's SingleNodeHashring). */
export function createSingleNodeHashring(address: string): Hashring {
  const node = [{ address }];
  const get = (n: number): HashringEndpoint => {
    if (n > 0) throw new InsufficientNodesError(1, n + 1);
    return node[0] as HashringEndpoint;
  };
  return {
    getN: (_tenant, _labels, n) => get(n),
    getNForHash: (_tenant, _hash, n) => get(n),
    nodes: () => node,
  };
}

// Go's path.Match for tenant globs: `*` (no `/`), `?`, `[...]` classes, `\` escapes.
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0)
        throw new ReceiveConfigError('hashring', `tenant pattern ${JSON.stringify(pattern)}: syntax error in pattern`);
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Thanos's multiHashring: the first ring whose tenants match the tenant (exact names, or globs
 * with tenantMatcherType glob; a ring without tenants matches all) decides.
 */
export function createMultiHashring(
  configs: readonly HashringConfig[],
  opts: { algorithm?: HashringAlgorithm; replicationFactor?: number } = {},
): Hashring {
  const rf = opts.replicationFactor ?? 1;
  const rings = configs.map((c) => {
    const algorithm = c.algorithm ?? opts.algorithm ?? 'hashmod';
    const ring = algorithm === 'ketama' ? createKetamaHashring(c.endpoints, rf) : createHashmodHashring(c.endpoints);
    const tenants = c.tenants ?? [];
    const exact = new Set(c.tenantMatcherType === 'glob' ? [] : tenants);
    const globs = c.tenantMatcherType === 'glob' ? tenants.map(globToRegExp) : [];
    const matches = (t: string) => tenants.length === 0 || exact.has(t) || globs.some((g) => g.test(t));
    return { ring, matches };
  });
  const cache = new Map<string, Hashring>();
  const nodes = rings.flatMap((r) => [...r.ring.nodes()]).sort(byAddress);
  const ringOf = (tenant: string): Hashring => {
    let ring = cache.get(tenant);
    if (!ring) {
      ring = rings.find((r) => r.matches(tenant))?.ring;
      if (!ring) throw new ReceiveConfigError('hashring', 'no matching hashring to handle tenant');
      cache.set(tenant, ring);
    }
    return ring;
  };
  return {
    getN: (tenant, labels, n) => ringOf(tenant).getN(tenant, labels, n),
    getNForHash: (tenant, hash, n) => ringOf(tenant).getNForHash(tenant, hash, n),
    nodes: () => nodes,
  };
}

/**
 * Parses a hashrings file (Thanos's JSON: an array of rings; an endpoint is an address string or
 * `{address, az}`). Throws ReceiveConfigError naming `source` for anything else.
 */
export function parseHashringsConfig(text: string, source = 'hashrings file'): HashringConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ReceiveConfigError(source, `configuration file is not parsable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!Array.isArray(raw))
    throw new ReceiveConfigError(source, 'configuration file is not parsable: want a JSON array of hashrings');
  if (raw.length === 0) throw new ReceiveConfigError(source, 'configuration file is empty');
  return raw.map((r: unknown, i: number) => {
    const where = `${source}: hashring ${i}`;
    if (typeof r !== 'object' || r === null) throw new ReceiveConfigError(where, 'want an object');
    const o = r as Record<string, unknown>;
    if (!Array.isArray(o.endpoints)) throw new ReceiveConfigError(where, '"endpoints" must be an array');
    const endpoints = o.endpoints.map((e: unknown): HashringEndpoint => {
      if (typeof e === 'string') {
        if (e === '') throw new ReceiveConfigError(where, 'endpoint address must be set');
        return { address: e };
      }
      const eo = e as Record<string, unknown> | null;
      if (!eo || typeof eo.address !== 'string' || eo.address === '')
        throw new ReceiveConfigError(where, 'endpoint address must be set');
      return typeof eo.az === 'string' && eo.az !== '' ? { address: eo.address, az: eo.az } : { address: eo.address };
    });
    if (
      o.algorithm !== undefined &&
      o.algorithm !== '' &&
      !HASHRING_ALGORITHMS.includes(o.algorithm as HashringAlgorithm)
    )
      throw new ReceiveConfigError(where, `unknown algorithm ${JSON.stringify(o.algorithm)}; want hashmod or ketama`);
    const tmt = o.tenant_matcher_type;
    if (tmt !== undefined && tmt !== '' && tmt !== 'exact' && tmt !== 'glob')
      throw new ReceiveConfigError(where, `unknown tenant_matcher_type ${JSON.stringify(tmt)}; want exact or glob`);
    if (o.tenants !== undefined && !(Array.isArray(o.tenants) && o.tenants.every((t) => typeof t === 'string')))
      throw new ReceiveConfigError(where, '"tenants" must be an array of strings');
    return {
      ...(typeof o.hashring === 'string' ? { hashring: o.hashring } : {}),
      ...(o.tenants ? { tenants: o.tenants as string[] } : {}),
      ...(tmt === 'glob' ? { tenantMatcherType: 'glob' as const } : {}),
      endpoints,
      ...(o.algorithm ? { algorithm: o.algorithm as HashringAlgorithm } : {}),
    };
  });
}
