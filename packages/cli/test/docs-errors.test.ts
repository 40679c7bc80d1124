import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collectRows, renderTable, updateDoc } from '../../../scripts/error-codes.js';

describe('docs/errors.md', () => {
  it('lists every error code in the sources (run `npm run docs:errors`)', () => {
    const path = new URL('../../../docs/errors.md', import.meta.url);
    const text = readFileSync(path, 'utf8');
    expect(updateDoc(text, renderTable(collectRows()))).toBe(text);
  });

  it('codes carry their package prefix', () => {
    for (const r of collectRows()) {
      if (r.code === 'INVALID_ARGUMENT') continue;
      const prefix = r.code.split('_')[0]?.toLowerCase();
      expect(r.file, r.code).toMatch(new RegExp(`^packages/${prefix}/`));
    }
  });
});
