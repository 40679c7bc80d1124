import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeBlockSampleBatches } from '../block/queryable.js';
import { type BlockReader, openBlock } from '../block/reader.js';
import { isULID } from '../block/ulid.js';
import { CorruptionError } from '../errors.js';
import { formatGoFloat, formatLabelsGo } from '../goformat/index.js';
import { Matcher } from '../labels/matcher.js';

/** Options for dumpSamples. */
export interface DumpOptions {
  /** Inclusive bounds, ms (promtool's --min-time/--max-time; default: everything). */
  minTime?: number;
  maxTime?: number;
  /** Series matchers (default: all series). */
  matchers?: readonly Matcher[];
  signal?: AbortSignal;
}

/**
 * The block directories of `path`: `path` itself when it is a block (has meta.json), otherwise its
 * ULID-named subdirectories (temporary `*.tmp-for-creation` directories are ignored), as
 * Prometheus's DB does.
 */
export async function findBlockDirs(path: string): Promise<string[]> {
  try {
    await stat(join(path, 'meta.json'));
    return [path];
  } catch {
    // not a block itself
  }
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (err) {
    throw new CorruptionError(path, 0, `cannot read directory: ${(err as Error).message}`, { cause: err });
  }
  return entries
    .filter((e) => isULID(e))
    .sort()
    .map((e) => join(path, e));
}

/**
 * Writes the float samples of the blocks in `path` exactly as `promtool tsdb dump` prints them:
 * one `{labels} value timestamp` line per sample, series in label order, samples of a series
 * merged across blocks by time. `write` receives text in batches; it may return a promise to
 * apply backpressure.
 */
export async function dumpSamples(
  path: string,
  write: (text: string) => void | Promise<void>,
  opts: DumpOptions = {},
): Promise<void> {
  const dirs = await findBlockDirs(path);
  const blocks: BlockReader[] = [];
  try {
    for (const d of dirs) blocks.push(await openBlock(d, { signal: opts.signal }));
    blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
    const matchers = opts.matchers ?? [new Matcher('=~', '__name__', '(?s:.*)')];
    const mint = opts.minTime ?? Number.MIN_SAFE_INTEGER;
    const maxt = opts.maxTime ?? Number.MAX_SAFE_INTEGER;
    let buf = '';
    for await (const batch of mergeBlockSampleBatches(blocks, matchers, mint, maxt, opts.signal)) {
      for (const s of batch) {
        const prefix = `${formatLabelsGo(s.labels)} `;
        const ts = s.timestamps;
        const vs = s.values;
        for (let i = 0; i < ts.length; i++) {
          buf += `${prefix}${formatGoFloat(vs[i] as number)} ${ts[i]}\n`;
        }
        if (buf.length > 1 << 20) {
          await write(buf);
          buf = '';
        }
      }
    }
    if (buf.length > 0) await write(buf);
  } finally {
    for (const b of blocks) await b.close();
  }
}
