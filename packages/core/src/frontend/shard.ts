import { type Expr, inspect, parseExpr } from '@thanos-ts/promql';
import { goQuote } from '@thanos-ts/tsdb/goformat';
import { LRUCache } from 'lru-cache';
import { xxhash64 } from '../cache/xxhash.js';

/**
 * How a query can be split into shards over series (Thanos's querysharding.QueryAnalysis): every
 * series whose `labels` (`by`) or whose labels other than `labels` (`without`) hash alike lands in
 * one shard, and the query's answer is the union of the shards' answers.
 */
export interface ShardAnalysis {
  /** True when the query can be sharded (a non-empty `labels`). */
  readonly shardable: boolean;
  /** True: hash the series' values of `labels`; false: hash every label except `labels`. */
  readonly by: boolean;
  /** The sharding labels, sorted; empty when not shardable. */
  readonly labels: readonly string[];
}

/** One shard of a query, as the querier receives it in `shard_info` (Thanos's storepb.ShardInfo). */
export interface QueryShard {
  readonly shardIndex: number;
  readonly totalShards: number;
  readonly by: boolean;
  readonly labels: readonly string[];
}

const NOT_SHARDABLE: ShardAnalysis = { shardable: false, by: false, labels: [] };
const METRIC_NAME = '__name__';

/**
 * The labels an analysis is scoped to while walking the query. `undefined` labels mean "nothing
 * seen yet" and `[]` "seen, nothing left" — Thanos keeps the same nil/empty distinction.
 */
interface Scope {
  labels: string[] | undefined;
  by: boolean;
}

function intersect(a: string[], b: string[]): string[] {
  if (a.length === 0 || b.length === 0) return [];
  const inB = new Set(b);
  return [...new Set(a)].filter((x) => inB.has(x));
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

function minus(a: string[] | undefined, b: string[]): string[] | undefined {
  if (a === undefined) return undefined;
  const drop = new Set(b);
  return [...new Set(a)].filter((x) => !drop.has(x));
}

/** Thanos's QueryAnalysis.scopeToLabels: narrows the scope with one more grouping. */
function scopeTo(q: Scope, labels: string[], by: boolean): Scope {
  if (q.labels === undefined) return { labels, by };
  if (q.by && by) return { labels: intersect(q.labels, labels), by: true };
  if (!q.by && !by) return { labels: union(q.labels, labels), by: false };
  // By and without at once: keep the `by` labels that are not in the `without` set.
  const [byLabels, withoutLabels] = q.by ? [q.labels, labels] : [labels, q.labels];
  return { labels: minus(byLabels, withoutLabels), by: true };
}

/** The string argument at `i` of a call, through parentheses (Prometheus's stringFromArg). */
function stringArg(args: readonly Expr[], i: number): string | undefined {
  let e = args[i];
  while (e && (e.type === 'ParenExpr' || e.type === 'StepInvariantExpr')) e = e.expr;
  return e?.type === 'StringLiteral' ? e.val : undefined;
}

/**
 * Decides whether and by which labels a PromQL query can be sharded, with Thanos's rules
 * (pkg/querysharding/analyzer.go): `absent`, `absent_over_time` and `scalar` make it
 * unshardable; every aggregation and every vector-matching binary operation narrows the labels
 * (`by`/`on` to the labels in common, `without`/`ignoring` to the union, plus `__name__` for
 * `ignoring`); `histogram_quantile` excludes `le`; labels written by `label_replace` /
 * `label_join` are excluded. Shardable when labels are left.
 *
 * Two rules make sure a shard always holds whole groups, where Thanos's can split one: `without`
 * sharding never hashes `__name__` (functions such as `rate` drop it, so series of different
 * names fall into one group: `sum without (instance) (rate({__name__=~"a|b"}[5m]))`), and
 * `by (__name__)` does not shard by the name for the same reason. Unparsable queries are not
 * shardable (the downstream says why they fail).
 */
export function analyzeShardable(query: string): ShardAnalysis {
  let expr: Expr;
  try {
    expr = parseExpr(query);
  } catch {
    return NOT_SHARDABLE;
  }
  let scope: Scope = { labels: undefined, by: false };
  const dynamic: string[] = [];
  let shardable = true;
  inspect(expr, (n) => {
    if (!shardable) return false;
    switch (n.type) {
      case 'Call': {
        const name = n.func.name;
        if (name === 'label_join' || name === 'label_replace') {
          const dst = stringArg(n.args, 1);
          if (dst !== undefined) dynamic.push(dst);
        } else if (name === 'absent' || name === 'absent_over_time' || name === 'scalar') {
          shardable = false;
          return false;
        } else if (name === 'histogram_quantile') scope = scopeTo(scope, ['le'], false);
        break;
      }
      case 'BinaryExpr':
        if (n.matching) {
          const labels = n.matching.on ? [...n.matching.labels] : [...n.matching.labels, METRIC_NAME];
          scope = scopeTo(scope, labels, n.matching.on);
        }
        break;
      case 'AggregateExpr':
        scope = scopeTo(scope, [...n.grouping], !n.without);
        break;
    }
    return true;
  });
  if (!shardable) return NOT_SHARDABLE;
  if (dynamic.length > 0) scope = scopeTo(scope, dynamic, false);
  let labels = scope.labels ?? [];
  if (scope.by) labels = labels.filter((l) => l !== METRIC_NAME);
  if (labels.length === 0) return NOT_SHARDABLE;
  if (!scope.by && !labels.includes(METRIC_NAME)) labels = [...labels, METRIC_NAME];
  return { shardable: true, by: scope.by, labels: [...new Set(labels)].sort() };
}

/**
 * {@link analyzeShardable} with Thanos's cache of the last 256 queries (dashboards repeat the
 * same few queries; parsing them again per request is wasted work).
 */
export function createShardAnalyzer(size = 256): (query: string) => ShardAnalysis {
  const cache = new LRUCache<string, ShardAnalysis>({ max: size });
  return (query) => {
    let a = cache.get(query);
    if (!a) {
      a = analyzeShardable(query);
      cache.set(query, a);
    }
    return a;
  };
}

/** The `totalShards` shards of an analysed query, in shard index order. */
export function queryShards(a: ShardAnalysis, totalShards: number): QueryShard[] {
  const out: QueryShard[] = [];
  for (let i = 0; i < totalShards; i++) out.push({ shardIndex: i, totalShards, by: a.by, labels: a.labels });
  return out;
}

/**
 * The `shard_info` form value of a shard as Thanos's frontend sends it: Go's json.Marshal of
 * storepb.ShardInfo, whose `omitempty` fields leave out a zero index, `by: false` and no labels.
 */
export function encodeShardInfo(s: QueryShard): string {
  const o: Record<string, unknown> = {};
  if (s.shardIndex !== 0) o.shard_index = s.shardIndex;
  if (s.totalShards !== 0) o.total_shards = s.totalShards;
  if (s.by) o.by = true;
  if (s.labels.length > 0) o.labels = s.labels;
  return JSON.stringify(o);
}

/**
 * Reads a `shard_info` form value (the querier's side of {@link encodeShardInfo}); undefined for
 * an empty value. Throws with Thanos's text when it is not a ShardInfo JSON object.
 */
export function parseShardInfo(value: string): QueryShard | undefined {
  if (value === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (err) {
    throw new Error(`could not unmarshal parameter shard_info: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('could not unmarshal parameter shard_info: not a JSON object');
  const d = doc as Record<string, unknown>;
  const int = (v: unknown) => (v === undefined || v === null ? 0 : Number(v));
  const shardIndex = int(d.shard_index);
  const totalShards = int(d.total_shards);
  if (!Number.isInteger(shardIndex) || !Number.isInteger(totalShards))
    throw new Error('could not unmarshal parameter shard_info: shard_index and total_shards must be integers');
  const labels = Array.isArray(d.labels) ? d.labels.map(String) : [];
  return { shardIndex, totalShards, by: d.by === true, labels };
}

const SEP = 0xff;
const utf8 = new TextEncoder();

/**
 * Whether a series belongs to a shard (Thanos's storepb.ShardMatcher): XXH64 over
 * `name 0xff value 0xff` of the sharding labels (`by`) or of every other label (`without`), in
 * label order, modulo the shard count. Every series matches an unsharded request (no shard or
 * `totalShards` < 1). `labels` is the series' label set (any order; hashed sorted by name).
 */
export function matchesShard(labels: Readonly<Record<string, string>>, shard: QueryShard | undefined): boolean {
  if (!shard || shard.totalShards < 1) return true;
  const set = new Set(shard.labels);
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const name of Object.keys(labels).sort()) {
    if (set.has(name) !== shard.by) continue;
    const n = utf8.encode(name);
    const v = utf8.encode(labels[name] as string);
    parts.push(n, v);
    size += n.length + v.length + 2;
  }
  const buf = new Uint8Array(size);
  let off = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const n = parts[i] as Uint8Array;
    const v = parts[i + 1] as Uint8Array;
    buf.set(n, off);
    off += n.length;
    buf[off++] = SEP;
    buf.set(v, off);
    off += v.length;
    buf[off++] = SEP;
  }
  return xxhash64(buf) % BigInt(shard.totalShards) === BigInt(shard.shardIndex);
}

/** Go's labels.String() of a JSON metric: `{a="1", b="2"}`, names sorted (Thanos's vector merge order). */
export function metricString(m: Readonly<Record<string, string>>): string {
  return `{${Object.keys(m)
    .sort()
    .map((k) => `${k}=${goQuote(m[k] as string)}`)
    .join(', ')}}`;
}
