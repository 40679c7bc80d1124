import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, NOP_LOGGER } from '@thanos-ts/core';
import { mapLimit } from '@thanos-ts/core/concurrency';
import { parseTimeOrDuration, resolveTime, type TimeOrDuration } from '@thanos-ts/core/store';
import { type Bucket, isObjNotFoundErr } from '@thanos-ts/objstore';
import { parseMetricSelector } from '@thanos-ts/promql';
import { type BlockMeta, DELETION_MARK_FILENAME, isULID, type Matcher, META_FILENAME } from '@thanos-ts/tsdb';
import { parsePromDuration } from '@thanos-ts/tsdb/goformat';
import { Command, Option } from 'commander';
import { addLogFlags, type LogFlags, loggerFromFlags } from '../flags/log.js';
import { addObjstoreFlags, bucketFromFlags, type ObjstoreFlags } from '../flags/objstore.js';
import { addTracingFlags, shutdownTracing, type TracingFlags, tracerFromFlags } from '../flags/tracing.js';
import { type Print, scanBlockMetas } from './tools-bucket.js';

/** Thanos's deletion marker file name inside a block directory. */
/** Thanos repeats replication every minute unless `--single-run` or `--id` is given. */
const REPLICATE_INTERVAL_MS = 60_000;

/** Options of {@link bucketReplicate} (Thanos's `tools bucket replicate` filters). */
export interface ReplicateOptions {
  /** Block external labels must match all of these (Thanos's `--matcher`). Default: all blocks. */
  matchers?: readonly Matcher[];
  /** Allowed downsampling resolutions in ms (default 0, 300000, 3600000). */
  resolutions?: readonly number[];
  /** Allowed compaction levels (default 1..4). */
  compactionLevels?: readonly number[];
  /** Only these block IDs; the other filters are then ignored, as in Thanos. */
  ids?: readonly string[];
  /** Only blocks overlapping [minTime, maxTime] (ms). Default: all. */
  minTime?: number;
  maxTime?: number;
  /** Skip blocks that carry a deletion-mark.json in the source (default false). */
  ignoreMarkedForDeletion?: boolean;
  /** Objects copied concurrently within one block (default 4). Blocks are copied one at a time. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** What one replication pass did. */
export interface ReplicateResult {
  /** Blocks copied in this pass, oldest first. */
  replicated: string[];
  /** Blocks whose meta.json in the target already equals the source's (nothing to do). */
  alreadyReplicated: string[];
  /** Objects uploaded (chunks, index and meta.json), and objects found complete and skipped. */
  objectsCopied: number;
  objectsSkipped: number;
}

/**
 * One pass of Thanos's `tools bucket replicate` (pkg/replicate `replicationScheme.execute`):
 * selects source blocks with meta.json by the filters, oldest first (so a compactor on the target
 * never sees a gap it would fill), and for each one copies `chunks/*` and `index`, then meta.json
 * last, so the block only becomes visible to readers of the target once it is complete.
 *
 * Idempotent and resumable: a block whose target meta.json equals the source's is skipped; an
 * interrupted block is resumed by skipping objects already present with the same size (uploads
 * are atomic, so a present object is a whole one). Safe to run again at any time.
 */
export async function bucketReplicate(
  from: Bucket,
  to: Bucket,
  opts: ReplicateOptions = {},
  log: Logger = NOP_LOGGER,
): Promise<ReplicateResult> {
  const signal = opts.signal;
  const resolutions = new Set(opts.resolutions ?? [0, 300_000, 3_600_000]);
  const levels = new Set(opts.compactionLevels ?? [1, 2, 3, 4]);
  const ids = new Set(opts.ids ?? []);
  const scan = await scanBlockMetas(from, { signal });
  for (const id of scan.partial) log.info('block meta not uploaded yet. Skipping.', { block: id });
  for (const c of scan.corrupted) log.warn('block meta unreadable. Skipping.', { block: c.id, err: c.error });
  const selected: BlockMeta[] = [];
  for (const m of scan.metas) {
    const labels = m.thanos?.labels ?? {};
    if (Object.keys(labels).length === 0) {
      log.error('filtering block', { reason: 'labels should not be empty', block: m.ulid });
      continue;
    }
    if (opts.minTime !== undefined && m.maxTime < opts.minTime) continue;
    if (opts.maxTime !== undefined && m.minTime > opts.maxTime) continue;
    if (ids.size > 0) {
      if (!ids.has(m.ulid)) continue;
    } else {
      if (!(opts.matchers ?? []).every((mt) => mt.matches(labels[mt.name] ?? ''))) continue;
      if (!resolutions.has(m.thanos?.downsample?.resolution ?? 0)) continue;
      if (!levels.has(m.compaction?.level ?? 1)) continue;
    }
    if (opts.ignoreMarkedForDeletion && (await from.exists(`${m.ulid}/${DELETION_MARK_FILENAME}`, { signal })))
      continue;
    selected.push(m);
  }
  selected.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));

  const result: ReplicateResult = { replicated: [], alreadyReplicated: [], objectsCopied: 0, objectsSkipped: 0 };
  const copyObject = async (name: string) => {
    const [src, dst] = await Promise.all([
      from.attributes(name, { signal }),
      to.attributes(name, { signal }).catch((err: unknown) => {
        if (isObjNotFoundErr(err)) return undefined;
        throw err;
      }),
    ]);
    if (dst && dst.size === src.size) {
      result.objectsSkipped++;
      return;
    }
    await to.upload(name, await from.getStream(name, { signal }), { signal });
    result.objectsCopied++;
  };
  for (const m of selected) {
    const metaName = `${m.ulid}/${META_FILENAME}`;
    const sourceMeta = await from.get(metaName, { signal });
    const targetMeta = await to.get(metaName, { signal }).catch((err: unknown) => {
      if (isObjNotFoundErr(err)) return undefined;
      throw err;
    });
    if (targetMeta && Buffer.from(targetMeta).equals(Buffer.from(sourceMeta))) {
      result.alreadyReplicated.push(m.ulid);
      continue;
    }
    const objects: string[] = [];
    for await (const name of from.iter(`${m.ulid}/chunks`, { recursive: true, signal })) objects.push(name);
    objects.push(`${m.ulid}/index`);
    try {
      await mapLimit(objects, opts.concurrency ?? 4, copyObject);
      // meta.json last: readers of the target treat a block without it as not there yet.
      await to.upload(metaName, sourceMeta, { signal });
    } catch (err) {
      throw new Error(`replicate block ${m.ulid}: ${(err as Error).message}`, { cause: err });
    }
    result.objectsCopied++;
    result.replicated.push(m.ulid);
    log.info('block replicated', { block: m.ulid, objects: objects.length + 1 });
  }
  return result;
}

/** Parses Thanos's `--matcher` (Alertmanager syntax: `a="b",c=~"d"`, braces optional). */
export function parseReplicateMatchers(text: string): Matcher[] {
  const s = text.trim();
  if (s === '') return [];
  try {
    return parseMetricSelector(s.startsWith('{') ? s : `{${s}}`);
  } catch (err) {
    throw new Error(`--matcher ${JSON.stringify(text)}: ${(err as Error).message}`, { cause: err });
  }
}

const collectValues = (value: string, previous: string[] = []) => [...previous, value];

interface ReplicateFlags extends ObjstoreFlags, LogFlags, TracingFlags {
  'objstoreTo.configFile'?: string;
  'objstoreTo.config'?: string;
  resolution?: string[];
  compactionMin: string;
  compactionMax: string;
  compaction?: string[];
  matcher?: string;
  singleRun: boolean;
  minTime: string;
  maxTime: string;
  id?: string[];
  ignoreMarkedForDeletion: boolean;
}

/** Turns the flags into replication options; every problem names its flag. */
export function replicateOptionsFromFlags(o: ReplicateFlags): {
  opts: Omit<ReplicateOptions, 'minTime' | 'maxTime' | 'signal'>;
  minTime: TimeOrDuration;
  maxTime: TimeOrDuration;
  once: boolean;
} {
  const resolutions = (o.resolution?.length ? o.resolution : ['0s', '5m', '1h']).map((r) => {
    try {
      return parsePromDuration(r);
    } catch {
      throw new Error(`--resolution ${JSON.stringify(r)}: want a duration such as 0s, 5m or 1h`);
    }
  });
  const int = (v: string, flag: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${flag} ${JSON.stringify(v)}: want an integer`);
    return n;
  };
  let compactionLevels: number[];
  if (o.compaction?.length) compactionLevels = o.compaction.map((c) => int(c, '--compaction'));
  else {
    const min = int(o.compactionMin, '--compaction-min');
    const max = int(o.compactionMax, '--compaction-max');
    if (min > max) throw new Error('compaction-min must be less than or equal to compaction-max');
    compactionLevels = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  }
  const ids = o.id ?? [];
  for (const id of ids) if (!isULID(id)) throw new Error(`invalid ULID found in --id flag: ${JSON.stringify(id)}`);
  return {
    opts: {
      matchers: parseReplicateMatchers(o.matcher ?? ''),
      resolutions,
      compactionLevels,
      ids,
      ignoreMarkedForDeletion: o.ignoreMarkedForDeletion,
    },
    minTime: parseTimeOrDuration(o.minTime, '--min-time'),
    maxTime: parseTimeOrDuration(o.maxTime, '--max-time'),
    once: o.singleRun || ids.length > 0,
  };
}

/**
 * Adds `replicate` to the `tools bucket` command with Thanos's flags: the source is
 * `--objstore.config(-file)`, the target `--objstore-to.config(-file)`. Runs a pass every minute
 * until SIGINT/SIGTERM, or once with `--single-run` or `--id` (as Thanos). `print` receives the
 * log lines (stderr by default, as Thanos; `--log.level`/`--log.format` apply).
 */
export function registerBucketReplicate(bucketCmd: Command, print?: Print): void {
  const cmd = addObjstoreFlags(
    new Command('replicate').description(
      `Replicate data from one object storage to another. NOTE: Currently it works only with Thanos blocks (${META_FILENAME} has to have Thanos metadata).`,
    ),
  )
    .addOption(
      new Option(
        '--objstore-to.config-file <path>',
        'Path to YAML file that contains object store-to configuration. See format details: docs/storage.md The object storage which replicate data to.',
      ),
    )
    .addOption(
      new Option(
        '--objstore-to.config <yaml>',
        "Alternative to 'objstore-to.config-file' flag (mutually exclusive). Content of YAML file that contains object store-to configuration. The object storage which replicate data to.",
      ),
    )
    .option(
      '--resolution <duration>',
      'Only blocks with these resolutions will be replicated. Repeated flag. Default 0s, 5m, 1h.',
      collectValues,
    )
    .option('--compaction-min <n>', 'Only blocks with at least this compaction level will be replicated.', '1')
    .option('--compaction-max <n>', 'Only blocks up to a maximum of this compaction level will be replicated.', '4')
    .option(
      '--compaction <n>',
      'Only blocks with these compaction levels will be replicated. Repeated flag. Overrides compaction-min and compaction-max if set.',
      collectValues,
    )
    .option(
      '--matcher <matchers>',
      'blocks whose external labels match this matcher will be replicated. All Prometheus matchers are supported, including =, !=, =~ and !~.',
    )
    .option('--single-run', 'Run replication only one time, then exit.', false)
    .option(
      '--min-time <time>',
      'Start of time range limit to replicate: RFC3339 time or duration relative to now (e.g. -1d).',
      '0000-01-01T00:00:00Z',
    )
    .option(
      '--max-time <time>',
      'End of time range limit to replicate: RFC3339 time or duration relative to now (e.g. -1d).',
      '9999-12-31T23:59:59Z',
    )
    .option(
      '--id <ulid>',
      'Block to be replicated to the destination bucket. IDs will be used to match blocks and other matchers will be ignored. When specified, this command will be run only once after successful replication. Repeated field',
      collectValues,
    )
    .option('--ignore-marked-for-deletion', 'Do not replicate blocks that have deletion mark.', false);
  // Thanos's global flags, which every Thanos command takes (kube-thanos passes them here too).
  addLogFlags(cmd);
  addTracingFlags(cmd);
  cmd.action(async (o: ReplicateFlags) => {
    const log = loggerFromFlags(o, 'replicate', print);
    // Validates the tracing flags like every command; replication itself makes no spans yet.
    tracerFromFlags(o);
    const { opts, minTime, maxTime, once } = replicateOptionsFromFlags(o);
    if (!o['objstoreTo.configFile'] && !o['objstoreTo.config'])
      throw new Error('no target bucket configured; set --objstore-to.config-file or --objstore-to.config');
    const from = await bucketFromFlags(o);
    let to: Bucket | undefined;
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      to = await bucketFromFlags({
        'objstore.configFile': o['objstoreTo.configFile'],
        'objstore.config': o['objstoreTo.config'],
      });
      for (;;) {
        const r = await bucketReplicate(
          from,
          to,
          { ...opts, minTime: resolveTime(minTime), maxTime: resolveTime(maxTime), signal: stop.signal },
          log,
        );
        log.info('replication pass done', {
          replicated: r.replicated.length,
          already_replicated: r.alreadyReplicated.length,
          objects_copied: r.objectsCopied,
          objects_skipped: r.objectsSkipped,
        });
        if (once || stop.signal.aborted) break;
        await sleep(REPLICATE_INTERVAL_MS, undefined, { signal: stop.signal }).catch(() => {});
        if (stop.signal.aborted) break;
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await Promise.all([from.close(), to?.close()]);
      await shutdownTracing();
    }
  });
  bucketCmd.addCommand(cmd);
}
