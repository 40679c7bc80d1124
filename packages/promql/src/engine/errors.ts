import { ThanosError } from '@thanos-ts/tsdb';

/**
 * A query failed while being evaluated (Prometheus's `ev.errorf`): duplicate label sets,
 * many-to-many matching, invalid parameters. The message is Prometheus's, word for word, so
 * clients and conformance scripts can match on it.
 */
export class QueryEvaluationError extends ThanosError {
  constructor(message: string, code = 'PROMQL_EVAL') {
    super(code, message);
  }
}

/** The query would hold more samples in memory than `maxSamples` allows. */
export class TooManySamplesError extends QueryEvaluationError {
  constructor(env = 'query execution') {
    super(`query processing would load too many samples into memory in ${env}`, 'PROMQL_TOO_MANY_SAMPLES');
  }
}

/** The query ran longer than the engine's `timeout`. */
export class QueryTimeoutError extends QueryEvaluationError {
  constructor(env = 'expression evaluation') {
    super(`query timed out in ${env}`, 'PROMQL_TIMEOUT');
  }
}

/** The caller aborted the query through its AbortSignal. */
export class QueryCanceledError extends QueryEvaluationError {
  constructor(env = 'expression evaluation') {
    super(`query was canceled in ${env}`, 'PROMQL_CANCELED');
  }
}

/** A range query asks for more than 11,000 points per series (Prometheus's HTTP API limit). */
export class TooManyPointsError extends QueryEvaluationError {
  constructor() {
    super(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      'PROMQL_TOO_MANY_POINTS',
    );
  }
}

/** The query uses something this engine does not evaluate yet (native histograms, `info`). */
export class UnsupportedQueryError extends QueryEvaluationError {
  constructor(what: string) {
    super(`${what} is not supported by this engine`, 'PROMQL_UNSUPPORTED');
  }
}

/** A query was handed to an evaluation pool after `close()`. */
export class EvaluationPoolClosedError extends QueryEvaluationError {
  constructor() {
    super('evaluation pool is closed', 'PROMQL_POOL_CLOSED');
  }
}

/** An evaluation pool's queue already holds `maxQueue` queries waiting for a worker. */
export class EvaluationQueueFullError extends QueryEvaluationError {
  constructor(maxQueue: number) {
    super(`evaluation queue is full (${maxQueue} queries waiting)`, 'PROMQL_POOL_QUEUE_FULL');
  }
}

/**
 * An evaluation worker failed outside the evaluator's own errors (it crashed, ran out of memory,
 * or threw something unexpected). `cause` holds what the worker reported.
 */
export class EvaluationWorkerError extends QueryEvaluationError {
  constructor(detail: string, options?: ErrorOptions) {
    super(`evaluation worker: ${detail}`, 'PROMQL_WORKER');
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
