// `promtool tsdb dump` for blocks that hold native histograms: float samples and histogram samples
// of every series, printed as promtool prints them.
import { type BlockChunk, type BlockReader, type BlockSeries, openBlock } from '../block/reader.js';
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
 * the block with the earlier minTime wins), limited to [minTime, maxTime]. Streams: the blocks'
 * series are merged batch by batch (up to 1024 series per block at a time), and only one series'
 * samples are decoded at once, so memory does not grow with the block. `write` receives text in
 * ~1 MiB pieces and may return a promise for backpressure.
 */
export async function dumpAllSamples(
  path: string,
  write: (text: string) => void | Promise<void>,
  opts: HistogramDumpOptions = {},
): Promise<void> {
  const dirs = await findBlockDirs(path);
  const blocks: BlockReader[] = [];
  const iters: AsyncGenerator<BlockSeries[]>[] = [];
  try {
    for (const d of dirs) blocks.push(await openBlock(d, { signal: opts.signal }));
    blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
    const matchers = opts.matchers ?? [new Matcher('=~', '__name__', '(?s:.*)')];
    const mint = opts.minTime ?? Number.MIN_SAFE_INTEGER;
    const maxt = opts.maxTime ?? Number.MAX_SAFE_INTEGER;
    for (const b of blocks) iters.push(b.selectBatches(matchers, mint, maxt, { signal: opts.signal }));
    const batches: (BlockSeries[] | undefined)[] = [];
    for (const it of iters) batches.push((await it.next()).value ?? undefined);
    const pos = new Array<number>(iters.length).fill(0);
    let buf = '';
    for (;;) {
      let min: Labels | undefined;
      for (let i = 0; i < batches.length; i++) {
        const h = batches[i]?.[pos[i] as number];
        if (h && (!min || compareLabels(h.labels, min) < 0)) min = h.labels;
      }
      if (!min) break;
      const parts: DumpSample[][] = [];
      for (let i = 0; i < batches.length; i++) {
        const b = batches[i];
        const h = b?.[pos[i] as number];
        if (!b || !h || compareLabels(h.labels, min) !== 0) continue;
        const samples: DumpSample[] = [];
        for (const c of h.chunks)
          for (const x of decodeChunkSamples(c, (blocks[i] as BlockReader).name)) samples.push(x);
        parts.push(samples);
        pos[i] = (pos[i] as number) + 1;
        if ((pos[i] as number) >= b.length) {
          batches[i] = (await (iters[i] as AsyncGenerator<BlockSeries[]>).next()).value ?? undefined;
          pos[i] = 0;
        }
      }
      const text = formatLabelsGo(min);
      for (const x of mergeByTime(parts)) {
        if (x.t < mint || x.t > maxt) continue;
        // promtool ≤ 2.43 loops `for it.Next() == ValFloat` and so stops at the first histogram.
        if (opts.promtoolVersion === 2 && x.kind !== 'float') break;
        buf += formatDumpLine(text, x);
      }
      if (buf.length > 1 << 20) {
        await write(buf);
        buf = '';
      }
    }
    if (buf.length > 0) await write(buf);
  } finally {
    for (const it of iters) await it.return(undefined);
    for (const b of blocks) await b.close();
  }
}

// Merges sorted sample lists; on equal timestamps the earlier list wins. A list that is not
// sorted (overlapping chunks after out-of-order ingestion) is sorted first, the earlier chunk
// winning a timestamp.
function mergeByTime(parts: readonly DumpSample[][]): DumpSample[] {
  if (parts.length === 1 && isSorted(parts[0] as DumpSample[])) return parts[0] as DumpSample[];
  const all: { s: DumpSample; p: number; i: number }[] = [];
  parts.forEach((list, p) => {
    list.forEach((s, i) => {
      all.push({ s, p, i });
    });
  });
  all.sort((a, b) => a.s.t - b.s.t || a.p - b.p || a.i - b.i);
  const out: DumpSample[] = [];
  for (const { s } of all) if (out.length === 0 || (out[out.length - 1] as DumpSample).t !== s.t) out.push(s);
  return out;
}

function isSorted(list: readonly DumpSample[]): boolean {
  for (let i = 1; i < list.length; i++) if ((list[i] as DumpSample).t <= (list[i - 1] as DumpSample).t) return false;
  return true;
}
