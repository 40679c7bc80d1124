import { describe, expect, it } from 'vitest';
import { fuzzParser } from './fuzz-parser.js';

describe('parser fuzzing (short run; the full 100k run is `npx tsx packages/promql/test/fuzz/fuzz-parser.ts`)', () => {
  it('only ever returns a tree or throws ParseError, keeps positions in range and round-trips', () => {
    const seed = Number(process.env.PROMQL_FUZZ_SEED ?? 7);
    const rep = fuzzParser({ iterations: 2000, seed });
    expect(rep.crashes).toEqual([]);
    expect(rep.slow).toEqual([]);
    expect(rep.badPositions).toEqual([]);
    expect(rep.roundTripFailures).toEqual([]);
    // The mix must exercise both outcomes, or the fuzzer is not testing anything.
    expect(rep.parsedOk).toBeGreaterThan(100);
    expect(rep.parseErrors).toBeGreaterThan(100);
  });
});
