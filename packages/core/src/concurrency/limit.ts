// Bounded concurrency over a list or a stream: the one implementation every component (store
// gateway syncs and queries, compactor, bucket tools) uses.

/** Runs `fn` over items with at most `limit` in flight, returning results in input order; rejects on the first failure. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

/**
 * Runs `fn` over the items of an async source as they arrive, at most `limit` at once; stops
 * reading the source and rejects on the first failure (after the running calls settle).
 */
export async function forEachLimitAsync<T>(
  source: AsyncIterable<T>,
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  let failed = false;
  let failure: unknown;
  for await (const item of source) {
    if (failed) break;
    const p: Promise<void> = fn(item).then(
      () => {
        running.delete(p);
      },
      (err: unknown) => {
        if (!failed) failure = err;
        failed = true;
        running.delete(p);
      },
    );
    running.add(p);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  if (failed) throw failure;
}

/** Runs `fn` over items with at most `limit` in flight; rejects on the first failure. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  await mapLimit(items, limit, fn);
}
