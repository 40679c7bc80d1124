import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Directories made here and not removed yet: removed when the process exits. Tests that forget
 * removeTempDir (or fail before it) would otherwise leave data behind, hundreds of MB a run.
 */
const unremoved = new Set<string>();

function removeAtExit(dir: string): void {
  if (unremoved.size === 0) process.once('exit', removeUnremovedTempDirs);
  unremoved.add(dir);
}

/**
 * Removes every directory makeTempDir made that is still there (the test setup calls it after
 * each test file, once the file's own afterAll hooks have stopped its processes).
 */
export function removeUnremovedTempDirs(): void {
  for (const dir of unremoved) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a process of the test may still hold it; nothing else to do at exit
    }
  }
  unremoved.clear();
}

/**
 * A fresh directory under the OS temp dir, e.g. makeTempDir('store-') → /tmp/thanos-ts-store-AbC123,
 * removed when the process exits if removeTempDir did not remove it before.
 */
export async function makeTempDir(prefix = 'test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `thanos-ts-${prefix}`));
  removeAtExit(dir);
  return dir;
}

/** Removes a directory made by makeTempDir (and everything in it). */
export function removeTempDir(dir: string): Promise<void> {
  unremoved.delete(dir);
  return rm(dir, { recursive: true, force: true });
}
