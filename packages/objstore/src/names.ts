import { DIR_DELIM } from './bucket.js';
import { ObjstoreInvalidArgumentError } from './errors.js';

/** Rejects names no backend can store consistently: empty, absolute, or a directory. */
export function validateObjectName(name: string): void {
  if (name === '') throw new ObjstoreInvalidArgumentError('object name is empty');
  if (name.endsWith(DIR_DELIM)) {
    throw new ObjstoreInvalidArgumentError(
      `object name ${JSON.stringify(name)} ends with "/" (a directory, not an object)`,
    );
  }
}

/**
 * Normalises an `iter` directory the way Thanos does: "" stays "" (the bucket root), anything
 * else gets exactly one trailing "/", so `iter("id1")` and `iter("id1/")` list the same entries.
 */
export function normalizeIterDir(dir: string): string {
  if (dir === '') return '';
  let end = dir.length;
  while (end > 0 && dir[end - 1] === DIR_DELIM) end--;
  return end === 0 ? '' : `${dir.slice(0, end)}${DIR_DELIM}`;
}

/**
 * Validates a (offset, length) pair: offsets are non-negative integers; length is a
 * non-negative integer or -1 (to the end of the object).
 */
export function validateRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ObjstoreInvalidArgumentError(`range offset must be a non-negative integer, got ${offset}`);
  }
  if (!Number.isSafeInteger(length) || length < -1) {
    throw new ObjstoreInvalidArgumentError(`range length must be a non-negative integer or -1, got ${length}`);
  }
}

/**
 * Given sorted object names (all starting with `dir`), yields what `iter` shows: every name
 * when recursive, else one entry per direct child (objects, and sub-directories with a "/").
 * Input sorted lexicographically gives output in the same order, deduplicated.
 */
export function* directoryEntries(sortedNames: Iterable<string>, dir: string, recursive: boolean): Generator<string> {
  let last: string | undefined;
  for (const name of sortedNames) {
    if (name === dir) continue;
    if (recursive) {
      yield name;
      continue;
    }
    const slash = name.indexOf(DIR_DELIM, dir.length);
    const entry = slash === -1 ? name : name.slice(0, slash + 1);
    if (entry !== last) {
      last = entry;
      yield entry;
    }
  }
}
