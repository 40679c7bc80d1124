import { randomBytes } from 'node:crypto';
import { describeBucket } from '@thanos-ts/objstore/testing';
import { type RunningS3, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bucket, createS3Bucket, withPrefix, withRetries } from '../src/index.js';

let s3: RunningS3;
beforeAll(async () => {
  // s3rver builds ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) only
  // offers through the legacy provider; without it every paginated listing is a 500.
  // TODO(lead): pass --openssl-legacy-provider in @thanos-ts/testing's startS3rver instead.
  if (!process.env.NODE_OPTIONS?.includes('--openssl-legacy-provider')) {
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim();
  }
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

// Every test gets its own prefix in the one s3rver bucket, so tests start from an empty "bucket"
// (this also runs the whole suite through the prefix wrapper).
describeBucket(
  's3 (s3rver)',
  async ({ partSize }) => {
    const bucket = createS3Bucket({
      bucket: s3.bucket,
      endpoint: `127.0.0.1:${s3.port}`,
      insecure: true,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      partSize,
    });
    // With retries, as createBucketFromConfig builds it: a heavily loaded s3rver occasionally
    // resets a kept-alive connection, which production code retries too.
    const prefixed = withPrefix(bucket, `t-${randomBytes(6).toString('hex')}`);
    return { bucket: withRetries(prefixed, { minBackoffMs: 10 }), close: () => bucket.close() };
  },
  { rangeOnEmptyObject: false },
);

describe('s3 listing versions', () => {
  it('pages identically through ListObjectsV2 and ListObjects (v1) with and without delimiter', async () => {
    const opts = {
      bucket: s3.bucket,
      endpoint: `127.0.0.1:${s3.port}`,
      insecure: true,
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
    };
    const prefix = `list-${randomBytes(4).toString('hex')}`;
    // Small pages make a few dozen keys span many pages (the suite covers S3's 1,000-key pages).
    const v2 = withPrefix(createS3Bucket({ ...opts, listPageSize: 7 }), prefix);
    const v1 = withPrefix(createS3Bucket({ ...opts, listObjectsV1: true, listPageSize: 7 }), prefix);
    try {
      const names = Array.from({ length: 61 }, (_, i) =>
        i % 2 ? `k${String(i).padStart(4, '0')}` : `d${String(i).padStart(4, '0')}/x`,
      );
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < names.length) {
            const n = names[next++] as string;
            await v2.upload(n, new Uint8Array([1]));
          }
        }),
      );
      const list = async (b: Bucket, recursive: boolean) => {
        const out: string[] = [];
        for await (const n of b.iter('', { recursive })) out.push(n);
        return out;
      };
      const flat = names.map((n) => (n.endsWith('/x') ? n.slice(0, -1) : n)).sort();
      expect(await list(v2, false)).toEqual(flat);
      expect(await list(v1, false)).toEqual(flat);
      expect(await list(v2, true)).toEqual([...names].sort());
      expect(await list(v1, true)).toEqual([...names].sort());
    } finally {
      await v1.close();
      await v2.close();
    }
  });
});
