import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, makeTempDir, type RunningS3, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bucket, createS3Bucket, ObjstoreOperationError, withRetries } from '../src/index.js';

const PART = 5 * 1024 * 1024;

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Directories under s3rver's data dir that hold an in-progress multipart upload (a `key` file). */
async function findUploadDirs(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const d = join(root, e.name);
    if ((await readdir(d)).includes('key')) found.push(d);
    else found.push(...(await findUploadDirs(d)));
  }
  return found;
}

async function partSizesOf(root: string): Promise<number[]> {
  const sizes: number[] = [];
  for (const u of await findUploadDirs(root)) {
    for (const f of await readdir(u)) if (/^\d+$/.test(f)) sizes.push((await stat(join(u, f))).size);
  }
  return sizes;
}

async function waitForWholePart(root: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await partSizesOf(root).catch((): number[] => [])).includes(PART)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no multipart part reached the server within 5 s');
}

describe('s3 bucket when the server goes away mid-upload', () => {
  let dir: string;
  let port: number;
  let s3: RunningS3 | undefined;
  const buckets: Bucket[] = [];

  const bucket = () => {
    const b = createS3Bucket({
      bucket: 'thanos',
      endpoint: `127.0.0.1:${port}`,
      insecure: true,
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      partSize: PART,
      partRetry: { maxAttempts: 2, minBackoffMs: 10 },
    });
    buckets.push(b);
    return b;
  };

  beforeAll(async () => {
    // See s3.test.ts: s3rver's ListObjectsV2 tokens need OpenSSL's legacy provider.
    if (!process.env.NODE_OPTIONS?.includes('--openssl-legacy-provider')) {
      process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim();
    }
    dir = await makeTempDir('objstore-s3-fault-');
    port = await freePort();
    s3 = await startS3rver({ dir, port });
  });
  afterAll(async () => {
    for (const b of buckets) await b.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails cleanly with a typed error, never exposes a partial object, and a retry after restart succeeds', async () => {
    const writer = bucket();
    const reader = bucket();
    const data = pattern(2 * PART + 4321, 42);
    let visibleMidUpload: boolean | undefined;
    const body = (async function* () {
      yield data.subarray(0, PART);
      yield data.subarray(PART, 2 * PART);
      // Parts 1 and 2 are on their way: the object must not be visible yet.
      visibleMidUpload = await reader.exists('blk/chunks/000001');
      // Let at least one part land on the server before pulling the plug.
      await waitForWholePart(join(dir, 'data'));
      await s3?.stop();
      s3 = undefined;
      yield data.subarray(2 * PART);
    })();
    const err = await writer.upload('blk/chunks/000001', body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(visibleMidUpload).toBe(false);
    expect(err).toBeInstanceOf(ObjstoreOperationError);
    expect((err as ObjstoreOperationError).code).toBe('OBJSTORE_UNREACHABLE');
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toContain('config.endpoint');

    // The interrupted upload was a multipart upload of 5 MiB parts that was never completed:
    // s3rver keeps its parts (the abort could not reach the stopped server) in an upload
    // directory holding the key and one file per part.
    const uploads = await findUploadDirs(join(dir, 'data'));
    const ours: string[] = [];
    for (const u of uploads) if ((await readFile(join(u, 'key'), 'utf8')) === 'blk/chunks/000001') ours.push(u);
    expect(ours).toHaveLength(1);
    const partSizes = await Promise.all(
      (await readdir(ours[0] as string))
        .filter((f) => /^\d+$/.test(f))
        .map(async (f) => (await stat(join(ours[0] as string, f))).size),
    );
    // Parts that arrived are whole 5 MiB parts; one may have been cut off mid-transfer.
    expect(partSizes.filter((size) => size === PART).length).toBeGreaterThan(0);
    for (const size of partSizes) expect(size).toBeLessThanOrEqual(PART);

    // Same port, same data directory.
    s3 = await startS3rver({ dir, port });
    expect(await reader.exists('blk/chunks/000001')).toBe(false);
    const listed: string[] = [];
    for await (const n of reader.iter('', { recursive: true })) listed.push(n);
    expect(listed).toEqual([]);

    await writer.upload('blk/chunks/000001', data);
    const back = await reader.get('blk/chunks/000001');
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(back)).toBe(sha(data));
  });

  it('withRetries rides out a server restart', async () => {
    const b = withRetries(bucket(), { maxAttempts: 50, minBackoffMs: 20, maxBackoffMs: 100 });
    await b.upload('restart/x', new Uint8Array([7, 8, 9]));
    await s3?.stop();
    s3 = undefined;
    let retries = 0;
    const retrying = withRetries(bucket(), {
      maxAttempts: 50,
      minBackoffMs: 20,
      maxBackoffMs: 100,
      onRetry: () => retries++,
    });
    const read = retrying.get('restart/x');
    await new Promise((r) => setTimeout(r, 300));
    s3 = await startS3rver({ dir, port });
    expect([...(await read)]).toEqual([7, 8, 9]);
    expect(retries).toBeGreaterThan(0);
  });
});
