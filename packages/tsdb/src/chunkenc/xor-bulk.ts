import { allocChunkBytes, putUvarint64, putVarint } from './xor.js';

// Scratch view to move between a float64 and its two 32-bit halves (little-endian platforms).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const TWO_32 = 4294967296;

// Encoder state lives in module variables so the inner loop needs no object property traffic.
let out = new Uint8Array(4096);
let bp = 0;
let acc = 0;
let accBits = 0;

function grow(): void {
  const next = new Uint8Array(out.length * 2);
  next.set(out);
  out = next;
}

// Appends the low n (1..32) bits of v.
function put(v: number, n: number): void {
  const free = 32 - accBits;
  if (n < free) {
    acc = (acc << n) | (v & ((1 << n) - 1));
    accBits += n;
    return;
  }
  const rest = n - free;
  const word = free === 32 ? v >>> rest : (acc << free) | ((v >>> rest) & ((1 << free) - 1));
  if (bp + 8 > out.length) grow();
  out[bp] = word >>> 24;
  out[bp + 1] = (word >>> 16) & 0xff;
  out[bp + 2] = (word >>> 8) & 0xff;
  out[bp + 3] = word & 0xff;
  bp += 4;
  acc = rest === 0 ? 0 : v & ((1 << rest) - 1);
  accBits = rest;
}

const varint = new Uint8Array(10);

/**
 * Encodes samples [start, end) of the columns into one XOR chunk in a single pass, producing the
 * same bytes as appending them one by one to an XorEncoder (the fast path used when the chunk
 * boundaries are known up front, as in block writing). Timestamps must increase.
 */
export function encodeXorChunk(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  start: number,
  end: number,
): Uint8Array {
  const count = end - start;
  bp = 2;
  acc = 0;
  accBits = 0;
  let trailingEmptyByte = false;
  if (count <= 0) {
    const e = allocChunkBytes(2);
    e[0] = 0;
    e[1] = 0;
    return e;
  }
  let t = timestamps[start] as number;
  f64[0] = values[start] as number;
  let vLo = u32[0] as number;
  let vHi = u32[1] as number;
  let k = putVarint(varint, t);
  for (let i = 0; i < k; i++) put(varint[i] as number, 8);
  put(vHi, 32);
  put(vLo, 32);
  trailingEmptyByte = true;
  let tDelta = 0;
  let leading = 0xff;
  let trailing = 0;
  for (let idx = start + 1; idx < end; idx++) {
    const nt = timestamps[idx] as number;
    const delta = nt - t;
    if (idx === start + 1) {
      k = putUvarint64(varint, delta);
      for (let i = 0; i < k; i++) put(varint[i] as number, 8);
    } else {
      const dod = delta - tDelta;
      if (dod === 0) put(0, 1);
      else if (dod >= -8191 && dod <= 8192) put((0b10 << 14) | (dod & 0x3fff), 16);
      else if (dod >= -65535 && dod <= 65536) put((0b110 << 17) | (dod & 0x1ffff), 20);
      else if (dod >= -524287 && dod <= 524288) put((0b1110 << 20) | (dod & 0xfffff), 24);
      else {
        put(0b1111, 4);
        const dhi = Math.floor(dod / TWO_32);
        put(dhi | 0, 32);
        put((dod - dhi * TWO_32) >>> 0, 32);
      }
    }
    tDelta = delta;
    t = nt;
    f64[0] = values[idx] as number;
    const lo = u32[0] as number;
    const hi = u32[1] as number;
    const dHi = (hi ^ vHi) >>> 0;
    const dLo = (lo ^ vLo) >>> 0;
    vHi = hi;
    vLo = lo;
    if (dHi === 0 && dLo === 0) {
      put(0, 1);
      trailingEmptyByte = false;
      continue;
    }
    let nl = dHi !== 0 ? Math.clz32(dHi) : 32 + Math.clz32(dLo);
    const nt0 = dLo !== 0 ? 31 - Math.clz32(dLo & -dLo) : 63 - Math.clz32(dHi & -dHi);
    if (nl >= 32) nl = 31;
    let shift: number;
    let sig: number;
    if (leading !== 0xff && nl >= leading && nt0 >= trailing) {
      put(0b10, 2);
      shift = trailing;
      sig = 64 - leading - trailing;
    } else {
      leading = nl;
      trailing = nt0;
      sig = 64 - nl - nt0;
      put((0b11 << 11) | (nl << 6) | (sig & 0x3f), 13);
      shift = nt0;
    }
    const aligned = (accBits & 7) === 0;
    let sh: number;
    let sl: number;
    if (shift === 0) {
      sh = dHi;
      sl = dLo;
    } else if (shift >= 32) {
      sh = 0;
      sl = dHi >>> (shift - 32);
    } else {
      sl = ((dLo >>> shift) | (dHi << (32 - shift))) >>> 0;
      sh = dHi >>> shift;
    }
    if (sig <= 32) put(sl, sig);
    else {
      put(sh, sig - 32);
      put(sl, 32);
    }
    trailingEmptyByte = aligned && (sig & 7) === 0;
  }
  const len = bp + ((accBits + 7) >>> 3) + ((accBits & 7) === 0 && trailingEmptyByte ? 1 : 0);
  const res = allocChunkBytes(len);
  res.set(out.subarray(0, bp));
  res[0] = count >>> 8;
  res[1] = count & 0xff;
  let p = bp;
  if (accBits > 0) {
    const word = (acc << (32 - accBits)) >>> 0;
    for (let s = 0; s < accBits; s += 8) res[p++] = (word >>> (24 - s)) & 0xff;
  }
  // allocChunkBytes may hand out a slab region that held nothing yet, but make the optional
  // trailing empty byte explicit anyway.
  for (; p < len; p++) res[p] = 0;
  return res;
}
