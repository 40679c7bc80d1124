// The open XOR chunk of a head series. The same bits as chunkenc's XorEncoder (both run
// appendXorSamples), shaped for a head holding hundreds of thousands of open chunks at once.
import { appendXorSamples, XorWriterState } from '../chunkenc/xor-writer.js';

// Starting capacity of an open chunk's buffer, bytes: ~20 samples of a regular scrape; a fuller
// chunk grows it once or twice, and reset() keeps the grown buffer for the series' next chunk.
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

// One-sample columns for appendXorSamples (synchronous, so sharing them is safe).
const oneT = new Float64Array(1);
const oneV = new Float64Array(1);

// XorWriterState's methods, borrowed: they only read and write the fields below.
const proto = XorWriterState.prototype;
const byteLengthOf = Object.getOwnPropertyDescriptor(proto, 'byteLength')?.get as (this: XorWriterState) => number;

/**
 * The open XOR chunk of a head series: appends one sample at a time straight into the bit
 * stream (no batch buffer: the ~20 ns of loading the writer state per sample is cheaper than
 * two more arrays per series). It is the writer state itself (one object per open chunk), with
 * XorWriterState's fields but not its constructor, which allocates a buffer of its own (an
 * ArrayBuffer per series, thrown away at once; it showed in replay profiles).
 * `bytes()` copies; appending may continue after it; `reset()` starts a new chunk.
 */
export class HeadXorAppender implements XorWriterState {
  buf: Uint8Array = carve(INITIAL_BYTES);
  byteLen = 2;
  acc = 0;
  accBits = 0;
  trailingEmptyByte = false;
  count = 0;
  t = 0;
  tDelta = 0;
  vHi = 0;
  vLo = 0;
  leading = 0xff;
  trailing = 0;

  /** Number of samples in the chunk. */
  get numSamples(): number {
    return this.count;
  }

  /** Encoded size in bytes. */
  get byteLength(): number {
    return byteLengthOf.call(this);
  }

  /** Starts a new, empty chunk, keeping the buffer. */
  reset(): void {
    proto.reset.call(this);
  }

  /** The chunk bytes so far, in a fresh array. */
  bytes(): Uint8Array {
    return proto.bytes.call(this);
  }

  /** Writes the chunk bytes so far into `dst` from `at`; returns the offset after them. */
  writeTo(dst: Uint8Array, at: number): number {
    return proto.writeTo.call(this, dst, at);
  }

  /** Appends one sample; timestamps must increase. */
  append(t: number, v: number): void {
    oneT[0] = t;
    oneV[0] = v;
    appendXorSamples(this, oneT, oneV, 0, 1);
  }
}
