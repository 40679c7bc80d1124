// Every component has one lifecycle (STYLE.md "Public API"): createX does no I/O, start() binds
// and resolves when ready, close() is graceful and idempotent, and `await using` closes. This file
// drives each component through it against real dependencies.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createFilesystemBucket } from '@thanos-ts/objstore';
import {
  isListening,
  makeTempDir,
  programAvailable,
  type RunningPrometheus,
  removeTempDir,
  startPrometheus,
} from '@thanos-ts/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createBucketWeb } from '../src/bucketweb/index.js';
import {
  ComponentClosedError,
  createCompactor,
  createQuerier,
  createQueryFrontend,
  createReceiver,
  createRuler,
  createSidecar,
  createStoreGateway,
  type Lifecycle,
} from '../src/index.js';

interface Served extends Lifecycle {
  readonly httpAddress: string | undefined;
  readonly grpcAddress?: string | undefined;
}
/** create → (no I/O) → start → serving → close twice → ports free → start again rejects. */
async function driveLifecycle(make: () => Served, opts: { grpc?: boolean } = {}): Promise<void> {
  const withGrpc = opts.grpc ?? true;
  const c = make();
  expect(c.httpAddress).toBeUndefined();
  expect(c.grpcAddress).toBeUndefined();
  await c.start();
  const http = c.httpAddress as string;
  const grpc = c.grpcAddress as string;
  expect(http).toMatch(/^127\.0\.0\.1:\d+$/);
  if (withGrpc) expect(grpc).toMatch(/^127\.0\.0\.1:\d+$/);
  expect((await fetch(`http://${http}/-/healthy`)).status).toBe(200);
  expect((await fetch(`http://${http}/-/ready`)).status).toBe(200);
  expect(await (await fetch(`http://${http}/metrics`)).text()).toContain('# HELP');
  await Promise.all([c.close(), c.close()]);
  await c.close();
  expect(await isListening(http)).toBe(false);
  if (withGrpc) expect(await isListening(grpc)).toBe(false);
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
  expect(await isListening((disposed as Served).httpAddress as string)).toBe(false);
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

  it('receiver', async () => {
    const dir = await makeTempDir('lifecycle-receive-');
    dirs.push(dir);
    await driveLifecycle(() => createReceiver({ tsdbPath: dir, remoteWriteAddress: '127.0.0.1:0', ...serving }));
  });

  it('ruler', async () => {
    const dir = await makeTempDir('lifecycle-rule-');
    dirs.push(dir);
    await writeFile(
      join(dir, 'rules.yml'),
      'groups:\n  - name: g\n    rules:\n      - record: one\n        expr: vector(1)\n',
    );
    await driveLifecycle(() =>
      createRuler({
        ruleFiles: [join(dir, 'rules.yml')],
        dataDir: join(dir, 'data'),
        query: async () => [],
        ...serving,
      }),
    );
  });

  it('compactor', async () => {
    const dir = await makeTempDir('lifecycle-compact-');
    dirs.push(dir);
    const bucket = createFilesystemBucket({ directory: join(dir, 'bucket') });
    await driveLifecycle(() => createCompactor({ bucket, dataDir: join(dir, 'data'), wait: true, ...serving }), {
      grpc: false,
    });
  });

  it('bucket web', async () => {
    const dir = await makeTempDir('lifecycle-bucketweb-');
    dirs.push(dir);
    const bucket = createFilesystemBucket({ directory: dir });
    await driveLifecycle(() => createBucketWeb({ bucket, ...serving }), { grpc: false });
  });

  it('query frontend', async () => {
    const downstream = createQuerier({ httpAddress: '127.0.0.1:0', evaluationWorkers: 0 });
    await downstream.start();
    try {
      await driveLifecycle(
        () => createQueryFrontend({ downstreamUrl: `http://${downstream.httpAddress}`, ...serving }),
        { grpc: false },
      );
    } finally {
      await downstream.close();
    }
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

  it.skipIf(!programAvailable('prometheus'))('sidecar, beside a real Prometheus', async () => {
    const prom: RunningPrometheus = await startPrometheus({
      config: 'global:\n  scrape_interval: 15s\n  external_labels:\n    cluster: lifecycle\n',
    });
    try {
      await driveLifecycle(() => createSidecar({ prometheusUrl: prom.url, readyTimeoutMs: 30_000, ...serving }));
    } finally {
      await prom.stop();
    }
  });
});
