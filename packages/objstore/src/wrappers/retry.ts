import { type RetryPolicy, withBackoff } from '../backoff.js';
import type { Bucket, IterOptions, OperationOptions, UploadBody } from '../bucket.js';

/**
 * Wraps a bucket so transient failures (network errors, HTTP 5xx, 429, SlowDown) are retried
 * with capped exponential backoff. Not-found, access-denied, bad-argument errors and aborts are
 * never retried.
 *
 * - Uploads are retried only when the body is a `Uint8Array`: a stream cannot be replayed.
 *   (S3 multipart uploads still retry each buffered part inside the S3 bucket.)
 * - `getStream` retries opening the object; errors while reading the stream surface as-is.
 * - `iter` resumes after a failure: names come in lexicographic order, so on a retry it lists
 *   again and skips every name up to the last one already yielded; no entry is seen twice.
 */
export function withRetries(bucket: Bucket, policy: RetryPolicy = {}): Bucket {
  const retry = <T>(fn: () => Promise<T>, o?: OperationOptions) => withBackoff(fn, policy, o?.signal);
  return {
    name: bucket.name,
    provider: bucket.provider,
    get: (name, o) => retry(() => bucket.get(name, o), o),
    getStream: (name, o) => retry(() => bucket.getStream(name, o), o),
    getRange: (name, offset, length, o) => retry(() => bucket.getRange(name, offset, length, o), o),
    upload: (name: string, body: UploadBody, o?: OperationOptions) =>
      body instanceof Uint8Array ? retry(() => bucket.upload(name, body, o), o) : bucket.upload(name, body, o),
    delete: (name, o) => retry(() => bucket.delete(name, o), o),
    exists: (name, o) => retry(() => bucket.exists(name, o), o),
    attributes: (name, o) => retry(() => bucket.attributes(name, o), o),
    async *iter(dir: string, o?: IterOptions) {
      let last: string | undefined;
      let inner = bucket.iter(dir, o)[Symbol.asyncIterator]();
      try {
        for (;;) {
          const next = await withBackoff(
            async (attempt) => {
              if (attempt > 1) {
                await inner.return?.();
                inner = bucket.iter(dir, o)[Symbol.asyncIterator]();
              }
              for (;;) {
                const r = await inner.next();
                // After a restart, skip what the consumer has already seen.
                if (r.done || last === undefined || r.value > last) return r;
              }
            },
            policy,
            o?.signal,
          );
          if (next.done) return;
          last = next.value;
          yield next.value;
        }
      } finally {
        // Stops the inner listing when the consumer breaks early or an error ends the loop.
        await inner.return?.();
      }
    },
    close: () => bucket.close(),
  };
}
