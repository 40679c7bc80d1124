import { describe, expect, it } from 'vitest';
import { crc32c } from './crc32c.js';

// Bit by bit, straight from the definition (reflected polynomial 0x82f63b78).
function reference(data: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= data[i] as number;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  // RFC 3720 (iSCSI) appendix B.4 and the usual check value.
  it.each([
    { name: '"123456789"', bytes: new TextEncoder().encode('123456789'), want: 0xe3069283 },
    { name: '32 zero bytes', bytes: new Uint8Array(32), want: 0x8a9136aa },
    { name: '32 bytes 0xff', bytes: new Uint8Array(32).fill(0xff), want: 0x62a8ab43 },
    { name: '32 bytes 0..31', bytes: Uint8Array.from({ length: 32 }, (_, i) => i), want: 0x46dd794e },
    { name: '32 bytes 31..0', bytes: Uint8Array.from({ length: 32 }, (_, i) => 31 - i), want: 0x113fdb5c },
  ])('$name', ({ bytes, want }) => {
    expect(crc32c(bytes)).toBe(want);
  });

  it('agrees with the bitwise definition at every alignment, length and split', () => {
    let seed = 7;
    const backing = new Uint8Array(4096);
    for (let i = 0; i < backing.length; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      backing[i] = seed >>> 16;
    }
    for (let offset = 0; offset < 8; offset++) {
      // Views that start off a 4-byte boundary of the buffer, as segment windows do.
      const data = backing.subarray(offset);
      for (const len of [0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 100, 255, 1000]) {
        for (const start of [0, 1, 2, 3, 5]) {
          const end = start + len;
          const want = reference(data, start, end);
          expect(crc32c(data, 0, start, end), `offset ${offset} start ${start} len ${len}`).toBe(want);
          // In two pieces, the first result carried into the second call.
          const mid = start + (len >> 1);
          expect(crc32c(data, crc32c(data, 0, start, mid), mid, end)).toBe(want);
        }
      }
    }
  });

  it('keeps giving the right answer across many buffers (its word views are cached)', () => {
    const buffers = Array.from({ length: 9 }, (_, k) =>
      Uint8Array.from({ length: 200 }, (_, i) => (i * 31 + k) & 0xff),
    );
    for (let round = 0; round < 3; round++) {
      for (const b of buffers) expect(crc32c(b, 0, 3, 197)).toBe(reference(b, 3, 197));
    }
  });
});
