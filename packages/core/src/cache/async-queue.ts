/**
 * Thanos's AsyncOperationProcessor (pkg/cacheutil/async_op.go) for cache writes: operations wait
 * in a buffer of `bufferSize` and at most `concurrency` run at once. When the buffer is full the
 * operation is refused rather than queued without bound, so a slow cache server sheds writes
 * instead of holding memory. `close()` lets queued operations finish, as Thanos's Stop does.
 */
export class AsyncQueue {
  private readonly queue: Array<() => Promise<void>> = [];
  private running = 0;
  private closed = false;
  private idle: Array<() => void> = [];

  /**
   * @param bufferSize operations that may wait (Thanos `max_async_buffer_size`); must be >= 1.
   * @param concurrency operations running at once (Thanos `max_async_concurrency`); must be >= 1.
   */
  constructor(
    private readonly bufferSize: number,
    private readonly concurrency: number,
  ) {}

  /** Queues `op`; false when the buffer is full or the queue is closed (Thanos ErrAsyncBufferFull). */
  enqueue(op: () => Promise<void>): boolean {
    if (this.closed) return false;
    if (this.running < this.concurrency) {
      this.start(op);
      return true;
    }
    if (this.queue.length >= this.bufferSize) return false;
    this.queue.push(op);
    return true;
  }

  /** Operations waiting plus running. */
  get pending(): number {
    return this.queue.length + this.running;
  }

  /** Resolves once nothing is queued or running (without closing). */
  async drain(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Refuses new operations and waits for the queued ones. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private start(op: () => Promise<void>): void {
    this.running++;
    // Operations report their own failures; a rejection here must not become unhandled.
    op()
      .catch(() => {})
      .finally(() => {
        this.running--;
        const next = this.queue.shift();
        if (next) this.start(next);
        else if (this.running === 0) for (const done of this.idle.splice(0)) done();
      });
  }
}
