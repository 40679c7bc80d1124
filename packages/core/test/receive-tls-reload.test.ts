// Server certificates re-read when their files change (Thanos's pkg/tls serverTLSManager), with
// real handshakes: the receiver's remote-write HTTPS server checks the files as each connection
// arrives; the gRPC server credentials check them at each SNI handshake and when the directory
// reports a change. A broken replacement keeps the previous certificate, logged once.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { Server } from '@grpc/grpc-js';
import { makeTempDir, makeTestCerts, removeTempDir } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/log/logger.js';
import { createReceiver } from '../src/receive/index.js';
import { grpcServerCredentials } from '../src/tls/grpc-tls.js';

const SERVER_NAME = 'reload.test';
let dir: string;
// Three certificate sets (each its own CA), copied in turn over the served files.
const sets: { crt: Buffer; key: Buffer; fingerprint: string }[] = [];

beforeAll(async () => {
  dir = await makeTempDir('receive-tls-reload-');
  for (let i = 0; i < 3; i++) {
    const d = join(dir, `set-${i}`);
    mkdirSync(d);
    makeTestCerts(d, { serverName: SERVER_NAME, clientName: 'client' });
    const crt = readFileSync(join(d, 'server.crt'));
    sets.push({ crt, key: readFileSync(join(d, 'server.key')), fingerprint: new X509Certificate(crt).fingerprint256 });
  }
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** The certificate a fresh TLS connection to `address` is served (with or without SNI). */
function servedCert(address: string, opts: { sni: boolean; alpn?: string[] }): Promise<string> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = connect({
      host: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      rejectUnauthorized: false,
      ...(opts.sni ? { servername: SERVER_NAME } : {}),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
    });
    s.once('secureConnect', () => {
      const c: PeerCertificate = s.getPeerCertificate();
      s.destroy();
      resolve(c.fingerprint256);
    });
    s.once('error', reject);
  });
}

function recordingLogger() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, msg, fields });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Logger, lines };
}

/** Replaces the served pair in place, as an operator (or cert-manager without symlinks) does. */
function install(files: { cert: string; key: string }, set: { crt: Buffer; key: Buffer }): void {
  writeFileSync(files.cert, set.crt);
  writeFileSync(files.key, set.key);
}

describe('remote-write HTTPS server reloads its certificate', () => {
  it('serves a replaced certificate on the next connection, keeps the old one on a broken replacement', async () => {
    const d = join(dir, 'rw');
    mkdirSync(d);
    const files = { cert: join(d, 'tls.crt'), key: join(d, 'tls.key') };
    install(files, sets[0] as (typeof sets)[0]);
    const rec = recordingLogger();
    const r = createReceiver({
      tsdbPath: join(d, 'data'),
      remoteWriteAddress: '127.0.0.1:0',
      remoteWriteServerTLS: { certFile: files.cert, keyFile: files.key },
      logger: rec.logger,
      flushIntervalMs: 0,
      httpGracePeriodMs: 0,
    });
    await r.start();
    try {
      const addr = r.remoteWriteAddress as string;
      expect(await servedCert(addr, { sni: false })).toBe(sets[0]?.fingerprint);

      install(files, sets[1] as (typeof sets)[1]);
      expect(await servedCert(addr, { sni: false })).toBe(sets[1]?.fingerprint);
      expect(rec.lines.filter((l) => l.msg === 'reloaded TLS certificate')).toHaveLength(1);

      // A key that does not match the certificate, then garbage: the last good pair stays.
      writeFileSync(files.key, sets[2]?.key as Buffer);
      for (let i = 0; i < 3; i++) expect(await servedCert(addr, { sni: true })).toBe(sets[1]?.fingerprint);
      writeFileSync(files.cert, 'not a certificate\n');
      for (let i = 0; i < 3; i++) expect(await servedCert(addr, { sni: false })).toBe(sets[1]?.fingerprint);
      const errors = rec.lines.filter((l) => l.level === 'error');
      // Once per change of the files (two changes), not once per connection.
      expect(errors.map((l) => [l.msg, l.fields.server, l.fields.cert])).toEqual([
        ['reload TLS certificate, keeping the previous one', 'remote-write server', files.cert],
        ['reload TLS certificate, keeping the previous one', 'remote-write server', files.cert],
      ]);

      install(files, sets[2] as (typeof sets)[2]);
      expect(await servedCert(addr, { sni: false })).toBe(sets[2]?.fingerprint);
    } finally {
      await r.close();
    }
  });

  it('still refuses to start with an unreadable certificate, naming the flag', () => {
    const r = createReceiver({
      tsdbPath: join(dir, 'rw-bad', 'data'),
      remoteWriteAddress: '127.0.0.1:0',
      remoteWriteServerTLS: { certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'missing.key') },
      flushIntervalMs: 0,
    });
    return expect(r.start()).rejects.toThrow(/^--remote-write\.server-tls-cert: cannot read ".*missing\.crt": ENOENT/);
  });
});

describe('gRPC server credentials reload the certificate', () => {
  it.each([
    { name: 'SNI handshake', sni: true },
    { name: 'no SNI (directory watch)', sni: false },
  ])('$name', async ({ sni }) => {
    const d = join(dir, `grpc-${sni}`);
    mkdirSync(d);
    const files = { cert: join(d, 'tls.crt'), key: join(d, 'tls.key') };
    install(files, sets[0] as (typeof sets)[0]);
    const rec = recordingLogger();
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        '127.0.0.1:0',
        grpcServerCredentials({ certFile: files.cert, keyFile: files.key }, rec.logger),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    const addr = `127.0.0.1:${port}`;
    const probe = () => servedCert(addr, { sni, alpn: ['h2'] });
    // Without SNI the change arrives through the directory watch: wait for it (bounded).
    const eventually = async (want: string | undefined) => {
      let got = await probe();
      for (let i = 0; i < 100 && got !== want && !sni; i++) {
        await new Promise((res) => setTimeout(res, 50));
        got = await probe();
      }
      return got;
    };
    try {
      expect(await probe()).toBe(sets[0]?.fingerprint);
      install(files, sets[1] as (typeof sets)[1]);
      expect(await eventually(sets[1]?.fingerprint)).toBe(sets[1]?.fingerprint);

      const before = rec.lines.length;
      writeFileSync(files.cert, 'not a certificate\n');
      // Let the watch settle, so every check below sees the same broken files.
      await new Promise((res) => setTimeout(res, 300));
      const errorsAfterChange = () => rec.lines.slice(before).filter((l) => l.level === 'error');
      const logged = errorsAfterChange().length;
      for (let i = 0; i < 3; i++) expect(await probe()).toBe(sets[1]?.fingerprint);
      // Logged for the change, not for each connection.
      expect(errorsAfterChange().length).toBe(Math.max(logged, 1));
      expect(errorsAfterChange()[0]?.msg).toBe('reload TLS certificate, keeping the previous one');
      expect(errorsAfterChange()[0]?.fields.server).toBe('gRPC server');

      // A replacement by rename (as Kubernetes and cert-manager swap files) is seen too.
      writeFileSync(`${files.key}.new`, sets[2]?.key as Buffer);
      writeFileSync(`${files.cert}.new`, sets[2]?.crt as Buffer);
      renameSync(`${files.key}.new`, files.key);
      renameSync(`${files.cert}.new`, files.cert);
      expect(await eventually(sets[2]?.fingerprint)).toBe(sets[2]?.fingerprint);
    } finally {
      server.forceShutdown();
    }
  });
});
