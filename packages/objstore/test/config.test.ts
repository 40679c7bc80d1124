import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, makeTempDir, type RunningS3, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBucketFromConfig,
  loadBucketConfig,
  ObjstoreConfigError,
  ObjstoreOperationError,
  parseBucketConfig,
} from '../src/index.js';

async function configError(p: Promise<unknown> | (() => unknown)): Promise<ObjstoreConfigError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(ObjstoreConfigError);
    expect((err as ObjstoreConfigError).code).toBe('OBJSTORE_CONFIG');
    expect((err as Error).message).not.toContain('\n');
    return err as ObjstoreConfigError;
  }
  throw new Error('expected a config error');
}

describe('objstore YAML config', () => {
  it("parses Thanos's keys, defaults and prefix", () => {
    const cfg = parseBucketConfig(`
type: s3
config:
  bucket: thanos
  endpoint: minio:9000
  access_key: a
  secret_key: b
  insecure: true
  bucket_lookup_type: path
  part_size: 134217728
  put_user_metadata:
    X-Amz-Storage-Class: STANDARD_IA
  http_config:
    idle_conn_timeout: 1m30s
    response_header_timeout: 2m
    tls_config:
      insecure_skip_verify: true
  sse_config:
    type: SSE-S3
  trace:
    enable: false
prefix: /tenant-a/
`);
    expect(cfg.type).toBe('S3');
    expect(cfg.prefix).toBe('/tenant-a/');
    expect(cfg.config.part_size).toBe(134217728);
    expect((cfg.config.http_config as Record<string, unknown>).idle_conn_timeout).toBe(90_000);
    expect((cfg.config.http_config as Record<string, unknown>).response_header_timeout).toBe(120_000);
  });

  const cases: [string, string, RegExp][] = [
    ['bad YAML', 'type: S3\nconfig: [unclosed', /^objstore config: invalid YAML at line \d+/],
    [
      'a typo in a key',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  acess_key: x',
      /^objstore config: unknown field "acess_key" in S3 config/,
    ],
    [
      'a nested typo',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  sse_config:\n    kms_keyid: k',
      /unknown field "kms_keyid" in S3 config\.sse_config/,
    ],
    [
      'an unknown top-level key',
      'type: FILESYSTEM\nconfig:\n  directory: /x\nprefx: a',
      /unknown field "prefx" in the top level/,
    ],
    [
      'a type thanos-ts lacks',
      'type: GCS\nconfig:\n  bucket: b',
      /bucket type "GCS" is not supported by thanos-ts.*storage\.googleapis\.com/,
    ],
    ['a made-up type', 'type: DROPBOX\nconfig: {}', /bucket type "DROPBOX" is not supported/],
    ['no type', 'config:\n  directory: /x', /missing "type"/],
    ['an empty document', '', /empty config/],
    [
      'a wrong value type',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  part_size: big',
      /invalid value for "part_size" in S3 config: want a non-negative integer, got "big"/,
    ],
    [
      'a bad duration',
      'type: S3\nconfig:\n  http_config:\n    idle_conn_timeout: soon',
      /invalid value for "idle_conn_timeout" in S3 config\.http_config/,
    ],
    [
      'a bad enum',
      'type: S3\nconfig:\n  bucket_lookup_type: dns',
      /invalid value for "bucket_lookup_type".*"auto", "virtual-hosted", "path"/,
    ],
    ['duplicate keys', 'type: S3\ntype: FILESYSTEM', /invalid YAML/],
  ];
  for (const [what, yaml, want] of cases) {
    it(`rejects ${what} with one clear line`, async () => {
      const err = await configError(() => parseBucketConfig(yaml));
      expect(err.message).toMatch(want);
    });
  }

  const buildCases: [string, string, RegExp][] = [
    ['a missing bucket', 'type: S3\nconfig:\n  endpoint: s3.amazonaws.com', /missing "bucket" in S3 config/],
    ['a missing endpoint', 'type: S3\nconfig:\n  bucket: b', /missing "endpoint" in S3 config/],
    [
      'an endpoint with a scheme',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: http://minio:9000',
      /invalid value for "endpoint".*insecure: true/,
    ],
    [
      'a lone access key',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  access_key: a',
      /"access_key" is set but "secret_key" is not/,
    ],
    [
      'a tiny part size',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  part_size: 1024',
      /"part_size".*at least 5242880/,
    ],
    [
      'SSE-KMS without key',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  sse_config:\n    type: SSE-KMS',
      /"kms_key_id" must be set/,
    ],
    [
      'signature v2',
      'type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  signature_version2: true',
      /signature_version2.*not supported/,
    ],
    ['a filesystem without directory', 'type: FILESYSTEM\nconfig: {}', /missing "directory" in FILESYSTEM config/],
  ];
  for (const [what, yaml, want] of buildCases) {
    it(`refuses to build a bucket from ${what}`, async () => {
      const err = await configError(createBucketFromConfig(yaml));
      expect(err.message).toMatch(want);
    });
  }

  it('loads from exactly one of a file or inline text', async () => {
    const dir = await makeTempDir('objstore-cfg-');
    try {
      const file = join(dir, 'bucket.yml');
      await writeFile(file, `type: FILESYSTEM\nconfig:\n  directory: ${dir}/data\n`);
      expect((await loadBucketConfig({ configFile: file })).type).toBe('FILESYSTEM');
      expect((await loadBucketConfig({ config: 'type: IN-MEMORY' })).type).toBe('IN-MEMORY');
      expect((await configError(loadBucketConfig({ configFile: file, config: 'type: S3' }))).message).toMatch(/both/);
      expect((await configError(loadBucketConfig({}))).message).toMatch(/--objstore.config-file or --objstore.config/);
      expect((await configError(loadBucketConfig({ configFile: join(dir, 'nope.yml') }))).message).toMatch(
        /cannot read --objstore.config-file/,
      );
      await writeFile(file, 'type: FILESYSTEM\nconfig:\n  dir: x\n');
      expect((await configError(loadBucketConfig({ configFile: file }))).message).toMatch(
        /unknown field "dir" in FILESYSTEM config.*bucket\.yml/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('applies the prefix to a filesystem bucket', async () => {
    const dir = await makeTempDir('objstore-cfg-');
    try {
      const b = await createBucketFromConfig(`type: FILESYSTEM\nconfig:\n  directory: ${dir}\nprefix: tenant/a/`);
      await b.upload('blk/meta.json', new TextEncoder().encode('{}'));
      expect(await readdir(join(dir, 'tenant', 'a', 'blk'))).toEqual(['meta.json']);
      const names: string[] = [];
      for await (const n of b.iter('', { recursive: true })) names.push(n);
      expect(names).toEqual(['blk/meta.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('objstore config against a real S3 server (s3rver)', () => {
  let s3: RunningS3;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  const yaml = (over: Record<string, string | number | boolean>) =>
    `type: S3\nconfig:\n${Object.entries({
      bucket: s3.bucket,
      endpoint: `127.0.0.1:${s3.port}`,
      insecure: true,
      access_key: s3.accessKey,
      secret_key: s3.secretKey,
      max_retries: 2,
      ...over,
    })
      .map(([k, v]) => `  ${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`)
      .join('\n')}\n`;

  async function opError(p: Promise<unknown>): Promise<ObjstoreOperationError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ObjstoreOperationError);
    expect((err as Error).message).not.toContain('\n');
    return err as ObjstoreOperationError;
  }

  it('works end to end with good settings', async () => {
    const b = await createBucketFromConfig(yaml({}));
    try {
      await b.upload('ok/x', new Uint8Array([1, 2, 3]));
      expect([...(await b.get('ok/x'))]).toEqual([1, 2, 3]);
    } finally {
      await b.close();
    }
  });

  it('names config.bucket when the bucket does not exist, and writes nothing', async () => {
    const b = await createBucketFromConfig(yaml({ bucket: 'no-such-bucket' }));
    try {
      const err = await opError(b.upload('x/y', new Uint8Array(1)));
      expect(err.code).toBe('OBJSTORE_BUCKET_NOT_FOUND');
      expect(err.message).toContain('config.bucket');
    } finally {
      await b.close();
    }
  });

  it('names the credentials when they are wrong, and writes nothing', async () => {
    const b = await createBucketFromConfig(yaml({ access_key: 'WRONG', secret_key: 'WRONG' }));
    const good = await createBucketFromConfig(yaml({}));
    try {
      const err = await opError(b.upload('denied/y', new Uint8Array(1)));
      expect(err.code).toBe('OBJSTORE_ACCESS_DENIED');
      expect(err.message).toMatch(/config\.access_key/);
      expect(await good.exists('denied/y')).toBe(false);
    } finally {
      await b.close();
      await good.close();
    }
  });

  it('names config.endpoint when nothing listens there', async () => {
    const port = await freePort();
    const b = await createBucketFromConfig(yaml({ endpoint: `127.0.0.1:${port}` }), {
      retry: { maxAttempts: 2, minBackoffMs: 5 },
    });
    try {
      const err = await opError(b.upload('x/y', new Uint8Array(1)));
      expect(err.code).toBe('OBJSTORE_UNREACHABLE');
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.message).toContain('config.endpoint');
    } finally {
      await b.close();
    }
  });
});
