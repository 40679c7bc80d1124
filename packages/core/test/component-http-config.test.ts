// The shared HTTP server's web config (Thanos's --http.config, exporter-toolkit's format) and
// request logging (--request.logging-config): HTTPS with openssl-made certificates, client
// certificate policies, basic auth against exporter-toolkit's own test hashes, headers, and the
// log lines of HTTP and gRPC calls, through bindServers as every component uses it.
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { makeTempDir, makeTestCerts, removeTempDir } from '@thanos-ts/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bindServers,
  parseRequestLoggingConfig,
  parseWebConfig,
  readWebConfigFile,
  type WebConfig,
} from '../src/component/index.js';
import { createLogger } from '../src/log/logger.js';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('http-config-');
  makeTestCerts(dir, { serverName: 'localhost', clientName: 'client' });
});
afterAll(() => removeTempDir(dir));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  url: string,
  opts: { auth?: string; clientCert?: boolean; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const u = new URL(url);
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const onRes = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(
            u,
            {
              headers,
              ca: readFileSync(join(dir, 'ca.crt')),
              servername: 'localhost',
              agent: false,
              ...(opts.clientCert
                ? { cert: readFileSync(join(dir, 'client.crt')), key: readFileSync(join(dir, 'client.key')) }
                : {}),
            },
            onRes,
          )
        : httpRequest(u, { headers, agent: false }, onRes);
    req.on('error', reject);
    req.end();
  });
}

async function serve(webConfig: WebConfig | undefined, extra: Parameters<typeof bindServers>[0] = {}) {
  return bindServers(
    { httpAddress: '127.0.0.1:0', httpGracePeriodMs: 0, ...(webConfig ? { webConfig } : {}), ...extra },
    { registry: new Registry(), ready: () => true, name: 'test' },
    createLogger({ level: 'error', write: () => {} }),
  );
}

describe('web config parsing', () => {
  it.each([
    { name: 'unknown top-level field', yaml: 'tls_config: {}', error: 'field tls_config not found in type web.Config' },
    {
      name: 'unknown TLS field',
      yaml: 'tls_server_config:\n  certfile: x',
      error: 'line 2: field certfile not found in type web.TLSConfig',
    },
    {
      name: 'cert without key',
      yaml: 'tls_server_config:\n  cert_file: a.crt',
      error: 'missing one of key or key_file',
    },
    {
      name: 'key without cert',
      yaml: 'tls_server_config:\n  key_file: a.key',
      error: 'missing one of cert or cert_file',
    },
    {
      name: 'unreadable cert file',
      yaml: 'tls_server_config:\n  cert_file: /nonexistent/a.crt\n  key_file: /nonexistent/a.key',
      error: 'failed to read cert_file (/nonexistent/a.crt)',
    },
    {
      name: 'bad client auth type',
      yaml: 'tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  client_auth_type: Bogus',
      error: 'invalid ClientAuth: Bogus',
    },
    {
      name: 'CA without a client auth policy',
      yaml: 'tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n  client_ca_file: CA',
      error: "client CA's have been configured without a Client Auth Policy",
    },
    {
      name: 'unknown TLS version',
      yaml: 'tls_server_config:\n  min_version: TLS14',
      error: 'unknown TLS version: TLS14',
    },
    {
      name: 'unknown cipher',
      yaml: 'tls_server_config:\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]',
      error: 'unknown cipher: TLS_RSA_WITH_RC4_128_SHA',
    },
    { name: 'unknown curve', yaml: 'tls_server_config:\n  curve_preferences: [P256]', error: 'unknown curve: P256' },
    {
      name: 'header not allowed',
      yaml: 'http_server_config:\n  headers:\n    Server: x',
      error: 'HTTP header "Server" can not be configured',
    },
    {
      name: 'header value not allowed',
      yaml: 'http_server_config:\n  headers:\n    X-Frame-Options: allow',
      error: 'invalid value for X-Frame-Options. Expected one of: ["deny" "sameorigin"], but got: "allow"',
    },
    {
      name: 'password instead of a hash',
      yaml: 'basic_auth_users:\n  alice: secret',
      error: 'crypto/bcrypt: hashedSecret too short to be a bcrypted password',
    },
  ])('$name', ({ yaml, error }) => {
    const text = yaml
      .replace('CERT', join(dir, 'server.crt'))
      .replace('KEY', join(dir, 'server.key'))
      .replace('CA', join(dir, 'ca.crt'));
    expect(() => parseWebConfig(text, { where: 'web.yml' })).toThrow(error);
    try {
      parseWebConfig(text, { where: 'web.yml' });
    } catch (err) {
      expect((err as { code: string }).code).toBe('CORE_WEB_CONFIG');
      expect((err as Error).message.startsWith('web.yml: ')).toBe(true);
    }
  });

  it('reads relative paths against the config file folder, as exporter-toolkit', () => {
    const file = join(dir, 'web-relative.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
    expect(readWebConfigFile(file)?.tlsServerConfig).toMatchObject({
      certFile: join(dir, 'server.crt'),
      keyFile: join(dir, 'server.key'),
    });
    expect(readWebConfigFile('')).toBeUndefined();
  });
});

describe('HTTPS and client certificates', () => {
  it('serves HTTPS with the configured certificate; plain HTTP is not answered', async () => {
    const cfg = parseWebConfig(
      `tls_server_config:\n  cert_file: ${join(dir, 'server.crt')}\n  key_file: ${join(dir, 'server.key')}\n`,
      { where: 'web.yml' },
    );
    const servers = await serve(cfg);
    try {
      const r = await get(`https://${servers.httpAddress}/-/healthy`);
      expect(r).toMatchObject({ status: 200, body: 'OK' });
      await expect(get(`http://${servers.httpAddress}/-/healthy`)).rejects.toThrow();
    } finally {
      await servers.close();
    }
  });

  it.each([
    { auth: 'RequireAndVerifyClientCert', withCert: 200, withoutCert: 'error' },
    { auth: 'RequireAnyClientCert', withCert: 200, withoutCert: 'error' },
    { auth: 'VerifyClientCertIfGiven', withCert: 200, withoutCert: 200 },
    { auth: 'RequestClientCert', withCert: 200, withoutCert: 200 },
  ])('client_auth_type $auth', async ({ auth, withCert, withoutCert }) => {
    const cfg = parseWebConfig(
      [
        'tls_server_config:',
        `  cert_file: ${join(dir, 'server.crt')}`,
        `  key_file: ${join(dir, 'server.key')}`,
        `  client_auth_type: ${auth}`,
        `  client_ca_file: ${join(dir, 'ca.crt')}`,
      ].join('\n'),
      { where: 'web.yml' },
    );
    const servers = await serve(cfg);
    try {
      expect((await get(`https://${servers.httpAddress}/-/healthy`, { clientCert: true })).status).toBe(withCert);
      const without = get(`https://${servers.httpAddress}/-/healthy`);
      if (withoutCert === 'error') await expect(without).rejects.toThrow();
      else expect((await without).status).toBe(withoutCert);
    } finally {
      await servers.close();
    }
  });

  it('client_allowed_sans refuses a certificate without one of the SANs', async () => {
    const base = [
      'tls_server_config:',
      `  cert_file: ${join(dir, 'server.crt')}`,
      `  key_file: ${join(dir, 'server.key')}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      `  client_ca_file: ${join(dir, 'ca.crt')}`,
      '  client_allowed_sans: [other.example]',
    ].join('\n');
    // The test client certificate has no SAN at all.
    const servers = await serve(parseWebConfig(base, { where: 'web.yml' }));
    try {
      await expect(get(`https://${servers.httpAddress}/-/healthy`, { clientCert: true })).rejects.toThrow();
    } finally {
      await servers.close();
    }
  });

  it('min_version TLS13 refuses a TLS 1.2 client', async () => {
    const cfg = parseWebConfig(
      `tls_server_config:\n  cert_file: ${join(dir, 'server.crt')}\n  key_file: ${join(dir, 'server.key')}\n  min_version: TLS13\n`,
      { where: 'web.yml' },
    );
    const servers = await serve(cfg);
    try {
      const u = new URL(`https://${servers.httpAddress}/-/healthy`);
      await expect(
        new Promise((resolve, reject) => {
          const req = httpsRequest(
            u,
            { ca: readFileSync(join(dir, 'ca.crt')), servername: 'localhost', maxVersion: 'TLSv1.2', agent: false },
            resolve,
          );
          req.on('error', reject);
          req.end();
        }),
      ).rejects.toThrow();
      expect((await get(u.href)).status).toBe(200);
    } finally {
      await servers.close();
    }
  });
});

describe('basic auth and headers', () => {
  // exporter-toolkit's testdata/web_config_users.good.yml hashes (passwords from its tls_config_test.go).
  const users =
    'basic_auth_users:\n' +
    '  carol: $2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu\n' +
    '  dave: $2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq\n' +
    'http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n';

  it.each([
    { name: 'good password', auth: 'dave:dave123', status: 200 },
    { name: 'good password, second user', auth: 'carol:carol123', status: 200 },
    { name: 'bad password', auth: 'dave:carol123', status: 401 },
    { name: 'unknown user', auth: 'mallory:dave123', status: 401 },
    { name: 'no credentials', auth: undefined, status: 401 },
  ])('$name', async ({ auth, status }) => {
    const servers = await serve(parseWebConfig(users, { where: 'web.yml' }));
    try {
      for (const path of ['/metrics', '/-/ready', '/nothing-here']) {
        const r = await get(`http://${servers.httpAddress}${path}`, auth ? { auth } : {});
        expect(r.status, path).toBe(status === 200 && path === '/nothing-here' ? 404 : status);
        expect(r.headers['x-frame-options']).toBe('deny');
        expect(r.headers['strict-transport-security']).toBe('max-age=31536000');
        if (status === 401) {
          expect(r.headers['www-authenticate']).toBe('Basic');
          expect(r.body).toBe('Unauthorized\n');
        }
      }
    } finally {
      await servers.close();
    }
  });

  it('rate_limit answers 429 once the burst is spent', async () => {
    const servers = await serve(parseWebConfig('rate_limit:\n  burst: 2\n  interval: 1h\n', { where: 'web.yml' }));
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(`http://${servers.httpAddress}/-/healthy`)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await servers.close();
    }
  });
});

describe('request logging', () => {
  it.each([
    {
      name: 'empty config: nothing',
      yaml: '',
      want: { http: { decision: 'NoLogCall', level: 'ERROR' }, grpc: { decision: 'NoLogCall', level: 'ERROR' } },
    },
    {
      name: 'global options apply to both',
      yaml: 'options:\n  level: DEBUG\n  decision:\n    log_start: false\n    log_end: true\n',
      want: {
        http: { decision: 'LogFinishCall', level: 'DEBUG' },
        grpc: { decision: 'LogFinishCall', level: 'DEBUG' },
      },
    },
    {
      name: 'protocol options override the global ones, allowlists',
      yaml: [
        'options:\n  level: ERROR\n  decision:\n    log_start: false\n    log_end: true',
        'http:\n  options:\n    level: DEBUG\n    decision:\n      log_start: true\n      log_end: true',
        '  config:\n    - path: /api/v1/query\n      port: 10904',
        'grpc:\n  config:\n    - service: thanos.Store\n      method: Info',
      ].join('\n'),
      want: {
        http: { decision: 'LogStartAndFinishCall', level: 'DEBUG', only: ['/api/v1/query:10904'] },
        grpc: { decision: 'LogFinishCall', level: 'ERROR', only: ['/thanos.Store/Info'] },
      },
    },
  ])('$name', ({ yaml, want }) => {
    expect(parseRequestLoggingConfig(yaml)).toEqual(want);
  });

  it.each([
    {
      name: 'start without end',
      yaml: 'options:\n  level: INFO\n  decision:\n    log_start: true\n',
      error: 'log start call is not supported',
    },
    {
      name: 'decision without level',
      yaml: 'http:\n  options:\n    decision:\n      log_end: true\n',
      error: 'level field is empty',
    },
    {
      name: 'bad level',
      yaml: 'options:\n  level: TRACE\n  decision:\n    log_end: true\n',
      error: 'the format of level is invalid. Expected INFO/DEBUG/ERROR/WARNING, got this TRACE',
    },
    { name: 'unknown field', yaml: 'htttp: {}\n', error: 'field htttp not found' },
  ])('refuses $name', ({ yaml, error }) => {
    expect(() => parseRequestLoggingConfig(yaml)).toThrow(error);
  });

  it('logs HTTP and gRPC calls with Thanos fields', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) });
    const requestLogging = parseRequestLoggingConfig(
      'options:\n  level: DEBUG\n  decision:\n    log_start: true\n    log_end: true\n',
    );
    const store = createLocalStore({
      queryable: {
        querier: async () => ({ select: () => ({ async *[Symbol.asyncIterator]() {} }), close() {} }),
      } as never,
    });
    const servers = await bindServers(
      {
        httpAddress: '127.0.0.1:0',
        grpcAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        grpcGracePeriodMs: 0,
        requestLogging,
      },
      { registry: new Registry(), ready: () => true, name: 'test', grpc: (s) => serveStoreAPI(store, s) },
      logger,
    );
    try {
      expect((await get(`http://${servers.httpAddress}/nope?x=1`, { headers: { 'X-Request-ID': 'r1' } })).status).toBe(
        404,
      );
      const client = connectStoreAPI(servers.grpcAddress as string);
      await client.info();
      client.close?.();
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const http = records.filter((r) => r.protocol === 'http');
      expect(http.map((r) => r.msg)).toEqual(['started call', 'finished call']);
      expect(http[1]).toMatchObject({
        level: 'debug',
        'http.method': 'GET /nope?x=1',
        'http.request_id': 'r1',
        'http.status_code': '404',
        'thanos.method_name': 'test',
      });
      const grpc = records.filter((r) => r.protocol === 'grpc');
      expect(grpc.map((r) => r.msg)).toEqual(['started call', 'finished call']);
      expect(grpc[1]).toMatchObject({ 'grpc.service': 'thanos.info.Info', 'grpc.method': 'Info', 'grpc.code': 'OK' });
    } finally {
      await servers.close();
    }
  });

  it('the level filters lines: ERROR keeps only 5xx finish lines', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l) });
    const servers = await bindServers(
      {
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        requestLogging: parseRequestLoggingConfig(
          'http:\n  options:\n    level: ERROR\n    decision:\n      log_end: true\n',
        ),
      },
      {
        registry: new Registry(),
        ready: () => false,
        handlers: [
          async (req, res) => {
            if (req.url !== '/boom') return false;
            res.writeHead(500).end();
            return true;
          },
        ],
      },
      logger,
    );
    try {
      await get(`http://${servers.httpAddress}/-/healthy`);
      await get(`http://${servers.httpAddress}/boom`);
      const finished = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.protocol === 'http');
      expect(finished).toHaveLength(1);
      expect(finished[0]).toMatchObject({ level: 'error', 'http.status_code': '500' });
    } finally {
      await servers.close();
    }
  });
});
