import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort, makeTempDir, programAvailable, removeTempDir, waitFor } from '@thanos-ts/testing';
import { describe, expect, it } from 'vitest';

interface QueryAnswer {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe.skipIf(!programAvailable('prometheus'))('example: Prometheus + sidecar + store + query (run.sh)', () => {
  it('serves Prometheus data through the querier', async () => {
    const dataDir = await makeTempDir('tutorial-');
    // Seven ports, each one the OS just handed out (consecutive ones may be taken by other tests).
    const names = ['PROM_PORT', 'SIDECAR_GRPC', 'SIDECAR_HTTP', 'STORE_GRPC', 'STORE_HTTP', 'QUERY_GRPC', 'QUERY_HTTP'];
    const ports = new Map<string, number>();
    while (ports.size < names.length) {
      const port = await freePort();
      if (![...ports.values()].includes(port)) ports.set(names[ports.size]!, port);
    }
    const child = spawn('bash', [join(import.meta.dirname, 'run.sh')], {
      env: {
        ...process.env,
        ...Object.fromEntries([...ports].map(([name, port]) => [name, String(port)])),
        DATA_DIR: dataDir,
        THANOS_TS: `${process.execPath} --import tsx packages/cli/src/main.ts`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    // run.sh ends when any of its programs does (a port taken, a bad flag): fail at once then.
    let exited = false;
    const exit = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => {
        exited = true;
        reject(new Error(`run.sh exited early (${signal ?? `code ${code}`})`));
      }),
    );
    exit.catch(() => {});
    const query = `http://127.0.0.1:${ports.get('QUERY_HTTP')}`;
    try {
      // Prometheus scrapes itself every 5s; the querier sees `up` through the sidecar.
      let answer: QueryAnswer | undefined;
      const up = waitFor(
        'up{job="prometheus"} through the querier',
        async () => {
          const res = await fetch(`${query}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}`);
          answer = (await res.json()) as QueryAnswer;
          return answer.data.result.length > 0;
        },
        90_000,
      );
      up.catch(() => {}); // Lost the race to an early exit: its own timeout is no longer news.
      await Promise.race([up, exit]).catch((err) => {
        throw new Error(`${(err as Error).message}\n${log}`);
      });
      const sample = answer!.data.result[0]!;
      expect(sample.value[1]).toBe('1');
      expect(sample.metric.cluster).toBe('tutorial');
      expect(sample.metric.replica).toBeUndefined(); // deduplicated away
      const stores = (await (await fetch(`${query}/api/v1/stores`)).json()) as { data: Record<string, unknown[]> };
      expect(Object.values(stores.data).flat().length).toBeGreaterThanOrEqual(2);
    } finally {
      if (!exited && child.pid !== undefined) {
        process.kill(-child.pid, 'SIGTERM');
        await exit.catch(() => {});
      }
      await removeTempDir(dataDir);
    }
    // Four processes start from TypeScript sources; on a loaded CI machine that alone can take a
    // minute, and the wait above allows 90 s.
  }, 150_000);
});
