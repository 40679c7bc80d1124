import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBucket } from '@thanos-ts/objstore';
import { createMemoryStorage } from '@thanos-ts/promql';
import {
  isListening,
  programAvailable,
  type RunningAlertmanager,
  type RunningPrometheus,
  startAlertmanager,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { isStaleNaN, Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComponentClosedError } from '../src/component/component.js';
import { createQuerier } from '../src/query/querier.js';
import { groupOffsetMs } from '../src/rule/group.js';
import { createRuler, querierQueryFunc, type Ruler } from '../src/rule/index.js';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import { createLocalStore } from '../src/storeapi/local-store.js';
import { MAX_TIME, MIN_TIME } from '../src/storeapi/store-api.js';

// The same rule file in a real Prometheus 2.42 and in our ruler evaluating against that
// Prometheus's HTTP API: recorded series and alerts must agree, and a real Alertmanager must
// receive our firing alert.

const RULES = `groups:
  - name: recording
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - record: build:count
        expr: count(prometheus_build_info) * 2
        labels:
          source: rules
  - name: alerting
    rules:
      - alert: TargetUp
        expr: up == 1
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} is up with value {{ $value }}"
          human: "{{ 1234567 | humanize }}"
      - alert: PendingLong
        expr: up == 1
        for: 1h
        labels:
          severity: ticket
`;

/** Waits for `check`; a timeout names the calling test. */
function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  return waitFor(expect.getState().currentTestName ?? 'condition', check, timeoutMs);
}

async function lastValue(ruler: Ruler, name: string): Promise<Map<string, number>> {
  const db = ruler.db;
  if (!db) throw new Error('ruler not started');
  const series = await db.queryable().select([matcher('=', '__name__', name)], { start: 0, end: Date.now() + 1000 });
  const out = new Map<string, number>();
  for (const s of series) {
    const v = s.values[s.values.length - 1] as number;
    if (!isStaleNaN(v)) out.set(s.labels.without(['__name__']).toString(), v);
  }
  return out;
}

async function promQuery(prom: RunningPrometheus, q: string): Promise<Map<string, number>> {
  const r = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  const out = new Map<string, number>();
  for (const s of r.data.result) out.set(Labels.from(s.metric).without(['__name__']).toString(), Number(s.value[1]));
  return out;
}

interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
  activeAt: string;
}

async function alertsOf(base: string): Promise<ApiAlert[]> {
  const r = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { data: { alerts: ApiAlert[] } };
  return r.data.alerts;
}

const norm = (alerts: ApiAlert[]) =>
  alerts.map((a) => JSON.stringify({ labels: a.labels, annotations: a.annotations, state: a.state })).sort();

describe.skipIf(!programAvailable('prometheus') || !programAvailable('alertmanager'))(
  'ruler against Prometheus 2.42 and Alertmanager',
  () => {
    let dir: string;
    let prom: RunningPrometheus;
    let am: RunningAlertmanager;
    let ruler: Ruler;
    let ruleFile: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ruler-'));
      ruleFile = join(dir, 'rules.yml');
      await writeFile(ruleFile, RULES);
      // Prometheus scrapes itself every second, so `up` and prometheus_build_info exist and are constant.
      prom = await startPrometheus({
        config: `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [${JSON.stringify(ruleFile)}]
scrape_configs:
  - job_name: prom
    static_configs: [{ targets: ['PLACEHOLDER'] }]
`,
      });
      // The port is only known after start; point the scrape job at it and reload.
      await writeFile(
        join(prom.dataDir, '..', 'prometheus.yml'),
        `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [${JSON.stringify(ruleFile)}]
scrape_configs:
  - job_name: prom
    static_configs: [{ targets: ['127.0.0.1:${prom.port}'] }]
`,
      );
      expect((await fetch(`${prom.url}/-/reload`, { method: 'POST' })).status).toBe(200);
      am = await startAlertmanager();
      ruler = createRuler({
        ruleFiles: [join(dir, '*.yml')],
        dataDir: join(dir, 'ruler-data'),
        evalIntervalMs: 1000,
        queryURLs: [prom.url],
        queryHttpMethod: 'GET',
        externalLabels: { ruler: 'r1' },
        alertmanagerURLs: [am.url],
        alertQueryURL: 'http://thanos-query:9090',
        alertLabelDrop: ['ruler'],
        resendDelayMs: 1000,
        httpAddress: '127.0.0.1:0',
        grpcAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        grpcGracePeriodMs: 0,
        shipIntervalMs: 0,
      });
      await ruler.start();
    }, 120_000);

    afterAll(async () => {
      await ruler?.close();
      await prom?.stop();
      await am?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('records the same series as Prometheus', async () => {
      await until(
        async () => (await lastValue(ruler, 'build:count')).size > 0 && (await promQuery(prom, 'build:count')).size > 0,
        30_000,
      );
      for (const name of ['job:up:sum', 'build:count']) {
        await until(async () => (await lastValue(ruler, name)).size > 0, 30_000);
        expect(await lastValue(ruler, name)).toEqual(await promQuery(prom, name));
      }
      expect(await lastValue(ruler, 'build:count')).toEqual(new Map([['{source="rules"}', 2]]));
    }, 60_000);

    it('evaluates each group at the same offset in its interval as Prometheus', async () => {
      await until(async () => (await lastValue(ruler, 'job:up:sum')).size > 0, 30_000);
      // Raw sample timestamps of the recorded series: Prometheus's and ours, ms within the 1 s interval.
      const r = (await (
        await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent('job:up:sum[10s]')}`)
      ).json()) as {
        data: { result: Array<{ values: Array<[number, string]> }> };
      };
      const promOffsets = new Set(r.data.result.flatMap((s) => s.values.map(([t]) => Math.round(t * 1000) % 1000)));
      const db = ruler.db;
      if (!db) throw new Error('ruler not started');
      const ours = await db.queryable().select([matcher('=', '__name__', 'job:up:sum')], { start: 0, end: Date.now() });
      const ourOffsets = new Set(ours.flatMap((s) => Array.from(s.timestamps, (t) => t % 1000)));
      expect(promOffsets).toEqual(new Set([groupOffsetMs(ruleFile, 'recording', 1000)]));
      expect(ourOffsets).toEqual(promOffsets);
    }, 60_000);

    it('has the same alerts as Prometheus', async () => {
      await until(async () => {
        const ours = await alertsOf(`http://${ruler.httpAddress}`);
        const theirs = await alertsOf(prom.url);
        return ours.length === 2 && theirs.length === 2 && ours.some((a) => a.state === 'firing');
      }, 30_000);
      const ours = await alertsOf(`http://${ruler.httpAddress}`);
      const theirs = await alertsOf(prom.url);
      expect(norm(ours)).toEqual(norm(theirs));
      const firing = ours.find((a) => a.labels.alertname === 'TargetUp');
      expect(firing?.annotations).toEqual({ summary: 'prom is up with value 1', human: '1.235M' });
      expect(ours.find((a) => a.labels.alertname === 'PendingLong')?.state).toBe('pending');
      // /api/v1/rules in Prometheus's shape.
      const rules = (await (await fetch(`http://${ruler.httpAddress}/api/v1/rules`)).json()) as {
        data: { groups: Array<{ name: string; rules: Array<{ name: string; type: string; health: string }> }> };
      };
      const byName = Object.fromEntries(
        rules.data.groups.map((g) => [g.name, g.rules.map((r) => `${r.type}:${r.name}:${r.health}`)]),
      );
      expect(byName).toEqual({
        alerting: ['alerting:TargetUp:ok', 'alerting:PendingLong:ok'],
        recording: ['recording:job:up:sum:ok', 'recording:build:count:ok'],
      });
    }, 60_000);

    it('writes ALERTS series like Prometheus', async () => {
      await until(async () => (await lastValue(ruler, 'ALERTS')).size === 2, 30_000);
      expect(await lastValue(ruler, 'ALERTS')).toEqual(await promQuery(prom, 'ALERTS'));
    }, 60_000);

    it('sends the firing alert to Alertmanager', async () => {
      type AmAlert = { labels: Record<string, string>; annotations: Record<string, string>; generatorURL: string };
      let got: AmAlert | undefined;
      await until(async () => {
        const list = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AmAlert[];
        got = list.find((a) => a.labels.alertname === 'TargetUp');
        return got !== undefined;
      }, 30_000);
      expect(got?.labels).toEqual({
        alertname: 'TargetUp',
        instance: `127.0.0.1:${prom.port}`,
        job: 'prom',
        severity: 'page',
      });
      expect(got?.annotations.summary).toBe('prom is up with value 1');
      expect(got?.generatorURL).toBe('http://thanos-query:9090/graph?g0.expr=up+%3D%3D+1&g0.tab=1');
      expect(await ruler.registry.getSingleMetricAsString('thanos_alert_sender_alerts_sent_total')).toMatch(
        / [1-9]\d*$/m,
      );
    }, 60_000);

    it('tells Alertmanager when an alert resolves', async () => {
      const rdir = await mkdtemp(join(tmpdir(), 'ruler-resolve-'));
      let firing = true;
      try {
        await writeFile(
          join(rdir, 'r.yml'),
          'groups:\n  - name: g\n    interval: 200ms\n    rules:\n      - alert: Flapper\n        expr: x > 0\n        annotations:\n          summary: "value {{ $value }}"\n',
        );
        await using r = createRuler({
          ruleFiles: [join(rdir, 'r.yml')],
          dataDir: join(rdir, 'data'),
          query: async () => (firing ? [{ labels: Labels.from({ __name__: 'x', job: 'j' }), value: 5 }] : []),
          alertmanagerURLs: [am.url],
          resendDelayMs: 200,
          shipIntervalMs: 0,
        });
        await r.start();
        type AmAlert = {
          labels: Record<string, string>;
          annotations: Record<string, string>;
          status: { state: string };
        };
        const flapper = async () =>
          ((await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AmAlert[]).find(
            (a) => a.labels.alertname === 'Flapper',
          );
        await until(async () => (await flapper())?.status.state === 'active', 20_000);
        expect((await flapper())?.annotations).toEqual({ summary: 'value 5' });
        firing = false;
        // A resolved alert (endsAt in the past) leaves Alertmanager's list of alerts.
        await until(async () => (await flapper()) === undefined, 20_000);
      } finally {
        await rm(rdir, { recursive: true, force: true });
      }
    }, 60_000);

    it('serves recorded series through the StoreAPI with its external labels', async () => {
      const client = connectStoreAPI(ruler.grpcAddress as string);
      try {
        const info = await client.info();
        expect(info.componentType).toBe('rule');
        const names: string[] = [];
        for await (const m of client.series({
          minTime: MIN_TIME,
          maxTime: MAX_TIME,
          matchers: [matcher('=', '__name__', 'build:count')],
        })) {
          if (m.type === 'series') names.push(m.series.labels.toString());
        }
        expect(names).toEqual(['{__name__="build:count", ruler="r1", source="rules"}']);
      } finally {
        client.close();
      }
    }, 30_000);

    it('keeps a pending alert across a reload, and rejects a bad file keeping the old rules', async () => {
      const before = (await alertsOf(`http://${ruler.httpAddress}`)).find((a) => a.labels.alertname === 'PendingLong');
      expect(before?.state).toBe('pending');
      // Change the alerting group (a rule added) so the group is rebuilt and its state copied.
      await writeFile(ruleFile, `${RULES}      - record: extra:up\n        expr: up\n`);
      expect((await fetch(`http://${ruler.httpAddress}/-/reload`, { method: 'POST' })).status).toBe(200);
      const group = ruler.groups().find((g) => g.name === 'alerting');
      expect(group?.rules.map((r) => r.name)).toEqual(['TargetUp', 'PendingLong', 'extra:up']);
      const after = (await alertsOf(`http://${ruler.httpAddress}`)).find((a) => a.labels.alertname === 'PendingLong');
      expect(after?.activeAt).toBe(before?.activeAt);
      expect(after?.state).toBe('pending');

      await writeFile(ruleFile, 'groups:\n  - name: x\n    rules:\n      - record: r\n        expr: sum(\n');
      const res = await fetch(`http://${ruler.httpAddress}/-/reload`, { method: 'POST' });
      expect(res.status).toBe(500);
      expect(await res.text()).toContain('group "x", rule 1, "r": could not parse expression');
      expect(
        ruler
          .groups()
          .map((g) => g.name)
          .sort(),
      ).toEqual(['alerting', 'recording']);
      expect(await ruler.registry.getSingleMetricAsString('thanos_rule_config_last_reload_successful')).toMatch(/ 0$/m);
    }, 60_000);
  },
);

describe('ruler without reference programs', () => {
  it('reports not ready while every evaluation fails, with a reason, a metric and a log line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-fail-'));
    const lines: string[] = [];
    try {
      await writeFile(
        join(dir, 'r.yml'),
        'groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - record: r\n        expr: vector(1)\n',
      );
      await using ruler = createRuler({
        ruleFiles: [join(dir, 'r.yml')],
        dataDir: join(dir, 'data'),
        query: async () => {
          throw new Error('querier down');
        },
        failedEvaluationsBeforeNotReady: 2,
        httpAddress: '127.0.0.1:0',
        httpGracePeriodMs: 0,
        shipIntervalMs: 0,
        logger: {
          debug() {},
          info() {},
          warn(m) {
            lines.push(m);
          },
          error(m, f) {
            lines.push(`${m} ${JSON.stringify(f)}`);
          },
        },
      });
      await ruler.start();
      await until(async () => (await fetch(`http://${ruler.httpAddress}/-/ready`)).status === 503, 20_000);
      expect(await (await fetch(`http://${ruler.httpAddress}/-/ready`)).text()).toContain(
        'rule evaluations failing in groups',
      );
      expect(await ruler.registry.getSingleMetricAsString('thanos_rule_evaluations_failing')).toMatch(/ 1$/m);
      expect(lines.some((l) => l.startsWith('ruler not ready: rule evaluations keep failing'))).toBe(true);
      expect(lines).toContain('evaluating rule failed');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('writes recording results from an in-process query function, and stale markers when a series goes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-stale-'));
    try {
      await writeFile(
        join(dir, 'r.yml'),
        'groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - record: r\n        expr: x\n',
      );
      let present = true;
      await using ruler = createRuler({
        ruleFiles: [join(dir, 'r.yml')],
        dataDir: join(dir, 'data'),
        query: async () => (present ? [{ labels: Labels.from({ __name__: 'x', a: '1' }), value: 7 }] : []),
        shipIntervalMs: 0,
      });
      await ruler.start();
      await until(async () => (await lastValue(ruler, 'r')).get('{a="1"}') === 7, 10_000);
      present = false;
      await until(async () => (await lastValue(ruler, 'r')).size === 0, 10_000);
      const series = await ruler.db
        ?.queryable()
        .select([matcher('=', '__name__', 'r')], { start: 0, end: Date.now() + 1000 });
      const vals = series?.[0]?.values as Float64Array;
      expect(isStaleNaN(vals[vals.length - 1] as number)).toBe(true);
      expect(await ruler.registry.getSingleMetricAsString('prometheus_rule_group_iterations_missed_total')).toContain(
        'prometheus_rule_group_iterations_missed_total',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('logs and counts sends to an unreachable Alertmanager, and stays ready', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-am-down-'));
    try {
      await writeFile(
        join(dir, 'r.yml'),
        'groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: A\n        expr: x\n',
      );
      await using ruler = createRuler({
        ruleFiles: [join(dir, 'r.yml')],
        dataDir: join(dir, 'data'),
        query: async () => [{ labels: Labels.from({ job: 'a' }), value: 1 }],
        alertmanagerURLs: ['http://127.0.0.1:1'],
        alertmanagerSendTimeoutMs: 1000,
        resendDelayMs: 100,
        shipIntervalMs: 0,
      });
      await ruler.start();
      await until(
        async () => /thanos_alert_sender_errors_total\{[^}]*\} [1-9]/.test(await ruler.registry.metrics()),
        10_000,
      );
      expect(await ruler.registry.getSingleMetricAsString('thanos_alert_sender_alerts_dropped_total')).toMatch(
        / [1-9]\d*$/m,
      );
      expect(ruler.ready()).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('ships its blocks to the bucket with its external labels and source ruler', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-ship-'));
    try {
      await writeFile(join(dir, 'r.yml'), 'groups: []\n');
      const bucket = createMemoryBucket();
      const ruler = createRuler({
        ruleFiles: [join(dir, 'r.yml')],
        dataDir: join(dir, 'data'),
        query: async () => [],
        externalLabels: { ruler: 'r1' },
        bucket,
        tsdbBlockDurationMs: 3_600_000,
        shipIntervalMs: 0,
      });
      await ruler.start();
      // Three hours of a recorded series, so closing cuts the head into blocks and ships them.
      const app = ruler.db?.appender();
      const l = Labels.from({ __name__: 'recorded', a: '1' });
      for (let t = 0; t <= 3 * 3_600_000; t += 60_000) app?.append(l, 1_700_000_000_000 + t, t);
      await app?.commit();
      await ruler.close();
      const ids: string[] = [];
      for await (const e of bucket.iter('')) ids.push(e.replace(/\/$/, ''));
      expect(ids.length).toBeGreaterThan(0);
      const meta = JSON.parse(new TextDecoder().decode(await bucket.get(`${ids[0]}/meta.json`)));
      expect(meta.thanos.source).toBe('ruler');
      expect(meta.thanos.labels).toEqual({ ruler: 'r1' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('evaluates through an in-process querier', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-querier-'));
    const storage = createMemoryStorage();
    const now = Date.now();
    for (let t = now - 600_000; t <= now + 600_000; t += 15_000) {
      storage.append({ __name__: 'up', job: 'a', instance: '1' }, t, 1);
      storage.append({ __name__: 'up', job: 'a', instance: '2' }, t, 1);
    }
    const querier = createQuerier({ endpoints: [createLocalStore({ queryable: storage })] });
    try {
      await querier.start();
      await writeFile(
        join(dir, 'r.yml'),
        'groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n',
      );
      await using ruler = createRuler({
        ruleFiles: [join(dir, 'r.yml')],
        dataDir: join(dir, 'data'),
        query: querierQueryFunc(querier),
        shipIntervalMs: 0,
      });
      await ruler.start();
      await until(async () => (await lastValue(ruler, 'job:up:sum')).get('{job="a"}') === 2, 10_000);
    } finally {
      await querier.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('follows the component lifecycle', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-life-'));
    try {
      await writeFile(join(dir, 'r.yml'), 'groups: []\n');
      const make = () =>
        createRuler({
          ruleFiles: [join(dir, 'r.yml')],
          dataDir: join(dir, 'data'),
          query: async () => [],
          httpAddress: '127.0.0.1:0',
          grpcAddress: '127.0.0.1:0',
          httpGracePeriodMs: 0,
          grpcGracePeriodMs: 0,
          shipIntervalMs: 0,
        });
      const c = make();
      expect(c.httpAddress).toBeUndefined();
      await c.start();
      const http = c.httpAddress as string;
      const grpc = c.grpcAddress as string;
      expect((await fetch(`http://${http}/-/healthy`)).status).toBe(200);
      expect((await fetch(`http://${http}/-/ready`)).status).toBe(200);
      expect(await (await fetch(`http://${http}/metrics`)).text()).toContain('# HELP');
      await Promise.all([c.close(), c.close()]);
      expect(await isListening(http)).toBe(false);
      expect(await isListening(grpc)).toBe(false);
      await expect(c.start()).rejects.toBeInstanceOf(ComponentClosedError);
      {
        await using d = make();
        await d.start();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
