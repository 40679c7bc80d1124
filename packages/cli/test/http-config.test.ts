// --http.config and --request.logging-config through the CLI: a real `thanos-ts query` process
// serves HTTPS with basic auth from an exporter-toolkit web config; commands whose HTTP server does
// not take the web config refuse the flag instead of ignoring it.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort, makeTempDir, makeTestCerts, removeTempDir, waitFor } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/program.js';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('cli-http-config-');
  makeTestCerts(dir, { serverName: 'localhost', clientName: 'client' });
  // Relative paths: resolved against the config file's folder, as exporter-toolkit does.
  writeFileSync(
    join(dir, 'web.yml'),
    [
      'tls_server_config:',
      '  cert_file: server.crt',
      '  key_file: server.key',
      'http_server_config:',
      '  headers:',
      '    X-Content-Type-Options: nosniff',
      'basic_auth_users:',
      // exporter-toolkit's test hash of "dave123".
      '  dave: $2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq',
    ].join('\n'),
  );
});
afterAll(() => removeTempDir(dir));

function get(url: string, auth?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(join(dir, 'ca.crt')),
        servername: 'localhost',
        agent: false,
        headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function run(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('--http.config through the CLI', () => {
  it('thanos-ts query serves HTTPS with basic auth and logs requests', async () => {
    const port = await freePort();
    const p = run([
      'query',
      `--http-address=127.0.0.1:${port}`,
      '--grpc-address=127.0.0.1:0',
      `--http.config=${join(dir, 'web.yml')}`,
      '--request.logging-config=http:\n  options:\n    level: DEBUG\n    decision:\n      log_start: false\n      log_end: true\n',
      '--log.level=debug',
    ]);
    try {
      const base = `https://127.0.0.1:${port}`;
      await waitFor(
        'querier HTTPS',
        async () => (await get(`${base}/-/healthy`, 'dave:dave123').catch(() => ({ status: 0 }))).status === 200,
        60_000,
      );
      const denied = await get(`${base}/api/v1/query?query=1`);
      expect(denied.status).toBe(401);
      expect(denied.headers['www-authenticate']).toBe('Basic');
      expect((await get(`${base}/api/v1/query?query=1`, 'dave:wrong')).status).toBe(401);
      const ok = await get(`${base}/api/v1/query?query=1%2B1&time=10`, 'dave:dave123');
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({
        status: 'success',
        data: { resultType: 'scalar', result: [10, '2'] },
      });
      expect(ok.headers['x-content-type-options']).toBe('nosniff');
      await waitFor('request log line', async () =>
        /msg="finished call".*http.method="GET \/api\/v1\/query\?query=1%2B1&time=10".*http.status_code=200/.test(
          p.output(),
        ),
      );
      // Refused before the logging middleware (exporter-toolkit wraps the whole server), as in Thanos.
      expect(p.output()).not.toMatch(/msg="finished call".*http.status_code=401/);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it.each([
    {
      name: 'a missing file',
      args: ['query', '--http.config=/nonexistent/web.yml'],
      error: '--http.config: /nonexistent/web.yml: cannot read',
    },
    {
      name: 'gRPC request logging on a component without gRPC',
      args: [
        'query-frontend',
        '--request.logging-config=grpc:\n  options:\n    level: INFO\n    decision:\n      log_end: true\n',
      ],
      error: '--request.logging-config: gRPC request logging does not apply to thanos-ts query-frontend',
    },
    {
      name: 'a bad request logging config',
      args: ['query', '--request.logging-config=options:\n  level: TRACE\n  decision:\n    log_end: true\n'],
      error: 'error while parsing config for request logging',
    },
  ])('refuses $name', async ({ args, error }) => {
    const p = run(args);
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toContain(error);
  });

  it.each(['query', 'store', 'sidecar', 'receive', 'rule', 'compact', 'query-frontend'])(
    '%s has --http.config',
    (name) => {
      const cmd = buildProgram().commands.find((c) => c.name() === name);
      expect(cmd?.options.map((o) => o.long)).toContain('--http.config');
      const logging = cmd?.options.map((o) => o.long).includes('--request.logging-config');
      // Thanos has --request.logging-config on every one but compact.
      expect(logging).toBe(name !== 'compact');
    },
  );
});
