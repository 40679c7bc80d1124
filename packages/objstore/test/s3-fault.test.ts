import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { freePort, makeTempDir, type RunningS3, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bucket, createS3Bucket, ObjstoreOperationError } from '../src/index.js';

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
    expect((err as ObjstoreOperationError).code).toBe('ERR_OBJSTORE_UNREACHABLE');
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toContain('config.endpoint');

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
});
