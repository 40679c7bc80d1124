import { join } from 'node:path';
import { connect } from 'node:tls';
import { Server } from '@grpc/grpc-js';
import { createMemoryStorage } from '@thanos-ts/promql';
import { makeTempDir, makeTestCerts } from '@thanos-ts/testing';
import { Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import { grpcServerCredentials } from '../src/tls/grpc-tls.js';

async function serve(creds: ReturnType<typeof grpcServerCredentials>): Promise<{ server: Server; port: number }> {
  const storage = createMemoryStorage();
  storage.load([{ labels: { __name__: 'up' }, timestamps: [1000], values: [1] }]);
  const server = new Server();
  serveStoreAPI(createLocalStore({ queryable: storage, externalLabels: Labels.from({ tls: 'yes' }) }), server);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, port };
}

describe('gRPC TLS and mTLS', () => {
  let dir: string;
  const servers: Server[] = [];
  let tlsPort: number;
  let mtlsPort: number;

  beforeAll(async () => {
    dir = await makeTempDir('core-tls-');
    makeTestCerts(dir, { serverName: 'store.example', clientName: 'querier' });
    const tls = await serve(
      grpcServerCredentials({ certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key') }),
    );
    const mtls = await serve(
      grpcServerCredentials({
        certFile: join(dir, 'server.crt'),
        keyFile: join(dir, 'server.key'),
        clientCAFile: join(dir, 'ca.crt'),
      }),
    );
    servers.push(tls.server, mtls.server);
    tlsPort = tls.port;
    mtlsPort = mtls.port;
  });
  afterAll(() => {
    for (const s of servers) s.forceShutdown();
  });

  const labelsOf = async (store: ReturnType<typeof connectStoreAPI>) =>
    (await store.info(AbortSignal.timeout(5000))).labelSets[0]?.toRecord();

  it('round-trips over TLS with the server name override', async () => {
    const c = connectStoreAPI(`127.0.0.1:${tlsPort}`, {
      tls: { secure: true, caFile: join(dir, 'ca.crt'), serverName: 'store.example' },
    });
    expect(await labelsOf(c)).toEqual({ tls: 'yes' });
    c.close();
  });

  it('rejects a certificate for another name without the override', async () => {
    const c = connectStoreAPI(`127.0.0.1:${tlsPort}`, { tls: { secure: true, caFile: join(dir, 'ca.crt') } });
    await expect(labelsOf(c)).rejects.toThrow();
    c.close();
  });

  it('accepts any certificate with skip-verify', async () => {
    const c = connectStoreAPI(`127.0.0.1:${tlsPort}`, { tls: { secure: true, skipVerify: true } });
    expect(await labelsOf(c)).toEqual({ tls: 'yes' });
    c.close();
  });

  it('refuses plaintext clients', async () => {
    const c = connectStoreAPI(`127.0.0.1:${tlsPort}`);
    await expect(labelsOf(c)).rejects.toThrow();
    c.close();
  });

  it('requires a client certificate under mTLS', async () => {
    const without = connectStoreAPI(`127.0.0.1:${mtlsPort}`, {
      tls: { secure: true, caFile: join(dir, 'ca.crt'), serverName: 'store.example' },
    });
    await expect(labelsOf(without)).rejects.toThrow();
    without.close();
    const withCert = connectStoreAPI(`127.0.0.1:${mtlsPort}`, {
      tls: {
        secure: true,
        caFile: join(dir, 'ca.crt'),
        certFile: join(dir, 'client.crt'),
        keyFile: join(dir, 'client.key'),
        serverName: 'store.example',
      },
    });
    expect(await labelsOf(withCert)).toEqual({ tls: 'yes' });
    const series: string[] = [];
    for await (const r of withCert.series({ minTime: 0, maxTime: 5000, matchers: [matcher('=~', '__name__', '.+')] })) {
      if (r.type === 'series') series.push(r.series.labels.toString());
    }
    expect(series).toEqual(['{__name__="up", tls="yes"}']);
    withCert.close();
  });

  // A raw TLS handshake (ALPN h2, as gRPC clients offer) capped at `max`: the server's minimum
  // version decides whether it completes.
  const handshake = (port: number, max: 'TLSv1.2' | 'TLSv1.3') =>
    new Promise<string>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        maxVersion: max,
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
      });
      socket.once('secureConnect', () => {
        resolve(socket.getProtocol() ?? 'unknown');
        socket.destroy();
      });
      socket.once('error', (err) => resolve(`refused: ${err.message}`));
    });

  it("refuses TLS 1.2 by default (Thanos's --grpc-server-tls-min-version=1.3) and takes it when allowed", async () => {
    expect(await handshake(tlsPort, 'TLSv1.3')).toBe('TLSv1.3');
    expect(await handshake(tlsPort, 'TLSv1.2')).toMatch(/^refused: /);
    const lax = await serve(
      grpcServerCredentials({ certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), minVersion: '1.2' }),
    );
    servers.push(lax.server);
    expect(await handshake(lax.port, 'TLSv1.2')).toBe('TLSv1.2');
  });

  it('names the file when a certificate cannot be read', () => {
    expect(() => grpcServerCredentials({ certFile: join(dir, 'nope.crt'), keyFile: join(dir, 'server.key') })).toThrow(
      /nope\.crt/,
    );
  });
});
