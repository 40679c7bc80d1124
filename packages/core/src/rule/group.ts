import type { Tracer } from '@opentelemetry/api';
import { isStaleNaN, type Labels, matcher, type Queryable, SampleError, STALE_NAN } from '@thanos-ts/tsdb';
import { xxhash64 } from '../cache/xxhash.js';
import type { Logger } from '../log/logger.js';
import { defaultTracer, withSpan } from '../tracing/context.js';
import type { RuleMetrics } from './metrics.js';
import type { RuleQueryFunc } from './query-func.js';
import type { RuleGroupConfig } from './rule-file.js';
import { type Alert, AlertingRule, type EvalContext, newRule, type OutputSample, type Rule } from './rules.js';

/** Where a group writes its samples: the ruler's TSDB appender. */
export interface SampleAppender {
  append(labels: Labels, t: number, v: number): number;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** What a group needs from its ruler. */
export interface GroupDeps {
  query: RuleQueryFunc;
  appender: () => SampleAppender;
  /** The ruler's own data, read to restore `for` state from ALERTS_FOR_STATE. */
  queryable: Queryable;
  externalLabels: Record<string, string>;
  externalURL: string;
  /** Interval of groups that set none, ms. */
  defaultIntervalMs: number;
  /** Query offset of groups that set none, ms. */
  defaultQueryOffsetMs: number;
  /** Minimum `for` of alerts restored, and the least time left to fire after restoring, ms. */
  forGracePeriodMs: number;
  /** Longest outage for which `for` state is restored, ms. */
  forOutageToleranceMs: number;
  /** Least time between two sends of the same firing alert, ms. */
  resendDelayMs: number;
  /** Sends alerts (already filtered to those needing it). */
  notify: (alerts: Alert[], expr: string) => void;
  /** Reports each evaluation's outcome (for readiness). */
  onEvaluated: (group: RuleGroup, failed: number) => void;
  metrics: RuleMetrics;
  logger: Logger;
  now: () => number;
  /**
   * Each rule's evaluation is a `rule` span (as Prometheus's rules manager names it), parent of the
   * query it sends; the HTTP query function carries it to the querier. Default: the global
   * (no-op unless registered) tracer.
   */
  tracer?: Tracer;
}

const utf8 = new TextEncoder();

/**
 * Prometheus's Group.hash: the xxhash64 of the label set {file, name} as labels.Labels.Hash
 * serialises it (`file\xff<file>\xffname\xff<name>\xff`). Matching it means our groups evaluate
 * at the same instants as Prometheus's and Thanos's for the same file path and name.
 */
export function groupHash(file: string, name: string): bigint {
  // The separator is the byte 0xff, which no UTF-8 string encodes, so the parts are joined as bytes.
  const parts = ['file', file, 'name', name].map((p) => utf8.encode(p));
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
    buf[at++] = 0xff;
  }
  return xxhash64(buf);
}

/**
 * The group's offset inside its interval, ms: Prometheus takes the hash modulo the interval in
 * nanoseconds; evaluation timestamps are then truncated to ms, so the ms offset is that floored.
 */
export function groupOffsetMs(file: string, name: string, intervalMs: number): number {
  if (intervalMs <= 0) return 0;
  return Number((groupHash(file, name) % (BigInt(intervalMs) * 1_000_000n)) / 1_000_000n);
}

/**
 * One rule group: its rules evaluated in order at aligned instants, results appended to the
 * ruler's TSDB with stale markers for series that disappear, alerts sent after each evaluation
 * (Prometheus's rules.Group).
 */
export class RuleGroup {
  readonly rules: Rule[];
  readonly intervalMs: number;
  readonly queryOffsetMs: number;
  /** `file;name`, the rule_group label of the metrics. */
  readonly key: string;
  /** Series each rule wrote in its last evaluation, by labels key. */
  seriesInPreviousEval: Array<Map<string, Labels>>;
  /** Series of removed rules still to be marked stale. */
  staleSeries: Labels[] = [];
  lastEvaluation = 0;
  evaluationTimeMs = 0;
  shouldRestore: boolean;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly cfg: RuleGroupConfig,
    private readonly deps: GroupDeps,
    restore: boolean,
  ) {
    this.rules = cfg.rules.map((r) => newRule(r, !restore));
    this.intervalMs = cfg.intervalMs ?? deps.defaultIntervalMs;
    this.queryOffsetMs = cfg.queryOffsetMs ?? deps.defaultQueryOffsetMs;
    this.key = `${cfg.file};${cfg.name}`;
    this.seriesInPreviousEval = this.rules.map(() => new Map());
    this.shouldRestore = restore;
  }

  get name(): string {
    return this.cfg.name;
  }

  get file(): string {
    return this.cfg.file;
  }

  /** Whether `other` has the same settings and rules (Prometheus's Group.Equals): then a reload keeps this one running. */
  equals(other: RuleGroup): boolean {
    return (
      this.intervalMs === other.intervalMs &&
      this.queryOffsetMs === other.queryOffsetMs &&
      JSON.stringify(this.cfg) === JSON.stringify(other.cfg)
    );
  }

  /**
   * The evaluation instant at or before `startMs`: multiples of the interval shifted by a hash of
   * the group, so groups of equal interval do not all evaluate at once (Prometheus's EvalTimestamp).
   */
  evalTimestamp(startMs: number): number {
    const offset = groupOffsetMs(this.file, this.name, this.intervalMs);
    const adj = startMs - offset;
    return adj - (((adj % this.intervalMs) + this.intervalMs) % this.intervalMs) + offset;
  }

  /**
   * Takes over a previous version's state on reload (Prometheus's CopyState): active alerts and
   * written series of rules with the same name and labels; series of rules gone are marked stale.
   */
  copyState(from: RuleGroup): void {
    this.lastEvaluation = from.lastEvaluation;
    this.evaluationTimeMs = from.evaluationTimeMs;
    const byIdentity = new Map<string, number[]>();
    from.rules.forEach((r, i) => {
      byIdentity.set(r.identity, [...(byIdentity.get(r.identity) ?? []), i]);
    });
    this.rules.forEach((r, i) => {
      const idx = byIdentity.get(r.identity);
      if (!idx || idx.length === 0) return;
      const fi = idx.shift() as number;
      this.seriesInPreviousEval[i] = from.seriesInPreviousEval[fi] as Map<string, Labels>;
      const fr = from.rules[fi] as Rule;
      if (r instanceof AlertingRule && fr instanceof AlertingRule) {
        for (const [k, a] of fr.active) r.active.set(k, a);
        r.restored = r.restored || fr.restored;
      }
      r.health = fr.health;
      r.lastError = fr.lastError;
      r.lastEvaluation = fr.lastEvaluation;
      r.evaluationTimeMs = fr.evaluationTimeMs;
    });
    this.staleSeries = [...from.staleSeries];
    for (const idx of byIdentity.values())
      for (const fi of idx) this.staleSeries.push(...(from.seriesInPreviousEval[fi]?.values() ?? []));
  }

  private ctx(): EvalContext {
    return {
      query: this.deps.query,
      queryOptions: { partialResponseStrategy: this.cfg.partialResponseStrategy },
      queryOffsetMs: this.queryOffsetMs,
      limit: this.cfg.limit,
      externalLabels: this.deps.externalLabels,
      externalURL: this.deps.externalURL,
      onTemplateError: (rule, err) =>
        this.deps.logger.warn('expanding alert template failed', { group: this.name, rule, err: err.message }),
    };
  }

  private async write(samples: readonly OutputSample[]): Promise<void> {
    if (samples.length === 0) return;
    const app = this.deps.appender();
    let rejected = 0;
    for (const s of samples) {
      try {
        app.append(s.labels, s.t, s.v);
      } catch (err) {
        if (!(err instanceof SampleError)) {
          await app.rollback();
          throw err;
        }
        // Prometheus counts and logs these (out of order, duplicate) and keeps the rest.
        if (!isStaleNaN(s.v)) rejected++;
      }
    }
    await app.commit();
    if (rejected > 0)
      this.deps.logger.warn('rule sample rejected by the tsdb', { group: this.name, samples: rejected });
  }

  /** Evaluates every rule once at `ts` (ms), writes their samples and sends alerts. */
  async evaluate(ts: number): Promise<void> {
    const { metrics, logger } = this.deps;
    const start = this.deps.now();
    const ctx = this.ctx();
    let failed = 0;
    for (let i = 0; i < this.rules.length; i++) {
      if (this.stopped) return;
      const rule = this.rules[i] as Rule;
      const ruleStart = this.deps.now();
      metrics.evaluations.inc({ rule_group: this.key });
      let out: OutputSample[];
      try {
        out = await withSpan(
          this.deps.tracer ?? defaultTracer(),
          'rule',
          { name: rule.name, rule_group: this.name, file: this.cfg.file },
          () => rule.eval(ts, ctx),
        );
        rule.health = 'ok';
        rule.lastError = undefined;
      } catch (err) {
        rule.health = 'err';
        rule.lastError = err as Error;
        failed++;
        metrics.evaluationFailures.inc({ rule_group: this.key });
        logger.warn('evaluating rule failed', { group: this.name, rule: rule.name, err: (err as Error).message });
        continue;
      } finally {
        rule.lastEvaluation = ruleStart;
        rule.evaluationTimeMs = this.deps.now() - ruleStart;
      }
      if (rule instanceof AlertingRule) this.sendAlerts(rule, ts);
      const returned = new Map<string, Labels>();
      for (const s of out) returned.set(s.labels.key(), s.labels);
      const t = ts - this.queryOffsetMs;
      const stale: OutputSample[] = [];
      for (const [k, l] of this.seriesInPreviousEval[i] as Map<string, Labels>)
        if (!returned.has(k)) stale.push({ labels: l, t, v: STALE_NAN });
      try {
        await this.write([...out, ...stale]);
        this.seriesInPreviousEval[i] = returned;
      } catch (err) {
        failed++;
        metrics.evaluationFailures.inc({ rule_group: this.key });
        logger.error('writing rule results failed', { group: this.name, rule: rule.name, err: (err as Error).message });
      }
    }
    if (this.staleSeries.length > 0) {
      const t = ts - this.queryOffsetMs;
      try {
        await this.write(this.staleSeries.map((labels) => ({ labels, t, v: STALE_NAN })));
        this.staleSeries = [];
      } catch (err) {
        logger.warn('writing stale markers failed', { group: this.name, err: (err as Error).message });
      }
    }
    this.evaluationTimeMs = this.deps.now() - start;
    this.lastEvaluation = start;
    metrics.lastDuration.set({ rule_group: this.key }, this.evaluationTimeMs / 1000);
    metrics.lastEvaluation.set({ rule_group: this.key }, ts / 1000);
    this.deps.onEvaluated(this, failed);
  }

  /** Prometheus's AlertingRule.sendAlerts: firing and recently resolved alerts, at most once per resend delay. */
  private sendAlerts(rule: AlertingRule, ts: number): void {
    const delay = this.deps.resendDelayMs;
    const send: Alert[] = [];
    for (const a of rule.active.values()) {
      if (a.state === 'pending') continue;
      const needs = a.resolvedAt > a.lastSentAt || a.lastSentAt + delay < ts;
      if (!needs) continue;
      a.lastSentAt = ts;
      a.validUntil = ts + 4 * Math.max(delay, this.intervalMs);
      send.push(a);
    }
    if (send.length > 0) this.deps.notify(send, rule.query);
  }

  /**
   * Restores `for` state from ALERTS_FOR_STATE in the ruler's TSDB after a restart, as
   * Prometheus's Group.RestoreForState: an alert pending before keeps its active-since time,
   * shifted by the outage, and gets at least the grace period before firing.
   */
  async restoreForState(ts: number): Promise<void> {
    const { forGracePeriodMs, forOutageToleranceMs, logger } = this.deps;
    const mint = ts - forOutageToleranceMs;
    for (const rule of this.rules) {
      if (!(rule instanceof AlertingRule)) continue;
      const hold = rule.holdDurationMs;
      if (hold < forGracePeriodMs) {
        rule.restored = true;
        continue;
      }
      try {
        const matchers = [matcher('=', '__name__', 'ALERTS_FOR_STATE'), matcher('=', 'alertname', rule.name)];
        for (const l of rule.labels) if (!l.value.includes('{{')) matchers.push(matcher('=', l.name, l.value));
        const series = await this.deps.queryable.select(matchers, { start: mint, end: ts });
        const byKey = new Map<string, { t: number; v: number }>();
        for (const s of series) {
          let last = -1;
          for (let j = s.values.length - 1; j >= 0; j--)
            if (!isStaleNaN(s.values[j] as number)) {
              last = j;
              break;
            }
          if (last < 0) continue;
          byKey.set(s.labels.without(['__name__']).key(), {
            t: s.timestamps[last] as number,
            v: s.values[last] as number,
          });
        }
        for (const a of rule.active.values()) {
          const found = byKey.get(a.labels.key());
          if (!found) continue;
          const downAt = found.t;
          let restoredActiveAt = found.v * 1000;
          const remaining = hold - (downAt - restoredActiveAt);
          if (remaining <= 0) {
            // It was firing when the ruler went down; the next evaluation fires it again.
          } else if (remaining < forGracePeriodMs) restoredActiveAt = ts + forGracePeriodMs - hold;
          else restoredActiveAt += ts - downAt;
          a.activeAt = restoredActiveAt;
          logger.debug('restored for state', { group: this.name, rule: rule.name, alert: a.labels.toString() });
        }
      } catch (err) {
        logger.error('restoring for state failed', { group: this.name, rule: rule.name, err: (err as Error).message });
      }
      rule.restored = true;
    }
  }

  /**
   * Runs the evaluation loop until `stop()`: first evaluation at the next aligned instant, then one
   * per interval; instants missed because an evaluation overran are skipped and counted
   * (prometheus_rule_group_iterations_missed_total). With `restore`, `for` state is restored after
   * the second evaluation, as Prometheus waits for recording rules to have run once.
   */
  start(): void {
    const { metrics } = this.deps;
    metrics.interval.set({ rule_group: this.key }, this.intervalMs / 1000);
    metrics.rules.set({ rule_group: this.key }, this.rules.length);
    this.running = (async () => {
      let evalTs = this.evalTimestamp(this.deps.now()) + this.intervalMs;
      await this.sleepUntil(evalTs);
      let iterations = 0;
      while (!this.stopped) {
        metrics.iterations.inc({ rule_group: this.key });
        await this.evaluate(evalTs);
        iterations++;
        if (this.shouldRestore && iterations === 2) {
          await this.restoreForState(this.deps.now());
          this.shouldRestore = false;
        }
        await this.sleepUntil(evalTs + this.intervalMs);
        if (this.stopped) break;
        const missed = Math.floor((this.deps.now() - evalTs) / this.intervalMs) - 1;
        if (missed > 0) metrics.iterationsMissed.inc({ rule_group: this.key }, missed);
        evalTs += (Math.max(missed, 0) + 1) * this.intervalMs;
      }
    })();
  }

  private sleepUntil(t: number): Promise<void> {
    const ms = t - this.deps.now();
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  /** Stops the loop and waits for a running evaluation to finish. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.running;
  }

  /** Writes stale markers for every series the group wrote (a group removed on reload). */
  async markStale(ts: number): Promise<void> {
    const all: OutputSample[] = [];
    for (const m of this.seriesInPreviousEval) for (const l of m.values()) all.push({ labels: l, t: ts, v: STALE_NAN });
    for (const l of this.staleSeries) all.push({ labels: l, t: ts, v: STALE_NAN });
    try {
      await this.write(all);
    } catch (err) {
      this.deps.logger.warn('writing stale markers failed', { group: this.name, err: (err as Error).message });
    }
  }
}
