/**
 * Postings intersection: two sorted lists of 1M series references each (drawn from 0..4M), and a
 * small list (1k) against a 1M one (the galloping case).
 * Run: npx tsx bench/tsdb/postings.ts
 */
import { intersectPostings, mergePostings } from '@thanos-ts/tsdb';

// mulberry32: a PRNG that stays exact in doubles.
let seed = 3;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
function sortedList(n: number, universe: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(rnd() * universe);
  a.sort();
  let w = 0;
  for (let i = 0; i < n; i++) if (w === 0 || a[w - 1] !== a[i]) a[w++] = a[i] as number;
  return a.slice(0, w);
}
// Best of `runs`, in CPU time of this process (process.cpuUsage), so that other load on the
// machine does not count; wall time would measure the scheduler more than the code.
function best(fn: () => unknown, runs = 9): number {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    if (ms < bestMs) bestMs = ms;
  }
  return bestMs;
}
const a = sortedList(1_100_000, 4_000_000).subarray(0, 1_000_000);
const b = sortedList(1_100_000, 4_000_000).subarray(0, 1_000_000);
const small = sortedList(1000, 4_000_000);
let n = 0;
const big = best(() => {
  n = intersectPostings([a, b]).length;
});
console.log(`intersect 1M ∩ 1M: ${big.toFixed(2)} ms (${n} common)`);
const gal = best(() => {
  n = intersectPostings([small, a]).length;
});
console.log(`intersect 1k ∩ 1M: ${gal.toFixed(3)} ms (${n} common)`);
const mg = best(() => {
  n = mergePostings([a, b]).length;
}, 5);
console.log(`merge 1M ∪ 1M: ${mg.toFixed(2)} ms (${n} total)`);
