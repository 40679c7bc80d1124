import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ThanosError } from '@thanos-ts/tsdb';
import { describe, expect, it } from 'vitest';
import { createEngine, createMemoryStorage } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const dir = process.env.PROMQL_CONFORMANCE_DIR ?? resolve(here, '..', '..', '..', '..', 'shared', 'promql-conformance');

describe('every conformance query on other data', () => {
  it('evaluates as instant and range query without internal errors', async () => {
    const storage = createMemoryStorage();
    const names = new Set<string>();
    const exprs: string[] = [];
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.test'))) {
      for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) {
        const m =
          /^eval(?:_\w+)?\s+(?:instant(?:\s+at\s+\S+)?|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.+)$/.exec(
            l.trim(),
          );
        if (m) exprs.push(m[1] as string);
        const n = /^\s+([a-zA-Z_:][a-zA-Z0-9_:]*)[{\s]/.exec(l);
        if (n) names.add(n[1] as string);
      }
    }
    // Every metric name of the scripts, with NaNs, three instances and classic buckets.
    for (const name of names) {
      for (let i = 0; i < 60; i++) {
        const labels = { __name__: name, job: 'j', instance: String(i % 3), le: ['0.1', '1', '+Inf'][i % 3] as string };
        storage.append(labels, i * 30_000, i % 7 === 0 ? Number.NaN : i);
      }
    }
    const engine = createEngine({
      enableExperimentalFunctions: true,
      enableDurationExpressions: true,
      enableExtendedRangeSelectors: true,
    });
    const internal: string[] = [];
    let answered = 0;
    for (const q of exprs) {
      for (const run of [
        () => engine.instantQuery(storage, q, 900_000),
        () => engine.rangeQuery(storage, q, 0, 1_800_000, 60_000),
      ]) {
        try {
          await run();
          answered++;
        } catch (err) {
          // Errors the language defines are fine; anything else is a bug in the engine.
          const msg = err instanceof Error ? err.message : String(err);
          if (
            !(err instanceof ThanosError) ||
            /expected a|between|needs a range|non-vector|non-instant|not supported/.test(msg)
          ) {
            internal.push(`${q}: ${msg}`);
          }
        }
      }
    }
    expect(exprs.length).toBeGreaterThan(1000);
    expect(internal).toEqual([]);
    expect(answered).toBeGreaterThan(exprs.length);
  });
});
