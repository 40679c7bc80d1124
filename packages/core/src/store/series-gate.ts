/**
 * Bounds how many Series calls run at once (Thanos's --store.grpc.series-max-concurrency);
 * later calls wait in arrival order, and a waiting call gives up when its signal aborts.
 */
export class SeriesGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

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
    // The releasing call handed its slot over, so `active` already counts this one.
  }

  /** Frees a slot, handing it to the oldest waiter if any. */
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
