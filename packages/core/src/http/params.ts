import type { IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '@thanos-ts/tsdb';
import { DurationSyntaxError, goQuote, parsePromDuration as parseModelDuration } from '@thanos-ts/tsdb/goformat';

/**
 * Prometheus's default start of series/labels requests (its MinTime: math.MinInt64/1000 +
 * 62135596801 seconds), ms.
 */
export const API_MIN_TIME = -9.223309901257974e18;
/** Prometheus's default end of series/labels requests (its MaxTime), ms. */
export const API_MAX_TIME = 9.223309901257974e18;

// Go's time.RFC3339Nano layout as time.Parse applies it: upper-case T and Z only.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses a time like Prometheus's HTTP API: float seconds since the epoch (rounded to ms) or
 * RFC 3339 with optional fractional seconds. Returns ms.
 */
export function parseTime(s: string): number {
  const trimmed = s;
  if (isGoFloat(trimmed)) {
    const t = Number(trimmed);
    if (Number.isFinite(t)) {
      const sec = Math.trunc(t);
      const frac = Math.round((t - sec) * 1000) / 1000;
      return sec * 1000 + Math.round(frac * 1000);
    }
  }
  const m = RFC3339.exec(trimmed);
  if (m) {
    const [, y, mo, d, h, mi, se, frac, zone] = m;
    const date = new Date(0);
    // setUTCFullYear keeps years below 100 as they are (Date.UTC would map them to 19xx).
    date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
    date.setUTCHours(Number(h), Number(mi), Number(se), 0);
    const ms = date.getTime();
    if (
      Number(mo) >= 1 &&
      Number(mo) <= 12 &&
      Number(d) >= 1 &&
      Number(d) <= 31 &&
      Number(h) < 24 &&
      Number(mi) < 60 &&
      Number(se) < 60 &&
      !Number.isNaN(ms)
    ) {
      let offset = 0;
      if (zone && zone !== 'Z') {
        const sign = zone[0] === '-' ? -1 : 1;
        offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
      }
      const fracMs = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
      return ms + fracMs - offset;
    }
  }
  throw new InvalidArgumentError(`cannot parse ${goQuote(s)} to a valid timestamp`);
}

/**
 * Parses a duration like Prometheus's HTTP API: float seconds, or a Prometheus duration such as
 * `1h30m`, `5m`, `250ms`. Returns ms.
 */
export function parseDuration(s: string): number {
  if (isGoFloat(s)) {
    const d = Number(s) * 1000;
    if (!Number.isFinite(d) || Math.abs(d) > 9.223372036854776e15) {
      throw new InvalidArgumentError(`cannot parse ${goQuote(s)} to a valid duration. It overflows int64`);
    }
    return d;
  }
  const ms = tryParsePromDuration(s);
  if (ms === undefined) throw new InvalidArgumentError(`cannot parse ${goQuote(s)} to a valid duration`);
  return ms;
}

/**
 * Prometheus's model.ParseDuration (units y w d h m s ms, largest first, each at most once) in ms,
 * or undefined when `s` is not a duration. One parser for the whole project: @thanos-ts/tsdb/goformat's.
 */
function tryParsePromDuration(s: string): number | undefined {
  try {
    return parseModelDuration(s);
  } catch (err) {
    if (err instanceof DurationSyntaxError) return undefined;
    throw err;
  }
}

/** Go's strconv.ParseFloat syntax (what Prometheus tries first), including Inf/NaN spellings. */
function isGoFloat(s: string): boolean {
  return /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|0[xX][0-9a-fA-F]+(\.[0-9a-fA-F]*)?[pP][+-]?\d+|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])$/.test(
    s,
  );
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new InvalidArgumentError(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

/** Form values of a request: the URL's query string plus, for POST, an urlencoded body. */
export class FormValues {
  constructor(private readonly params: URLSearchParams) {}

  /** First value of `name`, or '' (Go's FormValue). */
  get(name: string): string {
    return this.params.get(name) ?? '';
  }

  /** All values of `name`. */
  all(name: string): string[] {
    return this.params.getAll(name);
  }

  has(name: string): boolean {
    return this.params.has(name);
  }
}

/** Largest form body accepted, like Go's 10 MiB limit for ParseForm. */
const MAX_FORM_BYTES = 10 << 20;

/** Reads the form values of a GET or POST (application/x-www-form-urlencoded) request. */
export async function readForm(req: IncomingMessage, url: URL): Promise<FormValues> {
  const params = new URLSearchParams();
  const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if ((req.method === 'POST' || req.method === 'PUT') && ct === 'application/x-www-form-urlencoded') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_FORM_BYTES) throw new InvalidArgumentError('error parsing form values: http: POST too large');
      chunks.push(c as Buffer);
    }
    // Go's ParseForm puts body values before the URL's.
    for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params.append(k, v);
  }
  for (const [k, v] of url.searchParams) params.append(k, v);
  return new FormValues(params);
}
