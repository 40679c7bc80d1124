import type { SeriesResponse } from '../storeapi/store-api.js';

/**
 * Reads one store's Series stream ahead into a small buffer so every store makes network progress
 * while the merge waits on the slowest, without holding more than `highWater` responses per store.
 * Errors (and idle timeouts) surface from `next()`.
 */
export class PrefetchCursor {
  private readonly buffer: SeriesResponse[] = [];
  private head = 0;
  private done = false;
  private error: unknown;
  private wake: (() => void) | undefined;
  private resume: (() => void) | undefined;
  private closed = false;
  /** When the source last produced a response (Date.now()), for idle timeouts. */
  lastReceived = Date.now();

  /**
   * `source` yields responses one by one, or (`batched`) arrays of them as a remote store's
   * messages carry them.
   */
  constructor(
    source: AsyncIterable<SeriesResponse> | AsyncIterable<readonly SeriesResponse[]>,
    private readonly highWater = 256,
    /** Applied to each response as it is read (saves a generator layer per series). */
    private readonly map?: (r: SeriesResponse) => SeriesResponse,
  ) {
    void this.pump(source);
  }

  private async pump(source: AsyncIterable<SeriesResponse> | AsyncIterable<readonly SeriesResponse[]>): Promise<void> {
    try {
      for await (const item of source) {
        if (this.closed) break;
        this.lastReceived = Date.now();
        if (Array.isArray(item)) {
          for (const r of item as readonly SeriesResponse[]) this.buffer.push(this.map ? this.map(r) : r);
        } else {
          const r = item as SeriesResponse;
          this.buffer.push(this.map ? this.map(r) : r);
        }
        this.notify();
        while (this.buffer.length - this.head >= this.highWater) {
          await new Promise<void>((res) => {
            this.resume = res;
          });
          if (this.closed) break;
        }
        if (this.closed) break;
      }
    } catch (err) {
      if (!this.done) this.error = err ?? new Error('store stream failed');
    }
    this.done = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Responses read ahead and not yet taken. */
  get buffered(): number {
    return this.buffer.length - this.head;
  }

  /** Whether the stream ended (or failed). */
  get finished(): boolean {
    return this.done;
  }

  /** Ends the cursor now with `err` (a timeout or cancellation), whatever the source is doing. */
  fail(err: unknown): void {
    if (this.done) return;
    this.error = err;
    this.done = true;
    this.close();
    this.notify();
  }

  /** Stops reading: the source iterator is returned (releasing its resources) at its next step. */
  close(): void {
    this.closed = true;
    this.buffer.length = 0;
    this.head = 0;
    const resume = this.resume;
    this.resume = undefined;
    resume?.();
  }

  /** A response already read ahead, or undefined when none is buffered (then use `next`). */
  takeBuffered(): SeriesResponse | undefined {
    if (this.head >= this.buffer.length) return undefined;
    const r = this.buffer[this.head++] as SeriesResponse;
    if (this.head > 1024 && this.head * 2 > this.buffer.length) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
    const resume = this.resume;
    this.resume = undefined;
    resume?.();
    return r;
  }

  /** The next response, or undefined at the end of the stream. Throws the stream's error. */
  async next(): Promise<SeriesResponse | undefined> {
    for (;;) {
      if (this.head < this.buffer.length) {
        const r = this.buffer[this.head++] as SeriesResponse;
        if (this.head > 1024 && this.head * 2 > this.buffer.length) {
          this.buffer.splice(0, this.head);
          this.head = 0;
        }
        const resume = this.resume;
        this.resume = undefined;
        resume?.();
        return r;
      }
      if (this.done) {
        if (this.error !== undefined) {
          const e = this.error;
          this.error = undefined;
          throw e;
        }
        return undefined;
      }
      await new Promise<void>((res) => {
        this.wake = res;
      });
    }
  }
}
