import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../errors.js';
import { compareLabels, Labels } from '../labels/labels.js';
import { Matcher } from '../labels/matcher.js';
import { openBlock } from './reader.js';
import { writeBlock } from './writer.js';

// Damaged files must fail with a CorruptionError (or, when the damage hits padding, read fine),
// never with a RangeError, TypeError or a hang.
describe('random damage to a block', async () => {
  let errors = 0;
  const out = mkdtempSync(join(tmpdir(), 'corrupt-'));
  const input = Array.from({ length: 60 }, (_, i) => ({
    labels: Labels.from({ __name__: `m${i % 4}`, i: String(i), j: `v${i % 7}` }),
    timestamps: Array.from({ length: 150 }, (_, k) => 1_700_000_000_000 + k * 15_000 + (i % 3)),
    values: Array.from({ length: 150 }, (_, k) => (k * i) % 17),
  }));
  input.sort((a, b) => compareLabels(a.labels, b.labels));
  const block = await writeBlock(input, { outDir: out });
  const dir = block?.dir as string;
  const pristine = {
    index: readFileSync(join(dir, 'index')),
    chunk: readFileSync(join(dir, 'chunks', '000001')),
  };
  let seed = 5;
  const rnd = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const readAll = async () => {
    const b = await openBlock(dir, { preloadBelow: rnd() < 0.5 ? 0 : 1 << 20 });
    try {
      const s = await b.selectSamples([new Matcher('=~', '__name__', '.+')], -Infinity, Infinity);
      return s.reduce((a, x) => a + x.timestamps.length, 0);
    } finally {
      await b.close();
    }
  };

  it('reads the pristine block', async () => {
    expect(await readAll()).toBe(60 * 150);
  });

  it.each(Array.from({ length: 120 }, (_, i) => i))('damage #%i', async (i) => {
    const which = i % 2 === 0 ? 'index' : 'chunk';
    const bytes = Buffer.from(pristine[which]);
    const path = which === 'index' ? join(dir, 'index') : join(dir, 'chunks', '000001');
    let damaged: Buffer;
    if (rnd() < 0.3) {
      damaged = bytes.subarray(0, Math.floor(rnd() * bytes.length));
    } else {
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) {
        const at = Math.floor(rnd() * bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(rnd() * 8));
      }
      damaged = bytes;
    }
    writeFileSync(path, damaged);
    try {
      const err = await readAll().then(
        () => undefined,
        (e: unknown) => e,
      );
      if (err !== undefined) {
        errors++;
        expect(err).toBeInstanceOf(CorruptionError);
        expect((err as CorruptionError).file).toContain(which === 'index' ? 'index' : '000001');
      }
    } finally {
      writeFileSync(path, pristine[which]);
    }
  });

  it('most damage is detected', () => {
    expect(errors).toBeGreaterThan(60);
  });
});
