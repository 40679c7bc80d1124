import { randomBytes } from 'node:crypto';
import { describeBucket } from '@thanos-ts/objstore/testing';
import { makeTempDir, type RunningS3, removeTempDir, startS3rver } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBucketFromConfig, ObjstoreConfigError, ObjstoreOperationError } from '../src/index.js';
import { makeTestCertificates, type TestCertificates } from './tls-certs.js';

// TLS handshakes make the suite's 1,040-object listing test slower than over plain HTTP on a
// loaded machine; the default 60 s is too tight for it.
vi.setConfig({ testTimeout: 240_000 });

let dir: string;
let certs: TestCertificates;
let s3: RunningS3;
let plain: RunningS3;
beforeAll(async () => {
  dir = await makeTempDir('s3-tls-');
  certs = await makeTestCertificates(dir);
  [s3, plain] = await Promise.all([startS3rver({ tls: { keyFile: certs.key, certFile: certs.cert } }), startS3rver()]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), plain?.stop()]);
  if (dir) await removeTempDir(dir);
});

/** Thanos S3 YAML for the TLS s3rver; `http` is the http_config block (YAML lines, indented 4). */
const yaml = (http: string[], over: Record<string, string | boolean> = {}, port = s3.port) =>
  [
    'type: S3',
    'config:',
    `  bucket: ${s3.bucket}`,
    `  endpoint: "127.0.0.1:${port}"`,
    `  access_key: ${s3.accessKey}`,
    `  secret_key: ${s3.secretKey}`,
    ...Object.entries(over).map(([k, v]) => `  ${k}: ${v}`),
    '  max_retries: 1',
    ...(http.length ? ['  http_config:', ...http] : []),
    `prefix: t-${randomBytes(5).toString('hex')}`,
    '',
  ].join('\n');

describeBucket(
  's3 over https (s3rver, test CA in tls_config.ca_file)',
  async () => {
    const bucket = await createBucketFromConfig(yaml(['    tls_config:', `      ca_file: ${certs.ca}`]), {
      retry: { minBackoffMs: 10 },
    });
    return { bucket, close: () => bucket.close() };
  },
  { rangeOnEmptyObject: false },
);

describe('s3 over https: trust decisions', () => {
  async function roundTrip(text: string) {
    const b = await createBucketFromConfig(text, { retry: false });
    try {
      await b.upload('tls/x', new Uint8Array([1, 2, 3]));
      return [...(await b.get('tls/x'))];
    } finally {
      await b.close();
    }
  }
  async function tlsError(text: string): Promise<ObjstoreOperationError> {
    const err = await roundTrip(text).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ObjstoreOperationError);
    expect((err as Error).message).not.toContain('\n');
    return err as ObjstoreOperationError;
  }

  it.each([
    { name: 'the right CA', http: ['    tls_config:', '      ca_file: %CA%'] },
    { name: 'insecure_skip_verify in http_config', http: ['    insecure_skip_verify: true'] },
    { name: 'insecure_skip_verify in tls_config', http: ['    tls_config:', '      insecure_skip_verify: true'] },
    {
      name: 'server_name matching a certificate name other than the address',
      http: ['    tls_config:', '      ca_file: %CA%', '      server_name: localhost'],
    },
    {
      name: 'the timeouts and pool sizes kube-thanos users set',
      http: [
        '    idle_conn_timeout: 1m30s',
        '    response_header_timeout: 2m',
        '    tls_handshake_timeout: 10s',
        '    expect_continue_timeout: 1s',
        '    max_idle_conns: 10',
        '    max_idle_conns_per_host: 5',
        '    max_conns_per_host: 2',
        '    disable_compression: true',
        '    tls_config:',
        '      ca_file: %CA%',
      ],
    },
  ])('accepts $name', async ({ http }) => {
    expect(await roundTrip(yaml(http.map((l) => l.replace('%CA%', certs.ca))))).toEqual([1, 2, 3]);
  });

  it.each([
    {
      name: 'a certificate from another CA',
      http: ['    tls_config:', '      ca_file: %OTHER_CA%'],
      want: /not trusted/,
    },
    { name: 'the system roots only', http: [], want: /not trusted/ },
    {
      name: 'a server_name the certificate does not carry',
      http: ['    tls_config:', '      ca_file: %CA%', '      server_name: s3.example.com'],
      want: /not trusted.*s3\.example\.com|ERR_TLS_CERT_ALTNAME_INVALID/,
    },
  ])('refuses $name with one line naming the setting', async ({ http, want }) => {
    const err = await tlsError(yaml(http.map((l) => l.replace('%OTHER_CA%', certs.otherCa).replace('%CA%', certs.ca))));
    expect(err.code).toBe('OBJSTORE_TLS');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(want);
    expect(err.message).toMatch(/https:\/\/127\.0\.0\.1:\d+.*tls_config\.ca_file/);
  });

  it('never falls back to plain http: an https client against an http server fails', async () => {
    const err = await tlsError(yaml(['    tls_config:', `      ca_file: ${certs.ca}`], {}, plain.port));
    expect(err.code).toBe('OBJSTORE_TLS');
    expect(err.message).toMatch(/may speak plain HTTP.*insecure: true/);
    // And nothing reached the plain server's bucket.
    const b = await createBucketFromConfig(yaml([], { insecure: true }, plain.port).replace(/prefix: .*/, ''));
    try {
      const names: string[] = [];
      for await (const n of b.iter('', { recursive: true })) names.push(n);
      expect(names).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it.each([
    {
      name: 'a CA file with no certificate',
      http: ['    tls_config:', '      ca_file: NOTPEM'],
      want: /unable to use specified CA cert .*not-pem\.crt/,
    },
    {
      name: 'a missing CA file',
      http: ['    tls_config:', '      ca_file: /nonexistent/ca.crt'],
      want: /cannot read http_config\.tls_config\.ca_file "\/nonexistent\/ca\.crt" in S3 config/,
    },
    {
      name: 'a client key without its certificate',
      http: ['    tls_config:', '      key_file: KEY'],
      want: /client key file ".*server\.key" specified without client cert file/,
    },
  ])('refuses $name before connecting', async ({ http, want }) => {
    const text = yaml(http.map((l) => l.replace('NOTPEM', certs.notPem).replace('KEY', certs.key)));
    const err = await createBucketFromConfig(text).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ObjstoreConfigError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(want);
  });
});
