import type { Server, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Matcher } from '@thanos-ts/tsdb';
import { StoreAPIError } from '../storeapi/errors.js';

/** gRPC RESOURCE_EXHAUSTED, as Thanos answers a request over --store.limits.*. */
const RESOURCE_EXHAUSTED = 8;
/** gRPC INVALID_ARGUMENT: the request itself is unacceptable, retrying cannot help. */
const INVALID_ARGUMENT = 3;

/**
 * Thanos's "samples" limit is enforced on chunks, each counted as this many samples
 * (pkg/store/bucket.go: MaxSamplesPerChunk), so it can be checked before chunk bytes are read.
 */
export const MAX_SAMPLES_PER_CHUNK = 120;

/** Default of {@link RequestLimits.maxMatchersPerRequest}. */
export const DEFAULT_MAX_MATCHERS_PER_REQUEST = 1000;
/** Default of {@link RequestLimits.maxRegexBytes}: the HTTP API accepts ~1 MiB of URL, so one regex may be that long. */
export const DEFAULT_MAX_REGEX_BYTES = 1 << 20;

/** The flag each limit is set with, named in errors so an operator knows what to raise. */
const LIMIT_FLAGS = {
  series: 'store.limits.request-series',
  samples: 'store.limits.request-samples',
  bytes: 'store.grpc.downloaded-bytes-limit',
} as const;

/**
 * A request touched more series, samples or downloaded bytes than --store.limits.* or
 * --store.grpc.downloaded-bytes-limit allow (gRPC RESOURCE_EXHAUSTED). The message starts with
 * Thanos's text (`exceeded series limit: limit 10 violated (got 11)`, `exceeded bytes limit while
 * fetching postings: limit 100 violated (got 150)`) and names the flag.
 */
export class StoreLimitError extends StoreAPIError {
  constructor(
    readonly kind: 'series' | 'samples' | 'bytes',
    readonly limit: number,
    readonly got: number,
    /** For bytes: what was being read, in Thanos's words (`fetching chunks`). */
    readonly what?: string,
  ) {
    super(
      'CORE_STORE_LIMIT',
      RESOURCE_EXHAUSTED,
      `exceeded ${kind} limit${what ? ` while ${what}` : ''}: limit ${limit} violated (got ${got}) (--${LIMIT_FLAGS[kind]})`,
    );
  }
}

/**
 * Bytes one Series, LabelNames or LabelValues call fetched from object storage or touched in the
 * index cache (Thanos's BytesLimiter, --store.grpc.downloaded-bytes-limit). Each read reserves
 * its length before it is made, as Thanos reserves before fetching; crossing the limit throws
 * StoreLimitError('bytes'). 0 disables it. Safe to share between a request's concurrent reads.
 */
export class BytesLimiter {
  private reserved = 0;
  private failed = false;

  /** `onExceeded` runs once, at the first read over the limit (Thanos's failedOnce counter). */
  constructor(
    readonly limit: number,
    private readonly onExceeded: () => void = () => {},
  ) {}

  /** Reserves `n` bytes about to be read; `what` names the read in the error (Thanos's words). */
  reserve(n: number, what: string): void {
    if (this.limit <= 0) return;
    this.reserved += n;
    if (this.reserved > this.limit) {
      if (!this.failed) this.onExceeded();
      this.failed = true;
      throw new StoreLimitError('bytes', this.limit, this.reserved, what);
    }
  }
}

// The block readers (index and chunk range sources) are shared by every request; the request's
// AbortSignal, which every read carries down, tells them whose budget a read is charged to.
const bytesLimiters = new WeakMap<AbortSignal, BytesLimiter>();

/**
 * A signal for one request, charged to `limiter` by {@link bytesLimiterOf}: the caller's signal
 * (or none) wrapped in a fresh one, so two requests never share a budget.
 */
export function signalWithBytesLimiter(signal: AbortSignal | undefined, limiter: BytesLimiter): AbortSignal {
  const s = signal ? AbortSignal.any([signal]) : new AbortController().signal;
  bytesLimiters.set(s, limiter);
  return s;
}

/** The bytes limiter of the request a read's signal belongs to, if any. */
export function bytesLimiterOf(signal: AbortSignal | undefined): BytesLimiter | undefined {
  return signal ? bytesLimiters.get(signal) : undefined;
}

/**
 * A request's matchers are too many or a regex is too long (gRPC INVALID_ARGUMENT). Checked
 * before any index work: 10,000 `=~".+"` matchers would otherwise each scan every label value.
 */
export class MatcherLimitError extends StoreAPIError {
  constructor(
    readonly kind: 'matchers' | 'regex-bytes',
    readonly limit: number,
    readonly got: number,
    detail: string,
  ) {
    super('CORE_STORE_MATCHER_LIMIT', INVALID_ARGUMENT, detail);
  }
}

/** Per-request limits of a store; each is checked before the data it guards is read. */
export interface RequestLimits {
  /**
   * --store.limits.request-series: distinct series one Series call may return. A block whose
   * postings alone exceed it fails the request before series are read; otherwise series are
   * counted as they are selected, before chunks are fetched. Default 0: unlimited.
   */
  seriesPerRequest?: number;
  /**
   * --store.limits.request-samples: samples one Series call may return. Checked from chunk
   * metas before chunks are fetched, each chunk counting as 120 samples (as Thanos), and again
   * on the decoded sample counts. Default 0: unlimited.
   */
  samplesPerRequest?: number;
  /**
   * Matchers one Series, LabelNames or LabelValues call may carry (Thanos has no such limit;
   * see docs/components/store.md). Default 1000; 0: unlimited.
   */
  maxMatchersPerRequest?: number;
  /** Bytes of one regex matcher's value. Default 1 MiB (1_048_576); 0: unlimited. */
  maxRegexBytes?: number;
  /**
   * --store.grpc.downloaded-bytes-limit: bytes one Series, LabelNames or LabelValues call may
   * fetch from object storage (postings, series entries, chunks, each ranged read counted whole)
   * or touch in the index cache. Default 0: unlimited.
   */
  downloadedBytesPerRequest?: number;
}

/**
 * Refuses matchers over `maxMatchersPerRequest` or a regex over `maxRegexBytes` with a
 * MatcherLimitError naming the limit. Call it first thing in every StoreAPI method.
 */
export function checkMatcherLimits(
  matchers: readonly Pick<Matcher, 'type' | 'name' | 'value'>[] | undefined,
  limits: RequestLimits,
): void {
  if (!matchers) return;
  const maxMatchers = limits.maxMatchersPerRequest ?? DEFAULT_MAX_MATCHERS_PER_REQUEST;
  if (maxMatchers > 0 && matchers.length > maxMatchers)
    throw new MatcherLimitError(
      'matchers',
      maxMatchers,
      matchers.length,
      `request has ${matchers.length} label matchers, more than the limit of ${maxMatchers} (maxMatchersPerRequest, --store.limits.request-matchers)`,
    );
  const maxRegex = limits.maxRegexBytes ?? DEFAULT_MAX_REGEX_BYTES;
  if (maxRegex <= 0) return;
  for (const m of matchers) {
    if (m.type !== '=~' && m.type !== '!~') continue;
    // Bytes as sent (UTF-8); a string's length is at most its byte count, so skip short ones cheaply.
    if (m.value.length * 3 <= maxRegex) continue;
    const bytes = Buffer.byteLength(m.value);
    if (bytes > maxRegex)
      throw new MatcherLimitError(
        'regex-bytes',
        maxRegex,
        bytes,
        `regex of matcher on label ${JSON.stringify(m.name)} is ${bytes} bytes, more than the limit of ${maxRegex} (maxRegexBytes, --store.limits.regex-bytes)`,
      );
  }
}

/**
 * Counts what one Series request reserves and throws StoreLimitError as soon as a limit is
 * crossed, before the data it guards is fetched (like Thanos's Limiter.Reserve). The series
 * limit holds exactly: a block whose postings alone exceed it fails the request before any
 * series entry is read, and distinct series are counted as blocks' entries are read, so the
 * request fails before any chunk is fetched once more than `seriesPerRequest` distinct series
 * would be returned, and never fails for fewer. Safe to share between the blocks of one request
 * (all calls are synchronous).
 */
export class RequestLimiter {
  private readonly seen: Set<string> | undefined;
  private chunkSamples = 0;
  private samples = 0;

  constructor(private readonly limits: RequestLimits) {
    if ((limits.seriesPerRequest ?? 0) > 0) this.seen = new Set();
  }

  /**
   * Checks one block's postings count (its matching series, before any is read): that many
   * distinct series at least would be returned.
   */
  checkPostings(n: number): void {
    const limit = this.limits.seriesPerRequest ?? 0;
    if (limit > 0 && n > limit) throw new StoreLimitError('series', limit, n);
  }

  /** Counts a series about to be returned (by its label key; the same series in two blocks counts once). */
  reserveSeries(key: string): void {
    if (!this.seen) return;
    this.seen.add(key);
    const limit = this.limits.seriesPerRequest as number;
    if (this.seen.size > limit) throw new StoreLimitError('series', limit, this.seen.size);
  }

  /** Reserves `n` more chunks as 120 samples each (from chunk metas, before chunks are read). */
  reserveChunks(n: number): void {
    this.chunkSamples += n * MAX_SAMPLES_PER_CHUNK;
    const limit = this.limits.samplesPerRequest ?? 0;
    if (limit > 0 && this.chunkSamples > limit) throw new StoreLimitError('samples', limit, this.chunkSamples);
  }

  /** Reserves `n` more decoded samples (a chunk may hold more than 120). */
  reserveSamples(n: number): void {
    this.samples += n;
    const limit = this.limits.samplesPerRequest ?? 0;
    if (limit > 0 && this.samples > limit) throw new StoreLimitError('samples', limit, this.samples);
  }
}

/** storepb.LabelMatcher.Type values (EQ, NEQ, RE, NRE) as matcher types. */
const PB_MATCH_TYPES = ['=', '!=', '=~', '!~'] as const;

/** The gRPC methods whose requests carry `matchers`. */
const GUARDED_METHODS = new Set(['Series', 'LabelNames', 'LabelValues']);

/**
 * Wraps a gRPC server so the StoreAPI methods registered on it check the matcher limits on the
 * raw protobuf request, before it is decoded: decoding compiles every regex, and 10,000
 * `=~".+"` matchers take seconds to compile. A request over a limit is answered with
 * INVALID_ARGUMENT and the same text as {@link checkMatcherLimits}.
 */
export function guardMatcherLimits(server: Server, limits: RequestLimits): Server {
  return new Proxy(server, {
    get(target, prop, receiver) {
      if (prop !== 'addService') return Reflect.get(target, prop, receiver);
      return (service: Parameters<Server['addService']>[0], impl: UntypedServiceImplementation) => {
        const wrapped: UntypedServiceImplementation = {};
        for (const [name, handler] of Object.entries(impl)) {
          wrapped[name] = GUARDED_METHODS.has(name) ? guarded(handler as GrpcHandler, limits) : handler;
        }
        target.addService(service, wrapped);
      };
    },
  });
}

// biome-ignore lint/suspicious/noExplicitAny: grpc-js handlers take call objects of several shapes.
type GrpcHandler = (call: any, callback?: (err: unknown, value?: unknown) => void) => void;

function guarded(handler: GrpcHandler, limits: RequestLimits): GrpcHandler {
  return (call, callback) => {
    const raw = (call.request as { matchers?: Array<{ type?: number; name?: string; value?: string }> } | undefined)
      ?.matchers;
    try {
      checkMatcherLimits(
        raw?.map((m) => ({
          type: PB_MATCH_TYPES[m.type ?? 0] ?? '=',
          name: m.name ?? '',
          value: m.value ?? '',
        })),
        limits,
      );
    } catch (err) {
      const status = { code: INVALID_ARGUMENT, details: (err as Error).message };
      if (callback) callback(status);
      else call.emit('error', status);
      return;
    }
    handler(call, callback);
  };
}
