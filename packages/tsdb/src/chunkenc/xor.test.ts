import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.js';
import { STALE_NAN } from '../storage/stale.js';
import { BitWriter } from './bitstream.js';
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

// An independent encoder written the way Prometheus's xor.go is, op for op, on the bit-by-bit
// BitWriter with bigint arithmetic: a reference for the fast shared loop in xor-writer.ts.
function referenceEncode(samples: [number, number][]): Uint8Array {
  const w = new BitWriter(2);
  const varintBytes = (u: bigint) => {
    const out: number[] = [];
    while (u >= 0x80n) {
      out.push(Number(u & 0x7fn) | 0x80);
      u >>= 7n;
    }
    out.push(Number(u));
    return out;
  };
  const write64 = (x: bigint, n: number) => w.writeBits64(Number(x >> 32n), Number(x & 0xffffffffn), n);
  let prevT = 0;
  let prevDelta = 0;
  let prevV = 0n;
  let leading = 0xff;
  let trailing = 0;
  samples.forEach(([t, v], i) => {
    const vb = bits(v);
    if (i === 0) {
      const zigzag = t >= 0 ? BigInt(t) * 2n : BigInt(-t) * 2n - 1n;
      const bs = varintBytes(zigzag);
      w.writeBytes(bs, bs.length);
      write64(vb, 64);
    } else {
      const delta = t - prevT;
      if (i === 1) {
        const bs = varintBytes(BigInt.asUintN(64, BigInt(delta)));
        w.writeBytes(bs, bs.length);
      } else {
        const dod = delta - prevDelta;
        const u = BigInt.asUintN(64, BigInt(dod));
        // Bucket prefix, then the dod's low bits (uint64 two's complement, as Go's uint64(dod)).
        const bucket: [number, number, number] =
          dod >= -8191 && dod <= 8192
            ? [0b10, 2, 14]
            : dod >= -65535 && dod <= 65536
              ? [0b110, 3, 17]
              : dod >= -524287 && dod <= 524288
                ? [0b1110, 4, 20]
                : [0b1111, 4, 64];
        if (dod === 0) {
          w.writeBit(0);
        } else {
          w.writeBits(bucket[0], bucket[1]);
          write64(BigInt.asUintN(bucket[2], u), bucket[2]);
        }
      }
      prevDelta = delta;
      const x = vb ^ prevV;
      if (x === 0n) {
        w.writeBit(0);
      } else {
        const s = x.toString(2);
        let lead = 64 - s.length;
        const trail = s.length - 1 - s.lastIndexOf('1');
        if (lead >= 32) lead = 31;
        w.writeBit(1);
        if (leading !== 0xff && lead >= leading && trail >= trailing) {
          w.writeBit(0);
        } else {
          leading = lead;
          trailing = trail;
          w.writeBit(1);
          w.writeBits(lead, 5);
          w.writeBits((64 - lead - trail) & 63, 6);
        }
        const sig = 64 - leading - trailing;
        write64((x >> BigInt(trailing)) & ((1n << BigInt(sig)) - 1n), sig);
      }
    }
    prevT = t;
    prevV = vb;
  });
  const out = w.toBytes();
  out[0] = samples.length >>> 8;
  out[1] = samples.length & 0xff;
  return out;
}

describe('XorEncoder and encodeXorChunk against a reference encoder', () => {
  let seed = 9;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const specials = [
    0,
    -0,
    1,
    -1,
    2 ** 53,
    1e308,
    -1e-308,
    5e-324,
    Number.NaN,
    GO_NAN,
    STALE_NAN,
    Number.NEGATIVE_INFINITY,
  ];
  function randomSeries(n: number): [number, number][] {
    const out: [number, number][] = [];
    let t = Math.floor(rnd() * 2e12) - 1e12;
    let v = 0;
    for (let i = 0; i < n; i++) {
      // Mostly regular steps with jitter, sometimes a jump into every dod bucket.
      const r0 = rnd();
      t += r0 < 0.6 ? 15000 : r0 < 0.9 ? 15000 + Math.floor((rnd() - 0.5) * 2e5) : 1 + Math.floor(rnd() ** 6 * 5e9);
      const r = rnd();
      v =
        r < 0.2
          ? v
          : r < 0.4
            ? Math.floor(r * 1000)
            : r < 0.5
              ? (specials[Math.floor(rnd() * specials.length)] as number)
              : r < 0.7
                ? Math.round((v + rnd() - 0.5) * 100) / 100
                : (rnd() - 0.5) * 10 ** Math.floor(rnd() * 60 - 30);
      out.push([t, v]);
    }
    return out;
  }

  it('produce the reference bytes for random series of every length up to 300', async () => {
    const { encodeXorChunk } = await import('./xor-bulk.js');
    for (let n = 1; n <= 300; n++) {
      const samples = randomSeries(n);
      const want = hex(referenceEncode(samples));
      const e = new XorEncoder();
      for (const [t, v] of samples) e.append(t, v);
      expect(e.numSamples).toBe(n);
      expect(e.byteLength).toBe(want.length / 2);
      expect(hex(e.bytes())).toBe(want);
      const ts = samples.map(([t]) => t);
      const vs = new Float64Array(samples.map(([, v]) => v));
      expect(hex(encodeXorChunk(ts, vs, 0, n))).toBe(want);
    }
  });

  it('matches the reference for the golden chunks too', () => {
    expect(hex(referenceEncode([[1700000000000, Number.POSITIVE_INFINITY]]))).toBe(
      '000180a0abfef9627ff000000000000000',
    );
  });

  it('keeps encoding correctly across bytes() calls and interleaved encoders', () => {
    const a = randomSeries(157);
    const b = randomSeries(83);
    const ea = new XorEncoder();
    const eb = new XorEncoder();
    for (let i = 0; i < a.length; i++) {
      const [t, v] = a[i] as [number, number];
      ea.append(t, v);
      expect(ea.lastTimestamp).toBe(t);
      if (i < b.length) eb.append(...(b[i] as [number, number]));
      if (i % 7 === 3) expect(hex(ea.bytes())).toBe(hex(referenceEncode(a.slice(0, i + 1))));
    }
    expect(hex(ea.bytes())).toBe(hex(referenceEncode(a)));
    expect(hex(eb.bytes())).toBe(hex(referenceEncode(b)));
    ea.reset();
    expect(ea.numSamples).toBe(0);
    expect(ea.lastTimestamp).toBeUndefined();
    for (const [t, v] of b) ea.append(t, v);
    expect(hex(ea.bytes())).toBe(hex(referenceEncode(b)));
  });

  it('grows its buffer for long chunks', () => {
    // Random 64-bit values cost ~77 bits each: far past the initial 256-byte buffer.
    const samples: [number, number][] = [];
    for (let i = 0; i < 2000; i++) samples.push([i * 1000 + Math.floor(rnd() * 1e6), (rnd() - 0.5) * 1e300 * rnd()]);
    samples.sort((x, y) => x[0] - y[0]);
    const uniq = samples.filter((s, i) => i === 0 || s[0] !== samples[i - 1]?.[0]);
    const e = new XorEncoder();
    for (const [t, v] of uniq) e.append(t, v);
    expect(hex(e.bytes())).toBe(hex(referenceEncode(uniq)));
  });
});

describe('BitWriter (Go bstream semantics)', () => {
  it('leaves an empty byte after a byte-aligned whole-byte write, like bstream.writeByte', () => {
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
