import type { Metadata } from '@grpc/grpc-js';
import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// Trace context travels as Thanos's Go context does: implicitly, through the OpenTelemetry
// context API over AsyncLocalStorage. The StoreAPI contract takes (request, signal) and no
// context, so a span started around a call is the parent of whatever that call does, in-process
// or (via the traceparent header or gRPC metadata) in another process.

/** The name thanos-ts's tracers are obtained under from a TracerProvider. */
export const TRACER_NAME = 'thanos-ts';

/** Response header carrying the request's trace id, as Thanos sets it (pkg/tracing/tracing.go). */
export const TRACE_ID_HEADER = 'X-Thanos-Trace-Id';
/** Request header that forces the request to be sampled, as in Thanos (pkg/tracing/tracing.go). */
export const FORCE_TRACING_HEADER = 'X-Thanos-Force-Tracing';
/** Span attribute the samplers honour to force sampling (Thanos's migration.ForceTracingAttributeKey). */
export const FORCE_TRACING_ATTRIBUTE = 'thanos.force_tracing';

const propagator = new W3CTraceContextPropagator();

/**
 * The tracer a component uses when its options give none: the global OpenTelemetry API's, which
 * is a no-op unless the embedder registered a TracerProvider (e.g. with the OTel Node SDK).
 */
export function defaultTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

const probe = createContextKey('thanos-ts context manager probe');

/**
 * Makes sure a context manager is registered, so spans started inside async work find their
 * parent: registers an AsyncLocalStorage one unless the process already has one (an embedder's
 * OTel SDK). Idempotent; cheap after the first call.
 */
export function ensureContextManager(): void {
  if (context.with(context.active().setValue(probe, true), () => context.active().getValue(probe) === true)) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** Whether `span` carries a trace worth propagating or recording (false for the no-op tracer's spans). */
export function isTraced(span: Span): boolean {
  return span.isRecording() || isSpanContextValid(span.spanContext());
}

/** Records `err` on `span` as OpenTelemetry's semantic conventions want, and marks it failed. */
export function recordError(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Options of {@link withSpan} beyond the attributes. */
export interface WithSpanOptions {
  /** Span kind. Default INTERNAL. */
  kind?: SpanKind;
  /** Parent context. Default: the active one. */
  parent?: Context;
}

/**
 * Runs `fn` in a child span of the active one (Thanos's tracing.DoInSpanWithErr): the span is
 * active inside `fn` (also across its awaits), ends when `fn` returns or its promise settles,
 * and a thrown error or rejection is recorded on it and passed on. With a no-op tracer and no
 * traced parent, `fn` runs directly: no context switch, no allocation beyond the no-op span.
 * The receiver, compactor and frontend wrap their steps with it.
 */
export function withSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes | undefined,
  fn: (span: Span) => T,
  opts: WithSpanOptions = {},
): T {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { attributes, kind: opts.kind ?? SpanKind.INTERNAL }, parent);
  if (!isTraced(span)) {
    try {
      return fn(span);
    } finally {
      span.end();
    }
  }
  let result: T;
  try {
    result = context.with(trace.setSpan(parent, span), fn, undefined, span);
  } catch (err) {
    recordError(span, err);
    span.end();
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        recordError(span, err);
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

/**
 * An async iterable whose `next()` calls all run in `ctx`: a lazy stream (a gRPC Series call, a
 * store's generator) then starts and proceeds under the span it was opened for, whoever pulls it.
 */
export function bindAsyncIterable<T>(source: AsyncIterable<T>, ctx: Context): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = context.with(ctx, () => source[Symbol.asyncIterator]());
      const bound: AsyncIterator<T> = {
        next: (...args: [] | [undefined]) => context.with(ctx, () => it.next(...args)),
      };
      if (it.return)
        bound.return = (v?: unknown) => context.with(ctx, () => (it.return as NonNullable<typeof it.return>)(v));
      if (it.throw)
        bound.throw = (e?: unknown) => context.with(ctx, () => (it.throw as NonNullable<typeof it.throw>)(e));
      return bound;
    },
  };
}

/** The trace id of the active span (or of `ctx`'s), hex; undefined when there is no trace. */
export function traceIdOf(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? sc.traceId : undefined;
}

/**
 * The W3C trace headers (`traceparent`, and `tracestate` when set) of the active context, to add
 * to an outgoing HTTP request (undici `fetch`/`request` headers); empty without a trace.
 */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const out: Record<string, string> = {};
  if (!trace.getSpanContext(ctx)) return out;
  propagator.inject(ctx, out, { set: (c, k, v) => (c[k] = v) });
  return out;
}

/** Adds the active context's W3C trace headers to a mutable header record (or Headers); returns it. */
export function injectTraceHeaders<H extends Record<string, string> | Headers>(
  headers: H,
  ctx: Context = context.active(),
): H {
  for (const [k, v] of Object.entries(traceHeaders(ctx))) {
    if (headers instanceof Headers) headers.set(k, v);
    else (headers as Record<string, string>)[k] = v;
  }
  return headers;
}

type HeaderBag = Record<string, string | string[] | undefined>;
const headerGetter: TextMapGetter<HeaderBag> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => c[k.toLowerCase()] ?? c[k],
};

/**
 * The context of an incoming HTTP request's `traceparent`/`tracestate` headers (node:http's
 * lower-cased `req.headers`), on top of `base` (default: the active one). Unchanged without them.
 */
export function extractTraceContext(headers: HeaderBag, base: Context = context.active()): Context {
  if (headers.traceparent === undefined) return base;
  return propagator.extract(base, headers, headerGetter);
}

/** Adds the active context's trace headers to outgoing gRPC metadata. */
export function injectGrpcMetadata(metadata: Metadata, ctx: Context = context.active()): Metadata {
  for (const [k, v] of Object.entries(traceHeaders(ctx))) metadata.set(k, v);
  return metadata;
}

/** The trace context carried by incoming gRPC metadata (ROOT_CONTEXT-based: a call starts fresh). */
export function extractGrpcMetadata(metadata: Metadata, base: Context = ROOT_CONTEXT): Context {
  const tp = metadata.get('traceparent');
  if (tp.length === 0) return base;
  const ts = metadata.get('tracestate');
  const bag: HeaderBag = { traceparent: String(tp[0]) };
  if (ts.length > 0) bag.tracestate = String(ts[0]);
  return propagator.extract(base, bag, headerGetter);
}

/**
 * The tracer as `@thanos-ts/objstore`'s `BucketSpanner`, for `withTracing(bucket, …)`: bucket
 * operations become spans under the active one.
 */
export function bucketSpanner(
  tracer: Tracer,
): <T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
) => Promise<T> {
  return (name, attributes, fn) => withSpan(tracer, name, attributes, fn);
}
