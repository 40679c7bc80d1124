import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, httpOk, programAvailable, startAlertmanager, startPrometheus, waitFor } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';
import { defineRuleCommand, parseLabelFlags, parseRuleFlags, type RuleFlags } from './rule.js';

function flagsOf(argv: string[]): RuleFlags {
  const cmd = defineRuleCommand();
  cmd.exitOverride();
  cmd.parse(argv, { from: 'user' });
  return cmd.opts() as RuleFlags;
}

describe('thanos-ts rule flags', () => {
  it('takes Thanos defaults and repeated flags', () => {
    const cfg = parseRuleFlags(
      flagsOf([
        '--rule-file=rules/*.yml',
        '--rule-file=other.yml',
        '--query=query:9090',
        '--query=http://query-2:9090',
        '--label=replica="a"',
        '--label=cluster="eu-1"',
        '--alertmanagers.url=http://am:9093',
        '--alert.label-drop=replica',
      ]),
    );
    expect(cfg).toMatchObject({
      ruleFiles: ['rules/*.yml', 'other.yml'],
      dataDir: 'data/',
      evalIntervalMs: 60_000,
      queryOffsetMs: 0,
      externalLabels: { replica: 'a', cluster: 'eu-1' },
      queryURLs: ['query:9090', 'http://query-2:9090'],
      querySDIntervalMs: 300_000,
      queryDNSIntervalMs: 30_000,
      alertmanagersDNSIntervalMs: 30_000,
      queryHttpMethod: 'POST',
      alertmanagerURLs: ['http://am:9093'],
      alertmanagerSendTimeoutMs: 10_000,
      alertLabelDrop: ['replica'],
      resendDelayMs: 60_000,
      forGracePeriodMs: 600_000,
      forOutageToleranceMs: 3_600_000,
      tsdbRetentionMs: 48 * 3_600_000,
      tsdbBlockDurationMs: 2 * 3_600_000,
      httpAddress: '0.0.0.0:10902',
      grpcAddress: '0.0.0.0:10901',
    });
    expect(cfg.alertQueryURL).toBeUndefined();
  });

  it.each([
    {
      name: 'bad method',
      argv: ['--query.http-method=PUT'],
      err: "--query.http-method: enum value must be one of GET,POST, got 'PUT'",
    },
    {
      name: 'lowercase method',
      argv: ['--query.http-method=get'],
      err: "--query.http-method: enum value must be one of GET,POST, got 'get'",
    },
    { name: 'bad interval', argv: ['--eval-interval=soon'], err: '--eval-interval: invalid duration "soon"' },
    { name: 'unquoted label', argv: ['--label=a=b'], err: '--label: unrecognized label "a=b", want name="value"' },
    { name: 'no query', argv: [], err: 'no query configuration parameter was given', noQuery: true },
    { name: 'duplicate query', argv: ['--query=q:9090'], err: 'Address q:9090 is duplicated for --query flag.' },
    {
      name: 'query and query.config',
      argv: ['--query.config=- static_configs: [q:9090]'],
      err: '--query/--query.sd-files/--grpc-query-endpoint and --query.config* parameters cannot be defined at the same time',
    },
    {
      name: 'query.config and its file',
      argv: ['--query.config=[]', '--query.config-file=/nonexistent'],
      err: 'both query.config-file and query.config flags set.',
      noQuery: true,
    },
    {
      name: 'unknown field in query.config',
      argv: ['--query.config=- static_configs: [q:9090]\n  schema: http'],
      err: '--query.config: query configuration: yaml: unmarshal errors:\n  line 2: field schema not found in type clientconfig.plain',
      noQuery: true,
    },
    {
      name: 'alertmanagers url and config',
      argv: ['--alertmanagers.url=http://am:9093', '--alertmanagers.config=alertmanagers: []'],
      err: '--alertmanagers.url and --alertmanagers.config* parameters cannot be defined at the same time',
    },
    {
      name: 'alertmanager url without scheme',
      argv: ['--alertmanagers.url=am:9093'],
      err: '--alertmanagers.url: alertmanagers.url',
    },
    {
      name: 'bad api version',
      argv: ['--alertmanagers.config=alertmanagers:\n  - static_configs: [am:9093]\n    api_version: v3'],
      err: 'expected Alertmanager API version to be one of [v1 v2] but got "v3"',
    },
    {
      name: 'bad relabel action',
      argv: ['--alert.relabel-config=- action: explode'],
      err: '--alert.relabel-config',
    },
  ])('$name', ({ argv, err, noQuery }) => {
    const base = ['--rule-file=r.yml', ...(noQuery ? [] : ['--query=q:9090'])];
    expect(() => parseRuleFlags(flagsOf([...base, ...argv]))).toThrow(err);
  });

  it('makes the ruler stateless with --remote-write.config; an empty one is ignored (Thanos)', () => {
    const cfg = parseRuleFlags(
      flagsOf([
        '--rule-file=r.yml',
        '--query=q:9090',
        '--remote-write.config=remote_write:\n  - url: http://receive:19291/api/v1/receive\n    name: receive',
      ]),
    );
    expect(cfg.remoteWrite?.map((c) => [c.url, c.name])).toEqual([['http://receive:19291/api/v1/receive', 'receive']]);
    expect(
      parseRuleFlags(flagsOf(['--rule-file=r.yml', '--query=q:9090', '--remote-write.config= '])).remoteWrite,
    ).toBe(undefined);
    expect(() =>
      parseRuleFlags(flagsOf(['--rule-file=r.yml', '--query=q:9090', '--remote-write.config=remote_write: [{}]'])),
    ).toThrow('--remote-write.config: url for remote_write is empty');
    expect(() =>
      parseRuleFlags(
        flagsOf(['--rule-file=r.yml', '--query=q:9090', '--remote-write.config=x', '--remote-write.config-file=/f']),
      ),
    ).toThrow('both remote-write.config-file and remote-write.config flags set.');
  });

  it('reads --query.config, --alertmanagers.config and --alert.relabel-config as Thanos writes them', () => {
    const cfg = parseRuleFlags(
      flagsOf([
        '--rule-file=r.yml',
        `--query.config=- static_configs: ["q1:9090", "dns+q2:9090"]
  scheme: https
  path_prefix: /thanos
  http_config:
    basic_auth: { username: u, password: p }
    tls_config: { insecure_skip_verify: true, server_name: query }
- file_sd_configs:
    - files: [/etc/q/*.yml]
      refresh_interval: 1m`,
        `--alertmanagers.config=alertmanagers:
  - static_configs: ["dnssrv+_web._tcp.am"]
    timeout: 5s
    api_version: v1
    path_prefix: /am`,
        '--alert.relabel-config=- action: labeldrop\n  regex: replica',
        '--alertmanagers.sd-dns-interval=10s',
      ]),
    );
    expect(cfg.queryConfig).toEqual([
      {
        httpConfig: {
          basicAuth: { username: 'u', password: 'p' },
          tls: { insecureSkipVerify: true, serverName: 'query' },
        },
        endpoints: {
          staticAddresses: ['q1:9090', 'dns+q2:9090'],
          fileSDConfigs: [],
          scheme: 'https',
          pathPrefix: '/thanos',
        },
      },
      {
        httpConfig: {},
        endpoints: {
          staticAddresses: [],
          fileSDConfigs: [{ files: ['/etc/q/*.yml'], refreshIntervalMs: 60_000 }],
          scheme: 'http',
          pathPrefix: '',
        },
      },
    ]);
    expect(cfg.alertmanagersConfig).toEqual([
      {
        httpConfig: {},
        endpoints: { staticAddresses: ['dnssrv+_web._tcp.am'], fileSDConfigs: [], scheme: 'http', pathPrefix: '/am' },
        timeoutMs: 5000,
        apiVersion: 'v1',
      },
    ]);
    expect(cfg.alertRelabelConfig?.map((r) => r.action)).toEqual(['labeldrop']);
    expect(cfg.alertmanagersDNSIntervalMs).toBe(10_000);
  });

  it('parses labels with escapes', () => {
    expect(parseLabelFlags(['a="x\\"y"'], 'label')).toEqual({ a: 'x"y' });
  });
});

describe.skipIf(!programAvailable('prometheus') || !programAvailable('alertmanager'))(
  'thanos-ts rule as a process',
  () => {
    it('queries Prometheus 2.42 from --query.sd-files and alerts Alertmanager 0.25 through --alertmanagers.config-file with relabelling', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'rule-cli-'));
      const [prom, am] = await Promise.all([startPrometheus(), startAlertmanager()]);
      const port = await freePort();
      await writeFile(
        join(dir, 'rules.yml'),
        'groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: Always\n        expr: vector(1)\n        labels: { replica: x }\n',
      );
      await writeFile(join(dir, 'queriers.json'), JSON.stringify([{ targets: [`127.0.0.1:${prom.port}`] }]));
      await writeFile(
        join(dir, 'am.yml'),
        `alertmanagers:\n  - file_sd_configs: [{ files: [${JSON.stringify(join(dir, 'am-*.yml'))}] }]\n    api_version: v2\n`,
      );
      await writeFile(join(dir, 'am-0.yml'), `- targets: ['127.0.0.1:${am.port}']\n`);
      await writeFile(join(dir, 'relabel.yml'), '- target_label: via\n  replacement: relabel\n');
      let stderr = '';
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'rule',
          `--rule-file=${join(dir, 'rules.yml')}`,
          `--data-dir=${join(dir, 'data')}`,
          `--query.sd-files=${join(dir, 'queriers.json')}`,
          '--query.http-method=GET',
          `--alertmanagers.config-file=${join(dir, 'am.yml')}`,
          `--alert.relabel-config-file=${join(dir, 'relabel.yml')}`,
          '--alert.label-drop=replica',
          '--label=cluster="eu"',
          '--resend-delay=1s',
          `--http-address=127.0.0.1:${port}`,
          '--grpc-address=127.0.0.1:0',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr?.on('data', (d) => {
        stderr += String(d);
      });
      try {
        await waitFor('ruler ready', () => httpOk(`http://127.0.0.1:${port}/-/ready`), 30_000).catch((err) => {
          throw new Error(`${(err as Error).message}\n${stderr}`);
        });
        let labels: Record<string, string>[] = [];
        await waitFor(
          'alert at Alertmanager',
          async () => {
            labels = (
              (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string> }>
            ).map((a) => a.labels);
            return labels.length > 0;
          },
          30_000,
        ).catch((err) => {
          throw new Error(`${(err as Error).message}\n${stderr}`);
        });
        expect(labels).toEqual([{ alertname: 'Always', cluster: 'eu', via: 'relabel' }]);
      } finally {
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        await Promise.all([prom.stop(), am.stop()]);
        await rm(dir, { recursive: true, force: true });
      }
    }, 90_000);
  },
);
