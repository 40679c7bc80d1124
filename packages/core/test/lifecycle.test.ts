// Every component has one lifecycle (STYLE.md "Public API"): createX does no I/O, start() binds
// and resolves when ready, close() is graceful and idempotent, and `await using` closes. This file
// drives each component through it against real dependencies.
import { createServer } from 'node:net';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import {
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ComponentClosedError,
  createQuerier,
  createSidecar,
  createStoreGateway,
  type Lifecycle,
} from '../src/index.js';

interface Served extends Lifecycle {
  readonly httpAddress: string | undefined;
  readonly grpcAddress: string | undefined;
}

/** Whether something still listens on `address` (host:port): binding it again fails then. */
async function portInUse(address: string): Promise<boolean> {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

/** create → (no I/O) → start → serving → close twice → ports free → start again rejects. */
async function driveLifecycle(make: () => Served): Promise<void> {
  const c = make();
  expect(c.httpAddress).toBeUndefined();
  expect(c.grpcAddress).toBeUndefined();
  await c.start();
  const http = c.httpAddress as string;
  const grpc = c.grpcAddress as string;
  expect(http).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(grpc).toMatch(/^127\.0\.0\.1:\d+$/);
  expect((await fetch(`http://${http}/-/healthy`)).status).toBe(200);
  expect((await fetch(`http://${http}/-/ready`)).status).toBe(200);
  expect(await (await fetch(`http://${http}/metrics`)).text()).toContain('# HELP');
  await Promise.all([c.close(), c.close()]);
  await c.close();
  expect(await portInUse(http)).toBe(false);
  expect(await portInUse(grpc)).toBe(false);
  await expect(c.start()).rejects.toBeInstanceOf(ComponentClosedError);

  // `await using` closes on scope exit, also when the scope throws.
  let disposed: Served | undefined;
  await expect(
    (async () => {
      await using d = make();
      disposed = d;
      await d.start();
      throw new Error('scope failed');
    })(),
  ).rejects.toThrow('scope failed');
  expect(await portInUse((disposed as Served).httpAddress as string)).toBe(false);
}

const serving = {
  httpAddress: '127.0.0.1:0',
  grpcAddress: '127.0.0.1:0',
  httpGracePeriodMs: 1000,
  grpcGracePeriodMs: 1000,
};

describe('one lifecycle for every component', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeTempDir(d);
  });

  it('querier', async () => {
    await driveLifecycle(() => createQuerier({ ...serving }));
  });

  it('store gateway', async () => {
    const dir = await makeTempDir('lifecycle-store-');
    dirs.push(dir);
    const bucket = createFilesystemBucket({ directory: dir });
    await driveLifecycle(() => createStoreGateway({ bucket, dataDir: `${dir}-cache`, ...serving }));
  });

  it('close during start aborts the start and frees what it bound', async () => {
    // An endpoint that never answers keeps the querier's first health round (5 s info timeout) busy.
    const hang = createServer(() => {});
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const port = (hang.address() as { port: number }).port;
    const q = createQuerier({ ...serving, endpoints: [`127.0.0.1:${port}`] });
    const started = q.start();
    await q.close();
    await started.catch(() => undefined);
    expect(q.ready()).toBe(false);
    hang.close();
  });

  describe.skipIf(!programAvailable('prometheus'))('sidecar, beside a real Prometheus', () => {
    let prom: RunningPrometheus;
    beforeAll(async () => {
      prom = await startPrometheus({
        config: 'global:\n  scrape_interval: 15s\n  external_labels:\n    cluster: lifecycle\n',
      });
    });
    afterAll(async () => {
      await prom?.stop();
    });

    it('sidecar', async () => {
      await driveLifecycle(() => createSidecar({ prometheusUrl: prom.url, readyTimeoutMs: 30_000, ...serving }));
    });
  });
});
