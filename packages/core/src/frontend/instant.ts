import { type Expr, type ParseOptions, parseExpr } from '@thanos-ts/promql';
import { FrontendHTTPError } from './errors.js';
import { decodeMatrixResponse, encodeMatrixResponse, mergeMatrices } from './matrix.js';
import { metricString } from './shard.js';

/**
 * How the merged samples of a sharded instant query are ordered (Thanos's sortPlanForQuery):
 * `merge` keeps the order the shards answered in (topk, bottomk, limitk, limit_ratio at the
 * root), `asc`/`desc` sorts by value (`sort`/`sort_desc` at the root or on either side of a root
 * binary operation), `labels` by the metric's label string (everything else), and `unshardable`
 * marks `sort_by_label` / `sort_by_label_desc` there, whose order no merge can rebuild (Thanos
 * sorts those by value, which differs from the unsharded answer; thanos-ts does not shard them).
 */
export type InstantSortPlan = 'merge' | 'asc' | 'desc' | 'labels' | 'unshardable';

function sortOf(e: Expr): InstantSortPlan | undefined {
  if (e.type !== 'Call') return undefined;
  switch (e.func.name) {
    case 'sort':
      return 'asc';
    case 'sort_desc':
      return 'desc';
    case 'sort_by_label':
    case 'sort_by_label_desc':
      return 'unshardable';
    default:
      return undefined;
  }
}

/** The {@link InstantSortPlan} of a query; `labels` for queries that do not parse. */
export function instantSortPlan(query: string, parse: ParseOptions = {}): InstantSortPlan {
  let e: Expr;
  try {
    e = parseExpr(query, parse);
  } catch {
    return 'labels';
  }
  if (e.type === 'AggregateExpr' && ['topk', 'bottomk', 'limitk', 'limit_ratio'].includes(e.op)) return 'merge';
  const root = sortOf(e);
  if (root) return root;
  if (e.type === 'BinaryExpr') return sortOf(e.lhs) ?? sortOf(e.rhs) ?? 'labels';
  return 'labels';
}

interface InstantDoc {
  status?: unknown;
  data?: { resultType?: unknown; result?: unknown };
  warnings?: unknown;
  infos?: unknown;
}

interface VectorSample {
  metric?: Record<string, string>;
  value?: [number, string];
  histogram?: [number, unknown];
}

function decode(body: string): InstantDoc {
  let doc: InstantDoc;
  try {
    doc = JSON.parse(body) as InstantDoc;
  } catch (err) {
    throw FrontendHTTPError.api(500, 'internal', `error decoding response: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || doc.status !== 'success' || typeof doc.data !== 'object')
    throw FrontendHTTPError.api(500, 'internal', 'error decoding response: not a Prometheus success response');
  return doc;
}

function distinct(docs: readonly InstantDoc[], field: 'warnings' | 'infos'): string[] {
  const out = new Set<string>();
  for (const d of docs) if (Array.isArray(d[field])) for (const w of d[field] as unknown[]) out.add(String(w));
  return [...out];
}

function sampleTime(s: VectorSample): number {
  return Number((s.value ?? s.histogram)?.[0] ?? 0);
}

function sampleValue(s: VectorSample): number {
  return s.value ? Number(s.value[1]) : 0;
}

/**
 * Merges the answers of the shards of one instant query into one Prometheus answer (Thanos's
 * queryInstantCodec.MergeResponse): vectors joined by series (the later sample wins if two shards
 * hold one series), ordered by {@link instantSortPlan}; matrices (a subquery at the root) merged
 * as range answers; scalars and strings (never sharded) as the first shard sent them. Warnings and
 * infos are kept once each. Throws FrontendHTTPError (500) for a body that is not a success answer.
 */
export function mergeInstantAnswers(query: string, bodies: readonly string[], parse: ParseOptions = {}): string {
  if (bodies.length === 1) return bodies[0] as string;
  const docs = bodies.map(decode);
  const type = docs[0]?.data?.resultType;
  if (type === 'matrix') return encodeMatrixResponse(mergeMatrices(bodies.map(decodeMatrixResponse))).toString();
  if (type !== 'vector') return bodies[0] as string;
  const byMetric = new Map<string, VectorSample>();
  for (const d of docs) {
    if (d.data?.resultType !== 'vector' || !Array.isArray(d.data.result)) continue;
    for (const s of d.data.result as VectorSample[]) {
      const key = metricString(s.metric ?? {});
      const have = byMetric.get(key);
      if (!have || sampleTime(have) < sampleTime(s)) byMetric.set(key, s);
    }
  }
  let samples = [...byMetric.entries()];
  const plan = instantSortPlan(query, parse);
  if (plan === 'asc') samples.sort((a, b) => sampleValue(a[1]) - sampleValue(b[1]));
  else if (plan === 'desc') samples.sort((a, b) => sampleValue(b[1]) - sampleValue(a[1]));
  else if (plan !== 'merge') samples = samples.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let out = `{"status":"success","data":{"resultType":"vector","result":[${samples.map(([, s]) => JSON.stringify(s)).join(',')}]}`;
  const warnings = distinct(docs, 'warnings');
  const infos = distinct(docs, 'infos');
  if (warnings.length > 0) out += `,"warnings":${JSON.stringify(warnings)}`;
  if (infos.length > 0) out += `,"infos":${JSON.stringify(infos)}`;
  return `${out}}`;
}
