import type { Cache } from '../cache/cache.js';
import { Gate } from '../concurrency/gate.js';
import { parseTime } from '../http/params.js';
import type { Downstream, DownstreamReply } from './downstream.js';
import { FrontendHTTPError } from './errors.js';
import { metricKey, sortByMetric } from './matrix.js';
import { encodeSeconds } from './range-request.js';
import { hashKey } from './results-cache.js';

/** A label names, label values or series request the frontend may split. */
export interface MetadataRequest {
  /** `/api/v1/labels`, `/api/v1/label/<name>/values` or `/api/v1/series`. */
  path: string;
  kind: 'labels' | 'series';
  /** The form values as sent. */
  form: URLSearchParams;
  headers: readonly (readonly [string, string])[];
  tenant: string;
  noStore: boolean;
}

/** Options of {@link createMetadataSplitter}. */
export interface MetadataSplitterOptions {
  downstream: Downstream;
  /** Pieces are aligned to multiples of this, ms (--labels.split-interval); 0: never split. */
  splitIntervalMs: number;
  /** Downstream requests one metadata request runs at once (--labels.max-query-parallelism). */
  maxParallelism: number;
  /** Pieces ending after now minus this are never cached, ms (--labels.response-cache-max-freshness). */
  maxFreshnessMs: number;
  /** Whole pieces are cached here when set (--labels.response-cache-config). */
  cache?: Cache;
  /** TTL for stored pieces, ms; 0: the backend's own. */
  ttlMs: number;
  now: () => number;
  onSplit?: (pieces: number) => void;
  onFetch?: (requested: number, hits: number) => void;
}

/** A metadata answer ready to write. */
export interface MetadataAnswer {
  status: number;
  contentType: string;
  body: string;
}

interface MetadataData {
  data: unknown[];
  warnings: string[];
  infos: string[];
}

/**
 * Splits label names, label values and series requests into pieces aligned to the split interval
 * (Thanos's labels tripperware), runs them in parallel, caches whole pieces and merges the answers:
 * names and values as a sorted union, series deduplicated by their labels in Prometheus's order.
 * A request without both `start` and `end`, with times the frontend cannot read, with `limit`, or
 * shorter than one interval goes downstream unchanged, so the downstream's answer and errors come
 * back as they are (Thanos instead substitutes --labels.default-time-range for a missing range).
 */
export function createMetadataSplitter(opts: MetadataSplitterOptions): {
  handle(r: MetadataRequest, signal: AbortSignal): Promise<MetadataAnswer>;
} {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();

  function pieces(start: number, end: number): [number, number][] {
    const I = opts.splitIntervalMs;
    const out: [number, number][] = [];
    // Boundaries on multiples of the interval, so the inner pieces repeat across requests and hit
    // the cache. Pieces share their boundary millisecond; the merge is a union, so that is harmless.
    for (let s = start; s < end; ) {
      const e = Math.min(end, (Math.floor(s / I) + 1) * I);
      out.push([s, e]);
      s = e;
    }
    return out;
  }

  function decode(reply: DownstreamReply): MetadataData {
    let doc: { status?: unknown; data?: unknown; warnings?: unknown; infos?: unknown };
    try {
      doc = JSON.parse(reply.body);
    } catch (err) {
      throw FrontendHTTPError.api(500, 'internal', `error decoding response: ${(err as Error).message}`);
    }
    if (doc?.status !== 'success' || !Array.isArray(doc.data))
      throw FrontendHTTPError.api(500, 'internal', 'error decoding response: not a Prometheus success response');
    return {
      data: doc.data,
      warnings: Array.isArray(doc.warnings) ? doc.warnings.map(String) : [],
      infos: Array.isArray(doc.infos) ? doc.infos.map(String) : [],
    };
  }

  function merge(kind: MetadataRequest['kind'], parts: MetadataData[]): MetadataData {
    const warnings = [...new Set(parts.flatMap((p) => p.warnings))];
    const infos = [...new Set(parts.flatMap((p) => p.infos))];
    if (kind === 'labels') {
      const set = new Set<string>();
      for (const p of parts) for (const v of p.data) set.add(String(v));
      // Go's sort.Strings orders by bytes; for the UTF-16 code units of label names and values
      // (overwhelmingly ASCII) the default sort agrees.
      return { data: [...set].sort(), warnings, infos };
    }
    const seen = new Map<string, Record<string, string>>();
    for (const p of parts)
      for (const s of p.data as Record<string, string>[]) {
        const key = metricKey(s);
        if (!seen.has(key)) seen.set(key, s);
      }
    return { data: sortByMetric([...seen.values()], (m) => m), warnings, infos };
  }

  function encode(d: MetadataData): string {
    let out = `{"status":"success","data":${JSON.stringify(d.data)}`;
    if (d.warnings.length > 0) out += `,"warnings":${JSON.stringify(d.warnings)}`;
    if (d.infos.length > 0) out += `,"infos":${JSON.stringify(d.infos)}`;
    return `${out}}`;
  }

  function pieceForm(r: MetadataRequest, start: number, end: number): URLSearchParams {
    const p = new URLSearchParams();
    for (const [k, v] of r.form) if (k !== 'start' && k !== 'end') p.append(k, v);
    p.set('start', encodeSeconds(start));
    p.set('end', encodeSeconds(end));
    return p;
  }

  function cacheKey(r: MetadataRequest, start: number, end: number): string {
    const rest = [...r.form]
      .filter(([k]) => k !== 'start' && k !== 'end' && k !== 'timeout')
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join('&');
    return ['fe-metadata', r.tenant, r.path, rest, start, end].join(':');
  }

  async function piece(
    r: MetadataRequest,
    start: number,
    end: number,
    gate: Gate,
    signal: AbortSignal,
  ): Promise<MetadataData> {
    const cacheable = opts.cache !== undefined && !r.noStore && end <= opts.now() - opts.maxFreshnessMs;
    const key = cacheable ? cacheKey(r, start, end) : '';
    if (cacheable && opts.cache) {
      const hashed = hashKey(key);
      const got = (await opts.cache.fetch([hashed], signal)).get(hashed);
      opts.onFetch?.(1, got ? 1 : 0);
      if (got) {
        try {
          const doc = JSON.parse(decoder.decode(got)) as { key: string; resp: MetadataData };
          if (doc.key === key) return doc.resp;
        } catch {
          // An undecodable entry is a miss; the fresh answer overwrites it.
        }
      }
    }
    await gate.acquire(signal);
    let reply: DownstreamReply;
    try {
      reply = await opts.downstream.send(r.path, pieceForm(r, start, end), r.headers, signal);
    } finally {
      gate.release();
    }
    if (reply.status < 200 || reply.status > 299)
      throw new FrontendHTTPError(reply.status, reply.body, reply.contentType);
    const resp = decode(reply);
    if (cacheable && opts.cache && !reply.noStore)
      opts.cache.store(hashKey(key), encoder.encode(JSON.stringify({ key, resp })), opts.ttlMs);
    return resp;
  }

  return {
    async handle(r, signal) {
      const s = r.form.get('start');
      const e = r.form.get('end');
      let start: number | undefined;
      let end: number | undefined;
      try {
        if (s && e) {
          start = parseTime(s);
          end = parseTime(e);
        }
      } catch {
        start = undefined;
      }
      const splittable =
        opts.splitIntervalMs > 0 &&
        start !== undefined &&
        end !== undefined &&
        end > start &&
        !r.form.has('limit') &&
        Math.floor(start / opts.splitIntervalMs) !== Math.floor((end - 1) / opts.splitIntervalMs);
      if (!splittable || start === undefined || end === undefined) {
        const reply = await opts.downstream.send(r.path, r.form, r.headers, signal);
        return { status: reply.status, contentType: reply.contentType, body: reply.body };
      }
      const ranges = pieces(start, end);
      opts.onSplit?.(ranges.length);
      const gate = new Gate(Math.max(1, opts.maxParallelism));
      const parts = await Promise.all(ranges.map(([a, b]) => piece(r, a, b, gate, signal)));
      return { status: 200, contentType: 'application/json', body: encode(merge(r.kind, parts)) };
    },
  };
}
