import { applyBucketRetention, type BucketRetentionOptions } from '@thanos-ts/core/compact';
import { Command, Option } from 'commander';
import { durationFlag } from '../flags/http.js';
import { loggerFromFlags } from '../flags/log.js';
import { bucketFromFlags } from '../flags/objstore.js';
import { addBucketSyncFlags, type BucketSyncFlags, parseBucketSyncFlags } from './tools-bucket-cleanup.js';

/** Raw values of `tools bucket retention` flags as commander stores them. */
export interface BucketRetentionFlags extends BucketSyncFlags {
  'retention.resolutionRaw': string;
  'retention.resolution5m': string;
  'retention.resolution1h': string;
}

/** Parses `tools bucket retention` flags; errors name the flag. */
export async function parseBucketRetentionFlags(
  o: BucketRetentionFlags,
): Promise<Omit<BucketRetentionOptions, 'logger' | 'signal' | 'now'>> {
  return {
    ...(await parseBucketSyncFlags(o)),
    retentionRawMs: durationFlag(o['retention.resolutionRaw'], 'retention.resolution-raw'),
    retention5mMs: durationFlag(o['retention.resolution5m'], 'retention.resolution-5m'),
    retention1hMs: durationFlag(o['retention.resolution1h'], 'retention.resolution-1h'),
  };
}

/** Registers `tools bucket retention` under `bucket` with Thanos's flags. */
export function registerBucketRetention(bucket: Command): void {
  const cmd = addBucketSyncFlags(
    new Command('retention').description(
      'Retention applies retention policies on the given bucket. Please make sure no compactor is running on the same bucket at the same time.',
    ),
  );
  cmd.addOption(
    new Option(
      '--retention.resolution-raw <duration>',
      'How long to retain raw samples in bucket. Setting this to 0d will retain samples of this resolution forever',
    ).default('0d'),
  );
  cmd.addOption(
    new Option(
      '--retention.resolution-5m <duration>',
      'How long to retain samples of resolution 1 (5 minutes) in bucket. Setting this to 0d will retain samples of this resolution forever',
    ).default('0d'),
  );
  cmd.addOption(
    new Option(
      '--retention.resolution-1h <duration>',
      'How long to retain samples of resolution 2 (1 hour) in bucket. Setting this to 0d will retain samples of this resolution forever',
    ).default('0d'),
  );
  cmd.action(async (o: BucketRetentionFlags) => {
    const opts = await parseBucketRetentionFlags(o);
    const logger = loggerFromFlags(o, 'retention');
    const b = await bucketFromFlags(o);
    try {
      await applyBucketRetention(b, { ...opts, logger });
    } finally {
      await b.close();
    }
  });
  bucket.addCommand(cmd);
}
