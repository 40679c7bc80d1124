import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import {
  DELETION_MARK_FILENAME,
  META_FILENAME,
  NO_COMPACT_MARK_FILENAME,
  NO_DOWNSAMPLE_MARK_FILENAME,
} from '@thanos-ts/tsdb';

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
 * removes. `concurrency` files at once (--block-files-concurrency).
 */
export async function downloadBlock(
  bucket: Bucket,
  id: string,
  dir: string,
  concurrency: number,
  signal?: AbortSignal,
): Promise<number> {
  const o = signal ? { signal } : {};
  await rm(dir, { recursive: true, force: true });
  const names: string[] = [];
  for await (const name of bucket.iter(`${id}/`, { ...o, recursive: true })) {
    const rel = name.slice(id.length + 1);
    if (rel === META_FILENAME || rel.endsWith('-mark.json')) continue;
    names.push(rel);
  }
  let bytes = 0;
  const queue = [...names];
  const worker = async () => {
    for (let rel = queue.shift(); rel !== undefined; rel = queue.shift()) {
      const target = join(dir, rel);
      await mkdir(dirname(target), { recursive: true });
      const stream = await bucket.getStream(`${id}/${rel}`, o);
      let n = 0;
      stream.on('data', (c: Uint8Array) => {
        n += c.length;
      });
      await pipeline(stream, createWriteStream(target), o);
      bytes += n;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, names.length)) }, worker));
  const meta = await bucket.get(`${id}/${META_FILENAME}`, o);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, META_FILENAME), meta);
  return bytes + meta.length;
}
