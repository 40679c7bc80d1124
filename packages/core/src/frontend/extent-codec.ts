import { endianness } from 'node:os';
import type { MatrixStats } from './matrix.js';
import { ColumnBuilder, type RawSeries, type SampleColumn, type SampleRun, sampleTime } from './raw-matrix.js';
import type { Extent } from './results-cache.js';

/**
 * A results cache entry (format 2): the extents of one cache key with their float samples as one
 * column, so a hit needs no JSON.parse per sample and the answer is written from the entry's bytes.
 *
 *   ┌──────────────────────────────┬──────────────────┬──────────────────┐
 *   │ "TSRC" 0x02 0x00 0x00 0x00   │ header len (u32) │ samples (u32)    │  16 bytes, LE
 *   ├──────────────────────────────┴──────────────────┴──────────────────┤
 *   │ header: JSON {key, le, extents: [{start, end, warnings, infos,     │
 *   │   stats?, series: [{metric, n, histograms}]}]}, zero padded to 8   │
 *   ├────────────────────────────────────────────────────────────────────┤
 *   │ sample starts: u32 × samples                                       │  host byte order (`le`)
 *   ├────────────────────────────────────────────────────────────────────┤
 *   │ sample bytes: each series' samples as `[<s>,"<v>"],…` (JSON text)  │
 *   └────────────────────────────────────────────────────────────────────┘
 *
 * Series take their `n` samples one after another in header order, their bytes back to back (a
 * comma between samples of one series only). Timestamps and sample ends are not stored: a read
 * takes them from the bytes (the timestamp text after each start), which costs less than the
 * 12 bytes per sample they would add to entries a memcached item limit applies to. Entries of
 * format 1 (one JSON document) and of other keys (a hash collision) read as misses.
 */
const MAGIC = [0x54, 0x53, 0x52, 0x43, 0x02, 0x00, 0x00, 0x00];
const FIXED = 16;
const LITTLE_ENDIAN = endianness() === 'LE';

interface Header {
  key: string;
  le: boolean;
  extents: {
    start: number;
    end: number;
    warnings: string[];
    infos: string[];
    stats?: MatrixStats;
    series: { metric: Record<string, string>; n: number; histograms: [number, unknown][] }[];
  }[];
}

const align8 = (n: number) => (n + 7) & ~7;

/** The cache entry of `extents` under `key`. */
export function encodeExtents(key: string, extents: readonly Extent[]): Uint8Array {
  let samples = 0;
  let bytes = 0;
  for (const e of extents)
    for (const s of e.resp.series)
      for (const r of s.runs) {
        samples += r.to - r.from;
        bytes += (r.col.ends[r.to - 1] as number) - (r.col.starts[r.from] as number) + 1;
      }
  const b = new ColumnBuilder(samples, bytes);
  const header: Header = {
    key,
    le: LITTLE_ENDIAN,
    extents: extents.map((e) => ({
      start: e.start,
      end: e.end,
      warnings: e.resp.warnings,
      infos: e.resp.infos,
      ...(e.resp.stats ? { stats: e.resp.stats } : {}),
      series: e.resp.series.map((s) => {
        const from = b.count;
        for (const r of s.runs) b.copy(r.col, r.from, r.to);
        b.endSeries();
        return { metric: s.metric, n: b.count - from, histograms: s.histograms };
      }),
    })),
  };
  const col = b.finish();
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const n = col.ts.length;
  const columns = align8(FIXED + head.length);
  const out = new Uint8Array(columns + 4 * n + col.buf.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, head.length, true);
  view.setUint32(12, n, true);
  out.set(head, FIXED);
  new Uint32Array(out.buffer, columns, n).set(col.starts);
  out.set(col.buf, columns + 4 * n);
  return out;
}

/**
 * The extents of a cache entry, or undefined when it is of another format or key. Throws when
 * the entry is damaged (the caller logs it and treats it as a miss).
 */
export function decodeExtents(entry: Uint8Array, key: string): Extent[] | undefined {
  if (entry.length < FIXED) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (entry[i] !== MAGIC[i]) return undefined;
  const view = new DataView(entry.buffer, entry.byteOffset, entry.byteLength);
  const headLen = view.getUint32(8, true);
  const n = view.getUint32(12, true);
  if (FIXED + headLen > entry.length) throw new Error('cache entry header past its end');
  const header = JSON.parse(Buffer.from(entry.buffer, entry.byteOffset + FIXED, headLen).toString('utf8')) as Header;
  if (header.key !== key || header.le !== LITTLE_ENDIAN) return undefined;
  const columns = align8(FIXED + headLen);
  if (columns + 4 * n > entry.length) throw new Error('cache entry columns past its end');
  // A typed array view needs an aligned offset; an entry from a network cache may not have one.
  const starts =
    (entry.byteOffset + columns) % 4 === 0
      ? new Uint32Array(entry.buffer, entry.byteOffset + columns, n)
      : new Uint32Array(entry.slice(columns, columns + 4 * n).buffer);
  const bytes = entry.subarray(columns + 4 * n);
  const counts: number[] = [];
  for (const e of header.extents) for (const s of e.series) counts.push(s.n);
  const col = rebuildColumn(bytes, starts, counts);
  let next = 0;
  const extents = header.extents.map((e): Extent => {
    const series = e.series.map((s): RawSeries => {
      if (!Number.isInteger(s.n) || s.n < 0 || next + s.n > n) throw new Error('cache entry sample count mismatch');
      // The first and last timestamps are where hits cut and join runs: read (and checked) now.
      if (s.n > 0) {
        sampleTime(col, next);
        sampleTime(col, next + s.n - 1);
      }
      const runs: SampleRun[] = s.n > 0 ? [{ col, from: next, to: next + s.n }] : [];
      next += s.n;
      return { metric: s.metric, runs, histograms: s.histograms };
    });
    const resp = { series, warnings: e.warnings, infos: e.infos, ...(e.stats ? { stats: e.stats } : {}) };
    return { start: e.start, end: e.end, resp };
  });
  if (next !== n) throw new Error('cache entry sample count mismatch');
  return extents;
}

/**
 * The column of an entry's sample bytes from their starts: each end is where the next sample
 * starts (less the comma within a series), checked to close a sample (and to be followed by a
 * comma within a series). Timestamps are left unread (NaN) for sampleTime: a hit needs only the
 * few where runs are cut. Throws on anything out of place.
 */
function rebuildColumn(bytes: Uint8Array, starts: Uint32Array, counts: readonly number[]): SampleColumn {
  const n = starts.length;
  const mem = new ArrayBuffer(12 * n);
  const ts = new Float64Array(mem, 0, n).fill(Number.NaN);
  const ends = new Uint32Array(mem, 8 * n, n);
  const size = bytes.length;
  let i = 0;
  for (const count of counts) {
    if (!Number.isInteger(count) || count < 0 || i + count > n) throw new Error('cache entry sample count mismatch');
    const last = i + count - 1;
    for (; i <= last; i++) {
      const start = starts[i] as number;
      const end = i < last ? (starts[i + 1] as number) - 1 : i + 1 < n ? (starts[i + 1] as number) : size;
      if (
        !(start < end && end <= size) ||
        bytes[start] !== 0x5b ||
        bytes[end - 1] !== 0x5d ||
        (i < last && bytes[end] !== 0x2c)
      )
        throw new Error('cache entry sample out of place');
      ends[i] = end;
    }
  }
  if (i !== n) throw new Error('cache entry sample count mismatch');
  return { buf: bytes, ts, starts, ends };
}
