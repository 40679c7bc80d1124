// The head's series by label hash: open addressing (linear probing) over typed arrays of hashes
// and refs, instead of a Map of hash → series or list of series. With 1M series a
// Map costs three slots an entry plus buckets, a full rehash each time it doubles, and several
// dependent memory reads a lookup; here a lookup is one probe sequence over adjacent slots, and
// equal hashes (collisions) are simply more entries along the sequence.
import type { Labels } from '../labels/labels.js';

/** What the index holds: anything with labels and a ref. */
interface Labelled {
  readonly ref: number;
  readonly labels: Labels;
}

const MIN_BITS = 10;

/**
 * Refs by the 32-bit hash of their labels; equality of the labels decides a match, through
 * `resolve` (ref → entry). Only numbers are stored: no array of a million pointers for the
 * garbage collector to scan, and growing copies two typed arrays.
 */
export class HashIndex<T extends Labelled> {
  private bits = MIN_BITS;
  private hashes = new Int32Array(1 << MIN_BITS);
  // Refs; 0 marks an empty slot (series refs start at 1), so refs are stored plus one.
  private refs = new Float64Array(1 << MIN_BITS);
  private count = 0;

  constructor(private readonly resolve: (ref: number) => T | undefined) {}

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
    const mask = this.refs.length - 1;
    const refs = this.refs;
    const hashes = this.hashes;
    for (let i = this.slot(hash); ; i = (i + 1) & mask) {
      const r = refs[i] as number;
      if (r === 0) return undefined;
      if (hashes[i] === hash) {
        const v = this.resolve(r - 1);
        if (v?.labels.equals(labels)) return v;
      }
    }
  }

  /** Adds an entry (the caller checked no equal labels are there). */
  add(hash: number, v: T): void {
    if ((this.count + 1) * 2 > this.refs.length) this.grow();
    this.put(hash, v.ref + 1);
    this.count++;
  }

  private put(hash: number, storedRef: number): void {
    const mask = this.refs.length - 1;
    let i = this.slot(hash);
    while (this.refs[i] !== 0) i = (i + 1) & mask;
    this.refs[i] = storedRef;
    this.hashes[i] = hash;
  }

  /** Removes the entry `v` (by ref) stored under `hash`; returns whether it was there. */
  delete(hash: number, v: T): boolean {
    const mask = this.refs.length - 1;
    const refs = this.refs;
    const hashes = this.hashes;
    const want = v.ref + 1;
    let i = this.slot(hash);
    for (;;) {
      const r = refs[i] as number;
      if (r === 0) return false;
      if (r === want) break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // slot is not between the hole and them, so every lookup still finds its entry.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const r = refs[j] as number;
      if (r === 0) break;
      const home = this.slot(hashes[j] as number);
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      refs[hole] = r;
      hashes[hole] = hashes[j] as number;
      hole = j;
    }
    refs[hole] = 0;
    this.count--;
    return true;
  }

  private grow(): void {
    const oldRefs = this.refs;
    const oldHashes = this.hashes;
    this.bits++;
    const size = 1 << this.bits;
    this.refs = new Float64Array(size);
    this.hashes = new Int32Array(size);
    for (let i = 0; i < oldRefs.length; i++) {
      const r = oldRefs[i] as number;
      if (r !== 0) this.put(oldHashes[i] as number, r);
    }
  }
}
