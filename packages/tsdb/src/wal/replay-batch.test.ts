import { describe, expect, it } from 'vitest';
import { BatchBuilder, KIND_RAW } from './replay-batch.js';

// Record bytes of each batch a builder hands over when records of `size` bytes keep coming.
function batchSizes(b: BatchBuilder, size: number, batches: number): number[] {
  const rec = new Uint8Array(size).fill(0xee); // type 0xee: not decoded, travels raw
  const out: number[] = [];
  let bytes = 0;
  while (out.length < batches) {
    b.add(rec);
    bytes += size;
    if (b.full()) {
      const { batch } = b.take();
      expect(batch.kinds.every((k) => k === KIND_RAW)).toBe(true);
      out.push(bytes);
      bytes = 0;
    }
  }
  return out;
}

describe('BatchBuilder batch sizes', () => {
  it.each([
    { name: 'default: 2 MiB each', args: [] as number[], want: [2048, 2048, 2048] },
    { name: 'fixed small', args: [128 * 1024], want: [128, 128, 128] },
    { name: 'doubling from the first', args: [1024 * 1024, 128 * 1024], want: [128, 256, 512, 1024, 1024] },
    { name: 'first above the cap', args: [256 * 1024, 1024 * 1024], want: [256, 256] },
  ])('$name', ({ args, want }) => {
    const b = new BatchBuilder('wal', ...(args as [number?, number?]));
    // 1 KiB records: a batch holds exactly its size in KiB.
    expect(batchSizes(b, 1024, want.length).map((n) => n / 1024)).toEqual(want);
  });
});
