/**
 * The PromQL engine: parses a query, plans which samples every selector needs, fetches them all
 * concurrently from a Queryable, then evaluates synchronously over typed columns with
 * Prometheus 3 semantics (left-open lookback and range windows, `@`, negative offsets, delayed
 * `__name__` removal).
 */
import type { Queryable } from '@thanos-ts/tsdb';
import { type Expr, exprType } from '../parser/ast.js';
import { createMatcherCache, parseExpr } from '../parser/parser.js';
import { QueryCanceledError, QueryEvaluationError, QueryTimeoutError, TooManyPointsError } from './errors.js';
import { type EvaluateInput, evaluate } from './evaluate.js';
import {
  DEFAULT_LOOKBACK_DELTA,
  DEFAULT_MAX_SAMPLES,
  DEFAULT_NO_STEP_SUBQUERY_INTERVAL,
  DEFAULT_TIMEOUT,
  MAX_POINTS_PER_SERIES,
} from './limits.js';
import { fetchSelects, planSelects } from './planner.js';
import type { EvaluationPool } from './pool/evaluation-pool.js';
import type { Grid, QueryResult } from './types.js';

/** Options of `createEngine`. Durations are milliseconds. */
export interface EngineOptions {
  /** How far back an instant selector looks for the latest sample; default 5 minutes. */
  lookbackDelta?: number;
  /** Most samples a query may hold in memory at once; default 50,000,000 (Prometheus's default). */
  maxSamples?: number;
  /** Longest a query may run; default 2 minutes (Prometheus's --query.timeout). */
  timeout?: number;
  /** Accept experimental functions (limitk, limit_ratio, mad_over_time, sort_by_label, …); default false. */
  enableExperimentalFunctions?: boolean;
  /** Accept experimental duration arithmetic in ranges, steps and offsets (`x[5m + step()]`); default false. */
  enableDurationExpressions?: boolean;
  /** Accept the experimental `anchored` and `smoothed` range modifiers; default false. */
  enableExtendedRangeSelectors?: boolean;
  /** Step of subqueries written without one, e.g. `x[1h:]`; default 1 minute (Prometheus's evaluation interval). */
  noStepSubqueryInterval?: number;
  /**
   * Evaluate in these worker threads instead of on the calling thread (see
   * `createEvaluationPool`). Parsing, planning and fetching stay on the calling thread; the
   * fetched samples are transferred to a worker and the result transferred back. The pool is
   * not owned by the engine: close it yourself. Default: evaluate on the calling thread.
   */
  pool?: EvaluationPool;
}

/** Per-query options. */
export interface QueryOptions {
  signal?: AbortSignal;
  /** Overrides the engine's lookback delta for this query. */
  lookbackDelta?: number;
}

/** A PromQL engine. Queries accept a query string or an already parsed expression. */
export interface Engine {
  /** Evaluates `query` at `time` (ms since the epoch, or a Date). */
  instantQuery(
    queryable: Queryable,
    query: string | Expr,
    time: number | Date,
    opts?: QueryOptions,
  ): Promise<QueryResult>;
  /** Evaluates `query` at `start`, `start+step`, … ≤ `end` (ms or Dates; `step` in ms). */
  rangeQuery(
    queryable: Queryable,
    query: string | Expr,
    start: number | Date,
    end: number | Date,
    step: number,
    opts?: QueryOptions,
  ): Promise<QueryResult>;
}

export { MAX_POINTS_PER_SERIES };

const ms = (t: number | Date): number => (typeof t === 'number' ? t : t.getTime());

/** Creates an engine. Engines hold no state between queries; one can serve many concurrently. */
export function createEngine(opts: EngineOptions = {}): Engine {
  const lookbackDelta = opts.lookbackDelta ?? DEFAULT_LOOKBACK_DELTA;
  const maxSamples = opts.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const timeout = opts.timeout ?? DEFAULT_TIMEOUT;
  const noStepSubqueryInterval = opts.noStepSubqueryInterval ?? DEFAULT_NO_STEP_SUBQUERY_INTERVAL;
  const matcherCache = createMatcherCache();
  const parse = (q: string | Expr): Expr =>
    typeof q === 'string'
      ? parseExpr(q, {
          matcherCache,
          enableExperimentalFunctions: opts.enableExperimentalFunctions ?? false,
          enableExperimentalDurationExpr: opts.enableDurationExpressions ?? false,
          enableExtendedRangeSelectors: opts.enableExtendedRangeSelectors ?? false,
        })
      : q;

  const run = async (
    queryable: Queryable,
    expr: Expr,
    grid: Grid,
    instant: boolean,
    qopts: QueryOptions | undefined,
    requestedEnd?: number,
  ): Promise<QueryResult> => {
    const signal = qopts?.signal;
    const lookback = qopts?.lookbackDelta ?? lookbackDelta;
    const deadline = Date.now() + timeout;
    if (signal?.aborted) throw new QueryCanceledError('query queue');
    const start = grid.start;
    const end = grid.start + (grid.n - 1) * grid.step;
    // `@ end()` means the requested end, which need not fall on a step.
    const queryEnd = requestedEnd ?? end;
    const plan = planSelects(expr, {
      start,
      end,
      step: instant ? 0 : grid.step,
      lookbackDelta: lookback,
      noStepSubqueryInterval,
      queryStart: start,
      queryEnd,
    });
    const common = {
      expr,
      grid,
      instant,
      ...(queryEnd === end ? {} : { queryEnd }),
      infoSelectors: new Map(plan.flatMap((p) => (p.infoCall ? [[p.infoCall, p.selector] as const] : []))),
      lookbackDelta: lookback,
      maxSamples,
      noStepSubqueryInterval,
      deadline,
      signal,
    };
    if (opts.pool !== undefined) {
      // Samples may stay encoded: the worker decodes them (see pool/encoded-series.ts).
      const data = await withDeadline(fetchSelects(queryable, plan, signal, true), deadline, signal);
      return opts.pool.evaluate({ ...common, data });
    }
    const data = await withDeadline(fetchSelects(queryable, plan, signal), deadline, signal);
    const input: EvaluateInput = { ...common, data };
    return evaluate(input);
  };

  return {
    async instantQuery(queryable, query, time, qopts) {
      const expr = parse(query);
      return run(queryable, expr, { start: ms(time), step: 1, n: 1 }, true, qopts);
    },
    async rangeQuery(queryable, query, startIn, endIn, step, qopts) {
      const start = ms(startIn);
      const end = ms(endIn);
      if (!(step > 0))
        throw new QueryEvaluationError(
          'zero or negative query resolution step widths are not accepted. Try a positive integer',
          'INVALID_ARGUMENT',
        );
      if (end < start)
        throw new QueryEvaluationError('end timestamp must not be before start time', 'INVALID_ARGUMENT');
      // Integer division, as Go divides durations.
      if (Math.floor((end - start) / step) > MAX_POINTS_PER_SERIES) throw new TooManyPointsError();
      const expr = parse(query);
      const type = exprType(expr);
      if (type !== 'vector' && type !== 'scalar') {
        throw new QueryEvaluationError(
          `invalid expression type "${type === 'matrix' ? 'range vector' : type}" for range query, must be Scalar or instant Vector`,
          'INVALID_ARGUMENT',
        );
      }
      const n = Math.floor((end - start) / step) + 1;
      return run(queryable, expr, { start, step, n }, false, qopts, end);
    },
  };
}

async function withDeadline<T>(p: Promise<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const guards = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new QueryTimeoutError('query preparation')), Math.max(0, deadline - Date.now()));
    if (signal) {
      onAbort = () => reject(new QueryCanceledError('query preparation'));
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([p, guards]);
  } finally {
    clearTimeout(timer);
    if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  }
}
