// The head's series by label hash: open addressing (linear probing) over a typed array of hashes
// and an array of series, instead of a Map of hash → series or list of series. With 1M series a
// Map costs three slots an entry plus buckets, a full rehash each time it doubles, and several
// dependent memory reads a lookup; here a lookup is one probe sequence over adjacent slots, and
// equal hashes (collisions) are simply more entries along the sequence.
import type { Labels } from '../labels/labels.js';

/** What the index holds: anything with labels. */
interface Labelled {
  readonly labels: Labels;
}

const MIN_BITS = 10;

/** Series by the 32-bit hash of their labels; equality of the labels decides a match. */
export class HashIndex<T extends Labelled> {
  private bits = MIN_BITS;
  private hashes = new Int32Array(1 << MIN_BITS);
  private vals: (T | undefined)[] = new Array<T | undefined>(1 << MIN_BITS).fill(undefined);
  private count = 0;

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  // Fibonacci hashing: the top bits of hash × 2^32/φ, so FNV's weaker low bits do not cluster.
  private slot(hash: number): number {
    return Math.imul(hash, 0x9e3779b1) >>> (32 - this.bits);
  }

  /** The entry with this hash and labels equal to `labels`, if any. */
  get(hash: number, labels: Labels): T | undefined {
    const mask = this.vals.length - 1;
    const vals = this.vals;
    const hashes = this.hashes;
    for (let i = this.slot(hash); ; i = (i + 1) & mask) {
      const v = vals[i];
      if (v === undefined) return undefined;
      if (hashes[i] === hash && v.labels.equals(labels)) return v;
    }
  }

  /** Adds an entry (the caller checked no equal labels are there). */
  add(hash: number, v: T): void {
    if ((this.count + 1) * 2 > this.vals.length) this.grow();
    this.put(hash, v);
    this.count++;
  }

  private put(hash: number, v: T): void {
    const mask = this.vals.length - 1;
    let i = this.slot(hash);
    while (this.vals[i] !== undefined) i = (i + 1) & mask;
    this.vals[i] = v;
    this.hashes[i] = hash;
  }

  /** Removes the entry `v` (by identity) stored under `hash`; returns whether it was there. */
  delete(hash: number, v: T): boolean {
    const mask = this.vals.length - 1;
    const vals = this.vals;
    const hashes = this.hashes;
    let i = this.slot(hash);
    for (;;) {
      const x = vals[i];
      if (x === undefined) return false;
      if (x === v) break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // slot is not between the hole and them, so every lookup still finds its entry.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const x = vals[j];
      if (x === undefined) break;
      const home = this.slot(hashes[j] as number);
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      vals[hole] = x;
      hashes[hole] = hashes[j] as number;
      hole = j;
    }
    vals[hole] = undefined;
    this.count--;
    return true;
  }

  private grow(): void {
    const oldVals = this.vals;
    const oldHashes = this.hashes;
    this.bits++;
    const size = 1 << this.bits;
    this.vals = new Array<T | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    for (let i = 0; i < oldVals.length; i++) {
      const v = oldVals[i];
      if (v !== undefined) this.put(oldHashes[i] as number, v);
    }
  }
}
