import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.js';
import { STALE_NAN } from '../storage/stale.js';
import { cutXorChunks, rangeForTimestamp } from './chunk.js';
import { decodeXorInto, XorChunk, XorEncoder, xorNumSamples } from './xor.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
// Go's math.NaN() (what strconv.ParseFloat("NaN") yields): 0x7ff8000000000001.
const GO_NAN = new Float64Array(new BigUint64Array([0x7ff8000000000001n]).buffer)[0] as number;

function encode(samples: [number, number][]): Uint8Array {
  const e = new XorEncoder();
  for (const [t, v] of samples) e.append(t, v);
  return e.bytes();
}

function decode(bytes: Uint8Array): [number, number][] {
  const n = xorNumSamples(bytes);
  const ts = new Float64Array(n);
  const vs = new Float64Array(n);
  decodeXorInto(bytes, ts, vs);
  return Array.from(ts, (t, i) => [t, vs[i] as number]);
}

function bits(v: number): bigint {
  return new BigUint64Array(new Float64Array([v]).buffer)[0] as bigint;
}

describe('XOR chunk encoding', () => {
  // Chunk data as promtool 2.42 wrote it (create-blocks-from openmetrics), byte for byte.
  it.each([
    [
      'two samples, tiny then NaN',
      [
        [1700000000001, 1e-300],
        [1700000030000, GO_NAN],
      ],
      '000282a0abfef96201a56e1fc2f8f359afea01c3e7e5d6e1fc2f8f3580',
    ],
    [
      'two samples with fractional-second delta',
      [
        [1700000000000, 1],
        [1700000015500, 2.5],
      ],
      '000280a0abfef9623ff00000000000008c79c26fff40',
    ],
    [
      'one sample +Inf (trailing empty byte like bstream)',
      [[1700000000000, Number.POSITIVE_INFINITY]],
      '000180a0abfef9627ff000000000000000',
    ],
  ] as [string, [number, number][], string][])('%s matches Prometheus bytes', (_name, samples, golden) => {
    const bytes = encode(samples);
    expect(hex(bytes)).toBe(golden);
    const back = decode(bytes);
    expect(back.map(([t]) => t)).toEqual(samples.map(([t]) => t));
    expect(back.map(([, v]) => bits(v))).toEqual(samples.map(([, v]) => bits(v)));
  });

  it('round-trips every dod bucket, negative timestamps, special values', () => {
    const samples: [number, number][] = [];
    let t = -5_000_000;
    const deltas = [1, 15000, 15000, 15001, 14000, 30000, 100000, 1_000_000, 3_000_000_000, 1, 7, 15000];
    const values = [0, -0, 1, 1, 1.5, 1e308, -1e-308, Number.NaN, STALE_NAN, Number.POSITIVE_INFINITY, -1, 2 ** 53];
    for (let i = 0; i < 400; i++) {
      t += deltas[i % deltas.length] as number;
      samples.push([t, i % 3 === 0 ? i * 0.1 : (values[i % values.length] as number)]);
    }
    const back = decode(encode(samples));
    expect(back.map(([tt]) => tt)).toEqual(samples.map(([tt]) => tt));
    expect(back.map(([, v]) => bits(v))).toEqual(samples.map(([, v]) => bits(v)));
  });

  it('round-trips random data', () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 50; trial++) {
      const samples: [number, number][] = [];
      let t = Math.floor(rnd() * 1e12);
      let v = rnd() * 100;
      for (let i = 0; i < 1 + Math.floor(rnd() * 300); i++) {
        t += 1 + Math.floor(rnd() ** 4 * 1e7);
        v = rnd() < 0.3 ? v : rnd() < 0.5 ? v + Math.floor(rnd() * 10) : rnd() * 10 ** Math.floor(rnd() * 40 - 20);
        samples.push([t, v]);
      }
      const back = decode(encode(samples));
      expect(back).toEqual(samples);
    }
  });

  it('iterator seeks forward only', () => {
    const chunk = new XorChunk(
      encode([
        [10, 1],
        [20, 2],
        [30, 3],
        [40, 4],
      ]),
    );
    const it = chunk.iterator();
    expect(it.seek(15)).toBe(true);
    expect([it.t, it.v]).toEqual([20, 2]);
    expect(it.seek(5)).toBe(true);
    expect(it.t).toBe(20);
    expect(it.next()).toBe(true);
    expect(it.t).toBe(30);
    expect(it.seek(41)).toBe(false);
    expect(chunk.numSamples).toBe(4);
  });

  it.each([3, 8, 12, 20])('rejects a chunk truncated to %i bytes', (len) => {
    const bytes = encode([
      [1000, 1],
      [2000, 2.5],
      [3100, 7.25],
      [4000, 1e10],
    ]);
    const cut = bytes.subarray(0, len);
    expect(() => decode(cut)).toThrow(CorruptionError);
  });
});

describe('cutXorChunks', () => {
  it('cuts like the head: ~120 samples per chunk, at range ends', () => {
    const ts: number[] = [];
    const vs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      ts.push(i * 15000);
      vs.push(i);
    }
    const chunks = cutXorChunks(ts, vs, 4 * 3600 * 1000);
    // 4h range at 15s = 960 samples in the first window; 8 chunks of 120 then the rest.
    expect(chunks.map((c) => xorNumSamples(c.data))).toEqual([120, 120, 120, 120, 120, 120, 120, 120, 40]);
    expect(chunks[8]?.minTime).toBe(rangeForTimestamp(0, 4 * 3600 * 1000));
    expect(chunks.reduce((a, c) => a + xorNumSamples(c.data), 0)).toBe(1000);
  });

  it('cuts at 240 samples when the rate rises', () => {
    const ts: number[] = [];
    for (let i = 0; i < 30; i++) ts.push(i * 60000);
    for (let i = 0; i < 600; i++) ts.push(30 * 60000 + i);
    const chunks = cutXorChunks(ts, ts, 1e12);
    expect(xorNumSamples(chunks[0]?.data as Uint8Array)).toBe(240);
  });
});

describe('encodeXorChunk (bulk)', () => {
  it('produces the same bytes as XorEncoder for random data', async () => {
    const { encodeXorChunk } = await import('./xor-bulk.js');
    let seed = 9;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 250);
      const ts: number[] = [];
      const vs: number[] = [];
      let t = Math.floor(rnd() * 2e12) - 1e12;
      for (let i = 0; i < n; i++) {
        t += 1 + Math.floor(rnd() ** 6 * 5e9);
        ts.push(t);
        const r = rnd();
        vs.push(
          r < 0.2
            ? (vs[i - 1] ?? 0)
            : r < 0.4
              ? Math.floor(r * 1000)
              : r < 0.5
                ? Number.NaN
                : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 60 - 30),
        );
      }
      const e = new XorEncoder();
      for (let i = 0; i < n; i++) e.append(ts[i] as number, vs[i] as number);
      expect(hex(encodeXorChunk(ts, vs, 0, n))).toBe(hex(e.bytes()));
    }
  });
});

describe('BitWriter (Go bstream semantics)', () => {
  it('leaves an empty byte after a byte-aligned whole-byte write, like bstream.writeByte', async () => {
    const { BitWriter } = await import('./bitstream.js');
    const w = new BitWriter(0);
    w.writeBits(0xab, 8);
    expect(w.length).toBe(2);
    w.writeBit(1);
    expect(w.length).toBe(2);
    expect(hex(w.toBytes())).toBe('ab80');
    w.writeBits(0x7f, 7);
    expect(w.length).toBe(2);
    // 40 bits from a byte boundary: five writeByte calls in Go, so again a trailing empty byte.
    w.writeBits64(0x1, 0x80000001, 40);
    expect(hex(w.toBytes())).toBe('abff018000000100');
    expect(w.bitLength).toBe(56);
  });
});
