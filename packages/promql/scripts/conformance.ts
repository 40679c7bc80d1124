/**
 * `npm run conformance`: runs every Prometheus conformance script
 * (../shared/promql-conformance relative to the repo root, or $PROMQL_CONFORMANCE_DIR) and prints
 * one line per file and a final `N passed, M failed` line. `-- --pool` evaluates through a worker pool.
 * `-- --strict-hints` also compares every counter reset hint an expectation names (the rule
 * promqltest adopted after v3.9.0, the version of these files; see RunScriptOptions).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, createEvaluationPool } from '../src/index.js';
import { runScript } from '../src/promqltest/runner.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const dir = process.env.PROMQL_CONFORMANCE_DIR ?? resolve(repoRoot, '..', 'shared', 'promql-conformance');
const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// --pool: every eval goes through a two-worker evaluation pool (checks the worker wire format,
// histograms included, against the same expectations).
const counterResetHints = process.argv.includes('--strict-hints') ? 'when-named' : 'ignore';
const pool = process.argv.includes('--pool') ? createEvaluationPool({ size: 2 }) : undefined;
const engine =
  pool === undefined
    ? undefined
    : createEngine({
        enableExperimentalFunctions: true,
        enableDurationExpressions: true,
        enableExtendedRangeSelectors: true,
        maxSamples: 50_000_000,
        lookbackDelta: 300_000,
        pool,
      });

let passed = 0;
let failed = 0;
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.test'))
  .sort()) {
  if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
  const result = await runScript(
    readFileSync(join(dir, file), 'utf8'),
    engine === undefined ? { counterResetHints } : { engine, counterResetHints },
  );
  passed += result.passed;
  failed += result.failed;
  console.log(
    `${file}: ${result.passed} passed, ${result.failed} failed${result.error ? ` (script error: ${result.error})` : ''}`,
  );
  if (verbose) {
    for (const e of result.evals) if (!e.passed) console.log(`  line ${e.line}: ${e.expr}\n    ${e.message}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
await pool?.close();
