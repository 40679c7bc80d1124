import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { Labels, writeBlock } from '@thanos-ts/tsdb';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { type CompactFlags, parseCompactFlags, registerCompact } from './compact.js';

const defaults: CompactFlags = {
  dataDir: './data',
  consistencyDelay: '30m',
  'retention.resolutionRaw': '0d',
  'retention.resolution5m': '0d',
  'retention.resolution1h': '0d',
  waitInterval: '5m',
  blockMetaFetchConcurrency: '32',
  blockFilesConcurrency: '1',
  'compact.concurrency': '1',
  'downsample.concurrency': '1',
  deleteDelay: '48h',
  'deduplication.func': '',
  'debug.maxCompactionLevel': '3',
  hashFunc: '',
  'compact.blockMaxIndexSize': '64GB',
  minTime: '0000-01-01T00:00:00Z',
  maxTime: '9999-12-31T23:59:59Z',
  httpAddress: '0.0.0.0:10902',
  httpGracePeriod: '2m',
  'log.level': 'info',
  'log.format': 'logfmt',
};

describe('thanos-ts compact flags', () => {
  it('maps Thanos defaults', async () => {
    const cfg = await parseCompactFlags(defaults);
    expect(cfg).toMatchObject({
      dataDir: './data',
      wait: false,
      waitIntervalMs: 300_000,
      consistencyDelayMs: 1_800_000,
      deleteDelayMs: 172_800_000,
      retentionRawMs: 0,
      compactConcurrency: 1,
      maxCompactionLevel: 3,
      deduplicationReplicaLabels: [],
      deduplicationFunc: '',
      hashFunc: '',
      blockMaxIndexSizeBytes: 64 * 1024 ** 3,
      httpAddress: '0.0.0.0:10902',
    });
    expect(cfg.grpcAddress).toBeUndefined();
  });

  it('takes replica labels repeated and comma-separated', async () => {
    const cfg = await parseCompactFlags({
      ...defaults,
      'deduplication.replicaLabel': ['replica,rule_replica', ' prometheus_replica '],
      wait: true,
      'retention.resolutionRaw': '30d',
    });
    expect(cfg.deduplicationReplicaLabels).toEqual(['replica', 'rule_replica', 'prometheus_replica']);
    expect(cfg.retentionRawMs).toBe(30 * 86_400_000);
    expect(cfg.wait).toBe(true);
  });

  it.each([
    [{ deleteDelay: 'two days' }, /--delete-delay: invalid duration/],
    [{ 'compact.concurrency': '0' }, /--compact.concurrency: want an integer ≥ 1/],
    [{ 'deduplication.func': 'chain' }, /--deduplication.func: want "" or "penalty"/],
    [{ minTime: 'yesterday' }, /--min-time/],
    [{ hashFunc: 'md5' }, /--hash-func: want "" or "SHA256"/],
    [{ 'compact.blockMaxIndexSize': 'huge' }, /--compact.block-max-index-size: invalid size/],
    [{ 'selector.relabelConfig': 'x', 'selector.relabelConfigFile': 'y' }, /mutually exclusive/],
  ])('rejects %o', async (patch, err) => {
    await expect(parseCompactFlags({ ...defaults, ...patch } as CompactFlags)).rejects.toThrow(err);
  });

  it('runs one iteration and exits without --wait', async () => {
    const root = await makeTempDir('compact-cli-');
    const bucketDir = join(root, 'bucket');
    const b = await writeBlock(
      [{ labels: Labels.from({ __name__: 'up' }), timestamps: [1000, 2000], values: [1, 1] }],
      {
        outDir: join(root, 'local'),
        thanos: { labels: { cluster: 'x' }, downsample: { resolution: 0 }, source: 'test' },
      },
    );
    const { uploadBlock } = await import('@thanos-ts/core/block');
    await uploadBlock(createFilesystemBucket({ directory: bucketDir }), b?.dir as string, {
      labels: { cluster: 'x' },
      source: 'test',
    });
    const cfgFile = join(root, 'bucket.yml');
    await writeFile(cfgFile, `type: FILESYSTEM\nconfig:\n  directory: ${bucketDir}\n`);
    const program = new Command().exitOverride();
    registerCompact(program);
    await program.parseAsync([
      'node',
      'thanos-ts',
      'compact',
      `--objstore.config-file=${cfgFile}`,
      `--data-dir=${join(root, 'data')}`,
      '--http-address=127.0.0.1:0',
      '--log.level=error',
      '--retention.resolution-raw=41h',
      '--delete-delay=0s',
      '--consistency-delay=0s',
    ]);
    // The block ended in 1970: raw retention deleted it, in one iteration.
    const left: string[] = [];
    for await (const n of createFilesystemBucket({ directory: bucketDir }).iter('')) left.push(n);
    expect(left).toEqual([]);
  });
});
