import { type ChildProcess, spawn } from 'node:child_process';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { connectStoreAPI, createLocalStore, serveStoreAPI } from '@thanos-ts/core';
import { createMemoryStorage } from '@thanos-ts/promql';
import { freePort, httpOk, programAvailable, promtool, waitFor } from '@thanos-ts/testing';
import { Labels, matcher } from '@thanos-ts/tsdb';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { defineQueryCommand, parseQueryFlags, type QueryFlags } from './query.js';

function flags(argv: string[]): QueryFlags {
  const cmd = defineQueryCommand().exitOverride();
  const program = new Command().exitOverride().addCommand(cmd);
  let parsed: QueryFlags | undefined;
  cmd.action((o: QueryFlags) => {
    parsed = o;
  });
  program.parse(['node', 'thanos-ts', 'query', ...argv]);
  return parsed as QueryFlags;
}

describe('thanos-ts query flags', () => {
  it("accepts Thanos's flags and defaults", () => {
    const o = parseQueryFlags(
      flags([
        '--endpoint=127.0.0.1:10901',
        '--store=dnssrv+_grpc._tcp.stores.example',
        '--query.replica-label=replica',
        '--query.replica-label=rule_replica,prometheus_replica',
        '--query.timeout=30s',
        '--no-query.partial-response',
        '--store.response-timeout=5s',
      ]),
    );
    expect(o.endpoints).toEqual(['127.0.0.1:10901', 'dnssrv+_grpc._tcp.stores.example']);
    expect(o.replicaLabels).toEqual(['replica', 'rule_replica', 'prometheus_replica']);
    expect([o.timeoutMs, o.partialResponse, o.responseTimeoutMs, o.maxConcurrent]).toEqual([30_000, false, 5000, 20]);
    expect([o.httpAddress, o.grpcAddress, o.defaultEvaluationIntervalMs, o.deduplicationFunc]).toEqual([
      '0.0.0.0:10902',
      '0.0.0.0:10901',
      60_000,
      'penalty',
    ]);
    expect(parseQueryFlags(flags([])).partialResponse).toBe(true);
  });

  it('takes the telemetry quantiles, web prefixes, --alert.query-url and --query.promql-engine', () => {
    const o = parseQueryFlags(
      flags([
        '--query.telemetry.request-duration-seconds-quantiles=0.5',
        '--query.telemetry.request-duration-seconds-quantiles=2',
        '--query.telemetry.request-samples-quantiles=1e3',
        '--query.telemetry.request-series-seconds-quantiles=10',
        '--alert.query-url=http://thanos-query.thanos.svc:9090',
        '--web.external-prefix=/thanos',
        '--web.prefix-header=X-Forwarded-Prefix',
        '--query.promql-engine=thanos',
      ]),
    );
    expect(o.telemetryDurationQuantiles).toEqual([0.5, 2]);
    expect(o.telemetrySamplesQuantiles).toEqual([1000]);
    expect(o.telemetrySeriesQuantiles).toEqual([10]);
    expect([o.alertQueryURL, o.externalPrefix, o.prefixHeader, o.routePrefix]).toEqual([
      'http://thanos-query.thanos.svc:9090',
      '/thanos',
      'X-Forwarded-Prefix',
      undefined,
    ]);
    // Unset, the querier's defaults (Thanos's) apply.
    const d = parseQueryFlags(flags([]));
    expect([d.telemetryDurationQuantiles, d.alertQueryURL, d.externalPrefix]).toEqual([undefined, undefined, '']);
  });

  it('treats --rule as --endpoint and warns that it is deprecated', () => {
    const warnings: string[] = [];
    const o = parseQueryFlags(flags(['--endpoint=127.0.0.1:10901', '--rule=dnssrv+_grpc._tcp.rule.example']), (m) =>
      warnings.push(m),
    );
    expect(o.endpoints).toEqual(['127.0.0.1:10901', 'dnssrv+_grpc._tcp.rule.example']);
    expect(warnings).toEqual(['--rule is deprecated, use --endpoint: the addresses are used as endpoints']);
  });

  it.each([
    [['--query.timeout=soon'], /--query.timeout: invalid duration "soon"/],
    [['--query.max-concurrent=0'], /--query.max-concurrent: want an integer ≥ 1/],
    [['--http-address=localhost'], /--http-address: want host:port/],
    [['--endpoint=dns+nohost'], /--endpoint: missing port/],
    [['--endpoint=justahost'], /--endpoint: "justahost" is not host:port/],
    [['--query.lookback-delta=5 minutes'], /--query.lookback-delta: invalid duration/],
    [['--deduplication.func=magic'], /--deduplication.func: want penalty or chain/],
    [
      ['--query.promql-engine=Thanos'],
      "--query.promql-engine: enum value must be one of prometheus,thanos, got 'Thanos'",
    ],
    [
      ['--query.telemetry.request-samples-quantiles=many'],
      '--query.telemetry.request-samples-quantiles: strconv.ParseFloat: parsing "many": invalid syntax',
    ],
    [['--rule=rulehost'], /--endpoint: "rulehost" is not host:port/],
    [['--grpc-server-tls-cert=/x.pem'], /--grpc-server-tls-cert and --grpc-server-tls-key/],
    [['--grpc-client-tls-ca=/ca.pem'], /need --grpc-client-tls-secure/],
    [['--grpc-client-tls-secure', '--grpc-client-tls-cert=/c.pem'], /--grpc-client-tls-cert and --grpc-client-tls-key/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseQueryFlags(flags(argv))).toThrow(message);
  });
});

describe('thanos-ts query as a real process', () => {
  let child: ChildProcess | undefined;
  const servers: Server[] = [];
  const ports: Record<string, number> = {};
  afterAll(() => {
    child?.kill('SIGTERM');
    for (const s of servers) s.forceShutdown();
  });

  it('queries two HA replicas, answers promtool and serves the StoreAPI', async () => {
    for (const replica of ['a', 'b']) {
      const storage = createMemoryStorage();
      storage.load([
        { labels: { __name__: 'up', job: 'node' }, timestamps: [1000, 16_000], values: [1, replica === 'a' ? 1 : 0] },
      ]);
      const s = new Server();
      servers.push(s);
      serveStoreAPI(createLocalStore({ queryable: storage, externalLabels: Labels.from({ replica }) }), s);
      const port = await new Promise<number>((res, rej) =>
        s.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
      );
      ports[replica] = port;
    }
    const httpPort = await freePort();
    const grpcPort = await freePort();
    let stderr = '';
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'query',
        `--http-address=127.0.0.1:${httpPort}`,
        `--grpc-address=127.0.0.1:${grpcPort}`,
        `--endpoint=127.0.0.1:${ports.a}`,
        `--store=127.0.0.1:${ports.b}`,
        '--query.replica-label=replica',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    await waitFor('query ready', () => httpOk(`http://127.0.0.1:${httpPort}/-/ready`), 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${stderr}`);
    });
    const res = (await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/query?query=up&time=16`)).json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    // Deduplicated: one series, without the replica label, from replica a (preferred at equal times).
    expect(res.data.result).toEqual([{ metric: { __name__: 'up', job: 'node' }, value: [16, '1'] }]);
    if (programAvailable('promtool')) {
      const out = await promtool.queryInstant(`http://127.0.0.1:${httpPort}`, 'sum(up)', 16);
      expect(out.trim()).toBe('{} => 1 @[16]');
    }
    const remote = connectStoreAPI(`127.0.0.1:${grpcPort}`);
    try {
      const info = await remote.info();
      expect(info.componentType).toBe('query');
      const names: string[] = [];
      for await (const r of remote.series({
        minTime: 0,
        maxTime: 20_000,
        matchers: [matcher('=', '__name__', 'up')],
      })) {
        if (r.type === 'series') names.push(r.series.labels.toString());
      }
      expect(names).toEqual(['{__name__="up", job="node", replica="a"}', '{__name__="up", job="node", replica="b"}']);
    } finally {
      remote.close();
    }
  }, 60_000);
});
