import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { uploadBlock } from '../block/upload.js';

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * Uploads every block of a local TSDB directory (e.g. promtool's output) to a bucket the way a
 * Thanos sidecar does: data files first, then meta.json with a `thanos` section carrying the
 * external labels, so readers never see a block without its files. Returns the uploaded ULIDs.
 */
export async function uploadTsdbBlocks(
  bucket: Bucket,
  tsdbDir: string,
  externalLabels: Record<string, string>,
  opts: { only?: readonly string[]; source?: string } = {},
): Promise<string[]> {
  const ids = (await readdir(tsdbDir)).filter((d) => ULID_RE.test(d) && (!opts.only || opts.only.includes(d))).sort();
  for (const id of ids)
    await uploadBlock(bucket, join(tsdbDir, id), { labels: externalLabels, source: opts.source ?? 'test' });
  return ids;
}
