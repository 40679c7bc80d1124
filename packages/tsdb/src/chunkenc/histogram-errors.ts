import { ThanosError } from '../errors.js';

/**
 * A histogram sample cannot go into the chunk as asked (code `TSDB_HISTOGRAM_APPEND`): with
 * `appendOnly` the appender must not cut or recode, or the chunk is full. Messages are
 * Prometheus's (e.g. "histogram counter reset", "histogram schema change").
 */
export class HistogramAppendError extends ThanosError {
  constructor(message: string) {
    super('TSDB_HISTOGRAM_APPEND', message);
  }
}
