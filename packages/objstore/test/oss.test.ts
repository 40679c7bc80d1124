import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeTempDir, type RunningS3, removeTempDir, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucketFromConfig, ObjstoreConfigError, ObjstoreOperationError, uploadFile } from '../src/index.js';
import { createOssBucket, OSS_PART_SIZE, ossS3Options } from '../src/providers/oss.js';

describe('ALIYUNOSS config mapping onto the S3 client, field by field', () => {
  const keys = { bucket: 'thanos', accessKeyId: 'LTAI-id', accessKeySecret: 'secret' };
  it.each([
    {
      endpoint: 'oss-cn-hangzhou.aliyuncs.com',
      want: { endpoint: 's3.oss-cn-hangzhou.aliyuncs.com', region: 'cn-hangzhou', insecure: false },
    },
    {
      endpoint: 'https://oss-cn-hangzhou-internal.aliyuncs.com',
      want: { endpoint: 's3.oss-cn-hangzhou-internal.aliyuncs.com', region: 'cn-hangzhou', insecure: false },
    },
    {
      endpoint: 'http://oss-ap-southeast-1.aliyuncs.com/',
      want: { endpoint: 's3.oss-ap-southeast-1.aliyuncs.com', region: 'ap-southeast-1', insecure: true },
    },
    {
      endpoint: 's3.oss-eu-central-1.aliyuncs.com',
      want: { endpoint: 's3.oss-eu-central-1.aliyuncs.com', region: 'eu-central-1', insecure: false },
    },
    {
      endpoint: 'oss-cn-beijing.aliyuncs.com:8443',
      want: { endpoint: 's3.oss-cn-beijing.aliyuncs.com:8443', region: 'cn-beijing', insecure: false },
    },
    { endpoint: 'storage.example.com', want: { endpoint: 'storage.example.com', region: undefined, insecure: false } },
    { endpoint: 'http://127.0.0.1:9000', want: { endpoint: '127.0.0.1:9000', region: undefined, insecure: true } },
  ])('endpoint $endpoint', ({ endpoint, want }) => {
    const o = ossS3Options({ endpoint, ...keys });
    expect({ endpoint: o.endpoint, region: o.region, insecure: o.insecure }).toEqual(want);
    expect(o.bucket).toBe('thanos');
    expect(o.accessKey).toBe('LTAI-id');
    expect(o.secretKey).toBe('secret');
    expect(o.bucketLookupType).toBe('virtual-hosted');
    expect(o.partSize).toBe(OSS_PART_SIZE);
    expect(o.configKeys?.accessKey).toBe('access_key_id');
  });

  it.each([
    {
      name: 'no endpoint',
      yaml: 'bucket: b\n  access_key_id: a\n  access_key_secret: s',
      want: /aliyun oss endpoint or bucket is not present in config file/,
    },
    {
      name: 'no secret',
      yaml: 'endpoint: oss-cn-hangzhou.aliyuncs.com\n  bucket: b\n  access_key_id: a',
      want: /aliyun oss access_key_id or access_key_secret is not present in config file/,
    },
    {
      name: 'an S3 key in an OSS config',
      yaml: 'endpoint: e\n  bucket: b\n  access_key: a',
      want: /unknown field "access_key" in ALIYUNOSS config \(known fields: endpoint, bucket, access_key_id, access_key_secret\)/,
    },
    {
      name: 'an ftp endpoint',
      yaml: 'endpoint: ftp://oss-cn-hangzhou.aliyuncs.com\n  bucket: b\n  access_key_id: a\n  access_key_secret: s',
      want: /invalid value for "endpoint" in ALIYUNOSS config: scheme must be http or https/,
    },
  ])('refuses $name in one line', async ({ yaml, want }) => {
    const err = await createBucketFromConfig(`type: ALIYUNOSS\nconfig:\n  ${yaml}\n`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ObjstoreConfigError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(want);
  });
});

describe('ALIYUNOSS against s3rver', () => {
  let s3: RunningS3;
  let dir: string;
  beforeAll(async () => {
    dir = await makeTempDir('oss-');
    // s3rver treats <bucket>.s3[.-anything].<service endpoint> as virtual-hosted requests, which
    // is exactly the shape of OSS's S3-compatible hosts: thanos.s3.oss-cn-hangzhou.aliyuncs.com.
    s3 = await startS3rver({ serviceEndpoint: 'aliyuncs.com' });
  });
  afterAll(async () => {
    await s3?.stop();
    if (dir) await removeTempDir(dir);
  });

  it('addresses the bucket virtual-hosted on the S3-compatible host of a Thanos OSS endpoint', async () => {
    const hosts: string[] = [];
    // Resolve every name to the local s3rver, recording what the client asked for.
    const lookup = ((hostname, options, callback) => {
      hosts.push(hostname);
      if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    }) as LookupFunction;
    const b = createOssBucket(
      {
        endpoint: `http://oss-cn-hangzhou.aliyuncs.com:${s3.port}`,
        bucket: s3.bucket,
        accessKeyId: s3.accessKey,
        accessKeySecret: s3.secretKey,
      },
      { http: { lookup } },
    );
    try {
      expect(b.provider).toBe('ALIYUNOSS');
      await b.upload('vh/a', new TextEncoder().encode('virtual'));
      expect(new TextDecoder().decode(await b.get('vh/a'))).toBe('virtual');
      const names: string[] = [];
      for await (const n of b.iter('vh')) names.push(n);
      expect(names).toEqual(['vh/a']);
      expect(new Set(hosts)).toEqual(new Set([`${s3.bucket}.s3.oss-cn-hangzhou.aliyuncs.com`]));
    } finally {
      await b.close();
    }
  });

  it('round-trips every upload body type (file stream, buffers, iterables, empty, multipart)', async () => {
    const prefix = `bodies-${randomBytes(4).toString('hex')}`;
    // The endpoint override of the tests: an IP endpoint (addressed by path, IPs have no subdomains).
    const cfg = {
      endpoint: `http://127.0.0.1:${s3.port}`,
      bucket: s3.bucket,
      accessKeyId: s3.accessKey,
      accessKeySecret: s3.secretKey,
    };
    // 5 MiB parts instead of OSS's 128 MiB, so the multipart path runs on a test-sized object.
    const b = createOssBucket(cfg, { partSize: 5 * 1024 * 1024 });
    const big = randomBytes(11 * 1024 * 1024 + 17);
    const file = join(dir, 'chunk-file');
    await writeFile(file, big);
    const small = randomBytes(70_001);
    const bodies: { name: string; body: () => Parameters<typeof b.upload>[1]; want: Uint8Array }[] = [
      { name: 'uint8array', body: () => new Uint8Array(small), want: small },
      { name: 'buffer', body: () => Buffer.from(small), want: small },
      { name: 'buffer-subarray', body: () => Buffer.from(big).subarray(5, 70_006), want: big.subarray(5, 70_006) },
      { name: 'file-stream', body: () => createReadStream(file), want: big },
      {
        name: 'file-stream-small',
        body: () => createReadStream(file, { start: 0, end: 999 }),
        want: big.subarray(0, 1000),
      },
      {
        name: 'readable-of-buffers',
        body: () => Readable.from([small.subarray(0, 10), small.subarray(10)]),
        want: small,
      },
      { name: 'readable-of-strings', body: () => Readable.from(['ab', 'cd']), want: Buffer.from('abcd') },
      {
        name: 'async-generator',
        body: () =>
          (async function* () {
            for (let at = 0; at < big.length; at += 999_983) yield big.subarray(at, at + 999_983);
          })(),
        want: big,
      },
      { name: 'empty-bytes', body: () => new Uint8Array(0), want: new Uint8Array(0) },
      { name: 'empty-stream', body: () => Readable.from([]), want: new Uint8Array(0) },
    ];
    try {
      for (const { name, body, want } of bodies) {
        await b.upload(`${prefix}/${name}`, body());
        const got = await b.get(`${prefix}/${name}`);
        expect(Buffer.from(got).equals(Buffer.from(want)), name).toBe(true);
        expect((await b.attributes(`${prefix}/${name}`)).size, name).toBe(want.byteLength);
      }
      // uploadFile, as the shipper and tools call it, over a large file (streamed, multipart).
      expect(await uploadFile(b, file, `${prefix}/via-upload-file`)).toBe(big.length);
      expect(Buffer.from(await b.get(`${prefix}/via-upload-file`)).equals(big)).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('works through Thanos YAML, and names the OSS keys on bad credentials', async () => {
    const yaml = (id: string, secret: string) =>
      `type: ALIYUNOSS\nconfig:\n  endpoint: http://127.0.0.1:${s3.port}\n  bucket: ${s3.bucket}\n  access_key_id: ${id}\n  access_key_secret: ${secret}\nprefix: y-${randomBytes(4).toString('hex')}\n`;
    const good = await createBucketFromConfig(yaml(s3.accessKey, s3.secretKey));
    try {
      await good.upload('blk/meta.json', new TextEncoder().encode('{}'));
      expect(await good.exists('blk/meta.json')).toBe(true);
    } finally {
      await good.close();
    }
    const bad = await createBucketFromConfig(yaml('WRONG', 'WRONG'), { retry: false });
    try {
      const err = await bad.upload('blk/denied', new Uint8Array(1)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ObjstoreOperationError);
      expect((err as ObjstoreOperationError).code).toBe('OBJSTORE_ACCESS_DENIED');
      expect((err as Error).message).toMatch(/check config\.access_key_id and config\.access_key_secret/);
    } finally {
      await bad.close();
    }
  });
});
