import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BytesRangeSource, FileRangeSource } from '../block/range-source.js';
import { ChunkEncoding, cutXorChunks, type EncodedChunk } from '../chunkenc/chunk.js';
import { crc32c } from '../encoding/crc32c.js';
import { CorruptionError } from '../errors.js';
import { SMALL_CHUNKS_HEX, SMALL_SERIES } from '../testdata/promtool-small.js';
import { chunkRef } from './segment.js';
import { ChunkSegmentReader, chunkRecordAt } from './segment-reader.js';
import { ChunkSegmentWriter } from './segment-writer.js';

const enc = new TextEncoder();

describe('crc32c', () => {
  it.each([
    ['', 0],
    ['a', 0xc1d04330],
    ['123456789', 0xe3069283],
    ['The quick brown fox jumps over the lazy dog', 0x22620404],
  ])('crc32c(%j)', (s, want) => {
    expect(crc32c(enc.encode(s))).toBe(want);
  });

  it('is incremental and agrees between the 8-byte and byte loops', () => {
    const data = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 0xff);
    const whole = crc32c(data);
    for (const cut of [1, 7, 8, 9, 500, 999]) {
      expect(crc32c(data, crc32c(data, 0, 0, cut), cut)).toBe(whole);
    }
  });
});

function smallChunks(): EncodedChunk[][] {
  return SMALL_SERIES.map((s) =>
    cutXorChunks(
      s.samples.map(([t]) => t),
      s.samples.map(([, v]) => v),
      4 * 3600_000,
    ),
  );
}

describe('chunk segments', () => {
  it('writes the same bytes as promtool and reads them back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chunks-'));
    const w = new ChunkSegmentWriter(dir);
    const refs: number[] = [];
    for (const chunks of smallChunks()) refs.push(...(await w.writeChunks(chunks)));
    await w.close();
    const bytes = readFileSync(join(dir, '000001'));
    expect(bytes.toString('hex')).toBe(SMALL_CHUNKS_HEX);
    expect(refs).toEqual([8, 43, 71]);
    const r = await ChunkSegmentReader.open([new FileRangeSource(join(dir, '000001'))]);
    const got = await r.readChunks([refs[2] as number, refs[0] as number]);
    expect(got.map((c) => c.data.length)).toEqual([17, 29]);
    expect(got[1]?.encoding).toBe(1);
    await r.close();
  });

  it.each([0, 130])('copies records as writeChunks writes them (segment size %i)', async (segSize) => {
    const dirA = mkdtempSync(join(tmpdir(), 'chunks-'));
    const dirB = mkdtempSync(join(tmpdir(), 'chunks-'));
    const a = segSize ? new ChunkSegmentWriter(dirA, segSize) : new ChunkSegmentWriter(dirA);
    const b = segSize ? new ChunkSegmentWriter(dirB, segSize) : new ChunkSegmentWriter(dirB);
    const golden = Buffer.from(SMALL_CHUNKS_HEX, 'hex');
    const hdr = new Int32Array(2);
    const enc = () => hdr[0] as number;
    const len = () => hdr[1] as number;
    for (const chunks of [...smallChunks(), smallChunks().flat()]) {
      const want = await a.writeChunks(chunks);
      // The same chunks as records of promtool's segment (one of them with a padded length field).
      const recs = {
        count: 0,
        bytes: [] as Uint8Array[],
        recStart: new Int32Array(8),
        encAt: new Int32Array(8),
        dataLen: new Int32Array(8),
      };
      for (const c of chunks) {
        const at = [8, 43, 71].find(
          (off) =>
            chunkRecordAt(golden, off, 'g', off, hdr) &&
            Buffer.from(golden.subarray(enc() + 1, enc() + 1 + len())).equals(c.data),
        ) as number;
        chunkRecordAt(golden, at, 'g', at, hdr);
        const k = recs.count++;
        if (k === 1) {
          const padded = Buffer.concat([Buffer.from([(len() & 0x7f) | 0x80, len() >> 7]), golden.subarray(enc())]);
          recs.bytes[k] = padded;
          recs.recStart[k] = 0;
          recs.encAt[k] = 2;
        } else {
          recs.bytes[k] = golden;
          recs.recStart[k] = at;
          recs.encAt[k] = hdr[0] as number;
        }
        recs.dataLen[k] = hdr[1] as number;
      }
      const got = new Float64Array(recs.count);
      await b.writeRecords(recs, got);
      expect([...got]).toEqual(want);
    }
    await a.close();
    await b.close();
    expect(b.segmentFiles).toEqual(a.segmentFiles);
    for (const f of a.segmentFiles) expect(readFileSync(join(dirB, f))).toEqual(readFileSync(join(dirA, f)));
  });

  it('cuts a new segment when the next series would not fit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chunks-'));
    const w = new ChunkSegmentWriter(dir, 130);
    const chunks = smallChunks().flat();
    const refs1 = await w.writeChunks(chunks);
    const refs2 = await w.writeChunks(chunks);
    await w.close();
    expect(w.segmentFiles).toEqual(['000001', '000002']);
    expect(refs2[0]).toBe(chunkRef(1, 8));
    const r = await ChunkSegmentReader.open(w.segmentFiles.map((f) => new FileRangeSource(join(dir, f))));
    const all = await r.readChunks([...refs1, ...refs2]);
    expect(all.map((c) => Buffer.from(c.data).toString('hex'))).toEqual(
      [...chunks, ...chunks].map((c) => Buffer.from(c.data).toString('hex')),
    );
    await r.close();
  });

  it('reads chunks larger than its size guess by their missing tails, then guesses them larger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chunks-'));
    const w = new ChunkSegmentWriter(dir);
    // Chunks of ~3 KiB of varied bytes (the guess starts at 1 KiB).
    const big: EncodedChunk[] = Array.from({ length: 40 }, (_, i) => ({
      encoding: ChunkEncoding.XOR,
      minTime: i,
      maxTime: i,
      data: Uint8Array.from({ length: 3000 + i }, (_, k) => (k * 31 + i) & 0xff),
    }));
    const refs = await w.writeChunks(big);
    await w.close();
    const file = join(dir, w.segmentFiles[0] as string);
    const inner = new FileRangeSource(file);
    let bytesRead = 0;
    const counting = {
      name: inner.name,
      size: () => inner.size(),
      read: async (offset: number, length: number, signal?: AbortSignal) => {
        bytesRead += length;
        return inner.read(offset, length, signal);
      },
    };
    const r = await ChunkSegmentReader.open([counting]);
    const opened = bytesRead;
    // Every other chunk, in two calls: the first call learns the size, the second reads once.
    const half = refs.filter((_, i) => i % 2 === 0);
    for (const part of [half.slice(0, 10), half.slice(10)]) {
      const got = await r.readChunks(part);
      expect(got.map((c) => c.data.length)).toEqual(part.map((ref) => big[refs.indexOf(ref)]?.data.length));
      for (const [k, c] of got.entries()) expect(c.data).toEqual(big[refs.indexOf(part[k] as number)]?.data);
    }
    // No byte is read twice: the ranges span the chunks asked for (and the gaps between them).
    const segmentBytes = readFileSync(file).length;
    expect(bytesRead - opened).toBeLessThan(segmentBytes);
  });

  const golden = Buffer.from(SMALL_CHUNKS_HEX, 'hex');
  it.each([
    ['wrong magic', (b: Buffer) => b.writeUInt32BE(0xdeadbeef, 0), /invalid magic/, 0, 'open'],
    ['wrong version', (b: Buffer) => b.writeUInt8(2, 4), /version 2/, 4, 'open'],
    ['bad crc', (b: Buffer) => b.writeUInt8(b[20]! ^ 1, 20), /checksum mismatch/, 8, 'read'],
  ] as const)('%s → CorruptionError', async (_n, mutate, re, offset, when) => {
    const b = Buffer.from(golden);
    mutate(b);
    const src = new BytesRangeSource('blk/chunks/000001', b);
    const run = async () => (await ChunkSegmentReader.open([src])).chunk(8);
    const err = await run().catch((e) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect(err.message).toMatch(re);
    expect(err.file).toBe('blk/chunks/000001');
    expect(err.offset).toBe(offset);
    expect(when).toBeTruthy();
  });

  it.each([3, 9, 20, 40, golden.length - 1])('truncated to %i bytes → CorruptionError', async (len) => {
    const dir = mkdtempSync(join(tmpdir(), 'chunks-'));
    writeFileSync(join(dir, '000001'), golden.subarray(0, len));
    const err = await (async () => {
      const r = await ChunkSegmentReader.open([new FileRangeSource(join(dir, '000001'))]);
      await r.readChunks([8, 43, 71]);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(CorruptionError);
  });

  it('reference to a missing segment → CorruptionError', async () => {
    const r = await ChunkSegmentReader.open([new BytesRangeSource('c/000001', golden)]);
    await expect(r.chunk(chunkRef(3, 8))).rejects.toThrow(CorruptionError);
  });
});
