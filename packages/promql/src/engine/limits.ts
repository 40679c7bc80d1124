/**
 * Engine limits and their defaults (Prometheus's defaults where it has one).
 */

/** Prometheus's HTTP API cap on points per series in a range query. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** Default lookback delta of instant selectors: 5 minutes. */
export const DEFAULT_LOOKBACK_DELTA = 300_000;

/** Default most samples a query may hold at once (Prometheus's --query.max-samples). */
export const DEFAULT_MAX_SAMPLES = 50_000_000;

/** Default query timeout: 2 minutes (Prometheus's --query.timeout). */
export const DEFAULT_TIMEOUT = 120_000;

/** Default step of subqueries without one: 1 minute (Prometheus's default evaluation interval). */
export const DEFAULT_NO_STEP_SUBQUERY_INTERVAL = 60_000;
