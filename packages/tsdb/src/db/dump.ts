import { formatGoFloat, formatLabelsGo } from '../goformat/index.js';
import { Matcher } from '../labels/matcher.js';
import { openDBReadOnly } from './readonly.js';

/** Options for {@link dumpDB}. */
export interface DumpDBOptions {
  /** Inclusive bounds, ms (promtool's --min-time/--max-time; default: everything). */
  minTime?: number;
  maxTime?: number;
  /** Series matchers (default: all series). */
  matchers?: readonly Matcher[];
  signal?: AbortSignal;
}

/**
 * Writes the float samples of a data directory, blocks and the head replayed from its WAL, as
 * `promtool tsdb dump` prints them (it opens the dir with OpenDBReadOnly too): one
 * `{labels} value timestamp` line per sample, series in label order, each series merged across
 * blocks and head. Nothing in the directory is changed. `write` may return a promise for
 * backpressure.
 */
export async function dumpDB(
  dir: string,
  write: (text: string) => void | Promise<void>,
  opts: DumpDBOptions = {},
): Promise<void> {
  await using db = await openDBReadOnly({ dir });
  const matchers = opts.matchers ?? [new Matcher('=~', '__name__', '(?s:.*)')];
  const series = await db
    .queryable()
    .select(
      matchers,
      { start: opts.minTime ?? Number.MIN_SAFE_INTEGER, end: opts.maxTime ?? Number.MAX_SAFE_INTEGER },
      opts.signal,
    );
  let buf = '';
  for (const s of series) {
    const prefix = `${formatLabelsGo(s.labels)} `;
    const ts = s.timestamps;
    const vs = s.values;
    for (let i = 0; i < ts.length; i++) buf += `${prefix}${formatGoFloat(vs[i] as number)} ${ts[i]}\n`;
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  if (buf.length > 0) await write(buf);
}
