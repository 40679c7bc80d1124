import type { Head } from '../head/head.js';
import type { HeadChunk, MemSeries } from '../head/series.js';
import { Labels } from '../labels/labels.js';
import { lastCheckpoint } from '../wal/checkpoint.js';
import { WalCorruptionError } from '../wal/errors.js';
import { decodeRecord, decodeSamplesInto, RECORD_SAMPLES, recordType, type SampleColumns } from '../wal/records.js';
import { KIND_SAMPLES, KIND_SERIES } from '../wal/replay-batch.js';
import { createReplayReader, type ReplayBatch, type ReplayReader, segmentBytes } from '../wal/replay-reader.js';

// Largest WAL ref the replay's array cache holds (32M refs, 256 MiB of pointers at most).
const DENSE_REFS = 1 << 25;

/** What a WAL replay found. */
export interface WalReplayResult {
  /** Index of the checkpoint read first, if any. */
  checkpoint: number | undefined;
  /** Records read from the checkpoint and the segments. */
  records: number;
  /** Samples put into the head from the WAL. */
  samples: number;
  /** Closed chunks the head got from chunks_head instead of the WAL. */
  mmappedChunks: number;
  /** Samples in those chunks. */
  mmappedSamples: number;
  /** Samples of series never announced by a series record (Prometheus's unknown refs). */
  unknownRefs: number;
  /**
   * Where the WAL was corrupt, if it was: everything before it was replayed, nothing after. The
   * DB repairs the WAL there (a torn tail after a crash is the usual case).
   */
  corruption: WalCorruptionError | undefined;
}

/** Options for {@link replayWAL}. */
export interface ReplayWALOptions {
  /**
   * Closed chunks loaded from chunks_head, by series ref: a series created by a series record
   * gets them (Prometheus's resetSeriesWithMMappedChunks), and its WAL samples up to the last
   * one's maxTime are skipped as already in them.
   */
  mmappedChunks?: Map<number, HeadChunk[]>;
  /**
   * A chunk snapshot already loaded into the head: replay starts at this WAL segment and byte
   * offset (the checkpoint is read only when it is at or after the segment).
   */
  snapshot?: { segment: number; offset: number };
  /**
   * Reads and decodes the WAL (on a worker thread when it is large; see createReplayReader).
   * Default: one made for this replay and closed after it.
   */
  reader?: ReplayReader;
}

/**
 * Replays a WAL directory into a head as Prometheus's Head.Init/loadWAL (head_wal.go): the newest
 * checkpoint, then every segment after it. A series logged twice under two refs maps the second
 * ref onto the first; samples before the head's minValidTime are dropped. A corruption in a WAL
 * segment ends the replay and is returned (what preceded it stays in the head); a corruption in
 * the checkpoint cannot be repaired and is thrown. With `opts`, closed chunks come from chunks_head
 * and replay starts after a chunk snapshot (Prometheus's Head.Init with m-mapped chunks and
 * memory-snapshot-on-shutdown).
 */
export async function replayWAL(head: Head, walDir: string, opts: ReplayWALOptions = {}): Promise<WalReplayResult> {
  const mmapped = opts.mmappedChunks;
  const multiRef = new Map<number, number>();
  const result: WalReplayResult = {
    checkpoint: undefined,
    records: 0,
    samples: 0,
    mmappedChunks: 0,
    mmappedSamples: 0,
    unknownRefs: 0,
    corruption: undefined,
  };
  let cols: SampleColumns | undefined;
  // WAL ref → series for the replay's duration, in an array: two Map lookups per sample (the
  // multiRef check and the head's index) were the replay loop's largest cost. Refs count up from
  // 1, so the array stays dense; very large refs fall back to the maps.
  const dense: (MemSeries | undefined)[] = [];
  const lookup = (walRef: number): MemSeries | undefined => {
    if (walRef < DENSE_REFS) {
      if (walRef < dense.length) {
        const hit = dense[walRef];
        if (hit !== undefined) return hit;
      }
      const s = head.getByRef(multiRef.size > 0 ? (multiRef.get(walRef) ?? walRef) : walRef);
      if (s !== undefined) {
        while (dense.length <= walRef) dense.push(undefined);
        dense[walRef] = s;
      }
      return s;
    }
    return head.getByRef(multiRef.get(walRef) ?? walRef);
  };
  // A series record's series: created under its ref, or mapped onto the series that already has
  // its labels (logged twice), with its chunks from chunks_head when it is new.
  const addSeries = (ref: number, labels: Labels, hash?: number) => {
    const before = head.numSeries;
    const ms = head.getOrCreateWithRef(ref, labels, hash);
    if (ref < dense.length) dense[ref] = ms;
    if (ms.ref !== ref) multiRef.set(ref, ms.ref);
    else if (mmapped !== undefined && head.numSeries > before) {
      const chunks = mmapped.get(ref);
      if (chunks !== undefined) {
        attachMmappedChunks(head, ms, chunks);
        result.mmappedChunks += chunks.length;
        // Every chunk encoding starts with its sample count, 2 bytes big endian.
        for (const c of chunks) result.mmappedSamples += ((c.data[0] as number) << 8) | (c.data[1] as number);
      }
    }
  };
  const addSamples = (refs: Float64Array, ts: Float64Array, values: Float64Array, from: number, to: number) => {
    let last: MemSeries | undefined;
    let lastRef = -1;
    for (let i = from; i < to; i++) {
      const ref = refs[i] as number;
      if (ref !== lastRef) {
        lastRef = ref;
        last = lookup(ref);
      }
      if (last === undefined) {
        result.unknownRefs++;
        continue;
      }
      if (head.replaySample(last, ts[i] as number, values[i] as number)) result.samples++;
    }
  };
  // A record the batch left as bytes (any type but well-formed series and samples records).
  const apply = (record: Uint8Array) => {
    if (recordType(record) === RECORD_SAMPLES) {
      cols = decodeSamplesInto(record, cols);
      addSamples(cols.refs, cols.ts, cols.values, 0, cols.length);
      return;
    }
    const rec = decodeRecord(record);
    if (rec.type === 'series') {
      for (const s of rec.series) addSeries(s.ref, s.labels);
    } else if (rec.type === 'histograms' || rec.type === 'floatHistograms') {
      const float = rec.type === 'floatHistograms';
      for (const x of rec.histograms) {
        const ms = head.getByRef(multiRef.get(x.ref) ?? x.ref);
        if (ms === undefined) {
          result.unknownRefs++;
          continue;
        }
        const h = 'fh' in x ? x.fh : x.h;
        if (head.replayHistogram(ms, x.t, h, float)) result.samples++;
      }
    } else if (rec.type === 'tombstones') {
      for (const t of rec.tombstones) {
        const ms = head.getByRef(multiRef.get(t.ref) ?? t.ref);
        if (ms === undefined) continue;
        const live = t.intervals.filter((iv) => iv.maxTime >= head.minValidTime);
        if (live.length > 0) head.addTombstones(ms, live);
      }
    }
    // Exemplars, metadata and mmap markers have no place in this head yet.
  };

  const applyBatch = (b: ReplayBatch) => {
    const strings = b.strings;
    let si = 0;
    let li = 0;
    let sm = 0;
    let bp = 0;
    for (let r = 0; r < b.records; r++) {
      result.records++;
      const kind = b.kinds[r] as number;
      const n = b.counts[r] as number;
      if (kind === KIND_SAMPLES) {
        addSamples(b.sampleRefs, b.sampleTs, b.sampleValues, sm, sm + n);
        sm += n;
      } else if (kind === KIND_SERIES) {
        for (let k = 0; k < n; k++, si++) {
          const flat = new Array<string>(2 * (b.labelCounts[si] as number));
          for (let j = 0; j < flat.length; j++) flat[j] = strings[b.labelIds[li++] as number] as string;
          addSeries(b.seriesRefs[si] as number, Labels.fromSortedFlat(flat), (b.seriesHashes[si] as number) | 0);
        }
      } else {
        apply(b.bytes.subarray(bp, bp + n));
        bp += n;
      }
    }
  };

  let from = 0;
  const snap = opts.snapshot;
  const cp = await lastCheckpoint(walDir);
  const useCheckpoint = cp !== undefined && (snap === undefined || cp.index >= snap.segment);
  const reader =
    opts.reader ?? createReplayReader({ bytes: await segmentBytes(useCheckpoint && cp ? [cp.dir, walDir] : [walDir]) });
  try {
    if (useCheckpoint && cp !== undefined) {
      result.checkpoint = cp.index;
      from = cp.index + 1;
      for await (const b of reader.read([{ dir: cp.dir, first: -1, last: -1 }], 'wal')) applyBatch(b);
    }
    let fromOffset = 0;
    if (snap !== undefined && snap.segment >= from) {
      from = snap.segment;
      fromOffset = snap.offset;
    }
    try {
      for await (const b of reader.read([{ dir: walDir, first: from, last: -1, firstOffset: fromOffset }], 'wal'))
        applyBatch(b);
    } catch (err) {
      if (!(err instanceof WalCorruptionError)) throw err;
      result.corruption = err;
    }
  } finally {
    if (opts.reader === undefined) await reader.close();
  }
  return result;
}

/**
 * Gives a series its closed chunks from chunks_head and extends the head's range over them
 * (Prometheus's resetSeriesWithMMappedChunks; loadMmappedChunks for series from a snapshot, whose
 * open chunk is dropped when a chunk on disk reaches into it).
 */
export function attachMmappedChunks(head: Head, ms: MemSeries, chunks: HeadChunk[]): void {
  if (chunks.length === 0) return;
  const open = ms.openChunk();
  const last = chunks[chunks.length - 1] as HeadChunk;
  if (open !== undefined && last.maxTime < open.minTime) ms.chunks = chunks;
  else ms.setMmappedChunks(chunks);
  head.updateMinMaxTime((chunks[0] as HeadChunk).minTime, last.maxTime);
}
