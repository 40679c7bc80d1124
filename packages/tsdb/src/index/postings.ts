/**
 * Postings lists: sorted, duplicate-free series references as Uint32Array, and the set operations
 * Prometheus's PostingsForMatchers combines them with.
 */

/** The empty postings list. */
export const EMPTY_POSTINGS: Uint32Array = new Uint32Array(0);

/**
 * Intersection of sorted lists. Galloping search from the smaller list into the larger ones, so
 * a small list against a huge one costs O(small · log(huge)).
 */
export function intersectPostings(lists: readonly Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY_POSTINGS;
  const sorted = [...lists].sort((a, b) => a.length - b.length);
  let acc = sorted[0] as Uint32Array;
  for (let k = 1; k < sorted.length && acc.length > 0; k++) acc = intersectTwo(acc, sorted[k] as Uint32Array);
  return acc;
}

function intersectTwo(small: Uint32Array, big: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(small.length, big.length));
  let n = 0;
  let j = 0;
  const bl = big.length;
  // When sizes are close a linear merge is faster than galloping. The index steps are computed
  // without branches on the comparison, which random data makes unpredictable.
  if (big.length < small.length * 8) {
    let i = 0;
    const sl = small.length;
    while (i < sl && j < bl) {
      const a = small[i] as number;
      const b = big[j] as number;
      if (a === b) out[n++] = a;
      i += +(a <= b);
      j += +(a >= b);
    }
    return out.subarray(0, n);
  }
  for (let i = 0; i < small.length && j < bl; i++) {
    const x = small[i] as number;
    if ((big[j] as number) < x) {
      // Gallop: find a bound, then binary search inside it.
      let step = 1;
      let lo = j;
      let hi = j + 1;
      while (hi < bl && (big[hi] as number) < x) {
        lo = hi;
        step <<= 1;
        hi = j + step;
      }
      if (hi > bl) hi = bl;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((big[mid] as number) < x) lo = mid + 1;
        else hi = mid;
      }
      j = lo;
    }
    if (j < bl && big[j] === x) {
      out[n++] = x;
      j++;
    }
  }
  return out.subarray(0, n);
}

/** Union of sorted lists: pairwise linear merges, O(total · log lists). */
export function mergePostings(lists: readonly Uint32Array[]): Uint32Array {
  let level = lists.filter((l) => l.length > 0);
  if (level.length === 0) return EMPTY_POSTINGS;
  while (level.length > 1) {
    const next: Uint32Array[] = [];
    for (let k = 0; k + 1 < level.length; k += 2)
      next.push(mergeTwo(level[k] as Uint32Array, level[k + 1] as Uint32Array));
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint32Array);
    level = next;
  }
  return level[0] as Uint32Array;
}

function mergeTwo(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  const al = a.length;
  const bl = b.length;
  while (i < al && j < bl) {
    const x = a[i] as number;
    const y = b[j] as number;
    out[n++] = Math.min(x, y);
    i += +(x <= y);
    j += +(y <= x);
  }
  while (i < al) out[n++] = a[i++] as number;
  while (j < bl) out[n++] = b[j++] as number;
  return out.subarray(0, n);
}

/** Elements of `a` that are not in `b` (both sorted). */
export function withoutPostings(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length === 0 || b.length === 0) return a;
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    while (j < b.length && (b[j] as number) < x) j++;
    if (j < b.length && b[j] === x) continue;
    out[n++] = x;
  }
  return out.subarray(0, n);
}
