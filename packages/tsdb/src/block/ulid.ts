import { decodeTime, ulid } from 'ulid';

// Block IDs are ULIDs (github.com/oklog/ulid): 26 Crockford base32 characters. oklog's Parse
// accepts either case, so a block directory written by any tool is recognised the same everywhere.
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

/** Whether `s` is a ULID as oklog/ulid's Parse accepts it (either case). */
export function isULID(s: string): boolean {
  return ULID_RE.test(s);
}

/**
 * The block ID of a bucket listing entry `<ulid>/` (Thanos's block.IsBlockDir), or undefined when
 * the entry is something else (a file, `debug/`, a deletion-mark directory).
 */
export function blockIdOfDir(entry: string): string | undefined {
  if (!entry.endsWith('/')) return undefined;
  const id = entry.slice(0, -1);
  return isULID(id) ? id : undefined;
}

/** Milliseconds since the epoch encoded in a ULID's first 10 characters (when the block was made). */
export function ulidTime(id: string): number {
  return decodeTime(id.toUpperCase());
}

/** A new block ID: a ULID of the current time (or `ms`), uppercase as oklog/ulid writes it. */
export function newBlockId(ms?: number): string {
  return ulid(ms);
}
