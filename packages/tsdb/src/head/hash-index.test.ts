import { describe, expect, it } from 'vitest';
import { Labels } from '../labels/labels.js';
import { HashIndex } from './hash-index.js';
import { RefMap } from './ref-map.js';

// Entries with chosen hashes: a handful of hash values shared by many label sets, so probe runs
// hold collisions and wrap around the table's end.
type Entry = { ref: number; hash: number; labels: Labels };

function entries(n: number, hashes: number): Entry[] {
  return Array.from({ length: n }, (_, i) => ({
    ref: i + 1,
    hash: ((i % hashes) * 0x3c6ef372) | 0,
    labels: Labels.from({ __name__: 'm', i: String(i) }),
  }));
}

describe('HashIndex', () => {
  it.each([
    { name: 'distinct hashes', n: 5000, hashes: 5000 },
    { name: 'many collisions', n: 3000, hashes: 7 },
    { name: 'one hash', n: 300, hashes: 1 },
  ])('finds, misses and deletes: $name', ({ n, hashes }) => {
    const es = entries(n, hashes);
    const idx = new HashIndex<Entry>((ref) => es[ref - 1]);
    for (const e of es) idx.add(e.hash, e);
    expect(idx.size).toBe(n);
    for (const e of es) expect(idx.get(e.hash, Labels.from(e.labels.toRecord()))).toBe(e);
    expect(idx.get(es[0]?.hash as number, Labels.from({ __name__: 'm', i: 'none' }))).toBeUndefined();
    // Delete every third entry: the rest must all stay reachable (backward-shift deletion).
    for (let i = 0; i < n; i += 3) expect(idx.delete(es[i]?.hash as number, es[i] as Entry)).toBe(true);
    for (let i = 0; i < n; i++) {
      const e = es[i] as Entry;
      expect(idx.get(e.hash, e.labels)).toBe(i % 3 === 0 ? undefined : e);
    }
    expect(idx.delete(es[0]?.hash as number, es[0] as Entry)).toBe(false);
    expect(idx.size).toBe(n - Math.ceil(n / 3));
  });
});

describe('RefMap', () => {
  it('keeps values by ref, dense and sparse, and frees emptied pages', () => {
    const m = new RefMap<string>();
    const refs = [1, 2, 4095, 4096, 70_000, 2 ** 31 - 1, 2 ** 31, 2 ** 40];
    for (const r of refs) m.set(r, `v${r}`);
    m.set(2, 'again');
    expect(m.size).toBe(refs.length);
    expect(m.get(2)).toBe('again');
    expect(m.get(3)).toBeUndefined();
    expect(m.get(2 ** 40)).toBe(`v${2 ** 40}`);
    expect([...m.values()]).toEqual(['v1', 'again', ...refs.slice(2).map((r) => `v${r}`)]);
    expect(m.delete(70_000)).toBe(true);
    expect(m.delete(70_000)).toBe(false);
    expect(m.delete(2 ** 40)).toBe(true);
    expect(m.get(70_000)).toBeUndefined();
    m.set(70_001, 'back');
    expect(m.get(70_001)).toBe('back');
    expect(m.size).toBe(refs.length - 1);
  });
});
