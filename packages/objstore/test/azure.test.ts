import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeBucket } from '@thanos-ts/objstore/testing';
import { makeTempDir, type RunningAzurite, removeTempDir, startAzurite } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bucket, createBucketFromConfig, ObjstoreConfigError, ObjstoreOperationError } from '../src/index.js';
import { makeTestCertificates, type TestCertificates } from './tls-certs.js';

let az: RunningAzurite;
beforeAll(async () => {
  az = await startAzurite();
});
afterAll(async () => {
  await az?.stop();
});

const container = () => `t-${randomBytes(6).toString('hex')}`;

/** Thanos's way of pointing at Azurite: the account plus a full connection string. */
const azuriteYaml = (over: Record<string, string | number | boolean> = {}, connectionString = az.connectionString) =>
  `type: AZURE\nconfig:\n${Object.entries({
    storage_account: az.accountName,
    storage_connection_string: connectionString,
    container: container(),
    max_retries: 1,
    ...over,
  })
    .map(([k, v]) => `  ${k}: ${typeof v === 'string' ? JSON.stringify(v) : v}`)
    .join('\n')}\n`;

// A fresh container per test (created on first use, as Thanos's storage_create_container).
describeBucket('azure (azurite)', async () => {
  const bucket = await createBucketFromConfig(azuriteYaml(), { retry: { minBackoffMs: 10 } });
  return { bucket, close: () => bucket.close() };
});

// The same suite through a prefix, so that every call also goes through the prefix wrapper.
describeBucket('azure (azurite) under a prefix', async () => {
  const bucket = await createBucketFromConfig(`${azuriteYaml()}prefix: tenant/a\n`);
  return { bucket, close: () => bucket.close() };
});

/**
 * A recording HTTP proxy in front of Azurite: counts requests by Azure operation, so the test can
 * check the request pattern (what a real storage account bills) equals Thanos's.
 */
async function countingProxy(target: number) {
  const ops: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const comp = url.searchParams.get('comp');
    ops.push(`${req.method} ${comp ?? (url.searchParams.get('restype') ? 'container' : 'blob')}`);
    const upstream = httpRequest(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    ops,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('azure request pattern', () => {
  it.each([
    { name: 'empty object', size: 0, want: ['PUT blob'] },
    { name: 'small object (one Put Blob)', size: 1000, want: ['PUT blob'] },
    { name: 'just under a block', size: 3 * 1024 * 1024 - 1, want: ['PUT blob'] },
    // Thanos's UploadStream stages a full first block, then commits, even when nothing follows.
    { name: 'exactly one block', size: 3 * 1024 * 1024, want: ['PUT block', 'PUT blocklist'] },
    {
      name: '7 MiB (3 blocks of 3 MiB)',
      size: 7 * 1024 * 1024,
      want: ['PUT block', 'PUT block', 'PUT block', 'PUT blocklist'],
    },
  ])('uploads $name with the requests Thanos makes', async ({ size, want }) => {
    const proxy = await countingProxy(az.port);
    const conn = az.connectionString.replace(`127.0.0.1:${az.port}`, `127.0.0.1:${proxy.port}`);
    const b = await createBucketFromConfig(azuriteYaml({}, conn));
    try {
      await b.exists('warm-up'); // Container check and creation happen once, on first use.
      proxy.ops.length = 0;
      const data = randomBytes(size);
      // Streamed in odd chunks, so block boundaries must be cut from the input.
      await b.upload(
        'blk/obj',
        (async function* () {
          for (let at = 0; at < size; at += 1_000_003) yield data.subarray(at, Math.min(size, at + 1_000_003));
        })(),
      );
      expect(proxy.ops.map((o) => o.replace('PUT null', 'PUT blob'))).toEqual(want);
      expect(Buffer.from(await b.get('blk/obj')).equals(data)).toBe(true);
      const tail = await b.getRange('blk/obj', Math.max(0, size - 3), 10);
      expect(Buffer.from(tail).equals(data.subarray(Math.max(0, size - 3)))).toBe(true);
    } finally {
      await b.close();
      await proxy.close();
    }
  });
});

describe('azure config and errors against azurite', () => {
  async function opError(p: Promise<unknown>): Promise<ObjstoreOperationError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ObjstoreOperationError);
    expect((err as Error).message).not.toContain('\n');
    return err as ObjstoreOperationError;
  }

  it('does not create the container when storage_create_container is false, and names the key', async () => {
    const b = await createBucketFromConfig(azuriteYaml({ storage_create_container: false }), { retry: false });
    try {
      const err = await opError(b.get('x/y'));
      expect(err.code).toBe('OBJSTORE_BUCKET_NOT_FOUND');
      expect(err.setting).toBe('container');
      expect(err.message).toMatch(/container "t-[0-9a-f]+" does not exist.*check config\.container/);
    } finally {
      await b.close();
    }
  });

  it('names the credentials on a wrong account key', async () => {
    const wrongKey = Buffer.from('not the azurite key, 64 bytes long ..............................').toString(
      'base64',
    );
    const conn = az.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`);
    const b = await createBucketFromConfig(azuriteYaml({}, conn), { retry: false });
    try {
      const err = await opError(b.exists('x'));
      expect(err.code).toBe('OBJSTORE_ACCESS_DENIED');
      expect(err.message).toMatch(
        /access denied by http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/t-.*storage_connection_string/,
      );
    } finally {
      await b.close();
    }
  });

  it('names the address on an unreachable endpoint, after the configured retries', async () => {
    const conn = az.connectionString.replace(`127.0.0.1:${az.port}`, '127.0.0.1:1');
    const b = await createBucketFromConfig(azuriteYaml({ max_retries: 1 }, conn), { retry: { minBackoffMs: 1 } });
    try {
      const err = await opError(b.get('x'));
      expect(err.code).toBe('OBJSTORE_UNREACHABLE');
      expect(err.message).toMatch(
        /cannot reach Azure blob endpoint http:\/\/127\.0\.0\.1:1\/.*ECONNREFUSED.*check config\.storage_connection_string/,
      );
    } finally {
      await b.close();
    }
  });

  it('merges blobs and directory prefixes of a hierarchy page in name order', async () => {
    const b: Bucket = await createBucketFromConfig(azuriteYaml());
    try {
      const names = Array.from({ length: 40 }, (_, i) => (i % 3 ? `k${i}` : `d${i}/x`));
      await Promise.all(names.map((n) => b.upload(n, new Uint8Array([1]))));
      const flat: string[] = [];
      for await (const n of b.iter('')) flat.push(n);
      expect(flat).toEqual(names.map((n) => (n.endsWith('/x') ? n.slice(0, -1) : n)).sort());
    } finally {
      await b.close();
    }
  });
});

describe('azure config validation (Thanos messages, no network)', () => {
  const cases: { name: string; yaml: string; want: RegExp }[] = [
    {
      name: 'no account, no container',
      yaml: 'type: AZURE\nconfig:\n  storage_account_key: a2V5\n',
      want: /AZURE config: storage_account_name is required but not configured, no container specified$/,
    },
    {
      name: 'user_assigned_id with a key',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  storage_account_key: a2V5\n  user_assigned_id: u\n',
      want: /user_assigned_id cannot be set when using storage_account_key authentication/,
    },
    {
      name: 'key and connection string',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  storage_account_key: a2V5\n  storage_connection_string: x\n',
      want: /storage_account_key and storage_connection_string cannot both be set/,
    },
    {
      name: 'a partial service principal',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  client_id: x\n',
      want: /az_tenant_id, client_id, and client_secret must be set together/,
    },
    {
      name: 'negative max_tries',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  storage_account_key: a2V5\n  pipeline_config:\n    max_tries: -1\n',
      want: /The value of max_tries must be greater than or equal to 0 in the config file/,
    },
    {
      name: 'a number where Thanos wants a duration',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  pipeline_config:\n    try_timeout: 10\n',
      want: /invalid value for "try_timeout" in AZURE config\.pipeline_config/,
    },
    {
      name: 'an unknown key',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  storage_acount_key: x\n',
      want: /unknown field "storage_acount_key" in AZURE config/,
    },
    {
      name: 'an endpoint with a scheme',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  storage_account_key: a2V5\n  endpoint: http://127.0.0.1:10000\n',
      want: /invalid value for "endpoint" in AZURE config.*storage_connection_string/,
    },
    {
      name: 'a client cert without key',
      yaml: 'type: AZURE\nconfig:\n  storage_account: a\n  container: c\n  storage_account_key: a2V5\n  http_config:\n    tls_config:\n      cert_file: /etc/hostname\n',
      want: /client cert file "\/etc\/hostname" specified without client key file/,
    },
  ];
  it.each(cases)('refuses $name in one line', async ({ yaml, want }) => {
    const err = await createBucketFromConfig(yaml).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ObjstoreConfigError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(want);
  });

  it("accepts Thanos's full default AZURE config (from its README) unchanged", async () => {
    const b = await createBucketFromConfig(`type: AZURE
config:
  az_tenant_id: ""
  client_id: ""
  client_secret: ""
  storage_account: "acct"
  storage_account_key: "a2V5"
  storage_connection_string: ""
  storage_create_container: false
  container: "thanos"
  endpoint: ""
  user_assigned_id: ""
  max_retries: 0
  reader_config:
    max_retry_requests: 0
  pipeline_config:
    max_tries: 0
    try_timeout: 0s
    retry_delay: 0s
    max_retry_delay: 0s
  http_config:
    idle_conn_timeout: 0s
    response_header_timeout: 0s
    insecure_skip_verify: false
    tls_handshake_timeout: 0s
    expect_continue_timeout: 0s
    max_idle_conns: 0
    max_idle_conns_per_host: 0
    max_conns_per_host: 0
    tls_config:
      ca_file: ""
      cert_file: ""
      key_file: ""
      server_name: ""
      insecure_skip_verify: false
    disable_compression: false
  msi_resource: ""
prefix: ""
`);
    expect(b.name).toBe('thanos');
    await b.close();
  });
});

describe('azure over https (Azurite with a test CA): http_config reaches the blob client', () => {
  let secure: RunningAzurite;
  let dir: string;
  let certs: TestCertificates;
  beforeAll(async () => {
    dir = await makeTempDir('azure-tls-');
    certs = await makeTestCertificates(dir);
    secure = await startAzurite({ tls: { keyFile: certs.key, certFile: certs.cert } });
  });
  afterAll(async () => {
    await secure?.stop();
    if (dir) await removeTempDir(dir);
  });
  const yaml = (http: string[]) =>
    [
      'type: AZURE',
      'config:',
      `  storage_account: ${secure.accountName}`,
      `  storage_connection_string: "${secure.connectionString}"`,
      `  container: ${container()}`,
      ...(http.length ? ['  http_config:', ...http] : []),
      '',
    ].join('\n');

  it.each([
    { name: 'the right CA', http: () => ['    tls_config:', `      ca_file: ${certs.ca}`] },
    { name: 'insecure_skip_verify', http: () => ['    insecure_skip_verify: true'] },
  ])('accepts $name', async ({ http }) => {
    const b = await createBucketFromConfig(yaml(http()), { retry: false });
    try {
      await b.upload('tls/x', new Uint8Array([4, 5]));
      expect([...(await b.get('tls/x'))]).toEqual([4, 5]);
    } finally {
      await b.close();
    }
  });

  it.each([
    { name: 'another CA', http: () => ['    tls_config:', `      ca_file: ${certs.otherCa}`] },
    { name: 'the system roots only', http: () => [] },
  ])('refuses $name with one line naming the setting', async ({ http }) => {
    const b = await createBucketFromConfig(yaml(http()), { retry: false });
    try {
      const err = await b.exists('tls/x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ObjstoreOperationError);
      expect((err as ObjstoreOperationError).code).toBe('OBJSTORE_TLS');
      expect((err as Error).message).not.toContain('\n');
      expect((err as Error).message).toMatch(
        /TLS certificate of https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/t-.* is not trusted.*tls_config\.ca_file/,
      );
    } finally {
      await b.close();
    }
  });
});
