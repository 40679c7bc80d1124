import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetricSelector } from '@thanos-ts/promql';
import { createBlocksFromOpenMetrics, dumpDB, InvalidArgumentError, type Matcher } from '@thanos-ts/tsdb';
import { dumpAllSamples } from '@thanos-ts/tsdb/histogram';
import { Command, Option } from 'commander';
import { durationFlag } from '../flags/http.js';
import type { ToolsRegistration } from './tools.js';

/** Where command output goes: text chunks (stdout in the CLI, a buffer in tests). */
export type Write = (text: string) => void | Promise<void>;

const DEFAULT_MATCH = "{__name__=~'(?s:.*)'}";

/** Writes to stdout, waiting for it to drain so large dumps do not pile up in memory. */
const stdoutWrite: Write = (text) =>
  new Promise<void>((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
  });

function parseTime(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v))
    throw new InvalidArgumentError(`--${flag}: expected milliseconds since the epoch, got ${JSON.stringify(v)}`);
  return Number(v);
}

function parseMatch(v: string): Matcher[] {
  try {
    return parseMetricSelector(v);
  } catch (err) {
    throw new InvalidArgumentError(`--match: invalid series selector ${JSON.stringify(v)}: ${(err as Error).message}`);
  }
}

/** Prometheus duration (e.g. 2h, 90m, 1h30m, 3d) → ms, for --max-block-duration. */
export function parseDurationFlag(flag: string, v: string): number {
  return durationFlag(v, flag);
}

/** Options of `tools tsdb dump`. */
export interface DumpCommandOptions {
  block: string;
  minTime?: string;
  maxTime?: string;
  match?: string;
}

/** `tools tsdb dump`: prints the samples of a block (or a directory of blocks) like promtool. */
export async function runTsdbDump(opts: DumpCommandOptions, write: Write = stdoutWrite): Promise<void> {
  const minTime = parseTime('min-time', opts.minTime);
  const maxTime = parseTime('max-time', opts.maxTime);
  const matchers = parseMatch(opts.match ?? DEFAULT_MATCH);
  const dumpOpts = {
    matchers,
    ...(minTime === undefined ? {} : { minTime }),
    ...(maxTime === undefined ? {} : { maxTime }),
  };
  // A data directory (it has a WAL) is dumped with its head, as `promtool tsdb dump` does;
  // a block or a directory of blocks alone, streamed series by series, native histograms
  // printed as Prometheus ≥ 2.44's promtool prints them.
  if (existsSync(join(opts.block, 'wal'))) await dumpDB(opts.block, write, dumpOpts);
  else await dumpAllSamples(opts.block, write, dumpOpts);
}

/** `tools tsdb create-blocks-from openmetrics`: backfills blocks like promtool, printing them. */
export async function runCreateBlocksFromOpenMetrics(
  inputFile: string,
  outDir: string,
  opts: { maxBlockDuration?: string },
  write: Write = stdoutWrite,
): Promise<void> {
  const maxBlockDuration =
    opts.maxBlockDuration === undefined ? undefined : parseDurationFlag('max-block-duration', opts.maxBlockDuration);
  const blocks = await createBlocksFromOpenMetrics(
    inputFile,
    outDir,
    maxBlockDuration === undefined ? {} : { maxBlockDuration },
  );
  const rows = [['BLOCK ULID', 'MIN TIME', 'MAX TIME', 'DURATION', 'NUM SAMPLES', 'NUM CHUNKS', 'NUM SERIES']];
  for (const b of blocks) {
    const m = b.meta;
    rows.push([
      m.ulid,
      String(m.minTime),
      String(m.maxTime),
      `${(m.maxTime - m.minTime) / 1000}s`,
      String(m.stats.numSamples ?? 0),
      String(m.stats.numChunks ?? 0),
      String(m.stats.numSeries ?? 0),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? [];
  await write(
    rows
      .map(
        (r) =>
          `${r
            .map((c, i) => c.padEnd((widths[i] as number) + 2))
            .join('')
            .trimEnd()}\n`,
      )
      .join(''),
  );
}

/** Registers `thanos-ts tools tsdb …`. */
export const registerTsdbTools: ToolsRegistration = (tools) => {
  const tsdb = new Command('tsdb').description('Inspect and create Prometheus TSDB blocks.');
  tsdb
    .command('dump')
    .description(
      'Print the samples of a block, a directory of blocks or a Prometheus data directory (blocks and the head in its WAL), exactly as `promtool tsdb dump` prints them.',
    )
    .requiredOption('--block <dir>', 'block directory, or a TSDB directory holding blocks')
    .option('--min-time <ms>', 'minimum timestamp to dump (ms)')
    .option('--max-time <ms>', 'maximum timestamp to dump (ms)')
    .option('--match <selector>', 'series selector', DEFAULT_MATCH)
    .action(async (opts: DumpCommandOptions) => {
      // A closed pipe (`dump … | head`) ends the dump quietly: the failed write rejects, which
      // stops the dump, and the stream's 'error' event must not crash the process.
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') throw err;
      };
      process.stdout.on('error', onError);
      try {
        await runTsdbDump(opts);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
      } finally {
        process.stdout.off('error', onError);
      }
    });
  const createFrom = new Command('create-blocks-from').description('Create blocks from other data formats.');
  createFrom
    .command('openmetrics')
    .description('Create blocks from an OpenMetrics text file, like `promtool tsdb create-blocks-from openmetrics`.')
    .argument('<input-file>', 'OpenMetrics file (must end with # EOF; every sample needs a timestamp)')
    .argument('<out-dir>', 'directory to write blocks into')
    .addOption(new Option('--max-block-duration <duration>', 'maximum block duration (e.g. 2h, 6h); default 2h'))
    .action(async (input: string, out: string, opts: { maxBlockDuration?: string }) => {
      await runCreateBlocksFromOpenMetrics(input, out, opts);
    });
  tsdb.addCommand(createFrom);
  tools.addCommand(tsdb);
};
