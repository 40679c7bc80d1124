import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { withBlockWriterLock } from './block-writer-lock.js';
import { requireProgram } from './programs.js';

const run = promisify(execFile);

/**
 * promtool 2.42 opens the directory as a read-only DB, which fails without a `wal` folder (blocks
 * made by create-blocks-from have none); an empty one is what Prometheus itself would create.
 */
async function ensureWalDir(dbDir: string): Promise<void> {
  await mkdir(join(dbDir, 'wal'), { recursive: true });
}

async function runPromtool(args: string[], timeoutMs = 300_000): Promise<string> {
  const binary = requireProgram('promtool');
  try {
    const { stdout } = await run(binary, args, { maxBuffer: 2 ** 31 - 1, timeout: timeoutMs });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`promtool ${args.slice(0, 3).join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/** Time range and selector shared by several promtool subcommands. */
export interface DumpOptions {
  /** ms since the epoch */
  minTime?: number;
  /** ms since the epoch */
  maxTime?: number;
  /** a series selector, e.g. '{__name__=~"http_.*"}' */
  match?: string;
}

/** Wrappers around the real promtool (Debian package `prometheus`, 2.42). */
export const promtool = {
  /** `promtool tsdb create-blocks-from openmetrics <input> <outDir>`. */
  async createBlocksFromOpenMetrics(inputFile: string, outDir: string, opts: { maxBlockDuration?: string } = {}) {
    const args = ['tsdb', 'create-blocks-from', 'openmetrics'];
    if (opts.maxBlockDuration !== undefined) args.push(`--max-block-duration=${opts.maxBlockDuration}`);
    args.push(inputFile, outDir);
    // It reserves 512 MiB of disk per block it writes: one such run at a time (block-writer-lock.ts).
    return withBlockWriterLock(() => runPromtool(args));
  },
  /** `promtool tsdb dump` of a TSDB directory (every block in it): `{labels} value timestamp` lines. */
  async dump(dbDir: string, opts: DumpOptions = {}): Promise<string> {
    await ensureWalDir(dbDir);
    const args = ['tsdb', 'dump'];
    if (opts.minTime !== undefined) args.push(`--min-time=${opts.minTime}`);
    if (opts.maxTime !== undefined) args.push(`--max-time=${opts.maxTime}`);
    if (opts.match !== undefined) args.push(`--match=${opts.match}`);
    args.push(dbDir);
    return runPromtool(args);
  },
  /** `promtool tsdb analyze <dbDir> [blockId]`; throws when promtool reports a problem. */
  async analyze(dbDir: string, blockId?: string): Promise<string> {
    await ensureWalDir(dbDir);
    return runPromtool(['tsdb', 'analyze', dbDir, ...(blockId === undefined ? [] : [blockId])]);
  },
  /** `promtool query instant <url> <expr> [--time]`. */
  async queryInstant(url: string, expr: string, time?: number | string): Promise<string> {
    const args = ['query', 'instant'];
    if (time !== undefined) args.push(`--time=${time}`);
    args.push(url, expr);
    return runPromtool(args, 60_000);
  },
  /** `promtool query range <url> <expr> --start --end --step`. */
  async queryRange(
    url: string,
    expr: string,
    range: { start: number | string; end: number | string; step: string },
  ): Promise<string> {
    return runPromtool(
      ['query', 'range', `--start=${range.start}`, `--end=${range.end}`, `--step=${range.step}`, url, expr],
      60_000,
    );
  },
};
