import type { BlockWriter } from '../block/writer.js';
import { ChunkEncoding } from '../chunkenc/chunk.js';
import { appendXorSamples, XorWriterState } from '../chunkenc/xor-writer.js';
import type { ChunkRecords } from '../chunks/segment-writer.js';
import { crc32c } from '../encoding/crc32c.js';
import type { BlockSeriesCursor } from './block-series.js';
import { GoHeap } from './go-heap.js';
import { chainXorRanges, MERGED_CHUNK_SAMPLES } from './merge.js';

// Slots for a series' chunks to start with (they grow). Re-encoded records go into 64 KiB
// buffers: a 120-sample XOR chunk is well under 1 KiB, its record 10 bytes more at most.
const INITIAL_SLOTS = 64;
const RECORD_BUFFER = 64 * 1024;

/**
 * Internal: mergeSeriesChunks for the commonest vertical compaction, a series whose parts in
 * several blocks are plain (no deletions, no trimming) and hold XOR chunks only, done on the
 * chunks' segment records instead of chunk objects. The records are gathered from the cursors'
 * batch bytes (as the copy path does) and go through the same steps as mergeSeriesChunks —
 * Prometheus's compactChunkIterator (storage/merge.go) with Go's heap moves replayed on cursor
 * numbers — so the output chunks are the same bytes: a chunk overlapping no other keeps its
 * record, CRC included; a run of overlapping chunks is decoded, chained (chainXorRanges) and
 * re-encoded in 120-sample chunks straight into records with a fresh CRC, and the chunks after
 * the first go back into the merge. The result is handed to the writer as records, so a merged
 * series costs no object per chunk and, when the write buffer has room, no await.
 *
 * Anything unusual (a chunk that is not XOR, a CRC mismatch, a chunk that does not decode) makes
 * `merge` return false before anything is written: the caller then takes the general path, which
 * reports the error exactly as before or handles the encoding. One instance per compaction; not
 * for concurrent use.
 */
export class RecordMerger {
  // The chunks in play ("slots"): the inputs' records, then the merged chunks' records. A slot's
  // record is its length field at recStart in bytes, its encoding byte at encAt, then dataLen
  // bytes of data and the CRC.
  private readonly slots: ChunkRecords = newRecords(INITIAL_SLOTS);
  private minT: Float64Array = new Float64Array(INITIAL_SLOTS);
  private maxT: Float64Array = new Float64Array(INITIAL_SLOTS);
  private nSlots = 0;
  // Chunk cursors (one per input series, one per merged run with chunks left): current and end
  // slot. The heap holds cursor numbers, ordered as Prometheus orders chunk iterators.
  private cur = new Int32Array(16);
  private end = new Int32Array(16);
  private nCursors = 0;
  private readonly heap = new GoHeap<number>((a, b) => {
    const x = this.cur[a] as number;
    const y = this.cur[b] as number;
    const xm = this.minT[x] as number;
    const ym = this.minT[y] as number;
    return xm === ym ? (this.maxT[x] as number) < (this.maxT[y] as number) : xm < ym;
  });
  // The output: records and time ranges, in order.
  private readonly out: ChunkRecords = newRecords(INITIAL_SLOTS);
  private outMin: Float64Array = new Float64Array(INITIAL_SLOTS);
  private outMax: Float64Array = new Float64Array(INITIAL_SLOTS);
  // Records of re-encoded chunks. A full buffer is replaced, not grown, so the slots pointing
  // into it stay valid; it is reused from the start for the next series.
  private rec = new Uint8Array(RECORD_BUFFER);
  private recPos = 0;
  private readonly enc = new XorWriterState(4096);
  // One overlapping run: its slots, then their data ranges for chainXorRanges.
  private run = new Int32Array(8);
  private runSrc: Uint8Array[] = [];
  private runFrom = new Int32Array(8);
  private runTo = new Int32Array(8);
  private mergedT = new Float64Array(1024);
  private mergedV = new Float64Array(1024);

  /**
   * Merges the chunks of the cursors' current series (all plain; given in heap order, as
   * Prometheus's merge series set hands them over). True when the merged records are ready for
   * write/tryWrite; false (nothing done) when the series needs the general path.
   */
  merge(group: readonly BlockSeriesCursor[]): boolean {
    this.nSlots = 0;
    this.nCursors = 0;
    this.recPos = 0;
    this.out.count = 0;
    try {
      return this.gather(group) && this.compactChunks();
    } catch {
      // A damaged record or a chunk that does not decode: the general path names it.
      while (this.heap.pop() !== undefined);
      return false;
    }
  }

  // The cursors' chunk records as the first slots, one cursor each; false when one is not XOR or
  // fails its CRC check (Prometheus's chunk reader checks every chunk before the merge sees it).
  private gather(group: readonly BlockSeriesCursor[]): boolean {
    let n = 0;
    for (const c of group) n += c.chunkTo - c.chunkFrom;
    this.reserveSlots(n);
    this.reserveCursors(group.length);
    for (const c of group) {
      const id = this.nCursors++;
      this.cur[id] = this.nSlots;
      this.nSlots = c.appendRecords(this.slots, this.nSlots, this.minT, this.maxT);
      this.end[id] = this.nSlots;
    }
    const { bytes, encAt, dataLen } = this.slots;
    for (let s = 0; s < n; s++) {
      const b = bytes[s] as Uint8Array;
      const e = encAt[s] as number;
      if (b[e] !== ChunkEncoding.XOR) return false;
      const d = e + 1 + (dataLen[s] as number);
      const want =
        (((b[d] as number) << 24) |
          ((b[d + 1] as number) << 16) |
          ((b[d + 2] as number) << 8) |
          (b[d + 3] as number)) >>>
        0;
      if (crc32c(b, 0, e, d) !== want) return false;
    }
    return true;
  }

  /** Writes the merged series without I/O when the writer has room (BlockWriter.tryCopySeries). */
  tryWrite(labelRefs: Uint32Array, writer: BlockWriter): boolean {
    return writer.tryCopySeries(labelRefs, this.out, this.outMin, this.outMax);
  }

  /** Writes the merged series (BlockWriter.copySeries). */
  async write(labelRefs: Uint32Array, writer: BlockWriter): Promise<void> {
    await writer.copySeries(labelRefs, this.out, this.outMin, this.outMax);
  }

  // compactChunkIterator.Next until the end, every chunk it yields appended to `out`.
  private compactChunks(): boolean {
    const heap = this.heap;
    for (let id = 0; id < this.nCursors; id++) if ((this.cur[id] as number) < (this.end[id] as number)) heap.push(id);
    for (;;) {
      const id = heap.pop();
      if (id === undefined) break;
      const curr = this.cur[id] as number;
      this.advance(id);
      let nRun = 0;
      let oMaxTime = this.maxT[curr] as number;
      let prev = curr;
      for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
        const next = this.cur[top] as number;
        if ((this.minT[next] as number) > oMaxTime) break;
        if (!this.sameChunk(next, prev)) {
          nRun = this.addToRun(nRun, next);
          if ((this.maxT[next] as number) > oMaxTime) oMaxTime = this.maxT[next] as number;
          prev = next;
        }
        heap.pop();
        this.advance(top);
      }
      if (nRun === 0) {
        this.emit(curr);
        continue;
      }
      // Prometheus passes the overlapping chunks first and the popped one last.
      nRun = this.addToRun(nRun, curr);
      const first = this.mergeRun(nRun);
      if (first < 0) {
        while (heap.pop() !== undefined);
        return false;
      }
      this.emit(first);
      if (first + 1 < this.nSlots) {
        const c = this.nCursors++;
        this.reserveCursors(c + 1);
        this.cur[c] = first + 1;
        this.end[c] = this.nSlots;
        heap.push(c);
      }
    }
    return this.out.count > 0;
  }

  // The cursor's next chunk; back into the heap when it has one (Go: if iter.Next() { Push }).
  private advance(id: number): void {
    const next = (this.cur[id] as number) + 1;
    this.cur[id] = next;
    if (next < (this.end[id] as number)) this.heap.push(id);
  }

  private addToRun(nRun: number, slot: number): number {
    if (nRun === this.run.length) {
      const grown = new Int32Array(nRun * 2);
      grown.set(this.run);
      this.run = grown;
      this.runFrom = new Int32Array(nRun * 2);
      this.runTo = new Int32Array(nRun * 2);
    }
    this.run[nRun] = slot;
    return nRun + 1;
  }

  // Decodes, chains and re-encodes the run's chunks into new slots (120 samples each); returns
  // the first new slot, or -1 when a chunk does not decode.
  private mergeRun(nRun: number): number {
    const { bytes, encAt, dataLen } = this.slots;
    let total = 0;
    for (let i = 0; i < nRun; i++) {
      const s = this.run[i] as number;
      const b = bytes[s] as Uint8Array;
      const from = (encAt[s] as number) + 1;
      const to = from + (dataLen[s] as number);
      this.runSrc[i] = b;
      this.runFrom[i] = from;
      this.runTo[i] = to;
      if (to - from >= 2) total += ((b[from] as number) << 8) | (b[from + 1] as number);
    }
    if (this.mergedT.length < total) {
      const cap = Math.max(total, this.mergedT.length * 2);
      this.mergedT = new Float64Array(cap);
      this.mergedV = new Float64Array(cap);
    }
    const ts = this.mergedT;
    const vs = this.mergedV;
    const n = chainXorRanges(nRun, this.runSrc, this.runFrom, this.runTo, ts, vs, '');
    if (n === 0) return -1;
    const first = this.nSlots;
    this.reserveSlots(first + Math.ceil(n / MERGED_CHUNK_SAMPLES));
    for (let i = 0; i < n; i += MERGED_CHUNK_SAMPLES) {
      const e = Math.min(n, i + MERGED_CHUNK_SAMPLES);
      this.encodeSlot(ts, vs, i, e);
    }
    return first;
  }

  // Encodes samples [from, to) as one XOR chunk record in `rec` and adds its slot.
  private encodeSlot(ts: Float64Array, vs: Float64Array, from: number, to: number): void {
    const enc = this.enc;
    enc.reset();
    appendXorSamples(enc, ts, vs, from, to);
    const len = enc.byteLength;
    // Length field (≤ 5 bytes), encoding byte, data, CRC.
    if (this.recPos + 5 + 1 + len + 4 > this.rec.length) {
      this.rec = new Uint8Array(Math.max(RECORD_BUFFER, 5 + 1 + len + 4));
      this.recPos = 0;
    }
    const rec = this.rec;
    const s = this.nSlots++;
    const start = this.recPos;
    let p = start;
    let l = len;
    while (l >= 0x80) {
      rec[p++] = (l & 0x7f) | 0x80;
      l >>>= 7;
    }
    rec[p++] = l;
    const e = p;
    rec[p++] = ChunkEncoding.XOR;
    p = enc.writeTo(rec, p);
    const crc = crc32c(rec, 0, e, p);
    rec[p++] = crc >>> 24;
    rec[p++] = crc >>> 16;
    rec[p++] = crc >>> 8;
    rec[p++] = crc;
    this.recPos = p;
    const slots = this.slots;
    slots.bytes[s] = rec;
    slots.recStart[s] = start;
    slots.encAt[s] = e;
    slots.dataLen[s] = len;
    this.minT[s] = ts[from] as number;
    this.maxT[s] = ts[to - 1] as number;
  }

  // Prometheus's 1:1 duplicate test: same range and the same bytes.
  private sameChunk(a: number, b: number): boolean {
    if (this.minT[a] !== this.minT[b] || this.maxT[a] !== this.maxT[b]) return false;
    const { bytes, encAt, dataLen } = this.slots;
    const len = dataLen[a] as number;
    if (len !== dataLen[b]) return false;
    const x = bytes[a] as Uint8Array;
    const y = bytes[b] as Uint8Array;
    const xa = (encAt[a] as number) + 1;
    const ya = (encAt[b] as number) + 1;
    for (let i = 0; i < len; i++) if (x[xa + i] !== y[ya + i]) return false;
    return true;
  }

  private emit(slot: number): void {
    const out = this.out;
    const k = out.count;
    if (k === out.encAt.length) {
      growRecords(out, k * 2);
      this.outMin = grownF64(this.outMin, k * 2);
      this.outMax = grownF64(this.outMax, k * 2);
    }
    const slots = this.slots;
    out.bytes[k] = slots.bytes[slot] as Uint8Array;
    out.recStart[k] = slots.recStart[slot] as number;
    out.encAt[k] = slots.encAt[slot] as number;
    out.dataLen[k] = slots.dataLen[slot] as number;
    this.outMin[k] = this.minT[slot] as number;
    this.outMax[k] = this.maxT[slot] as number;
    out.count = k + 1;
  }

  private reserveSlots(n: number): void {
    if (this.slots.encAt.length >= n) return;
    const cap = Math.max(n, this.slots.encAt.length * 2);
    growRecords(this.slots, cap);
    this.minT = grownF64(this.minT, cap);
    this.maxT = grownF64(this.maxT, cap);
  }

  private reserveCursors(n: number): void {
    if (this.cur.length >= n) return;
    const cap = Math.max(n, this.cur.length * 2);
    const cur = new Int32Array(cap);
    cur.set(this.cur);
    const end = new Int32Array(cap);
    end.set(this.end);
    this.cur = cur;
    this.end = end;
  }
}

function newRecords(n: number): ChunkRecords {
  return { count: 0, bytes: [], recStart: new Int32Array(n), encAt: new Int32Array(n), dataLen: new Int32Array(n) };
}

// Grows the records' columns to `cap`, keeping their contents.
function growRecords(r: ChunkRecords, cap: number): void {
  const grow = (a: Int32Array) => {
    const g = new Int32Array(cap);
    g.set(a);
    return g;
  };
  r.recStart = grow(r.recStart);
  r.encAt = grow(r.encAt);
  r.dataLen = grow(r.dataLen);
}

function grownF64(a: Float64Array, cap: number): Float64Array<ArrayBuffer> {
  const g = new Float64Array(cap);
  g.set(a);
  return g;
}
