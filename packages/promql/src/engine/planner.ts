/**
 * Query planning: finds every selector of an expression with the time range its evaluation will
 * read (offset, `@`, subqueries, lookback and ranges applied), so all of them can be fetched from
 * the Queryable concurrently before the synchronous evaluation starts.
 */
import { Matcher, type Queryable, type SelectHints, type SeriesSamples } from '@thanos-ts/tsdb';
import type { Call, Expr, VectorSelector } from '../parser/ast.js';
import { durationMs } from './duration-expr.js';
import { type EncodedSeriesSet, isEncodedQueryable } from './pool/encoded-series.js';

/** One selector to fetch, with Prometheus's SelectHints. */
export interface PlannedSelect {
  selector: VectorSelector;
  hints: SelectHints;
  /** For the synthetic selector of an `info()` call's info metrics: that call. */
  infoCall?: Call;
}

/** Times the planner needs. All ms. */
export interface PlanTimes {
  start: number;
  end: number;
  step: number;
  lookbackDelta: number;
  /** Step of subqueries written without one. */
  noStepSubqueryInterval: number;
  /** Resolves `@ start()`/`@ end()`. */
  queryStart: number;
  queryEnd: number;
}

/**
 * Walks `expr` and returns the selectors with their inclusive [start, end] read ranges. Duration
 * expressions (experimental) are over-approximated by a wide range.
 */
export function planSelects(expr: Expr, times: PlanTimes): PlannedSelect[] {
  const out: PlannedSelect[] = [];
  const at = (a: number | 'start' | 'end' | undefined): number | undefined =>
    a === 'start' ? times.queryStart : a === 'end' ? times.queryEnd : a;
  // Hints that depend on the ancestors: the innermost subquery's step and an enclosing
  // aggregation's grouping (only when it is the selector's direct parent, as in Prometheus).
  interface Context {
    step: number;
    grouping?: readonly string[];
    by?: boolean;
  }
  const visit = (e: Expr, start: number, end: number, func: string | undefined, ctx: Context): void => {
    const grouping = ctx.grouping === undefined ? {} : { grouping: ctx.grouping, by: ctx.by as boolean };
    switch (e.type) {
      case 'VectorSelector': {
        const t = at(e.at);
        const offset = durationMs(e.offsetExpr, e.offset, times.step);
        const s = (t ?? start) - offset;
        const en = (t ?? end) - offset;
        out.push({
          selector: e,
          hints: {
            start: s - times.lookbackDelta + 1,
            end: en + (e.smoothed ? times.lookbackDelta : 0),
            step: ctx.step,
            func,
            ...grouping,
          },
        });
        return;
      }
      case 'MatrixSelector': {
        const vs = e.vectorSelector;
        const t = at(vs.at);
        const range = durationMs(e.rangeExpr, e.range, times.step);
        const offset = durationMs(vs.offsetExpr, vs.offset, times.step);
        const s = (t ?? start) - offset;
        const en = (t ?? end) - offset;
        // anchored/smoothed windows reach one lookback delta further.
        const before = vs.anchored || vs.smoothed ? times.lookbackDelta : 0;
        const after = vs.smoothed ? times.lookbackDelta : 0;
        out.push({
          selector: vs,
          hints: { start: s - range - before + 1, end: en + after, step: ctx.step, func, range, ...grouping },
        });
        return;
      }
      case 'SubqueryExpr': {
        const t = at(e.at);
        const range = durationMs(e.rangeExpr, e.range, times.step);
        const offset = durationMs(e.offsetExpr, e.offset, times.step);
        const s = (t ?? start) - offset;
        const en = (t ?? end) - offset;
        const step = durationMs(e.stepExpr, e.step ?? 0, times.step);
        visit(e.expr, s - range, en, func, { step: step > 0 ? step : times.noStepSubqueryInterval });
        return;
      }
      case 'Call':
        for (const a of e.args) visit(a, start, end, e.func.name, { step: ctx.step });
        if (e.func.name === 'info') {
          // The info metrics: every matcher of the second argument (or target_info), read over
          // the window of the first argument's first selector. Identifying labels are applied
          // after evaluation.
          const selector = e.args[1]?.type === 'VectorSelector' ? e.args[1] : undefined;
          const matchers = selector ? [...selector.matchers] : [];
          if (!matchers.some((m) => m.name === '__name__'))
            matchers.unshift(new Matcher('=', '__name__', 'target_info'));
          let first: VectorSelector | undefined;
          const find = (x: Expr): void => {
            if (first !== undefined) return;
            if (x.type === 'VectorSelector') first = x;
            else if (x.type === 'MatrixSelector') first = x.vectorSelector;
            else if ('expr' in x && x.expr) find(x.expr as Expr);
            else if (x.type === 'Call') x.args.forEach(find);
            else if (x.type === 'BinaryExpr') {
              find(x.lhs);
              find(x.rhs);
            }
          };
          find(e.args[0] as Expr);
          const t = at(first?.at);
          const offset = first?.offset ?? 0;
          const synthetic: VectorSelector = { type: 'VectorSelector', matchers, offset: 0, pos: e.pos };
          out.push({
            infoCall: e,
            selector: synthetic,
            hints: {
              start: (t ?? start) - times.lookbackDelta + 1 - offset,
              end: (t ?? end) - offset,
              step: times.step,
              func: 'info',
            },
          });
        }
        return;
      case 'AggregateExpr':
        if (e.param) visit(e.param, start, end, undefined, { step: ctx.step });
        visit(e.expr, start, end, e.op, { step: ctx.step, grouping: e.grouping, by: !e.without });
        return;
      case 'BinaryExpr':
        visit(e.lhs, start, end, undefined, { step: ctx.step });
        visit(e.rhs, start, end, undefined, { step: ctx.step });
        return;
      case 'UnaryExpr':
      case 'ParenExpr':
      case 'StepInvariantExpr':
        visit(e.expr, start, end, func, { step: ctx.step });
        return;
      default:
        return;
    }
  };
  visit(expr, times.start, times.end, undefined, { step: times.step });
  return out;
}

/**
 * Fetches every planned selector concurrently. With `encoded` (the engine evaluates in a pool)
 * an {@link EncodedQueryable} is asked with `selectEncoded`, so its samples may stay encoded
 * until the evaluation worker decodes them.
 */
export async function fetchSelects(
  queryable: Queryable,
  plan: PlannedSelect[],
  signal: AbortSignal | undefined,
): Promise<Map<VectorSelector, SeriesSamples[]>>;
export async function fetchSelects(
  queryable: Queryable,
  plan: PlannedSelect[],
  signal: AbortSignal | undefined,
  encoded: boolean,
): Promise<Map<VectorSelector, SeriesSamples[] | EncodedSeriesSet>>;
export async function fetchSelects(
  queryable: Queryable,
  plan: PlannedSelect[],
  signal: AbortSignal | undefined,
  encoded = false,
): Promise<Map<VectorSelector, SeriesSamples[] | EncodedSeriesSet>> {
  const selectEncoded = encoded && isEncodedQueryable(queryable);
  // Identical selects (same matchers and hints, e.g. `x / x offset 0`) are fetched once.
  const inflight = new Map<string, Promise<SeriesSamples[] | EncodedSeriesSet>>();
  const results = await Promise.all(
    plan.map((p) => {
      const key = `${p.selector.matchers.map((m) => m.toString()).join(',')}|${JSON.stringify(p.hints)}`;
      let r = inflight.get(key);
      if (r === undefined) {
        r = selectEncoded
          ? queryable.selectEncoded(p.selector.matchers, p.hints, signal)
          : queryable.select(p.selector.matchers, p.hints, signal);
        inflight.set(key, r);
      }
      return r;
    }),
  );
  const data = new Map<VectorSelector, SeriesSamples[] | EncodedSeriesSet>();
  plan.forEach((p, i) => {
    data.set(p.selector, results[i] as SeriesSamples[] | EncodedSeriesSet);
  });
  return data;
}
