import { allocChunkBytes, appendXorSamples, XorWriterState } from './xor-writer.js';

// One reusable state: encodeXorChunk is synchronous and keeps nothing between calls.
const state = new XorWriterState(4096);

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
  if (end <= start) {
    const empty = allocChunkBytes(2);
    empty[0] = 0;
    empty[1] = 0;
    return empty;
  }
  state.reset();
  appendXorSamples(state, timestamps, values, start, end);
  return state.bytes();
}
