/**
 * A binary min-heap that moves elements exactly as Go's container/heap does (Push = append + up,
 * Pop = swap first and last + down). Prometheus's merges break ties between equal keys by heap
 * position ("one sample from random overlapped ones is kept", storage/merge.go), so mirroring the
 * algorithm step for step is what makes our vertical compaction keep the same sample Prometheus
 * keeps when two blocks hold different values at one timestamp.
 */
export class GoHeap<T> {
  private readonly items: T[] = [];

  /** `less(a, b)`: whether a must come out before b (Go's Less). */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Number of elements. */
  get length(): number {
    return this.items.length;
  }

  /** The smallest element without removing it (Go's h[0]); undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds an element (heap.Push). */
  push(x: T): void {
    this.items.push(x);
    this.up(this.items.length - 1);
  }

  /** Removes and returns the smallest element (heap.Pop); undefined when empty. */
  pop(): T | undefined {
    const n = this.items.length - 1;
    if (n < 0) return undefined;
    this.swap(0, n);
    this.down(0, n);
    return this.items.pop();
  }

  private swap(i: number, j: number): void {
    const h = this.items;
    const t = h[i] as T;
    h[i] = h[j] as T;
    h[j] = t;
  }

  private up(j: number): void {
    const h = this.items;
    for (;;) {
      // Go computes the parent as (j-1)/2 with truncation, so j = 0 is its own parent and stops.
      const i = Math.trunc((j - 1) / 2);
      if (i === j || !this.less(h[j] as T, h[i] as T)) break;
      this.swap(i, j);
      j = i;
    }
  }

  private down(i0: number, n: number): void {
    const h = this.items;
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.less(h[j2] as T, h[j1] as T)) j = j2;
      if (!this.less(h[j] as T, h[i] as T)) break;
      this.swap(i, j);
      i = j;
    }
  }
}
