import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Bucket, uploadFile } from '@thanos-ts/objstore';
import {
  type BlockMeta,
  InvalidArgumentError,
  META_FILENAME,
  readBlockMeta,
  serializeBlockMeta,
  type ThanosFile,
} from '@thanos-ts/tsdb';
import { calculateHash, type HashFunc, withHash } from './hash.js';

/** How uploadBlock labels what it uploads. */
export interface UploadBlockOptions {
  /** External labels for the block's `thanos.labels` (merged over any it has); must not be empty. */
  labels: Record<string, string>;
  /** Who uploaded it: 'sidecar', 'bucket.upload', 'receive', … (Thanos's `thanos.source`). */
  source: string;
  /** The block's meta.json when already read; read from `blockDir` otherwise. */
  meta?: BlockMeta;
  /**
   * Hash put on each chunk segment and the index in `thanos.files[].hash` (--hash-func), so a
   * later download can skip files it already has. Default '': none.
   */
  hashFunc?: HashFunc;
  /** Chunk segments uploaded at once (Thanos's --shipper.upload-concurrency). Default 1. */
  concurrency?: number;
  /**
   * Allow a block without external labels (Thanos's block.UploadPromBlock, for plain Prometheus
   * blocks such as `tools bucket rewrite --prom-blocks` writes). Default false: refused.
   */
  allowEmptyLabels?: boolean;
  signal?: AbortSignal;
}

/**
 * Uploads one local block directory to `<ulid>/` in the bucket the way Thanos's block.Upload
 * does: chunk segments and the index first, then meta.json with the `thanos` section (external
 * labels, source, segment files, files with sizes) last — a block without meta.json in a bucket is
 * an upload in progress to every reader. Returns the meta.json that was uploaded.
 */
export async function uploadBlock(bucket: Bucket, blockDir: string, opts: UploadBlockOptions): Promise<BlockMeta> {
  // Thanos refuses these too: without labels, blocks of different sources cannot be told apart.
  if (Object.keys(opts.labels).length === 0 && !opts.allowEmptyLabels)
    throw new InvalidArgumentError('empty external labels are not allowed for Thanos block');
  const meta = opts.meta ?? (await readBlockMeta(blockDir));
  const segments = (await readdir(join(blockDir, 'chunks'))).sort();
  const files: ThanosFile[] = [];
  for (const s of segments)
    files.push({ rel_path: `chunks/${s}`, size_bytes: (await stat(join(blockDir, 'chunks', s))).size });
  files.push({ rel_path: 'index', size_bytes: (await stat(join(blockDir, 'index'))).size });
  files.push({ rel_path: META_FILENAME });
  if (opts.hashFunc) {
    const func = opts.hashFunc;
    for (const [i, f] of files.entries())
      if (f.rel_path !== META_FILENAME) files[i] = withHash(f, await calculateHash(join(blockDir, f.rel_path), func));
  }
  files.sort((a, b) => (a.rel_path < b.rel_path ? -1 : a.rel_path > b.rel_path ? 1 : 0));
  const uploaded: BlockMeta = {
    ...meta,
    thanos: {
      ...(meta.thanos ?? {}),
      labels: { ...(meta.thanos?.labels ?? {}), ...opts.labels },
      downsample: meta.thanos?.downsample ?? { resolution: 0 },
      source: opts.source,
      segment_files: segments,
      files,
      upload_time: new Date().toISOString(),
    },
  };
  const o = opts.signal ? { signal: opts.signal } : {};
  const queue = [...segments];
  const worker = async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift())
      await uploadFile(bucket, join(blockDir, 'chunks', s), `${meta.ulid}/chunks/${s}`, o);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 1, segments.length)) }, worker));
  await uploadFile(bucket, join(blockDir, 'index'), `${meta.ulid}/index`, o);
  await bucket.upload(`${meta.ulid}/${META_FILENAME}`, new TextEncoder().encode(serializeBlockMeta(uploaded)), o);
  return uploaded;
}
