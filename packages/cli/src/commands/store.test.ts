import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectStoreAPI } from '@thanos-ts/core';
import { uploadTsdbBlocks } from '@thanos-ts/core/block';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { blocksFromOpenMetrics, freePort, httpOk, makeTempDir, programAvailable, waitFor } from '@thanos-ts/testing';
import { matcher } from '@thanos-ts/tsdb';
import { afterAll, describe, expect, it } from 'vitest';
import { defineStoreCommand, parseStoreFlags, type StoreFlags } from './store.js';

/** The flags commander stores for `store <argv>` (with the objstore flag every run needs). */
function parsedFlags(argv: string[]): StoreFlags {
  const cmd = defineStoreCommand().exitOverride();
  let parsed: StoreFlags | undefined;
  cmd.action((o: StoreFlags) => {
    parsed = o;
  });
  cmd.parse(['--objstore.config=type: FILESYSTEM', ...argv], { from: 'user' });
  return parsed as StoreFlags;
}

const defaults: StoreFlags = {
  dataDir: './data',
  syncBlockDuration: '3m',
  minTime: '0000-01-01T00:00:00Z',
  maxTime: '9999-12-31T23:59:59Z',
  indexCacheSize: '250MB',
  blockSyncConcurrency: '20',
  blockMetaFetchConcurrency: '32',
  'store.limits.requestSeries': '0',
  'store.limits.requestSamples': '0',
  'store.limits.requestMatchers': '1000',
  'store.limits.regexBytes': '1MiB',
  'store.grpc.downloadedBytesLimit': '0',
  'store.grpc.seriesMaxConcurrency': '20',
  consistencyDelay: '0s',
  ignoreDeletionMarksDelay: '24h',
  'store.indexHeaderLazyReaderIdleTimeout': '5m',
  grpcAddress: '0.0.0.0:10901',
  httpAddress: '0.0.0.0:10902',
  httpGracePeriod: '2m',
  grpcGracePeriod: '2m',
  'log.level': 'info',
  'log.format': 'logfmt',
};

describe('thanos-ts store flags', () => {
  it('accepts Thanos defaults and relative times', async () => {
    const cfg = await parseStoreFlags({
      ...defaults,
      minTime: '-2w',
      maxTime: '-1d',
      'store.limits.requestSeries': '1000',
    });
    expect(cfg.syncIntervalMs).toBe(180_000);
    expect(cfg.filters.minTime).toEqual({ kind: 'duration', ms: -14 * 86400_000 });
    expect(cfg.filters.ignoreDeletionMarksDelayMs).toBe(86400_000);
    expect(cfg.limits.seriesPerRequest).toBe(1000);
    await cfg.indexCache.cache.close();
  });

  it("takes Thanos's gRPC server defaults: TLS 1.3 at least, connections recycled after 60m", async () => {
    const cfg = await parseStoreFlags(
      parsedFlags([
        '--grpc-server-tls-cert=/c.pem',
        '--grpc-server-tls-key=/k.pem',
        '--grpc-server-max-connection-age=5m',
      ]),
    );
    expect(cfg.grpcServerTLS?.minVersion).toBe('1.3');
    expect(cfg.grpcMaxConnectionAgeMs).toBe(300_000);
    const none = await parseStoreFlags(parsedFlags([]));
    expect(none.grpcMaxConnectionAgeMs).toBe(3_600_000);
    await Promise.all([cfg.indexCache.cache.close(), none.indexCache.cache.close()]);
  });

  it('takes --store.grpc.downloaded-bytes-limit as a base-2 size, 0 by default', async () => {
    const cfg = await parseStoreFlags(parsedFlags(['--store.grpc.downloaded-bytes-limit=1GB']));
    expect(cfg.limits.downloadedBytesPerRequest).toBe(1024 ** 3);
    const none = await parseStoreFlags(parsedFlags([]));
    expect(none.limits.downloadedBytesPerRequest).toBe(0);
    await Promise.all([cfg.indexCache.cache.close(), none.indexCache.cache.close()]);
  });

  it.each([
    {
      name: 'alias alone',
      argv: ['--store.grpc.touched-series-limit=7', '--store.grpc.series-sample-limit=900'],
      series: 7,
      samples: 900,
    },
    { name: 'new flag alone', argv: ['--store.limits.request-series=8'], series: 8, samples: 0 },
    {
      name: 'alias last wins',
      argv: ['--store.limits.request-series=8', '--store.grpc.touched-series-limit=7'],
      series: 7,
      samples: 0,
    },
    {
      name: 'new flag last wins',
      argv: ['--store.grpc.series-sample-limit=900', '--store.limits.request-samples=1200'],
      series: 0,
      samples: 1200,
    },
  ])('deprecated limit aliases set the same limits as kingpin does: $name', async ({ argv, series, samples }) => {
    const cfg = await parseStoreFlags(parsedFlags(argv));
    expect([cfg.limits.seriesPerRequest, cfg.limits.samplesPerRequest]).toEqual([series, samples]);
    await cfg.indexCache.cache.close();
  });

  it.each([
    [{ minTime: 'yesterday' }, /--min-time: invalid time or duration "yesterday"/],
    [{ syncBlockDuration: '3 minutes' }, /--sync-block-duration: invalid duration/],
    [{ blockSyncConcurrency: '0' }, /--block-sync-concurrency: want an integer ≥ 1/],
    [{ 'store.limits.requestSamples': '-5' }, /--store.limits.request-samples/],
    [{ 'indexCache.config': 'type: NOPE' }, /--index-cache.config: cache with type NOPE is not supported/],
    [
      { 'selector.relabelConfig': '- action: hashmod\n  source_labels: [__block_id]\n  target_label: s' },
      /--selector.relabel-config: rule 0: .*non-zero modulus/,
    ],
    [
      { 'store.cachingBucket.config': 'type: MEMCACHED\nconfig: {}' },
      /--store.caching-bucket.config: no memcached addresses/,
    ],
    [{ 'indexCache.config': 'x', 'indexCache.configFile': '/nope' }, /mutually exclusive/],
    [{ grpcServerTlsCert: '/x.pem' }, /--grpc-server-tls-cert and --grpc-server-tls-key/],
    [{ grpcAddress: 'localhost' }, /--grpc-address: want host:port/],
    [
      { grpcServerTlsMinVersion: '1.4' },
      /--grpc-server-tls-min-version: invalid TLS version: 1.4, valid values are 1.0, 1.1, 1.2, 1.3/,
    ],
    [{ grpcServerMaxConnectionAge: 'forever' }, /--grpc-server-max-connection-age: invalid duration/],
    [{ 'store.grpc.seriesMaxConcurrency': '0' }, /--store.grpc.series-max-concurrency: want an integer ≥ 1/],
    [{ ignoreDeletionMarksDelay: '1 day' }, /--ignore-deletion-marks-delay: invalid duration/],
    [{ 'store.grpc.downloadedBytesLimit': 'lots' }, /--store.grpc.downloaded-bytes-limit: invalid size "lots"/],
    [{ 'store.grpc.touchedSeriesLimit': '-1' }, /--store.grpc.touched-series-limit: want an integer ≥ 0/],
    [{ 'store.grpc.seriesSampleLimit': 'x' }, /--store.grpc.series-sample-limit: want an integer ≥ 0/],
  ] as Array<[Partial<StoreFlags>, RegExp]>)('rejects %o', async (bad, message) => {
    await expect(parseStoreFlags({ ...defaults, ...bad })).rejects.toThrow(message);
  });
});

describe.skipIf(!programAvailable('promtool'))('thanos-ts store as a real process', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('serves blocks over gRPC and lists them at /loaded', async () => {
    const gen = await blocksFromOpenMetrics({ metrics: 3, seriesPerMetric: 4, durationMs: 4 * 3600_000 });
    const bucketDir = await makeTempDir('cli-store-bucket-');
    const ids = await uploadTsdbBlocks(createFilesystemBucket({ directory: bucketDir }), gen.dir, {
      labels: { site: 'a' },
      source: 'test',
    });
    const cfgFile = join(await makeTempDir('cli-store-cfg-'), 'bucket.yml');
    await writeFile(cfgFile, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
    const grpcPort = await freePort();
    const httpPort = await freePort();
    let stderr = '';
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'store',
        `--objstore.config-file=${cfgFile}`,
        `--data-dir=${await makeTempDir('cli-store-data-')}`,
        `--grpc-address=127.0.0.1:${grpcPort}`,
        `--http-address=127.0.0.1:${httpPort}`,
        '--index-cache-size=10MB',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    await waitFor('store ready', () => httpOk(`http://127.0.0.1:${httpPort}/-/ready`), 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${stderr}`);
    });
    const loaded = (await (await fetch(`http://127.0.0.1:${httpPort}/loaded?format=json`)).json()) as {
      data: { blocks: Array<{ ulid: string }> };
    };
    expect(loaded.data.blocks.map((b) => b.ulid)).toEqual(ids);
    const html = await (await fetch(`http://127.0.0.1:${httpPort}/loaded`)).text();
    expect(html).toContain(ids[0]);
    const remote = connectStoreAPI(`127.0.0.1:${grpcPort}`);
    try {
      const info = await remote.info();
      expect(info.labelSets.map((l) => l.toRecord())).toEqual([{ site: 'a' }]);
      let n = 0;
      for await (const r of remote.series({ minTime: 0, maxTime: 2e12, matchers: [matcher('=~', '__name__', '.+')] }))
        if (r.type === 'series') n++;
      expect(n).toBe(gen.series);
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      expect(metrics).toContain(`thanos_bucket_store_blocks_loaded ${ids.length}`);
      expect(metrics).toMatch(/thanos_store_index_cache_requests_total\{item_type="Postings"\} [1-9]/);
      expect(metrics).toContain('thanos_ts_store_cache_lookups{cache="index"}');
    } finally {
      remote.close();
    }
  }, 60_000);
});
