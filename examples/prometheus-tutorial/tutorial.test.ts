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
    // Seven consecutive ports: take a free one and hope its neighbours are free too (loopback only).
    const base = (await freePort()) & ~7;
    const child = spawn('bash', [join(import.meta.dirname, 'run.sh')], {
      env: {
        ...process.env,
        DATA_DIR: dataDir,
        PORT_BASE: String(base),
        THANOS_TS: `${process.execPath} --import tsx packages/cli/src/main.ts`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const query = `http://127.0.0.1:${base + 6}`;
    try {
      // Prometheus scrapes itself every 5s; the querier sees `up` through the sidecar.
      let answer: QueryAnswer | undefined;
      await waitFor(
        'up{job="prometheus"} through the querier',
        async () => {
          const res = await fetch(`${query}/api/v1/query?query=${encodeURIComponent('up{job="prometheus"}')}`);
          answer = (await res.json()) as QueryAnswer;
          return answer.data.result.length > 0;
        },
        90_000,
      ).catch((err) => {
        throw new Error(`${(err as Error).message}\n${log}`);
      });
      const sample = answer!.data.result[0]!;
      expect(sample.value[1]).toBe('1');
      expect(sample.metric.cluster).toBe('tutorial');
      expect(sample.metric.replica).toBeUndefined(); // deduplicated away
      const stores = (await (await fetch(`${query}/api/v1/stores`)).json()) as { data: Record<string, unknown[]> };
      expect(Object.values(stores.data).flat().length).toBeGreaterThanOrEqual(2);
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await removeTempDir(dataDir);
    }
    // Four processes start from TypeScript sources; on a loaded CI machine that alone can take a
    // minute, and the wait above allows 90 s.
  }, 150_000);
});
