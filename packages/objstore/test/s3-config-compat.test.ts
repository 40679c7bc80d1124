import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, type RunningS3, removeTempDir, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucketFromConfig, parseBucketConfig } from '../src/index.js';

let s3: RunningS3;
let dir: string;
beforeAll(async () => {
  [s3, dir] = await Promise.all([startS3rver(), makeTempDir('s3-compat-')]);
});
afterAll(async () => {
  await s3?.stop();
  if (dir) await removeTempDir(dir);
});

/** A pass-through proxy in front of s3rver that records each request's method, path and headers. */
async function recordingProxy(target: number) {
  const seen: { method: string; path: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const up = httpRequest(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('S3 configs users copy from Thanos docs and charts load unchanged', () => {
  it.each([
    {
      name: 'kube-thanos example objstore secret',
      yaml: (ep: string) =>
        `type: s3\nconfig:\n  bucket: BUCKET\n  endpoint: ${ep}\n  insecure: true\n  access_key: KEY\n  secret_key: SECRET\n`,
    },
    {
      name: 'Bitnami chart objstoreConfig (MinIO subchart)',
      yaml: (ep: string) =>
        `type: s3\nconfig:\n  bucket: BUCKET\n  endpoint: ${ep}\n  access_key: KEY\n  secret_key: SECRET\n  insecure: true\n  http_config:\n    idle_conn_timeout: 1m30s\n    response_header_timeout: 2m\n`,
    },
    {
      name: "Thanos's full default S3 config (objstore README)",
      yaml: (ep: string) => `type: S3
config:
  bucket: "BUCKET"
  endpoint: "${ep}"
  region: ""
  disable_dualstack: false
  aws_sdk_auth: false
  access_key: "KEY"
  insecure: true
  signature_version2: false
  secret_key: "SECRET"
  session_token: ""
  put_user_metadata: {}
  http_config:
    idle_conn_timeout: 1m30s
    response_header_timeout: 2m
    insecure_skip_verify: false
    tls_handshake_timeout: 10s
    expect_continue_timeout: 1s
    max_idle_conns: 100
    max_idle_conns_per_host: 100
    max_conns_per_host: 0
    tls_config:
      ca_file: ""
      cert_file: ""
      key_file: ""
      server_name: ""
      insecure_skip_verify: false
    disable_compression: false
  trace:
    enable: false
  list_objects_version: ""
  bucket_lookup_type: auto
  send_content_md5: true
  disable_multipart: false
  part_size: 67108864
  sse_config:
    type: ""
    kms_key_id: ""
    kms_encryption_context: {}
    encryption_key: ""
  sts_endpoint: ""
  max_retries: 0
prefix: ""
`,
    },
  ])('$name', async ({ yaml }) => {
    const text = yaml(`127.0.0.1:${s3.port}`)
      .replace('BUCKET', s3.bucket)
      .replace('KEY', s3.accessKey)
      .replace('SECRET', s3.secretKey);
    expect(parseBucketConfig(text).type).toBe('S3');
    const b = await createBucketFromConfig(text);
    const name = `compat-${randomBytes(4).toString('hex')}/meta.json`;
    try {
      await b.upload(name, new TextEncoder().encode('{}'));
      expect(new TextDecoder().decode(await b.get(name))).toBe('{}');
    } finally {
      await b.delete(name);
      await b.close();
    }
  });
});

describe('S3 settings reach the wire', () => {
  const base = (port: number, extra: string) =>
    `type: S3\nconfig:\n  bucket: ${s3.bucket}\n  endpoint: 127.0.0.1:${port}\n  insecure: true\n  access_key: ${s3.accessKey}\n  secret_key: ${s3.secretKey}\n${extra}`;

  it.each([
    {
      name: 'SSE-S3',
      extra: () => '  sse_config:\n    type: SSE-S3\n',
      want: { 'x-amz-server-side-encryption': 'AES256' },
    },
    {
      name: 'SSE-KMS with a context',
      extra: () =>
        '  sse_config:\n    type: SSE-KMS\n    kms_key_id: alias/thanos\n    kms_encryption_context:\n      team: obs\n',
      want: {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': 'alias/thanos',
        'x-amz-server-side-encryption-context': Buffer.from('{"team":"obs"}').toString('base64'),
      },
    },
    {
      name: 'SSE-C from a key file',
      extra: async () => {
        const keyFile = join(dir, 'sse-c.key');
        await writeFile(keyFile, Buffer.alloc(32, 7));
        return `  sse_config:\n    type: SSE-C\n    encryption_key: ${keyFile}\n`;
      },
      want: {
        'x-amz-server-side-encryption-customer-algorithm': 'AES256',
        'x-amz-server-side-encryption-customer-key': Buffer.alloc(32, 7).toString('base64'),
      },
    },
    {
      name: 'put_user_metadata and the storage class',
      extra: () => '  put_user_metadata:\n    X-Amz-Storage-Class: STANDARD_IA\n    owner: obs\n',
      want: { 'x-amz-storage-class': 'STANDARD_IA', 'x-amz-meta-owner': 'obs' },
    },
  ])('$name is sent with uploads', async ({ extra, want }) => {
    const proxy = await recordingProxy(s3.port);
    const b = await createBucketFromConfig(base(proxy.port, await extra()), { retry: false });
    try {
      // s3rver may refuse what it does not implement; the headers on the wire are what is checked.
      await b.upload(`sse/${randomBytes(4).toString('hex')}`, new Uint8Array([1])).catch(() => {});
      const put = proxy.seen.find((r) => r.method === 'PUT');
      expect(put, 'a PUT was sent').toBeDefined();
      for (const [k, v] of Object.entries(want)) expect(put?.headers[k], k).toBe(v);
    } finally {
      await b.close();
      await proxy.close();
    }
  });

  it.each([
    { name: 'v2 by default', extra: '', want: /[?&]list-type=2/ },
    { name: 'v1 when list_objects_version: v1', extra: '  list_objects_version: v1\n', notWant: /list-type=2/ },
  ])('lists with ListObjects $name', async ({ extra, want, notWant }) => {
    const proxy = await recordingProxy(s3.port);
    const b = await createBucketFromConfig(base(proxy.port, extra));
    try {
      for await (const _ of b.iter('none/')) break;
      const list = proxy.seen.find((r) => r.method === 'GET' && r.path.includes('prefix='));
      expect(list).toBeDefined();
      if (want) expect(list?.path).toMatch(want);
      if (notWant) expect(list?.path).not.toMatch(notWant);
    } finally {
      await b.close();
      await proxy.close();
    }
  });

  it('addresses the bucket in the path with bucket_lookup_type: path', async () => {
    const proxy = await recordingProxy(s3.port);
    const b = await createBucketFromConfig(base(proxy.port, '  bucket_lookup_type: path\n'));
    try {
      await b.exists('x/y');
      expect(proxy.seen[0]?.path.startsWith(`/${s3.bucket}/x/y`)).toBe(true);
      expect(proxy.seen[0]?.headers.host).toBe(`127.0.0.1:${proxy.port}`);
    } finally {
      await b.close();
      await proxy.close();
    }
  });
});
