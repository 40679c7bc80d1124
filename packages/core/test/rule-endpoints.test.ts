import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeTestCerts,
  programAvailable,
  type RunningAlertmanager,
  type RunningPrometheus,
  startAlertmanager,
  startPrometheus,
  waitFor,
} from '@thanos-ts/testing';
import { isStaleNaN, Labels, matcher } from '@thanos-ts/tsdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DNSResolver } from '../src/discovery/dns.js';
import {
  buildAlertmanagerConfig,
  buildQueryConfigFromAddresses,
  createRuler,
  failoverQueryFunc,
  parseAlertingConfig,
  parseQueryConfig,
  type Ruler,
} from '../src/rule/index.js';
import { parseRelabelConfig } from '../src/store/relabel.js';

// Query endpoints from file SD and --query.config (auth, TLS, prefix), Alertmanagers from
// --alertmanagers.config file SD and dns+ URLs, and alert relabelling, against real Prometheus
// and Alertmanager processes.

function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  return waitFor(expect.getState().currentTestName ?? 'condition', async () => check(), timeoutMs);
}

async function lastValue(ruler: Ruler, name: string): Promise<number | undefined> {
  const series = await ruler.db
    ?.queryable()
    .select([matcher('=', '__name__', name)], { start: 0, end: Date.now() + 1000 });
  const vals = series?.[0]?.values;
  const v = vals?.[vals.length - 1];
  return v === undefined || isStaleNaN(v) ? undefined : v;
}

/** Writes a file atomically (as config management does), so watchers never read half a file. */
async function replaceFile(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

const RECORD = 'groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - record: one\n        expr: vector(1)\n';

describe('query and alerting configuration parsing', () => {
  it.each([
    { addr: 'query:9090', want: { staticAddresses: ['query:9090'], scheme: 'http', pathPrefix: '' } },
    { addr: 'https://q:443/thanos', want: { staticAddresses: ['q:443'], scheme: 'https', pathPrefix: '/thanos' } },
    { addr: 'dns+query:9090', want: { staticAddresses: ['dns+query:9090'], scheme: 'http', pathPrefix: '' } },
    { addr: 'dnssrv+_http._tcp.q', want: { staticAddresses: ['dnssrv+_http._tcp.q'], scheme: 'http', pathPrefix: '' } },
  ])('--query=$addr', ({ addr, want }) => {
    expect(buildQueryConfigFromAddresses([addr])[0]?.endpoints).toEqual({ ...want, fileSDConfigs: [] });
  });

  it.each([
    { url: 'http://am:9093', hosts: ['am:9093'], scheme: 'http', prefix: '' },
    { url: 'dns+http://am', hosts: ['dns+am:9093'], scheme: 'http', prefix: '' },
    { url: 'dns+http://am:80', hosts: ['dns+am:80'], scheme: 'http', prefix: '' },
    { url: 'dns+https://am:1234/p', hosts: ['dns+am:1234'], scheme: 'https', prefix: '/p' },
    { url: 'dnssrv+http://_web._tcp.am', hosts: ['dnssrv+_web._tcp.am'], scheme: 'http', prefix: '' },
  ])('--alertmanagers.url=$url', ({ url, hosts, scheme, prefix }) => {
    const c = buildAlertmanagerConfig(url, 5000);
    expect(c.endpoints).toEqual({ staticAddresses: hosts, fileSDConfigs: [], scheme, pathPrefix: prefix });
    expect(c.timeoutMs).toBe(5000);
    expect(c.apiVersion).toBe('v2');
  });

  it('takes basic auth from the Alertmanager URL user info', () => {
    expect(buildAlertmanagerConfig('http://u:p%40ss@am:9093', 1).httpConfig).toEqual({
      basicAuth: { username: 'u', password: 'p@ss' },
    });
  });

  it.each([
    {
      name: 'unknown field',
      text: '- statics: [a]',
      err: 'line 1: field statics not found in type clientconfig.plain',
    },
    {
      name: 'unknown http_config field',
      text: '- http_config:\n    basic: {}',
      err: 'line 2: field basic not found in type clientconfig.HTTPClientConfig',
    },
    { name: 'bad scheme', text: '- scheme: ftp', err: '"ftp" is not supported scheme' },
    {
      name: 'password and file',
      text: '- http_config:\n    basic_auth: {username: u, password: p, password_file: f}',
      err: 'at most one of basic_auth password & password_file must be configured',
    },
    { name: 'not a list', text: 'static_configs: [a]', err: 'cannot unmarshal !!map into []clientconfig.Config' },
  ])('query.config: $name', ({ text, err }) => {
    expect(() => parseQueryConfig(text)).toThrow(err);
  });

  it.each([
    {
      name: 'unknown top-level field',
      text: 'alertmanager: []',
      err: 'line 1: field alertmanager not found in type alert.AlertingConfig',
    },
    { name: 'bad timeout', text: 'alertmanagers:\n  - timeout: soon', err: 'not a valid duration string: "soon"' },
  ])('alertmanagers.config: $name', ({ text, err }) => {
    expect(() => parseAlertingConfig(text)).toThrow(err);
  });

  it('fills Thanos defaults in alertmanagers.config', () => {
    expect(parseAlertingConfig('alertmanagers:\n  - static_configs: [am:9093]')).toEqual([
      {
        httpConfig: {},
        endpoints: { staticAddresses: ['am:9093'], fileSDConfigs: [], scheme: 'http', pathPrefix: '' },
        timeoutMs: 10_000,
        apiVersion: 'v2',
      },
    ]);
  });

  it('rejects start when a TLS file of --query.config cannot be read, naming it as Prometheus does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ruler-badca-'));
    try {
      await writeFile(join(dir, 'r.yml'), 'groups: []\n');
      await using ruler = createRuler({
        ruleFiles: [join(dir, 'r.yml')],
        dataDir: join(dir, 'data'),
        queryConfig: parseQueryConfig(
          `- static_configs: [q:9090]\n  http_config: { tls_config: { ca_file: ${dir}/missing.crt } }`,
        ),
        shipIntervalMs: 0,
      });
      await expect(ruler.start()).rejects.toThrow(
        `unable to load specified CA cert ${dir}/missing.crt: open ${dir}/missing.crt: no such file or directory`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails over across sets and endpoints, counting duplicate addresses', async () => {
    let duplicates = 0;
    const f = failoverQueryFunc({
      sets: [{ group: { urls: () => ['http://127.0.0.1:1', 'http://127.0.0.1:1'] } }],
      onDuplicate: () => duplicates++,
      timeoutMs: 2000,
    });
    await expect(f('up', 0)).rejects.toThrow('no query API server reachable');
    expect(duplicates).toBe(1);
  });
});

describe.skipIf(!programAvailable('prometheus'))('ruler query endpoints against Prometheus 2.42', () => {
  let dir: string;
  let prom: RunningPrometheus;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ruler-endpoints-'));
    await writeFile(join(dir, 'rules.yml'), RECORD);
    prom = await startPrometheus();
  }, 90_000);
  afterAll(async () => {
    await prom?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('follows --query.sd-files as the file changes, failing over past a dead querier', async () => {
    const sd = join(dir, 'queriers.yml');
    await writeFile(sd, `- targets: ['127.0.0.1:1', '127.0.0.1:${prom.port}']\n`);
    await using ruler = createRuler({
      ruleFiles: [join(dir, 'rules.yml')],
      dataDir: join(dir, 'sd-data'),
      querySDFiles: [join(dir, '*.yml')],
      queryHttpMethod: 'GET',
      shipIntervalMs: 0,
      failedEvaluationsBeforeNotReady: 0,
    });
    await ruler.start();
    const rule = () => ruler.groups()[0]?.rules[0];
    // Several evaluations, each of which may try the dead querier first: all succeed.
    await until(async () => (ruler.groups()[0]?.lastEvaluation ?? 0) > 0 && (await lastValue(ruler, 'one')) === 1);
    for (let i = 0; i < 5; i++) {
      const before = ruler.groups()[0]?.lastEvaluation ?? 0;
      await until(() => (ruler.groups()[0]?.lastEvaluation ?? 0) > before);
      expect(rule()?.health).toBe('ok');
    }
    await replaceFile(sd, "- targets: ['127.0.0.1:1']\n");
    await until(() => rule()?.lastError?.message === 'no query API server reachable');
    await replaceFile(sd, `- targets: ['127.0.0.1:${prom.port}']\n`);
    await until(() => rule()?.health === 'ok');
  }, 60_000);

  it('reaches a querier through --query.config with https, basic auth and a path prefix', async () => {
    const certs = join(dir, 'certs');
    await mkdir(certs);
    makeTestCerts(certs, { serverName: 'query.test', clientName: 'ruler' });
    const seen: string[] = [];
    // A TLS front with basic auth under /thanos, passing queries on to the real Prometheus.
    const front: Server = createHttpsServer(
      { cert: readFileSync(join(certs, 'server.crt')), key: readFileSync(join(certs, 'server.key')) },
      async (req, res) => {
        const auth = req.headers.authorization ?? '';
        seen.push(`${req.method} ${req.url} ${auth}`);
        if (auth !== `Basic ${Buffer.from('ruler:s3cret').toString('base64')}`) {
          res.writeHead(401).end('unauthorized');
          return;
        }
        if (!req.url?.startsWith('/thanos/')) {
          res.writeHead(404).end('not found');
          return;
        }
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const r = await fetch(`${prom.url}${req.url.slice('/thanos'.length)}`, {
          method: req.method ?? 'GET',
          headers: { 'Content-Type': req.headers['content-type'] ?? 'text/plain' },
          ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        });
        res.writeHead(r.status, { 'Content-Type': 'application/json' }).end(await r.text());
      },
    );
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    const port = (front.address() as { port: number }).port;
    await writeFile(join(dir, 'password'), 's3cret\n');
    try {
      const queryConfig = parseQueryConfig(`- static_configs: ['127.0.0.1:${port}']
  scheme: https
  path_prefix: /thanos
  http_config:
    basic_auth: { username: ruler, password_file: ${JSON.stringify(join(dir, 'password'))} }
    tls_config: { ca_file: ${JSON.stringify(join(certs, 'ca.crt'))}, server_name: query.test }
`);
      for (const method of ['POST', 'GET'] as const) {
        seen.length = 0;
        await using ruler = createRuler({
          ruleFiles: [join(dir, 'rules.yml')],
          dataDir: join(dir, `config-data-${method}`),
          queryConfig,
          queryHttpMethod: method,
          shipIntervalMs: 0,
        });
        await ruler.start();
        await until(async () => (await lastValue(ruler, 'one')) === 1);
        // --query.http-method decides how the query is sent; the prefix and credentials go with it.
        expect(seen[0]).toMatch(
          method === 'POST'
            ? /^POST \/thanos\/api\/v1\/query Basic /
            : /^GET \/thanos\/api\/v1\/query\?query=vector%281%29&/,
        );
      }
    } finally {
      front.closeAllConnections();
      await new Promise((resolve) => front.close(resolve));
    }
  }, 60_000);
});

interface AMAlert {
  labels: Record<string, string>;
}

async function amAlerts(am: RunningAlertmanager): Promise<AMAlert[]> {
  return (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AMAlert[];
}

describe.skipIf(!programAvailable('alertmanager'))('ruler Alertmanager discovery against Alertmanager 0.25', () => {
  let dir: string;
  let am1: RunningAlertmanager;
  let am2: RunningAlertmanager;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ruler-am-'));
    await writeFile(
      join(dir, 'rules.yml'),
      `groups:
  - name: g
    interval: 100ms
    rules:
      - alert: Kept
        expr: x
        labels: { replica: a }
      - alert: Dropped
        expr: x
`,
    );
    [am1, am2] = await Promise.all([startAlertmanager(), startAlertmanager()]);
  }, 60_000);
  afterAll(async () => {
    await am1?.stop();
    await am2?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const query = async () => [{ labels: Labels.from({ job: 'j' }), value: 1 }];

  it('sends to Alertmanagers from --alertmanagers.config file SD, relabelled and with dropped labels', async () => {
    const sd = join(dir, 'am-sd.json');
    await writeFile(sd, JSON.stringify([{ targets: [`127.0.0.1:${am1.port}`] }]));
    await using ruler = createRuler({
      ruleFiles: [join(dir, 'rules.yml')],
      dataDir: join(dir, 'sd-data'),
      query,
      externalLabels: { cluster: 'eu', replica: 'r1' },
      alertLabelDrop: ['replica'],
      alertmanagersConfig: parseAlertingConfig(`alertmanagers:
  - file_sd_configs: [{ files: [${JSON.stringify(sd)}] }]
    timeout: 5s
`),
      alertRelabelConfig: parseRelabelConfig(
        '- target_label: team\n  replacement: sre\n- source_labels: [alertname]\n  regex: Dropped\n  action: drop\n',
      ),
      resendDelayMs: 100,
      shipIntervalMs: 0,
    });
    await ruler.start();
    await until(async () => (await amAlerts(am1)).length > 0);
    const got = await amAlerts(am1);
    expect(got.map((a) => a.labels)).toEqual([{ alertname: 'Kept', cluster: 'eu', job: 'j', team: 'sre' }]);
    // The SD file now names the second Alertmanager too: it gets alerts without a restart.
    await replaceFile(sd, JSON.stringify([{ targets: [`127.0.0.1:${am1.port}`, `127.0.0.1:${am2.port}`] }]));
    await until(async () => (await amAlerts(am2)).length > 0);
    expect(await ruler.registry.getSingleMetricAsString('thanos_alert_sender_alerts_sent_total')).toContain(
      `alertmanager="127.0.0.1:${am2.port}"`,
    );
  }, 60_000);

  it('resolves dns+ Alertmanager URLs and re-resolves them on --alertmanagers.sd-dns-interval', async () => {
    let target = '127.0.0.2';
    const lookups: string[] = [];
    const resolver: DNSResolver = {
      lookupIPs: async (host) => {
        lookups.push(host);
        if (host !== 'alertmanager.test') throw new Error(`no such host ${host}`);
        return [target];
      },
      lookupSRV: async () => [],
    };
    await using ruler = createRuler({
      ruleFiles: [join(dir, 'rules.yml')],
      dataDir: join(dir, 'dns-data'),
      query,
      alertmanagerURLs: [`dns+http://alertmanager.test:${am2.port}`],
      alertmanagersDNSIntervalMs: 200,
      alertmanagerSendTimeoutMs: 1000,
      resolver,
      resendDelayMs: 100,
      shipIntervalMs: 0,
    });
    await ruler.start();
    // Nothing listens on 127.0.0.2:port: sends fail until DNS answers 127.0.0.1.
    await until(async () => /thanos_alert_sender_errors_total\{[^}]*\} [1-9]/.test(await ruler.registry.metrics()));
    target = '127.0.0.1';
    await until(async () => (await amAlerts(am2)).some((a) => a.labels.alertname === 'Dropped'));
    expect(lookups.every((h) => h === 'alertmanager.test')).toBe(true);
  }, 60_000);

  it('posts to the v1 API when api_version is v1', async () => {
    const am = await startAlertmanager();
    try {
      await using ruler = createRuler({
        ruleFiles: [join(dir, 'rules.yml')],
        dataDir: join(dir, 'v1-data'),
        query,
        alertmanagersConfig: parseAlertingConfig(
          `alertmanagers:\n  - static_configs: ['127.0.0.1:${am.port}']\n    api_version: v1\n`,
        ),
        resendDelayMs: 100,
        shipIntervalMs: 0,
      });
      await ruler.start();
      await until(async () => (await amAlerts(am)).length === 2);
      expect(await ruler.registry.getSingleMetricAsString('thanos_alert_sender_errors_total')).not.toMatch(/ [1-9]/);
    } finally {
      await am.stop();
    }
  }, 60_000);
});
