/**
 * Hands out Float64Array views carved from large slabs, so decoding many small series does not
 * allocate one off-heap ArrayBuffer per column (V8 makes each typed array over 64 bytes its own
 * backing store, which dominates decoding time at 100k series). A slab lives as long as any of
 * its views does, so use one arena per query and only for results.
 */
export class ColumnArena {
  private slab: Float64Array;
  private used = 0;

  constructor(private readonly slabSize = 1 << 16) {
    this.slab = new Float64Array(0);
  }

  /** A zero-filled view of `n` doubles. */
  alloc(n: number): Float64Array {
    if (this.used + n > this.slab.length) {
      this.slab = new Float64Array(Math.max(n, this.slabSize));
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + n);
    this.used += n;
    return view;
  }

  /** Gives back the tail of the last allocation that was not used (n: how many were kept). */
  shrinkLast(view: Float64Array, kept: number): Float64Array {
    const start = view.byteOffset / 8;
    if (view.buffer === this.slab.buffer && start + view.length === this.used) this.used = start + kept;
    return view.subarray(0, kept);
  }
}

/** Reusable scratch columns that grow as needed (for intermediate results). */
export class Scratch {
  timestamps = new Float64Array(1024);
  values = new Float64Array(1024);

  /** Makes room for `n` samples (contents are not kept). */
  ensure(n: number): void {
    if (this.timestamps.length < n) {
      const size = Math.max(n, this.timestamps.length * 2);
      this.timestamps = new Float64Array(size);
      this.values = new Float64Array(size);
    }
  }
}
