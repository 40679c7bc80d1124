import { InvalidMarkRequestError, MARKER_FILENAMES, type MarkBlocksOptions, markBlocks } from '@thanos-ts/core/compact';
import { InvalidArgumentError, isULID } from '@thanos-ts/tsdb';
import { Command, Option } from 'commander';
import { collect } from '../flags/http.js';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';

/** Raw values of `tools bucket mark` flags as commander stores them. */
export interface BucketMarkFlags extends ObjstoreFlags, LogFlags {
  id?: string[];
  marker?: string;
  details?: string;
  remove?: boolean;
}

/**
 * Validates `tools bucket mark` flags (Thanos's checks and messages: an invalid ULID, a missing
 * --details unless --remove) into markBlocks options; errors name the flag.
 */
export function parseBucketMarkFlags(o: BucketMarkFlags): Omit<MarkBlocksOptions, 'logger' | 'now'> {
  if (!o.id?.length) throw new InvalidArgumentError('required flag --id not provided');
  if (o.marker === undefined) throw new InvalidArgumentError('required flag --marker not provided');
  if (!(MARKER_FILENAMES as readonly string[]).includes(o.marker))
    throw new InvalidArgumentError(
      `--marker: enum value must be one of ${MARKER_FILENAMES.join(',')}, got '${o.marker}'`,
    );
  const opts = { ids: o.id, marker: o.marker, details: o.details ?? '', remove: o.remove ?? false };
  // The same checks markBlocks makes, before a bucket is opened.
  for (const id of opts.ids)
    if (!isULID(id)) throw new InvalidMarkRequestError(`block.id is not a valid UUID, got: ${id}`);
  if (!opts.remove && opts.details === '') throw new InvalidMarkRequestError('required flag --details not provided');
  return opts;
}

/** Registers `tools bucket mark` under `bucket` with Thanos's flags. */
export function registerBucketMark(bucket: Command): void {
  const cmd = addObjstoreFlags(
    new Command('mark').description(
      'Mark block for deletion or no-compact in a safe way. NOTE: If the compactor is currently running compacting same block, this operation would be potentially a noop.',
    ),
  )
    .addOption(
      new Option('--id <ulid>', 'ID (ULID) of the blocks to be marked for deletion (repeated flag)').argParser(collect),
    )
    .addOption(new Option('--marker <file>', 'Marker to be put.').choices([...MARKER_FILENAMES]))
    .option('--details <text>', 'Human readable details to be put into marker.')
    .option('--remove', 'Remove the marker.', false);
  addLogFlags(cmd);
  cmd.action(async (o: BucketMarkFlags) => {
    const opts = parseBucketMarkFlags(o);
    const logger = loggerFromFlags(o, 'mark');
    const b = await bucketFromFlags(o);
    try {
      await markBlocks(b, { ...opts, logger });
    } finally {
      await b.close();
    }
  });
  bucket.addCommand(cmd);
}
