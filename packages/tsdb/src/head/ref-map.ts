// Series by ref for the head: refs are handed out counting up from 1 (and a WAL written by
// Prometheus numbers them the same way), so a paged array beats a Map: a Map of 1M series costs a
// rehash of every entry each time it doubles and ~40 bytes an entry, and its lookups showed as
// the largest cost of creating a series in replay profiles. Pages are dropped once their series
// are all deleted, so churn (refs only ever grow) leaves no dead arrays behind.

// 4096 refs a page: 32 KiB of pointers, small next to the series they point to.
const PAGE_BITS = 12;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
// Refs from here on (a foreign writer's, never ours) go to a Map instead of the page directory.
const MAX_DENSE_REF = 2 ** 31;

/**
 * Values by non-negative integer ref, in a paged array for refs below 2^31 and a Map above.
 * Iteration is in ref order for the paged part, then insertion order.
 */
export class RefMap<T> {
  private pages: ((T | undefined)[] | undefined)[] = [];
  private live: number[] = [];
  private readonly big = new Map<number, T>();
  private count = 0;

  /** Number of values. */
  get size(): number {
    return this.count;
  }

  /** The value under `ref`, if any. */
  get(ref: number): T | undefined {
    if (ref < MAX_DENSE_REF) {
      const page = this.pages[ref >>> PAGE_BITS];
      return page === undefined ? undefined : page[ref & PAGE_MASK];
    }
    return this.big.get(ref);
  }

  /** Sets the value under `ref` (replacing one already there). */
  set(ref: number, v: T): void {
    if (ref >= MAX_DENSE_REF) {
      if (!this.big.has(ref)) this.count++;
      this.big.set(ref, v);
      return;
    }
    const p = ref >>> PAGE_BITS;
    let page = this.pages[p];
    if (page === undefined) {
      while (this.pages.length < p) {
        this.pages.push(undefined);
        this.live.push(0);
      }
      page = new Array<T | undefined>(PAGE_SIZE).fill(undefined);
      this.pages[p] = page;
      this.live[p] = 0;
    }
    const i = ref & PAGE_MASK;
    if (page[i] === undefined) {
      this.count++;
      this.live[p] = (this.live[p] as number) + 1;
    }
    page[i] = v;
  }

  /** Removes the value under `ref`; returns whether there was one. */
  delete(ref: number): boolean {
    if (ref >= MAX_DENSE_REF) {
      if (!this.big.delete(ref)) return false;
      this.count--;
      return true;
    }
    const p = ref >>> PAGE_BITS;
    const page = this.pages[p];
    if (page === undefined || page[ref & PAGE_MASK] === undefined) return false;
    page[ref & PAGE_MASK] = undefined;
    this.count--;
    const left = (this.live[p] as number) - 1;
    this.live[p] = left;
    if (left === 0) this.pages[p] = undefined;
    return true;
  }

  /** Every value, in ref order for refs below 2^31, then the others in insertion order. */
  *values(): IterableIterator<T> {
    const pages = this.pages;
    for (let p = 0; p < pages.length; p++) {
      const page = pages[p];
      if (page === undefined) continue;
      for (let i = 0; i < PAGE_SIZE; i++) {
        const v = page[i];
        if (v !== undefined) yield v;
      }
    }
    yield* this.big.values();
  }
}
