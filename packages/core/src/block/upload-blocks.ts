import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { isULID } from '@thanos-ts/tsdb';
import { uploadBlock } from './upload.js';

/** Options of {@link uploadTsdbBlocks}. */
export interface UploadTsdbBlocksOptions {
  /** External labels written to every block's `thanos.labels`; must not be empty. */
  labels: Record<string, string>;
  /** Who uploads, as Thanos's `thanos.source` ('sidecar', 'bucket.upload', …). */
  source: string;
  /** Upload only these ULIDs. Default: every block in the directory. */
  only?: readonly string[];
  signal?: AbortSignal;
}

/**
 * Uploads every block of a local TSDB directory (e.g. promtool's output) to a bucket the way a
 * Thanos sidecar does, one {@link uploadBlock} each, oldest ULID first. Returns the uploaded ULIDs.
 */
export async function uploadTsdbBlocks(
  bucket: Bucket,
  tsdbDir: string,
  opts: UploadTsdbBlocksOptions,
): Promise<string[]> {
  const ids = (await readdir(tsdbDir)).filter((d) => isULID(d) && (!opts.only || opts.only.includes(d))).sort();
  for (const id of ids)
    await uploadBlock(bucket, join(tsdbDir, id), { labels: opts.labels, source: opts.source, signal: opts.signal });
  return ids;
}
