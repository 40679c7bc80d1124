import { formatGoFloat, formatLabelsGo } from '../goformat/index.js';
import { formatFloatHistogram } from '../histogram/histogram.js';
import type { FloatHistogram } from '../histogram/types.js';
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
 * Writes the samples (floats and native histograms) of a data directory, blocks and the head replayed from its WAL, as
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
    const h = s.histograms;
    if (h === undefined) {
      for (let i = 0; i < ts.length; i++) buf += `${prefix}${formatGoFloat(vs[i] as number)} ${ts[i]}\n`;
    } else {
      // Floats and histograms of the series in time order (the columns never share a timestamp).
      // Histograms print in the float form: the Queryable hands out float histograms.
      let j = 0;
      for (let i = 0; i <= ts.length; i++) {
        const t = i < ts.length ? (ts[i] as number) : Number.POSITIVE_INFINITY;
        while (j < h.timestamps.length && (h.timestamps[j] as number) < t) {
          buf += `${prefix}${formatFloatHistogram(h.values[j] as FloatHistogram)} ${h.timestamps[j]}\n`;
          j++;
        }
        if (i < ts.length) buf += `${prefix}${formatGoFloat(vs[i] as number)} ${t}\n`;
      }
    }
    if (buf.length > 1 << 20) {
      await write(buf);
      buf = '';
    }
  }
  if (buf.length > 0) await write(buf);
}
