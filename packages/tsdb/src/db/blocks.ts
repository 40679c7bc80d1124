import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockReader } from '../block/reader.js';

// Block directories are named by ULID (26 Crockford base-32 characters).
const ULID_DIR = /^[0-9A-HJKMNP-TV-Z]{26}$/i;

/** Suffixes of directories a crash can leave behind (Prometheus's isTmpDir). */
export const TMP_DIR_SUFFIXES: readonly string[] = ['.tmp-for-creation', '.tmp-for-deletion', '.tmp'];

/** ULID-named subdirectories of `dir` holding a meta.json, sorted by name. */
export async function listBlockDirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || !ULID_DIR.test(e.name)) continue;
    try {
      await stat(join(dir, e.name, 'meta.json'));
      out.push(join(dir, e.name));
    } catch {
      // A block directory without meta.json was never finished; Prometheus skips it too.
    }
  }
  return out.sort();
}

/**
 * Removes what a crash left half-done: block directories being created or deleted, as
 * Prometheus's removeBestEffortTmpDirs. Returns the names removed.
 */
export async function removeTmpDirs(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory() || !TMP_DIR_SUFFIXES.some((s) => e.name.endsWith(s))) continue;
    await rm(join(dir, e.name), { recursive: true, force: true });
    removed.push(e.name);
  }
  return removed;
}

/**
 * Blocks beyond the time retention (Prometheus's BeyondTimeRetention): ordered newest first, a
 * block whose maxTime is more than `retentionMs` behind the newest block's maxTime goes, with
 * every older one. `retentionMs` 0 keeps everything.
 */
export function beyondTimeRetention(blocks: readonly BlockReader[], retentionMs: number): BlockReader[] {
  if (blocks.length === 0 || retentionMs <= 0) return [];
  const byNewest = [...blocks].sort((a, b) => b.meta.minTime - a.meta.minTime);
  const newest = (byNewest[0] as BlockReader).meta.maxTime;
  for (let i = 1; i < byNewest.length; i++) {
    if (newest - (byNewest[i] as BlockReader).meta.maxTime > retentionMs) return byNewest.slice(i);
  }
  return [];
}

/**
 * Deletes a block directory atomically from a reader's point of view: renamed to
 * `<ulid>.tmp-for-deletion` first, then removed (Prometheus's deleteBlocks), so a crash never
 * leaves a half-deleted block that looks whole.
 */
export async function deleteBlockDir(dir: string): Promise<void> {
  const tmp = `${dir}.tmp-for-deletion`;
  await rename(dir, tmp);
  await rm(tmp, { recursive: true, force: true });
}

/**
 * The blocks a DB serves, with reader counts so a block is closed and deleted only once no query
 * holds it (Prometheus waits for pending readers the same way).
 */
export class BlockSet {
  private blocks: BlockReader[] = [];
  private readonly readers = new Map<BlockReader, number>();
  private readonly idle = new Map<BlockReader, () => void>();

  /** Current blocks sorted by minTime. */
  get list(): readonly BlockReader[] {
    return this.blocks;
  }

  /** Adds blocks, keeping the order by minTime. */
  add(...bs: BlockReader[]): void {
    this.blocks = [...this.blocks, ...bs].sort(
      (a, b) => a.meta.minTime - b.meta.minTime || (a.meta.ulid < b.meta.ulid ? -1 : 1),
    );
  }

  /** Takes the current blocks for one read; call `release` when the read ends. */
  acquire(): { blocks: readonly BlockReader[]; release: () => void } {
    const snapshot = this.blocks;
    for (const b of snapshot) this.readers.set(b, (this.readers.get(b) ?? 0) + 1);
    let done = false;
    return {
      blocks: snapshot,
      release: () => {
        if (done) return;
        done = true;
        for (const b of snapshot) {
          const n = (this.readers.get(b) ?? 1) - 1;
          if (n > 0) this.readers.set(b, n);
          else {
            this.readers.delete(b);
            this.idle.get(b)?.();
          }
        }
      },
    };
  }

  /** Removes blocks from the set, waits for their readers, then closes them. */
  async remove(bs: readonly BlockReader[]): Promise<void> {
    const gone = new Set(bs);
    this.blocks = this.blocks.filter((b) => !gone.has(b));
    await Promise.all(
      bs.map(async (b) => {
        if (this.readers.has(b)) {
          await new Promise<void>((resolve) => this.idle.set(b, resolve));
          this.idle.delete(b);
        }
        await b.close();
      }),
    );
  }
}
