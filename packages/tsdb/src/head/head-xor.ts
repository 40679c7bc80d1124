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
 * The open XOR chunk of a head series, held in the series' own fields (MemSeries extends this)
 * rather than in an encoder object of its own: with a separate encoder, each series of a 200k
 * replay cost one more object and a boxed number for its newest timestamp, both copied by every
 * young-generation collection, and garbage collection was a third of the replay's main thread.
 * The fields are XorWriterState's, read and written by appendXorSamples; `t` is left to the
 * subclass, which keeps it outside the object (a double field is a boxed number in V8).
 * Internal to the head: the fields are public only for appendXorSamples.
 */
export abstract class HeadXorChunk {
  /** @internal Chunk bytes (see XorWriterState); a shared empty array until the first float chunk. */
  buf: Uint8Array = NO_BYTES;
  /** @internal */
  byteLen = 2;
  /** @internal */
  acc = 0;
  /** @internal */
  accBits = 0;
  /** @internal */
  trailingEmptyByte = false;
  /** @internal Samples in the open float chunk. */
  count = 0;
  /** @internal */
  tDelta = 0;
  /** @internal */
  vHi = 0;
  /** @internal */
  vLo = 0;
  /** @internal */
  leading = 0xff;
  /** @internal */
  trailing = 0;
  /** Whether the series has an open float (XOR) chunk. */
  protected xorOpen = false;

  /** @internal Timestamp of the open chunk's newest sample, ms (the writer's `t`). */
  abstract get t(): number;
  abstract set t(v: number);

  /** Starts a new, empty float chunk (keeping the buffer of the previous one). */
  protected openXorChunk(): void {
    if (this.buf.length === 0) this.buf = carve(INITIAL_BYTES);
    proto.reset.call(this as unknown as XorWriterState);
    this.xorOpen = true;
  }

  /** Drops the open float chunk and its buffer (the series was truncated or changed encoding). */
  protected dropXorChunk(): void {
    this.xorOpen = false;
    this.buf = NO_BYTES;
  }

  /** Appends one sample to the open float chunk; timestamps must increase. */
  protected xorAppend(t: number, v: number): void {
    oneT[0] = t;
    oneV[0] = v;
    appendXorSamples(this as unknown as XorWriterState, oneT, oneV, 0, 1);
  }

  /** @internal Encoded size of the open float chunk, bytes (XorWriterState's, which its writeTo reads). */
  get byteLength(): number {
    return byteLengthOf.call(this as unknown as XorWriterState);
  }

  /** @internal Writes the open float chunk's bytes into `dst` from `at`; returns the offset after them. */
  writeTo(dst: Uint8Array, at: number): number {
    return proto.writeTo.call(this as unknown as XorWriterState, dst, at);
  }

  /** The open float chunk's bytes so far, in a fresh array; appending may continue after. */
  protected xorBytes(): Uint8Array {
    return proto.bytes.call(this as unknown as XorWriterState);
  }
}
