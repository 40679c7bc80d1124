// TLS options of the receiver beyond certificates, each checked with real handshakes:
// --remote-write.server-tls-ciphers and -curves (Go names mapped to OpenSSL's, unknown names
// refused naming the flag), --remote-write.client-tls-min-version towards peers, and
// --receive.tenant-certificate-field (the tenant taken from the client certificate under mTLS).
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHTTPServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createServer as createTLSServer, type TLSSocket } from 'node:tls';
import { makeTempDir, makeTestCerts, removeTempDir } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { compressSync } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectWriteablePeer,
  createReceiver,
  encodeWriteRequest,
  nodeCipherList,
  nodeCurveList,
  type Receiver,
  type ReceiverOptions,
} from '../src/receive/index.js';

const SERVER_NAME = 'receive.test';
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir('receive-tls-opts-');
  makeTestCerts(dir, { serverName: SERVER_NAME, clientName: 'plain-client' });
  // Client certificates with organization / organizational unit, signed by the same CA.
  for (const [name, subj] of [
    ['acme', '/O=acme/OU=dev/CN=writer-1'],
    ['cn-only', '/CN=writer-2'],
  ] as const) {
    execFileSync(
      'openssl',
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
    writeFileSync(join(dir, `${name}.ext`), 'extendedKeyUsage=clientAuth\n');
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      ],
      { cwd: dir, stdio: 'ignore' },
    );
  }
});

afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

const pem = (name: string) => readFileSync(join(dir, name));

/** A remote-write body with one sample of `metric` at now. */
function body(metric: string): Buffer {
  return compressSync(
    Buffer.from(
      encodeWriteRequest([
        { labels: [{ name: '__name__', value: metric }], timestamps: [Date.now()], values: [1], histograms: 0 },
      ]),
    ),
  );
}

interface Outcome {
  status?: number;
  text?: string;
  error?: string;
  cipher?: string;
  protocol?: string | null;
}

/** POSTs a remote write over HTTPS with the given client TLS options. */
function post(
  address: string,
  tls: Record<string, unknown>,
  payload = body('tls_probe'),
  headers = {},
): Promise<Outcome> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port: Number(port),
        method: 'POST',
        path: '/api/v1/receive',
        servername: SERVER_NAME,
        ca: pem('ca.crt'),
        agent: false,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', ...headers },
        ...tls,
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const out: Outcome = {
          status: res.statusCode ?? 0,
          cipher: socket.getCipher()?.name,
          protocol: socket.getProtocol(),
        };
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ ...out, text }));
      },
    );
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(payload);
  });
}

async function receiverWith(
  extra: Partial<ReceiverOptions>,
  tlsExtra: Record<string, unknown> = {},
): Promise<Receiver> {
  const r = createReceiver({
    tsdbPath: join(dir, `data-${Math.random().toString(36).slice(2)}`),
    remoteWriteAddress: '127.0.0.1:0',
    remoteWriteServerTLS: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), ...tlsExtra },
    httpGracePeriodMs: 0,
    flushIntervalMs: 0,
    ...extra,
  });
  await r.start();
  return r;
}

describe('Go cipher suite and curve names', () => {
  it.each([
    [['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], 'ECDHE-RSA-AES128-GCM-SHA256'],
    [
      ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'],
      'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-SHA',
    ],
  ])('%j → TLS 1.3 suites plus %s', (names, tls12) => {
    expect(nodeCipherList(names, '--x')).toBe(
      `TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:${tls12}`,
    );
  });

  it('maps curves and refuses unknown names, naming the flag', () => {
    expect(nodeCurveList(['CurveP256', 'X25519', 'CurveP521'], '--x')).toBe('P-256:X25519:P-521');
    // No names: Go's default TLS 1.2 suites (ECDHE only), not Node's (which add RSA key exchange).
    expect(nodeCipherList([], '--x')).not.toMatch(/(^|:)(AES|DHE-)/);
    expect(() => nodeCipherList(['TLS_RSA_WITH_RC4_128_SHA'], '--remote-write.server-tls-ciphers')).toThrow(
      /^--remote-write\.server-tls-ciphers: invalid cipher suite: TLS_RSA_WITH_RC4_128_SHA, valid values are TLS_AES_128_GCM_SHA256, /,
    );
    expect(() => nodeCurveList(['P-256'], '--remote-write.server-tls-curves')).toThrow(
      '--remote-write.server-tls-curves: invalid curve: P-256, valid values are CurveP256, CurveP384, CurveP521, SecP256r1MLKEM768, SecP384r1MLKEM1024, X25519, X25519MLKEM768',
    );
    // createReceiver checks them before any I/O.
    expect(() =>
      createReceiver({
        tsdbPath: join(dir, 'never'),
        remoteWriteServerTLS: { certFile: 'x', keyFile: 'y', curves: ['CurveP999'] },
      }),
    ).toThrow(/--remote-write.server-tls-curves: invalid curve: CurveP999/);
    expect(() => createReceiver({ tsdbPath: join(dir, 'never'), tenantCertificateField: 'email' as never })).toThrow(
      /--receive.tenant-certificate-field: must be one of organization, organizationalUnit, commonName/,
    );
  });
});

describe('remote-write server restricted by cipher suites and curves', () => {
  it('accepts only the listed TLS 1.2 suite; TLS 1.3 stays as Go leaves it', async () => {
    await using r = await receiverWith(
      {},
      { minVersion: '1.2', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] },
    );
    const addr = r.remoteWriteAddress as string;
    const refused = await post(addr, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
    expect(refused.error).toMatch(/handshake failure|no shared cipher|alert/i);
    const allowed = await post(addr, {
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256',
    });
    expect(allowed).toMatchObject({ status: 200, protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    const tls13 = await post(addr, { minVersion: 'TLSv1.3' });
    expect(tls13).toMatchObject({ status: 200, protocol: 'TLSv1.3' });
    // Without the option the same TLS 1.2 client gets its preferred suite.
    await using open = await receiverWith({}, { minVersion: '1.2' });
    expect(
      await post(open.remoteWriteAddress as string, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }),
    ).toMatchObject({
      status: 200,
      cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
    });
    // …but a client that only knows RSA key exchange is refused, as by Go's default suites.
    const rsaOnly = await post(open.remoteWriteAddress as string, {
      maxVersion: 'TLSv1.2',
      ciphers: 'AES128-GCM-SHA256',
    });
    expect(rsaOnly.error).toMatch(/handshake failure|alert|cipher/i);
  });

  it.each(['TLSv1.2', 'TLSv1.3'] as const)('accepts only the listed curve (%s)', async (version) => {
    await using r = await receiverWith({}, { minVersion: '1.2', curves: ['CurveP384'] });
    const addr = r.remoteWriteAddress as string;
    const refused = await post(addr, { minVersion: version, maxVersion: version, ecdhCurve: 'X25519:P-256' });
    expect(refused.error).toMatch(/handshake failure|alert|no suitable|shared/i);
    const allowed = await post(addr, { minVersion: version, maxVersion: version, ecdhCurve: 'X25519:P-384' });
    expect(allowed).toMatchObject({ status: 200, protocol: version });
  });
});

describe('--remote-write.client-tls-min-version towards peers', () => {
  it('offers only the versions from the minimum up', async () => {
    // A TLS server that speaks at most TLS 1.2 with gRPC's ALPN: it records which handshakes completed.
    const handshakes: string[] = [];
    const server = createTLSServer(
      { cert: pem('server.crt'), key: pem('server.key'), maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] },
      (socket) => {
        handshakes.push(socket.getProtocol() ?? '');
        socket.destroy();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tls = { secure: true, caFile: join(dir, 'ca.crt'), serverName: SERVER_NAME };
    try {
      const strict = connectWriteablePeer(address, { ...tls, minVersion: '1.3' });
      await expect(strict.remoteWrite({ replica: 0, data: [] }, 2_000)).rejects.toThrow(/forward to/);
      strict.close();
      expect(handshakes).toEqual([]);
      const lenient = connectWriteablePeer(address, { ...tls, minVersion: '1.2' });
      // The handshake completes at TLS 1.2; the server is not gRPC, so the call itself fails.
      await expect(lenient.remoteWrite({ replica: 0, data: [] }, 2_000)).rejects.toThrow(/forward to/);
      lenient.close();
      expect(handshakes[0]).toBe('TLSv1.2');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('--receive.tenant-certificate-field', () => {
  const client = (name: string) => ({ cert: pem(`${name}.crt`), key: pem(`${name}.key`) });

  it.each([
    ['organization', 'acme'],
    ['organizationalUnit', 'dev'],
    ['commonName', 'writer-1'],
  ] as const)('%s names the tenant, over the tenant header', async (field, tenant) => {
    await using r = await receiverWith({ tenantCertificateField: field }, { clientCAFile: join(dir, 'ca.crt') });
    const res = await post(r.remoteWriteAddress as string, client('acme'), body('cert_tenant'), {
      'THANOS-TENANT': 'header-tenant',
    });
    expect(res.status, res.text).toBe(200);
    expect(r.tenants()).toEqual([tenant]);
    const stored: string[] = [];
    for await (const m of r.series({
      minTime: 0,
      maxTime: Date.now() + 60_000,
      matchers: [matcher('=~', '__name__', '.+')],
    }))
      if (m.type === 'series') stored.push(m.series.labels.toString());
    expect(stored).toEqual([`{__name__="cert_tenant", tenant_id="${tenant}"}`]);
  });

  it("refuses a certificate without the field with Thanos's text, storing nothing", async () => {
    await using r = await receiverWith(
      { tenantCertificateField: 'organization' },
      { clientCAFile: join(dir, 'ca.crt') },
    );
    const res = await post(r.remoteWriteAddress as string, client('cn-only'));
    expect(res).toMatchObject({ status: 400, text: 'could not get organization field from client cert\n' });
    expect(r.tenants()).toEqual([]);
    // Without a client CA no certificate is asked for: every request is refused.
    await using noCA = await receiverWith({ tenantCertificateField: 'commonName' });
    expect(await post(noCA.remoteWriteAddress as string, client('acme'))).toMatchObject({
      status: 400,
      text: 'could not get required certificate field from client cert\n',
    });
  });

  it('refuses plain HTTP when the option is on (the handler mounted in a plain server)', async () => {
    await using r = createReceiver({
      tsdbPath: join(dir, 'plain'),
      tenantCertificateField: 'commonName',
      flushIntervalMs: 0,
    });
    await r.start();
    const server = createHTTPServer((req, res) => void r.writeHandler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, {
        method: 'POST',
        body: body('plain'),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toBe('could not get required certificate field from client cert\n');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
