import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket, OperationOptions } from './bucket.js';

/** Files up to this size are read into memory so a retry wrapper can resend them. */
const BUFFERED_UPLOAD_LIMIT = 16 * 1024 * 1024;

/**
 * Uploads one local file as object `name`. Small files go as bytes (so `withRetries` can retry
 * them); large ones stream (S3 multipart retries each part). Resolves to the file's size.
 */
export async function uploadFile(bucket: Bucket, file: string, name: string, opts?: OperationOptions): Promise<number> {
  const { size } = await stat(file);
  if (size <= BUFFERED_UPLOAD_LIMIT) await bucket.upload(name, new Uint8Array(await readFile(file)), opts);
  else await bucket.upload(name, createReadStream(file, { highWaterMark: 1024 * 1024 }), opts);
  return size;
}

/**
 * Uploads every file under a local directory to `prefix/<relative path>` (Thanos's
 * `objstore.UploadDir`), in sorted order, one file at a time. Returns the uploaded names.
 */
export async function uploadDir(
  bucket: Bucket,
  dir: string,
  prefix: string,
  opts?: OperationOptions,
): Promise<string[]> {
  const uploaded: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const name = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) uploaded.push(...(await uploadDir(bucket, join(dir, entry.name), name, opts)));
    else if (entry.isFile()) {
      await uploadFile(bucket, join(dir, entry.name), name, opts);
      uploaded.push(name);
    }
  }
  return uploaded;
}
