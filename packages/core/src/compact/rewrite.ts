// `tools bucket rewrite`: a block rewritten without some series or samples and with relabelled
// series, as Thanos's cmd/thanos/tools_bucket.go drives pkg/compactv2 (relabel modifier first,
// then the deletion modifier, then the block writer).

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bucket } from '@thanos-ts/objstore';
import { parseMetricSelector } from '@thanos-ts/promql';
import {
  type BlockMeta,
  type BlockReader,
  BlockWriter,
  ChunkEncoding,
  compareLabels,
  decodeSeries,
  type EncodedChunk,
  encodeXorChunk,
  InvalidArgumentError,
  isULID,
  Labels,
  Matcher,
  newBlockId,
  openBlock,
  type ThanosMeta,
} from '@thanos-ts/tsdb';
import { decodeChunkSamples, encodeChunkSamples, type RewriteSample } from '@thanos-ts/tsdb/compact';
import { parse as parseYaml } from 'yaml';
import type { HashFunc } from '../block/hash.js';
import { uploadBlock } from '../block/upload.js';
import { type Logger, NOP_LOGGER } from '../log/logger.js';
import { type RelabelRule, relabel } from '../store/relabel.js';
import { downloadBlock, markForDeletion } from './markers.js';

/** Thanos's metadata.BucketRewriteSource: `thanos.source` of a rewritten block. */
export const BUCKET_REWRITE_SOURCE = 'bucket.rewrite';

/** File the changes are listed in, inside the new block's local directory (not uploaded, as Thanos). */
export const CHANGE_LOG_FILENAME = 'change.log';

/** Prometheus's seriesToChunkEncoderSplit: samples per chunk when a series is re-encoded whole. */
const ENCODER_SPLIT = 120;

/** A closed time range [mint, maxt] in ms (Prometheus's tombstones.Interval). */
export interface DeletionInterval {
  mint: number;
  maxt: number;
}

/** One entry of --rewrite.to-delete-config (Thanos's metadata.DeletionRequest). */
export interface DeletionRequest {
  /** The selector as written, e.g. `{__name__="up", job="x"}`. */
  selector: string;
  matchers: Matcher[];
  /** Ranges to delete; empty deletes the whole series. */
  intervals: DeletionInterval[];
  requestId?: string;
}

/**
 * Parses --rewrite.to-delete-config: a YAML list of `{matchers: '<selector>', intervals:
 * [{mint, maxt}], request_id}`. Unknown keys are ignored as Go's yaml.Unmarshal does. Errors name
 * `flag`.
 */
export function parseDeletionRequests(text: string, flag = '--rewrite.to-delete-config'): DeletionRequest[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc)) throw new InvalidArgumentError(`${flag}: want a YAML list of deletion requests`);
  return doc.map((raw, i) => {
    const where = `${flag}: deletion request ${i}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw new InvalidArgumentError(`${where}: want a mapping with matchers and intervals`);
    const r = raw as Record<string, unknown>;
    if (typeof r.matchers !== 'string') throw new InvalidArgumentError(`${where}: matchers must be a series selector`);
    let matchers: Matcher[];
    try {
      matchers = parseMetricSelector(r.matchers);
    } catch (err) {
      throw new InvalidArgumentError(`${where}: ${(err as Error).message}`, { cause: err });
    }
    const intervals: DeletionInterval[] = [];
    if (r.intervals != null) {
      if (!Array.isArray(r.intervals)) throw new InvalidArgumentError(`${where}: intervals must be a list`);
      for (const [j, iv] of r.intervals.entries()) {
        const o = (iv ?? {}) as Record<string, unknown>;
        const mint = o.mint ?? 0;
        const maxt = o.maxt ?? 0;
        if (!Number.isSafeInteger(mint) || !Number.isSafeInteger(maxt))
          throw new InvalidArgumentError(`${where}: interval ${j}: mint and maxt must be integers (ms)`);
        intervals.push({ mint: mint as number, maxt: maxt as number });
      }
    }
    const req: DeletionRequest = { selector: r.matchers, matchers, intervals };
    if (typeof r.request_id === 'string' && r.request_id !== '') req.requestId = r.request_id;
    return req;
  });
}

/** Options of {@link rewriteBlocks} (`tools bucket rewrite`). */
export interface RewriteBlocksOptions {
  /** ULIDs of the blocks to rewrite (--id), one after the other. */
  ids: readonly string[];
  /** Working directory (--tmp.dir); emptied first, then holds the downloaded and new blocks. */
  tmpDir: string;
  /** Deletions (--rewrite.to-delete-config), applied after relabelling, to the relabelled series. */
  deletions?: readonly DeletionRequest[];
  /** Relabel rules (--rewrite.to-relabel-config) applied to every series; a dropped series is deleted. */
  relabels?: readonly RelabelRule[];
  /** The relabel config as parsed YAML, recorded in `thanos.rewrites[].relabels_applied`. */
  relabelsRaw?: readonly Record<string, unknown>[];
  /** Only report the changes (--dry-run). Default true: nothing is written to the bucket. */
  dryRun?: boolean;
  /** Blocks without external labels may be uploaded (--prom-blocks). Default false. */
  promBlocks?: boolean;
  /** Mark each source block for deletion once its rewrite is uploaded (--delete-blocks). Default false. */
  deleteBlocks?: boolean;
  /** Write `change.log` into the new block's local directory (--rewrite.add-change-log). Default true. */
  addChangeLog?: boolean;
  /** Hash put on uploaded files (--hash-func). Default '': none. */
  hashFunc?: HashFunc;
  /** Called with each change line (`Deleted …`, `Relabelled …`), in Thanos's change-log format. */
  onChange?: (line: string) => void;
  logger?: Logger;
  /** Clock for the deletion mark, ms. Default Date.now. */
  now?: () => number;
  signal?: AbortSignal;
}

/** What rewriting one block did. */
export interface RewriteResult {
  /** The source block. */
  source: string;
  /** The new block's ULID (not uploaded in a dry run, nor when nothing was left). */
  ulid: string;
  /** Number of change lines (deleted or relabelled series). */
  changes: number;
  /** The uploaded meta.json; undefined in a dry run or when every series was deleted. */
  meta?: BlockMeta;
}

/** One chunk of a series: its range, decoded samples, and its encoded bytes while unchanged. */
interface Chunk {
  minTime: number;
  maxTime: number;
  /** Timestamps of every sample, ms. */
  ts: Float64Array;
  /** Float values (XOR chunks; empty for native histogram chunks). */
  vs: Float64Array;
  /** Every sample of a native histogram chunk (integer or float histograms), in order. */
  hist?: RewriteSample[];
  encoded?: EncodedChunk;
}

interface Series {
  labels: Labels;
  chunks: Chunk[];
}

/**
 * Rewrites blocks of a bucket as `thanos tools bucket rewrite` does: downloads each block to
 * `tmpDir`, relabels every series (merging series that become identical, dropping those a rule
 * drops), deletes the series or time ranges the deletion requests select, and writes a new block
 * (new ULID, same time range, external labels and resolution, `thanos.source` bucket.rewrite,
 * `compaction.sources` the new ULID, the old sources and the requests in `thanos.rewrites`). Then
 * uploads it (meta.json last) and, with deleteBlocks, marks the source for deletion. A dry run only
 * reports the changes. Returns one result per block.
 */
export async function rewriteBlocks(bucket: Bucket, opts: RewriteBlocksOptions): Promise<RewriteResult[]> {
  const logger = opts.logger ?? NOP_LOGGER;
  const deletions = opts.deletions ?? [];
  const relabels = opts.relabels;
  if (deletions.length === 0 && relabels === undefined)
    throw new InvalidArgumentError('rewrite configuration should be provided');
  for (const id of opts.ids)
    if (!isULID(id)) throw new InvalidArgumentError(`id is not a valid block ULID, got: ${id}`);
  const dryRun = opts.dryRun ?? true;
  await rm(opts.tmpDir, { recursive: true, force: true });
  await mkdir(opts.tmpDir, { recursive: true });
  const results: RewriteResult[] = [];
  for (const id of opts.ids) {
    opts.signal?.throwIfAborted();
    logger.info('downloading block', { source: id });
    const srcDir = join(opts.tmpDir, id);
    await downloadBlock(bucket, id, srcDir, 4, opts.signal);
    const reader = await openBlock(srcDir, opts.signal ? { signal: opts.signal } : {});
    const newId = newBlockId();
    const changeLogPath = join(opts.tmpDir, `${newId}.${CHANGE_LOG_FILENAME}`);
    const file = opts.addChangeLog === false ? undefined : createWriteStream(changeLogPath);
    let changes = 0;
    const log = (line: string) => {
      changes++;
      file?.write(`${line}\n`);
      opts.onChange?.(line);
    };
    logger.info('starting rewrite for block', { source: id, new: newId, dryRun });
    let meta: BlockMeta | undefined;
    try {
      const src = reader.meta;
      const thanos = rewrittenThanosMeta(src, deletions, opts.relabelsRaw ?? []);
      const series = rewriteSeries(reader, deletions, relabels, log, opts.signal);
      if (dryRun) {
        for await (const _ of series) opts.signal?.throwIfAborted();
      } else {
        const writer = await BlockWriter.create({
          outDir: opts.tmpDir,
          ulid: newId,
          minTime: src.minTime,
          maxTime: src.maxTime,
          compactionLevel: src.compaction.level,
          sources: [newId],
          ...(src.compaction.parents?.length ? { parents: src.compaction.parents } : {}),
          thanos,
        });
        try {
          for await (const s of series) await writer.addSeries(s.labels, s.chunks);
        } catch (err) {
          await writer.abort();
          throw err;
        }
        const written = await writer.commit();
        if (written) meta = written.meta;
      }
    } finally {
      await reader.close();
      if (file) await closeStream(file);
    }
    const newDir = join(opts.tmpDir, newId);
    if (file) {
      await mkdir(newDir, { recursive: true });
      await rename(changeLogPath, join(newDir, CHANGE_LOG_FILENAME));
    }
    if (dryRun) {
      logger.info('dry run finished; changes were reported', { block: id, changes });
      results.push({ source: id, ulid: newId, changes });
      continue;
    }
    if (!meta) {
      // Nothing left to write: Prometheus's writer refuses an empty block, so none is uploaded.
      logger.warn('every series was deleted; no block uploaded', { source: id });
      results.push({ source: id, ulid: newId, changes });
      continue;
    }
    logger.info('uploading new block', { source: id, new: newId });
    const labels = meta.thanos?.labels ?? {};
    const uploaded = await uploadBlock(bucket, newDir, {
      labels,
      source: BUCKET_REWRITE_SOURCE,
      meta,
      allowEmptyLabels: opts.promBlocks === true,
      ...(opts.hashFunc ? { hashFunc: opts.hashFunc } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    logger.info('uploaded', { source: id, new: newId });
    if (opts.deleteBlocks) {
      // As Thanos: the new block is safely uploaded, so a failed mark is only logged.
      try {
        await markForDeletion(bucket, id, 'block rewritten', (opts.now ?? Date.now)());
      } catch (err) {
        logger.error('failed to mark block for deletion', { id, err: (err as Error).message });
      }
    }
    results.push({ source: id, ulid: newId, changes, meta: uploaded });
  }
  logger.info('rewrite done', { IDs: opts.ids.join(',') });
  return results;
}

async function closeStream(s: WriteStream): Promise<void> {
  s.end();
  if (!s.closed) await once(s, 'close');
}

// The source's thanos section with the rewrite recorded (Thanos appends to meta.Thanos.Rewrites),
// without the file lists, which describe the old files.
function rewrittenThanosMeta(
  src: BlockMeta,
  deletions: readonly DeletionRequest[],
  relabelsRaw: readonly Record<string, unknown>[],
): ThanosMeta {
  const rewrite: Record<string, unknown> = {};
  if (src.compaction.sources?.length) rewrite.sources = src.compaction.sources;
  if (deletions.length > 0) rewrite.deletions_applied = deletions.map(deletionJSON);
  if (relabelsRaw.length > 0) rewrite.relabels_applied = relabelsRaw.map(relabelJSON);
  const t = src.thanos;
  const out: ThanosMeta = {
    labels: t?.labels ?? {},
    downsample: t?.downsample ?? { resolution: 0 },
    source: BUCKET_REWRITE_SOURCE,
    rewrites: [...(t?.rewrites ?? []), rewrite],
  };
  return out;
}

// Go's JSON of a metadata.DeletionRequest: matchers are []*labels.Matcher (Type as its number),
// intervals tombstones.Interval without JSON tags.
const MATCH_TYPE_NUMBER: Record<string, number> = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };
function deletionJSON(d: DeletionRequest): Record<string, unknown> {
  const o: Record<string, unknown> = {
    matchers: d.matchers.map((m) => ({ Type: MATCH_TYPE_NUMBER[m.type], Name: m.name, Value: m.value })),
  };
  if (d.intervals.length > 0) o.intervals = d.intervals.map((i) => ({ Mint: i.mint, Maxt: i.maxt }));
  if (d.requestId) o.request_id = d.requestId;
  return o;
}

// Go's JSON of a relabel.Config (camelCase tags), from the YAML as given.
const RELABEL_JSON_KEYS: Record<string, string> = {
  source_labels: 'sourceLabels',
  separator: 'separator',
  regex: 'regex',
  modulus: 'modulus',
  target_label: 'targetLabel',
  replacement: 'replacement',
  action: 'action',
};
function relabelJSON(raw: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) o[RELABEL_JSON_KEYS[k] ?? k] = v;
  return o;
}

// Every series of the block, in label order, with its chunks decoded one by one.
async function* readSeries(reader: BlockReader, signal?: AbortSignal): AsyncGenerator<Series> {
  const all = [new Matcher('=~', '__name__', '.*')];
  for await (const batch of reader.selectBatches(all, -Infinity, Infinity, signal ? { signal } : {})) {
    for (const s of batch) {
      const chunks: Chunk[] = [];
      for (const c of s.chunks) {
        if (!c.data)
          throw new InvalidArgumentError(
            `block ${reader.meta.ulid}: series ${s.labels.toString()}: chunk without data`,
          );
        const encoded: EncodedChunk = {
          minTime: c.minTime,
          maxTime: c.maxTime,
          encoding: c.encoding ?? ChunkEncoding.XOR,
          data: c.data,
        };
        if (encoded.encoding !== ChunkEncoding.XOR) {
          // Native histograms (Thanos's rewrite panics on these): decoded as samples, re-encoded
          // in their own encoding only when a deletion touches them.
          chunks.push(histChunk(encoded, decodeChunkSamples(encoded, { labels: s.labels, block: reader.name })));
          continue;
        }
        const d = decodeSeries(
          { ref: s.ref, labels: s.labels, chunks: [c] },
          -Infinity,
          Infinity,
          undefined,
          reader.name,
        );
        chunks.push({
          minTime: c.minTime,
          maxTime: c.maxTime,
          ts: d.timestamps as Float64Array,
          vs: d.values as Float64Array,
          encoded,
        });
      }
      if (chunks.length > 0) yield { labels: s.labels, chunks };
    }
  }
}

function histChunk(encoded: EncodedChunk, samples: RewriteSample[]): Chunk {
  return {
    minTime: encoded.minTime,
    maxTime: encoded.maxTime,
    ts: Float64Array.from(samples, (x) => x.t),
    vs: new Float64Array(0),
    hist: samples,
    encoded,
  };
}

// The series to write: relabelled (when rules are given), then with deletions applied, each
// with its encoded chunks. Changes go to `log` in Thanos's change-log format and order (the
// relabel modifier reads everything first, so its lines come before the deletions').
async function* rewriteSeries(
  reader: BlockReader,
  deletions: readonly DeletionRequest[],
  relabels: readonly RelabelRule[] | undefined,
  log: (line: string) => void,
  signal?: AbortSignal,
): AsyncGenerator<{ labels: Labels; chunks: EncodedChunk[] }> {
  let input: AsyncIterable<Series> | Iterable<Series> = readSeries(reader, signal);
  if (relabels !== undefined) input = await relabelAll(input, relabels, log);
  for await (const s of input) {
    signal?.throwIfAborted();
    const out = applyDeletions(s, deletions, log);
    if (out) yield out;
  }
}

// Thanos's RelabelModifier: every series relabelled; dropped ones logged as deleted over their
// chunks' range; series that end up with equal labels merged (chained merge: one sample per
// timestamp, the first series' wins); all re-encoded in chunks of 120 samples and sorted.
async function relabelAll(
  input: AsyncIterable<Series>,
  rules: readonly RelabelRule[],
  log: (line: string) => void,
): Promise<Series[]> {
  const byKey = new Map<string, { labels: Labels; parts: Chunk[][] }>();
  for await (const s of input) {
    const out = relabel(s.labels.toRecord(), rules);
    if (out === undefined || Object.keys(out).length === 0) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const c of s.chunks) {
        if (c.minTime < min) min = c.minTime;
        if (c.maxTime > max) max = c.maxTime;
      }
      log(`Deleted ${s.labels.toString()} ${formatIntervals(s.chunks.length ? [{ mint: min, maxt: max }] : [])}`);
      continue;
    }
    const labels = Labels.from(out);
    const key = labels.key();
    let e = byKey.get(key);
    if (!e) {
      e = { labels, parts: [] };
      byKey.set(key, e);
    }
    e.parts.push(s.chunks);
    if (!s.labels.equals(labels)) log(`Relabelled ${s.labels.toString()} ${labels.toString()}`);
  }
  const out: Series[] = [];
  for (const { labels, parts } of byKey.values()) {
    if (parts.some((p) => p.some((c) => c.hist !== undefined))) {
      // With native histograms: the same merge over typed samples, cut as Prometheus's
      // seriesToChunkEncoder cuts (120 samples, and at each change of sample type).
      const where = { labels, block: 'rewrite' };
      const chunks = encodeChunkSamples(mergeTypedSamples(parts), ENCODER_SPLIT).map((e) =>
        histChunk(e, decodeChunkSamples(e, where)),
      );
      out.push({ labels, chunks });
      continue;
    }
    const [ts, vs] = mergeSamples(parts);
    out.push({ labels, chunks: splitChunks(ts, vs) });
  }
  return out.sort((a, b) => compareLabels(a.labels, b.labels));
}

// mergeSamples for series holding native histograms: stable by time, first sample of each
// timestamp kept; a float sample is one of kind XOR.
function mergeTypedSamples(parts: readonly Chunk[][]): RewriteSample[] {
  const all: RewriteSample[] = [];
  for (const p of parts)
    for (const c of p) {
      if (c.hist) all.push(...c.hist);
      else
        for (let i = 0; i < c.ts.length; i++)
          all.push({ t: c.ts[i] as number, kind: ChunkEncoding.XOR, v: c.vs[i] as number });
    }
  const order = Array.from(all.keys()).sort(
    (a, b) => (all[a] as RewriteSample).t - (all[b] as RewriteSample).t || a - b,
  );
  const out: RewriteSample[] = [];
  for (const i of order) {
    const x = all[i] as RewriteSample;
    if (out.length > 0 && (out[out.length - 1] as RewriteSample).t === x.t) continue;
    out.push(x);
  }
  return out;
}

function mergeSamples(parts: readonly Chunk[][]): [Float64Array, Float64Array] {
  const ts: number[] = [];
  const vs: number[] = [];
  for (const p of parts)
    for (const c of p)
      for (let i = 0; i < c.ts.length; i++) {
        ts.push(c.ts[i] as number);
        vs.push(c.vs[i] as number);
      }
  // Stable sort by time, then keep the first sample of each timestamp.
  const order = Array.from(ts.keys()).sort((a, b) => (ts[a] as number) - (ts[b] as number) || a - b);
  const ots = new Float64Array(order.length);
  const ovs = new Float64Array(order.length);
  let n = 0;
  for (const i of order) {
    if (n > 0 && ots[n - 1] === ts[i]) continue;
    ots[n] = ts[i] as number;
    ovs[n] = vs[i] as number;
    n++;
  }
  return [ots.subarray(0, n), ovs.subarray(0, n)];
}

// Prometheus's seriesToChunkEncoder: a new XOR chunk every 120 samples.
function splitChunks(ts: Float64Array, vs: Float64Array): Chunk[] {
  const chunks: Chunk[] = [];
  for (let at = 0; at < ts.length; at += ENCODER_SPLIT) {
    const end = Math.min(ts.length, at + ENCODER_SPLIT);
    chunks.push({
      minTime: ts[at] as number,
      maxTime: ts[end - 1] as number,
      ts: ts.subarray(at, end),
      vs: vs.subarray(at, end),
    });
  }
  return chunks;
}

// Thanos's DeletionModifier for one series: a request applies when every matcher matches a
// non-empty value of the series; one without intervals deletes the whole series, otherwise the
// intervals of all applying requests are removed (a chunk inside one interval dropped, a chunk
// partly inside re-encoded). Returns undefined when nothing is left.
function applyDeletions(
  s: Series,
  deletions: readonly DeletionRequest[],
  log: (line: string) => void,
): { labels: Labels; chunks: EncodedChunk[] } | undefined {
  let intervals: DeletionInterval[] = [];
  for (const d of deletions) {
    const applies = d.matchers.every((m) => {
      const v = s.labels.get(m.name);
      return v !== '' && m.matches(v);
    });
    if (!applies) continue;
    if (d.intervals.length > 0) {
      for (const iv of d.intervals) intervals = addInterval(intervals, iv);
      continue;
    }
    const first = s.chunks[0] as Chunk;
    const last = s.chunks[s.chunks.length - 1] as Chunk;
    log(`Deleted ${s.labels.toString()} ${formatIntervals([{ mint: first.minTime, maxt: last.maxTime }])}`);
    return undefined;
  }
  const out: EncodedChunk[] = [];
  let deleted: DeletionInterval[] = [];
  for (const c of s.chunks) {
    if (intervals.some((iv) => iv.mint <= c.minTime && c.maxTime <= iv.maxt)) {
      deleted = addInterval(deleted, { mint: c.minTime, maxt: c.maxTime });
      continue;
    }
    const touching = intervals.filter((iv) => c.minTime <= iv.maxt && iv.mint <= c.maxTime);
    if (touching.length === 0) {
      out.push(c.encoded ?? encode(c.ts, c.vs, 0, c.ts.length));
      continue;
    }
    for (const iv of touching)
      deleted = addInterval(deleted, { mint: Math.max(iv.mint, c.minTime), maxt: Math.min(iv.maxt, c.maxTime) });
    if (c.hist) {
      // Native histograms: the surviving samples re-encoded in their own encoding, cut only
      // where the appender must (Prometheus's populateChunksFromIterable).
      out.push(...encodeChunkSamples(c.hist.filter((x) => !touching.some((iv) => x.t >= iv.mint && x.t <= iv.maxt))));
      continue;
    }
    // Keep the samples outside every interval, in one re-encoded chunk.
    const keep: number[] = [];
    for (let i = 0; i < c.ts.length; i++) {
      const t = c.ts[i] as number;
      if (!touching.some((iv) => t >= iv.mint && t <= iv.maxt)) keep.push(i);
    }
    if (keep.length === 0) continue;
    const kts = Float64Array.from(keep, (i) => c.ts[i] as number);
    const kvs = Float64Array.from(keep, (i) => c.vs[i] as number);
    out.push(encode(kts, kvs, 0, kts.length));
  }
  if (deleted.length > 0) log(`Deleted ${s.labels.toString()} ${formatIntervals(deleted)}`);
  return out.length > 0 ? { labels: s.labels, chunks: out } : undefined;
}

function encode(ts: Float64Array, vs: Float64Array, from: number, to: number): EncodedChunk {
  return {
    minTime: ts[from] as number,
    maxTime: ts[to - 1] as number,
    encoding: ChunkEncoding.XOR,
    data: encodeXorChunk(ts, vs, from, to),
  };
}

// Prometheus's Intervals.Add: keeps intervals sorted, merging overlapping and adjacent ones
// (time is discrete, so [1,2] and [3,4] make [1,4]).
function addInterval(list: readonly DeletionInterval[], n: DeletionInterval): DeletionInterval[] {
  const all = [...list, n].sort((a, b) => a.mint - b.mint);
  const out: DeletionInterval[] = [];
  for (const iv of all) {
    const last = out[out.length - 1];
    if (last && iv.mint <= last.maxt + 1) last.maxt = Math.max(last.maxt, iv.maxt);
    else out.push({ ...iv });
  }
  return out;
}

// Go's %v of tombstones.Intervals: `[{1 2} {5 9}]`.
function formatIntervals(list: readonly DeletionInterval[]): string {
  return `[${list.map((i) => `{${i.mint} ${i.maxt}}`).join(' ')}]`;
}
