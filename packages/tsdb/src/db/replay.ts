import type { Head } from '../head/head.js';
import type { HeadChunk, MemSeries } from '../head/series.js';
import { lastCheckpoint } from '../wal/checkpoint.js';
import { WalCorruptionError } from '../wal/errors.js';
import { readWALBatches } from '../wal/reader.js';
import { decodeRecord, decodeSamplesInto, RECORD_SAMPLES, recordType, type SampleColumns } from '../wal/records.js';

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
  const apply = (record: Uint8Array) => {
    result.records++;
    if (recordType(record) === RECORD_SAMPLES) {
      cols = decodeSamplesInto(record, cols);
      const { refs, ts, values } = cols;
      let last: MemSeries | undefined;
      let lastRef = -1;
      for (let i = 0; i < cols.length; i++) {
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
      return;
    }
    const rec = decodeRecord(record);
    if (rec.type === 'series') {
      for (const s of rec.series) {
        const before = head.numSeries;
        const ms = head.getOrCreateWithRef(s.ref, s.labels);
        if (s.ref < dense.length) dense[s.ref] = ms;
        if (ms.ref !== s.ref) multiRef.set(s.ref, ms.ref);
        else if (mmapped !== undefined && head.numSeries > before) {
          const chunks = mmapped.get(s.ref);
          if (chunks !== undefined) {
            attachMmappedChunks(head, ms, chunks);
            result.mmappedChunks += chunks.length;
            // Every chunk encoding starts with its sample count, 2 bytes big endian.
            for (const c of chunks) result.mmappedSamples += ((c.data[0] as number) << 8) | (c.data[1] as number);
          }
        }
      }
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

  let from = 0;
  const snap = opts.snapshot;
  const cp = await lastCheckpoint(walDir);
  if (cp !== undefined && (snap === undefined || cp.index >= snap.segment)) {
    result.checkpoint = cp.index;
    from = cp.index + 1;
    for await (const batch of readWALBatches(cp.dir)) for (const e of batch) apply(e.record);
  }
  let fromOffset = 0;
  if (snap !== undefined && snap.segment >= from) {
    from = snap.segment;
    fromOffset = snap.offset;
  }
  try {
    for await (const batch of readWALBatches(walDir, { fromSegment: from, fromOffset }))
      for (const e of batch) apply(e.record);
  } catch (err) {
    if (!(err instanceof WalCorruptionError)) throw err;
    result.corruption = err;
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
