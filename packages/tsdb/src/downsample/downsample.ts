import { ulid as newUlid } from 'ulid';
import { type BlockMeta, type ThanosMeta, writeBlockMeta } from '../block/meta.js';
import { openBlock } from '../block/reader.js';
import { BlockWriter, type WrittenBlock } from '../block/writer.js';
import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { xorNumSamples } from '../chunkenc/xor.js';
import { aggrNumSamples, CHUNK_ENC_AGGR } from './aggr.js';
import { downsampleAggrChunks, downsampleRaw, expandXorChunk, RES_LEVEL_1, SampleBuffer } from './aggregate.js';
import { DownsampleError } from './errors.js';
import {
  downsampleHistogramAggrChunks,
  downsampleRawHistograms,
  expandHistogramChunk,
  type HistogramSample,
  isHistogramAggrChunk,
} from './histogram.js';

const histogramEncoding = (e: number): boolean => e === ChunkEncoding.Histogram || e === ChunkEncoding.FloatHistogram;

/** Options of downsampleBlock. */
export interface DownsampleBlockOptions {
  /** Local directory of the block to downsample (raw or already downsampled). */
  blockDir: string;
  /** Directory the new block is created in (as `<outDir>/<ulid>`). */
  outDir: string;
  /** Target resolution, ms: 300_000 (5m) or 3_600_000 (1h); must be coarser than the block's. */
  resolution: number;
  /** ULID of the new block; a new one by default. */
  ulid?: string;
  /**
   * External labels for the new block. Default: the input's. The compactor passes the group's
   * labels (replica labels removed), as Thanos downsamples from the filtered meta.
   */
  labels?: Record<string, string>;
  /** Aborts; the partly written block is removed. */
  signal?: AbortSignal;
  /** Called for a series left without chunks (Thanos logs "empty chunks happened, skip series"). */
  onEmptySeries?: (labels: string) => void;
}

/** What downsampleBlock wrote, plus the number of samples it read. */
export interface DownsampledBlock extends WrittenBlock {
  /** Raw or aggregated samples read from the input (count aggregate for downsampled inputs). */
  samplesRead: number;
}

// Series read per index lookup: bounds memory to one batch of series and their chunk bytes.
const SERIES_BATCH = 256;

/**
 * Downsamples one block, streaming series by series, as Thanos's downsample.Downsample: raw data
 * is aggregated per window into count, sum, min, max and counter (Thanos's AggrChunk, encoding
 * 0xff); already downsampled data is re-aggregated along its chunk boundaries. The new block keeps
 * the input's time range, compaction level, sources and external labels, gets the new resolution
 * and source "compactor", and is written under `<outDir>/<ulid>.tmp-for-creation` then renamed,
 * so nothing partial is ever visible. Tombstones are not applied (Thanos does not either). Native
 * histogram series are aggregated as Thanos does (histogram.ts): count, sum and counter, the last
 * two as float histogram sub-chunks; runs of float and of histogram chunks in one series are
 * downsampled separately. Returns undefined when the block holds no sample.
 */
export async function downsampleBlock(opts: DownsampleBlockOptions): Promise<DownsampledBlock | undefined> {
  const { signal } = opts;
  const block = await openBlock(opts.blockDir, signal ? { signal } : {});
  try {
    const meta = block.meta;
    const inRes = meta.thanos?.downsample.resolution ?? 0;
    if (inRes >= opts.resolution) throw new DownsampleError(meta.ulid, 'target resolution not lower than existing one');
    const thanos: ThanosMeta = {
      ...(meta.thanos?.version === undefined ? {} : { version: meta.thanos.version }),
      labels: { ...(opts.labels ?? meta.thanos?.labels ?? {}) },
      downsample: { resolution: opts.resolution },
      source: 'compactor',
      ...(meta.thanos?.extensions === undefined ? {} : { extensions: meta.thanos.extensions }),
    };
    const writer = await BlockWriter.create({
      outDir: opts.outDir,
      ulid: opts.ulid ?? newUlid(),
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      compactionLevel: meta.compaction.level,
      sources: [...(meta.compaction.sources ?? [meta.ulid])],
      ...(meta.compaction.parents ? { parents: meta.compaction.parents } : {}),
      thanos,
    });
    let numSamples = 0;
    let samplesRead = 0;
    try {
      const file = `${meta.ulid}/chunks`;
      const buf = new SampleBuffer();
      const postings = await block.index.allPostings(signal);
      for (let i = 0; i < postings.length; i += SERIES_BATCH) {
        signal?.throwIfAborted();
        const series = await block.index.series(postings.subarray(i, i + SERIES_BATCH), signal ? { signal } : {});
        const raw = await block.chunks.readChunks(
          series.flatMap((s) => s.chunks.map((c) => c.ref)),
          signal,
        );
        let k = 0;
        for (const s of series) {
          const chunks: EncodedChunk[] = s.chunks.map((c) => {
            const r = raw[k++] as { encoding: number; data: Uint8Array };
            return { minTime: c.minTime, maxTime: c.maxTime, encoding: r.encoding as ChunkEncoding, data: r.data };
          });
          for (let j = 1; j < chunks.length; j++) {
            if ((chunks[j - 1] as EncodedChunk).maxTime >= (chunks[j] as EncodedChunk).minTime)
              throw new DownsampleError(
                meta.ulid,
                `found overlapping chunks within series ${s.labels.toString()}. Chunks expected to be ordered by min time and non-overlapping`,
              );
          }
          let out: EncodedChunk[];
          if (inRes === 0) {
            // Thanos downsamples each run of float chunks and each run of histogram chunks on its
            // own (cutNewChunk): a series that switches type gets separate aggregate chunks.
            out = [];
            const hs: HistogramSample[] = [];
            buf.n = 0;
            let hist: boolean | undefined;
            const flush = (): void => {
              if (hist) out.push(...downsampleRawHistograms(hs, opts.resolution));
              else if (hist === false) out.push(...downsampleRaw(buf, opts.resolution));
              hs.length = 0;
              buf.n = 0;
            };
            for (const c of chunks) {
              const isHist = histogramEncoding(c.encoding);
              if (!isHist && c.encoding !== ChunkEncoding.XOR)
                throw unsupported(meta.ulid, s.labels.toString(), c.encoding);
              if (hist !== undefined && isHist !== hist) flush();
              hist = isHist;
              if (isHist) {
                const before = hs.length;
                expandHistogramChunk(c, hs, file);
                samplesRead += hs.length - before;
              } else {
                const before = buf.n;
                expandXorChunk(c.data, buf, file);
                samplesRead += buf.n - before;
              }
            }
            flush();
          } else {
            // Thanos's fix for blocks that hold plain XOR chunks among aggregates (its #5272):
            // empty ones are skipped, others are first downsampled to 5m (histogram chunks too).
            const fixed: EncodedChunk[] = [];
            for (const c of chunks) {
              if ((c.encoding as number) === CHUNK_ENC_AGGR) {
                samplesRead += aggrNumSamples(c.data);
                fixed.push(c);
                continue;
              }
              if (histogramEncoding(c.encoding)) {
                const hs: HistogramSample[] = [];
                expandHistogramChunk(c, hs, file);
                if (hs.length === 0) continue;
                samplesRead += hs.length;
                fixed.push(...downsampleRawHistograms(hs, RES_LEVEL_1));
                continue;
              }
              if (c.encoding !== ChunkEncoding.XOR) throw unsupported(meta.ulid, s.labels.toString(), c.encoding);
              if (xorNumSamples(c.data) === 0) continue;
              buf.n = 0;
              expandXorChunk(c.data, buf, file);
              samplesRead += buf.n;
              fixed.push(...downsampleRaw(buf, RES_LEVEL_1));
            }
            // Runs of float and of histogram aggregates are downsampled separately, as Thanos's
            // Downsample groups them by isHistogramAggrChunk.
            out = [];
            let run: EncodedChunk[] = [];
            let runHist = false;
            const flushRun = (): void => {
              if (run.length === 0) return;
              if (runHist) {
                let n = 0;
                for (const c of run) n += aggrNumSamples(c.data);
                out.push(...downsampleHistogramAggrChunks(run, n, inRes, opts.resolution, file));
              } else out.push(...downsampleAggrChunks(run, inRes, opts.resolution, file));
              run = [];
            };
            for (const c of fixed) {
              const isHist = isHistogramAggrChunk(c.data, file);
              if (run.length > 0 && isHist !== runHist) flushRun();
              runHist = isHist;
              run.push(c);
            }
            flushRun();
          }
          if (out.length === 0) {
            opts.onEmptySeries?.(s.labels.toString());
            continue;
          }
          for (const c of out) numSamples += aggrNumSamples(c.data);
          await writer.addSeries(s.labels, out);
        }
      }
      signal?.throwIfAborted();
    } catch (err) {
      await writer.abort();
      throw err;
    }
    const written = await writer.commit();
    if (!written) return undefined;
    // The writer counts samples from the chunk header, which an aggregate chunk does not have;
    // Thanos counts the count aggregate's samples.
    const fixedMeta: BlockMeta = { ...written.meta, stats: { ...written.meta.stats, numSamples } };
    if (meta.stats.numTombstones !== undefined) fixedMeta.stats.numTombstones = meta.stats.numTombstones;
    await writeBlockMeta(written.dir, fixedMeta);
    return { ...written, meta: fixedMeta, samplesRead };
  } finally {
    await block.close();
  }
}

function unsupported(block: string, series: string, encoding: number): DownsampleError {
  return new DownsampleError(block, `series ${series}: unexpected chunk encoding ${encoding}`);
}
