import { open } from 'node:fs/promises';
import { DEFAULT_BLOCK_DURATION, type WrittenBlock, writeBlock } from '../block/writer.js';
import { compareLabels, Labels } from '../labels/labels.js';
import { type OpenMetricsEntry, OpenMetricsParseError, OpenMetricsParser } from './parser.js';

/** Options for createBlocksFromOpenMetrics. */
export interface CreateBlocksOptions {
  /** Maximum block duration, ms (promtool's --max-block-duration). Default 2h. */
  maxBlockDuration?: number;
  signal?: AbortSignal;
}

interface SeriesBuffer {
  labels: Labels;
  ts: Float64Array;
  vs: Float64Array;
  n: number;
}

const READ_SIZE = 16 * 1024 * 1024;

/**
 * Parses an OpenMetrics file of any size: read in 16 MiB pieces, cut at line boundaries, parsed
 * incrementally (a whole multi-GB file would not fit in one JavaScript string).
 */
export async function* readOpenMetricsFile(
  path: string,
  signal?: AbortSignal,
  readSize = READ_SIZE,
): AsyncGenerator<OpenMetricsEntry> {
  const parser = new OpenMetricsParser(path);
  const decoder = new TextDecoder('utf-8');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(readSize);
    let carry = '';
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, readSize, null);
      if (bytesRead === 0) break;
      const text = carry + decoder.decode(buf.subarray(0, bytesRead), { stream: true });
      const cut = text.lastIndexOf('\n');
      if (cut < 0) {
        carry = text;
        continue;
      }
      carry = text.slice(cut + 1);
      yield* parser.feed(text.slice(0, cut + 1), false);
    }
    yield* parser.feed(carry + decoder.decode(), true);
  } finally {
    await fh.close();
  }
}

/**
 * Block durations promtool may pick: 2h × 3^i (tsdb.ExponentialBlockRanges(2h, 10, 3)); the largest
 * not above `maxBlockDuration` (2h when smaller), as promtool's getCompatibleBlockDuration.
 */
export function compatibleBlockDuration(maxBlockDuration: number | undefined): number {
  let duration = DEFAULT_BLOCK_DURATION;
  if (maxBlockDuration !== undefined && maxBlockDuration > DEFAULT_BLOCK_DURATION) {
    const ranges: number[] = [];
    for (let i = 0, r = DEFAULT_BLOCK_DURATION; i < 10; i++, r *= 3) ranges.push(r);
    let idx = ranges.length - 1;
    for (let i = 0; i < ranges.length; i++) {
      if ((ranges[i] as number) > maxBlockDuration) {
        idx = i - 1;
        break;
      }
    }
    duration = ranges[idx] as number;
  }
  return duration;
}

/**
 * Reads an OpenMetrics file and writes TSDB blocks into `outDir` like `promtool tsdb
 * create-blocks-from openmetrics`: blocks aligned to the block duration, each holding the samples
 * of its window, chunks cut as promtool's head cuts them. Every sample needs a timestamp. Within a
 * series, samples not newer than the previous one are dropped (the head would not accept them).
 * Returns the blocks written, in time order.
 */
export async function createBlocksFromOpenMetrics(
  inputFile: string,
  outDir: string,
  opts: CreateBlocksOptions = {},
): Promise<WrittenBlock[]> {
  const byRaw = new Map<string, SeriesBuffer>();
  const byKey = new Map<string, SeriesBuffer>();
  let mint = Number.POSITIVE_INFINITY;
  let maxt = Number.NEGATIVE_INFINITY;
  for await (const e of readOpenMetricsFile(inputFile, opts.signal)) {
    if (e.kind !== 'series') continue;
    if (e.timestamp === undefined) {
      throw new OpenMetricsParseError(inputFile, e.line, `expected timestamp for series ${e.series}, got none`);
    }
    let s = byRaw.get(e.series);
    if (!s) {
      const pairs: [string, string][] = [['__name__', e.name]];
      const seen = new Set<string>(['__name__']);
      for (let i = 0; i < e.labels.length; i += 2) {
        const name = e.labels[i] as string;
        if (seen.has(name)) {
          throw new OpenMetricsParseError(
            inputFile,
            e.line,
            `label set has duplicate label name ${JSON.stringify(name)}`,
          );
        }
        seen.add(name);
        pairs.push([name, e.labels[i + 1] as string]);
      }
      const labels = Labels.from(pairs);
      const key = labels.key();
      s = byKey.get(key);
      if (!s) {
        s = { labels, ts: new Float64Array(16), vs: new Float64Array(16), n: 0 };
        byKey.set(key, s);
      }
      byRaw.set(e.series, s);
    }
    if (s.n === s.ts.length) {
      const ts = new Float64Array(s.n * 2);
      ts.set(s.ts);
      const vs = new Float64Array(s.n * 2);
      vs.set(s.vs);
      s.ts = ts;
      s.vs = vs;
    }
    s.ts[s.n] = e.timestamp;
    s.vs[s.n] = e.value;
    s.n++;
    if (e.timestamp < mint) mint = e.timestamp;
    if (e.timestamp > maxt) maxt = e.timestamp;
  }
  const series = [...byKey.values()].sort((a, b) => compareLabels(a.labels, b.labels));
  if (series.length === 0) return [];
  const blockDuration = compatibleBlockDuration(opts.maxBlockDuration);
  // Go's integer division truncates toward zero.
  const start = blockDuration * Math.trunc(mint / blockDuration);
  const out: WrittenBlock[] = [];
  for (let t = start; t <= maxt; t += blockDuration) {
    const upper = t + blockDuration;
    const inWindow = series.map((s) => {
      // Samples are in arrival order; pick those inside [t, upper).
      const idx: number[] = [];
      for (let k = 0; k < s.n; k++) {
        const ts = s.ts[k] as number;
        if (ts >= t && ts < upper) idx.push(k);
      }
      const ts = new Float64Array(idx.length);
      const vs = new Float64Array(idx.length);
      idx.forEach((k, j) => {
        ts[j] = s.ts[k] as number;
        vs[j] = s.vs[k] as number;
      });
      return { labels: s.labels, timestamps: ts, values: vs };
    });
    const block = await writeBlock(
      inWindow.filter((s) => s.timestamps.length > 0),
      { outDir, chunkRange: 2 * blockDuration, signal: opts.signal },
    );
    if (block) out.push(block);
  }
  return out;
}
