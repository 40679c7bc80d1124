import { type Expr, formatExpr, inspect, type ParseOptions, parseExpr } from '@thanos-ts/promql';
import { type RangeRequest, withRange } from './range-request.js';

/**
 * Thanos's StepAlignMiddleware: start and end rounded down to a multiple of the step (Go's integer
 * division, so toward zero), which makes repeated dashboard queries hit the same cache entries.
 */
export function alignToStep(r: RangeRequest): RangeRequest {
  return withRange(r, Math.trunc(r.start / r.step) * r.step, Math.trunc(r.end / r.step) * r.step);
}

/**
 * The last evaluation timestamp before the interval boundary after `t` that is a whole number of
 * steps from `t` (Thanos's nextIntervalBoundary). Worked example, interval 24h, step 10h, t=0:
 * the next boundary is 24h; 24h - (24h % 10h) = 20h, the last step before it.
 */
export function nextIntervalBoundary(t: number, step: number, interval: number): number {
  const startOfNext = (Math.floor(t / interval) + 1) * interval;
  let target = startOfNext - ((startOfNext - t) % step);
  if (target === startOfNext) target -= step;
  return target;
}

/**
 * Splits a range query into pieces that each stay within one split interval (Thanos's splitQuery):
 * every piece starts on an evaluation timestamp of the original query, and the pieces' timestamps
 * together are exactly the original's. `@ start()` / `@ end()` are replaced by the original
 * range's times first, so every piece evaluates them as the whole query would. `parse` says which
 * PromQL the frontend reads (experimental and x- functions; default: Prometheus's stable PromQL).
 */
export function splitRangeRequest(r: RangeRequest, intervalMs: number, parse: ParseOptions = {}): RangeRequest[] {
  if (r.start === r.end) return [r];
  const query = resolveAtModifiers(r.query, r.start, r.end, parse);
  const out: RangeRequest[] = [];
  for (let start = r.start; start < r.end; ) {
    let end = nextIntervalBoundary(start, r.step, intervalMs);
    if (end + r.step >= r.end) end = r.end;
    out.push(withRange(r, start, end, query));
    start = end + r.step;
  }
  return out;
}

function atNodes(e: Expr, fn: (n: { at?: number | 'start' | 'end' }) => void): void {
  inspect(e, (n) => {
    if (n.type === 'VectorSelector' || n.type === 'SubqueryExpr') fn(n);
    return true;
  });
}

/**
 * The query with `@ start()` and `@ end()` replaced by the given times (Cortex's
 * EvaluateAtModifierFunction). Queries without `@`, or that do not parse (the downstream will say
 * why), are returned unchanged, so their text and cache keys stay as the client wrote them.
 */
export function resolveAtModifiers(query: string, start: number, end: number, parse: ParseOptions = {}): string {
  if (!query.includes('@')) return query;
  let expr: Expr;
  try {
    expr = parseExpr(query, parse);
  } catch {
    return query;
  }
  let changed = false;
  atNodes(expr, (n) => {
    if (n.at === 'start') {
      n.at = start;
      changed = true;
    } else if (n.at === 'end') {
      n.at = end;
      changed = true;
    }
  });
  return changed ? formatExpr(expr) : query;
}

/**
 * Whether an answer may be cached (Cortex's isAtModifierCachable and isOffsetCachable): not when an
 * `@` time lies after `maxCacheTime` (the data there may still change), nor with a negative offset
 * (it reads the future relative to each step). Unparsable queries are not cached. Cortex also
 * refuses an `@` after the request's own end; after splitting that is every piece but the last of
 * an `@ end()` query, and since the `@` time is part of the (resolved) query text and therefore of
 * the key, such pieces are as stable as any other once the time is older than max freshness.
 * `end` is kept for callers that want Cortex's stricter rule.
 */
export function isCacheableQuery(
  query: string,
  end: number,
  maxCacheTime: number,
  strict = false,
  parse: ParseOptions = {},
): boolean {
  const hasAt = query.includes('@');
  const hasOffset = query.includes('offset');
  if (!hasAt && !hasOffset) return true;
  let expr: Expr;
  try {
    expr = parseExpr(query, parse);
  } catch {
    return false;
  }
  let ok = true;
  inspect(expr, (n) => {
    if (n.type === 'VectorSelector' || n.type === 'SubqueryExpr') {
      if (typeof n.at === 'number' && ((strict && n.at > end) || n.at > maxCacheTime)) ok = false;
      if (n.offset < 0) ok = false;
    }
    return ok;
  });
  return ok;
}
