import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { InvalidArgumentError, type ThanosFile } from '@thanos-ts/tsdb';

/** Thanos's --hash-func values: '' (no hashes, the default) or 'SHA256'. */
export type HashFunc = '' | 'SHA256';
/** Every {@link HashFunc}, in Thanos's order. */
export const HASH_FUNCS: readonly HashFunc[] = ['', 'SHA256'];

/** Thanos's metadata.ObjectHash as meta.json stores it in `thanos.files[].hash`. */
export interface ObjectHash {
  hashFunc: HashFunc;
  value: string;
}

/** Checks a --hash-func value; throws naming `flag` otherwise. */
export function parseHashFunc(value: string, flag = '--hash-func'): HashFunc {
  if (!(HASH_FUNCS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`${flag}: want "" or "SHA256", got ${JSON.stringify(value)}`);
  return value as HashFunc;
}

/**
 * Hash of a local file (Thanos's metadata.CalculateHash), streamed so a multi-GB chunk segment
 * never sits in memory. Hex-encoded lowercase SHA-256.
 */
export async function calculateHash(path: string, func: Exclude<HashFunc, ''>): Promise<ObjectHash> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return { hashFunc: func, value: h.digest('hex') };
}

/** The hash a meta.json lists for a file (Thanos's `hashFunc`, `value`), or undefined. */
export function fileHash(f: ThanosFile): ObjectHash | undefined {
  const h = f.hash;
  if (!h?.hashFunc || typeof h.value !== 'string') return undefined;
  return { hashFunc: h.hashFunc as HashFunc, value: h.value };
}

/** Puts `hash` on a meta.json file entry with Thanos's key names (`hashFunc`, `value`). */
export function withHash(f: ThanosFile, hash: ObjectHash): ThanosFile {
  return { ...f, hash };
}
