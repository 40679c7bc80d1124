// The head's 32-bit hash of a label set (FNV-1a), in pieces so the WAL replay worker can compute
// it while it decodes series records, off the main thread, and get the same value as
// hashLabels in head.ts.

/** FNV-1a's 32-bit offset basis: the hash of no labels before folding any string in. */
export const LABELS_HASH_SEED = 0x811c9dc5;

/**
 * Folds one label name or value into a labels hash: FNV-1a over its UTF-16 code units, then a
 * 0xff separator (so "ab","c" and "a","bc" differ). Fold names and values in label order; the
 * result as `| 0` is hashLabels's.
 */
export function foldLabelsHash(h: number, s: string): number {
  for (let j = 0; j < s.length; j++) h = Math.imul(h ^ s.charCodeAt(j), 0x01000193);
  return Math.imul(h ^ 0xff, 0x01000193);
}
