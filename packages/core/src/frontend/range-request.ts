import { goQuote } from '@thanos-ts/tsdb/goformat';
import { parseDuration, parseGoBool, parseTime } from '../http/params.js';
import { FrontendHTTPError } from './errors.js';

/**
 * A range query as the frontend handles it: the times it splits and aligns, the Thanos parameters
 * that change the answer (for the cache key), and the rest of the form passed on untouched.
 */
export interface RangeRequest {
  /** Request path, e.g. `/api/v1/query_range` (joined to the downstream URL's path). */
  readonly path: string;
  readonly query: string;
  /** Evaluation start and end, ms (both inclusive, as in Prometheus). */
  readonly start: number;
  readonly end: number;
  /** Resolution step, ms (> 0). */
  readonly step: number;
  /** Thanos's `dedup` (default true). */
  readonly dedup: boolean;
  /** Thanos's `partial_response`, defaulted from --query-range.partial-response. */
  readonly partialResponse: boolean;
  /** Thanos's `max_source_resolution`, ms (`auto`: step / 5). */
  readonly maxSourceResolution: number;
  /** `max_source_resolution=auto`: sent downstream as `auto`, and eligible for --query-range.request-downsampled. */
  readonly autoDownsampling?: boolean;
  /** `replicaLabels[]`, sorted (order does not change the answer). */
  readonly replicaLabels: readonly string[];
  /**
   * Every other form parameter (engine, lookback_delta, analyze, storeMatch[], timeout, …) as sent,
   * forwarded downstream unchanged; those that can change the answer also go into the cache key.
   */
  readonly other: readonly (readonly [string, string])[];
  /** Headers forwarded downstream (--query-frontend.forward-header and the tenant header). */
  readonly headers: readonly (readonly [string, string])[];
  /** Tenant the request belongs to (part of the cache key). */
  readonly tenant: string;
  /** The client sent `Cache-Control: no-store`: neither read nor write the cache. */
  readonly noStore: boolean;
  /**
   * The interval this piece was split by, ms, when it differs per request (dynamic splitting);
   * the results cache keys the piece by it. Unset: the frontend's fixed split interval.
   */
  readonly splitIntervalMs?: number;
}

/** Form parameters the frontend owns (parsed and re-encoded itself). */
const OWN = new Set([
  'query',
  'start',
  'end',
  'step',
  'dedup',
  'partial_response',
  'max_source_resolution',
  'replicaLabels[]',
]);
/** Parameters that never change a successful answer, so they stay out of the cache key. */
const KEY_NEUTRAL = new Set(['timeout', 'stats', 'limit']);

/** Prometheus's api.go: at most 11,000 points per series. */
const MAX_POINTS = 11_000;

function bad(message: string): FrontendHTTPError {
  return FrontendHTTPError.api(400, 'bad_data', message);
}

function invalidParam(name: string, err: unknown): FrontendHTTPError {
  return bad(`invalid parameter ${goQuote(name)}: ${(err as Error).message}`);
}

/** Thanos's parseEnableDedupParam / parsePartialResponseParam: Go's ParseBool or "cannot parse parameter X". */
function boolParam(form: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = form.get(name) ?? '';
  if (v === '') return dflt;
  try {
    return parseGoBool(v);
  } catch {
    throw bad(`cannot parse parameter ${name}`);
  }
}

/**
 * Reads a range query from its form values with Prometheus's validation and error texts
 * (web/api/v1/api.go queryRange) for start, end and step, and Thanos's (pkg/queryfrontend
 * queryrange_codec.go) for its own parameters. Throws {@link FrontendHTTPError} (400, bad_data).
 */
export function parseRangeRequest(
  path: string,
  form: URLSearchParams,
  ctx: {
    defaultPartialResponse: boolean;
    headers: readonly (readonly [string, string])[];
    tenant: string;
    noStore: boolean;
  },
): RangeRequest {
  let start: number;
  let end: number;
  try {
    start = parseTime(form.get('start') ?? '');
  } catch (err) {
    throw invalidParam('start', err);
  }
  try {
    end = parseTime(form.get('end') ?? '');
  } catch (err) {
    throw invalidParam('end', err);
  }
  if (end < start) throw invalidParam('end', new Error('end timestamp must not be before start time'));
  let step: number;
  try {
    step = parseDuration(form.get('step') ?? '');
  } catch (err) {
    throw invalidParam('step', err);
  }
  if (step <= 0)
    throw invalidParam(
      'step',
      new Error('zero or negative query resolution step widths are not accepted. Try a positive integer'),
    );
  // Go divides durations as integers: 11,000.5 points is still 11,000.
  if (Math.trunc((end - start) / step) > MAX_POINTS)
    throw bad(
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  const dedup = boolParam(form, 'dedup', true);
  const partialResponse = boolParam(form, 'partial_response', ctx.defaultPartialResponse);
  let maxSourceResolution = 0;
  const res = form.get('max_source_resolution') ?? '';
  if (res === 'auto') maxSourceResolution = Math.trunc(step / 5);
  else if (res !== '') {
    try {
      maxSourceResolution = parseDuration(res);
    } catch {
      throw bad('cannot parse parameter max_source_resolution');
    }
    if (maxSourceResolution < 0) throw bad('negative max_source_resolution is not accepted. Try a positive integer');
  }
  const other: [string, string][] = [];
  for (const [k, v] of form) if (!OWN.has(k)) other.push([k, v]);
  return {
    path,
    query: form.get('query') ?? '',
    start,
    end,
    step,
    dedup,
    partialResponse,
    maxSourceResolution,
    autoDownsampling: res === 'auto',
    replicaLabels: form.getAll('replicaLabels[]').sort(),
    other,
    headers: ctx.headers,
    tenant: ctx.tenant,
    noStore: ctx.noStore,
  };
}

/** Thanos's encodeTime / encodeDurationMillis: seconds with Go's shortest float formatting. */
export function encodeSeconds(ms: number): string {
  return String(ms / 1000);
}

/**
 * The form a piece is sent downstream with (Thanos's EncodeRequest): start, end, step, query and
 * the Thanos parameters spelled out, then every other parameter as the client sent it, minus
 * `stats` (per-piece statistics cannot be merged into one answer).
 */
export function encodeRangeRequest(r: RangeRequest): URLSearchParams {
  const p = new URLSearchParams();
  p.set('query', r.query);
  p.set('start', encodeSeconds(r.start));
  p.set('end', encodeSeconds(r.end));
  p.set('step', encodeSeconds(r.step));
  p.set('dedup', String(r.dedup));
  p.set('partial_response', String(r.partialResponse));
  // Thanos's EncodeRequest: `auto` stays `auto` (the querier picks step / 5 itself).
  if (r.autoDownsampling) p.set('max_source_resolution', 'auto');
  else if (r.maxSourceResolution !== 0) p.set('max_source_resolution', encodeSeconds(r.maxSourceResolution));
  for (const l of r.replicaLabels) p.append('replicaLabels[]', l);
  for (const [k, v] of r.other) if (k !== 'stats') p.append(k, v);
  return p;
}

/** Downsampling levels as Thanos's cache key generator counts them: 1h, 5m, raw. */
const RESOLUTIONS = [3600_000, 300_000, 0];

/**
 * The results-cache key of a piece (Thanos's thanosCacheKeyGenerator.generateQueryRangeCacheKey):
 * tenant, query, step, split interval and the interval the piece starts in, the downsampling level
 * the resolution selects, then every parameter that can change the answer. Unlike Thanos it also
 * holds `start % step`: two queries in one interval whose steps are equal but offset evaluate at
 * different timestamps, and sharing an entry would answer one with the other's samples.
 */
export function rangeCacheKey(r: RangeRequest, splitIntervalMs: number): string {
  return keyOf('fe', r, splitIntervalMs, `${r.step}`, `${stepPhase(r)}`);
}

/**
 * The key of a piece's step index: the same fields as {@link rangeCacheKey} but the step and its
 * phase, so every step of one query in one interval shares it. Its entry lists which steps (and
 * phases) have entries there, so a coarser dashboard step looks up only finer entries that exist.
 */
export function rangeStepIndexKey(r: RangeRequest, splitIntervalMs: number): string {
  return keyOf('fe-steps', r, splitIntervalMs, '', '');
}

/** `start % step`: which grid of its step a request evaluates on. */
export function stepPhase(r: RangeRequest): number {
  return ((r.start % r.step) + r.step) % r.step;
}

function keyOf(kind: string, r: RangeRequest, splitIntervalMs: number, step: string, phase: string): string {
  let level = 0;
  while (level < RESOLUTIONS.length && (RESOLUTIONS[level] as number) > r.maxSourceResolution) level++;
  const rest = r.other
    .filter(([k]) => !KEY_NEUTRAL.has(k))
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join('&');
  return [
    kind,
    r.tenant,
    r.query,
    step,
    splitIntervalMs,
    Math.floor(r.start / splitIntervalMs),
    level,
    r.dedup,
    r.partialResponse,
    r.replicaLabels.join(','),
    phase,
    rest,
  ].join(':');
}

/** A copy of `r` over another time range (and optionally another query text). */
export function withRange(r: RangeRequest, start: number, end: number, query = r.query): RangeRequest {
  return { ...r, start, end, query };
}
