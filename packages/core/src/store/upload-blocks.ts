import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type Bucket, uploadFile } from '@thanos-ts/objstore';
import { parseBlockMeta, serializeBlockMeta } from '@thanos-ts/tsdb';

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
  for (const id of ids) {
    const dir = join(tsdbDir, id);
    const meta = parseBlockMeta(await readFile(join(dir, 'meta.json'), 'utf8'), join(dir, 'meta.json'));
    const files: Array<{ rel: string; size: number }> = [];
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const full = join(entry.parentPath, entry.name);
      const rel = relative(dir, full);
      if (rel === 'meta.json') continue;
      files.push({ rel, size: await uploadFile(bucket, full, `${id}/${rel}`) });
    }
    files.sort((a, b) => (a.rel < b.rel ? -1 : 1));
    meta.thanos = {
      labels: externalLabels,
      downsample: { resolution: 0 },
      source: opts.source ?? 'test',
      files: [...files.map((f) => ({ rel_path: f.rel, size_bytes: f.size })), { rel_path: 'meta.json' }],
    };
    await bucket.upload(`${id}/meta.json`, new TextEncoder().encode(serializeBlockMeta(meta)));
  }
  return ids;
}
