import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { createMemoryStorage } from '@thanos-ts/promql';
import { makeTempDir } from '@thanos-ts/testing';
import { Labels } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDNSResolver, resolveAddress } from '../src/discovery/dns.js';
import { createFileSD, parseFileSD } from '../src/discovery/file-sd.js';
import { createQuerier } from '../src/query/querier.js';
import { serveStoreAPI } from '../src/storeapi/grpc-server.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import { type DNSStubServer, startDNSStubServer } from './fixtures/dns-stub-server.js';

async function startStore(site: string): Promise<{ server: Server; port: number }> {
  const storage = createMemoryStorage();
  storage.load([{ labels: { __name__: 'up', job: 'x' }, timestamps: [1000], values: [1] }]);
  const server = new Server();
  serveStoreAPI(createLocalStore({ queryable: storage, externalLabels: Labels.from({ site }) }), server);
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { server, port };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('DNS discovery against a local DNS stub', () => {
  let dns: DNSStubServer;
  const stores: { server: Server; port: number }[] = [];

  beforeAll(async () => {
    stores.push(await startStore('one'), await startStore('two'));
    dns = await startDNSStubServer({
      A: { 'store.test': ['127.0.0.1'], 'node1.test': ['127.0.0.1'] },
      SRV: {
        '_grpc._tcp.stores.test': [
          { target: 'node1.test', port: stores[0]?.port as number },
          { target: 'node1.test', port: stores[1]?.port as number },
        ],
      },
    });
  });
  afterAll(async () => {
    await dns.close();
    for (const s of stores) s.server.forceShutdown();
  });

  it('resolves dns+, dnssrv+ and dnssrvnoa+ addresses', async () => {
    const resolver = createDNSResolver({ servers: [dns.address] });
    expect(await resolveAddress('dns+store.test:10901', resolver)).toEqual(['127.0.0.1:10901']);
    expect(await resolveAddress('dnssrv+_grpc._tcp.stores.test', resolver)).toEqual([
      `127.0.0.1:${stores[0]?.port}`,
      `127.0.0.1:${stores[1]?.port}`,
    ]);
    expect(await resolveAddress('dnssrvnoa+_grpc._tcp.stores.test', resolver)).toEqual([
      `node1.test:${stores[0]?.port}`,
      `node1.test:${stores[1]?.port}`,
    ]);
    expect(await resolveAddress('10.0.0.1:1', resolver)).toEqual(['10.0.0.1:1']);
    await expect(resolveAddress('dns+missing.test:1', resolver)).rejects.toThrow();
    await expect(resolveAddress('dns+noport.test', resolver)).rejects.toThrow(/missing port/);
  });

  it('feeds a querier whose endpoints follow SRV changes', async () => {
    const querier = createQuerier({
      endpoints: ['dnssrv+_grpc._tcp.stores.test'],
      resolver: createDNSResolver({ servers: [dns.address] }),
      dnsIntervalMs: 100,
      endpointRefreshIntervalMs: 100,
    });
    await querier.start();
    const sites = async () => {
      const r = await querier.instantQuery('up', 1000);
      return r.result.type === 'vector' ? r.result.samples.map((s) => s.metric.get('site')).sort() : [];
    };
    expect(await sites()).toEqual(['one', 'two']);
    dns.setRecords({
      A: { 'node1.test': ['127.0.0.1'] },
      SRV: { '_grpc._tcp.stores.test': [{ target: 'node1.test', port: stores[1]?.port as number }] },
    });
    await until(async () => JSON.stringify(await sites()) === '["two"]');
    await querier.close();
  });
});

describe('file SD', () => {
  it('parses Prometheus file SD in YAML and JSON', () => {
    expect(parseFileSD('- targets: ["a:1", "b:2"]\n  labels: {x: y}\n- targets: [c:3]\n', 'f.yml')).toEqual([
      'a:1',
      'b:2',
      'c:3',
    ]);
    expect(parseFileSD('[{"targets": ["d:4"]}]', 'f.json')).toEqual(['d:4']);
    expect(() => parseFileSD('{"targets": "x"}', 'f.json')).toThrow(/list of target groups/);
    expect(() => parseFileSD('- targets: [1, 2]', 'f.yaml')).toThrow(/targets must be a list of strings/);
  });

  it('reloads targets when files change, without restart', async () => {
    const dir = await makeTempDir('filesd-');
    const one = await startStore('one');
    const two = await startStore('two');
    const file = join(dir, 'stores.yml');
    await writeFile(file, `- targets: ["127.0.0.1:${one.port}"]\n`);
    const seen: string[][] = [];
    const sd = createFileSD({
      files: [join(dir, '*.yml')],
      refreshInterval: 60_000,
      onChange: (t) => seen.push([...t]),
    });
    sd.start();
    expect(sd.targets()).toEqual([`127.0.0.1:${one.port}`]);

    const querier = createQuerier({
      fileSDFiles: [join(dir, '*.yml')],
      fileSDIntervalMs: 60_000,
      endpointRefreshIntervalMs: 100,
    });
    await querier.start();
    const sites = async () => {
      const r = await querier.instantQuery('up', 1000);
      return r.result.type === 'vector' ? r.result.samples.map((s) => s.metric.get('site')).sort() : [];
    };
    expect(await sites()).toEqual(['one']);

    // Replace the file atomically, as config management does.
    await writeFile(join(dir, '.tmp'), `- targets:\n  - 127.0.0.1:${two.port}\n`);
    await rename(join(dir, '.tmp'), file);
    await until(() => sd.targets()[0] === `127.0.0.1:${two.port}`);
    await until(async () => JSON.stringify(await sites()) === '["two"]');
    // A broken file keeps the last good targets.
    await writeFile(file, '- targets: [\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(sd.targets()).toEqual([`127.0.0.1:${two.port}`]);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    sd.close();
    await querier.close();
    one.server.forceShutdown();
    two.server.forceShutdown();
  });

  it('marks a dead endpoint unhealthy and re-adds it when it comes back', async () => {
    const store = await startStore('flaky');
    const querier = createQuerier({ endpoints: [`127.0.0.1:${store.port}`], endpointRefreshIntervalMs: 100 });
    await querier.start();
    expect(querier.endpointStatuses()[0]?.healthy).toBe(true);
    await new Promise<void>((r) => store.server.tryShutdown(() => r()));
    await until(() => querier.endpointStatuses()[0]?.healthy === false);
    expect(querier.endpointStatuses()[0]?.lastError).toBeTruthy();
    const r = await querier.instantQuery('up', 1000);
    expect(
      r.warnings.some((w) => w.startsWith('No StoreAPIs matched for this query')),
      r.warnings.join('\n'),
    ).toBe(true);
    const again = new Server();
    serveStoreAPI(
      createLocalStore({ queryable: createMemoryStorage(), externalLabels: Labels.from({ site: 'flaky' }) }),
      again,
    );
    await new Promise<number>((res, rej) =>
      again.bindAsync(`127.0.0.1:${store.port}`, ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    await until(() => querier.endpointStatuses()[0]?.healthy === true, 10_000);
    await querier.close();
    again.forceShutdown();
  });
});
