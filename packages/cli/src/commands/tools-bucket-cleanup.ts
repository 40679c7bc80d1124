import { type CleanupBucketOptions, cleanupBucket } from '@thanos-ts/core/compact';
import { Command, Option } from 'commander';
import { durationFlag, intFlag } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addSelectorRelabelFlags, parseSelectorRelabelFlags, type SelectorRelabelFlags } from './compact.js';

/** Flags `tools bucket cleanup` and `tools bucket retention` share (Thanos's bucketCleanupConfig). */
export interface BucketSyncFlags extends ObjstoreFlags, LogFlags, SelectorRelabelFlags {
  deleteDelay: string;
  consistencyDelay: string;
  blockSyncConcurrency: string;
}

/** Parses the shared sync flags; errors name the flag. */
export async function parseBucketSyncFlags(
  o: BucketSyncFlags,
): Promise<Omit<CleanupBucketOptions, 'logger' | 'signal' | 'now'>> {
  const relabel = await parseSelectorRelabelFlags(o);
  return {
    deleteDelayMs: durationFlag(o.deleteDelay, 'delete-delay'),
    consistencyDelayMs: durationFlag(o.consistencyDelay, 'consistency-delay'),
    concurrency: intFlag(o.blockSyncConcurrency, 'block-sync-concurrency', 1),
    ...(relabel ? { relabel } : {}),
  };
}

/** Adds --delete-delay, --consistency-delay, --block-sync-concurrency and the selector flags. */
export function addBucketSyncFlags(cmd: Command): Command {
  addObjstoreFlags(cmd);
  cmd.addOption(
    new Option('--delete-delay <duration>', 'Time before a block marked for deletion is deleted from bucket.').default(
      '48h',
    ),
  );
  cmd.addOption(
    new Option(
      '--consistency-delay <duration>',
      'Minimum age of fresh (non-compacted) blocks before they are being processed. Malformed blocks older than the maximum of consistency-delay and 48h0m0s will be removed.',
    ).default('30m'),
  );
  cmd.addOption(
    new Option(
      '--block-sync-concurrency <n>',
      'Number of goroutines to use when syncing block metadata from object storage.',
    ).default('20'),
  );
  addSelectorRelabelFlags(cmd);
  addLogFlags(cmd);
  return cmd;
}

/** Registers `tools bucket cleanup` under `bucket` with Thanos's flags. */
export function registerBucketCleanup(bucket: Command): void {
  const cmd = addBucketSyncFlags(new Command('cleanup').description('Cleans up all blocks marked for deletion.'));
  cmd.action(async (o: BucketSyncFlags) => {
    const opts = await parseBucketSyncFlags(o);
    const logger = loggerFromFlags(o, 'cleanup');
    const b = await bucketFromFlags(o);
    try {
      await cleanupBucket(b, { ...opts, logger });
    } finally {
      await b.close();
    }
  });
  bucket.addCommand(cmd);
}
