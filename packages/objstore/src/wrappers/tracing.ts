import type { Bucket, IterOptions } from '../bucket.js';

/** What a tracing span offers the wrapper: attributes set once the operation's result is known. */
export interface BucketSpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
}

/**
 * Runs `fn` in a span named `name` with `attributes`, ending it when `fn`'s promise settles and
 * recording a rejection. `@thanos-ts/core/tracing`'s `withSpan` bound to a tracer is one:
 * `(name, attrs, fn) => withSpan(tracer, name, attrs, fn)`. objstore stays free of a tracing
 * dependency this way.
 */
export type BucketSpanner = <T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: BucketSpan) => Promise<T>,
) => Promise<T>;

/**
 * Wraps a bucket so every operation is a span, named as Thanos's objstore tracing wrapper names
 * them (`bucket_get`, `bucket_get_range`, `bucket_iter`, `bucket_exists`, `bucket_attributes`,
 * `bucket_upload`, `bucket_delete`) with the object name, range and bytes read. Spans nest
 * under whatever span is active when the operation is called.
 */
export function withTracing(bucket: Bucket, span: BucketSpanner): Bucket {
  return {
    name: bucket.name,
    provider: bucket.provider,
    get: (name, o) =>
      span('bucket_get', { name }, async (s) => {
        const data = await bucket.get(name, o);
        s.setAttribute('bytes', data.byteLength);
        return data;
      }),
    // The span covers opening the stream; the bytes are read later, by the caller.
    getStream: (name, o) => span('bucket_get', { name, stream: true }, () => bucket.getStream(name, o)),
    getRange: (name, offset, length, o) =>
      span('bucket_get_range', { name, offset, length }, async (s) => {
        const data = await bucket.getRange(name, offset, length, o);
        s.setAttribute('bytes', data.byteLength);
        return data;
      }),
    upload: (name, body, o) => span('bucket_upload', { name }, () => bucket.upload(name, body, o)),
    delete: (name, o) => span('bucket_delete', { name }, () => bucket.delete(name, o)),
    exists: (name, o) =>
      span('bucket_exists', { name }, async (s) => {
        const yes = await bucket.exists(name, o);
        s.setAttribute('exists', yes);
        return yes;
      }),
    attributes: (name, o) => span('bucket_attributes', { name }, () => bucket.attributes(name, o)),
    // The span stays open while the listing streams, and ends when it ends, fails or is abandoned.
    async *iter(dir: string, o?: IterOptions): AsyncIterable<string> {
      let finish: ((entries: number, err?: unknown) => void) | undefined;
      const done = span(
        'bucket_iter',
        { dir, recursive: o?.recursive === true },
        (s) =>
          new Promise<void>((resolve, reject) => {
            finish = (entries, err) => {
              s.setAttribute('entries', entries);
              if (err === undefined) resolve();
              else reject(err);
            };
          }),
      ).catch(() => {});
      let entries = 0;
      let failure: unknown;
      try {
        for await (const name of bucket.iter(dir, o)) {
          entries++;
          yield name;
        }
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        finish?.(entries, failure);
        await done;
      }
    },
    close: () => bucket.close(),
  };
}
