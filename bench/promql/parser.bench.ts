/**
 * Parser throughput. Run: npx tsx bench/promql/parser.bench.ts
 * Prints queries/s and MB/s for the conformance corpus and synthetic queries.
 */
import { Lexer, parseExpr } from '@thanos-ts/promql';
import { conformanceQueries, DASHBOARD_QUERY, DEEP_QUERY, LONG_QUERY } from './parser-corpus.js';

const ALL = {
  enableExperimentalFunctions: true,
  enableExperimentalDurationExpr: true,
  enableExtendedRangeSelectors: true,
};

function measure(name: string, queries: string[], run: (q: string) => void, minMs = 1500): void {
  const bytes = queries.reduce((n, q) => n + q.length, 0);
  for (let i = 0; i < 3; i++) for (const q of queries) run(q); // warm up
  let rounds = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (const q of queries) run(q);
    rounds++;
    elapsed = performance.now() - t0;
  }
  const perSec = (rounds * queries.length * 1000) / elapsed;
  const mbPerSec = (rounds * bytes) / 1e6 / (elapsed / 1000);
  const usPerQuery = (elapsed * 1000) / (rounds * queries.length);
  console.log(
    `${name.padEnd(44)} ${perSec.toFixed(0).padStart(9)} queries/s ${mbPerSec.toFixed(1).padStart(7)} MB/s ${usPerQuery.toFixed(2).padStart(9)} µs/query`,
  );
}

const corpus = conformanceQueries();
console.log(`node ${process.version}; corpus ${corpus.length} queries`);
measure(`conformance corpus (${corpus.length} queries)`, corpus, (q) => parseExpr(q, ALL));
measure('dashboard query (~200 chars)', [DASHBOARD_QUERY], (q) => parseExpr(q));
measure(`long query (${(LONG_QUERY.length / 1000).toFixed(1)} KB)`, [LONG_QUERY], (q) => parseExpr(q));
measure('deeply nested (200 levels)', [DEEP_QUERY], (q) => parseExpr(q));
measure('lexer only, conformance corpus', corpus, (q) => {
  const l = new Lexer(q);
  while (l.next().type !== 'EOF');
});
