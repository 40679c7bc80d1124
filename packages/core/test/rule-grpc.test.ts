import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStorage } from '@thanos-ts/promql';
import { programAvailable, type RunningPrometheus, startPrometheus, waitFor } from '@thanos-ts/testing';
import { Labels } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQuerier, type Querier } from '../src/query/querier.js';
import { createRulesFanout, localRulesEndpoint, mergeRuleGroups, ruleGroupsJSON } from '../src/query/rules-fanout.js';
import { createRuler, type Ruler } from '../src/rule/index.js';
import { connectRulesAPI, type RulesGroup, type RulesResponse } from '../src/rule/rules-service.js';
import { connectStoreAPI } from '../src/storeapi/grpc-client.js';
import { createLocalStore } from '../src/storeapi/local-store.js';

// Two ruler replicas serve thanos.Rules over gRPC next to their StoreAPI; a querier-side fan-out
// asks both (and skips a querier that does not advertise rules), merging replicas as Thanos does.

const RULES = `groups:
  - name: alerts
    interval: 100ms
    partial_response_strategy: WARN
    rules:
      - alert: HighLoad
        expr: load > 1
        for: 1h
        labels: { severity: page }
        annotations: { summary: "load {{ $value }}" }
  - name: records
    interval: 100ms
    rules:
      - record: job:load:sum
        expr: sum(load)
`;

async function collect(it: AsyncIterable<RulesResponse>): Promise<RulesGroup[]> {
  const out: RulesGroup[] = [];
  for await (const m of it) if ('group' in m) out.push(m.group);
  return out;
}

describe('ruler thanos.Rules service and the querier fan-out', () => {
  let dir: string;
  let rulers: Ruler[];
  let querier: Querier;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rule-grpc-'));
    await writeFile(join(dir, 'rules.yml'), RULES);
    rulers = ['a', 'b'].map((replica, i) =>
      createRuler({
        ruleFiles: [join(dir, 'rules.yml')],
        dataDir: join(dir, `data-${replica}`),
        query: async () => [{ labels: Labels.from({ instance: `i${i}` }), value: 2 }],
        externalLabels: { cluster: 'eu', replica },
        grpcAddress: '127.0.0.1:0',
        grpcGracePeriodMs: 0,
        shipIntervalMs: 0,
      }),
    );
    querier = createQuerier({
      endpoints: [createLocalStore({ queryable: createMemoryStorage() })],
      grpcAddress: '127.0.0.1:0',
      grpcGracePeriodMs: 0,
    });
    await Promise.all([...rulers.map((r) => r.start()), querier.start()]);
    await waitFor('both rulers evaluated', async () =>
      rulers.every((r) => r.groups().every((g) => g.lastEvaluation > 0)),
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all([...(rulers ?? []).map((r) => r.close()), querier?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('advertises the Rules API in Info and still serves the StoreAPI', async () => {
    const c = connectRulesAPI(rulers[0]?.grpcAddress as string);
    const store = connectStoreAPI(rulers[0]?.grpcAddress as string);
    const q = connectRulesAPI(querier.grpcAddress as string);
    try {
      expect(await c.advertisesRules()).toBe(true);
      expect(await q.advertisesRules()).toBe(false);
      const info = await store.info();
      expect(info.componentType).toBe('rule');
      expect(info.labelSets.map(String)).toEqual(['{cluster="eu", replica="a"}']);
    } finally {
      c.close();
      store.close();
      q.close();
    }
  });

  it.each([
    { type: 'ALL' as const, want: { alerts: ['alerting:HighLoad'], records: ['recording:job:load:sum'] } },
    { type: 'ALERT' as const, want: { alerts: ['alerting:HighLoad'], records: [] } },
    { type: 'RECORD' as const, want: { alerts: [], records: ['recording:job:load:sum'] } },
  ])('answers Rules with type $type, keeping groups the filter empties', async ({ type, want }) => {
    const c = connectRulesAPI(rulers[0]?.grpcAddress as string);
    try {
      const groups = await collect(c.rules({ type }));
      expect(Object.fromEntries(groups.map((g) => [g.name, g.rules.map((r) => `${r.type}:${r.name}`)]))).toEqual(want);
    } finally {
      c.close();
    }
  });

  it('sends rules with external labels, alert instances and group settings over the wire', async () => {
    const c = connectRulesAPI(rulers[1]?.grpcAddress as string);
    try {
      const groups = await collect(c.rules({}));
      const alerts = groups.find((g) => g.name === 'alerts') as RulesGroup;
      expect(alerts).toMatchObject({
        file: join(dir, 'rules.yml'),
        interval: 0.1,
        limit: 0,
        partialResponseStrategy: 'WARN',
      });
      expect(alerts.lastEvaluation).toBeGreaterThan(0);
      const rule = alerts.rules[0];
      if (rule?.type !== 'alerting') throw new Error('want an alerting rule');
      expect(rule.labels.toString()).toBe('{cluster="eu", replica="b", severity="page"}');
      expect(rule).toMatchObject({ state: 'pending', duration: 3600, query: 'load > 1', health: 'ok' });
      expect(rule.annotations.toRecord()).toEqual({ summary: 'load {{ $value }}' });
      expect(rule.alerts.map((a) => [a.labels.toString(), a.state, a.value])).toEqual([
        ['{alertname="HighLoad", instance="i1", severity="page"}', 'pending', '2e+00'],
      ]);
      expect(rule.alerts[0]?.activeAt).toBeGreaterThan(0);
      const records = groups.find((g) => g.name === 'records') as RulesGroup;
      expect(records.partialResponseStrategy).toBe('ABORT');
    } finally {
      c.close();
    }
  });

  it('fans out to both rulers, skipping endpoints without rules, and merges replicas', async () => {
    const fanout = createRulesFanout({
      endpoints: () => [
        rulers[0]?.grpcAddress as string,
        rulers[1]?.grpcAddress as string,
        querier.grpcAddress as string,
        'in-process-store',
      ],
      replicaLabels: ['replica'],
    });
    try {
      const { groups, warnings } = await fanout.rules({});
      expect(warnings).toEqual([]);
      expect(groups.map((g) => `${g.file};${g.name}`)).toEqual([
        `${join(dir, 'rules.yml')};alerts`,
        `${join(dir, 'rules.yml')};records`,
      ]);
      expect(groups.map((g) => g.rules.map((r) => r.labels.toString()))).toEqual([
        ['{cluster="eu", severity="page"}'],
        ['{cluster="eu"}'],
      ]);
      // Over HTTP, in the JSON Thanos's querier writes.
      const server = createServer((req, res) => {
        void fanout.handler(req, res).then((handled) => {
          if (!handled) res.writeHead(404).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        const rules = (await (await fetch(`${base}/api/v1/rules?type=alert`)).json()) as {
          status: string;
          data: { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> };
        };
        expect(rules.status).toBe('success');
        expect(rules.data.groups.map((g) => [g.name, g.rules.length])).toEqual([
          ['alerts', 1],
          ['records', 0],
        ]);
        expect(Object.keys(rules.data.groups[0]?.rules[0] ?? {})).toEqual([
          'state',
          'name',
          'query',
          'duration',
          'labels',
          'annotations',
          'alerts',
          'health',
          'evaluationTime',
          'lastEvaluation',
          'keepFiringFor',
          'type',
        ]);
        const filtered = (await (
          await fetch(`${base}/api/v1/rules?match[]=${encodeURIComponent('{severity="ticket"}')}`)
        ).json()) as { data: { groups: unknown[] } };
        expect(filtered.data.groups).toEqual([]);
        const alerts = (await (await fetch(`${base}/api/v1/alerts`)).json()) as {
          data: { alerts: Array<{ labels: Record<string, string>; state: string; partialResponseStrategy: string }> };
        };
        expect(alerts.data.alerts.map((a) => [a.labels.alertname, a.state, a.partialResponseStrategy])).toEqual([
          ['HighLoad', 'pending', 'WARN'],
        ]);
        const bad = await fetch(`${base}/api/v1/rules?type=bogus`);
        expect(bad.status).toBe(400);
        expect(await bad.json()).toEqual({
          status: 'error',
          errorType: 'bad_data',
          error: "invalid rules parameter type='bogus'",
        });
      } finally {
        await new Promise((r) => server.close(r));
      }
    } finally {
      fanout.close();
    }
  });

  it('merges an in-process ruler with a remote replica', async () => {
    const fanout = createRulesFanout({
      endpoints: () => [localRulesEndpoint(rulers[0] as Ruler, 'local'), rulers[1]?.grpcAddress as string],
      replicaLabels: ['replica'],
    });
    try {
      const { groups } = await fanout.rules({ type: 'RECORD' });
      expect(groups.map((g) => [g.name, g.rules.map((r) => r.labels.toString())])).toEqual([
        ['alerts', []],
        ['records', ['{cluster="eu"}']],
      ]);
    } finally {
      fanout.close();
    }
  });

  it('warns about an unreachable endpoint under WARN and fails under ABORT', async () => {
    const endpoints = () => [rulers[0]?.grpcAddress as string, '127.0.0.1:1'];
    const warn = createRulesFanout({ endpoints });
    const abort = createRulesFanout({ endpoints, partialResponse: false });
    try {
      const r = await warn.rules({});
      expect(r.groups).toHaveLength(2);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(/^fetching rules from rules client 127\.0\.0\.1:1: /);
      await expect(abort.rules({})).rejects.toThrow(/fetching rules from rules client 127\.0\.0\.1:1/);
    } finally {
      warn.close();
      abort.close();
    }
  });
});

describe('merging rule groups of replicas', () => {
  const rec = (labels: Record<string, string>, lastEvaluation: number) => ({
    type: 'recording' as const,
    name: 'r',
    query: 'x',
    labels: Labels.from(labels),
    health: 'ok',
    lastError: '',
    evaluationTime: 0,
    lastEvaluation,
  });
  const alert = (state: 'pending' | 'firing', lastEvaluation: number) => ({
    ...rec({ replica: state }, lastEvaluation),
    type: 'alerting' as const,
    name: 'a',
    state,
    duration: 0,
    keepFiringFor: 0,
    annotations: Labels.EMPTY,
    alerts: [],
  });
  const group = (rules: RulesGroup['rules'], name = 'g') => ({
    name,
    file: 'f',
    rules,
    interval: 1,
    evaluationTime: 0,
    lastEvaluation: 0,
    limit: 0,
    partialResponseStrategy: 'ABORT' as const,
  });

  it.each([
    {
      name: 'keeps the latest recording rule',
      groups: [group([rec({ replica: 'a' }, 1)]), group([rec({ replica: 'b' }, 2)])],
      want: ['recording:2'],
    },
    {
      name: 'keeps the firing alert over a later pending one',
      groups: [group([alert('firing', 1)]), group([alert('pending', 2)])],
      want: ['alerting:1'],
    },
    {
      name: 'orders alerts before recording rules',
      groups: [group([rec({ replica: 'a' }, 1), alert('pending', 1)])],
      want: ['alerting:1', 'recording:1'],
    },
    {
      name: 'keeps rules that differ by more than the replica label',
      groups: [group([rec({ replica: 'a', x: '1' }, 1)]), group([rec({ replica: 'b', x: '2' }, 1)])],
      want: ['recording:1', 'recording:1'],
    },
  ])('$name', ({ groups, want }) => {
    const merged = mergeRuleGroups(groups, {}, ['replica']);
    expect(merged.flatMap((g) => g.rules.map((r) => `${r.type}:${r.lastEvaluation}`))).toEqual(want);
  });

  it('filters by rule name, group and file, dropping emptied groups', () => {
    const gs = [group([rec({}, 1)], 'g1'), group([alert('firing', 1)], 'g2')];
    expect(mergeRuleGroups(gs, { ruleNames: ['a'] }, []).map((g) => g.name)).toEqual(['g2']);
    expect(mergeRuleGroups(gs, { ruleGroups: ['g1'] }, []).map((g) => g.name)).toEqual(['g1']);
    expect(mergeRuleGroups(gs, { files: ['other'] }, [])).toEqual([]);
  });
});

describe.skipIf(!programAvailable('prometheus'))('fan-out JSON against Prometheus 2.42 /api/v1/rules', () => {
  // The same rules in Prometheus and in a ruler querying that Prometheus: the fan-out's JSON
  // (through gRPC) must say what Prometheus says, apart from Thanos's additions.
  const FILE_RULES = `groups:
  - name: mixed
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by(job)(up)
      - alert: TargetUp
        expr: up==1
        for: 1h
        keep_firing_for: 5m
        labels: { severity: page }
        annotations: { summary: "{{ $labels.job }} up" }
`;
  let dir: string;
  let prom: RunningPrometheus;
  let ruler: Ruler;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rule-grpc-prom-'));
    const file = join(dir, 'rules.yml');
    await writeFile(file, FILE_RULES);
    const config = (port: number) =>
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [${JSON.stringify(file)}]\nscrape_configs:\n  - job_name: prom\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`;
    prom = await startPrometheus({ config: config(1) });
    await writeFile(join(prom.dataDir, '..', 'prometheus.yml'), config(prom.port));
    expect((await fetch(`${prom.url}/-/reload`, { method: 'POST' })).status).toBe(200);
    ruler = createRuler({
      ruleFiles: [file],
      dataDir: join(dir, 'data'),
      queryURLs: [prom.url],
      externalLabels: { replica: 'a' },
      grpcAddress: '127.0.0.1:0',
      grpcGracePeriodMs: 0,
      httpAddress: '127.0.0.1:0',
      httpGracePeriodMs: 0,
      shipIntervalMs: 0,
    });
    await ruler.start();
  }, 90_000);
  afterAll(async () => {
    await ruler?.close();
    await prom?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has the same groups, rules, queries, labels and alerts', async () => {
    interface JRule {
      name: string;
      alerts?: Array<Record<string, unknown>>;
      [k: string]: unknown;
    }
    interface JGroup {
      name: string;
      rules: JRule[];
      [k: string]: unknown;
    }
    const fanout = createRulesFanout({ endpoints: () => [ruler.grpcAddress as string], replicaLabels: ['replica'] });
    const ours = async () =>
      (JSON.parse(ruleGroupsJSON((await fanout.rules({})).groups)) as { groups: JGroup[] }).groups;
    const theirs = async () =>
      ((await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: JGroup[] } }).data.groups;
    const alertsOf = (gs: JGroup[]) => gs[0]?.rules.find((r) => r.name === 'TargetUp')?.alerts ?? [];
    try {
      await waitFor(
        'an alert in both',
        async () => alertsOf(await ours()).length > 0 && alertsOf(await theirs()).length > 0,
        30_000,
      );
      const [o, t] = [await ours(), await theirs()];
      const shape = (g: JGroup, volatile: string[]) => {
        const keep = (x: Record<string, unknown>) =>
          Object.fromEntries(
            Object.entries(x)
              .filter(([k]) => !volatile.includes(k))
              .sort(([a], [b]) => a.localeCompare(b)),
          );
        return {
          ...keep(g),
          rules: [...g.rules]
            .sort((a, b) => a.name.localeCompare(b.name))
            .map((r) => ({ ...keep(r), ...(r.alerts ? { alerts: r.alerts.map(keep) } : {}) })),
        };
      };
      // Timings differ; partialResponseStrategy is Thanos's addition; activeAt differs by when each evaluated.
      const volatile = ['evaluationTime', 'lastEvaluation', 'activeAt', 'partialResponseStrategy'];
      // Thanos's rulespb JSON always writes a recording rule's labels; Prometheus omits them when empty.
      for (const g of o)
        for (const r of g.rules)
          if (r.type === 'recording' && Object.keys(r.labels as object).length === 0) delete r.labels;
      expect(o.map((g) => shape(g, volatile))).toEqual(t.map((g) => shape(g, volatile)));
      expect(o[0]?.rules.map((r) => r.query)).toEqual(['up == 1', 'sum by (job) (up)']);
      // The ruler's own /api/v1/rules is Prometheus's JSON (external labels not added, file order).
      const own = (
        (await (await fetch(`http://${ruler.httpAddress}/api/v1/rules`)).json()) as { data: { groups: JGroup[] } }
      ).data.groups;
      expect(own.map((g) => shape(g, volatile))).toEqual(t.map((g) => shape(g, volatile)));
    } finally {
      fanout.close();
    }
  }, 60_000);
});
