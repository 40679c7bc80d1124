import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { connectStoreAPI } from '@thanos-ts/core';
import { freePort, programAvailable, type RunningPrometheus, startPrometheus, waitFor } from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSidecarFlags, type SidecarFlags } from './sidecar.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'packages/cli/src/main.ts', 'sidecar'];

/** Runs `thanos-ts sidecar <args>` to completion; returns its exit code and stderr. */
async function sidecarFails(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [...CLI, ...args], { timeout: 60_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

const base: SidecarFlags = {
  'prometheus.url': 'http://localhost:9090',
  'prometheus.ready_timeout': '10m',
  'prometheus.get_config_interval': '30s',
  'prometheus.get_config_timeout': '30s',
  'tsdb.path': './data',
  minTime: '0000-01-01T00:00:00Z',
  grpcAddress: '0.0.0.0:10901',
  httpAddress: '0.0.0.0:10902',
  httpGracePeriod: '2m',
  grpcGracePeriod: '2m',
  'reloader.ruleDir': [],
  'reloader.watchInterval': '3m',
  'reloader.retryInterval': '5s',
  'reloader.method': 'http',
  'log.level': 'info',
  'log.format': 'logfmt',
};

describe('sidecar flags', () => {
  it('turns flags into options', () => {
    const o = parseSidecarFlags({ ...base, 'prometheus.ready_timeout': '90s', minTime: '2024-01-02T00:00:00Z' });
    expect(o.readyTimeoutMs).toBe(90_000);
    expect(o.minTime).toBe(Date.parse('2024-01-02T00:00:00Z'));
    expect(o.reloader).toBeUndefined();
    const withReloader = parseSidecarFlags({
      ...base,
      'reloader.configFile': 'in.yml',
      'reloader.configEnvsubstFile': 'out.yml',
      'reloader.ruleDir': ['r1', 'r2'],
      'reloader.watchInterval': '1m',
    });
    expect(withReloader.reloader).toEqual({
      configFile: 'in.yml',
      configOutputFile: 'out.yml',
      watchedDirs: ['r1', 'r2'],
      watchInterval: 60_000,
      retryInterval: 5_000,
    });
    const rel = parseSidecarFlags({ ...base, minTime: '-2h' });
    expect(typeof rel.minTime).toBe('function');
    expect(Math.abs((rel.minTime as () => number)() - (Date.now() - 7_200_000))).toBeLessThan(5_000);
  });

  it.each([
    [{ 'prometheus.url': 'localhost:9090' }, /--prometheus.url: invalid URL "localhost:9090"/],
    [{ 'prometheus.url': 'ftp://x:1' }, /--prometheus.url: invalid URL/],
    [{ 'prometheus.ready_timeout': 'soon' }, /--prometheus.ready_timeout: invalid duration "soon"/],
    [{ minTime: 'yesterday' }, /--min-time: invalid time or duration "yesterday"/],
    [{ grpcAddress: 'nope' }, /--grpc-address: want host:port/],
    [{ 'reloader.method': 'signal' }, /--reloader.method: only "http"/],
    [{ 'reloader.configEnvsubstFile': 'out.yml' }, /--reloader.config-envsubst-file needs --reloader.config-file/],
    [{ grpcServerTlsCert: 'a.pem' }, /--grpc-server-tls-cert and --grpc-server-tls-key must be given together/],
  ] as [Partial<SidecarFlags>, RegExp][])('rejects %j naming the flag', (bad, message) => {
    expect(() => parseSidecarFlags({ ...base, ...bad })).toThrow(message);
  });
});

describe('thanos-ts sidecar as a process', () => {
  it('exits with a message naming the bucket flags when the bucket config is wrong', async () => {
    const r = await sidecarFails(['--objstore.config=type: NOPE', '--prometheus.ready_timeout=1s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^thanos-ts: .*NOPE/m);
  });

  it('exits naming the URL when Prometheus is unreachable', async () => {
    const port = await freePort();
    const r = await sidecarFails([
      `--prometheus.url=http://127.0.0.1:${port}`,
      '--prometheus.ready_timeout=1s',
      '--grpc-address=127.0.0.1:0',
      '--http-address=127.0.0.1:0',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`thanos-ts: http://127.0.0.1:${port}: Prometheus not reachable or not ready after 1s`);
  });

  describe.skipIf(!programAvailable('prometheus'))('beside a real Prometheus', () => {
    let prom: RunningPrometheus;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      prom = await startPrometheus({ config: 'global:\n  external_labels:\n    cluster: cli\n' });
    });
    afterAll(async () => {
      if (child && child.exitCode === null) child.kill('SIGKILL');
      await prom?.stop();
    });

    it('serves the StoreAPI and probes, and stops on SIGTERM', async () => {
      const grpcPort = await freePort();
      const httpPort = await freePort();
      child = spawn(
        process.execPath,
        [
          ...CLI,
          `--prometheus.url=${prom.url}`,
          `--grpc-address=127.0.0.1:${grpcPort}`,
          `--http-address=127.0.0.1:${httpPort}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr?.on('data', (b: Buffer) => {
        stderr += b.toString();
      });
      await waitFor(
        'sidecar ready',
        async () => (await fetch(`http://127.0.0.1:${httpPort}/-/ready`).catch(() => undefined))?.status === 200,
      );
      const store = connectStoreAPI(`127.0.0.1:${grpcPort}`);
      const info = await store.info();
      store.close();
      expect(info.labelSets.map((l) => l.toRecord())).toEqual([{ cluster: 'cli' }]);
      expect(info.componentType).toBe('sidecar');
      expect(stderr).toContain('msg="sidecar ready"');
      const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    });
  });
});
