import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openBlock } from '../block/reader.js';
import { BlockWriter } from '../block/writer.js';
import { ChunkEncoding, type EncodedChunk } from '../chunkenc/chunk.js';
import { encodeXorChunk } from '../chunkenc/xor-bulk.js';
import { CorruptionError } from '../errors.js';
import { Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
import { compactBlocks } from './compact.js';
import { GoHeap } from './go-heap.js';
import { mergeSeriesChunks } from './merge.js';
import { RecordMerger } from './merge-records.js';

// mulberry32: a PRNG exact in doubles, so every case is the same bytes on every run.
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function xor(ts: readonly number[], vs: readonly number[]): EncodedChunk {
  return {
    minTime: ts[0] as number,
    maxTime: ts[ts.length - 1] as number,
    encoding: ChunkEncoding.XOR,
    data: encodeXorChunk(ts, vs, 0, ts.length),
  };
}

// Cuts samples every `per` into chunks.
function chunks(ts: readonly number[], vs: readonly number[], per: number): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  for (let i = 0; i < ts.length; i += per) out.push(xor(ts.slice(i, i + per), vs.slice(i, i + per)));
  return out;
}

// `n` samples from `start` every `step` ms, values from the seed (some repeated, some colliding).
function series(seed: number, start: number, step: number, n: number): { ts: number[]; vs: number[] } {
  const r = rng(seed);
  const ts: number[] = [];
  const vs: number[] = [];
  let v = Math.round(r() * 1000) / 10;
  for (let i = 0; i < n; i++) {
    ts.push(start + i * step);
    if (r() < 0.7) v = Math.round((v + (r() - 0.5) * 10) * 100) / 100;
    vs.push(v);
  }
  return { ts, vs };
}

const S = 1_700_006_400_000;
const labels = Labels.from({ __name__: 'm', job: 'j' });
const where = { labels, block: 'test' };

let dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs = [];
  vi.restoreAllMocks();
});

async function block(outDir: string, perBlock: EncodedChunk[]): Promise<string> {
  const w = await BlockWriter.create({ outDir });
  await w.addSeries(labels, perBlock);
  const res = await w.commit();
  return res?.dir as string;
}

// The order Prometheus's merge hands the blocks' parts of one series over: Go's heap of equal
// elements pushed in minTime order, popped until empty.
function heapOrder(k: number): number[] {
  const h = new GoHeap<number>(() => false);
  for (let i = 0; i < k; i++) h.push(i);
  const out: number[] = [];
  for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
  return out;
}

describe('RecordMerger (vertical compaction on segment records)', () => {
  it.each([
    {
      name: 'same timestamps, different values',
      parts: () => [
        chunks(series(1, S, 15_000, 480).ts, series(1, S, 15_000, 480).vs, 120),
        chunks(series(2, S, 15_000, 480).ts, series(2, S, 15_000, 480).vs, 120),
      ],
    },
    {
      name: 'interleaved timestamps (every minute and on the half minute)',
      parts: () => {
        const a = series(3, S, 60_000, 240);
        const b = series(4, S + 30_000, 60_000, 240);
        return [chunks(a.ts, a.vs, 120), chunks(b.ts, b.vs, 120)];
      },
    },
    {
      name: 'a long chunk over short ones: the merged tail runs into the next chunks',
      parts: () => {
        const a = series(5, S, 15_000, 480);
        const b = series(6, S + 7_000, 30_000, 240);
        return [chunks(a.ts, a.vs, 40), chunks(b.ts, b.vs, 240)];
      },
    },
    {
      name: 'exact duplicates and chunks that overlap nothing',
      parts: () => {
        const a = series(7, S, 15_000, 360);
        const late = series(8, S + 360 * 15_000, 15_000, 120);
        const first = chunks(a.ts, a.vs, 120);
        return [first, [...first, ...chunks(late.ts, late.vs, 120)]];
      },
    },
    {
      name: 'three blocks, partly overlapping, one with a gap',
      parts: () => {
        const a = series(9, S, 10_000, 300);
        const b = series(10, S + 1_000_000, 20_000, 200);
        const c = series(11, S + 2_500_000, 10_000, 90);
        const gap = series(12, S + 9_000_000, 10_000, 50);
        return [chunks(a.ts, a.vs, 120), chunks(b.ts, b.vs, 64), [...chunks(c.ts, c.vs, 90), xor(gap.ts, gap.vs)]];
      },
    },
  ])('$name: the same chunks as mergeSeriesChunks', async ({ parts }) => {
    const work = await mkdtemp(join(tmpdir(), 'merge-records-'));
    dirs.push(work);
    const inputs = parts();
    const blockDirs: string[] = [];
    for (const [i, p] of inputs.entries()) blockDirs.push(await block(join(work, `in-${i}`), p));
    const merge = vi.spyOn(RecordMerger.prototype, 'merge');
    const res = await compactBlocks({ blockDirs, outDir: join(work, 'out') });
    // The record path did the merge (the general path would pass this test too).
    expect(merge.mock.results.some((r) => r.value === true)).toBe(true);

    const want = mergeSeriesChunks(
      heapOrder(inputs.length).map((i) => inputs[i] as EncodedChunk[]),
      { where },
    );
    const out = await openBlock(res?.dir as string);
    try {
      const got = await out.select([new Matcher('=', '__name__', 'm')], -Infinity, Infinity);
      expect(got).toHaveLength(1);
      const cs = got[0]?.chunks ?? [];
      expect(cs.map((c) => [c.minTime, c.maxTime])).toEqual(want.map((c) => [c.minTime, c.maxTime]));
      for (const [k, c] of cs.entries()) expect(c.data, `chunk ${k}`).toEqual(want[k]?.data);
    } finally {
      await out.close();
    }
  });

  it('leaves a chunk with a bad CRC to the general path, which reports it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'merge-records-'));
    dirs.push(work);
    const a = series(13, S, 15_000, 240);
    const b = series(14, S, 15_000, 240);
    const blockDirs = [
      await block(join(work, 'a'), chunks(a.ts, a.vs, 120)),
      await block(join(work, 'b'), chunks(b.ts, b.vs, 120)),
    ];
    // Flip a bit in the first chunk's data of the second block (segment header 8 bytes, length
    // varint 2 bytes, encoding byte, then the 2-byte sample count and the first timestamp).
    const fh = await open(join(blockDirs[1] as string, 'chunks', '000001'), 'r+');
    const byte = new Uint8Array(1);
    await fh.read(byte, 0, 1, 14);
    byte[0] = (byte[0] as number) ^ 0x10;
    await fh.write(byte, 0, 1, 14);
    await fh.close();
    const merge = vi.spyOn(RecordMerger.prototype, 'merge');
    await expect(compactBlocks({ blockDirs, outDir: join(work, 'out') })).rejects.toThrow(CorruptionError);
    await expect(compactBlocks({ blockDirs, outDir: join(work, 'out') })).rejects.toThrow(/checksum mismatch/);
    expect(merge.mock.results.every((r) => r.value === false)).toBe(true);
  });
});
