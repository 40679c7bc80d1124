/**
 * Bounds how much work runs at once — Thanos's query gate (--query.max-concurrent) and its
 * Series gate (--store.grpc.series-max-concurrency). Later callers wait in arrival order; a
 * waiting caller gives up when its AbortSignal aborts.
 */
export class Gate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /** Number of callers holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /** Waits for a free slot. Every successful acquire must be followed by one release. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(go);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(go);
    });
    // The releasing caller handed its slot over, so `active` already counts this one.
  }

  /** Frees a slot, handing it to the oldest waiter if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Runs `fn` once a slot is free, and frees the slot when it settles. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
