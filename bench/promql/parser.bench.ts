/**
 * Parser throughput. Run: npx tsx bench/promql/parser.bench.ts
 * Prints µs per query (median and best 100 ms sample) for the conformance corpus and synthetic
 * queries.
 */
import { Lexer, parseExpr } from '@thanos-ts/promql';
import { conformanceQueries, DASHBOARD_QUERY, DEEP_QUERY, LONG_QUERY } from './parser-corpus.js';

const ALL = {
  enableExperimentalFunctions: true,
  enableExperimentalDurationExpr: true,
  enableExtendedRangeSelectors: true,
};

/**
 * Runs `queries` repeatedly in ~100 ms samples for about `totalMs` and prints the median and
 * the best sample: on a shared machine the best sample is the closest to an idle core.
 */
function measure(name: string, queries: string[], run: (q: string) => void, totalMs = 2000): void {
  const bytes = queries.reduce((n, q) => n + q.length, 0);
  for (let i = 0; i < 3; i++) for (const q of queries) run(q); // warm up
  const usPerQuery: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < totalMs) {
    let rounds = 0;
    const s0 = performance.now();
    let elapsed = 0;
    while (elapsed < 100) {
      for (const q of queries) run(q);
      rounds++;
      elapsed = performance.now() - s0;
    }
    usPerQuery.push((elapsed * 1000) / (rounds * queries.length));
  }
  usPerQuery.sort((a, b) => a - b);
  const best = usPerQuery[0] as number;
  const median = usPerQuery[Math.floor(usPerQuery.length / 2)] as number;
  const mbPerSec = ((bytes / queries.length / best) * 1e6) / 1e6;
  console.log(
    `${name.padEnd(44)} median ${median.toFixed(2).padStart(9)} µs/query  best ${best.toFixed(2).padStart(9)} µs/query ` +
      `(${(1e6 / best).toFixed(0).padStart(8)} queries/s, ${mbPerSec.toFixed(1).padStart(5)} MB/s)`,
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
