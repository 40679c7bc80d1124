import type { AggrChunk, Chunk, SeriesResponse, StoreSeries } from './store-api.js';

// A hand-written encoder for thanos.SeriesResponse (what every StoreAPI server sends by the
// hundred thousand), writing the wire format directly instead of building protobufjs objects.
// Field numbers: pkg/store/storepb/rpc.proto and types.proto.

/** A Series stream message: one response, or a SeriesBatch of series (field 4). */
export type SeriesMessage = SeriesResponse | { readonly type: 'batch'; readonly series: readonly StoreSeries[] };

const ENCODING_NUMBERS = { XOR: 0, HISTOGRAM: 1, FLOAT_HISTOGRAM: 2 } as const;
const TWO_32 = 4294967296;

function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

// int64 values: negative ones take 10 bytes (two's complement), like Go's protobuf.
function int64Size(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  let x = v;
  while (x >= 128) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

/** UTF-8 length of `s`, counted in JS (cheaper than a call into Buffer for short strings). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      // A surrogate pair is one 4-byte character.
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function strSize(s: string): number {
  const n = utf8Length(s);
  return varintSize(n) + n;
}

function chunkBodySize(c: Chunk): number {
  const type = ENCODING_NUMBERS[c.type];
  let n = type ? 2 : 0;
  n += 1 + varintSize(c.data.length) + c.data.length;
  if (c.hash) n += 1 + bigVarintSize(c.hash);
  return n;
}

function bigVarintSize(v: bigint): number {
  let n = 1;
  let x = v;
  while (x >= 128n) {
    x >>= 7n;
    n++;
  }
  return n;
}

const CHUNK_FIELDS: [keyof AggrChunk, number][] = [
  ['raw', 3],
  ['count', 4],
  ['sum', 5],
  ['min', 6],
  ['max', 7],
  ['counter', 8],
];

function aggrChunkBodySize(c: AggrChunk): number {
  let n = 0;
  if (c.minTime !== 0) n += 1 + int64Size(clamp(c.minTime));
  if (c.maxTime !== 0) n += 1 + int64Size(clamp(c.maxTime));
  for (const [k] of CHUNK_FIELDS) {
    const ch = c[k] as Chunk | undefined;
    if (ch) {
      const b = chunkBodySize(ch);
      n += 1 + varintSize(b) + b;
    }
  }
  return n;
}

function clamp(v: number): number {
  if (v >= 2 ** 63) return 2 ** 63 - 1024; // encoded as math.MaxInt64 below
  if (v <= -(2 ** 63)) return -(2 ** 63);
  return Math.trunc(v);
}

function seriesBodySize(s: StoreSeries, labelSizes: number[], chunkSizes: number[]): number {
  let n = 0;
  const f = s.labels.toFlat();
  for (let i = 0; i < f.length; i += 2) {
    const b = 1 + strSize(f[i] as string) + 1 + strSize(f[i + 1] as string);
    labelSizes.push(b);
    n += 1 + varintSize(b) + b;
  }
  for (const c of s.chunks) {
    const b = aggrChunkBodySize(c);
    chunkSizes.push(b);
    n += 1 + varintSize(b) + b;
  }
  return n;
}

class WireWriter {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  uint32(v: number): void {
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }

  int64(v: number): void {
    if (v >= 0 && v < TWO_32) {
      this.uint32(v);
      return;
    }
    let lo: number;
    let hi: number;
    if (v >= 2 ** 63 - 1024) {
      lo = 0xffffffff;
      hi = 0x7fffffff;
    } else if (v >= 0) {
      lo = v % TWO_32;
      hi = Math.floor(v / TWO_32);
    } else {
      // Two's complement of |v| across 64 bits.
      const a = -v;
      let alo = a % TWO_32;
      let ahi = Math.floor(a / TWO_32);
      alo = (~alo >>> 0) + 1;
      ahi = ~ahi >>> 0;
      if (alo === TWO_32) {
        alo = 0;
        ahi = (ahi + 1) >>> 0;
      }
      lo = alo;
      hi = ahi;
    }
    while (hi > 0 || lo >= 0x80) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }

  bigVarint(v: bigint): void {
    let x = v;
    while (x >= 128n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  string(s: string): void {
    const n = utf8Length(s);
    this.uint32(n);
    if (n === s.length) {
      // ASCII: copy the code units directly; label names and most values take this path.
      const b = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
    } else this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.uint32(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

function writeChunk(w: WireWriter, c: Chunk): void {
  const type = ENCODING_NUMBERS[c.type];
  if (type) {
    w.byte(0x08);
    w.uint32(type);
  }
  w.byte(0x12);
  w.bytes(c.data);
  if (c.hash) {
    w.byte(0x18);
    w.bigVarint(c.hash);
  }
}

function writeSeries(w: WireWriter, s: StoreSeries, labelSizes: number[], chunkSizes: number[]): void {
  const f = s.labels.toFlat();
  for (let i = 0; i < f.length; i += 2) {
    w.byte(0x0a);
    w.uint32(labelSizes[i >> 1] as number);
    w.byte(0x0a);
    w.string(f[i] as string);
    w.byte(0x12);
    w.string(f[i + 1] as string);
  }
  for (let i = 0; i < s.chunks.length; i++) {
    const c = s.chunks[i] as AggrChunk;
    w.byte(0x12);
    w.uint32(chunkSizes[i] as number);
    if (c.minTime !== 0) {
      w.byte(0x08);
      w.int64(clamp(c.minTime));
    }
    if (c.maxTime !== 0) {
      w.byte(0x10);
      w.int64(clamp(c.maxTime));
    }
    for (const [k, field] of CHUNK_FIELDS) {
      const ch = c[k] as Chunk | undefined;
      if (!ch) continue;
      w.byte((field << 3) | 2);
      w.uint32(chunkBodySize(ch));
      writeChunk(w, ch);
    }
  }
}

/** Encodes one Series stream message into its wire bytes. */
export function encodeSeriesMessage(m: SeriesMessage): Buffer {
  if (m.type === 'warning') {
    const n = utf8Length(m.warning);
    const w = new WireWriter(Buffer.allocUnsafe(1 + varintSize(n) + n));
    w.byte(0x12);
    w.string(m.warning);
    return w.buf;
  }
  if (m.type === 'hints') {
    const body = 1 + strSize(m.hints.typeUrl) + 1 + varintSize(m.hints.value.length) + m.hints.value.length;
    const w = new WireWriter(Buffer.allocUnsafe(1 + varintSize(body) + body));
    w.byte(0x1a);
    w.uint32(body);
    w.byte(0x0a);
    w.string(m.hints.typeUrl);
    w.byte(0x12);
    w.bytes(m.hints.value);
    return w.buf;
  }
  const list = m.type === 'series' ? [m.series] : m.series;
  const labelSizes: number[][] = [];
  const chunkSizes: number[][] = [];
  const bodies: number[] = [];
  let inner = 0;
  for (const s of list) {
    const ls: number[] = [];
    const cs: number[] = [];
    const b = seriesBodySize(s, ls, cs);
    labelSizes.push(ls);
    chunkSizes.push(cs);
    bodies.push(b);
    inner += 1 + varintSize(b) + b;
  }
  if (m.type === 'series') {
    const b = bodies[0] as number;
    const w = new WireWriter(Buffer.allocUnsafe(1 + varintSize(b) + b));
    w.byte(0x0a);
    w.uint32(b);
    writeSeries(w, m.series, labelSizes[0] as number[], chunkSizes[0] as number[]);
    return w.buf;
  }
  const w = new WireWriter(Buffer.allocUnsafe(1 + varintSize(inner) + inner));
  w.byte(0x22);
  w.uint32(inner);
  list.forEach((s, i) => {
    w.byte(0x0a);
    w.uint32(bodies[i] as number);
    writeSeries(w, s, labelSizes[i] as number[], chunkSizes[i] as number[]);
  });
  return w.buf;
}
