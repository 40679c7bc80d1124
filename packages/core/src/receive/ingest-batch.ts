// The compact form in which an ingest worker (ingest-worker.ts) hands a decoded remote-write
// request to the main thread: one ArrayBuffer, transferred without a copy, so the main thread
// pays neither for decoding nor for a structured clone of an object graph (which costs about as
// much as decoding). Layout, all little-endian as the platform's typed arrays:
//
//   ┌────────────────────────────────────────────────────────────────────────────┐
//   │ header  int32 × 4: series, samples in the request, samples kept, key bytes │
//   ├────────────────────────────────────────────────────────────────────────────┤
//   │ per series int32 × 3: label-set error (0 = valid, else 1 + index in        │
//   │   LABEL_SET_ERRORS), end of its key in the keys, end of its samples        │
//   ├──────────── padded to 8 bytes ─────────────────────────────────────────────┤
//   │ timestamps float64 × samples kept (ms)                                     │
//   │ values     float64 × samples kept (staleness markers keep their NaN bits)  │
//   ├────────────────────────────────────────────────────────────────────────────┤
//   │ keys: per valid series (name 0xff value 0xff)* as UTF-8                    │
//   └────────────────────────────────────────────────────────────────────────────┘
//
// A series key read as latin1 is a string that is cheap to make (one byte, one char) and unique
// per label set (0xff never occurs in UTF-8), so it can key a Map from label set to head ref.
// Series with invalid labels keep no samples or key: the writer only counts them.
import { STALE_NAN } from '@thanos-ts/tsdb';
import type { WireLabel, WriteSeries } from './wire.js';
import { LABEL_SET_ERRORS, validateLabels } from './writer.js';

const HEADER_INTS = 4;
const PER_SERIES_INTS = 3;
const SEP = 0xff;

/** A decoded remote-write request in the compact form; see the file comment for the layout. @internal */
export class IngestBatch {
  /** Series in the request, valid or not. */
  readonly series: number;
  /** Float samples in the request, of valid and invalid series (what request limits count). */
  readonly samples: number;
  private readonly meta: Int32Array;
  private readonly ts: Float64Array;
  private readonly vs: Float64Array;
  private readonly vBits: Uint32Array;
  private readonly keys: Buffer;

  constructor(readonly buffer: ArrayBuffer) {
    const head = new Int32Array(buffer, 0, HEADER_INTS);
    this.series = head[0] as number;
    this.samples = head[1] as number;
    const kept = head[2] as number;
    const keyBytes = head[3] as number;
    this.meta = new Int32Array(buffer, HEADER_INTS * 4, this.series * PER_SERIES_INTS);
    const f64 = f64Offset(this.series);
    this.ts = new Float64Array(buffer, f64, kept);
    this.vs = new Float64Array(buffer, f64 + kept * 8, kept);
    this.vBits = new Uint32Array(buffer, f64 + kept * 8, kept * 2);
    this.keys = Buffer.from(buffer, f64 + kept * 16, keyBytes);
  }

  /** Why series `i` cannot be stored (a {@link validateLabels} text), or undefined when it can. */
  labelError(i: number): string | undefined {
    const e = this.meta[i * PER_SERIES_INTS] as number;
    return e === 0 ? undefined : LABEL_SET_ERRORS[e - 1];
  }

  /** Series `i`'s label key (valid series only): `(name 0xff value 0xff)*` read as latin1. */
  key(i: number): string {
    return this.keys.toString('latin1', this.keyStart(i), this.meta[i * PER_SERIES_INTS + 1] as number);
  }

  /** Series `i`'s labels as a sorted flat name/value array (valid series only), decoded from its key. */
  flatLabels(i: number): string[] {
    const end = this.meta[i * PER_SERIES_INTS + 1] as number;
    const keys = this.keys;
    const flat: string[] = [];
    let start = this.keyStart(i);
    for (let p = start; p < end; p++) {
      if (keys[p] !== SEP) continue;
      flat.push(keys.toString('utf8', start, p));
      start = p + 1;
    }
    return flat;
  }

  /** Index of series `i`'s first sample in {@link timestamp} / {@link value}. */
  sampleStart(i: number): number {
    return i === 0 ? 0 : (this.meta[(i - 1) * PER_SERIES_INTS + 2] as number);
  }

  /** One past series `i`'s last sample. */
  sampleEnd(i: number): number {
    return this.meta[i * PER_SERIES_INTS + 2] as number;
  }

  /** Timestamp of sample `j`, ms. */
  timestamp(j: number): number {
    return this.ts[j] as number;
  }

  /** Value of sample `j`, with a staleness marker returned as STALE_NAN. */
  value(j: number): number {
    const v = this.vs[j] as number;
    if (!Number.isNaN(v)) return v;
    // A NaN read from memory may lose its payload: look at the bits.
    return this.vBits[2 * j] === 2 && this.vBits[2 * j + 1] === 0x7ff00000 ? STALE_NAN : v;
  }

  private keyStart(i: number): number {
    return i === 0 ? 0 : (this.meta[(i - 1) * PER_SERIES_INTS + 1] as number);
  }
}

function f64Offset(series: number): number {
  const bytes = (HEADER_INTS + series * PER_SERIES_INTS) * 4;
  return (bytes + 7) & ~7;
}

/**
 * Validates the labels of decoded series and packs them into one ArrayBuffer (the worker side
 * of {@link IngestBatch}). Series must carry float samples only. @internal
 */
export function encodeIngestBatch(series: readonly WriteSeries[]): ArrayBuffer {
  const n = series.length;
  const meta = new Int32Array(n * PER_SERIES_INTS);
  let samples = 0;
  let kept = 0;
  let keys = Buffer.allocUnsafe(4096);
  let keyEnd = 0;
  const put = (s: string) => {
    // UTF-8 needs at most 3 bytes per UTF-16 unit, plus the separator.
    if (keyEnd + s.length * 3 + 1 > keys.length) {
      const grown = Buffer.allocUnsafe(Math.max(keys.length * 2, keyEnd + s.length * 3 + 1));
      keys.copy(grown, 0, 0, keyEnd);
      keys = grown;
    }
    keyEnd += keys.write(s, keyEnd, 'utf8');
    keys[keyEnd++] = SEP;
  };
  const bad: boolean[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = series[i] as WriteSeries;
    samples += s.timestamps.length;
    const err = validateLabels(s.labels);
    bad[i] = err !== undefined;
    if (err !== undefined) meta[i * PER_SERIES_INTS] = LABEL_SET_ERRORS.indexOf(err) + 1;
    else {
      for (const l of s.labels as WireLabel[]) {
        put(l.name);
        put(l.value);
      }
      kept += s.timestamps.length;
    }
    meta[i * PER_SERIES_INTS + 1] = keyEnd;
    meta[i * PER_SERIES_INTS + 2] = kept;
  }
  const f64 = f64Offset(n);
  const buffer = new ArrayBuffer(f64 + kept * 16 + keyEnd);
  const head = new Int32Array(buffer, 0, HEADER_INTS);
  head[0] = n;
  head[1] = samples;
  head[2] = kept;
  head[3] = keyEnd;
  new Int32Array(buffer, HEADER_INTS * 4, n * PER_SERIES_INTS).set(meta);
  const ts = new Float64Array(buffer, f64, kept);
  const vs = new Float64Array(buffer, f64 + kept * 8, kept);
  const view = new DataView(buffer);
  let j = 0;
  for (let i = 0; i < n; i++) {
    if (bad[i]) continue;
    const s = series[i] as WriteSeries;
    const stale = s.staleAt;
    let nextStale = 0;
    for (let k = 0; k < s.timestamps.length; k++, j++) {
      ts[j] = s.timestamps[k] as number;
      if (stale !== undefined && stale[nextStale] === k) {
        nextStale++;
        // Written as bits: a NaN stored through a number may come out as the canonical one.
        const at = f64 + kept * 8 + j * 8;
        view.setUint32(at, 2, true);
        view.setUint32(at + 4, 0x7ff00000, true);
      } else vs[j] = s.values[k] as number;
    }
  }
  Buffer.from(buffer, f64 + kept * 16, keyEnd).set(keys.subarray(0, keyEnd));
  return buffer;
}
