import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableErr } from './errors.js';

/** How a failed call is retried: capped exponential backoff with full jitter. */
export interface RetryPolicy {
  /** Total attempts including the first (default 4; 1 disables retries). */
  maxAttempts?: number;
  /** Delay before the first retry, in ms (default 100). Each retry doubles it. */
  minBackoffMs?: number;
  /** Upper bound of a single delay, in ms (default 5000). */
  maxBackoffMs?: number;
  /** Which errors are worth another attempt (default `isRetryableErr`: network, 5xx, 429, SlowDown). */
  isRetryable?: (err: unknown) => boolean;
  /** Called before each retry (for logs and tests). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** The defaults used when a policy field is left out. */
export const DEFAULT_RETRY_POLICY: Required<Omit<RetryPolicy, 'onRetry'>> = {
  maxAttempts: 4,
  minBackoffMs: 100,
  maxBackoffMs: 5_000,
  isRetryable: isRetryableErr,
};

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, runs out of attempts, or
 * `signal` aborts. The last error is rethrown unchanged so its type and `code` survive.
 */
export async function withBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy = {},
  signal?: AbortSignal,
): Promise<T> {
  const maxAttempts = Math.max(1, policy.maxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts);
  const minBackoff = policy.minBackoffMs ?? DEFAULT_RETRY_POLICY.minBackoffMs;
  const maxBackoff = policy.maxBackoffMs ?? DEFAULT_RETRY_POLICY.maxBackoffMs;
  const isRetryable = policy.isRetryable ?? DEFAULT_RETRY_POLICY.isRetryable;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= maxAttempts || !isRetryable(err) || signal?.aborted) throw err;
      // Full jitter keeps many clients that failed together from retrying in lockstep.
      const ceiling = Math.min(maxBackoff, minBackoff * 2 ** (attempt - 1));
      const delay = Math.round(Math.random() * ceiling);
      policy.onRetry?.(err, attempt, delay);
      await sleep(delay, undefined, { signal });
    }
  }
}
