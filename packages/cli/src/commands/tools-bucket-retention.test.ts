import { DELETION_MARK_FILENAME, type DeletionMark, readMarker } from '@thanos-ts/core/compact';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { serializeBlockMeta } from '@thanos-ts/tsdb';
import { Command } from 'commander';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { registerTools } from './tools.js';
import { registerBucketTools } from './tools-bucket.js';
import { parseBucketRetentionFlags } from './tools-bucket-retention.js';

const H = 3_600_000;
const D = 24 * H;
const flags = {
  'log.level': 'error',
  'log.format': 'logfmt',
  deleteDelay: '48h',
  consistencyDelay: '30m',
  blockSyncConcurrency: '20',
  'retention.resolutionRaw': '0d',
  'retention.resolution5m': '0d',
  'retention.resolution1h': '0d',
};

describe('tools bucket retention', () => {
  it('parses the retention flags and names a bad one', async () => {
    const o = await parseBucketRetentionFlags({
      ...flags,
      'retention.resolutionRaw': '30d',
      'retention.resolution1h': '1y',
    });
    expect([o.retentionRawMs, o.retention5mMs, o.retention1hMs]).toEqual([30 * D, 0, 365 * D]);
    await expect(parseBucketRetentionFlags({ ...flags, 'retention.resolution5m': 'x' })).rejects.toThrow(
      /--retention.resolution-5m/,
    );
  });

  it('marks raw blocks past --retention.resolution-raw through the command line, deleting nothing', async () => {
    const dir = await makeTempDir('tools-retention-');
    const bucket = createFilesystemBucket({ directory: dir });
    const old = ulid(Date.now() - 20 * D);
    const recent = ulid(Date.now() - 2 * D);
    for (const [id, t] of [
      [old, Date.now() - 20 * D],
      [recent, Date.now() - 2 * D],
    ] as const) {
      await bucket.upload(`${id}/index`, new Uint8Array(4));
      await bucket.upload(
        `${id}/meta.json`,
        new TextEncoder().encode(
          serializeBlockMeta({
            ulid: id,
            minTime: t,
            maxTime: t + 2 * H,
            stats: {},
            compaction: { level: 1, sources: [id] },
            version: 1,
            thanos: { labels: { a: '1' }, downsample: { resolution: 0 }, source: 'sidecar' },
          }),
        ),
      );
    }
    const program = new Command('thanos-ts');
    registerTools([registerBucketTools])(program);
    await program.parseAsync([
      'node',
      'thanos-ts',
      'tools',
      'bucket',
      'retention',
      `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${dir}`,
      '--retention.resolution-raw=7d',
      '--log.level=error',
    ]);
    expect((await readMarker<DeletionMark>(bucket, old, DELETION_MARK_FILENAME))?.details).toBe(
      'block exceeding retention of 168h0m0s',
    );
    expect(await bucket.exists(`${recent}/${DELETION_MARK_FILENAME}`)).toBe(false);
    expect(await bucket.exists(`${old}/index`)).toBe(true);
  });
});
