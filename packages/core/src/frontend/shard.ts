import { type Expr, inspect, type ParseOptions, parseExpr } from '@thanos-ts/promql';
import { goQuote } from '@thanos-ts/tsdb/goformat';
import { LRUCache } from 'lru-cache';
import type { ShardInfo } from '../storeapi/store-api.js';

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
export type QueryShard = ShardInfo;
// The querier filters by shard too, so parsing and matching live with the StoreAPI's ShardInfo.
export { matchesShard, parseShardInfo } from '../storeapi/shard.js';

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
export function analyzeShardable(query: string, parse: ParseOptions = {}): ShardAnalysis {
  let expr: Expr;
  try {
    expr = parseExpr(query, parse);
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
export function createShardAnalyzer(size = 256, parse: ParseOptions = {}): (query: string) => ShardAnalysis {
  const cache = new LRUCache<string, ShardAnalysis>({ max: size });
  return (query) => {
    let a = cache.get(query);
    if (!a) {
      a = analyzeShardable(query, parse);
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

/** Go's labels.String() of a JSON metric: `{a="1", b="2"}`, names sorted (Thanos's vector merge order). */
export function metricString(m: Readonly<Record<string, string>>): string {
  return `{${Object.keys(m)
    .sort()
    .map((k) => `${k}=${goQuote(m[k] as string)}`)
    .join(', ')}}`;
}
