/**
 * Queries the parser benchmarks run: every eval query of the conformance scripts
 * (../shared/promql-conformance, ~1.8k queries) plus a few synthetic large ones.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every `eval …` query in the conformance scripts (empty when the folder is absent). */
export function conformanceQueries(): string[] {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../shared/promql-conformance');
  if (!existsSync(dir)) return [];
  const re =
    /^\s*eval(?:_fail|_warn|_info|_ordered)?\s+(?:instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+)\s+(.*)$/;
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.test'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = re.exec(line);
      if (m?.[1]) out.push(m[1]);
    }
  }
  return out;
}

/** A typical dashboard query (~200 characters). */
export const DASHBOARD_QUERY =
  'histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket{job=~"api|web", code!~"5.."}[5m] offset 1h))) / on(job) group_left(team) max by (job, team) (job_owner_info)';

/** A long query: 200 selectors joined by `or` (~8 KB), like generated alerting expressions. */
export const LONG_QUERY = Array.from(
  { length: 200 },
  (_, i) => `rate(metric_${i}_total{instance=~"host-${i}.*", job="j${i % 7}"}[5m])`,
).join(' or ');

/** Deep nesting: 200 levels of abs(…). */
export const DEEP_QUERY = `${'abs('.repeat(200)}foo${')'.repeat(200)}`;
