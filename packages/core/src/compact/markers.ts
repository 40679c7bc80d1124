import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import {
  DELETION_MARK_FILENAME,
  META_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
  parseBlockMeta,
  type ThanosFile,
} from '@thanos-ts/tsdb';
import { calculateHash, fileHash } from '../block/hash.js';
import { forEachLimit } from '../concurrency/limit.js';

export { DELETION_MARK_FILENAME, NO_COMPACT_MARK_FILENAME, NO_DOWNSAMPLE_MARK_FILENAME };
/**
 * no-compact-mark.json reason the compactor writes when it quarantines a group. Thanos's own
 * reasons are `manual`, `index-size-exceeding`, `block-index-out-of-order-chunk` and
 * `downsample-vertical-compaction`; Thanos reads any reason.
 */
export const QUARANTINE_REASON = 'compactor-halt';

/** deletion-mark.json (Thanos's metadata.DeletionMark). `deletion_time` is in seconds. */
export interface DeletionMark {
  id: string;
  version: 1;
  details?: string;
  deletion_time: number;
}

/** no-compact-mark.json (Thanos's metadata.NoCompactMark). `no_compact_time` is in seconds. */
export interface NoCompactMark {
  id: string;
  version: 1;
  details?: string;
  no_compact_time: number;
  reason: string;
}

/** no-downsample-mark.json (Thanos's metadata.NoDownsampleMark). */
export interface NoDownsampleMark {
  id: string;
  version: 1;
  details?: string;
  no_downsample_time: number;
  reason: string;
}

/**
 * Reads a marker of a block; undefined when it is absent or unparsable (a partly written marker,
 * which Thanos also logs and ignores).
 */
export async function readMarker<T>(
  bucket: Bucket,
  id: string,
  file: string,
  signal?: AbortSignal,
): Promise<T | undefined> {
  let body: Uint8Array;
  try {
    body = await bucket.get(`${id}/${file}`, signal ? { signal } : {});
  } catch (err) {
    if (isObjNotFoundErr(err)) return undefined;
    throw err;
  }
  try {
    const m = JSON.parse(new TextDecoder().decode(body)) as { version?: unknown };
    return m.version === 1 ? (m as T) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Uploads `<id>/deletion-mark.json` as Thanos's block.MarkForDeletion does (keys in Go's field
 * order: id, version, details, deletion_time). Returns false, writing nothing, when the block is
 * already marked.
 */
export async function markForDeletion(bucket: Bucket, id: string, details: string, nowMs: number): Promise<boolean> {
  const name = `${id}/${DELETION_MARK_FILENAME}`;
  if (await bucket.exists(name)) return false;
  const mark: DeletionMark = { id, version: 1, details, deletion_time: Math.floor(nowMs / 1000) };
  await bucket.upload(name, new TextEncoder().encode(JSON.stringify(mark)));
  return true;
}

/** Uploads `<id>/no-compact-mark.json` (Thanos's block.MarkForNoCompact); false when already marked. */
export async function markForNoCompact(
  bucket: Bucket,
  id: string,
  reason: string,
  details: string,
  nowMs: number,
): Promise<boolean> {
  const name = `${id}/${NO_COMPACT_MARK_FILENAME}`;
  if (await bucket.exists(name)) return false;
  const mark: NoCompactMark = { id, version: 1, details, no_compact_time: Math.floor(nowMs / 1000), reason };
  await bucket.upload(name, new TextEncoder().encode(JSON.stringify(mark)));
  return true;
}

/** Uploads `<id>/no-downsample-mark.json`; false when already marked. */
export async function markForNoDownsample(
  bucket: Bucket,
  id: string,
  reason: string,
  details: string,
  nowMs: number,
): Promise<boolean> {
  const name = `${id}/${NO_DOWNSAMPLE_MARK_FILENAME}`;
  if (await bucket.exists(name)) return false;
  const mark: NoDownsampleMark = { id, version: 1, details, no_downsample_time: Math.floor(nowMs / 1000), reason };
  await bucket.upload(name, new TextEncoder().encode(JSON.stringify(mark)));
  return true;
}

/**
 * Deletes a block from the bucket in Thanos's order (block.Delete): meta.json first, so readers
 * stop seeing the block at once and a crash leaves a partial block the cleaner finishes, then
 * every other object, then the deletion mark last.
 */
export async function deleteBlock(bucket: Bucket, id: string, signal?: AbortSignal): Promise<void> {
  const o = signal ? { signal } : {};
  await bucket.delete(`${id}/${META_FILENAME}`, o);
  const rest: string[] = [];
  for await (const name of bucket.iter(`${id}/`, { ...o, recursive: true }))
    if (name !== `${id}/${DELETION_MARK_FILENAME}`) rest.push(name);
  for (const name of rest) await bucket.delete(name, o);
  await bucket.delete(`${id}/${DELETION_MARK_FILENAME}`, o);
}

/**
 * Downloads a block to `<dir>` (Thanos's block.Download): every object under `<id>/` except the
 * markers, meta.json last, so a crash leaves a directory without meta.json that the next run
 * removes. `concurrency` files at once (--block-files-concurrency). Files the meta.json lists with
 * a hash (--hash-func) that are already in `dir` with that hash are kept, not downloaded again
 * (a restarted compaction reuses what it fetched before); anything else in `dir` is removed.
 * Returns the bytes downloaded.
 */
export async function downloadBlock(
  bucket: Bucket,
  id: string,
  dir: string,
  concurrency: number,
  signal?: AbortSignal,
): Promise<number> {
  const o = signal ? { signal } : {};
  const meta = await bucket.get(`${id}/${META_FILENAME}`, o);
  const keep = await reusableFiles(meta, dir, `${id}/${META_FILENAME}`);
  if (keep.size === 0) await rm(dir, { recursive: true, force: true });
  else {
    await rm(join(dir, META_FILENAME), { force: true });
    for (const rel of await localFiles(dir)) if (!keep.has(rel)) await rm(join(dir, rel), { force: true });
  }
  const names: string[] = [];
  for await (const name of bucket.iter(`${id}/`, { ...o, recursive: true })) {
    const rel = name.slice(id.length + 1);
    if (rel === META_FILENAME || rel.endsWith('-mark.json') || keep.has(rel)) continue;
    names.push(rel);
  }
  let bytes = 0;
  await forEachLimit(names, Math.max(1, concurrency), async (rel) => {
    const target = join(dir, rel);
    await mkdir(dirname(target), { recursive: true });
    const stream = await bucket.getStream(`${id}/${rel}`, o);
    let n = 0;
    stream.on('data', (c: Uint8Array) => {
      n += c.length;
    });
    await pipeline(stream, createWriteStream(target), o);
    bytes += n;
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, META_FILENAME), meta);
  return bytes + meta.length;
}

/** Files under `dir` (relative, `/`-separated); none when it does not exist. */
async function localFiles(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The files meta.json lists with a hash that `dir` already holds with that hash. */
async function reusableFiles(metaBytes: Uint8Array, dir: string, where: string): Promise<Set<string>> {
  const keep = new Set<string>();
  let files: ThanosFile[];
  try {
    files = parseBlockMeta(new TextDecoder().decode(metaBytes), where).thanos?.files ?? [];
  } catch {
    // An unreadable meta.json fails later, where its reader reports it; nothing is reused.
    return keep;
  }
  for (const f of files) {
    const want = fileHash(f);
    if (want?.hashFunc !== 'SHA256' || f.rel_path === META_FILENAME) continue;
    try {
      const got = await calculateHash(join(dir, f.rel_path), want.hashFunc);
      if (got.value === want.value) keep.add(f.rel_path);
    } catch {
      // Missing or unreadable locally: downloaded again.
    }
  }
  return keep;
}
