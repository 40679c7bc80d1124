import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createQueryFrontend } from '@thanos-ts/core/frontend';
import {
  freePort,
  httpOk,
  makeTempDir,
  makeTestCerts,
  programAvailable,
  removeTempDir,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { defineQueryFrontendCommand, parseQueryFrontendFlags, type QueryFrontendFlags } from './query-frontend.js';

function flags(argv: string[]): QueryFrontendFlags {
  const cmd = defineQueryFrontendCommand().exitOverride();
  const program = new Command().exitOverride().addCommand(cmd);
  let parsed: QueryFrontendFlags | undefined;
  cmd.action((o: QueryFrontendFlags) => {
    parsed = o;
  });
  program.parse(['node', 'thanos-ts', 'query-frontend', ...argv]);
  return parsed as QueryFrontendFlags;
}

describe('thanos-ts query-frontend flags', () => {
  it("has Thanos's defaults", async () => {
    const o = await parseQueryFrontendFlags(flags([]));
    expect(o).toEqual({
      httpAddress: '0.0.0.0:10902',
      httpGracePeriodMs: 120_000,
      downstreamUrl: 'http://localhost:9090',
      disableCors: false,
      alignRangeWithStep: true,
      splitIntervalMs: 86_400_000,
      maxRetries: 5,
      instantMaxRetries: 5,
      maxQueryLengthMs: 0,
      maxQueryParallelism: 14,
      maxCacheFreshnessMs: 60_000,
      partialResponse: true,
      labelsSplitIntervalMs: 86_400_000,
      labelsMaxRetries: 5,
      labelsMaxQueryParallelism: 14,
      labelsMaxCacheFreshnessMs: 60_000,
      labelsPartialResponse: true,
      labelsDefaultTimeRangeMs: 86_400_000,
      requestDownsampled: true,
      minSplitIntervalMs: 0,
      maxSplitIntervalMs: 0,
      horizontalShards: 0,
      cacheCompression: '',
      orgIdHeaders: [],
      slowQueryLogsUserHeader: '',
      compressResponses: false,
      logQueriesLongerThanMs: 0,
      forwardHeaders: [],
      tenantHeader: 'THANOS-TENANT',
      defaultTenant: 'default-tenant',
      forceQueryStats: false,
      enableXFunctions: false,
      enableFeatures: [],
    });
  });

  it('maps the query stats, PromQL feature and tenant certificate flags', async () => {
    const dir = await makeTempDir('qfe-features-');
    try {
      makeTestCerts(dir, { serverName: 'localhost', clientName: 'c' });
      const web = join(dir, 'web.yml');
      await writeFile(
        web,
        'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n',
      );
      const o = await parseQueryFrontendFlags(
        flags([
          '--query-frontend.force-query-stats',
          '--query-frontend.enable-x-functions',
          '--enable-feature=promql-experimental-functions',
          `--http.config=${web}`,
          '--query-frontend.tenant-certificate-field=organizationalUnit',
          '--request.logging-config=options:\n  level: INFO\n  decision:\n    log_end: true\n',
        ]),
      );
      expect(o).toMatchObject({
        forceQueryStats: true,
        enableXFunctions: true,
        enableFeatures: ['promql-experimental-functions'],
        tenantCertificateField: 'organizationalUnit',
        webConfig: {
          tlsServerConfig: { clientAuthType: 'RequireAndVerifyClientCert', certFile: join(dir, 'server.crt') },
        },
        requestLogging: { http: { decision: 'LogFinishCall', level: 'INFO' } },
      });
      expect((await parseQueryFrontendFlags(flags(['--no-query-frontend.enable-x-functions']))).enableXFunctions).toBe(
        false,
      );
    } finally {
      await removeTempDir(dir);
    }
  });

  it('maps every flag', async () => {
    const dir = await makeTempDir('qfe-flags-');
    try {
      const file = join(dir, 'cache.yaml');
      await writeFile(file, 'type: IN-MEMORY\nconfig:\n  max_size: 10MB\n  validity: 1h\n');
      const o = await parseQueryFrontendFlags(
        flags([
          '--query-frontend.downstream-url=http://querier:9090/prefix',
          '--no-query-range.align-range-with-step',
          '--no-query-range.request-downsampled',
          '--query-range.split-interval=12h',
          '--query-range.max-retries-per-request=2',
          '--query.max-retries-per-request=1',
          '--query-range.max-query-length=720h',
          '--query-range.max-query-parallelism=4',
          '--query-range.response-cache-max-freshness=5m',
          '--no-query-range.partial-response',
          `--query-range.response-cache-config-file=${file}`,
          '--query-frontend.compress-responses',
          '--query-frontend.log-queries-longer-than=-1s',
          '--query-frontend.forward-header=Authorization',
          '--query-frontend.forward-header=X-Grafana-Org-Id',
          '--query-frontend.vertical-shards=4',
          '--labels.split-interval=6h',
          '--labels.max-retries-per-request=3',
          '--labels.max-query-parallelism=2',
          '--labels.response-cache-max-freshness=2m',
          '--no-labels.partial-response',
          '--labels.default-time-range=48h',
          '--cache-compression-type=snappy',
          '--query-frontend.org-id-header=X-Scope-OrgID',
          '--query-frontend.slow-query-logs-user-header=X-User',
          '--query-frontend.downstream-tripper-config=max_conns_per_host: 4',
          '--labels.response-cache-config=type: IN-MEMORY\nconfig:\n  max_size_items: 100',
          '--http-address=127.0.0.1:0',
        ]),
      );
      expect(o).toMatchObject({
        downstreamUrl: 'http://querier:9090/prefix',
        alignRangeWithStep: false,
        requestDownsampled: false,
        splitIntervalMs: 12 * 3600_000,
        maxRetries: 2,
        instantMaxRetries: 1,
        maxQueryLengthMs: 720 * 3600_000,
        maxQueryParallelism: 4,
        maxCacheFreshnessMs: 300_000,
        partialResponse: false,
        compressResponses: true,
        logQueriesLongerThanMs: -1000,
        forwardHeaders: ['Authorization', 'X-Grafana-Org-Id'],
        httpAddress: '127.0.0.1:0',
        labelsSplitIntervalMs: 6 * 3600_000,
        labelsMaxRetries: 3,
        labelsMaxQueryParallelism: 2,
        labelsMaxCacheFreshnessMs: 120_000,
        labelsPartialResponse: false,
        verticalShards: 4,
        labelsDefaultTimeRangeMs: 48 * 3600_000,
        cacheCompression: 'snappy',
        orgIdHeaders: ['X-Scope-OrgID'],
        slowQueryLogsUserHeader: 'X-User',
        downstreamTripper: { maxConnsPerHost: 4 },
      });
      expect(o.responseCache?.name).toBe('fifocache');
      expect(o.labelsResponseCache?.name).toBe('fifocache');
      await o.responseCache?.cache.close();
      await o.labelsResponseCache?.cache.close();
    } finally {
      await removeTempDir(dir);
    }
  });

  it.each([
    [['--query-range.split-interval=daily'], /--query-range.split-interval: invalid duration "daily"/],
    [['--query-range.max-query-parallelism=0'], /--query-range.max-query-parallelism: want an integer ≥ 1/],
    [['--query-frontend.downstream-url=ftp://x'], /--query-frontend.downstream-url: .*unsupported scheme/],
    [['--query-frontend.downstream-url='], /downstream URL should be configured/],
    [['--query-frontend.vertical-shards=-1'], /--query-frontend.vertical-shards: want an integer ≥ 0/],
    [['--labels.default-time-range=0'], /--labels.default-time-range: labels.default-time-range cannot be set to 0/],
    [['--cache-compression-type=zstd'], /--cache-compression-type: unsupported compression type: zstd/],
    [
      [
        '--query-range.min-split-interval=1h',
        '--query-range.max-split-interval=24h',
        '--query-range.horizontal-shards=4',
      ],
      /--query-range.split-interval: split queries interval and dynamic query split interval cannot be set at the same time/,
    ],
    [
      ['--query-range.split-interval=0', '--query-range.min-split-interval=1h', '--query-range.max-split-interval=24h'],
      /--query-range.horizontal-shards: min horizontal shards should be greater than 0/,
    ],
    [['--query-frontend.org-id-header=X-Org', '--query-frontend.tenant-header=X-Tenant'], /cannot be used together/],
    [['--query-frontend.downstream-tripper-config=idle: 1s'], /field idle not found/],
    [
      [
        '--query-range.split-interval=0',
        '--query-range.response-cache-config=type: IN-MEMORY\nconfig:\n  max_size: 1MB',
      ],
      /greater than 0 when caching is enabled/,
    ],
    [['--query-range.response-cache-config=type: DISK'], /response cache with type DISK is not supported/],
    [['--query-range.response-cache-config=x', '--query-range.response-cache-config-file=/x'], /mutually exclusive/],
    [['--http-address=nope'], /--http-address: want host:port/],
    [
      ['--enable-feature=promql-at-modifier'],
      /--enable-feature: "promql-at-modifier" is not a feature of the query frontend/,
    ],
    [
      ['--query-frontend.tenant-certificate-field=email'],
      /--query-frontend.tenant-certificate-field: enum value must be one of ,organization,organizationalUnit,commonName, got 'email'/,
    ],
    [['--query-frontend.tenant-certificate-field=commonName'], /needs client certificates: an --http.config/],
    [
      ['--labels.split-interval=0', '--labels.response-cache-config=type: IN-MEMORY\nconfig:\n  max_size: 1MB'],
      /--labels.split-interval: .*greater than 0 when caching is enabled/,
    ],
  ])('rejects %j', async (argv, message) => {
    await expect(parseQueryFrontendFlags(flags(argv))).rejects.toThrow(message);
  });

  it('warns when IN-MEMORY has no size (Thanos creates no cache then)', async () => {
    const warnings: string[] = [];
    const o = await parseQueryFrontendFlags(flags(['--query-range.response-cache-config=type: IN-MEMORY']), (m) =>
      warnings.push(m),
    );
    expect(o.responseCache).toBeUndefined();
    expect(warnings).toEqual(['neither max_size nor max_size_items is set: the response cache is off']);
  });

  it('parsed flags run a frontend that proxies to the downstream URL path', async () => {
    const seen: string[] = [];
    const down = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"success","data":[]}');
    });
    await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
    try {
      const port = (down.address() as AddressInfo).port;
      const o = await parseQueryFrontendFlags(
        flags([`--query-frontend.downstream-url=http://127.0.0.1:${port}/prom`, '--http-address=127.0.0.1:0']),
      );
      await using f = createQueryFrontend({ ...o, httpGracePeriodMs: 0 });
      await f.start();
      const res = await fetch(`http://${f.httpAddress}/api/v1/labels`);
      expect(await res.json()).toEqual({ status: 'success', data: [] });
      expect(seen).toContain('/prom/api/v1/labels');
      expect(seen).toContain('/prom/-/ready');
    } finally {
      await new Promise<void>((r) => down.close(() => r()));
    }
  });

  it.skipIf(!programAvailable('prometheus'))(
    'runs as a process in front of Prometheus 2.42 and stops on SIGTERM',
    async () => {
      const prom = await startPrometheus();
      const port = await freePort();
      let stderr = '';
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'query-frontend',
          `--http-address=127.0.0.1:${port}`,
          `--query-frontend.downstream-url=${prom.url}`,
          '--query-range.response-cache-config=type: IN-MEMORY\nconfig:\n  max_size: 16MB',
          '--query-range.split-interval=12h',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr?.on('data', (d) => {
        stderr += String(d);
      });
      try {
        await waitFor('query-frontend ready', () => httpOk(`http://127.0.0.1:${port}/-/ready`), 30_000).catch((err) => {
          throw new Error(`${(err as Error).message}\n${stderr}`);
        });
        const q = new URLSearchParams({
          query: 'vector(1) + time() % 7',
          start: '0',
          end: String(2 * 86400),
          step: '3600',
        });
        const want = await (await fetch(`${prom.url}/api/v1/query_range?${q}`)).json();
        const got = await (await fetch(`http://127.0.0.1:${port}/api/v1/query_range?${q}`)).json();
        expect(got).toEqual(want);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toMatch(/thanos_frontend_split_queries_total\{tripperware="query_range"\} 4/);
      } finally {
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        await prom.stop();
      }
    },
    60_000,
  );
});
