import { DELETION_MARK_FILENAME } from '@thanos-ts/core/compact';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import { makeTempDir } from '@thanos-ts/testing';
import { serializeBlockMeta } from '@thanos-ts/tsdb';
import { Command } from 'commander';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { registerTools } from './tools.js';
import { registerBucketTools } from './tools-bucket.js';
import { parseBucketSyncFlags } from './tools-bucket-cleanup.js';

const base = { 'log.level': 'error', 'log.format': 'logfmt' };
const H = 3_600_000;

describe('tools bucket cleanup', () => {
  it('parses Thanos defaults and names a bad flag', async () => {
    expect(
      await parseBucketSyncFlags({ ...base, deleteDelay: '48h', consistencyDelay: '30m', blockSyncConcurrency: '20' }),
    ).toEqual({
      deleteDelayMs: 48 * H,
      consistencyDelayMs: 30 * 60_000,
      concurrency: 20,
    });
    await expect(
      parseBucketSyncFlags({ ...base, deleteDelay: 'soon', consistencyDelay: '30m', blockSyncConcurrency: '20' }),
    ).rejects.toThrow(/--delete-delay/);
    await expect(
      parseBucketSyncFlags({ ...base, deleteDelay: '1h', consistencyDelay: '30m', blockSyncConcurrency: '0' }),
    ).rejects.toThrow(/--block-sync-concurrency/);
    await expect(
      parseBucketSyncFlags({
        ...base,
        deleteDelay: '1h',
        consistencyDelay: '0s',
        blockSyncConcurrency: '1',
        'selector.relabelConfig': '[]',
        'selector.relabelConfigFile': '/x',
      }),
    ).rejects.toThrow(/mutually exclusive/);
  });

  it('deletes a block marked for deletion past --delete-delay through the command line', async () => {
    const dir = await makeTempDir('tools-cleanup-');
    const bucket = createFilesystemBucket({ directory: dir });
    const [gone, kept] = [ulid(Date.now() - 10 * H), ulid(Date.now() - 9 * H)];
    for (const id of [gone, kept]) {
      const t = Date.now() - 10 * H;
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
    const mark = (id: string, ageMs: number) =>
      bucket.upload(
        `${id}/${DELETION_MARK_FILENAME}`,
        new TextEncoder().encode(
          JSON.stringify({ id, version: 1, deletion_time: Math.floor((Date.now() - ageMs) / 1000) }),
        ),
      );
    await mark(gone, 3 * H);
    await mark(kept, H / 2);
    const program = new Command('thanos-ts');
    registerTools([registerBucketTools])(program);
    await program.parseAsync([
      'node',
      'thanos-ts',
      'tools',
      'bucket',
      'cleanup',
      `--objstore.config=type: FILESYSTEM\nconfig:\n  directory: ${dir}`,
      '--delete-delay=2h',
      '--log.level=error',
    ]);
    expect(await bucket.exists(`${gone}/index`)).toBe(false);
    expect(await bucket.exists(`${gone}/${DELETION_MARK_FILENAME}`)).toBe(false);
    expect(await bucket.exists(`${kept}/index`)).toBe(true);
  });
});
