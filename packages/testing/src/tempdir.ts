import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir, e.g. makeTempDir('store-') → /tmp/thanos-ts-store-AbC123. */
export function makeTempDir(prefix = 'test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), `thanos-ts-${prefix}`));
}

/** Removes a directory made by makeTempDir (and everything in it). */
export function removeTempDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}
