import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.js';
import { STALE_NAN } from '../storage/stale.js';
import { BitWriter } from './bitstream.js';
import { HistogramBitReader, putFloat64, putXor, type XorState, xorStateValue } from './histogram-bits.js';

function bits(v: number): bigint {
  return new BigUint64Array(new Float64Array([v]).buffer)[0] as bigint;
}

// Fields of `rows` (one row per sample, one column per field) written as a float histogram chunk
// writes them: raw float64s first, then XOR against the field's previous value.
function encodeRows(rows: readonly (readonly number[])[]): Uint8Array {
  const w = new BitWriter(0);
  const first = rows[0] as readonly number[];
  const states: XorState[] = first.map((v) => ({ value: v, leading: 0xff, trailing: 0 }));
  for (const v of first) putFloat64(w, v);
  for (const row of rows.slice(1)) {
    row.forEach((v, f) => {
      const s = states[f] as XorState;
      putXor(w, v, s);
      s.value = v;
    });
  }
  return w.toBytes();
}

const counters = (n: number, fields: number): number[][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: fields }, (_, f) => (f + 1) * 7 * (i + 1) + (i % 3)));

describe('HistogramBitReader XOR fields', () => {
  it.each([
    { name: 'growing integer counters', rows: counters(40, 23) },
    { name: 'unchanged values', rows: Array.from({ length: 10 }, () => [1, 2, 3]) },
    {
      name: 'values needing 33..64 significant bits',
      rows: Array.from({ length: 12 }, (_, i) => [Math.PI * (i + 1), 1 / (i + 3), -Math.E * i, 2 ** -40 * i]),
    },
    {
      name: 'NaN, infinities and the stale marker',
      rows: [
        [0, 1],
        [Number.NaN, STALE_NAN],
        [Infinity, -Infinity],
        [0, -0],
      ],
    },
    { name: 'one field, window reused then widened', rows: [[1], [1.5], [1.75], [3], [1e300], [1e-300], [5]] },
  ])('readXorFields and readXorBits decode $name as readXor does', ({ rows }) => {
    const bytes = encodeRows(rows);
    const fields = (rows[0] as number[]).length;
    // Reference: the float-state reader, field by field.
    const ref = new HistogramBitReader();
    ref.reset(bytes, 0);
    const refStates: XorState[] = [];
    for (let f = 0; f < fields; f++) refStates.push({ value: ref.readFloat64(), leading: 0, trailing: 0 });
    const fast = new HistogramBitReader();
    fast.reset(bytes, 0);
    const one = new HistogramBitReader();
    one.reset(bytes, 0);
    const st = new Int32Array(4 * fields);
    const st1 = new Int32Array(4 * fields);
    for (let f = 0; f < fields; f++) {
      fast.readFloat64Bits(st, 4 * f);
      one.readFloat64Bits(st1, 4 * f);
    }
    for (let i = 1; i < rows.length; i++) {
      for (const s of refStates) ref.readXor(s);
      fast.readXorFields(st, 0, 4 * fields);
      for (let f = 0; f < fields; f++) one.readXorBits(st1, 4 * f);
      expect(fast.pos).toBe(ref.pos);
      expect(one.pos).toBe(ref.pos);
      for (let f = 0; f < fields; f++) {
        const want = bits((rows[i] as number[])[f] as number);
        expect(bits((refStates[f] as XorState).value)).toBe(want);
        expect(bits(xorStateValue(st, 4 * f))).toBe(want);
        expect(bits(xorStateValue(st1, 4 * f))).toBe(want);
      }
    }
    expect(fast.pos).toBeLessThanOrEqual(fast.end);
    fast.checkEnd();
  });

  it('reads zeros past the end of the chunk instead of out of bounds', () => {
    const r = new HistogramBitReader();
    // Offset into a larger buffer: bytes after the chunk must not be read.
    const backing = new Uint8Array([0xff, 0xab, 0xcd, 0xff, 0xff, 0xff]);
    r.reset(backing.subarray(1, 3), 0);
    expect(r.readBits(16)).toBe(0xabcd);
    expect(r.readBits(32)).toBe(0);
    expect(() => r.check('sample 1')).toThrow(CorruptionError);
  });

  it.each([
    // 11, leading 31, length 40: trailing would be negative.
    { name: 'window wider than 64 bits', bytes: [0b11111111, 0b10100000, 0, 0, 0, 0, 0, 0] },
  ])('throws CorruptionError for an XOR header with a $name', ({ bytes }) => {
    const st = new Int32Array(4);
    const r = new HistogramBitReader();
    r.reset(Uint8Array.from(bytes), 0);
    expect(() => r.readXorFields(st, 0, 4)).toThrow(/invalid XOR value header/);
    r.reset(Uint8Array.from(bytes), 0);
    expect(() => r.readXorBits(st, 0)).toThrow(/invalid XOR value header/);
  });
});
