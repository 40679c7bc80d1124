import { endianness } from 'node:os';
import type { MatrixStats } from './matrix.js';
import { ColumnBuilder, type RawSeries, type SampleColumn, type SampleRun } from './raw-matrix.js';
import type { Extent } from './results-cache.js';

/**
 * A results cache entry (format 2): the extents of one cache key with their float samples as one
 * column, so a hit is a few typed array views and the answer is copied from the entry's bytes.
 *
 *   ┌──────────────────────────────┬──────────────────┬──────────────────┐
 *   │ "TSRC" 0x02 0x00 0x00 0x00   │ header len (u32) │ samples (u32)    │  16 bytes, LE
 *   ├──────────────────────────────┴──────────────────┴──────────────────┤
 *   │ header: JSON {key, le, extents: [{start, end, warnings, infos,     │
 *   │   stats?, series: [{metric, n, histograms}]}]}, zero padded to 8   │
 *   ├────────────────────────────────────────────────────────────────────┤
 *   │ timestamps, ms: f64 × samples                                      │
 *   │ sample starts: u32 × samples   sample ends: u32 × samples          │  host byte order (`le`)
 *   ├────────────────────────────────────────────────────────────────────┤
 *   │ sample bytes: each series' samples as `[<s>,"<v>"],…` (JSON text)  │
 *   └────────────────────────────────────────────────────────────────────┘
 *
 * Series take their `n` samples one after another in header order. Entries of format 1 (one JSON
 * document) and of other keys (a hash collision) read as misses.
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
  const out = new Uint8Array(columns + 16 * n + col.buf.length);
  out.set(MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, head.length, true);
  view.setUint32(12, n, true);
  out.set(head, FIXED);
  new Float64Array(out.buffer, columns, n).set(col.ts);
  new Uint32Array(out.buffer, columns + 8 * n, n).set(col.starts);
  new Uint32Array(out.buffer, columns + 12 * n, n).set(col.ends);
  out.set(col.buf, columns + 16 * n);
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
  if (columns + 16 * n > entry.length) throw new Error('cache entry columns past its end');
  // Typed array views need an aligned offset; an entry from a network cache may not have one.
  let buf = entry;
  if (buf.byteOffset % 8 !== 0) {
    buf = new Uint8Array(entry.length);
    buf.set(entry);
  }
  const col: SampleColumn = {
    ts: new Float64Array(buf.buffer, buf.byteOffset + columns, n),
    starts: new Uint32Array(buf.buffer, buf.byteOffset + columns + 8 * n, n),
    ends: new Uint32Array(buf.buffer, buf.byteOffset + columns + 12 * n, n),
    buf: buf.subarray(columns + 16 * n),
  };
  const size = col.buf.length;
  for (let i = 0; i < n; i++)
    if (!((col.starts[i] as number) < (col.ends[i] as number) && (col.ends[i] as number) <= size))
      throw new Error('cache entry sample out of range');
  let next = 0;
  const extents = header.extents.map((e): Extent => {
    const series = e.series.map((s): RawSeries => {
      if (!Number.isInteger(s.n) || s.n < 0 || next + s.n > n) throw new Error('cache entry sample count mismatch');
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
