/**
 * Ruler evaluation cost: 1,000 recording rules (sum by job of a rate, over 100 metrics × 100
 * series = 10k series, 1h of 15s samples) evaluated as one group with the in-process engine, the
 * results written to a real ruler TSDB. Reports the time one evaluation round takes as a fraction of
 * a 15 s interval (Prometheus's prometheus_rule_group_last_duration_seconds / interval).
 * Run: npx tsx bench/core/rule-eval.ts [--rules=1000] [--rounds=5]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createMemoryStorage } from '@thanos-ts/promql';
import { Labels, openDB } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { NOP_LOGGER } from '../../packages/core/src/log/logger.js';
import { RuleGroup } from '../../packages/core/src/rule/group.js';
import { createRuleMetrics } from '../../packages/core/src/rule/metrics.js';
import type { RuleQueryFunc } from '../../packages/core/src/rule/query-func.js';
import { numberArg } from '../args.js';

const RULES = numberArg('rules', 1000);
const ROUNDS = numberArg('rounds', 5);
const METRICS = 100;
const PER_METRIC = 100;
const INTERVAL = 15_000;
const END = 3_600_000;

const storage = createMemoryStorage();
const ts = Array.from({ length: END / INTERVAL + 1 }, (_, i) => i * INTERVAL);
for (let m = 0; m < METRICS; m++)
  for (let s = 0; s < PER_METRIC; s++) {
    const rate = 1 + ((m * PER_METRIC + s) % 7);
    storage.load([
      {
        labels: { __name__: `requests_${m}_total`, job: `job${s % 10}`, instance: `i${s}` },
        timestamps: ts,
        values: ts.map((t) => (t / 1000) * rate),
      },
    ]);
  }
const engine = createEngine({});
const query: RuleQueryFunc = async (expr, t) => {
  const r = await engine.instantQuery(storage, expr, t);
  const v = r.result;
  if (v.type === 'vector') return v.samples.map((s) => ({ labels: s.metric, value: s.f }));
  if (v.type === 'scalar') return [{ labels: Labels.EMPTY, value: v.v }];
  throw new Error(`unexpected ${v.type}`);
};

const dir = await mkdtemp(join(tmpdir(), 'rule-bench-'));
const db = await openDB({ dir });
try {
  const rules = Array.from({ length: RULES }, (_, i) => ({
    record: `job:requests_${i % METRICS}:rate5m_${Math.floor(i / METRICS)}`,
    expr: `sum by (job) (rate(requests_${i % METRICS}_total[5m]))`,
    forMs: 0,
    keepFiringForMs: 0,
    labels: {},
    annotations: {},
  }));
  const group = new RuleGroup(
    {
      file: 'bench.yml',
      name: 'bench',
      intervalMs: INTERVAL,
      queryOffsetMs: 0,
      limit: 0,
      partialResponseStrategy: 'ABORT',
      rules,
    },
    {
      query,
      appender: () => db.appender(),
      queryable: db.queryable(),
      externalLabels: {},
      externalURL: '',
      defaultIntervalMs: INTERVAL,
      defaultQueryOffsetMs: 0,
      forGracePeriodMs: 600_000,
      forOutageToleranceMs: 3_600_000,
      resendDelayMs: 60_000,
      notify: () => {},
      onEvaluated: () => {},
      metrics: createRuleMetrics(new Registry()),
      logger: NOP_LOGGER,
      now: Date.now,
    },
    false,
  );
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    await group.evaluate(END - (ROUNDS - 1 - r) * INTERVAL);
    times.push(performance.now() - t0);
  }
  const failed = group.rules.filter((r) => r.health !== 'ok').length;
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  console.log(`rules=${RULES} series=${METRICS * PER_METRIC} rounds=${ROUNDS} failed_rules=${failed}`);
  console.log(`round ms: ${times.map((t) => t.toFixed(0)).join(' ')}`);
  console.log(`median round ${median.toFixed(0)} ms = ${((median / INTERVAL) * 100).toFixed(1)}% of a 15s interval`);
  console.log(`head series written: ${db.head.numSeries ?? 'n/a'}`);
} finally {
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
