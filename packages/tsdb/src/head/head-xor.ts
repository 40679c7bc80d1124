// The open XOR chunk of a head series, as fields of the series itself. The same bits as
// chunkenc's XorEncoder (both run appendXorSamples), shaped for a head holding hundreds of
// thousands of open chunks at once.
import { appendXorSamples, XorWriterState } from '../chunkenc/xor-writer.js';

// Starting capacity of an open chunk's buffer, bytes: ~20 samples of a regular scrape; a fuller
// chunk grows it once or twice, and a new chunk of the series keeps the grown buffer.
const INITIAL_BYTES = 64;

// Open-chunk buffers are carved out of shared slabs: a typed array with its own ArrayBuffer costs
// an off-heap allocation and a GC extension each, which dominated replay profiles (200k series →
// 600k ArrayBuffers with XorEncoder's batch arrays). Slabs are never reused; a carved buffer
// that grows is replaced by a plain one.
let slab = new Uint8Array(256 * 1024);
let slabPos = 0;

function carve(n: number): Uint8Array {
  if (slabPos + n > slab.length) {
    slab = new Uint8Array(slab.length);
    slabPos = 0;
  }
  const b = slab.subarray(slabPos, slabPos + n);
  slabPos += n;
  return b;
}

// A series that never had a float chunk holds no buffer.
const NO_BYTES = new Uint8Array(0);

// One-sample columns for appendXorSamples (synchronous, so sharing them is safe).
const oneT = new Float64Array(1);
const oneV = new Float64Array(1);

// XorWriterState's methods, borrowed: they only read and write the fields below.
const proto = XorWriterState.prototype;
const byteLengthOf = Object.getOwnPropertyDescriptor(proto, 'byteLength')?.get as (this: XorWriterState) => number;

/**
 * The open XOR chunk of a head series, held in the series' own fields (MemSeries has them) rather
 * than in an encoder object of its own: with a separate encoder, each series of a 200k replay cost
 * one more object and a boxed number for its newest timestamp, both copied by every
 * young-generation collection, and garbage collection was a third of the replay's main thread.
 * (Not a base class either: `super()` made constructing a series several times slower.) The
 * fields are XorWriterState's, read and written by appendXorSamples; the series keeps `t`
 * outside the object (a double field is a boxed number in V8), and provides `byteLength` and
 * `writeTo` (see xorByteLength, xorWriteTo), which XorWriterState's bytes() calls on it.
 */
export interface HeadXorState {
  buf: Uint8Array;
  byteLen: number;
  acc: number;
  accBits: number;
  trailingEmptyByte: boolean;
  count: number;
  t: number;
  tDelta: number;
  vHi: number;
  vLo: number;
  leading: number;
  trailing: number;
  readonly byteLength: number;
  writeTo(dst: Uint8Array, at: number): number;
}

/** The buffer of a series without a float chunk (shared, empty). */
export const NO_XOR_BYTES: Uint8Array = NO_BYTES;

/** Starts a new, empty float chunk in `s`, keeping the buffer of its previous one. */
export function openXorChunk(s: HeadXorState): void {
  if (s.buf.length === 0) s.buf = carve(INITIAL_BYTES);
  proto.reset.call(s as unknown as XorWriterState);
}

/** Appends one sample to the float chunk in `s`; timestamps must increase. */
export function xorAppend(s: HeadXorState, t: number, v: number): void {
  oneT[0] = t;
  oneV[0] = v;
  appendXorSamples(s as unknown as XorWriterState, oneT, oneV, 0, 1);
}

/** Encoded size of the float chunk in `s`, bytes. */
export function xorByteLength(s: HeadXorState): number {
  return byteLengthOf.call(s as unknown as XorWriterState);
}

/** Writes the float chunk in `s` into `dst` from `at`; returns the offset after it. */
export function xorWriteTo(s: HeadXorState, dst: Uint8Array, at: number): number {
  return proto.writeTo.call(s as unknown as XorWriterState, dst, at);
}

/** The bytes of the float chunk in `s` so far, in a fresh array; appending may continue after. */
export function xorBytes(s: HeadXorState): Uint8Array {
  return proto.bytes.call(s as unknown as XorWriterState);
}
