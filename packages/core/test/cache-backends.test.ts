import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  canConnect,
  makeTempDir,
  makeTestCerts,
  programAvailable,
  type RunningService,
  removeTempDir,
  requireProgram,
  startMemcached,
  startRedis,
  startService,
  waitFor,
} from '@thanos-ts/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache } from '../src/cache/cache.js';
import { parseIndexCacheConfig } from '../src/cache/config.js';
import { createMemcachedCache, type MemcachedCache } from '../src/cache/memcached.js';
import { createRedisCache } from '../src/cache/redis.js';
import { pickServerIndex, sortServersNaturally } from '../src/cache/server-selector.js';
import { createDNSResolver } from '../src/discovery/dns.js';
import { type DNSStubServer, startDNSStubServer } from './fixtures/dns-stub-server.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/** Stores 20 keys, waits for the async writes, and reads them back in one multi-get. */
async function multiRoundTrip(cache: Cache, tag: string): Promise<string[]> {
  const keys = Array.from({ length: 20 }, (_, i) => `${tag}:P:01HQZ2V3KJ8M4Q6W7T9XREDY5B:${i}`);
  for (const k of keys) cache.store(k, bytes(`v-${k}`), 60_000);
  const want = new Map(keys.map((k) => [k, `v-${k}`]));
  await waitFor(`${tag}: 20 keys readable`, async () => (await cache.fetch(keys)).size === keys.length, 10_000);
  const got = await cache.fetch([...keys, `${tag}:missing`]);
  expect(new Map([...got].map(([k, v]) => [k, text(v)]))).toEqual(want);
  return keys;
}

describe.skipIf(!programAvailable('redis-server'))('redis through ioredis (real redis-server)', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('multi-gets in batches, honours prefix, db and TTL as Thanos writes them', async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const { cache } = parseIndexCacheConfig(
      [
        'type: REDIS',
        'config:',
        `  addr: "127.0.0.1:${server.port}"`,
        '  db: 3',
        '  prefix: "thanos:"',
        '  get_multi_batch_size: 3',
        '  max_get_multi_concurrency: 2',
        '  read_timeout: 2s',
      ].join('\n'),
    );
    cleanups.push(() => cache.close());
    const keys = await multiRoundTrip(cache, 'plain');
    // What a Thanos process configured the same way reads: the prefixed key in db 3, a PX TTL.
    const raw = new Redis({ port: server.port, host: '127.0.0.1', db: 3, lazyConnect: true });
    cleanups.push(() => raw.disconnect());
    expect(await raw.get(`thanos:${keys[0]}`)).toBe(`v-${keys[0]}`);
    const pttl = await raw.pttl(`thanos:${keys[0]}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
    await raw.set('thanos:from-thanos', Buffer.from([0, 1, 2, 255]));
    expect([...((await cache.fetch(['from-thanos'])).get('from-thanos') ?? [])]).toEqual([0, 1, 2, 255]);
    expect(cache.stats().errors).toBe(0);
  });

  it('authenticates with username and password', async () => {
    const server = await startService({
      name: 'redis-auth',
      command: requireProgram('redis-server'),
      args: (port, dir) => [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
        ...['--user', 'default', 'off', '--user', 'thanos', 'on', '>s3cret', '~*', '+@all'],
      ],
      ready: (port) => canConnect(port),
    });
    cleanups.push(() => server.stop());
    const cfg = (password: string) =>
      `type: REDIS\nconfig:\n  addr: "127.0.0.1:${server.port}"\n  username: thanos\n  password: ${password}\n`;
    const good = parseIndexCacheConfig(cfg('s3cret')).cache;
    cleanups.push(() => good.close());
    await multiRoundTrip(good, 'auth');
    const bad = parseIndexCacheConfig(cfg('wrong')).cache;
    cleanups.push(() => bad.close());
    expect((await bad.fetch(['auth:P:01HQZ2V3KJ8M4Q6W7T9XREDY5B:0'])).size).toBe(0);
    expect(bad.stats().errors).toBeGreaterThan(0);
  });

  it('degrades to misses while the server is down and recovers', async () => {
    const server = await startRedis();
    const cache = createRedisCache({ addr: `127.0.0.1:${server.port}`, readTimeoutMs: 500 });
    cleanups.push(() => cache.close());
    await multiRoundTrip(cache, 'down');
    await server.stop();
    expect((await cache.fetch(['down:P:01HQZ2V3KJ8M4Q6W7T9XREDY5B:0'])).size).toBe(0);
    expect(cache.stats().errors).toBeGreaterThan(0);
    const again = await startRedis({ port: server.port });
    cleanups.push(() => again.stop());
    await multiRoundTrip(cache, 'back');
  });

  describe('over TLS', () => {
    let dir: string;
    let server: RunningService;
    beforeAll(async () => {
      dir = await makeTempDir('redis-tls-certs-');
      makeTestCerts(dir, { serverName: 'redis.example', clientName: 'thanos' });
      server = await startService({
        name: 'redis-tls',
        command: requireProgram('redis-server'),
        args: (port, d) => [
          ...['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', d],
          ...['--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key')],
          ...['--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'optional'],
        ],
        ready: (port) => canConnect(port),
      });
    });
    afterAll(async () => {
      await server?.stop();
      if (dir) await removeTempDir(dir);
    });

    it('verifies the server against ca_file and server_name, with a client certificate', async () => {
      const { cache } = parseIndexCacheConfig(
        [
          'type: REDIS',
          'config:',
          `  addr: "127.0.0.1:${server.port}"`,
          '  tls_enabled: true',
          '  tls_config:',
          `    ca_file: ${join(dir, 'ca.crt')}`,
          `    cert_file: ${join(dir, 'client.crt')}`,
          `    key_file: ${join(dir, 'client.key')}`,
          '    server_name: redis.example',
          '    min_version: "1.2"',
        ].join('\n'),
      );
      cleanups.push(() => cache.close());
      await multiRoundTrip(cache, 'tls');
    });

    it('refuses a server whose name does not match, unless insecure_skip_verify', async () => {
      const base = ['type: REDIS', 'config:', `  addr: "127.0.0.1:${server.port}"`, '  tls_enabled: true'];
      const strict = parseIndexCacheConfig(
        [...base, '  read_timeout: 1s', '  tls_config:', `    ca_file: ${join(dir, 'ca.crt')}`].join('\n'),
      ).cache;
      cleanups.push(() => strict.close());
      expect((await strict.fetch(['tls:x'])).size).toBe(0);
      expect(strict.stats().errors).toBeGreaterThan(0);
      const skip = parseIndexCacheConfig([...base, '  tls_config:', '    insecure_skip_verify: true'].join('\n')).cache;
      cleanups.push(() => skip.close());
      await multiRoundTrip(skip, 'skip');
    });
  });

  it('talks to a redis cluster when addr lists several nodes', async () => {
    const nodes: RunningService[] = [];
    for (let i = 0; i < 3; i++) {
      const node = await startService({
        name: `redis-cluster-${i}`,
        command: requireProgram('redis-server'),
        args: (port, d) => [
          ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', d],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(d, 'nodes.conf')],
        ],
        ready: (port) => canConnect(port),
      });
      nodes.push(node);
      cleanups.push(() => node.stop());
    }
    // Three masters splitting the 16384 slots, joined with CLUSTER MEET (what redis-cli --cluster create does).
    const admin = nodes.map((n) => new Redis({ port: n.port, host: '127.0.0.1', lazyConnect: true }));
    cleanups.push(() => {
      for (const a of admin) a.disconnect();
    });
    const ranges = [
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ];
    for (const [i, a] of admin.entries()) {
      await a.call('CLUSTER', 'ADDSLOTSRANGE', String(ranges[i]?.[0]), String(ranges[i]?.[1]));
      if (i > 0) await a.call('CLUSTER', 'MEET', '127.0.0.1', String(nodes[0]?.port));
    }
    await waitFor(
      'cluster_state:ok on every node',
      async () => {
        const infos = await Promise.all(admin.map((a) => a.call('CLUSTER', 'INFO') as Promise<string>));
        return infos.every((s) => s.includes('cluster_state:ok') && s.includes('cluster_known_nodes:3'));
      },
      20_000,
    );
    const { cache } = parseIndexCacheConfig(
      `type: REDIS\nconfig:\n  addr: "${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}"\n  get_multi_batch_size: 7\n`,
    );
    cleanups.push(() => cache.close());
    const keys = await multiRoundTrip(cache, 'cluster');
    // The keys really are spread over the masters: each holds some of them.
    const counts = await Promise.all(admin.map((a) => a.dbsize()));
    expect(counts.reduce((x, y) => x + y, 0)).toBe(keys.length);
    expect(counts.filter((c) => c > 0).length).toBeGreaterThan(1);
  });

  it('finds the master through sentinel when master_name is set', async () => {
    const master = await startRedis();
    cleanups.push(() => master.stop());
    const sentinel = await startService({
      name: 'redis-sentinel',
      command: requireProgram('redis-server'),
      prepare: async (d, port) => {
        writeFileSync(
          join(d, 'sentinel.conf'),
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${d}`,
            `sentinel monitor thanos-master 127.0.0.1 ${master.port} 1`,
            '',
          ].join('\n'),
        );
      },
      args: (_port, d) => [join(d, 'sentinel.conf'), '--sentinel'],
      ready: (port) => canConnect(port),
    });
    cleanups.push(() => sentinel.stop());
    const { cache } = parseIndexCacheConfig(
      `type: REDIS\nconfig:\n  addr: "127.0.0.1:${sentinel.port}"\n  master_name: thanos-master\n`,
    );
    cleanups.push(() => cache.close());
    const keys = await multiRoundTrip(cache, 'sentinel');
    const raw = new Redis({ port: master.port, host: '127.0.0.1', lazyConnect: true });
    cleanups.push(() => raw.disconnect());
    expect(await raw.exists(keys[0] as string)).toBe(1);
  });
});

describe.skipIf(!programAvailable('memcached'))('memcached (real memcached)', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  /** Which of `servers` holds `key`, asked of each server alone. */
  async function holders(servers: readonly string[], keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const s of servers) {
      const one = createMemcachedCache({ addresses: [s] });
      for (const k of (await one.fetch(keys)).keys()) out.set(k, s);
      await one.close();
    }
    return out;
  }

  it('puts every key on the server Thanos picks (jump hash, natural server order)', async () => {
    const servers: RunningService[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await startMemcached();
      servers.push(s);
      cleanups.push(() => s.stop());
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    // Listed in reverse: the client sorts them naturally, as Thanos does.
    const { cache } = parseIndexCacheConfig(
      `type: MEMCACHED\nconfig:\n  addresses: [${[...addrs]
        .reverse()
        .map((a) => JSON.stringify(a))
        .join(', ')}]\n  max_get_multi_batch_size: 4\n`,
    );
    cleanups.push(() => cache.close());
    const keys = await multiRoundTrip(cache, 'mc');
    const sorted = sortServersNaturally(addrs);
    expect((cache as MemcachedCache).servers()).toEqual(sorted);
    const where = await holders(addrs, keys);
    for (const k of keys) expect(where.get(k)).toBe(sorted[pickServerIndex(k, sorted.length)]);
    expect(new Set(where.values()).size).toBeGreaterThan(1);
  });

  it('resolves dnssrv+ and dns+ addresses and follows DNS changes', async () => {
    const a = await startMemcached();
    const b = await startMemcached();
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    const dns: DNSStubServer = await startDNSStubServer({
      A: { 'mc.test': ['127.0.0.1'] },
      SRV: { '_memcache._tcp.mc.test': [{ target: 'mc.test', port: a.port }] },
    });
    cleanups.push(() => dns.close());
    const resolver = createDNSResolver({ servers: [dns.address] });
    const cache = parseIndexCacheConfig(
      'type: MEMCACHED\nconfig:\n  addresses: ["dnssrv+_memcache._tcp.mc.test"]\n  dns_provider_update_interval: 50ms\n',
      '--index-cache.config',
      { resolver },
    ).cache as MemcachedCache;
    cleanups.push(() => cache.close());
    expect(cache.servers()).toEqual([]);
    await multiRoundTrip(cache, 'srv1');
    expect(cache.servers()).toEqual([`127.0.0.1:${a.port}`]);

    dns.setRecords({
      A: { 'mc.test': ['127.0.0.1'] },
      SRV: {
        '_memcache._tcp.mc.test': [
          { target: 'mc.test', port: b.port },
          { target: 'mc.test', port: a.port },
        ],
      },
    });
    // The periodic re-resolution picks the new server up.
    await waitFor('second memcached discovered', async () => cache.servers().length === 2, 10_000);
    expect(cache.servers()).toEqual(sortServersNaturally([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]));
    await multiRoundTrip(cache, 'srv2');

    // A failing lookup keeps the servers it had (Thanos's dns.Provider keeps old records).
    dns.setRecords({});
    await cache.resolveServers();
    expect(cache.servers()).toHaveLength(2);

    const byA = parseIndexCacheConfig(
      `type: MEMCACHED\nconfig:\n  addresses: ["dns+mc.test:${a.port}"]\n`,
      '--index-cache.config',
      { resolver: createDNSResolver({ servers: [dns.address] }) },
    ).cache as MemcachedCache;
    cleanups.push(() => byA.close());
    dns.setRecords({ A: { 'mc.test': ['127.0.0.1'] } });
    await multiRoundTrip(byA, 'dnsA');
    expect(byA.servers()).toEqual([`127.0.0.1:${a.port}`]);
  });

  it('drops stores beyond max_async_buffer_size instead of queueing them', async () => {
    const s = await startMemcached();
    cleanups.push(() => s.stop());
    const cache = createMemcachedCache({
      addresses: [`127.0.0.1:${s.port}`],
      maxAsyncConcurrency: 1,
      maxAsyncBufferSize: 2,
    });
    cleanups.push(() => cache.close());
    for (let i = 0; i < 10; i++) cache.store(`q${i}`, bytes('v'), 60_000);
    // One runs, two wait, seven are refused synchronously.
    expect(cache.stats().stores).toBe(3);
    expect(cache.stats().errors).toBe(7);
  });
});

describe('client YAML (Thanos keys, defaults and errors)', () => {
  it.each([
    { name: 'unknown redis key', yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  pool: 3', err: /field pool not found/ },
    {
      name: 'unknown tls key',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  tls_enabled: true\n  tls_config: {ca: x}',
      err: /tls_config: field ca not found/,
    },
    { name: 'no redis addr', yaml: 'type: REDIS\nconfig: {db: 1}', err: /no redis addr provided/ },
    {
      name: 'half a client cert',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  tls_enabled: true\n  tls_config: {cert_file: /x}',
      err: /both client key and certificate must be provided/,
    },
    {
      name: 'bad TLS version',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  tls_enabled: true\n  tls_config: {min_version: "2.0"}',
      err: /tls_config.min_version invalid/,
    },
    {
      name: 'client-side cache',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  cache_size: 64MB',
      err: /cache_size: client-side caching is not supported/,
    },
    {
      name: 'circuit breaker on',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  set_async_circuit_breaker_config: {enabled: true}',
      err: /circuit breaker is not supported/,
    },
    {
      name: 'db in a cluster',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1,b:2\n  db: 1',
      err: /db must be 0 for a redis cluster/,
    },
    {
      name: 'wrong type',
      yaml: 'type: REDIS\nconfig:\n  addr: a:1\n  get_multi_batch_size: many',
      err: /get_multi_batch_size must be an integer/,
    },
    {
      name: 'unknown memcached key',
      yaml: 'type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  adresses: [b:1]',
      err: /field adresses not found/,
    },
    {
      name: 'no memcached addresses',
      yaml: 'type: MEMCACHED\nconfig:\n  addresses: []',
      err: /no memcached addresses provided/,
    },
    {
      name: 'zero DNS interval',
      yaml: 'type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  dns_provider_update_interval: 0s',
      err: /DNS provider update interval must be positive/,
    },
    {
      name: 'zero async concurrency',
      yaml: 'type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  max_async_concurrency: 0',
      err: /max async concurrency must be positive/,
    },
    {
      name: 'auto discovery',
      yaml: 'type: MEMCACHED\nconfig:\n  addresses: [a:1]\n  auto_discovery: true',
      err: /auto_discovery .* not supported/,
    },
  ])('$name', ({ yaml, err }) => {
    expect(() => parseIndexCacheConfig(yaml)).toThrow(err);
  });

  it("accepts Thanos's documented default redis block verbatim, and go-redis era keys", async () => {
    const { cache } = parseIndexCacheConfig(
      [
        'type: REDIS',
        'config:',
        '  addr: "127.0.0.1:1"',
        '  prefix: ""',
        '  username: ""',
        '  password: ""',
        '  db: 0',
        '  dial_timeout: 5s',
        '  read_timeout: 3s',
        '  write_timeout: 3s',
        '  pool_size: 100',
        '  min_idle_conns: 10',
        '  idle_timeout: 5m',
        '  max_conn_age: 0s',
        '  max_get_multi_concurrency: 100',
        '  get_multi_batch_size: 100',
        '  max_set_multi_concurrency: 100',
        '  set_multi_batch_size: 100',
        '  tls_enabled: false',
        '  tls_config:',
        '    ca_file: ""',
        '    cert_file: ""',
        '    key_file: ""',
        '    server_name: ""',
        '    insecure_skip_verify: false',
        '    min_version: ""',
        '  cache_size: 0',
        '  master_name: ""',
        '  max_async_buffer_size: 10000',
        '  max_async_concurrency: 20',
        '  set_async_circuit_breaker_config:',
        '    enabled: false',
        '    half_open_max_requests: 10',
        '    open_duration: 5s',
        '    min_requests: 50',
        '    consecutive_failures: 5',
        '    failure_percent: 0.05',
        '  expiration: 24h0m0s',
        'enabled_items: []',
        'ttl: 0s',
      ].join('\n'),
    );
    expect(cache.name).toBe('REDIS');
    await cache.close();
  });
});
