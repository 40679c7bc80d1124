import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DB, Labels, matcher, openDB } from '@thanos-ts/tsdb';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NOP_LOGGER } from '../src/log/logger.js';
import {
  type Alert,
  AlertingRule,
  createRuleMetrics,
  type EvalContext,
  RuleGroup,
  type RuleGroupConfig,
  type RuleQueryFunc,
  toAlertmanagerAlert,
} from '../src/rule/index.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;

function ctxWith(query: RuleQueryFunc): EvalContext {
  return { query, queryOptions: {}, queryOffsetMs: 0, limit: 0, externalLabels: {}, externalURL: '' };
}

function alertRule(forMs: number, keepFiringForMs = 0): AlertingRule {
  return new AlertingRule(
    {
      alert: 'A',
      expr: 'x > 0',
      forMs,
      keepFiringForMs,
      labels: { severity: 'page' },
      annotations: { v: '{{ $value }}' },
    },
    true,
  );
}

describe('alerting rule states', () => {
  it('goes pending, firing after `for`, then resolved and is dropped after the retention', async () => {
    let present = true;
    const rule = alertRule(2 * MIN);
    const ctx = ctxWith(async () => (present ? [{ labels: Labels.from({ __name__: 'x', job: 'a' }), value: 3 }] : []));
    const states: string[] = [];
    for (let i = 0; i <= 2; i++) {
      const out = await rule.eval(T0 + i * MIN, ctx);
      states.push(rule.state);
      expect(out.map((s) => s.labels.toString())).toEqual([
        `{__name__="ALERTS", alertname="A", alertstate="${rule.state}", job="a", severity="page"}`,
        '{__name__="ALERTS_FOR_STATE", alertname="A", job="a", severity="page"}',
      ]);
      expect(out[1]?.v).toBe(T0 / 1000);
    }
    expect(states).toEqual(['pending', 'pending', 'firing']);
    const a = [...rule.active.values()][0] as Alert;
    expect(a.annotations.toRecord()).toEqual({ v: '3' });
    expect(a.firedAt).toBe(T0 + 2 * MIN);
    present = false;
    expect(await rule.eval(T0 + 3 * MIN, ctx)).toEqual([]);
    expect(a.state).toBe('inactive');
    expect(a.resolvedAt).toBe(T0 + 3 * MIN);
    expect(rule.active.size).toBe(1);
    await rule.eval(T0 + 3 * MIN + 16 * MIN, ctx);
    expect(rule.active.size).toBe(0);
  });

  it('keeps firing for keep_firing_for after the condition clears', async () => {
    let present = true;
    const rule = alertRule(0, 2 * MIN);
    const ctx = ctxWith(async () => (present ? [{ labels: Labels.from({ job: 'a' }), value: 1 }] : []));
    await rule.eval(T0, ctx);
    expect(rule.state).toBe('firing');
    present = false;
    await rule.eval(T0 + MIN, ctx);
    expect(rule.state).toBe('firing');
    await rule.eval(T0 + 2 * MIN, ctx);
    expect(rule.state).toBe('firing');
    await rule.eval(T0 + 3 * MIN, ctx);
    expect(rule.state).toBe('inactive');
  });

  it('drops a pending alert at once when the condition clears', async () => {
    let present = true;
    const rule = alertRule(10 * MIN);
    const ctx = ctxWith(async () => (present ? [{ labels: Labels.from({ job: 'a' }), value: 1 }] : []));
    await rule.eval(T0, ctx);
    present = false;
    await rule.eval(T0 + MIN, ctx);
    expect(rule.active.size).toBe(0);
  });

  it('fails on duplicate label sets and on the limit, as Prometheus', async () => {
    const rule = new AlertingRule(
      { alert: 'A', expr: 'x', forMs: 0, keepFiringForMs: 0, labels: { job: 'same' }, annotations: {} },
      true,
    );
    const two = ctxWith(async () => [
      { labels: Labels.from({ job: 'a' }), value: 1 },
      { labels: Labels.from({ job: 'b' }), value: 1 },
    ]);
    await expect(rule.eval(T0, two)).rejects.toThrow(
      'vector contains metrics with the same labelset after applying alert labels',
    );
    const limited = alertRule(0);
    await expect(limited.eval(T0, { ...two, limit: 1 })).rejects.toThrow('exceeded limit of 1 with 2 alerts');
  });

  it('converts to the Alertmanager v2 shape with external labels added and dropped labels removed', () => {
    const a: Alert = {
      labels: Labels.from({ alertname: 'A', replica: 'x' }),
      annotations: Labels.from({ s: 'y' }),
      state: 'firing',
      activeAt: T0,
      firedAt: T0,
      resolvedAt: 0,
      lastSentAt: T0,
      validUntil: T0 + 4 * MIN,
      keepFiringSince: 0,
      value: 1,
    };
    expect(
      toAlertmanagerAlert(a, 'up == 0', {
        externalLabels: { cluster: 'eu', replica: 'r' },
        dropLabels: ['replica'],
        queryURL: 'http://q/',
      }),
    ).toEqual({
      labels: { alertname: 'A', cluster: 'eu' },
      annotations: { s: 'y' },
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(T0 + 4 * MIN).toISOString(),
      generatorURL: 'http://q/graph?g0.expr=up+%3D%3D+0&g0.tab=1',
    });
  });
});

describe('restoring `for` state after a restart', () => {
  let dir: string;
  let db: DB;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rule-restore-'));
    db = await openDB({ dir });
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  function group(forMs: number, restore: boolean, sent: Alert[][] = []): RuleGroup {
    const cfg: RuleGroupConfig = {
      file: 'f.yml',
      name: 'g',
      intervalMs: MIN,
      queryOffsetMs: 0,
      limit: 0,
      partialResponseStrategy: 'ABORT',
      rules: [{ alert: 'A', expr: 'x', forMs, keepFiringForMs: 0, labels: {}, annotations: {} }],
    };
    return new RuleGroup(
      cfg,
      {
        query: async () => [{ labels: Labels.from({ job: 'a' }), value: 1 }],
        appender: () => db.appender(),
        queryable: db.queryable(),
        externalLabels: {},
        externalURL: '',
        defaultIntervalMs: MIN,
        defaultQueryOffsetMs: 0,
        forGracePeriodMs: 10 * MIN,
        forOutageToleranceMs: 60 * MIN,
        resendDelayMs: MIN,
        notify: (alerts) => sent.push(alerts.map((a) => ({ ...a }))),
        onEvaluated: () => {},
        metrics: createRuleMetrics(new Registry()),
        logger: NOP_LOGGER,
        now: () => T0,
      },
      restore,
    );
  }

  const activeAt = (g: RuleGroup) => ([...(g.rules[0] as AlertingRule).active.values()][0] as Alert).activeAt;

  it('gives an alert pending before the restart at least the grace period', async () => {
    const before = group(15 * MIN, false);
    await before.evaluate(T0);
    await before.evaluate(T0 + 10 * MIN);
    const stored = await db
      .queryable()
      .select([matcher('=', '__name__', 'ALERTS_FOR_STATE')], { start: 0, end: T0 + 11 * MIN });
    expect([...(stored[0]?.values ?? [])]).toEqual([T0 / 1000, T0 / 1000]);
    // Restart 10 minutes later: 5 of the 15 minutes were left, less than the 10m grace period.
    const after = group(15 * MIN, true);
    const t1 = T0 + 20 * MIN;
    await after.evaluate(t1);
    await after.evaluate(t1 + MIN);
    expect(activeAt(after)).toBe(t1);
    await after.restoreForState(t1 + MIN);
    expect(activeAt(after)).toBe(t1 + MIN + 10 * MIN - 15 * MIN);
  });

  it('fires again at once, without going back to pending, when it fired before the restart', async () => {
    const before = group(15 * MIN, false);
    await before.evaluate(T0);
    await before.evaluate(T0 + 20 * MIN);
    expect((before.rules[0] as AlertingRule).state).toBe('firing');
    const sent: Alert[][] = [];
    const after = group(15 * MIN, true, sent);
    const t1 = T0 + 22 * MIN;
    await after.evaluate(t1);
    await after.evaluate(t1 + MIN);
    await after.restoreForState(t1 + MIN);
    expect(activeAt(after)).toBe(T0);
    await after.evaluate(t1 + 2 * MIN);
    expect((after.rules[0] as AlertingRule).state).toBe('firing');
    // Nothing resolved was ever sent: Alertmanager sees no flap.
    expect(sent.flat().every((a) => a.resolvedAt === 0)).toBe(true);
  });
});
