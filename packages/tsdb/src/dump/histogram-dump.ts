// `promtool tsdb dump` for blocks that hold native histograms: float samples and histogram samples
// of every series, printed as promtool prints them.
import { type BlockChunk, type BlockReader, openBlock } from '../block/reader.js';
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { decodeFloatHistogramChunk } from '../chunkenc/float-histogram.js';
import { decodeHistogramChunk } from '../chunkenc/histogram.js';
import { decodeXorInto, xorNumSamples } from '../chunkenc/xor.js';
import { CorruptionError } from '../errors.js';
import { formatGoFloat, formatLabelsGo } from '../goformat/index.js';
import { formatFloatHistogram, formatHistogram } from '../histogram/histogram.js';
import type { FloatHistogram, Histogram } from '../histogram/types.js';
import { compareLabels, type Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
import { type DumpOptions, findBlockDirs } from './dump.js';

/** One decoded sample of any kind. */
export type DumpSample =
  | { t: number; kind: 'float'; v: number }
  | { t: number; kind: 'histogram'; h: Histogram }
  | { t: number; kind: 'floathistogram'; h: FloatHistogram };

/** Options for dumpAllSamples. */
export interface HistogramDumpOptions extends DumpOptions {
  /**
   * Which promtool to reproduce: 3 (default; Prometheus ≥ 2.44 prints histogram samples with
   * Histogram.String) or 2 (Prometheus ≤ 2.43, whose dump stops reading a series at its first
   * histogram sample, so series that start with histograms print nothing).
   */
  promtoolVersion?: 2 | 3;
}

/**
 * One `promtool tsdb dump` line for a sample: `{labels} value timestamp`, where the value is %g
 * for floats and the histogram's text form (formatHistogram / formatFloatHistogram) otherwise.
 * `labelsText` is formatLabelsGo(labels).
 */
export function formatDumpLine(labelsText: string, s: DumpSample): string {
  if (s.kind === 'float') return `${labelsText} ${formatGoFloat(s.v)} ${s.t}\n`;
  const text = s.kind === 'histogram' ? formatHistogram(s.h) : formatFloatHistogram(s.h);
  return `${labelsText} ${text} ${s.t}\n`;
}

/** Decodes one chunk of any of the three encodings into samples (CorruptionError when malformed). */
export function decodeChunkSamples(c: BlockChunk, file = 'chunk'): DumpSample[] {
  const data = c.data;
  if (!data) return [];
  switch (c.encoding) {
    case ChunkEncoding.XOR: {
      const n = xorNumSamples(data);
      const ts = new Float64Array(n);
      const vs = new Float64Array(n);
      decodeXorInto(data, ts, vs, 0, file, c.ref);
      const out: DumpSample[] = [];
      for (let i = 0; i < n; i++) out.push({ t: ts[i] as number, kind: 'float', v: vs[i] as number });
      return out;
    }
    case ChunkEncoding.Histogram: {
      const d = decodeHistogramChunk(data, file, c.ref);
      return d.timestamps.map((t, i) => ({ t, kind: 'histogram', h: d.histograms[i] as Histogram }));
    }
    case ChunkEncoding.FloatHistogram: {
      const d = decodeFloatHistogramChunk(data, file, c.ref);
      return d.timestamps.map((t, i) => ({ t, kind: 'floathistogram', h: d.histograms[i] as FloatHistogram }));
    }
    default:
      throw new CorruptionError(file, c.ref, `unknown chunk encoding ${c.encoding}`);
  }
}

/**
 * Writes every sample of the blocks in `path` as `promtool tsdb dump` does, histograms included:
 * series in label order, each series' samples merged across blocks by time (on equal timestamps
 * the block with the earlier minTime wins), limited to [minTime, maxTime]. Holds the selected
 * series' chunks of all blocks in memory at once.
 */
export async function dumpAllSamples(
  path: string,
  write: (text: string) => void | Promise<void>,
  opts: HistogramDumpOptions = {},
): Promise<void> {
  const dirs = await findBlockDirs(path);
  const blocks: BlockReader[] = [];
  try {
    for (const d of dirs) blocks.push(await openBlock(d, { signal: opts.signal }));
    blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
    const matchers = opts.matchers ?? [new Matcher('=~', '__name__', '(?s:.*)')];
    const mint = opts.minTime ?? Number.MIN_SAFE_INTEGER;
    const maxt = opts.maxTime ?? Number.MAX_SAFE_INTEGER;
    const bySeries = new Map<string, { labels: Labels; parts: DumpSample[][] }>();
    for (const b of blocks) {
      for (const s of await b.select(matchers, mint, maxt, { signal: opts.signal })) {
        const key = formatLabelsGo(s.labels);
        let e = bySeries.get(key);
        if (!e) {
          e = { labels: s.labels, parts: [] };
          bySeries.set(key, e);
        }
        const samples: DumpSample[] = [];
        for (const c of s.chunks) samples.push(...decodeChunkSamples(c, b.name));
        e.parts.push(samples);
      }
    }
    const series = [...bySeries.entries()].sort((a, b) => compareLabels(a[1].labels, b[1].labels));
    let buf = '';
    for (const [text, { parts }] of series) {
      for (const s of mergeByTime(parts)) {
        if (s.t < mint || s.t > maxt) continue;
        // promtool ≤ 2.43 loops `for it.Next() == ValFloat` and so stops at the first histogram.
        if (opts.promtoolVersion === 2 && s.kind !== 'float') break;
        buf += formatDumpLine(text, s);
      }
      if (buf.length > 1 << 20) {
        await write(buf);
        buf = '';
      }
    }
    if (buf.length > 0) await write(buf);
  } finally {
    for (const b of blocks) await b.close();
  }
}

// Merges sorted sample lists; on equal timestamps the earlier list wins.
function mergeByTime(parts: readonly DumpSample[][]): DumpSample[] {
  if (parts.length === 1) return parts[0] as DumpSample[];
  const all: { s: DumpSample; p: number }[] = [];
  parts.forEach((list, p) => {
    for (const s of list) all.push({ s, p });
  });
  all.sort((a, b) => a.s.t - b.s.t || a.p - b.p);
  const out: DumpSample[] = [];
  for (const { s } of all) if (out.length === 0 || (out[out.length - 1] as DumpSample).t !== s.t) out.push(s);
  return out;
}
