import { Transform } from 'node:stream';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Bucket, IterOptions, OperationOptions, UploadBody } from '../bucket.js';
import { isAbortError } from '../errors.js';

/** Operation label values, as Thanos's objstore (`OpGet`, `OpGetRange`, …). */
export const BUCKET_OPERATIONS = ['iter', 'get', 'get_range', 'exists', 'upload', 'delete', 'attributes'] as const;
/** One of Thanos's operation label values. */
export type BucketOperation = (typeof BUCKET_OPERATIONS)[number];

/** Options of `withMetrics`. */
export interface BucketMetricsOptions {
  /** Registry to register on. Two buckets on one registry share the series, told apart by `bucket`. */
  registry: Registry;
  /** Metric name prefix (default "thanos_", giving Thanos's exact names). */
  prefix?: string;
  /** Value of the `bucket` label (default: the bucket's name). */
  bucketLabel?: string;
  /**
   * Errors the caller expects (e.g. not-found when probing for deletion marks); they do not
   * count in `…_operation_failures_total`, as Thanos's `WithExpectedErrs`.
   */
  isExpectedError?: (err: unknown) => boolean;
}

interface BucketMetrics {
  ops: Counter<'bucket' | 'operation'>;
  failures: Counter<'bucket' | 'operation'>;
  fetchedBytes: Counter<'bucket' | 'operation'>;
  transferredBytes: Histogram<'bucket' | 'operation'>;
  duration: Histogram<'bucket' | 'operation'>;
  lastUpload: Gauge<'bucket'>;
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

function bucketMetrics(registry: Registry, prefix: string): BucketMetrics {
  const labelNames = ['bucket', 'operation'] as const;
  const n = (s: string) => `${prefix}objstore_bucket_${s}`;
  return {
    ops: getOrCreate(
      registry,
      n('operations_total'),
      () =>
        new Counter({
          name: n('operations_total'),
          help: 'Total number of all attempted operations against a bucket.',
          labelNames,
          registers: [registry],
        }),
    ),
    failures: getOrCreate(
      registry,
      n('operation_failures_total'),
      () =>
        new Counter({
          name: n('operation_failures_total'),
          help: 'Total number of operations against a bucket that failed, but were not expected to fail in certain way from caller perspective. Those errors have to be investigated.',
          labelNames,
          registers: [registry],
        }),
    ),
    fetchedBytes: getOrCreate(
      registry,
      n('operation_fetched_bytes_total'),
      () =>
        new Counter({
          name: n('operation_fetched_bytes_total'),
          help: 'Total number of bytes fetched from bucket, per operation.',
          labelNames,
          registers: [registry],
        }),
    ),
    transferredBytes: getOrCreate(
      registry,
      n('operation_transferred_bytes'),
      () =>
        new Histogram({
          name: n('operation_transferred_bytes'),
          help: 'Number of bytes transferred from/to bucket per operation.',
          labelNames,
          // 32KiB, 64KiB, … 1GiB, as Thanos.
          buckets: Array.from({ length: 16 }, (_, i) => 32768 * 2 ** i),
          registers: [registry],
        }),
    ),
    duration: getOrCreate(
      registry,
      n('operation_duration_seconds'),
      () =>
        new Histogram({
          name: n('operation_duration_seconds'),
          help: 'Duration of successful operations against the bucket per operation - iter operations include time spent on each callback.',
          labelNames,
          buckets: [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120],
          registers: [registry],
        }),
    ),
    lastUpload: getOrCreate(
      registry,
      n('last_successful_upload_time'),
      () =>
        new Gauge({
          name: n('last_successful_upload_time'),
          help: 'Second timestamp of the last successful upload to the bucket.',
          labelNames: ['bucket'] as const,
          registers: [registry],
        }),
    ),
  };
}

/**
 * Wraps a bucket with Thanos's objstore metrics (same names, labels, buckets and semantics):
 * `thanos_objstore_bucket_operations_total`, `…_operation_failures_total`,
 * `…_operation_fetched_bytes_total` (get, get_range), `…_operation_transferred_bytes` (get,
 * get_range, upload), `…_operation_duration_seconds` (successful operations; iter includes the
 * consumer's time, a stream read includes reading it to the end) and
 * `…_last_successful_upload_time`. Every series is labelled with `bucket` and `operation`.
 */
export function withMetrics(bucket: Bucket, opts: BucketMetricsOptions): Bucket {
  const m = bucketMetrics(opts.registry, opts.prefix ?? 'thanos_');
  const b = opts.bucketLabel ?? bucket.name;
  const expected = opts.isExpectedError ?? (() => false);
  // Pre-create every series at zero so rates work from the first scrape, as Thanos does.
  for (const op of BUCKET_OPERATIONS) {
    m.ops.inc({ bucket: b, operation: op }, 0);
    m.failures.inc({ bucket: b, operation: op }, 0);
    m.duration.zero({ bucket: b, operation: op });
  }
  for (const op of ['get', 'get_range', 'upload'] as const) m.transferredBytes.zero({ bucket: b, operation: op });
  for (const op of ['get', 'get_range'] as const) m.fetchedBytes.inc({ bucket: b, operation: op }, 0);

  const failed = (op: BucketOperation, err: unknown, o?: OperationOptions) => {
    if (!expected(err) && !isAbortError(err) && !o?.signal?.aborted) m.failures.inc({ bucket: b, operation: op });
  };
  const measure = async <T>(
    op: BucketOperation,
    o: OperationOptions | undefined,
    fn: () => Promise<T>,
    bytes?: (v: T) => number,
  ): Promise<T> => {
    m.ops.inc({ bucket: b, operation: op });
    const start = performance.now();
    try {
      const v = await fn();
      m.duration.observe({ bucket: b, operation: op }, (performance.now() - start) / 1000);
      if (bytes) {
        const n = bytes(v);
        if (op !== 'upload') m.fetchedBytes.inc({ bucket: b, operation: op }, n);
        m.transferredBytes.observe({ bucket: b, operation: op }, n);
      }
      return v;
    } catch (err) {
      failed(op, err, o);
      throw err;
    }
  };

  return {
    name: bucket.name,
    provider: bucket.provider,
    get: (name, o) =>
      measure(
        'get',
        o,
        () => bucket.get(name, o),
        (v) => v.byteLength,
      ),
    async getStream(name: string, o?: OperationOptions) {
      m.ops.inc({ bucket: b, operation: 'get' });
      const start = performance.now();
      let inner: Awaited<ReturnType<Bucket['getStream']>>;
      try {
        inner = await bucket.getStream(name, o);
      } catch (err) {
        failed('get', err, o);
        throw err;
      }
      let read = 0;
      const counting = new Transform({
        transform(chunk: Buffer, _enc, done) {
          read += chunk.byteLength;
          m.fetchedBytes.inc({ bucket: b, operation: 'get' }, chunk.byteLength);
          done(null, chunk);
        },
      });
      inner.on('error', (err) => {
        failed('get', err, o);
        counting.destroy(err);
      });
      counting.on('close', () => inner.destroy());
      counting.on('end', () => {
        m.duration.observe({ bucket: b, operation: 'get' }, (performance.now() - start) / 1000);
        m.transferredBytes.observe({ bucket: b, operation: 'get' }, read);
      });
      return inner.pipe(counting);
    },
    getRange: (name, offset, length, o) =>
      measure(
        'get_range',
        o,
        () => bucket.getRange(name, offset, length, o),
        (v) => v.byteLength,
      ),
    async upload(name: string, body: UploadBody, o?: OperationOptions) {
      let sent = 0;
      const counted: UploadBody =
        body instanceof Uint8Array
          ? body
          : (async function* () {
              for await (const chunk of body as AsyncIterable<Uint8Array>) {
                sent += chunk.byteLength;
                yield chunk;
              }
            })();
      await measure(
        'upload',
        o,
        () => bucket.upload(name, counted, o),
        () => (body instanceof Uint8Array ? body.byteLength : sent),
      );
      m.lastUpload.set({ bucket: b }, Date.now() / 1000);
    },
    delete: (name, o) => measure('delete', o, () => bucket.delete(name, o)),
    exists: (name, o) => measure('exists', o, () => bucket.exists(name, o)),
    attributes: (name, o) => measure('attributes', o, () => bucket.attributes(name, o)),
    async *iter(dir: string, o?: IterOptions) {
      m.ops.inc({ bucket: b, operation: 'iter' });
      const start = performance.now();
      try {
        yield* bucket.iter(dir, o);
      } catch (err) {
        failed('iter', err, o);
        throw err;
      } finally {
        // Thanos times iter with a deferred timer: the duration includes the consumer's work
        // and early stops.
        m.duration.observe({ bucket: b, operation: 'iter' }, (performance.now() - start) / 1000);
      }
    },
    close: () => bucket.close(),
  };
}
